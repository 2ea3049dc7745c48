/**
 * Request and response helpers shared by the endpoint handlers (api-v3.ts for CRM v3,
 * api-v4.ts for associations v4 and the schemas API) and the request pipeline.
 */
import { validationError } from './errors.js';
import { toIso } from '../shared/iso-time.js';

export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  now: number;
}

export interface Reply {
  status: number;
  /** A value to send as JSON, or a JsonBytes already serialized. */
  body?: unknown;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function parseBoolean(query: URLSearchParams, name: string, fallback = false): boolean {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw validationError(`Query parameter ${name} must be true or false, got ${JSON.stringify(raw)}.`);
}

/**
 * List cursors are opaque to clients (base64url); inside they hold the smallest id of
 * the next page, so they stay valid across writes: records created later (higher ids)
 * show up on later pages, none is skipped or repeated. A bare number is also accepted.
 */
export function encodeCursor(minId: number): string {
  return Buffer.from(String(minId)).toString('base64url');
}

export function decodeCursor(raw: string | null | undefined): number {
  if (raw === null || raw === undefined || raw === '') return 0;
  const text = /^\d+$/.test(raw) ? raw : Buffer.from(raw, 'base64url').toString('latin1');
  if (!/^\d{1,16}$/.test(text)) throw validationError(`Invalid paging cursor after=${JSON.stringify(raw)}.`);
  return Number(text);
}

/** A batch response: 200 (or `status`), or 207 with `numErrors` and `errors` when there are errors. */
export function batchReply(status: number, startedAt: number, now: number, results: unknown[], errors: Record<string, unknown>[], errorStatus = 207): Reply {
  const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: toIso(startedAt), completedAt: toIso(now) };
  if (errors.length > 0) {
    body.numErrors = errors.length;
    body.errors = errors;
    return { status: errorStatus, body };
  }
  return { status, body };
}

/**
 * A response body already serialized: UTF-8 JSON in consecutive parts, byte for byte
 * what JSON.stringify gives for the value it stands for (the list endpoint writes its
 * pages straight to JSON, and sends a cached page without copying it).
 */
export class JsonBytes {
  constructor(readonly parts: readonly Buffer[]) {}

  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  value(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}

/** The UTF-8 JSON of a response body. */
export function serialize(body: unknown): Buffer {
  return body instanceof JsonBytes ? body.bytes : Buffer.from(JSON.stringify(body), 'utf8');
}
