import { TransientError } from '../http/retry.js';

/**
 * The OData 4.0 $batch format as the Dataverse Web API takes it: a multipart/mixed body,
 * each part an `application/http` request (request line, headers, JSON body), and an
 * answer of the same shape holding one HTTP response per request, in request order. Change
 * sets (atomic groups) are never sent: every request stands alone, so with
 * `Prefer: odata.continue-on-error` one failure fails only its own request. A change set in
 * an answer is read as the responses it holds.
 */

/** One request of a batch. */
export interface BatchRequest {
  method: 'POST' | 'PATCH' | 'DELETE';
  /** Absolute, under the organisation's Web API. */
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON; a DELETE has none. */
  body?: unknown;
}

/** One response of a batch. */
export interface BatchResponse {
  status: number;
  /** A header's value; names are case-insensitive. */
  header(name: string): string | undefined;
  body: string;
}

const CRLF = '\r\n';

/** The multipart body of a batch of requests. */
export function batchBody(requests: BatchRequest[], boundary: string): string {
  const parts = requests.map((request) => {
    const hasBody = request.body !== undefined;
    const headers = Object.entries({ ...(hasBody ? { 'Content-Type': 'application/json' } : {}), ...request.headers }).map(([name, value]) => `${name}: ${value}`);
    const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', `${request.method} ${request.url} HTTP/1.1`, ...headers, '', hasBody ? JSON.stringify(request.body) : ''];
    return `--${boundary}${CRLF}${lines.join(CRLF)}${CRLF}`;
  });
  return `${parts.join('')}--${boundary}--${CRLF}`;
}

/** The responses of a batch answer, in request order. An answer that cannot be read is a TransientError, as a cut-off body is. */
export function batchResponses(contentType: string | undefined, text: string): BatchResponse[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new TransientError(`Dynamics 365 answered a batch with ${contentType ?? 'no Content-Type'} instead of multipart/mixed`);
  return partsOf(text, boundary).flatMap((part) => {
    const { headers, rest } = splitHead(part);
    const nested = boundaryOf(headers.get('content-type'));
    return nested ? batchResponses(headers.get('content-type'), rest) : [httpResponse(rest)];
  });
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\b/i.test(contentType)) return undefined;
  return /boundary\s*=\s*"?([^";\s]+)"?/i.exec(contentType)?.[1];
}

/** The parts between `--boundary` lines, up to the closing `--boundary--`. */
function partsOf(text: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const closing = text.lastIndexOf(`${delimiter}--`);
  if (closing < 0) throw new TransientError(`a Dynamics 365 batch answer ended before its closing ${delimiter}--`);
  return text
    .slice(0, closing)
    .split(delimiter)
    .slice(1)
    .map((part) => part.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, ''));
}

/** Header lines (names lower-cased) up to the first empty line, and what follows it. */
function splitHead(text: string): { headers: Map<string, string>; rest: string } {
  const end = /\r?\n\r?\n/.exec(text);
  const head = end ? text.slice(0, end.index) : text;
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, rest: end ? text.slice(end.index + end[0].length) : '' };
}

/** "HTTP/1.1 412 Precondition Failed", its headers, its body. */
function httpResponse(text: string): BatchResponse {
  const lineEnd = /\r?\n/.exec(text);
  const statusLine = lineEnd ? text.slice(0, lineEnd.index) : text;
  const status = Number(/^HTTP\/\d\.\d\s+(\d{3})\b/.exec(statusLine.trim())?.[1]);
  if (!status) throw new TransientError(`a Dynamics 365 batch answer holds a part without a status line: ${statusLine.slice(0, 80)}`);
  const after = lineEnd ? text.slice(lineEnd.index + lineEnd[0].length) : '';
  // A response without headers goes straight to the empty line before its body.
  const { headers, rest } = /^\r?\n/.test(after) ? { headers: new Map<string, string>(), rest: after.replace(/^\r?\n/, '') } : splitHead(after);
  return { status, header: (name) => headers.get(name.toLowerCase()), body: rest.trim() };
}
