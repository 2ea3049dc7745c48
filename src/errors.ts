/**
 * Typed errors thrown anywhere below the command line; src/cli.ts maps them to exit codes
 * in one place (see EXIT_CODES).
 */
export const EXIT_CODES = {
  success: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  leaseHeld: 4,
  /** `crmsync health` found something wrong. */
  unhealthy: 5,
} as const;

/** Bad flags, bad configuration, missing secrets: nothing has been written. Exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT_CODES.usage;
}

/** Credentials rejected or missing a scope: retrying cannot help. */
export class AuthError extends Error {
  readonly exitCode = EXIT_CODES.failed;
}

/** The API kept failing after the bounded retries, or answered something unusable. */
export class ApiError extends Error {
  readonly exitCode = EXIT_CODES.failed;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The CRM does not know the object a request names (a HubSpot object type, a Dataverse entity set). */
export class UnknownObjectError extends ApiError {}

/** Another live process holds the object's lease. Exit 4. */
export class LeaseHeldError extends Error {
  readonly exitCode = EXIT_CODES.leaseHeld;
}

/**
 * A CRM's daily request quota is down to the reserve left to the portal's other apps, or
 * used up: the run stopped before its next request, after its last committed page, and the
 * next run continues from there. Exit 3, like any run that finished with work left.
 */
export class DailyQuotaStop extends Error {
  readonly exitCode = EXIT_CODES.partial;
}

/** SIGINT/SIGTERM arrived; the run stopped after the current page. */
export class InterruptedError extends Error {
  readonly exitCode = EXIT_CODES.failed;
  constructor() {
    super('interrupted');
  }
}

/** A finished run's exit code: partial is 3, a failure the code its error carries. */
export function exitCodeForStatus(status: 'success' | 'partial' | 'failed', error?: unknown): number {
  if (status === 'success') return EXIT_CODES.success;
  if (status === 'partial') return EXIT_CODES.partial;
  return exitCodeOf(error);
}

export function exitCodeOf(error: unknown): number {
  if (error && typeof error === 'object' && 'exitCode' in error && typeof error.exitCode === 'number') {
    return error.exitCode;
  }
  return EXIT_CODES.failed;
}
