/**
 * `POST /api/data/v9.2/$batch` (OData 4.0 multipart batches, as Dataverse takes them).
 *
 * The body is `multipart/mixed; boundary=batch_…`; each part is `application/http`
 * (`Content-Transfer-Encoding: binary`) holding one HTTP request (request line with a
 * relative `/api/data/v9.2/…`, service-root-relative or absolute URL, headers, body), or
 * a change set: a nested `multipart/mixed; boundary=changeset_…` whose requests are
 * atomic (any failure rolls back every operation of the set and the set's response is
 * that one error). In a change set, `Content-ID: n` lets later requests refer to the
 * entity an earlier one created as `$n` (in the URL or an `@odata.bind` value); GETs are
 * not allowed there. At most 1000 requests per batch.
 *
 * Without `Prefer: odata.continue-on-error` processing stops at the first failure and
 * the batch answers with that failure's status (the body still lists the responses so
 * far); with it, every request runs and the batch answers 200.
 */
import { randomUUID } from 'node:crypto';
import { DataverseError, odataError } from './errors.js';
import { parsePrefer } from './query.js';
import type { DynamicsStore } from './store.js';
import type { ApiRequest, ApiResponse } from './webapi-request.js';

export const BATCH_MAX_REQUESTS = 1000;

interface PartRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

type BatchItem = { kind: 'request'; request: PartRequest } | { kind: 'changeset'; requests: PartRequest[] };

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^\s*multipart\/mixed\s*(;|$)/i.test(contentType)) return undefined;
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function invalidBatch(reason: string): DataverseError {
  return odataError(`The batch request is not valid: ${reason}`);
}

/** The bodies of a multipart entity's parts (delimiter lines and their line breaks removed). */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const lines = body.split('\n');
  const parts: string[] = [];
  let current: string[] | null = null;
  let closed = false;
  for (const rawLine of lines) {
    const line = rawLine.replace(/\r$/, '');
    if (line.startsWith(delimiter)) {
      const rest = line.slice(delimiter.length).trim();
      if (rest === '' || rest === '--') {
        if (current) parts.push(current.join('\n'));
        current = null;
        if (rest === '--') {
          closed = true;
          break;
        }
        current = [];
        continue;
      }
    }
    if (current) current.push(line);
  }
  if (!closed) throw invalidBatch(`the closing delimiter '${delimiter}--' is missing.`);
  return parts;
}

/** Headers (lower-case names) and the rest of a part, split at the first empty line. */
function splitHeaders(text: string): { headers: Record<string, string>; body: string } {
  const lines = text.split('\n');
  const headers: Record<string, string> = {};
  let k = 0;
  for (; k < lines.length; k++) {
    const line = lines[k] as string;
    if (line.trim() === '') {
      k++;
      break;
    }
    const colon = line.indexOf(':');
    if (colon < 0) throw invalidBatch(`'${line}' is not a header line.`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: lines.slice(k).join('\n') };
}

function parseHttpPart(text: string, partHeaders: Record<string, string>): PartRequest {
  const type = partHeaders['content-type'] ?? '';
  if (!/^application\/http\b/i.test(type)) throw invalidBatch(`a part has Content-Type '${type}', expected 'application/http'.`);
  const content = text.replace(/^\s*\n/, '');
  const newline = content.indexOf('\n');
  const requestLine = (newline < 0 ? content : content.slice(0, newline)).trim();
  const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine);
  if (!match) throw invalidBatch(`'${requestLine}' is not an HTTP request line.`);
  const { headers, body } = splitHeaders(newline < 0 ? '' : content.slice(newline + 1));
  return { method: match[1] as string, url: match[2] as string, headers, body: body.replace(/\s+$/, ''), contentId: partHeaders['content-id'] };
}

function parseBatch(body: string, boundary: string): BatchItem[] {
  const items: BatchItem[] = [];
  for (const part of splitMultipart(body, boundary)) {
    const { headers, body: content } = splitHeaders(part);
    const nested = boundaryOf(headers['content-type']);
    if (nested !== undefined) {
      const requests: PartRequest[] = [];
      for (const inner of splitMultipart(content, nested)) {
        const split = splitHeaders(inner);
        if (boundaryOf(split.headers['content-type']) !== undefined) throw invalidBatch('change sets cannot be nested.');
        requests.push(parseHttpPart(split.body, split.headers));
      }
      items.push({ kind: 'changeset', requests });
    } else {
      items.push({ kind: 'request', request: parseHttpPart(content, headers) });
    }
  }
  return items;
}

/** One response inside the batch response; created entities carry Location as well as OData-EntityId there. */
function responsePart(response: ApiResponse, contentId: string | undefined): string {
  let text = 'Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n';
  if (contentId !== undefined) text += `Content-ID: ${contentId}\r\n`;
  text += `\r\nHTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? ''}\r\nOData-Version: 4.0\r\n`;
  for (const [name, value] of Object.entries(response.headers)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (name === 'OData-EntityId') text += `Location: ${item}\r\n`;
      text += `${name}: ${item}\r\n`;
    }
  }
  return `${text}\r\n${response.body ?? ''}`;
}

class ChangeSetFailure extends Error {
  constructor(
    readonly response: ApiResponse,
    readonly contentId: string | undefined,
  ) {
    super('change set failed');
  }
}

