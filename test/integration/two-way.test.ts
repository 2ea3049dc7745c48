/**
 * Two-way sync in-process against both emulators holding the same people and companies
 * (the shared seed): the first run pairs and settles them, later runs carry edits both
 * ways and write nothing when nothing changed.
 */
import { describe, expect, test } from 'vitest';
import type { SourceName } from '../../src/config/sources.js';
import { linkId } from '../../src/processors/link-id.js';
import { generateSharedSeed, type SharedCompany, type SharedPerson } from '@crmsync/emulators/hubspot';
import { countRows, query } from '../helpers/db.js';
import { config } from '../helpers/engine.js';
import { differences, mappingsVariant, runTwoWay, sharedEmulatorsPerTest, twoWayDb, type EmulatorPair } from '../helpers/two-way.js';
import { TABLE, alikePeople, auditOf, execute, hubspotIdOf, idsOf, inBoth, linkOfHubSpot, links, outboxOf, stateOf, writeRequests } from '../helpers/two-way-state.js';

const SHARED = { contacts: 120, companies: 30 };
const SEED_VALUE = 42;
const seed = generateSharedSeed(SHARED, SEED_VALUE);
const startEmulators = sharedEmulatorsPerTest();
const alike = alikePeople(seed);

/** The HubSpot record and the Dataverse row of every link, with the two-way fields on which they differ. */
function pairsOf(db: string, object: string, emulators: EmulatorPair) {
  const fields = config.objects.get(object)!.twoWay!.fields;
  return links(db, object).map((link) => {
    const hubspot = emulators.hubspot.store.get(object, link.hubspot_id!)?.properties ?? {};
    const dynamics = emulators.dynamics.store.get(TABLE[object], link.dynamics_id!) ?? {};
    return { link, hubspot, dynamics, differences: differences(fields, hubspot, dynamics) };
  });
}

const companyIdOf = (emulators: EmulatorPair, name: string) => emulators.hubspot.store.all('companies').find((record) => record.properties.name === name)?.id;
/** The side whose change is later: HubSpot on a tie (its change time is the record's, as the seed stores it). */
const laterSide = (record: SharedPerson | SharedCompany): SourceName => {
  const dynamics = 'dynamics' in record && Array.isArray(record.dynamics) ? record.dynamics[0] : (record as SharedCompany).dynamics;
  return record.hubspot!.modifiedMs >= dynamics!.modifiedMs ? 'hubspot' : 'dynamics';
};

