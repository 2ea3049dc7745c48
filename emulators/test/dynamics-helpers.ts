/**
 * Shared helpers of the Dynamics 365 emulator tests: starting emulators, an undici
 * client that trusts the emulator's certificate, MSAL confidential clients signing in
 * to the emulated authority, paging and $batch bodies.
 */
import { readFileSync } from 'node:fs';
import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { Agent, request, type Dispatcher } from 'undici';
import { startDynamicsEmulator, type DynamicsEmulator, type DynamicsEmulatorOptions } from '../src/dynamics/index.js';

export { fakeClock, UUID } from './helpers.js';

const running: { emu: DynamicsEmulator; dispatcher: Agent }[] = [];
const tokens = new WeakMap<DynamicsEmulator, string>();

/** Starts an emulator that `closeAll()` (wire it to afterEach/afterAll) shuts down. */
export async function dynamics(options: DynamicsEmulatorOptions = {}): Promise<DynamicsEmulator> {
  const emu = await startDynamicsEmulator(options);
  // The emulator's certificate is self-signed: trusted explicitly (from its file, as
  // D365_CA_CERT names it), checks stay on.
  running.push({ emu, dispatcher: new Agent({ connect: { ca: readFileSync(emu.certificateFile, 'utf8') } }) });
  return emu;
}

export async function closeAll(): Promise<void> {
  const all = running.splice(0);
  await Promise.all(all.map(async ({ emu, dispatcher }) => {
    await dispatcher.close();
    await emu.close();
  }));
}

export function dispatcherOf(emu: DynamicsEmulator): Agent {
  const entry = running.find((item) => item.emu === emu);
  if (!entry) throw new Error('not an emulator started by dynamics()');
  return entry.dispatcher;
}

/**
 * MSAL's HTTP calls over an undici dispatcher: MSAL's own client uses the global fetch,
 * which does not trust the emulator's certificate. MSAL wants parsed JSON bodies.
 */
class UndiciNetworkModule implements INetworkModule {
  constructor(private readonly dispatcher: Dispatcher) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined): Promise<NetworkResponse<T>> {
    const response = await request(url, { method, headers: options?.headers, body: options?.body, dispatcher: this.dispatcher });
    const text = await response.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    return { status: response.statusCode, headers, body: (text === '' ? {} : JSON.parse(text)) as T };
  }
}

/** What an application signing in to the organisation configures. */
export interface Credentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  resourceUrl: string;
}

/**
 * An MSAL confidential client signing in to the emulated authority with the client-credentials
 * grant: `token()` answers from MSAL's cache, `token(true)` asks the token endpoint again.
 * Errors are MSAL's own.
 */
export function msalSignIn(emu: DynamicsEmulator, overrides: Partial<Credentials> = {}): { token(skipCache?: boolean): Promise<string> } {
  const credentials: Credentials = { tenantId: emu.tenantId, clientId: emu.clientId, clientSecret: emu.clientSecret, resourceUrl: emu.url, ...overrides };
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      authority: `${emu.authorityHost}/${credentials.tenantId}`,
      // Not one of Microsoft's clouds: trusted as configured, without instance discovery.
      knownAuthorities: [new URL(emu.authorityHost).host],
    },
    system: { networkClient: new UndiciNetworkModule(dispatcherOf(emu)) },
  });
  return {
    async token(skipCache = false) {
      const result = await app.acquireTokenByClientCredential({ scopes: [`${credentials.resourceUrl}/.default`], skipCache });
      if (!result?.accessToken) throw new Error('MSAL returned no access token');
      return result.accessToken;
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body (undefined when empty or not JSON). */
  body: any;
}

export interface CallOptions {
  /** Bearer token; default a token issued by the emulator; null: no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is. */
  body?: string;
}

/** One HTTPS request. `path` is relative to the Web API root (`contacts?$top=1`) or an absolute URL. */
export async function call(emu: DynamicsEmulator, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const url = /^https:\/\//.test(path) ? path : `${emu.apiUrl}/${path}`;
  const headers: Record<string, string> = { Accept: 'application/json', 'OData-MaxVersion': '4.0', 'OData-Version': '4.0', ...options.headers };
  let token = options.token;
  if (token === undefined) {
    token = tokens.get(emu);
    if (token === undefined) tokens.set(emu, (token = emu.issueToken()));
  }
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await request(url, { method: method as 'GET', headers, body, dispatcher: dispatcherOf(emu) });
  const text = await response.body.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, body: parsed };
}

/** The first value of a header. */
export function header(reply: Reply, name: string): string | undefined {
  const value = reply.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Every value of a header (repeated headers, or one comma-separated list). */
export function headerValues(reply: Reply, name: string): string[] {
  const value = reply.headers[name.toLowerCase()];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',').map((part) => part.trim()));
}