export interface BatchContext {
  store: DynamicsStore;
  /** Runs one inner request. */
  run: (request: ApiRequest) => ApiResponse;
  /** Runs a change set: what it notifies is sent only if it commits. */
  atomically: <T>(fn: () => T) => T;
}

/** Builds the ApiRequest of a part: the URL resolved against the batch (and change-set references). */
function innerRequest(batch: ApiRequest, part: PartRequest, references: ReadonlyMap<string, string> | undefined): ApiRequest | ApiResponse {
  let url = part.url;
  if (url.startsWith('$')) {
    const match = /^(\$[^/?]+)(.*)$/.exec(url) as RegExpExecArray;
    const target = references?.get(match[1] as string);
    if (target === undefined) {
      return errorOf(odataError(`Content-ID Reference: '${match[1] as string}' does not exist in the batch context.`));
    }
    url = target + (match[2] as string);
  }
  const origin = batch.base.replace(/\/api\/data\/v9\.\d$/, '');
  const absolute = /^https?:\/\/[^/]+(\/.*)?$/.exec(url);
  if (absolute) url = absolute[1] ?? '/';
  else if (!url.startsWith('/')) url = `${batch.base.slice(origin.length)}/${url}`;
  const parsed = new URL(url, origin);
  const api = /^\/api\/data\/(v9\.[0-2])(?:\/(.*))?$/.exec(parsed.pathname);
  if (!api) return errorOf(odataError(`Resource not found for the segment '${parsed.pathname}'.`, 404));
  let path: string;
  try {
    path = decodeURIComponent(api[2] ?? '');
  } catch {
    return errorOf(odataError('Bad Request - Error in query syntax.'));
  }
  if (path === '$batch') return errorOf(odataError('A batch request cannot contain another batch request.'));
  return {
    method: part.method,
    path,
    rawQuery: parsed.search.replace(/^\?/, ''),
    query: parsed.searchParams,
    headers: part.headers,
    body: part.body,
    base: `${origin}/api/data/${api[1] as string}`,
    prefs: parsePrefer(part.headers.prefer),
    references,
  };
}

function errorOf(error: DataverseError): ApiResponse {
  return { status: error.status, headers: { 'Content-Type': 'application/json; odata.metadata=minimal' }, body: JSON.stringify(error.toBody()) };
}

function isResponse(value: ApiRequest | ApiResponse): value is ApiResponse {
  return 'status' in value;
}

export function executeBatch(ctx: BatchContext, request: ApiRequest): ApiResponse {
  const boundary = boundaryOf(request.headers['content-type']);
  if (boundary === undefined) throw invalidBatch(`the Content-Type must be 'multipart/mixed' with a boundary, got '${request.headers['content-type'] ?? ''}'.`);
  const items = parseBatch(request.body, boundary);
  const total = items.reduce((sum, item) => sum + (item.kind === 'request' ? 1 : item.requests.length), 0);
  if (total > BATCH_MAX_REQUESTS) {
    throw invalidBatch(`it holds ${total} requests; a batch can hold at most ${BATCH_MAX_REQUESTS}.`);
  }
  for (const item of items) {
    if (item.kind === 'changeset' && item.requests.some((part) => part.method === 'GET')) throw invalidBatch('GET requests are not allowed in a change set.');
  }
  const continueOnError = request.prefs.continueOnError;
  const parts: string[] = [];
  let failedStatus: number | undefined;
  for (const item of items) {
    if (item.kind === 'request') {
      const inner = innerRequest(request, item.request, undefined);
      const response = isResponse(inner) ? inner : ctx.run(inner);
      parts.push(responsePart(response, item.request.contentId));
      if (response.status >= 400 && !continueOnError) {
        failedStatus = response.status;
        break;
      }
      continue;
    }
    const references = new Map<string, string>();
    const responses: [ApiResponse, string | undefined][] = [];
    try {
      ctx.atomically(() => ctx.store.transaction(() => {
        for (const part of item.requests) {
          const inner = innerRequest(request, part, references);
          const response = isResponse(inner) ? inner : ctx.run(inner);
          if (response.status >= 400) throw new ChangeSetFailure(response, part.contentId);
          responses.push([response, part.contentId]);
          const entity = response.headers['OData-EntityId'];
          if (part.contentId !== undefined && typeof entity === 'string') references.set(`$${part.contentId}`, entity);
        }
      }));
    } catch (error) {
      if (!(error instanceof ChangeSetFailure)) throw error;
      parts.push(responsePart(error.response, error.contentId));
      if (!continueOnError) {
        failedStatus = error.response.status;
        break;
      }
      continue;
    }
    const changeset = `changesetresponse_${randomUUID()}`;
    let text = `Content-Type: multipart/mixed; boundary=${changeset}\r\n\r\n`;
    for (const [response, contentId] of responses) text += `--${changeset}\r\n${responsePart(response, contentId)}\r\n`;
    parts.push(`${text}--${changeset}--`);
  }
  const boundaryOut = `batchresponse_${randomUUID()}`;
  const body = parts.map((part) => `--${boundaryOut}\r\n${part}\r\n`).join('') + `--${boundaryOut}--\r\n`;
  const headers: Record<string, string> = { 'Content-Type': `multipart/mixed; boundary=${boundaryOut}` };
  if (continueOnError) headers['Preference-Applied'] = 'odata.continue-on-error';
  return { status: failedStatus ?? 200, headers, body };
}