describe('the first two-way run of overlapping CRMs', () => {
  test('contacts: pairs by email whatever its case, settles differing fields by the most recent change, makes the missing twins, leaves the ambiguous email alone', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    const { result, summary } = await runTwoWay('contacts', db, emulators);

    const [ambiguous] = seed.people;
    const paired = seed.people.filter((person) => inBoth(person) && person !== ambiguous);
    const onlyHubSpot = seed.people.filter((person) => person.dynamics.length === 0);
    const onlyDynamics = seed.people.filter((person) => !person.hubspot);
    expect([paired.length, onlyHubSpot.length, onlyDynamics.length]).toEqual([113, 3, 3]);
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(summary).toMatchObject({ linked: 113, created: { hubspot: 3, dynamics: 3 }, unmatched: 3, writesDead: 0, writesWaiting: 0, conflictsOpen: 0, valueErrors: 0 });

    const byHubSpot = new Map(links(db, 'contacts').map((link) => [link.hubspot_id, link]));
    expect(byHubSpot.size).toBe(119);
    for (const person of paired) {
      expect(byHubSpot.get(hubspotIdOf(emulators, person.email)!)).toMatchObject({ dynamics_id: person.dynamics[0]!.id, matched_by: 'match_key', match_key: person.email });
    }
    // Emails Dataverse holds in another letter case are paired all the same.
    expect(paired.filter((person) => person.differences.some((difference) => difference.field === 'email')).length).toBeGreaterThan(0);

    for (const person of onlyHubSpot) {
      const hubspotId = hubspotIdOf(emulators, person.email)!;
      const twin = linkId('hubspot', 'contacts', hubspotId);
      expect(byHubSpot.get(hubspotId)).toMatchObject({ id: twin, dynamics_id: twin, matched_by: 'created_in_dynamics' });
      expect(emulators.dynamics.store.get('contacts', twin)).toMatchObject({ emailaddress1: person.email, lastname: person.hubspot!.properties.lastname });
    }
    for (const person of onlyDynamics) {
      const created = emulators.hubspot.store.findBy('contacts', 'email', person.email);
      expect(created?.properties).toMatchObject({ firstname: person.dynamics[0]!.values.firstname, lastname: person.dynamics[0]!.values.lastname });
      expect(byHubSpot.get(created!.id)).toMatchObject({ id: linkId('dynamics', 'contacts', person.dynamics[0]!.id), dynamics_id: person.dynamics[0]!.id, matched_by: 'created_in_hubspot' });
    }

    // Person 0's email is on two Dataverse contacts: neither they nor the HubSpot contact are linked, and no twin is made.
    const ambiguousIds = [hubspotIdOf(emulators, ambiguous!.email), ...ambiguous!.dynamics.map((row) => row.id)];
    expect(links(db, 'contacts').filter((link) => ambiguousIds.includes(link.hubspot_id!) || ambiguousIds.includes(link.dynamics_id!))).toEqual([]);
    expect(emulators.dynamics.store.all('contacts').filter((row) => String(row.emailaddress1).toLowerCase() === ambiguous!.email)).toHaveLength(2);
    expect(emulators.hubspot.store.count('contacts')).toBe(seed.people.filter((person) => person.hubspot).length + onlyDynamics.length);
    expect(emulators.dynamics.store.count('contacts')).toBe(seed.people.reduce((sum, person) => sum + person.dynamics.length, 0) + onlyHubSpot.length);

    // A newer job title on one side, modified after the other: it is what both sides hold now.
    const changed = paired.filter((person) => person.differences.some((difference) => difference.field === 'jobtitle'));
    expect(changed.length).toBeGreaterThan(0);
    for (const person of changed) {
      const side = person.differences.find((difference) => difference.field === 'jobtitle')!.side;
      expect(laterSide(person)).toBe(side);
      const jobtitle = side === 'hubspot' ? person.hubspot!.properties.jobtitle : person.dynamics[0]!.values.jobtitle;
      expect(emulators.hubspot.store.get('contacts', hubspotIdOf(emulators, person.email)!)?.properties.jobtitle).toBe(jobtitle);
      expect(emulators.dynamics.store.get('contacts', person.dynamics[0]!.id)?.jobtitle).toBe(jobtitle);
    }
    // Each record written once: the HubSpot side of newer Dataverse job titles and of missing phones, and the other way round.
    const differs = (person: SharedPerson, field: string, kind: string, side: SourceName) => person.differences.some((difference) => difference.field === field && difference.kind === kind && difference.side === side);
    const written = (to: SourceName) => paired.filter((person) => differs(person, 'jobtitle', 'changed', to === 'hubspot' ? 'dynamics' : 'hubspot') || differs(person, 'phone', 'missing', to)).length;
    expect(summary.updated).toEqual({ hubspot: written('hubspot'), dynamics: written('dynamics') });
    // Formatting alone is no change: an email in another letter case, a phone number written otherwise, are never written.
    const sent = query<{ properties: string }>(db, 'SELECT properties FROM outbox').map((row) => Object.keys(JSON.parse(row.properties) as object));
    expect(sent.filter((properties) => properties.includes('emailaddress1'))).toHaveLength(onlyHubSpot.length);
    expect(sent.filter((properties) => properties.includes('telephone1') || properties.includes('phone')).length).toBe(
      onlyHubSpot.length + onlyDynamics.length + paired.filter((person) => person.differences.some((difference) => difference.field === 'phone' && difference.kind === 'missing')).length,
    );
    for (const person of paired.filter((person) => differs(person, 'email', 'format', 'dynamics'))) {
      expect(emulators.dynamics.store.get('contacts', person.dynamics[0]!.id)?.emailaddress1).toBe(person.dynamics[0]!.values.emailaddress1);
    }
    // A phone missing on one side is filled from the other.
    for (const person of paired.filter((person) => person.differences.some((difference) => difference.field === 'phone' && difference.kind === 'missing'))) {
      expect(emulators.hubspot.store.get('contacts', hubspotIdOf(emulators, person.email)!)?.properties.phone).toBeTruthy();
      expect(emulators.dynamics.store.get('contacts', person.dynamics[0]!.id)?.telephone1).toBeTruthy();
    }

    for (const person of onlyDynamics) {
      // HubSpot keeps its own opt-out (email_optout travels only to Dynamics 365): the twin is made without one.
      expect(emulators.hubspot.store.findBy('contacts', 'email', person.email)?.properties.hs_email_optout ?? null).toBeNull();
    }
    const pairs = pairsOf(db, 'contacts', emulators).map((pair) =>
      pair.link.matched_by === 'created_in_hubspot' ? { ...pair, differences: pair.differences.filter((difference) => difference.field !== 'email_optout') } : pair,
    );
    expect(pairs.filter((pair) => pair.differences.length > 0).map((pair) => ({ link: pair.link.id, differences: pair.differences }))).toEqual([]);
    // Every field of every pair has the value it agrees on as its state.
    const fields = config.objects.get('contacts')!.twoWay!.fields.map((field) => field.column);
    const states = new Map(query<{ link_id: string; n: number }>(db, 'SELECT link_id, count(*) AS n FROM field_state GROUP BY link_id').map((row) => [row.link_id, row.n]));
    expect(states.size).toBe(119);
    // ... but a HubSpot twin's opt-out, which HubSpot alone sets.
    for (const link of links(db, 'contacts')) expect([link.matched_by, states.get(link.id)]).toEqual([link.matched_by, fields.length - (link.matched_by === 'created_in_hubspot' ? 1 : 0)]);
  });

  test('companies: pairs by name, settles differing employee counts and websites by the most recent change, makes the missing twins', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    const { result, summary } = await runTwoWay('companies', db, emulators);

    const paired = seed.companies.filter((company) => company.hubspot && company.dynamics);
    const onlyHubSpot = seed.companies.filter((company) => !company.dynamics);
    const onlyDynamics = seed.companies.filter((company) => !company.hubspot);
    expect([paired.length, onlyHubSpot.length, onlyDynamics.length]).toEqual([26, 2, 2]);
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(summary).toMatchObject({ linked: 26, created: { hubspot: 2, dynamics: 2 }, unmatched: 0, writesDead: 0, valueErrors: 0 });
    expect(countRows(db, 'entity_links', "object_type = 'companies'")).toBe(30);
    expect(emulators.hubspot.store.count('companies')).toBe(30);
    expect(emulators.dynamics.store.count('accounts')).toBe(30);

    const byHubSpot = new Map(links(db, 'companies').map((link) => [link.hubspot_id, link]));
    for (const company of paired) expect(byHubSpot.get(companyIdOf(emulators, company.name)!)).toMatchObject({ dynamics_id: company.dynamics!.id, matched_by: 'match_key' });
    for (const company of paired) {
      const hubspot = emulators.hubspot.store.get('companies', companyIdOf(emulators, company.name)!)!.properties;
      const dynamics = emulators.dynamics.store.get('accounts', company.dynamics!.id)!;
      const winner = laterSide(company);
      if (company.differences.some((difference) => difference.field === 'numberofemployees')) {
        const expected = winner === 'hubspot' ? company.hubspot!.properties.numberofemployees : String(company.dynamics!.values.numberofemployees);
        expect([hubspot.numberofemployees, String(dynamics.numberofemployees)]).toEqual([expected, expected]);
      }
      // "www.x.com" in Dataverse beside "https://www.x.com": two values, the later change wins.
      if (company.differences.some((difference) => difference.field === 'website')) {
        const expected = winner === 'hubspot' ? company.hubspot!.properties.website : company.dynamics!.values.websiteurl;
        expect([hubspot.website, dynamics.websiteurl]).toEqual([expected, expected]);
      }
    }
    const pairs = pairsOf(db, 'companies', emulators);
    expect(pairs.filter((pair) => pair.differences.length > 0).map((pair) => ({ link: pair.link.id, differences: pair.differences }))).toEqual([]);
  });
});




