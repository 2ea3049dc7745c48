import { Client } from '@hubspot/api-client';
import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { startHubSpotEmulator, type HubSpotEmulator, type HubSpotEmulatorOptions } from '../src/hubspot/index.js';

/** A clock tests move by hand. Starts at 2026-01-01T00:00:00Z, after all seeded timestamps. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance(ms: number): number; set(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
      return time;
    },
    set(ms: number) {
      time = ms;
    },
  };
}

const running: HubSpotEmulator[] = [];

/** Starts an emulator that `closeAll()` (wire it to afterEach/afterAll) shuts down. */
export async function emulator(options: HubSpotEmulatorOptions = {}): Promise<HubSpotEmulator> {
  const emu = await startHubSpotEmulator(options);
  running.push(emu);
  return emu;
}

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((emu) => emu.close()));
}

/** The official SDK pointed at the emulator (no SDK-side retries). */
export function sdk(emu: HubSpotEmulator, accessToken = emu.token): Client {
  return new Client({ accessToken, basePath: emu.url });
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** A plain HTTP call that keeps the body as text (it may be cut off, or an HTML page). */
export async function rawText(
  emu: HubSpotEmulator,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; rawBody?: string; signal?: AbortSignal } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = options.token === undefined ? emu.token : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${emu.url}${path}`, {
    method,
    headers,
    body: options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: options.signal,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** A plain HTTP call, to see status, headers and bodies exactly as sent. */
export async function raw(
  emu: HubSpotEmulator,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; rawBody?: string } = {},
): Promise<RawResponse> {
  const { status, headers, text } = await rawText(emu, method, path, body, options);
  return { status, headers, body: text === '' ? undefined : JSON.parse(text) };
}

export interface SearchBody {
  filterGroups?: { filters: { propertyName: string; operator: string; value?: string; values?: string[]; highValue?: string }[] }[];
  sorts?: ({ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' } | string)[];
  properties?: string[];
  limit?: number;
  after?: string;
  query?: string;
}

/** Search through the SDK (its types want sorts as strings and operators as an enum). */
export function sdkSearch(client: Client, body: SearchBody) {
  return client.crm.contacts.searchApi.doSearch(body as unknown as PublicObjectSearchRequest);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Calls `fn`, expecting it to throw, and returns the error. */
export async function failure(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
