/**
 * Fault injection: the failures a sync client meets on the real API (429s with and
 * without Retry-After, 5xx and proxy pages, reset connections, cut-off bodies, requests
 * that never get an answer, records with wrongly typed values, a revoked token), on
 * demand and reproducibly. Request-level faults come from one seeded PRNG draw per
 * authenticated /crm request; wrong-typed records are a pure function of
 * (seed, object type, record id).
 */
import type { Socket } from 'node:net';
import { Rng, hashString, mix, mixSeed } from '../shared/prng.js';
import type { ApiObject } from './record-json.js';

export interface FaultOptions {
  /** Share (0..1) of requests answered 429. Half of them carry Retry-After (1 s), half don't (HubSpot often omits it). Body: the ten-secondly rate-limit body (or the secondly one for search). */
  rate429?: number;
  /** Share answered 500, 502 or 503 (picked evenly) with HubSpot's error JSON (502/503 may be an HTML proxy page, as in reality). */
  rate5xx?: number;
  /** Share where the connection is destroyed without any response (socket reset). */
  rateReset?: number;
  /** Share answered 200 with the correct headers but a body cut off mid-JSON (a Content-Length matching the truncated text, so the client gets invalid JSON). */
  rateTruncated?: number;
  /** Share that never get a response: keep the socket open, send nothing (the emulator destroys such sockets after 120 s or on close()). */
  rateTimeout?: number;
  /** Share of RECORDS (not requests) whose returned property values have wrong types: a number instead of a string for one property, or an object. Decided per record id deterministically (same record → same fault on every read). Applies to list, get, batch read and search results. */
  wrongTypes?: number;
  /** Every /crm request fails with this status: 401 (INVALID_AUTHENTICATION body), 403 (MISSING_SCOPES body), 500 (HubSpot's internal error body). */
  permanent?: 401 | 403 | 500;
  /** PRNG seed for fault decisions so a test run is reproducible; default 1. */
  seed?: number;
}

/** The keys of `stats.faults` (also the keys of a fault spec). */
export type FaultKind = '429' | '5xx' | 'reset' | 'truncated' | 'timeout' | 'wrong-types' | 'permanent';

/** How long a request hit by the `timeout` fault is held before its socket is destroyed. */
export const HELD_SOCKET_MS = 120_000;

/** Request-level shares in the order the per-request draw is compared against them. */
const REQUEST_SHARES = [
  ['429', 'rate429'],
  ['5xx', 'rate5xx'],
  ['reset', 'rateReset'],
  ['truncated', 'rateTruncated'],
  ['timeout', 'rateTimeout'],
] as const satisfies readonly (readonly [FaultKind, keyof FaultOptions])[];

const SPEC_KEYS: Record<string, keyof FaultOptions> = {
  '429': 'rate429',
  '5xx': 'rate5xx',
  reset: 'rateReset',
  truncated: 'rateTruncated',
  timeout: 'rateTimeout',
  'wrong-types': 'wrongTypes',
  permanent: 'permanent',
  seed: 'seed',
};

const PERMANENT_STATUSES = [401, 403, 500] as const;

function isShare(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

/**
 * Checks fault options (shares in 0..1 and request shares adding up to at most 1,
 * `permanent` one of 401/403/500, an integer seed) and returns a copy; throws an Error
 * with a one-line message otherwise.
 */
export function validateFaults(faults: FaultOptions): FaultOptions {
  const copy: FaultOptions = {};
  let total = 0;
  for (const [, key] of REQUEST_SHARES) {
    const value = faults[key];
    if (value === undefined) continue;
    if (!isShare(value)) throw new Error(`faults.${key} must be a share between 0 and 1, got ${String(value)}`);
    copy[key] = value;
    total += value;
  }
  // A little slack for decimal shares like 0.7 + 0.2 + 0.1.
  if (total > 1 + 1e-9) throw new Error(`faults: the request fault shares (rate429 + rate5xx + rateReset + rateTruncated + rateTimeout) add up to ${+total.toFixed(6)}, more than 1`);
  if (faults.wrongTypes !== undefined) {
    if (!isShare(faults.wrongTypes)) throw new Error(`faults.wrongTypes must be a share between 0 and 1, got ${String(faults.wrongTypes)}`);
    copy.wrongTypes = faults.wrongTypes;
  }
  if (faults.permanent !== undefined) {
    if (!(PERMANENT_STATUSES as readonly number[]).includes(faults.permanent)) {
      throw new Error(`faults.permanent must be 401, 403 or 500, got ${String(faults.permanent)}`);
    }
    copy.permanent = faults.permanent;
  }
  if (faults.seed !== undefined) {
    if (!Number.isSafeInteger(faults.seed)) throw new Error(`faults.seed must be an integer, got ${String(faults.seed)}`);
    copy.seed = faults.seed;
  }
  return copy;
}

/**
 * Parses a fault spec as given on the command line: comma-separated `key=value` pairs,
 * keys `429 5xx reset truncated timeout wrong-types` (shares 0..1), `permanent`
 * (401, 403 or 500) and `seed` (integer), e.g. "429=0.1,5xx=0.05,seed=7" or
 * "permanent=401". Throws an Error with a one-line message on a bad spec.
 */
export function parseFaultSpec(text: string): FaultOptions {
  const bad = (reason: string): Error => new Error(`Invalid fault spec ${JSON.stringify(text)}: ${reason}`);
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => entry === '')) throw bad('expected key=value pairs such as "429=0.1,5xx=0.05,seed=7"');
  const result: FaultOptions = {};
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    const key = (equals < 0 ? entry : entry.slice(0, equals)).trim().toLowerCase();
    const raw = equals < 0 ? '' : entry.slice(equals + 1).trim();
    const option = SPEC_KEYS[key];
    if (option === undefined) throw bad(`unknown key "${key}" (known: ${Object.keys(SPEC_KEYS).join(', ')})`);
    if (seen.has(key)) throw bad(`"${key}" is given twice`);
    seen.add(key);
    if (raw === '') throw bad(`"${key}" has no value (write ${key}=<value>)`);
    const value = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : Number.NaN;
    if (option === 'permanent') {
      if (!(PERMANENT_STATUSES as readonly number[]).includes(value)) throw bad(`permanent=${raw} must be 401, 403 or 500`);
      result.permanent = value as 401 | 403 | 500;
    } else if (option === 'seed') {
      if (!Number.isSafeInteger(value)) throw bad(`seed=${raw} is not an integer`);
      result.seed = value;
    } else {
      if (!isShare(value)) throw bad(`${key}=${raw} is not a share between 0 and 1`);
      result[option] = value;
    }
  }
  const total = REQUEST_SHARES.reduce((sum, [, key]) => sum + (result[key] ?? 0), 0);
  if (total > 1 + 1e-9) throw bad(`the request shares (429 + 5xx + reset + truncated + timeout) add up to ${+total.toFixed(6)}, more than 1`);
  try {
    return validateFaults(result);
  } catch (error) {
    throw bad((error as Error).message.replace(/^faults: /, ''));
  }
}