/** Follows @odata.nextLink (unchanged, same headers) to the end. `between` runs after each page. */
export async function readAll(
  emu: DynamicsEmulator,
  path: string,
  options: { headers?: Record<string, string>; between?: (page: number) => void | Promise<void> } = {},
): Promise<{ rows: any[]; pages: Reply[]; last: Reply }> {
  const rows: any[] = [];
  const pages: Reply[] = [];
  let next: string | undefined = path;
  while (next !== undefined) {
    const reply = await call(emu, 'GET', next, { headers: options.headers });
    if (reply.status !== 200) throw new Error(`GET ${next}: ${reply.status} ${reply.text}`);
    pages.push(reply);
    rows.push(...reply.body.value);
    next = reply.body['@odata.nextLink'];
    if (next !== undefined) await options.between?.(pages.length);
  }
  return { rows, pages, last: pages[pages.length - 1] as Reply };
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---- $batch --------------------------------------------------------------------------------------

export interface BatchOperation {
  method: string;
  url: string;
  json?: unknown;
  headers?: Record<string, string>;
  contentId?: string;
}

/** A change set: its operations are atomic. */
export interface ChangeSet {
  changeset: BatchOperation[];
}

function operationPart(op: BatchOperation): string {
  let text = 'Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n';
  if (op.contentId !== undefined) text += `Content-ID: ${op.contentId}\r\n`;
  text += `\r\n${op.method} ${op.url} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(op.headers ?? {})) text += `${name}: ${value}\r\n`;
  if (op.json !== undefined) text += 'Content-Type: application/json; type=entry\r\n\r\n' + JSON.stringify(op.json) + '\r\n';
  else text += '\r\n';
  return text;
}

/** A multipart/mixed $batch body (boundary 'batch_<name>', change sets 'changeset_<n>'). */
export function batchBody(items: (BatchOperation | ChangeSet)[], boundary = 'batch_test'): string {
  let text = '';
  items.forEach((item, index) => {
    text += `--${boundary}\r\n`;
    if ('changeset' in item) {
      const inner = `changeset_${index}`;
      text += `Content-Type: multipart/mixed; boundary=${inner}\r\n\r\n`;
      for (const op of item.changeset) text += `--${inner}\r\n${operationPart(op)}`;
      text += `--${inner}--\r\n`;
    } else text += operationPart(item);
  });
  return `${text}--${boundary}--\r\n`;
}

export interface BatchPart {
  status: number;
  headers: Record<string, string>;
  body: any;
  contentId?: string;
  /** Index of the change set response this part belongs to (undefined outside change sets). */
  changeset?: number;
}

function splitParts(text: string, boundary: string): string[] {
  const pieces = text.split(`--${boundary}`);
  // [preamble, part, part, ..., '--' + epilogue]
  return pieces.slice(1, -1).map((piece) => piece.replace(/^\r\n/, '').replace(/\r\n$/, ''));
}

function parseHead(text: string): { headers: Record<string, string>; rest: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest: end < 0 ? '' : text.slice(end + 4) };
}

/** The responses of a batch response body, change sets flattened (marked by `changeset`). */
export function parseBatchResponse(reply: Reply): BatchPart[] {
  const boundary = /boundary=([^;\s]+)/.exec(header(reply, 'content-type') ?? '')?.[1];
  if (!boundary) throw new Error(`not a multipart response: ${header(reply, 'content-type')}`);
  const parts: BatchPart[] = [];
  let changesets = 0;
  const parsePart = (text: string, changeset?: number) => {
    const { headers: partHeaders, rest } = parseHead(text);
    const nested = /boundary=([^;\s]+)/.exec(partHeaders['content-type'] ?? '')?.[1];
    if (nested) {
      const index = changesets++;
      for (const inner of splitParts(rest, nested)) parsePart(inner, index);
      return;
    }
    const statusLine = /^HTTP\/1\.1 (\d{3})/.exec(rest);
    const { headers, rest: body } = parseHead(rest.slice(rest.indexOf('\r\n') + 2));
    const trimmed = body.trim();
    parts.push({ status: Number(statusLine?.[1]), headers, body: trimmed === '' ? undefined : JSON.parse(trimmed), contentId: partHeaders['content-id'], changeset });
  };
  for (const part of splitParts(reply.text, boundary)) parsePart(part);
  return parts;
}

/** POSTs a $batch. */
export function postBatch(emu: DynamicsEmulator, items: (BatchOperation | ChangeSet)[], headers: Record<string, string> = {}): Promise<Reply> {
  return call(emu, 'POST', '$batch', { body: batchBody(items), headers: { 'Content-Type': 'multipart/mixed; boundary=batch_test', ...headers } });
}
