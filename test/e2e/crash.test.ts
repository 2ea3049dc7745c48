import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, startCrmsync } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { countRows, history, waitForRecords } from '../helpers/db.js';
import { FULL_READS, fullReadSettings } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';

const contacts = objectByName(config, 'contacts');
let emulator: HubSpotEmulator;

beforeAll(async () => {
  // Latency makes a full read take a few seconds, long enough to be interrupted.
  emulator = await startHubSpotEmulator({ seed: { contacts: 12_000 }, seedValue: 31, latencyMs: 4 });
});
afterAll(() => emulator?.close());

const runs = (db: string) =>
  history<{ id: number; status: string; error_message: string | null; performance_metrics: string | null; configuration: string }>(
    db,
    'id, status, error_message, performance_metrics, configuration',
  );

describe.each(FULL_READS)('full reads: %s', (fullRead) => {
  const { hubspotEnvOf, dir } = fullReadSettings(fullRead);
  const env = (db: string) => hubspotEnvOf(emulator, db);
  const start = (args: string[], db: string) => startCrmsync(args, env(db));

  describe('kill -9 at any moment', () => {
    test('a kill loop ends with local = source, no duplicates, no running row, and resumes instead of starting over', async () => {
      const db = join(dir, 'kill.db');
      emulator.stats.reset();
      const reference = await crmsync(['sync-contacts', '--json'], env(join(dir, 'reference.db')));
      const fullRunRequests = emulator.stats.requests;
      expect(reference.code).toBe(0);

      emulator.stats.reset();
      // Kill points spread over the run, at random counts of committed records.
      const killAt = [1, 2, 3, 4].map((step) => Math.floor(step * 2_400 + Math.random() * 1_800)).sort((a, b) => a - b);
      for (const count of killAt) {
        const { child, done } = start(['sync-contacts', '--quiet'], db);
        await waitForRecords(db, count, "object_type = 'contacts'");
        child.kill('SIGKILL');
        expect((await done).signal).toBe('SIGKILL');
      }
      const final = await crmsync(['sync-contacts', '--json'], env(db));
      expect(final.code, final.stderr).toBe(0);
      const killLoopRequests = emulator.stats.requests;

      expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
      const history = runs(db);
      expect(history.filter((row) => row.status === 'running')).toEqual([]);
      expect(history.slice(0, -1).every((row) => row.status === 'failed' && /abandoned: pid \d+ on .* stopped without closing the run/.test(row.error_message ?? ''))).toBe(true);
      expect(history.at(-1)!.status).toBe('success');
      // Every run after the first continued the one before it.
      for (const [index, row] of history.entries()) {
        if (index > 0) expect(JSON.parse(row.configuration).resumedFrom).toBe(history[index - 1].id);
      }
      // Starting over after each kill would cost at least the requests made before it again.
      const perKillOverhead = 3;
      expect(killLoopRequests).toBeLessThanOrEqual(fullRunRequests + killAt.length * perKillOverhead);
      const finalRequests = JSON.parse(final.stdout).results[0].metrics.requests as number;
      expect(finalRequests).toBeLessThan(fullRunRequests);
      console.info(
        `kill loop: ${killAt.length} kills at ${killAt.join(', ')} records; ${killLoopRequests} requests in all vs ${fullRunRequests} for one uninterrupted run; ` +
          `starting over each time would have needed ≥ ${fullRunRequests + killAt.reduce((sum, count) => sum + Math.floor(count / 100), 0)}`,
      );
    });
  });

  describe('one run at a time', () => {
    test('a second concurrent run of the same object exits 4 naming the holder', async () => {
      const db = join(dir, 'lease.db');
      const first = start(['sync-contacts', '--quiet'], db);
      await waitForRecords(db, 500, "object_type = 'contacts'");
      const second = await crmsync(['sync-contacts'], env(db));
      expect(second.code).toBe(4);
      expect(second.stderr).toMatch(new RegExp(`error: contacts is already being synced by pid ${first.child.pid} on .+ since \\d{4}-\\d{2}-\\d{2}T.+ \\(run 1\\); wait for it to finish, or stop that process`));
      expect(second.stdout).toMatch(/^contacts\s+not run\s+contacts is already being synced/);
      // A dry run writes nothing and does not need the lease.
      const dry = await crmsync(['sync-contacts', '--dry-run', '--max-records', '10'], env(db));
      expect(dry.code, dry.stderr).toBe(0);
      const firstResult = await first.done;
      expect(firstResult.code, firstResult.stdout + firstResult.stderr).toBe(0);
      expect(runs(db).map((row) => row.status)).toEqual(['success']);
    });

    test('SIGTERM finishes the current page, records the run as failed "interrupted", and the next run resumes', async () => {
      const db = join(dir, 'sigterm.db');
      const run = start(['sync-contacts'], db);
      await waitForRecords(db, 2_000, "object_type = 'contacts'");
      run.child.kill('SIGTERM');
      const result = await run.done;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('SIGTERM: finishing the current page, then stopping');
      const [interrupted] = runs(db);
      expect(interrupted).toMatchObject({ status: 'failed', error_message: 'interrupted' });
      const saved = countRows(db, 'records');
      expect(saved % 100).toBe(0); // whole pages only

      const next = await crmsync(['sync-contacts', '--json'], env(db));
      expect(next.code).toBe(0);
      const [resumed] = JSON.parse(next.stdout).results;
      expect(resumed.resumedFrom).toBe(interrupted.id);
      expect(resumed.counts.created).toBe(12_000 - saved);
      expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    });
  });
});
