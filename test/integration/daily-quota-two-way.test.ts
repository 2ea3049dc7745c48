/**
 * Two-way runs and HubSpot's daily quota: writes to HubSpot keep the reserve too, and those
 * held back wait in the outbox, not counted as attempts, for the run after the quota resets;
 * an inbound read of HubSpot that stops at the reserve stops the two-way run before it
 * merges, and the next run continues that read.
 */
import { describe, expect, test } from 'vitest';
import { generateSharedSeed, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { query } from '../helpers/db.js';
import { recordWrites, runTwoWay, sharedEmulatorsPerTest, twoWayDb, withWriter, type WriteCall } from '../helpers/two-way.js';
import { alikePeople, idsOf } from '../helpers/two-way-state.js';
import type { SourceName } from '../../src/config/sources.js';

const SHARED = { contacts: 400, companies: 10 };
const alike = alikePeople(generateSharedSeed(SHARED, 42));
const startEmulators = sharedEmulatorsPerTest();
const DAY = 86_400_000;
const DAILY = 3_000;

/** HubSpot's daily quota the only limit that matters, on a clock that can jump a day. */
function hubspotOptions() {
  let offset = 0;
  return { clock: { nextDay: () => (offset += DAY) }, options: { now: () => Date.now() + offset, rateLimit: { perInterval: 100_000, searchPerSecond: 1_000, daily: DAILY } } };
}

/** Another app of the portal spends the quota until `left` requests remain. */
async function spendQuotaUntil(emulator: HubSpotEmulator, left: number): Promise<void> {
  for (;;) {
    const answer = await fetch(`${emulator.url}/crm/v3/objects/companies?limit=1`, { headers: { authorization: `Bearer ${emulator.token}` } });
    await answer.arrayBuffer();
    if (Number(answer.headers.get('x-hubspot-ratelimit-daily-remaining')) <= left) return;
  }
}

const pending = (db: string) => query<{ attempts: number; last_error: string }>(db, "SELECT attempts, last_error FROM outbox WHERE status = 'pending' AND crm = 'hubspot'");

describe("two-way runs keep the reserve of HubSpot's daily quota", () => {
  test('writes to HubSpot beyond the reserve wait in the outbox, not counted as attempts, and go out after the quota resets', async () => {
    const { clock, options } = hubspotOptions();
    const emulators = await startEmulators(SHARED, { hubspot: options });
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const edited = alike.slice(0, 150).map((person) => idsOf(emulators, person));
    for (const ids of edited) emulators.dynamics.store.update('contacts', ids.dynamics, { jobtitle: 'Quota Keeper' });

    const calls: Record<SourceName, WriteCall[]> = { hubspot: [], dynamics: [] };
    const record = recordWrites(calls);
    let spent = false;
    const held = await runTwoWay('contacts', db, emulators, {
      dailyReserve: { requests: 50 },
      adapt: (connections) => {
        const adapted = record(connections);
        // Just before the writes go out, the portal's other apps leave 51 requests: one batch may go, the next would leave less than 50.
        adapted.hubspot = withWriter(adapted.hubspot, (writer) => async (mapping, writes) => {
          if (!spent) await spendQuotaUntil(emulators.hubspot, 51);
          spent = true;
          return writer.write(mapping, writes);
        });
        return adapted;
      },
    });
    expect(held.result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(held.result.error).toMatch(/^writes held in the outbox: stopped at HubSpot's daily quota reserve: 50 of 3000 requests left today, 50 kept for the portal's other apps \(--daily-reserve 50\)/);
    expect(held.summary).toMatchObject({ updated: { hubspot: 100, dynamics: 0 }, writesWaiting: 50, writesDead: 0 });
    const updated = () => edited.filter((ids) => emulators.hubspot.store.get('contacts', ids.hubspot)?.properties.jobtitle === 'Quota Keeper').length;
    expect(updated()).toBe(100);
    expect(calls.hubspot.flatMap((call) => call.outcomes.map((outcome) => outcome.status)).filter((status) => status === 'held')).toHaveLength(50);
    // Never sent: no attempt counted, so they are neither in doubt nor nearer the dead letter.
    expect(pending(db)).toHaveLength(50);
    expect(pending(db).every((row) => row.attempts === 0 && /daily quota reserve/.test(row.last_error))).toBe(true);

    clock.nextDay();
    const next = await runTwoWay('contacts', db, emulators, { dailyReserve: { requests: 50 } });
    expect(next.result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(next.summary.updated.hubspot).toBe(50);
    expect(updated()).toBe(150);
    expect(pending(db)).toHaveLength(0);
  });

  test('an inbound read of HubSpot stopped at the reserve stops the run before it merges; the next run continues the read', async () => {
    const { clock, options } = hubspotOptions();
    const emulators = await startEmulators(SHARED, { hubspot: options });
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    for (const ids of alike.slice(0, 5).map((person) => idsOf(emulators, person))) emulators.hubspot.store.update('contacts', ids.hubspot, { jobtitle: 'Read Tomorrow' });
    await spendQuotaUntil(emulators.hubspot, 301);

    const stopped = await runTwoWay('contacts', db, emulators, { dailyReserve: { percent: 10 } });
    expect(stopped.inbound).toHaveLength(1);
    expect(stopped.inbound[0]).toMatchObject({ source: 'hubspot', status: 'partial', metrics: { stoppedAtDailyReserve: true } });
    expect(stopped.result).toMatchObject({ status: 'partial', exitCode: 3, metrics: { stoppedAtDailyReserve: true } });
    expect(stopped.result.error).toMatch(/^reading HubSpot stopped at HubSpot's daily quota reserve: 300 of 3000 requests left today, 300 kept/);
    expect(stopped.summary).toMatchObject({ pairsMerged: 0, updated: { hubspot: 0, dynamics: 0 } });

    clock.nextDay();
    const next = await runTwoWay('contacts', db, emulators, { dailyReserve: { percent: 10 } });
    expect(next.inbound[0]).toMatchObject({ source: 'hubspot', status: 'success', resumedFrom: stopped.inbound[0]!.runId });
    expect(next.result.status).toBe('success');
    expect(next.summary.updated.dynamics).toBe(5);
  });
});