describe('two-way runs after the first', () => {
  test.each(['contacts', 'companies'])('%s: a run right after the first writes nothing to either CRM', async (object) => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    const first = await runTwoWay(object, db, emulators);
    expect(first.summary.writeRequests.hubspot + first.summary.writeRequests.dynamics).toBeGreaterThan(0);
    const before = { requests: writeRequests(emulators), outbox: countRows(db, 'outbox'), audit: countRows(db, 'audit_log'), links: countRows(db, 'entity_links') };

    const second = await runTwoWay(object, db, emulators);
    expect(second.result).toMatchObject({ status: 'success', exitCode: 0 });
    // What the first run wrote is read back as changed and merged: it agrees with the field state, so nothing goes out.
    expect(second.summary.pairsMerged).toBeGreaterThan(0);
    expect(second.summary).toMatchObject({ writeRequests: { hubspot: 0, dynamics: 0 }, created: { hubspot: 0, dynamics: 0 }, updated: { hubspot: 0, dynamics: 0 }, linked: 0 });
    expect({ requests: writeRequests(emulators), outbox: countRows(db, 'outbox'), audit: countRows(db, 'audit_log'), links: countRows(db, 'entity_links') }).toEqual(before);
  });

  test('an edit in HubSpot reaches Dynamics 365 and one in Dynamics 365 reaches HubSpot, with their field state and audit rows', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const [inHubSpot, inDynamics] = [alike[0]!, alike[1]!].map((person) => ({ person, ids: idsOf(emulators, person) }));
    emulators.hubspot.store.update('contacts', inHubSpot.ids.hubspot, { jobtitle: 'Head of Tea', city: 'Lisbon' });
    emulators.dynamics.store.update('contacts', inDynamics.ids.dynamics, { lastname: 'Okafor-Lindqvist', address1_country: 'Portugal' });

    const { result, summary } = await runTwoWay('contacts', db, emulators);
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(summary).toMatchObject({ updated: { hubspot: 1, dynamics: 1 }, created: { hubspot: 0, dynamics: 0 }, writeRequests: { hubspot: 1, dynamics: 1 } });
    expect(emulators.dynamics.store.get('contacts', inHubSpot.ids.dynamics)).toMatchObject({ jobtitle: 'Head of Tea', address1_city: 'Lisbon' });
    expect(emulators.hubspot.store.get('contacts', inDynamics.ids.hubspot)?.properties).toMatchObject({ lastname: 'Okafor-Lindqvist', country: 'Portugal' });

    const [hubspotLink, dynamicsLink] = [inHubSpot, inDynamics].map(({ ids }) => linkOfHubSpot(db, 'contacts', ids.hubspot)!);
    expect([stateOf(db, hubspotLink!.id, 'jobtitle'), stateOf(db, hubspotLink!.id, 'city')]).toEqual(['Head of Tea', 'Lisbon']);
    expect([stateOf(db, dynamicsLink!.id, 'lastname'), stateOf(db, dynamicsLink!.id, 'country')]).toEqual(['Okafor-Lindqvist', 'Portugal']);

    const audit = auditOf(db, result.runId!);
    expect(audit.map(({ changes, ...row }) => ({ ...row, changes: JSON.parse(changes) as unknown }))).toMatchObject([
      {
        run_id: result.runId,
        object_type: 'contacts',
        outbox_id: expect.any(Number),
        link_id: dynamicsLink!.id,
        crm: 'hubspot',
        record_id: inDynamics.ids.hubspot,
        operation: 'update',
        changes: {
          lastname: { old: inDynamics.person.hubspot!.properties.lastname, new: 'Okafor-Lindqvist' },
          country: { old: inDynamics.person.hubspot!.properties.country, new: 'Portugal' },
        },
        outcome: 'done',
        http_status: null,
        error: null,
        request_id: expect.stringMatching(/\S/),
      },
      {
        run_id: result.runId,
        object_type: 'contacts',
        outbox_id: expect.any(Number),
        link_id: hubspotLink!.id,
        crm: 'dynamics',
        record_id: inHubSpot.ids.dynamics,
        operation: 'update',
        changes: {
          jobtitle: { old: inHubSpot.person.dynamics[0]!.values.jobtitle, new: 'Head of Tea' },
          address1_city: { old: inHubSpot.person.dynamics[0]!.values.address1_city, new: 'Lisbon' },
        },
        outcome: 'done',
        http_status: null,
        error: null,
        request_id: expect.stringMatching(/\S/),
      },
    ]);
    expect(outboxOf(db, result.runId!).map(({ status, attempts }) => ({ status, attempts }))).toEqual([{ status: 'done', attempts: 1 }, { status: 'done', attempts: 1 }]);

    // The edits do not come back.
    const third = await runTwoWay('contacts', db, emulators);
    expect(third.summary.writeRequests).toEqual({ hubspot: 0, dynamics: 0 });
  });

  test('the same field changed on both sides: the later change wins, by the HubSpot property\'s own change time against the Dataverse row\'s modifiedon', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const [hubspotLater, dynamicsLater, propertyEarlier] = alike.slice(2, 5).map((person) => idsOf(emulators, person));
    const second = () => new Promise((resolve) => setTimeout(resolve, 1_100));
    // Dataverse keeps modifiedon to the second: changes a second apart are told apart on both sides.
    emulators.dynamics.store.update('contacts', hubspotLater!.dynamics, { jobtitle: 'Dynamics, earlier' });
    emulators.hubspot.store.update('contacts', dynamicsLater!.hubspot, { jobtitle: 'HubSpot, earlier' });
    emulators.hubspot.store.update('contacts', propertyEarlier!.hubspot, { jobtitle: 'HubSpot, earlier' });
    await second();
    emulators.hubspot.store.update('contacts', hubspotLater!.hubspot, { jobtitle: 'HubSpot, later' });
    emulators.dynamics.store.update('contacts', dynamicsLater!.dynamics, { jobtitle: 'Dynamics, later' });
    emulators.dynamics.store.update('contacts', propertyEarlier!.dynamics, { jobtitle: 'Dynamics, later' });
    await second();
    // The HubSpot record is modified after the Dataverse row, but its job title was not.
    emulators.hubspot.store.update('contacts', propertyEarlier!.hubspot, { city: 'Porto' });

    const { result, summary } = await runTwoWay('contacts', db, emulators);
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(summary).toMatchObject({ conflictsOpened: 0, updated: { hubspot: 2, dynamics: 2 } });
    const jobtitles = (ids: { hubspot: string; dynamics: string }) => [emulators.hubspot.store.get('contacts', ids.hubspot)?.properties.jobtitle, emulators.dynamics.store.get('contacts', ids.dynamics)?.jobtitle];
    expect(jobtitles(hubspotLater!)).toEqual(['HubSpot, later', 'HubSpot, later']);
    expect(jobtitles(dynamicsLater!)).toEqual(['Dynamics, later', 'Dynamics, later']);
    expect(jobtitles(propertyEarlier!)).toEqual(['Dynamics, later', 'Dynamics, later']);
    expect(emulators.dynamics.store.get('contacts', propertyEarlier!.dynamics)?.address1_city).toBe('Porto');
    const changes = auditOf(db, result.runId!).map((row) => [row.record_id, JSON.parse(row.changes) as unknown]);
    expect(changes).toContainEqual([hubspotLater!.dynamics, { jobtitle: { old: 'Dynamics, earlier', new: 'HubSpot, later' } }]);
    expect(changes).toContainEqual([dynamicsLater!.hubspot, { jobtitle: { old: 'HubSpot, earlier', new: 'Dynamics, later' } }]);
  });

  test('a changed email never links again: the pair keeps its link and the new email goes to the other side', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const [movedInDynamics, movedInHubSpot] = alike.slice(5, 7).map((person) => ({ person, ids: idsOf(emulators, person) }));
    const linksBefore = links(db, 'contacts');
    emulators.dynamics.store.update('contacts', movedInDynamics!.ids.dynamics, { emailaddress1: 'Moved.Away@Example.org' });
    // The HubSpot contact takes an address that a new Dataverse contact has too: neither is paired with the other.
    emulators.hubspot.store.update('contacts', movedInHubSpot!.ids.hubspot, { email: 'shared.inbox@example.org' });
    const newcomer = emulators.dynamics.store.create('contacts', { emailaddress1: 'shared.inbox@example.org', lastname: 'Newcomer' });

    const { summary } = await runTwoWay('contacts', db, emulators);
    expect(summary).toMatchObject({ linked: 0, created: { hubspot: 0, dynamics: 0 }, unmatched: 1, updated: { hubspot: 1, dynamics: 1 } });
    expect(links(db, 'contacts')).toEqual(linksBefore);
    expect(emulators.hubspot.store.get('contacts', movedInDynamics!.ids.hubspot)?.properties.email).toBe('moved.away@example.org');
    expect(emulators.dynamics.store.get('contacts', movedInHubSpot!.ids.dynamics)?.emailaddress1).toBe('shared.inbox@example.org');
    expect(links(db, 'contacts').filter((link) => link.dynamics_id === newcomer.contactid)).toEqual([]);
    expect(emulators.hubspot.store.count('contacts')).toBe(seed.people.filter((person) => person.hubspot).length + 3);

    const again = await runTwoWay('contacts', db, emulators);
    expect(again.summary).toMatchObject({ linked: 0, writeRequests: { hubspot: 0, dynamics: 0 } });
    expect(links(db, 'contacts')).toEqual(linksBefore);
  });
});

