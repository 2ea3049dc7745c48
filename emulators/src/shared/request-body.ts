import type { IncomingMessage } from 'node:http';

/**
 * A request's body as text. Past `maxBytes` the rest is drained unread and the promise
 * rejects with `tooLarge(maxBytes)`, so each emulator answers in its own API's error shape.
 */
export function readBody(request: IncomingMessage, maxBytes: number, tooLarge: (maxBytes: number) => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    request.on('end', () => (size > maxBytes ? reject(tooLarge(maxBytes)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    request.on('error', reject);
  });
}
