/**
 * kill -9 at random points of a two-way run that creates and updates thousands of records
 * in both CRMs, then runs again until one ends cleanly: every write lands exactly once,
 * the outcome is that of a run never interrupted, and the bookkeeping is whole.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator } from '@crmsync/emulators/hubspot';
import { fieldParser } from '../../src/processors/field-types.js';
import { crmsync, startCrmsync, tempDir, type RunningCli } from '../helpers/cli.js';
import { countRows, history, query } from '../helpers/db.js';
import { bookkeepingProblems, differingPairs, recordsByKey, twoWayEntry, twoWayEnvOf, writeRequests, type EmulatorPair } from '../helpers/two-way-checks.js';

const dir = tempDir();
/** Seeds the kill points and the edits: set CRMSYNC_KILL_SEED to replay a failure. */
const SEED = Number(process.env.CRMSYNC_KILL_SEED ?? 20_261_202);
const KILLS = 10;
const SHARED = { contacts: 3_000 };

/** mulberry32: a small seeded generator, so that kill points repeat. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const between = (next: () => number, min: number, max: number) => min + Math.floor(next() * (max - min + 1));

/**
 * Both emulators with the shared seed, records of their own (twins to make both ways) and
 * edits on both sides since the seed (updates both ways), alike for the same seed value.
 */
async function startPair(latencyMs: { hubspot: number; dynamics: number }): Promise<EmulatorPair> {
  const hubspot = await startHubSpotEmulator({ seed: { contacts: 1_500 }, sharedSeed: SHARED, seedValue: 23, latencyMs: latencyMs.hubspot });
  const dynamics = await startDynamicsEmulator({ seed: { contacts: 1_200 }, sharedSeed: SHARED, seedValue: 23, latencyMs: latencyMs.dynamics });
  const pair = { hubspot, dynamics };
  const next = random(SEED);
  const shared = [...recordsByKey(pair, 'contacts').values()].filter((ids) => ids.hubspot.length === 1 && ids.dynamics.length === 1);
  for (const ids of shared) {
    const draw = next();
    if (draw < 0.08) hubspot.store.update('contacts', ids.hubspot[0], { jobtitle: `Head of Cartography ${between(next, 1, 9)}` });
    else if (draw < 0.16) dynamics.store.update('contacts', ids.dynamics[0], { address1_city: `Reykjavík ${between(next, 1, 9)}` });
  }
  return pair;
}

/** Each match key's records on both sides, with the values of every two-way field as each side's type reads them. */
function outcome(pair: EmulatorPair): Map<string | null, string> {
  const { twoWay } = twoWayEntry('contacts');
  const values = (side: 'hubspot' | 'dynamics', raw: Record<string, unknown>) =>
    twoWay.fields.map((field) => {
      const parsed = fieldParser({ type: field[side].type }, true)(raw[field[side].property] ?? null);
      return parsed.ok ? parsed.value : `unreadable ${String(raw[field[side].property])}`;
    });
  const result = new Map<string | null, string>();
  for (const [key, ids] of recordsByKey(pair, 'contacts')) {
    const hubspot = ids.hubspot.map((id) => values('hubspot', pair.hubspot.store.get('contacts', id)!.properties));
    const dynamics = ids.dynamics.map((id) => values('dynamics', pair.dynamics.store.get('contacts', id)!));
    result.set(key, JSON.stringify({ hubspot: hubspot.map((v) => JSON.stringify(v)).sort(), dynamics: dynamics.map((v) => JSON.stringify(v)).sort() }));
  }
  return result;
}

/** Each match key's record count on both sides, e.g. "1/2". */
const countsByKey = (pair: EmulatorPair) => new Map([...recordsByKey(pair, 'contacts')].map(([key, ids]) => [key, `${ids.hubspot.length}/${ids.dynamics.length}`]));

/** The keys whose entries differ, with both entries (the first few). */
function mismatches(actual: Map<string | null, string>, expected: Map<string | null, string>): string[] {
  const keys = new Set([...actual.keys(), ...expected.keys()]);
  return [...keys].filter((key) => actual.get(key) !== expected.get(key)).slice(0, 5).map((key) => `${key}: ${actual.get(key)}, expected ${expected.get(key)}`);
}

/** What a query of the database answers now; `fallback` before the file or its tables exist. */
function probe(db: string, sql: string, fallback = 0): number {
  try {
    return query<{ n: number }>(db, sql)[0]?.n ?? fallback;
  } catch {
    return fallback;
  }
}

type KillPoint = { after: 'ms'; ms: number } | { after: 'write requests'; requests: number };

/**
 * A point of a run to kill it at: a moment (reading, planning or writing), or the arrival at
 * either emulator of the run's n-th request that writes; the CRM still applies it, and the
 * run never learns that it did. Rounds of ten batches are committed together, so up to
 * ten requests in, the kill is in the run's first round of writes; past that, after a round
 * was committed.
 */
function killPoint(next: () => number, writesLeft: boolean): KillPoint {
  const draw = next();
  // Once a run has ended before its kill point, there is nothing left to write: later kills are timed.
  if (draw < 0.25 || !writesLeft) return { after: 'ms', ms: between(next, 100, 2_000) };
  if (draw < 0.9) return { after: 'write requests', requests: between(next, 1, 10) };
  return { after: 'write requests', requests: between(next, 11, 20) };
}