/** What `crmsync conflicts resolve` records: when, the choice, and the chosen value (JSON, in HubSpot's terms). */
function resolveConflict(db: string, id: number, resolution: 'hubspot' | 'dynamics' | 'value', value: unknown): void {
  execute(db, 'UPDATE conflicts SET resolved_at = ?, resolution = ?, resolved_value = ? WHERE id = ?', new Date().toISOString(), resolution, JSON.stringify(value), id);
}

interface ConflictRow {
  id: number;
  link_id: string;
  field: string;
  base_value: string | null;
  hubspot_value: string;
  hubspot_changed_at: string | null;
  dynamics_value: string;
  dynamics_changed_at: string | null;
  resolved_at: string | null;
  resolution: string | null;
  closed_at: string | null;
  closed_run_id: number | null;
}
const conflictsOf = (db: string) => query<ConflictRow>(db, 'SELECT * FROM conflicts ORDER BY id');

describe('a field whose conflicts a person settles (conflict: manual)', () => {
  const manual = mappingsVariant(['        email_optout: { direction: hubspot_to_dynamics }\n', '        email_optout: { direction: hubspot_to_dynamics }\n        jobtitle: { conflict: manual }\n']);

  test('opens a conflict and writes nothing for the field, other fields still sync; the choice is written once resolved and the conflict closed', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    // Job titles that already differ when the CRMs are first paired wait for a person too.
    const seeded = seed.people.filter((person) => person.index > 0 && inBoth(person) && person.differences.some((difference) => difference.field === 'jobtitle'));
    const first = await runTwoWay('contacts', db, emulators, { config: manual });
    expect(first.result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(first.summary).toMatchObject({ conflictsOpened: seeded.length, conflictsOpen: seeded.length });
    for (const person of seeded) {
      const ids = idsOf(emulators, person);
      expect(emulators.hubspot.store.get('contacts', ids.hubspot)?.properties.jobtitle).toBe(person.hubspot!.properties.jobtitle);
      expect(emulators.dynamics.store.get('contacts', ids.dynamics)?.jobtitle).toBe(person.dynamics[0]!.values.jobtitle);
      expect(conflictsOf(db).find((conflict) => conflict.link_id === linkOfHubSpot(db, 'contacts', ids.hubspot)!.id)).toMatchObject({
        field: 'jobtitle',
        base_value: null,
        hubspot_value: JSON.stringify(person.hubspot!.properties.jobtitle),
        dynamics_value: JSON.stringify(person.dynamics[0]!.values.jobtitle),
        // When each side changed, for the person who settles it: the HubSpot property's time, the Dataverse row's.
        hubspot_changed_at: new Date(person.hubspot!.modifiedMs).toISOString(),
        dynamics_changed_at: new Date(person.dynamics[0]!.modifiedMs).toISOString(),
        resolved_at: null,
      });
    }

    const person = alike[7]!;
    const ids = idsOf(emulators, person);
    emulators.hubspot.store.update('contacts', ids.hubspot, { jobtitle: 'Chair', city: 'Oslo' });
    emulators.dynamics.store.update('contacts', ids.dynamics, { jobtitle: 'Chairwoman' });
    const second = await runTwoWay('contacts', db, emulators, { config: manual });
    expect(second.result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(second.summary).toMatchObject({ conflictsOpened: 1, conflictsOpen: seeded.length + 1, updated: { hubspot: 0, dynamics: 1 } });
    const link = linkOfHubSpot(db, 'contacts', ids.hubspot)!;
    expect(outboxOf(db, second.result.runId!).map(({ crm, properties }) => ({ crm, properties }))).toEqual([{ crm: 'dynamics', properties: JSON.stringify({ address1_city: 'Oslo' }) }]);
    expect(emulators.hubspot.store.get('contacts', ids.hubspot)?.properties.jobtitle).toBe('Chair');
    expect(emulators.dynamics.store.get('contacts', ids.dynamics)).toMatchObject({ jobtitle: 'Chairwoman', address1_city: 'Oslo' });
    const opened = conflictsOf(db).find((conflict) => conflict.link_id === link.id)!;
    expect(opened).toMatchObject({ field: 'jobtitle', base_value: JSON.stringify(person.hubspot!.properties.jobtitle), hubspot_value: '"Chair"', dynamics_value: '"Chairwoman"', closed_at: null });
    expect(Date.parse(opened.hubspot_changed_at!)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(opened.dynamics_changed_at!)).toBeGreaterThan(Date.now() - 60_000);

    const [byValue, byHubSpot] = seeded.map((seededPerson) => ({ ids: idsOf(emulators, seededPerson), person: seededPerson }));
    const conflictOf = (hubspotId: string) => conflictsOf(db).find((conflict) => conflict.link_id === linkOfHubSpot(db, 'contacts', hubspotId)!.id)!;
    resolveConflict(db, opened.id, 'dynamics', 'Chairwoman');
    resolveConflict(db, conflictOf(byValue!.ids.hubspot).id, 'value', 'Chief Tea Officer');
    resolveConflict(db, conflictOf(byHubSpot!.ids.hubspot).id, 'hubspot', byHubSpot!.person.hubspot!.properties.jobtitle);
    const third = await runTwoWay('contacts', db, emulators, { config: manual });
    expect(third.summary).toMatchObject({ conflictsOpened: 0, conflictsOpen: seeded.length - 2, updated: { hubspot: 2, dynamics: 2 } });
    const jobtitles = (pair: { hubspot: string; dynamics: string }) => [emulators.hubspot.store.get('contacts', pair.hubspot)?.properties.jobtitle, emulators.dynamics.store.get('contacts', pair.dynamics)?.jobtitle];
    expect(jobtitles(ids)).toEqual(['Chairwoman', 'Chairwoman']);
    expect(jobtitles(byValue!.ids)).toEqual(['Chief Tea Officer', 'Chief Tea Officer']);
    expect(jobtitles(byHubSpot!.ids)).toEqual([byHubSpot!.person.hubspot!.properties.jobtitle, byHubSpot!.person.hubspot!.properties.jobtitle]);
    for (const hubspotId of [ids.hubspot, byValue!.ids.hubspot, byHubSpot!.ids.hubspot]) {
      const closed = conflictsOf(db).find((conflict) => conflict.link_id === linkOfHubSpot(db, 'contacts', hubspotId)!.id)!;
      expect(closed).toMatchObject({ closed_run_id: third.result.runId, closed_at: expect.any(String) });
      expect(stateOf(db, closed.link_id, 'jobtitle')).toBe(jobtitles(hubspotId === ids.hubspot ? ids : hubspotId === byValue!.ids.hubspot ? byValue!.ids : byHubSpot!.ids)[0]);
    }

    const fourth = await runTwoWay('contacts', db, emulators, { config: manual });
    expect(fourth.summary).toMatchObject({ conflictsOpened: 0, conflictsOpen: seeded.length - 2, writeRequests: { hubspot: 0, dynamics: 0 } });
    expect(conflictsOf(db)).toHaveLength(seeded.length + 1);
  });
});
