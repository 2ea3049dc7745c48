/**
 * What `crmsync serve` does with the events it stored: coalesced per object, the records
 * read back by id through the normal runs (two-way runs for two-way objects), marked
 * processed; events it cannot place set aside; a read-back that cannot run tried again.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { SourceName } from '../../src/config/sources.js';
import { openStore, type Store } from '../../src/db/database.js';
import { WebhookEvents } from '../../src/db/webhook-events.js';
import type { RunResult } from '../../src/engines/run-lifecycle.js';
import type { RunContext } from '../../src/engines/run-objects.js';
import { PollingBackstop } from '../../src/engines/serve/backstop.js';
import { ObjectLocks } from '../../src/engines/serve/object-locks.js';
import { eventRoutes, servedObjects } from '../../src/engines/serve/served-objects.js';
import { WebhookProcessor } from '../../src/engines/serve/webhook-processor.js';
import { silentLogger } from '../../src/log.js';
import { dynamicsEvent, hubspotEvents } from '../../src/processors/webhook-events.js';
import { query } from '../helpers/db.js';
import { dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';
import { sharedEmulatorsPerTest, twoWayDb, TWO_WAY_RETRY } from '../helpers/two-way.js';

const startHubSpot = emulatorPerTest();
const startPair = sharedEmulatorsPerTest();
let store: Store | undefined;
let stopProcessing: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopProcessing?.();
  store?.close();
  store = undefined;
});

let nextEventId = 1;
/** A HubSpot v3 event as a delivery carries it. */
const hubspotEvent = (subscriptionType: string, objectId: string | number, extra: Record<string, unknown> = {}) => ({
  eventId: nextEventId++,
  subscriptionId: 7,
  portalId: 1,
  appId: 9,
  occurredAt: Date.now(),
  subscriptionType,
  attemptNumber: 0,
  objectId: Number(objectId),
  changeSource: 'CRM',
  ...extra,
});

