/**
 * A webhook receiver for the emulators' webhook tests: a node:http server on 127.0.0.1
 * that records every POST and answers with what `answer` says (default 200).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  /** Path and query as requested. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON. */
  json: any;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
}

export interface Receiver {
  /** http://127.0.0.1:PORT */
  url: string;
  posts: ReceivedPost[];
  /** Sets the answer to each next POST (given the number of POSTs received before it). */
  answer: (answer: (index: number, post: ReceivedPost) => Answer) => void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const posts: ReceivedPost[] = [];
  let answerOf: (index: number, post: ReceivedPost) => Answer = () => ({ status: 200 });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const post: ReceivedPost = { path: request.url ?? '/', headers: request.headers, body, json, at: Date.now() };
      const answer = answerOf(posts.length, post);
      posts.push(post);
      response.writeHead(answer.status, answer.headers ?? {});
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    answer: (fn) => {
      answerOf = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
