import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Store } from './database.js';
import type { PageToSave, RecordRepository } from './record-repository.js';
import type { PageCounts } from './sync-history.js';

/** What the writing thread opens: the file, and the object whose pages it writes. */
export interface WriterTarget {
  path: string;
  source: string;
  objectType: string;
  keepsHistory: boolean;
}

export type PageMessage = { kind: 'page'; seq: number; page: PageToSave };
export type WriterMessage = PageMessage | { kind: 'close' };
export type WriterReply = { seq: number; counts: PageCounts } | { seq: number; error: string };

/**
 * Records a run may have read but not yet committed. A HubSpot page is 100 to 200 records,
 * so twenty or so wait; a Dataverse page of 5,000 waits alone, which keeps memory to what
 * two pages hold while the next one is parsed beside the write.
 */
const MAX_RECORDS_WAITING = 2_000;

/** The thread keeps little alive (the pages of one transaction): a small young generation keeps its heap near that. */
const YOUNG_GENERATION_MB = 8;

/**
 * Under the test runner this module is TypeScript, which a worker cannot load: the thread
 * runs the built JavaScript (npm test builds first).
 */
const THREAD_SCRIPT = ((): URL => {
  const beside = new URL('./page-writer-thread.js', import.meta.url);
  return existsSync(beside) ? beside : new URL('../../dist/db/page-writer-thread.js', import.meta.url);
})();

/**
 * Saves a run's pages, each in one transaction with its checkpoint. The first page is
 * written here; once a second comes, the rest go to a thread with its own connection to the
 * file, so the SQLite work (statements, commits, the WAL's checkpoints and their fsyncs)
 * overlaps with reading, parsing and mapping the next pages. A run of one page (most
 * incremental runs) never starts a thread. A dry run's in-memory copy is written here:
 * no other connection can see it.
 */
export class PageWriter {
  private thread?: WriterThread;
  private pagesTaken = 0;

  constructor(
    private readonly records: RecordRepository,
    private readonly target: WriterTarget | undefined,
  ) {}

  /**
   * A thread for a store it can open (a file, not a dry run's copy), unless
   * CRMSYNC_WRITER_THREAD=0 keeps every write on the run's own thread.
   */
  static for(store: Store, records: RecordRepository, object: Omit<WriterTarget, 'path'>): PageWriter {
    const threaded = !store.dryRun && store.path !== ':memory:' && process.env.CRMSYNC_WRITER_THREAD !== '0';
    return new PageWriter(records, threaded ? { ...object, path: store.path } : undefined);
  }

  /**
   * Takes a page; `committed` gets its counts once its transaction has committed. Resolves
   * once the page is taken (at once, unless too many records wait), or rejects with an
   * earlier page's failure.
   */
  async save(page: PageToSave, committed: (counts: PageCounts) => void): Promise<void> {
    this.pagesTaken++;
    if (this.thread === undefined && (this.target === undefined || this.pagesTaken === 1)) {
      committed(this.records.savePage(page));
      return;
    }
    this.thread ??= new WriterThread(this.target!);
    await this.thread.save(page, committed);
  }

  /** Waits until every page taken is committed; rejects with the first failure. */
  async drain(): Promise<void> {
    if (!this.thread) return;
    await this.thread.drain();
    // The thread's connection wrote rejections this connection's repository has not seen.
    this.records.forgetRemembered();
  }

  /** Drains, then ends the thread: called when the run ends, however it ends. */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    if (!thread) return;
    try {
      await thread.drain();
    } finally {
      await thread.stop();
      this.records.forgetRemembered();
    }
  }
}

/** The worker thread and the pages it has not answered yet. */
class WriterThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { records: number; committed: (counts: PageCounts) => void }>();
  private recordsWaiting = 0;
  private nextSeq = 0;
  private failure?: Error;
  private exited = false;
  private wake?: () => void;

  constructor(target: WriterTarget) {
    this.worker = new Worker(THREAD_SCRIPT, { workerData: target, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    this.worker.on('message', (reply: WriterReply) => this.answered(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (this.waiting.size > 0) this.fail(new Error(`the thread writing pages stopped (exit code ${code}) with pages not saved`));
    });
  }

  async save(page: PageToSave, committed: (counts: PageCounts) => void): Promise<void> {
    while (!this.failure && this.waiting.size > 0 && this.recordsWaiting + page.records.length > MAX_RECORDS_WAITING) await this.answer();
    if (this.failure) throw this.failure;
    const seq = this.nextSeq++;
    this.waiting.set(seq, { records: page.records.length, committed });
    this.recordsWaiting += page.records.length;
    this.worker.postMessage({ kind: 'page', seq, page } satisfies WriterMessage);
  }

  async drain(): Promise<void> {
    while (!this.failure && this.waiting.size > 0) await this.answer();
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    if (this.failure || this.waiting.size > 0) await this.worker.terminate();
    else this.worker.postMessage({ kind: 'close' } satisfies WriterMessage);
    await exited;
  }

  private answer(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private answered(reply: WriterReply): void {
    const page = this.waiting.get(reply.seq);
    if (!page) return;
    this.waiting.delete(reply.seq);
    this.recordsWaiting -= page.records;
    if ('error' in reply) this.fail(new Error(reply.error));
    else if (!this.failure) page.committed(reply.counts);
    this.wakeUp();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
