import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { countRows, history, query } from '../helpers/db.js';
import { FULL_READS, emulatorPerTest, fullReadSettings } from '../helpers/emulator.js';
import { config, syncObject } from '../helpers/engine.js';

// Short delays so the suite stays quick; the policy itself is the production one.
const RETRY = { retries: 8, minDelayMs: 5, maxDelayMs: 40, timeoutMs: 400, rateLimitWaitMs: 50 };
const MIX = { rate429: 0.1, rate5xx: 0.05, rateReset: 0.02, rateTruncated: 0.01, rateTimeout: 0.01, seed: 4 };
const startEmulator = emulatorPerTest();

const records = (db: string) => query(db, 'SELECT source_id, raw_json, fields_json, is_deleted FROM records ORDER BY source_id');
const injected = (emu: HubSpotEmulator) => Object.entries(emu.stats.faults).filter(([kind]) => kind !== 'wrong-types').reduce((total, [, count]) => total + count, 0);

describe.each(FULL_READS)('full reads: %s', (fullRead) => {
  const { settingsOf, hubspotEnvOf, dir } = fullReadSettings(fullRead);

  describe('a flaky API', () => {
    test('under a mix of 429s, 5xx, resets, truncated bodies and timeouts, full and incremental runs end equal to a fault-free run', async () => {
      const emulator = await startEmulator({ seed: { deals: 3_000 }, seedValue: 41 });
      const deals = objectByName(config, 'deals');
      const clean = join(dir, 'clean.db');
      const flaky = join(dir, 'flaky.db');

      await syncObject('deals', clean, settingsOf(emulator), {}, undefined, RETRY);
      emulator.setFaults(MIX);
      const full = await syncObject('deals', flaky, settingsOf(emulator), { batchSize: 50 }, undefined, RETRY);
      expect(full.status, full.error).toBe('success');
      expect(injected(emulator)).toBeGreaterThan(5);
      // Each injected fault cost exactly one retry, and every retry is in performance_metrics.
      expect(full.metrics.retries).toBe(injected(emulator));
      expect(full.metrics.rateLimited).toBe(emulator.stats.faults['429'] ?? 0);
      expect(records(flaky)).toEqual(records(clean));

      // Changes, then an incremental run of each database: the flaky one still ends the same.
      emulator.setFaults(undefined);
      for (const deal of emulator.store.all('deals').slice(0, 400)) emulator.store.update('deals', deal.id, { dealstage: 'closedwon' });
      await syncObject('deals', clean, settingsOf(emulator), {}, undefined, RETRY);
      emulator.stats.reset();
      emulator.setFaults({ ...MIX, seed: 5 });
      const incremental = await syncObject('deals', flaky, settingsOf(emulator), { batchSize: 20 }, undefined, RETRY);
      expect(incremental).toMatchObject({ status: 'success', syncMode: 'incremental', counts: { updated: 400 } });
      expect(incremental.metrics.retries).toBe(injected(emulator));
      expect(records(flaky)).toEqual(records(clean));
      expect(expectComplete(compareWithSource(flaky, emulator.store, deals))).toEqual(COMPLETE);
    });
  });

  describe('a permanent fault', () => {
    test('endless 5xx mid-run: the run fails after its bounded retries, the row says why, committed pages stay', async () => {
      const emulator = await startEmulator({ seed: { contacts: 5_000 }, seedValue: 42 });
      const db = join(dir, 'endless.db');
      const emu = emulator;
      // Page 3 is logged once committed; the reader is ahead of the writer by a bounded number
      // of pages (2,000 records), so the fault comes well before the end of the read.
      const log = {
        debug: (message: string) => {
          if (message.includes(': page 3:')) emu.setFaults({ permanent: 500 });
        },
        info() {},
        warn() {},
        error() {},
      };
      const result = await syncObject('contacts', db, settingsOf(emulator), { batchSize: 100 }, log, RETRY);
      expect(result).toMatchObject({ status: 'failed', exitCode: 1 });
      const committed = result.counts.created;
      expect(committed).toBeGreaterThanOrEqual(300);
      expect(committed).toBeLessThanOrEqual(300 + 2_000 + 200);
      // From both ends, the request that keeps failing is the list's or the search's, whichever came next.
      const failing = fullRead === 'both' ? '(list|search)' : 'list';
      expect(result.error).toMatch(new RegExp(`^${failing} contacts still failing after 9 attempts: HubSpot answered 500: internal error`));
      expect(countRows(db, 'records')).toEqual(committed);
      expect(history(db, 'status, error_message')[0]).toEqual({ status: 'failed', error_message: result.error });

      // Once the API is back, the next run resumes after the committed pages: every page the
      // failed run had read but not committed is read again, none twice.
      emulator.setFaults(undefined);
      const next = await syncObject('contacts', db, settingsOf(emulator), {}, undefined, RETRY);
      expect(next).toMatchObject({ status: 'success', resumedFrom: result.runId, counts: { created: 5_000 - committed } });
      expect(countRows(db, 'records')).toEqual(5_000);
    });

    test.each([
      [401, /error: HubSpot rejected HUBSPOT_ACCESS_TOKEN \(401 INVALID_AUTHENTICATION\): check that the token is current/],
      [403, /HubSpot refused search contacts \(403 MISSING_SCOPES\): HUBSPOT_ACCESS_TOKEN lacks a scope; grant the private app the scope crm\.objects\.contacts\.read/],
    ] as const)('%i through the CLI: exit 1 at once, a message saying what to fix, the row failed with it', async (status, message) => {
      const emulator = await startEmulator({ seed: { contacts: 50 }, seedValue: 43, faults: { permanent: status } });
      const db = join(dir, `permanent-${status}.db`);
      const run = await crmsync(['sync-contacts'], hubspotEnvOf(emulator, db));
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toMatch(message);
      expect(run.stdout + run.stderr).not.toContain(emulator.token);
      expect(emulator.stats.requests).toBe(1); // no retry
      const [row] = history<{ status: string; error_message: string }>(db, 'status, error_message');
      expect(row.status).toBe('failed');
      expect(row.error_message).toMatch(status === 401 ? /HUBSPOT_ACCESS_TOKEN \(401/ : /403 MISSING_SCOPES/);
    });
  });

  describe('malformed records', () => {
    test('a record with wrong types is rejected with its reason and the rest of its page is saved', async () => {
      const emulator = await startEmulator({ seed: { contacts: 800 }, seedValue: 44, faults: { wrongTypes: 0.02, seed: 9 } });
      const db = join(dir, 'malformed.db');
      const result = await syncObject('contacts', db, settingsOf(emulator), {}, undefined, RETRY);
      // The emulator counts every malformed record it sends (the read of the latest
      // modification time may send one of them a second time; a read from both ends also
      // sends some it does not keep: where the search walk starts, and the search page on
      // its way when the list reached the ids it holds).
      const malformed = emulator.stats.faults['wrong-types'] ?? 0;
      const { failed } = result.counts;
      expect(failed).toBeGreaterThanOrEqual(fullRead === 'both' ? 3 : Math.max(3, malformed - 1));
      expect(failed).toBeLessThanOrEqual(malformed);
      expect(result).toMatchObject({ status: 'partial', exitCode: 3, counts: { processed: 800, created: 800 - failed } });
      const rejected = query<{ source_id: string; reasons: string }>(db, 'SELECT source_id, reasons FROM rejected_records');
      expect(rejected).toHaveLength(failed);
      for (const row of rejected) {
        const reasons = JSON.parse(row.reasons) as { reason: string }[];
        expect(reasons.map((reason) => reason.reason).join('; ')).toMatch(/expected a string, got (number|object)|not a valid|not a number|not one of|not true or false/);
      }
    });
  });
});
