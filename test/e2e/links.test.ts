/**
 * `crmsync links <object> [--unmatched]` after real two-way runs against a shared-seeded
 * pair of emulators: the links the run made, and the records it left without one and why.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { generateSharedSeed, startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { openStore } from '../../src/db/database.js';
import { LinkRepository } from '../../src/db/link-repository.js';
import { Outbox } from '../../src/db/outbox.js';
import { crmsync, tempDir } from '../helpers/cli.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';

const SHARED = { contacts: 24, companies: 3 };
const SEED_VALUE = 5;
const { people } = generateSharedSeed(SHARED, SEED_VALUE);
const person0 = people[0]!;

interface JsonLink {
  linkId: string;
  hubspotId: string | null;
  dynamicsId: string | null;
  matchedBy: string;
  matchKey: string | null;
  createdAt: string;
  beingCreated: string | null;
}

interface JsonUnlinked {
  source: 'hubspot' | 'dynamics';
  id: string;
  matchKey: string | null;
  outcome: string;
  twinId?: string;
  reason: string;
}

describe('crmsync links', () => {
  const db = join(tempDir(), 'links.db');
  let hubspot: HubSpotEmulator;
  let dynamics: DynamicsEmulator;
  let env: Record<string, string>;
  const run = async (args: string[]) => {
    const result = await crmsync(args, env);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };
  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await run([...args, '--json'])) as T;
  const hubspotIdOf = (email: string) => hubspot.store.findBy('contacts', 'email', email)!.id;

  beforeAll(async () => {
    hubspot = await startHubSpotEmulator({ seed: { contacts: 0, companies: 0 }, sharedSeed: SHARED, seedValue: SEED_VALUE });
    dynamics = await startDynamicsEmulator({ seed: { contacts: 0, accounts: 0 }, sharedSeed: SHARED, seedValue: SEED_VALUE });
    env = { ...hubspotEnvOf(hubspot, db), ...dynamicsEnvOf(dynamics) };
  });
  afterAll(() => Promise.all([hubspot?.close(), dynamics?.close()]));

  test('before any sync there is no database to read: one line, exit 2', async () => {
    const result = await crmsync(['links', 'contacts'], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`crmsync: no database at ${db}: run a sync first, or pass --db <path>`]);
  });

  test('after a two-way run: a link for every person, matched or created, but the one with two Dataverse rows', async () => {
    const sync = await crmsync(['sync-contacts', '--two-way'], env);
    expect(sync.code, sync.stderr).toBe(0);
    const links = await json<JsonLink[]>(['links', 'contacts']);
    const expected = people.slice(1).map((person) => (!person.hubspot ? 'created_in_hubspot' : person.dynamics.length === 0 ? 'created_in_dynamics' : 'match_key'));
    expect(links.map((link) => link.matchedBy).sort()).toEqual(expected.sort());
    for (const link of links) {
      expect(link.beingCreated).toBeNull();
      expect(hubspot.store.get('contacts', link.hubspotId!)?.properties.email).toBe(link.matchKey);
      expect(String(dynamics.store.get('contacts', link.dynamicsId!)?.emailaddress1).toLowerCase()).toBe(link.matchKey);
    }
    expect(links.map((link) => link.matchKey)).not.toContain(person0.email);

    const text = (await run(['links', 'contacts'])).trim().split('\n');
    expect(text[0]).toMatch(/^link +HubSpot id +Dynamics 365 id +matched by +match key +created$/);
    expect(text.at(-1)).toBe(`${links.length} links of contacts`);
    expect(text).toHaveLength(links.length + 2);
  });

  test('--unmatched: person 0 and both Dataverse rows of their email, ambiguous, with the ids', async () => {
    const hubspotId = hubspotIdOf(person0.email);
    const [first, second] = person0.dynamics.map((row) => row.id);
    const unlinked = await json<JsonUnlinked[]>(['links', 'contacts', '--unmatched']);
    expect(unlinked).toHaveLength(3);
    expect(unlinked[0]).toEqual({ source: 'hubspot', id: hubspotId, matchKey: person0.email, outcome: 'unmatched', reason: expect.stringMatching(new RegExp(`^ambiguous: 2 Dynamics 365 records have emailaddress1 "${person0.email.replace(/\./g, '\\.')}" \\(`)) });
    expect(unlinked[0]!.reason).toContain(first);
    expect(unlinked[0]!.reason).toContain(second);
    expect(unlinked.slice(1).map((record) => record.id).sort()).toEqual([first, second].sort());
    for (const record of unlinked.slice(1)) {
      expect(record).toMatchObject({ source: 'dynamics', matchKey: person0.email, outcome: 'unmatched', reason: `ambiguous: 2 Dynamics 365 records have emailaddress1 "${person0.email}"` });
    }

    const text = (await run(['links', 'contacts', '--unmatched'])).trim().split('\n');
    expect(text[0]).toMatch(/^source +id +match key +reason$/);
    expect(text[1]).toMatch(new RegExp(`^HubSpot +${hubspotId} +${person0.email.replace(/\./g, '\\.')} +ambiguous: 2 Dynamics 365 records`));
    expect(text.at(-1)).toBe('3 records of contacts without a link: 3 unmatched, 0 that a two-way run pairs');
  });

  test('records read since the two-way run: what the next one does with each, then that it did it', async () => {
    const noEmail = hubspot.store.create('contacts', { firstname: 'Nomail', lastname: 'Person' });
    const paired = hubspot.store.create('contacts', { email: 'new.pair@example.com', lastname: 'Pair' });
    const row = dynamics.store.create('contacts', { emailaddress1: 'New.Pair@Example.com', lastname: 'Pair' });
    const alone = dynamics.store.create('contacts', { emailaddress1: 'only.here@example.com', lastname: 'Alone' });
    await run(['sync-contacts']);
    await run(['sync-contacts', '--source', 'dynamics']);

    const unlinked = await json<JsonUnlinked[]>(['links', 'contacts', '--unmatched']);
    const byId = new Map(unlinked.map((record) => [record.id, record]));
    expect(byId.get(noEmail.id)).toEqual({ source: 'hubspot', id: noEmail.id, matchKey: null, outcome: 'unmatched', reason: 'no email to match on' });
    expect(byId.get(paired.id)).toEqual({
      source: 'hubspot', id: paired.id, matchKey: 'new.pair@example.com', outcome: 'link', twinId: row.contactid,
      reason: `not yet paired: the next two-way run links it to Dynamics 365 record ${String(row.contactid)}`,
    });
    expect(byId.get(String(row.contactid))).toMatchObject({ source: 'dynamics', outcome: 'link', twinId: paired.id, reason: `not yet paired: the next two-way run links it to HubSpot record ${paired.id}` });
    expect(byId.get(String(alone.contactid))).toMatchObject({ outcome: 'create', reason: 'not yet paired: the next two-way run creates its twin in HubSpot' });
    expect(unlinked).toHaveLength(3 + 4);

    const sync = await crmsync(['sync-contacts', '--two-way'], env);
    expect(sync.code, sync.stderr).toBe(0);
    const after = await json<JsonUnlinked[]>(['links', 'contacts', '--unmatched']);
    expect(after.map((record) => record.id).sort()).toEqual([hubspotIdOf(person0.email), noEmail.id, ...person0.dynamics.map((r) => r.id)].sort());
    const links = await json<JsonLink[]>(['links', 'contacts']);
    expect(links.find((link) => link.hubspotId === paired.id)).toMatchObject({ dynamicsId: row.contactid, matchedBy: 'match_key', matchKey: 'new.pair@example.com' });
    const twin = links.find((link) => link.dynamicsId === alone.contactid)!;
    expect(twin).toMatchObject({ matchedBy: 'created_in_hubspot', matchKey: 'only.here@example.com', beingCreated: null });
    expect(hubspot.store.get('contacts', twin.hubspotId!)?.properties.email).toBe('only.here@example.com');
  });

  test('a twin whose create waits in the outbox is "(being created)"', async () => {
    const store = openStore(db);
    try {
      const links = new LinkRepository(store, 'contacts');
      links.insert({ id: 'waiting-link', hubspotId: null, dynamicsId: 'c0ffee00-0000-4000-8000-000000000001', matchedBy: 'created_in_hubspot', matchKey: 'waiting@example.com', runId: 1 });
      new Outbox(store, 'contacts').add({
        runId: 1, linkId: 'waiting-link', crm: 'hubspot', operation: 'create', recordId: null, properties: { email: 'waiting@example.com' },
        agreed: {}, previous: {}, etag: null, idProperty: 'email', matchKey: 'waiting@example.com',
      });
    } finally {
      store.close();
    }
    const link = (await json<JsonLink[]>(['links', 'contacts'])).find((entry) => entry.linkId === 'waiting-link');
    expect(link).toMatchObject({ hubspotId: null, beingCreated: 'hubspot' });
    const lines = (await run(['links', 'contacts'])).trim().split('\n');
    expect(lines.find((line) => line.startsWith('waiting-link'))).toMatch(/^waiting-link +\(being created\) +c0ffee00-0000-4000-8000-000000000001 +created_in_hubspot +waiting@example\.com/);
    expect(lines.at(-1)).toMatch(/^\d+ links of contacts, 1 with a twin being created$/);
  });

  test('an object without a two_way: block: one line, exit 2', async () => {
    const result = await crmsync(['links', 'deals', '--unmatched'], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(['crmsync: object "deals" has no two_way: block in mappings.yaml; add one (match, create, fields) to sync it both ways']);
    expect(result.stdout).toBe('');
  });
});
