import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/crmsync.js');

export interface CliResult {
  code: number;
  /** The signal that ended the process, if one did (kill -9). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** What it has printed on stdout so far. */
  stdout(): string;
  /** What it has printed on stderr so far (its log). */
  stderr(): string;
  /** Resolves once stdout holds `text`; rejects if the process ends first. */
  printed(text: string): Promise<void>;
}

export interface CliOptions {
  cwd?: string;
  /** A command the CLI runs under, e.g. ['unshare', '--mount', ...]; it is given `node bin/crmsync.js args…` to run. */
  prefix?: string[];
}

/** Starts the built CLI (npm test builds it first) in the background, the way cron or a second terminal would. */
export function startCrmsync(args: string[], env: Record<string, string | undefined> = {}, options: CliOptions = {}): RunningCli {
  const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, BIN, ...args];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => stdout.includes(text) && resolve();
      child.stdout!.on('data', check);
      check();
      void done.then(() => reject(new Error(`crmsync ${args.join(' ')} ended before printing "${text}": ${stdout}${stderr}`)));
    });
  return { child, done, printed, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the built CLI to the end. */
export function crmsync(args: string[], env: Record<string, string | undefined> = {}, options: CliOptions = {}): Promise<CliResult> {
  return startCrmsync(args, env, options).done;
}

/** One run in a sync command's --json summary. */
export interface SummaryResult {
  object: string;
  source: string;
  status: string;
  syncMode: string;
  counts: Record<string, number>;
  metrics: Record<string, number>;
  error?: string;
  resumedFrom?: number;
}

/** A sync command's --json summary. */
export function summary(stdout: string): { exitCode: number; results: SummaryResult[] } {
  return JSON.parse(stdout) as { exitCode: number; results: SummaryResult[] };
}

/** A fresh folder inside the test run's own temporary folder (see temp-root.ts), removed with it. */
export function tempDir(): string {
  return mkdtempSync(join(process.env.CRMSYNC_TEST_TMP ?? tmpdir(), 'crmsync-test-'));
}