/** The serve pieces in-process, on one store: the processor, the backstop, their shared per-object queue. */
async function serving(db: string, settings: Partial<Record<SourceName, unknown>>, objects: string[]) {
  store = openStore(db);
  const context: RunContext = { store, ...settings, log: silentLogger, retry: TWO_WAY_RETRY };
  const served = servedObjects(config, objects, Object.keys(settings) as SourceName[]);
  const locks = new ObjectLocks();
  const runs: RunResult[][] = [];
  const processor = new WebhookProcessor({ store, context, routes: await eventRoutes(served, context), locks, log: silentLogger, onRun: (results) => runs.push(results) });
  const backstop = new PollingBackstop({ served, associations: [], context, locks, log: silentLogger, intervalMs: 60_000 });
  const events = new WebhookEvents(store);
  stopProcessing = () => processor.drain();
  /** Wakes the processor and waits until no event is left waiting. */
  const processed = async () => {
    processor.wake();
    for (let waited = 0; events.waiting(1).length > 0; waited += 20) {
      if (waited > 20_000) throw new Error('events still waiting after 20 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await locks.idle();
  };
  return { store, processor, backstop, events, runs, processed, locks };
}

const eventRows = (db: string) => query<{ event_id: string; outcome: string | null; run_id: number | null; attempts: number }>(db, 'SELECT event_id, outcome, run_id, attempts FROM webhook_events ORDER BY id');

describe('events of a one-way object', () => {
  test('are read back by id in one run however many name a record: changes saved, deletions marked, other kinds and objects set aside', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 40 } });
    const db = twoWayDb();
    const serve = await serving(db, { hubspot: settingsOf(emulator) }, ['contacts']);
    await serve.backstop.poll();
    const [changed, deleted] = emulator.store.all('contacts').slice(0, 2);
    emulator.store.update('contacts', changed.id, { jobtitle: 'Harbour master' });
    emulator.store.archive('contacts', deleted.id);
    const created = emulator.store.create('contacts', { email: 'new.person@example.com', firstname: 'New' });

    const delivery = [
      hubspotEvent('contact.propertyChange', changed.id, { propertyName: 'jobtitle', propertyValue: 'a value the event says, never read' }),
      hubspotEvent('contact.propertyChange', changed.id, { propertyName: 'city', propertyValue: 'x' }),
      hubspotEvent('contact.deletion', deleted.id),
      hubspotEvent('contact.creation', created.id),
      hubspotEvent('contact.associationChange', changed.id),
      hubspotEvent('deal.creation', 123),
    ];
    expect(serve.events.save(hubspotEvents(delivery))).toEqual({ stored: 6, duplicates: 0 });
    expect(serve.events.save(hubspotEvents(delivery.slice(0, 1)))).toEqual({ stored: 0, duplicates: 1 });
    await serve.processed();

    const rows = query<{ source_id: string; is_deleted: number; jobtitle: string | null }>(
      db,
      `SELECT source_id, is_deleted, json_extract(fields_json, '$.jobtitle') AS jobtitle FROM records WHERE object_type = 'contacts' AND source_id IN (?, ?, ?)`,
      changed.id,
      deleted.id,
      created.id,
    );
    expect(Object.fromEntries(rows.map((row) => [row.source_id, [row.is_deleted, row.jobtitle]]))).toEqual({
      [changed.id]: [0, 'Harbour master'],
      [deleted.id]: [1, deleted.properties.jobtitle ?? null],
      [created.id]: [0, null],
    });
    const webhookRuns = query<{ id: number; sync_mode: string; records_processed: number; status: string }>(db, "SELECT id, sync_mode, records_processed, status FROM sync_history WHERE sync_mode = 'webhook'");
    expect(webhookRuns).toEqual([{ id: expect.any(Number), sync_mode: 'webhook', records_processed: 2, status: 'success' }]);
    expect(eventRows(db).map((row) => [row.outcome, row.run_id])).toEqual([
      ...Array(4).fill(['applied', webhookRuns[0].id]),
      ['ignored', null],
      ['ignored', null],
    ]);
  });

  test('wait while another process holds the object, and are processed once it is free; other objects\' events do not wait', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 10, companies: 5 } });
    const db = twoWayDb();
    const serve = await serving(db, { hubspot: settingsOf(emulator) }, ['contacts', 'companies']);
    await serve.backstop.poll();
    const [record] = emulator.store.all('contacts');
    emulator.store.update('contacts', record.id, { jobtitle: 'Lighthouse keeper' });
    // A cron run of contacts in another live process (this process's parent) holds the lease.
    serve.store.sqlite
      .prepare(`INSERT INTO sync_history (crm_source, sync_type, sync_mode, status, start_time, heartbeat_at, host, pid) VALUES ('hubspot', 'contacts', 'incremental', 'running', ?, ?, ?, ?)`)
      .run(new Date().toISOString(), new Date().toISOString(), (await import('node:os')).hostname(), process.ppid);
    serve.events.save(hubspotEvents([hubspotEvent('contact.propertyChange', record.id)]));
    serve.processor.wake();
    for (let waited = 0; eventRows(db)[0].attempts === 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(eventRows(db)[0]).toMatchObject({ outcome: null, attempts: 1 });
    expect(query<{ last_error: string }>(db, 'SELECT last_error FROM webhook_events')[0].last_error).toMatch(/already being synced by pid/);
    const [company] = emulator.store.all('companies');
    serve.events.save(hubspotEvents([hubspotEvent('company.propertyChange', company.id)]));
    serve.processor.wake();
    for (let waited = 0; eventRows(db)[1].outcome === null && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(eventRows(db).map((row) => row.outcome)).toEqual([null, 'applied']);

    serve.store.sqlite.prepare("UPDATE sync_history SET status = 'success', end_time = ? WHERE status = 'running'").run(new Date().toISOString());
    await serve.processed();
    expect(eventRows(db)[0]).toMatchObject({ outcome: 'applied' });
    expect(query<{ jobtitle: string }>(db, `SELECT json_extract(fields_json, '$.jobtitle') AS jobtitle FROM records WHERE source_id = ?`, record.id)[0].jobtitle).toBe('Lighthouse keeper');
  });

  test('a poll and a read-back of the same object queue behind each other instead of taking each other\'s lease', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 600 } });
    const db = twoWayDb();
    const serve = await serving(db, { hubspot: settingsOf(emulator) }, ['contacts']);
    const ids = emulator.store.all('contacts').slice(0, 50).map((record) => record.id);
    serve.events.save(hubspotEvents(ids.map((id) => hubspotEvent('contact.creation', id))));
    const [polled] = await Promise.all([serve.backstop.poll(), serve.processed()]);
    expect(polled.map((result) => result.status)).toEqual(['success']);
    expect(query(db, "SELECT status, error_message FROM sync_history WHERE status <> 'success'")).toEqual([]);
    expect(eventRows(db).every((row) => row.outcome === 'applied')).toBe(true);
  });
});

