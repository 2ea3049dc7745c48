import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** A HubSpot v3 signature as HubSpot computes it, over the URI exactly as given. */
export function hubspotSignature(secret: string, uri: string, body: string, timestamp: number, method = 'POST'): string {
  return createHmac('sha256', secret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

/** A HubSpot v3 event array of one propertyChange per id. */
export function hubspotBody(eventIds: number[], objectId = 501): string {
  return JSON.stringify(
    eventIds.map((eventId) => ({
      eventId,
      subscriptionId: 7,
      portalId: 62515,
      appId: 1160452,
      occurredAt: 1_735_689_600_000,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId,
      propertyName: 'email',
      propertyValue: 'ada@example.com',
      changeSource: 'CRM_UI',
    })),
  );
}

/** A Dataverse RemoteExecutionContext for an Update of one contact. */
export function dynamicsBody(operationId: string): string {
  return JSON.stringify({
    MessageName: 'Update',
    PrimaryEntityName: 'contact',
    PrimaryEntityId: '6f1e7a7c-2d3b-4f1a-9a51-0c6a4a3e2b10',
    OperationId: operationId,
    RequestId: '0b8a6f7e-1111-4c2e-8d2a-2f0b7c9d0e11',
    OperationCreatedOn: '/Date(1735689600000)/',
    Depth: 1,
    InputParameters: [],
  });
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Bytes of the body written before the answer came. */
  written: number;
}

/**
 * POSTs with node:http, writing `chunks` one after another (chunked unless a Content-Length
 * header is given) and stopping once an answer arrives: the server may answer before the
 * body is all sent, and close the connection.
 */
export function rawPost(url: string, headers: Record<string, string>, chunks: Buffer[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const request = httpRequest(url, { method: 'POST', headers });
    request.on('response', (response) => {
      answered = true;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => (body += text));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, written }));
    });
    request.on('error', (error) => (answered ? undefined : reject(error)));
    const writeNext = (index: number) => {
      if (answered || request.destroyed) return;
      if (index === chunks.length) {
        request.end();
        return;
      }
      written += chunks[index].length;
      request.write(chunks[index], () => setImmediate(() => writeNext(index + 1)));
    };
    request.flushHeaders();
    writeNext(0);
  });
}

/** Opens a connection, sends `text` and never more; resolves with what came back once the server closes it. */
export function stalledClient(port: number, text: string): Promise<{ received: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let received = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (received += data));
    socket.on('close', () => resolve({ received, closedAfterMs: Date.now() - started }));
    socket.on('error', reject);
  });
}