/** Waits for the kill point; false when the run ended first. */
async function reached(run: RunningCli, point: KillPoint, pair: EmulatorPair): Promise<boolean> {
  let ended = false;
  void run.done.then(() => (ended = true));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  if (point.after === 'ms') {
    await sleep(point.ms);
    return !ended;
  }
  const sent = () => writeRequests(pair).hubspot + writeRequests(pair).dynamics;
  const before = sent();
  while (!ended && sent() < before + point.requests) await sleep(2);
  return !ended;
}

describe('kill -9 during a two-way run', () => {
  let pair: EmulatorPair;
  let reference: EmulatorPair;
  beforeAll(async () => {
    // Latency stretches the writes, so that kills land among them.
    [pair, reference] = await Promise.all([startPair({ hubspot: 5, dynamics: 40 }), startPair({ hubspot: 0, dynamics: 0 })]);
  });
  afterAll(() => Promise.all([pair, reference].flatMap((emulators) => (emulators ? [emulators.hubspot.close(), emulators.dynamics.close()] : []))));

  test(`${KILLS} kills at random points, then runs until one ends cleanly: each write applied once, the outcome of an uninterrupted run`, async () => {
    const started = performance.now();
    const seeded = countsByKey(pair);
    const uninterrupted = await crmsync(['sync-contacts', '--two-way', '--json'], twoWayEnvOf(reference, join(dir, 'reference.db')));
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const { twoWay: plan } = JSON.parse(uninterrupted.stdout).results.at(-1);
    // Over a thousand twins made each way, hundreds of records updated each way.
    expect([plan.created.hubspot, plan.created.dynamics].every((n: number) => n > 1_000)).toBe(true);
    expect([plan.updated.hubspot, plan.updated.dynamics].every((n: number) => n > 300)).toBe(true);

    const db = join(dir, 'killed.db');
    const env = twoWayEnvOf(pair, db);
    const next = random(SEED);
    const kills: string[] = [];
    const endedFirst: string[] = [];
    while (kills.length < KILLS) {
      const point = killPoint(next, endedFirst.length === 0);
      const run = startCrmsync(['sync-contacts', '--two-way', '--quiet'], env);
      const at = performance.now();
      if (await reached(run, point, pair)) {
        run.child.kill('SIGKILL');
        const { signal } = await run.done;
        expect(signal).toBe('SIGKILL');
        kills.push(`${JSON.stringify(point)} at ${Math.round(performance.now() - at)} ms, ${probe(db, 'SELECT count(*) AS n FROM audit_log')} writes audited`);
      } else {
        const result = await run.done;
        expect(result.code, result.stdout + result.stderr).toBe(0);
        endedFirst.push(JSON.stringify(point));
      }
      expect(kills.length + endedFirst.length).toBeLessThan(3 * KILLS);
    }
    let clean = await crmsync(['sync-contacts', '--two-way', '--json'], env);
    for (let reruns = 1; clean.code !== 0 && reruns < 3; reruns++) clean = await crmsync(['sync-contacts', '--two-way', '--json'], env);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    console.info(`uninterrupted run: ${JSON.stringify({ created: plan.created, updated: plan.updated })}`);
    console.info(`seed ${SEED}: ${kills.length} kills (${kills.join('; ')}); runs that ended before their kill point: ${endedFirst.join(', ') || 'none'}`);

    // Each email once in HubSpot; in Dataverse as often as the seed put it there, or once as a twin.
    const expectedCounts = new Map(
      [...seeded].map(([key, counts]) => {
        const [hubspot, dynamics] = counts.split('/').map(Number);
        if (key === null) return [key, counts];
        return [key, `${hubspot || (dynamics === 1 ? 1 : 0)}/${dynamics || hubspot}`];
      }),
    );
    expect(mismatches(countsByKey(pair), expectedCounts)).toEqual([]);
    expect(mismatches(outcome(pair), outcome(reference))).toEqual([]);
    expect(differingPairs(pair, db, 'contacts')).toEqual([]);
    expect(bookkeepingProblems(db)).toEqual([]);
    const killedRuns = history<{ status: string; error_message: string | null }>(db, 'status, error_message').filter((row) => row.status !== 'success');
    expect(killedRuns.length).toBeGreaterThan(0);
    expect(killedRuns.every((row) => row.status === 'failed' && /^abandoned: pid \d+ on .+ stopped without closing the run/.test(row.error_message ?? ''))).toBe(true);

    // Nothing is left to write: the next run sends no request that writes, and audits nothing.
    const [requests, audits] = [writeRequests(pair), countRows(db, 'audit_log')];
    const rerun = await crmsync(['sync-contacts', '--two-way', '--json'], env);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).results.at(-1).twoWay).toMatchObject({ writeRequests: { hubspot: 0, dynamics: 0 }, created: { hubspot: 0, dynamics: 0 }, updated: { hubspot: 0, dynamics: 0 } });
    expect(writeRequests(pair)).toEqual(requests);
    expect(countRows(db, 'audit_log')).toBe(audits);
    console.info(`kill loop and checks took ${Math.round((performance.now() - started) / 1000)} s`);
  }, 120_000);
});
