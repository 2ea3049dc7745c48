/**
 * `crmsync serve` end to end: the emulators deliver signed webhooks to the built CLI, which
 * stores them, reads the records back and keeps the store equal to the CRM; lost deliveries
 * are caught by the polling backstop; kill -9 mid-stream loses nothing; SIGTERM finishes
 * what was stored and exits 0.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import { startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator, type HubSpotEmulatorOptions } from '@crmsync/emulators/hubspot';
import { crmsync, tempDir, type RunningCli } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { query } from '../helpers/db.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';
import { eventually, freePort, hubspotBatch, polls, startServe, storedEvents, thousandChanges } from '../helpers/serve.js';

const SECRET = 'hubspot-app-client-secret';
const KEY = 'dataverse-webhook-key';
const contacts = objectByName(config, 'contacts');
const dir = tempDir();

let emulators: { close(): Promise<void> }[] = [];
let serving: RunningCli[] = [];
afterEach(async () => {
  for (const serve of serving) if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
  await Promise.all(emulators.map((emulator) => emulator.close()));
  emulators = [];
  serving = [];
});

/** A HubSpot emulator delivering its webhooks to `port`, retrying quickly. */
async function hubspotDelivering(port: number, options: HubSpotEmulatorOptions = {}, dropRate = 0): Promise<HubSpotEmulator> {
  const emulator = await startHubSpotEmulator({ seed: { contacts: 900 }, seedValue: 17, ...options, webhooks: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, secret: SECRET, dropRate, retryBaseMs: 100 } });
  emulators.push(emulator);
  return emulator;
}

async function serve(port: number, env: Record<string, string>, poll = '1h'): Promise<RunningCli> {
  const running = await startServe(['--port', String(port), '--poll', poll, '--objects', 'contacts'], { HUBSPOT_CLIENT_SECRET: SECRET, D365_WEBHOOK_KEY: KEY, ...env });
  serving.push(running);
  return running;
}

/** Waits until the emulator has nothing left to deliver and serve has processed every event it stored. */
async function settled(emulator: HubSpotEmulator, db: string): Promise<void> {
  await emulator.webhooksIdle();
  await eventually(() => storedEvents(db).waiting === 0, 'every stored event processed');
}