describe('events of a two-way object', () => {
  test('a change in either CRM reaches the other through a two-way run that reads back only the records named and their twins', async () => {
    const emulators = await startPair({ contacts: 30 });
    const db = twoWayDb();
    const serve = await serving(db, { hubspot: settingsOf(emulators.hubspot), dynamics: dynamicsSettingsOf(emulators.dynamics) }, ['contacts']);
    await serve.backstop.poll();
    const [link] = query<{ hubspot_id: string; dynamics_id: string }>(db, 'SELECT hubspot_id, dynamics_id FROM entity_links WHERE hubspot_id IS NOT NULL AND dynamics_id IS NOT NULL LIMIT 1');
    const runsBefore = query<{ n: number }>(db, 'SELECT count(*) AS n FROM sync_history')[0].n;

    emulators.hubspot.store.update('contacts', link.hubspot_id, { jobtitle: 'Ferry captain' });
    serve.events.save(hubspotEvents([hubspotEvent('contact.propertyChange', link.hubspot_id, { propertyName: 'jobtitle' })]));
    await serve.processed();
    expect(emulators.dynamics.store.get('contacts', link.dynamics_id)?.jobtitle).toBe('Ferry captain');
    // The two-way run, reading back the record named and its twin, by id: nothing else of either CRM.
    expect(query(db, 'SELECT crm_source, sync_mode, status, records_processed FROM sync_history WHERE id > ? ORDER BY id', runsBefore)).toEqual([
      { crm_source: 'two_way', sync_mode: 'webhook', status: 'success', records_processed: expect.any(Number) },
      { crm_source: 'hubspot', sync_mode: 'webhook', status: 'success', records_processed: 1 },
      { crm_source: 'dynamics', sync_mode: 'webhook', status: 'success', records_processed: 1 },
    ]);

    // A second HubSpot edit before Dynamics 365's echo of the first is read: the stored Dynamics row still holds the
    // old job title, and merged as it is it would pass for an edit there and undo the first.
    emulators.hubspot.store.update('contacts', link.hubspot_id, { city: 'Valletta' });
    serve.events.save(hubspotEvents([hubspotEvent('contact.propertyChange', link.hubspot_id, { propertyName: 'city' })]));
    await serve.processed();
    expect(emulators.hubspot.store.get('contacts', link.hubspot_id)?.properties).toMatchObject({ jobtitle: 'Ferry captain', city: 'Valletta' });
    expect(emulators.dynamics.store.get('contacts', link.dynamics_id)).toMatchObject({ jobtitle: 'Ferry captain', address1_city: 'Valletta' });

    emulators.dynamics.store.update('contacts', link.dynamics_id, { jobtitle: 'Pilot' });
    const context = { MessageName: 'Update', PrimaryEntityName: 'contact', PrimaryEntityId: link.dynamics_id, OperationId: crypto.randomUUID(), CorrelationId: crypto.randomUUID() };
    serve.events.save([dynamicsEvent(context)]);
    await serve.processed();
    expect(emulators.hubspot.store.get('contacts', link.hubspot_id)?.properties.jobtitle).toBe('Pilot');
    expect(eventRows(db).map((row) => row.outcome)).toEqual(['applied', 'applied', 'applied']);
  });
});
