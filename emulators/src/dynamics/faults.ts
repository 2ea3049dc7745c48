/**
 * Fault injection for Web API requests: service-protection 429s (the execution-time
 * limit, 0x80072321, with Retry-After), 503s in Dataverse's error shape, and dropped
 * connections. One draw of a seeded PRNG per authenticated Web API request, in arrival
 * order, decides; the same seed and request sequence give the same faults.
 */
import { Rng, mixSeed } from '../shared/prng.js';

export interface DynamicsFaultOptions {
  /** Share (0..1) of requests answered 429 (execution-time limit) with Retry-After. */
  throttle?: number;
  /** Share answered 503 with a Dataverse error body. */
  serverError?: number;
  /** Share whose connection is destroyed without a response. */
  reset?: number;
  /** Retry-After of injected 429s, in seconds; default 1. */
  retryAfterSeconds?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

export type FaultKind = 'throttle' | 'serverError' | 'reset';

const SHARES = ['throttle', 'serverError', 'reset'] as const;

/** Checks fault options and returns a copy; throws an Error with a one-line message otherwise. */
export function validateDynamicsFaults(faults: DynamicsFaultOptions): DynamicsFaultOptions {
  const copy: DynamicsFaultOptions = {};
  let total = 0;
  for (const key of SHARES) {
    const value = faults[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw new Error(`faults.${key} must be a share between 0 and 1, got ${String(value)}`);
    copy[key] = value;
    total += value;
  }
  if (total > 1 + 1e-9) throw new Error(`faults: throttle + serverError + reset add up to ${+total.toFixed(6)}, more than 1`);
  if (faults.retryAfterSeconds !== undefined) {
    if (!Number.isSafeInteger(faults.retryAfterSeconds) || faults.retryAfterSeconds < 0) {
      throw new Error(`faults.retryAfterSeconds must be a non-negative integer, got ${String(faults.retryAfterSeconds)}`);
    }
    copy.retryAfterSeconds = faults.retryAfterSeconds;
  }
  if (faults.seed !== undefined) {
    if (!Number.isSafeInteger(faults.seed)) throw new Error(`faults.seed must be an integer, got ${String(faults.seed)}`);
    copy.seed = faults.seed;
  }
  return copy;
}

/** Keys of a fault spec: HubSpot's where they apply, plus Retry-After. */
const SPEC_KEYS: Record<string, keyof DynamicsFaultOptions> = {
  '429': 'throttle',
  '5xx': 'serverError',
  reset: 'reset',
  'retry-after': 'retryAfterSeconds',
  seed: 'seed',
};

/**
 * Parses a fault spec as given on the command line, in the HubSpot emulator's grammar:
 * comma-separated `key=value` pairs, keys `429`, `5xx`, `reset` (shares 0..1),
 * `retry-after` (seconds) and `seed`, e.g. "429=0.1,5xx=0.05,reset=0.02,seed=7".
 * Throws an Error with a one-line message on a bad spec.
 */
export function parseDynamicsFaultSpec(text: string): DynamicsFaultOptions {
  const bad = (reason: string): Error => new Error(`Invalid fault spec ${JSON.stringify(text)}: ${reason}`);
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw bad('expected key=value pairs such as "429=0.1,5xx=0.05,seed=7"');
  const result: DynamicsFaultOptions = {};
  for (const entry of entries) {
    const [rawKey = '', raw = ''] = entry.split('=', 2).map((part) => part.trim());
    const key = rawKey.toLowerCase();
    const option = SPEC_KEYS[key];
    if (option === undefined) throw bad(`unknown key "${key}" (known: ${Object.keys(SPEC_KEYS).join(', ')})`);
    if (result[option] !== undefined) throw bad(`"${key}" is given twice`);
    const value = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : Number.NaN;
    if (option === 'seed' && !Number.isSafeInteger(value)) throw bad(`seed=${raw} is not an integer`);
    if (option === 'retryAfterSeconds' && !(Number.isSafeInteger(value) && value >= 0)) throw bad(`retry-after=${raw} is not a whole number of seconds`);
    if ((SHARES as readonly string[]).includes(option) && !(value >= 0 && value <= 1)) throw bad(`${key}=${raw} is not a share between 0 and 1`);
    result[option] = value;
  }
  const total = SHARES.reduce((sum, share) => sum + (result[share] ?? 0), 0);
  if (total > 1 + 1e-9) throw bad(`the shares (429 + 5xx + reset) add up to ${+total.toFixed(6)}, more than 1`);
  return validateDynamicsFaults(result);
}

export class FaultInjector {
  readonly options: DynamicsFaultOptions;
  private readonly rng: Rng;

  constructor(options: DynamicsFaultOptions) {
    this.options = validateDynamicsFaults(options);
    // Salted so that fault seed n and data seed n are unrelated streams.
    this.rng = new Rng(mixSeed(this.options.seed ?? 1, 0x64796e61));
  }

  get retryAfterSeconds(): number {
    return this.options.retryAfterSeconds ?? 1;
  }

  /** Exactly one draw per call: the draw falls into consecutive bands throttle, serverError, reset. */
  draw(): FaultKind | null {
    const u = this.rng.next();
    let low = 0;
    for (const kind of SHARES) {
      const width = this.options[kind] ?? 0;
      if (width > 0 && u < low + width) return kind;
      low += width;
    }
    return null;
  }
}
