/**
 * The thread that writes one run's pages (see page-writer.ts), through a connection of its
 * own to the same file. Pages that queued up while it wrote are committed together, in
 * order, each with its checkpoint, so a slower disk costs fewer commits instead of holding
 * the reader up. After a failure it writes nothing more: a later page committed after a
 * lost one would carry a checkpoint past records that were never saved.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS } from './file-access.js';
import type { PageMessage, WriterMessage, WriterReply, WriterTarget } from './page-writer.js';
import { RecordRepository } from './record-repository.js';
import { RunPages } from './run-pages.js';

const port = parentPort as MessagePort;
const target = workerData as WriterTarget;
// The file is open and migrated already (the run's own connection did it). Only what a page
// needs is loaded here: no ORM, no migrations, so the thread stays small.
const sqlite = new Database(target.path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: true });
// Per connection; WAL is the file's own setting, on already.
sqlite.pragma('synchronous = NORMAL');
const records = new RecordRepository({ sqlite }, new RunPages(sqlite), target.source, target.objectType, { keepsHistory: target.keepsHistory });
let failure: string | undefined;

port.on('message', (first: WriterMessage) => {
  const pages: PageMessage[] = [];
  let closing = false;
  for (let message: WriterMessage | undefined = first; message !== undefined; message = (receiveMessageOnPort(port)?.message as WriterMessage | undefined)) {
    if (message.kind === 'close') closing = true;
    else pages.push(message);
  }
  if (pages.length > 0) write(pages);
  if (closing) {
    sqlite.close();
    port.close();
  }
});

function write(pages: PageMessage[]): void {
  if (failure === undefined) {
    try {
      const counts = records.savePages(pages.map((message) => message.page));
      pages.forEach((message, index) => reply({ seq: message.seq, counts: counts[index]! }));
      return;
    } catch (error) {
      // The pages before the one that failed are committed on their own, as they would have
      // been one by one: a failed run keeps every page before the failure.
      if (pages.length === 1) failure = messageOf(error);
      else pages = pages.filter((message) => !writeAlone(message));
    }
  }
  for (const message of pages) reply({ seq: message.seq, error: failure! });
}

/** Writes one page unless a page failed before it; whether it was committed. */
function writeAlone(message: PageMessage): boolean {
  if (failure !== undefined) return false;
  try {
    reply({ seq: message.seq, counts: records.savePage(message.page) });
    return true;
  } catch (error) {
    failure = messageOf(error);
    return false;
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function reply(answer: WriterReply): void {
  port.postMessage(answer);
}
