import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { emptyMetrics } from '../../src/clients/http/retry.js';
import { openStore, type Store } from '../../src/db/database.js';
import { emptyCounts, HEARTBEAT_MS, SyncHistoryRepository, type PageCounts } from '../../src/db/sync-history.js';
import { withRun, type ActiveRun, type RunSpec, type SyncOptions } from '../../src/engines/run-lifecycle.js';
import { ApiError, LeaseHeldError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/cli.js';
import { history } from '../helpers/db.js';
import { DEFAULT_OPTIONS, recordingLogger } from '../helpers/engine.js';

const dir = tempDir();
let db: string;
let store: Store;
beforeEach(() => {
  db = join(dir, `${Math.random().toString(36).slice(2)}.db`);
  store = openStore(db);
});
afterEach(() => store.close());

const WATERMARK = '2025-06-01T12:00:00.000Z';
const counts = (changes: Partial<PageCounts>): PageCounts => ({ ...emptyCounts(), ...changes });

function spec(options: Partial<SyncOptions> = {}, overrides: Partial<RunSpec> = {}): RunSpec & { lines: string[] } {
  const { lines, log } = recordingLogger('info');
  const target = { origin: 'https://api.hubapi.com', originName: 'HUBSPOT_BASE_URL', object: 'contacts', mapping: 'mapping-1' };
  return { store, source: 'hubspot', object: 'contacts', label: 'contacts', options: { ...DEFAULT_OPTIONS, ...options }, overlapMs: 600_000, tracksChanges: false, target, metrics: emptyMetrics(), log, lines, ...overrides };
}

/** Commits one page the way a loop body does: counts, checkpoint and watermark in the run's row. */
function commitPage<C>(run: ActiveRun<C>, page: Partial<PageCounts>, checkpoint: C): void {
  new SyncHistoryRepository(store).recordPage(run.runId, counts(page), checkpoint, run.watermark);
  run.add(counts(page));
}

describe('a run from start to end', () => {
  test('a finished run closes its row with counts, watermark and metrics; the next run starts from its watermark', async () => {
    const first = await withRun(spec(), async (run) => {
      expect(run.strategy).toEqual({ syncMode: 'full', mode: 'full', advancesWatermark: true });
      run.watermark = WATERMARK;
      commitPage(run, { processed: 3, created: 3 }, { page: 1 });
    });
    expect(first).toMatchObject({ runId: 1, status: 'success', exitCode: 0, syncMode: 'full', counts: { processed: 3, created: 3 }, watermark: WATERMARK, metrics: { pages: 1 } });
    expect(history(db, 'status, records_created, watermark')).toEqual([{ status: 'success', records_created: 3, watermark: WATERMARK }]);

    const second = await withRun(spec(), async (run) => {
      expect(run.strategy).toEqual({ syncMode: 'incremental', mode: 'incremental', since: '2025-06-01T11:50:00.000Z', advancesWatermark: true });
    });
    expect(second).toMatchObject({ runId: 2, syncMode: 'incremental', watermark: WATERMARK });
  });

  test('rejected records make the run partial, exit 3', async () => {
    const result = await withRun(spec(), async (run) => commitPage(run, { processed: 2, created: 1, failed: 1 }, null));
    expect(result).toMatchObject({ status: 'partial', exitCode: 3 });
  });

  test.each([
    ['an API that keeps failing', new ApiError('list contacts still failing after 6 attempts'), 1],
    ['a configuration problem found mid-run', new UsageError('mappings.yaml: no such column'), 2],
  ])('%s fails the run, not the caller: the row says why, the exit code is the error\'s, the log says it once', async (_, error, exitCode) => {
    const failing = spec();
    const result = await withRun(failing, async () => {
      throw error;
    });
    expect(result).toMatchObject({ status: 'failed', exitCode, error: error.message });
    expect(history(db, 'status, error_message')).toEqual([{ status: 'failed', error_message: error.message }]);
    expect(failing.lines.filter((line) => line.includes(error.message))).toEqual([expect.stringMatching(/ error: contacts: /)]);
  });
});

describe('stored state of another target', () => {
  const finishedFull = (overrides: Partial<RunSpec>) =>
    withRun(spec({}, overrides), async (run) => {
      run.watermark = WATERMARK;
    });

  test('after the mapping changed, a plain run says so, reads everything, and the next one is incremental again', async () => {
    await finishedFull({});
    const remapped = spec({}, { target: { ...spec().target, mapping: 'mapping-2' } });
    const full = await withRun(remapped, async (run) => {
      expect(run.watermark).toBeNull();
      run.watermark = WATERMARK;
    });
    expect(full.syncMode).toBe('full');
    expect(remapped.lines.join('')).toMatch(/contacts: mapping of contacts changed since the last run; reading everything so every row follows it/);
    expect((await withRun(spec({}, { target: remapped.target }), async () => {})).syncMode).toBe('incremental');
  });

  test('after the origin changed, the run says so and stores the new one', async () => {
    await finishedFull({});
    const moved = spec({}, { target: { ...spec().target, origin: 'http://127.0.0.1:9' } });
    expect((await withRun(moved, async () => {})).syncMode).toBe('full');
    expect(moved.lines.join('')).toContain('contacts: HUBSPOT_BASE_URL changed (was https://api.hubapi.com, now http://127.0.0.1:9): reading everything');
    expect(JSON.parse(history<{ configuration: string }>(db, 'configuration').at(-1)!.configuration)).toMatchObject({ origin: 'http://127.0.0.1:9', mapping: 'mapping-1' });
  });
});

describe('--max-records', () => {
  test('lets exactly n records in, whatever the batches, and a read cut short stores no delta link', async () => {
    const taken: number[] = [];
    const result = await withRun(spec({ maxRecords: 10 }, { tracksChanges: true }), async (run) => {
      for (const batch of [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]) {
        const records = run.take(batch);
        taken.push(records.length);
        commitPage(run, { processed: records.length }, null);
        if (run.truncated) break;
      }
      run.deltaLink = 'https://org.example/api/data/v9.2/contacts?$deltatoken=1';
    });
    expect(taken).toEqual([4, 4, 2]);
    expect(result.counts.processed).toBe(10);
    expect(history(db, 'delta_link')).toEqual([{ delta_link: null }]);
  });

  test('a batch that ends exactly at the limit ends the read too', async () => {
    await withRun(spec({ maxRecords: 8 }), async (run) => {
      expect(run.take([1, 2, 3, 4])).toHaveLength(4);
      commitPage(run, { processed: 4 }, null);
      expect(run.truncated).toBe(false);
      expect(run.take([5, 6, 7, 8])).toHaveLength(4);
      expect(run.truncated).toBe(true);
    });
  });
});

describe('resume', () => {
  const failAfterOnePage = () =>
    withRun(spec(), async (run) => {
      commitPage(run, { processed: 100, created: 100 }, { after: 'page-1' });
      throw new ApiError('connection reset, out of retries');
    });

  test('the next run with the same flags continues a failed run from its last committed checkpoint', async () => {
    const failed = await failAfterOnePage();
    const next = spec();
    let resumeFrom: unknown;
    const resumed = await withRun(next, async (run) => {
      resumeFrom = run.resumeFrom;
    });
    expect(resumeFrom).toEqual({ after: 'page-1' });
    expect(resumed).toMatchObject({ resumedFrom: failed.runId, syncMode: 'full', status: 'success' });
    expect(next.lines.join('')).toContain(`contacts: resuming run ${failed.runId} from its last committed page (run ${resumed.runId})`);
    expect(JSON.parse(history<{ configuration: string }>(db, 'configuration').at(-1)!.configuration)).toMatchObject({ resumedFrom: failed.runId });
  });

  test('a run that asks for another read starts afresh', async () => {
    await failAfterOnePage();
    let resumeFrom: unknown = 'not called';
    const result = await withRun(spec({ since: new Date('2025-01-01T00:00:00Z') }), async (run) => {
      resumeFrom = run.resumeFrom;
    });
    expect(resumeFrom).toBeUndefined();
    expect(result).toMatchObject({ syncMode: 'since', resumedFrom: undefined });
  });
});

describe('the lease', () => {
  /** A `running` row as a process leaves it behind, held by `pid`. */
  const open = (on: Store) =>
    new SyncHistoryRepository(on).begin('hubspot', 'contacts', () => ({ entity: 'contacts', source: 'hubspot', syncMode: 'full', configuration: {}, watermark: null }));
  /** Opened through a connection of its own, closed since (as an earlier process's would be). */
  const leftRunning = (pid: number) => {
    const earlier = openStore(db);
    open(earlier);
    earlier.close();
    store.sqlite.prepare('UPDATE sync_history SET pid = ?').run(pid);
  };

  test('a run this process opened and has not closed holds the lease against another run of this process', async () => {
    const { runId } = open(store);
    await expect(withRun(spec(), async () => {})).rejects.toThrow(LeaseHeldError);
    new SyncHistoryRepository(store).finish(runId, { status: 'success', metrics: {} });
    expect((await withRun(spec(), async () => {})).status).toBe('success');
  });

  test('a run whose holder died is closed as failed, with a warning, and the new run takes over', async () => {
    // A row of this very process's pid that this process did not open can only be left from before.
    leftRunning(process.pid);
    const next = spec();
    const result = await withRun(next, async () => {});
    expect(result.status).toBe('success');
    expect(next.lines.join('')).toMatch(/warn: contacts: run 1 \(pid \d+ on .+\) died without finishing; closed it as failed/);
    expect(history(db, 'id, status')).toEqual([
      { id: 1, status: 'failed' },
      { id: 2, status: 'success' },
    ]);
  });

  test('a dry run beside a live run reads for itself; a dead run\'s checkpoint is continued', async () => {
    const failedRead = JSON.stringify({ full: false, forceOverwrite: false, strategy: { syncMode: 'full', mode: 'full', advancesWatermark: true } });
    leftRunning(process.ppid);
    store.sqlite.prepare('UPDATE sync_history SET configuration = ?, checkpoint = ?').run(failedRead, '{"after":"page-3"}');
    let resumeFrom: unknown = 'not called';
    const dry = await withRun(spec({ dryRun: true }), async (run) => {
      resumeFrom = run.resumeFrom;
    });
    expect(resumeFrom).toBeUndefined();
    expect(dry.resumedFrom).toBeUndefined();

    // A real dry run writes to a copy of the database; here its row is removed by hand.
    store.sqlite.prepare('DELETE FROM sync_history WHERE id > 1').run();
    store.sqlite.prepare('UPDATE sync_history SET pid = ? WHERE id = 1').run(process.pid);
    const next = await withRun(spec(), async (run) => {
      resumeFrom = run.resumeFrom;
    });
    expect(resumeFrom).toEqual({ after: 'page-3' });
    expect(next.resumedFrom).toBe(1);
  });

  test('a live holder keeps it: the run does not start, and a dry run goes ahead beside it', async () => {
    leftRunning(process.ppid);
    await expect(withRun(spec(), async () => {})).rejects.toThrow(LeaseHeldError);
    expect(await withRun(spec({ dryRun: true }), async () => {})).toMatchObject({ status: 'success', dryRun: true });
  });

  test('the heartbeat is refreshed while the body waits on the API', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    try {
      let release!: () => void;
      const pending = withRun(spec(), () => new Promise<void>((resolve) => (release = resolve)));
      const [{ heartbeat_at: before }] = history<{ heartbeat_at: string }>(db, 'heartbeat_at');
      vi.advanceTimersByTime(HEARTBEAT_MS + 1);
      const [{ heartbeat_at: after }] = history<{ heartbeat_at: string }>(db, 'heartbeat_at');
      expect(Date.parse(after) - Date.parse(before)).toBeGreaterThanOrEqual(HEARTBEAT_MS);
      release();
      expect((await pending).status).toBe('success');
    } finally {
      vi.useRealTimers();
    }
  });
});