describe('crmsync serve', () => {
  test('1,000 changes made through the API arrive by webhook alone: the store equals the source; SIGTERM exits 0', async () => {
    const port = await freePort();
    const emulator = await hubspotDelivering(port);
    const db = join(dir, 'webhooks.db');
    const running = await serve(port, hubspotEnvOf(emulator, db));
    await thousandChanges(emulator, 50);
    await settled(emulator, db);

    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    // Only the first poll ran: the webhooks brought every change.
    expect(polls(running)).toBe(1);
    const { stored, distinct } = storedEvents(db);
    expect(stored).toBe(distinct);
    expect(stored).toBe(emulator.webhooks.delivered);
    expect(emulator.webhooks.failed).toBe(0);
    expect(query(db, "SELECT DISTINCT outcome FROM webhook_events")).toEqual([{ outcome: 'applied' }]);

    running.child.kill('SIGTERM');
    const ended = await running.done;
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stderr).toContain('stopped');
    expect(ended.stderr).not.toContain(SECRET);
    expect(query(db, "SELECT id FROM sync_history WHERE status = 'running'")).toEqual([]);
  });

  test('with 20 % of deliveries lost, the polling backstop closes the gap', async () => {
    const port = await freePort();
    const emulator = await hubspotDelivering(port, {}, 0.2);
    const db = join(dir, 'dropped.db');
    const running = await serve(port, hubspotEnvOf(emulator, db), '2s');
    await thousandChanges(emulator, 20);
    await settled(emulator, db);
    expect(emulator.webhooks.dropped).toBeGreaterThan(100);

    const pollsAfterChanges = polls(running);
    await eventually(() => polls(running) >= pollsAfterChanges + 2, 'two more polls');
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    // Polls after the first found changes webhooks never brought.
    const [{ polled }] = query<{ polled: number }>(
      db,
      "SELECT sum(records_created + records_updated + records_deleted) AS polled FROM sync_history WHERE sync_mode = 'incremental' AND crm_source = 'hubspot'",
    );
    expect(polled).toBeGreaterThan(0);
  });

  test('killed with -9 mid-stream, a restarted serve loses nothing: every delivered event stored once and processed', async () => {
    const port = await freePort();
    const emulator = await hubspotDelivering(port);
    const db = join(dir, 'killed.db');
    const env = hubspotEnvOf(emulator, db);
    let running = await serve(port, env);
    let killed = false;
    await thousandChanges(emulator, 100, async (batch) => {
      if (batch !== 3) return;
      await eventually(() => storedEvents(db).stored > 0, 'events stored');
      running.child.kill('SIGKILL');
      expect((await running.done).signal).toBe('SIGKILL');
      killed = true;
    });
    expect(killed).toBe(true);
    // Deliveries meanwhile fail to connect and are retried; the new process takes them and the stored ones.
    running = await serve(port, env);
    await settled(emulator, db);

    expect(emulator.webhooks.failed).toBe(0);
    const { stored, distinct, waiting } = storedEvents(db);
    expect({ stored, waiting }).toEqual({ stored: distinct, waiting: 0 });
    expect(stored).toBe(emulator.webhooks.queued);
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    expect(query(db, "SELECT id FROM sync_history WHERE status = 'running' AND pid <> ?", running.child.pid)).toEqual([]);
  });

  test('two-way: a change in either CRM reaches the other by webhook, without a poll', async () => {
    const port = await freePort();
    const shared = { contacts: 60 };
    const hubspot = await startHubSpotEmulator({ sharedSeed: shared, seedValue: 5, webhooks: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, secret: SECRET, retryBaseMs: 100 } });
    const dynamics: DynamicsEmulator = await startDynamicsEmulator({ sharedSeed: shared, seedValue: 5, webhooks: { url: `http://127.0.0.1:${port}/webhooks/dynamics`, key: KEY } });
    emulators.push(hubspot, dynamics);
    const db = join(dir, 'two-way.db');
    const running = await serve(port, { ...hubspotEnvOf(hubspot, db), ...dynamicsEnvOf(dynamics) });
    const [link] = query<{ hubspot_id: string; dynamics_id: string }>(db, 'SELECT hubspot_id, dynamics_id FROM entity_links WHERE hubspot_id IS NOT NULL AND dynamics_id IS NOT NULL LIMIT 1');

    await hubspotBatch(hubspot, 'contacts', 'update', [{ id: link.hubspot_id, properties: { jobtitle: 'Harbour pilot' } }]);
    await eventually(() => dynamics.store.get('contacts', link.dynamics_id)?.jobtitle === 'Harbour pilot', 'the change in Dynamics 365', 20_000);
    expect(await patchDynamics(dynamics, `contacts(${link.dynamics_id})`, { jobtitle: 'Lock keeper' })).toBe(204);
    await eventually(() => hubspot.store.get('contacts', link.hubspot_id)?.properties.jobtitle === 'Lock keeper', 'the change in HubSpot', 20_000);
    expect(polls(running)).toBe(1);
    expect(query(db, "SELECT crm_source, count(*) AS runs FROM sync_history WHERE sync_mode = 'webhook' AND crm_source = 'two_way' GROUP BY crm_source")).toEqual([
      { crm_source: 'two_way', runs: expect.any(Number) },
    ]);
  });

  test('bad input is one line and exit 2', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--poll', '0s'], { HUBSPOT_ACCESS_TOKEN: 'x' }, /--poll "0s" is not a duration/],
      [['--port', '70000'], { HUBSPOT_ACCESS_TOKEN: 'x' }, /--port/],
      [['--objects', 'nonsense'], { HUBSPOT_ACCESS_TOKEN: 'x' }, /unknown object "nonsense"/],
      [[], {}, /neither's settings are given/],
    ];
    for (const [args, env, message] of cases) {
      const result = await crmsync(['--db', join(dir, 'bad.db'), 'serve', ...args], env);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
  });
});

/** A PATCH through the Dataverse emulator's Web API, signed in as the client-credentials flow signs in; its status. */
async function patchDynamics(dynamics: DynamicsEmulator, path: string, body: object): Promise<number> {
  const env = dynamicsEnvOf(dynamics);
  const dispatcher = new Agent({ connect: { ca: readFileSync(env.D365_CA_CERT, 'utf8') } });
  try {
    const tokenReply = await request(`${env.D365_AUTHORITY_HOST}/${env.D365_TENANT_ID}/oauth2/v2.0/token`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: env.D365_CLIENT_ID, client_secret: env.D365_CLIENT_SECRET, scope: `${env.D365_RESOURCE_URL}/.default` }).toString(),
    });
    const { access_token: token } = (await tokenReply.body.json()) as { access_token: string };
    const reply = await request(`${env.D365_RESOURCE_URL}/api/data/v9.2/${path}`, {
      method: 'PATCH',
      dispatcher,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '*' },
      body: JSON.stringify(body),
    });
    await reply.body.dump();
    return reply.statusCode;
  } finally {
    await dispatcher.close();
  }
}
