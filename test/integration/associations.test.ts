import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { AssociationReader } from '../../src/clients/crm.js';
import { hubspot } from '../../src/clients/hubspot/index.js';
import { openStore } from '../../src/db/database.js';
import { SyncHistoryRepository } from '../../src/db/sync-history.js';
import { AssociationSyncEngine } from '../../src/engines/association-sync-engine.js';
import type { RunResult, SyncOptions } from '../../src/engines/run-lifecycle.js';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { silentLogger, type Logger } from '../../src/log.js';
import { tempDir } from '../helpers/cli.js';
import { history, query } from '../helpers/db.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { config, DEFAULT_OPTIONS, recordingLogger, syncObject } from '../helpers/engine.js';

const dir = tempDir();
const startEmulator = emulatorPerTest();
const pair = config.associations.find((candidate) => candidate.name === 'deals:contacts')!;

/** An emulator whose deals and contacts are already synced into `db`. */
async function syncedDeals(db: string, seedValue: number): Promise<HubSpotEmulator> {
  const emulator = await startEmulator({ seed: { contacts: 120, deals: 60 }, seedValue });
  for (const object of ['contacts', 'deals']) expect((await syncObject(object, db, settingsOf(emulator))).status).toBe('success');
  return emulator;
}

/** Runs the pair's engine; `afterRead` is told of each batch read, before it is saved. */
async function syncPair(db: string, emulator: HubSpotEmulator, options: Partial<SyncOptions>, run: { log?: Logger; signal?: AbortSignal; afterRead?: (reads: number) => void } = {}): Promise<RunResult> {
  const store = openStore(db);
  try {
    const connection = await hubspot.connect(settingsOf(emulator));
    const reader = connection.associations!;
    let reads = 0;
    const associations: AssociationReader = {
      batchLimit: reader.batchLimit,
      read: async (from, to, ids) => {
        const found = await reader.read(from, to, ids);
        run.afterRead?.(++reads);
        return found;
      },
    };
    const engine = new AssociationSyncEngine({ pair, store, associations, origin: connection.origin, metrics: connection.metrics, log: run.log ?? silentLogger, signal: run.signal });
    return await engine.run({ ...DEFAULT_OPTIONS, ...options });
  } finally {
    store.close();
  }
}

const sourceAssociations = (emulator: HubSpotEmulator) =>
  [...new Set(emulator.store.all('deals').flatMap((deal) => emulator.store.associations('deals', deal.id, 'contacts').map((target) => `${deal.id}->${target.toId}`)))].sort();
const localAssociations = (db: string) =>
  [...new Set(query<{ pair: string }>(db, "SELECT from_id || '->' || to_id AS pair FROM associations WHERE from_object = 'deals' AND to_object = 'contacts'").map((row) => row.pair))].sort();

describe('an association run stopped mid-way', () => {
  test('is resumed by the next run from its last committed batch, ending with local = source', async () => {
    const db = join(dir, 'resume.db');
    const emulator = await syncedDeals(db, 61);
    const interrupt = new AbortController();
    const stopped = await syncPair(db, emulator, { batchSize: 10 }, { signal: interrupt.signal, afterRead: (reads) => reads === 3 && interrupt.abort() });
    expect(stopped).toMatchObject({ status: 'failed', error: 'interrupted', counts: { processed: 30 } });

    const resumed = await syncPair(db, emulator, { batchSize: 10 });
    expect(resumed).toMatchObject({ status: 'success', syncMode: 'full', resumedFrom: stopped.runId, counts: { processed: 30 } });
    // Three batches of the remaining 30 deals: none of the first 30 is read again.
    expect(resumed.metrics.requests).toBe(3);
    expect(localAssociations(db)).toEqual(sourceAssociations(emulator));
    expect(localAssociations(db).length).toBeGreaterThan(10);
  });

  test('killed while holding the lease, it is closed as failed by the next run, with a warning', async () => {
    const db = join(dir, 'abandoned.db');
    const emulator = await syncedDeals(db, 62);
    const store = openStore(db);
    // A running row of this very process can only be left over from a run that died.
    new SyncHistoryRepository(store).begin('hubspot', pair.name, () => ({ entity: pair.name, source: 'hubspot', syncMode: 'full', configuration: {}, watermark: null }));
    store.close();
    const { lines, log } = recordingLogger();
    const next = await syncPair(db, emulator, {}, { log });
    expect(next.status).toBe('success');
    expect(lines.join('')).toMatch(/deals:contacts: run 3 \(pid \d+ on .+\) died without finishing; closed it as failed/);
    expect(history(db, 'sync_type, status').slice(2)).toEqual([
      { sync_type: 'deals:contacts', status: 'failed' },
      { sync_type: 'deals:contacts', status: 'success' },
    ]);
  });
});

describe('--max-records in an association run, as in an object run', () => {
  test('stops after exactly n records; a full read cut short sets no watermark, so the next run reads in full again', async () => {
    const db = join(dir, 'max-records.db');
    const emulator = await syncedDeals(db, 63);
    const cut = await syncPair(db, emulator, { maxRecords: 10, batchSize: 4 });
    expect(cut).toMatchObject({ status: 'success', syncMode: 'full', watermark: null, counts: { processed: 10 }, metrics: { pages: 3 } });
    const next = await syncPair(db, emulator, {});
    expect(next).toMatchObject({ syncMode: 'full', counts: { processed: 60 } });
    expect(next.watermark).not.toBeNull();
  });

  test('a limit that ends exactly on a batch also cuts the read: the associations of deleted records stay until a complete full run', async () => {
    const db = join(dir, 'orphans.db');
    const emulator = await syncedDeals(db, 64);
    await syncPair(db, emulator, {});
    const deal = emulator.store.all('deals').find((record) => emulator.store.associations('deals', record.id, 'contacts').length > 0)!;
    const ofDeal = () => localAssociations(db).filter((association) => association.startsWith(`${deal.id}->`));
    const orphans = ofDeal().length;
    expect(orphans).toBeGreaterThan(0);
    emulator.store.archive('deals', deal.id);
    expect((await syncObject('deals', db, settingsOf(emulator))).counts.deleted).toBe(1);

    const cut = await syncPair(db, emulator, { full: true, maxRecords: 10, batchSize: 5 });
    expect(cut).toMatchObject({ counts: { processed: 10, deleted: 0 } });
    expect(ofDeal()).toHaveLength(orphans);

    const complete = await syncPair(db, emulator, { full: true });
    expect(complete.counts).toMatchObject({ processed: 59, deleted: orphans });
    expect(ofDeal()).toEqual([]);
    expect(localAssociations(db)).toEqual(sourceAssociations(emulator));
  });
});
