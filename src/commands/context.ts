import type { Command } from 'commander';

/** What every command module gets from the entry point. */
export interface CommandContext {
  /** Wraps an action: its returned number becomes the process exit code; thrown errors are mapped by src/cli.ts. */
  action<A extends unknown[]>(handler: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
  /** Aborted on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export type RegisterCommand = (program: Command, context: CommandContext) => void;