/** What the per-request draw decided. */
export type RequestFault =
  | { kind: '429'; retryAfter: boolean }
  | { kind: '5xx'; status: 500 | 502 | 503; html: boolean }
  | { kind: 'reset' }
  | { kind: 'truncated'; /** Where to cut, as a share of the body: in [0, 1). */ cut: number }
  | { kind: 'timeout' }
  | { kind: 'permanent'; status: 401 | 403 | 500 };

/** The fault decisions of one `FaultOptions` setting (a new one restarts the PRNG). */
export class FaultInjector {
  readonly options: FaultOptions;
  private readonly rng: Rng;
  private readonly seed: number;

  constructor(options: FaultOptions) {
    this.options = validateFaults(options);
    this.seed = (this.options.seed ?? 1) >>> 0;
    // Salted so that fault seed n and data seed n are unrelated streams.
    this.rng = new Rng(mixSeed(this.seed, 0x6661756c));
  }

  /**
   * Exactly one PRNG draw per call (per authenticated /crm request). The draw `u` falls
   * into consecutive bands [0, rate429), [.., + rate5xx), reset, truncated, timeout;
   * the position inside the band picks the variant (Retry-After or not, which 5xx,
   * JSON or HTML, where to cut), so the variants need no further draws.
   */
  draw(): RequestFault | null {
    const u = this.rng.next();
    const permanent = this.options.permanent;
    if (permanent !== undefined) return { kind: 'permanent', status: permanent };
    let low = 0;
    for (const [kind, key] of REQUEST_SHARES) {
      const width = this.options[key] ?? 0;
      if (width > 0 && u < low + width) {
        const v = Math.min(Math.max((u - low) / width, 0), 1 - Number.EPSILON);
        switch (kind) {
          case '429':
            return { kind, retryAfter: v < 0.5 };
          case '5xx': {
            const third = Math.min(Math.floor(v * 3), 2);
            const status = ([500, 502, 503] as const)[third] as 500 | 502 | 503;
            // 500s are always HubSpot JSON; half the 502s/503s come from the proxy as HTML.
            return { kind, status, html: status !== 500 && v * 3 - third >= 0.5 };
          }
          case 'truncated':
            return { kind, cut: v };
          default:
            return { kind };
        }
      }
      low += width;
    }
    return null;
  }

  /**
   * The wrong-typed copy of a returned record, or null when the record is not affected.
   * Whether a record is affected, which property and how are functions of (seed, object
   * type, record id) and the names of the returned properties only: the same record read
   * with the same properties is malformed the same way every time.
   */
  corrupt(objectType: string, object: ApiObject): Record<string, unknown> | null {
    const share = this.options.wrongTypes ?? 0;
    if (share <= 0) return null;
    const id = Number(object.id);
    const h = mixSeed(this.seed, hashString(objectType), Number.isSafeInteger(id) ? id : hashString(object.id));
    if (h / 4294967296 >= share) return null;
    const names = Object.keys(object.properties);
    if (names.length === 0) return null;
    // The property with the smallest salted hash: stable for a given set of names.
    let chosen = names[0] as string;
    let best = Infinity;
    for (const name of names) {
      const rank = mix(h, hashString(name));
      if (rank < best) {
        best = rank;
        chosen = name;
      }
    }
    const value = object.properties[chosen] ?? null;
    let wrong: unknown;
    if ((mix(h, 0x9e3779b9) & 1) === 0) {
      // A JSON number instead of the string (the numeric value when there is one).
      const numeric = value !== null && value.trim() !== '' ? Number(value) : Number.NaN;
      wrong = Number.isFinite(numeric) ? numeric : mix(h, 7) % 100_000;
    } else {
      // An object, like the legacy v1 APIs' {value, ...} property format.
      wrong = { value };
    }
    return { ...object, properties: { ...object.properties, [chosen]: wrong } };
  }
}

/** Sockets of requests hit by the `timeout` fault: held open, silent, until dropped. */
export class HeldSockets {
  private readonly sockets = new Map<Socket, NodeJS.Timeout>();

  get size(): number {
    return this.sockets.size;
  }

  hold(socket: Socket, ms = HELD_SOCKET_MS): void {
    if (socket.destroyed || this.sockets.has(socket)) return;
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    this.sockets.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.sockets.delete(socket);
    });
  }

  /** Destroys every held socket (on close()). */
  dropAll(): void {
    for (const [socket, timer] of this.sockets) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.sockets.clear();
  }
}
