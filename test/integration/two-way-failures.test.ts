/**
 * Two-way sync when the CRMs refuse, change under it or throttle it, with value maps,
 * deletions and two runs at once, in-process against both emulators holding the shared seed.
 */
import { describe, expect, test } from 'vitest';
import type { CrmConnection, RecordSource, RecordWrite } from '../../src/clients/crm.js';
import type { SourceName } from '../../src/config/sources.js';
import { generateSharedSeed, type SharedPerson } from '@crmsync/emulators/hubspot';
import { countRows, queryOne } from '../helpers/db.js';
import { crmsync, summary } from '../helpers/cli.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { recordingLogger } from '../helpers/engine.js';
import { TWO_WAY_RETRY, mappingsVariant, recordWrites, runTwoWay, sharedEmulatorsPerTest, twoWayDb, withMember, withWriter, type ConnectionsAdapter, type EmulatorPair, type WriteCall } from '../helpers/two-way.js';
import { alikePeople, auditOf, execute, idsOf, linkOfHubSpot, outboxOf, stateOf } from '../helpers/two-way-state.js';

const SHARED = { contacts: 120, companies: 30 };
const seed = generateSharedSeed(SHARED, 42);
const alike = alikePeople(seed);
const startEmulators = sharedEmulatorsPerTest();
const noCalls = (): Record<SourceName, WriteCall[]> => ({ hubspot: [], dynamics: [] });

describe('HubSpot refuses some writes of a batch', () => {
  test('an email another HubSpot contact has: that write is dead-lettered with the reason HubSpot gives, the rest of the batch done, the run partial', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const [retitled, renamed, moved, holder] = alike.slice(0, 4).map((person) => ({ person, ids: idsOf(emulators, person) }));
    emulators.dynamics.store.update('contacts', retitled!.ids.dynamics, { jobtitle: 'Analyst' });
    emulators.dynamics.store.update('contacts', renamed!.ids.dynamics, { lastname: 'Nakamura' });
    emulators.dynamics.store.update('contacts', moved!.ids.dynamics, { emailaddress1: holder!.person.email, jobtitle: 'Moved' });

    const calls = noCalls();
    const { result, summary } = await runTwoWay('contacts', db, emulators, { adapt: recordWrites(calls) });
    expect(result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(summary).toMatchObject({ updated: { hubspot: 2, dynamics: 0 }, writesDead: 1, writesWaiting: 0, writeRequests: { hubspot: 1, dynamics: 0 } });
    // One batch request, answered input by input.
    expect(calls.hubspot).toHaveLength(1);
    expect(calls.hubspot[0]!.outcomes.map((outcome) => outcome.status).sort()).toEqual(['done', 'done', 'refused']);

    const link = linkOfHubSpot(db, 'contacts', moved!.ids.hubspot)!;
    const rows = outboxOf(db, result.runId!);
    expect(rows.map((row) => [row.record_id, row.status])).toEqual(
      expect.arrayContaining([
        [retitled!.ids.hubspot, 'done'],
        [renamed!.ids.hubspot, 'done'],
        [moved!.ids.hubspot, 'dead'],
      ]),
    );
    expect(rows.find((row) => row.link_id === link.id)).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/already exists/i) });
    expect(auditOf(db, result.runId!).find((row) => row.link_id === link.id)).toMatchObject({ outcome: 'refused', http_status: 409, error: expect.stringMatching(/already exists/i), request_id: expect.stringMatching(/\S/) });
    expect(emulators.hubspot.store.get('contacts', retitled!.ids.hubspot)?.properties.jobtitle).toBe('Analyst');
    expect(emulators.hubspot.store.get('contacts', renamed!.ids.hubspot)?.properties.lastname).toBe('Nakamura');
    // Nothing of the refused input was written, and its field state still holds what both sides last agreed.
    expect(emulators.hubspot.store.get('contacts', moved!.ids.hubspot)?.properties).toMatchObject({ email: moved!.person.email, jobtitle: moved!.person.hubspot!.properties.jobtitle });
    expect([stateOf(db, link.id, 'email'), stateOf(db, link.id, 'jobtitle')]).toEqual([moved!.person.email, moved!.person.hubspot!.properties.jobtitle]);

    // A dead-lettered write is not sent again by the next run.
    const next = await runTwoWay('contacts', db, emulators);
    expect(next.result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(next.summary.writeRequests).toEqual({ hubspot: 0, dynamics: 0 });
  });

  test('an email HubSpot finds invalid (the file maps email as plain text): that write is dead-lettered, the others done', async () => {
    const plainEmail = mappingsVariant(
      ['      email: { type: email }\n', '      email: { type: string }\n'],
      ['        email: { property: emailaddress1, type: email }\n', '        email: { property: emailaddress1, type: string }\n'],
    );
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators, { config: plainEmail });
    await runTwoWay('contacts', db, emulators, { config: plainEmail });
    const [mistyped, retitled] = alike.slice(4, 6).map((person) => idsOf(emulators, person));
    emulators.dynamics.store.update('contacts', mistyped!.dynamics, { emailaddress1: 'ines at example.org' });
    emulators.dynamics.store.update('contacts', retitled!.dynamics, { jobtitle: 'Archivist' });

    const { result, summary } = await runTwoWay('contacts', db, emulators, { config: plainEmail });
    expect(result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(summary).toMatchObject({ updated: { hubspot: 1, dynamics: 0 }, writesDead: 1 });
    const rows = outboxOf(db, result.runId!);
    expect(rows.find((row) => row.record_id === mistyped!.hubspot)).toMatchObject({ status: 'dead', last_error: expect.stringContaining('Email address ines at example.org is invalid') });
    expect(rows.find((row) => row.record_id === retitled!.hubspot)).toMatchObject({ status: 'done' });
    expect(auditOf(db, result.runId!).find((row) => row.record_id === mistyped!.hubspot)).toMatchObject({ outcome: 'refused', http_status: 400 });
    expect(emulators.hubspot.store.get('contacts', retitled!.hubspot)?.properties.jobtitle).toBe('Archivist');
  });
});

describe('a Dataverse row changed after the run read it (HTTP 412)', () => {
  test('the write is not applied blindly: the pair is read again and merged afresh, and the edit made meanwhile stays', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const [sameField, otherField] = alike.slice(6, 8).map((person) => idsOf(emulators, person));
    emulators.hubspot.store.update('contacts', sameField!.hubspot, { city: 'Lisbon' });
    emulators.hubspot.store.update('contacts', otherField!.hubspot, { city: 'Lisbon' });
    // Dataverse keeps modifiedon to the second: the edit made meanwhile is a later one.
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    // Someone edits both rows in Dynamics 365 after the run has read them, as its first writes go out.
    let edited = false;
    const editMeanwhile: ConnectionsAdapter = (connections) => ({
      ...connections,
      dynamics: withWriter(connections.dynamics, (writer) => async (mapping, writes: RecordWrite[]) => {
        if (!edited) {
          edited = true;
          emulators.dynamics.store.update('contacts', sameField!.dynamics, { address1_city: 'Porto' });
          emulators.dynamics.store.update('contacts', otherField!.dynamics, { jobtitle: 'Harbour Master' });
        }
        return writer.write(mapping, writes);
      }),
    });
    const { result, summary } = await runTwoWay('contacts', db, emulators, { adapt: editMeanwhile });
    expect(edited).toBe(true);
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });

    // The same field: Porto is the later change; HubSpot gets it and Dynamics 365 keeps it.
    expect(emulators.hubspot.store.get('contacts', sameField!.hubspot)?.properties.city).toBe('Porto');
    expect(emulators.dynamics.store.get('contacts', sameField!.dynamics)?.address1_city).toBe('Porto');
    // Another field: both edits stand, each carried to the other side.
    expect(emulators.dynamics.store.get('contacts', otherField!.dynamics)).toMatchObject({ address1_city: 'Lisbon', jobtitle: 'Harbour Master' });
    expect(emulators.hubspot.store.get('contacts', otherField!.hubspot)?.properties).toMatchObject({ city: 'Lisbon', jobtitle: 'Harbour Master' });

    const rows = outboxOf(db, result.runId!);
    expect(rows.filter((row) => row.status === 'stale').map((row) => [row.crm, row.record_id, row.properties]).sort()).toEqual(
      [
        ['dynamics', sameField!.dynamics, JSON.stringify({ address1_city: 'Lisbon' })],
        ['dynamics', otherField!.dynamics, JSON.stringify({ address1_city: 'Lisbon' })],
      ].sort(),
    );
    expect(rows.filter((row) => row.status !== 'stale').map((row) => [row.crm, row.record_id, row.status]).sort()).toEqual(
      [
        ['hubspot', sameField!.hubspot, 'done'],
        ['hubspot', otherField!.hubspot, 'done'],
        ['dynamics', otherField!.dynamics, 'done'],
      ].sort(),
    );
    expect(auditOf(db, result.runId!).filter((row) => row.outcome === 'stale')).toHaveLength(2);
    expect(summary).toMatchObject({ updated: { hubspot: 2, dynamics: 1 }, writesDead: 0, writesWaiting: 0 });
    const link = linkOfHubSpot(db, 'contacts', sameField!.hubspot)!;
    expect(stateOf(db, link.id, 'city')).toBe('Porto');

    const next = await runTwoWay('contacts', db, emulators);
    expect(next.summary.writeRequests).toEqual({ hubspot: 0, dynamics: 0 });
  });
});

describe('throttled writes (429)', () => {
  /** Both CRMs answer their share of write requests 429 while the run writes; reads are left alone. */
  function throttledWrites(emulators: EmulatorPair, share: number): ConnectionsAdapter {
    const around = (side: SourceName, connection: CrmConnection) =>
      withWriter(connection, (writer) => async (mapping, writes) => {
        if (side === 'hubspot') emulators.hubspot.setFaults({ rate429: share, seed: 7 });
        else emulators.dynamics.setFaults({ throttle: share, retryAfterSeconds: 0, seed: 7 });
        try {
          return await writer.write(mapping, writes);
        } finally {
          if (side === 'hubspot') emulators.hubspot.setFaults(undefined);
          else emulators.dynamics.setFaults(undefined);
        }
      });
    return (connections) => ({ hubspot: around('hubspot', connections.hubspot), dynamics: around('dynamics', connections.dynamics) });
  }

  /** Edits on each side and people new to each side: updates and creates for both CRMs. */
  function editBothSides(emulators: EmulatorPair, people: SharedPerson[], tag: string) {
    const half = Math.floor(people.length / 2);
    const inHubSpot = people.slice(0, half).map((person) => idsOf(emulators, person));
    const inDynamics = people.slice(half).map((person) => idsOf(emulators, person));
    inHubSpot.forEach((ids, index) => emulators.hubspot.store.update('contacts', ids.hubspot, { jobtitle: `${tag} HubSpot ${index}` }));
    inDynamics.forEach((ids, index) => emulators.dynamics.store.update('contacts', ids.dynamics, { jobtitle: `${tag} Dynamics ${index}` }));
    const emails = { hubspot: [0, 1, 2].map((index) => `${tag}.hubspot.${index}@example.org`), dynamics: [0, 1, 2].map((index) => `${tag}.dynamics.${index}@example.org`) };
    for (const email of emails.hubspot) emulators.hubspot.store.create('contacts', { email, lastname: tag });
    for (const email of emails.dynamics) emulators.dynamics.store.create('contacts', { emailaddress1: email, lastname: tag });
    return {
      /** Every edit and every new person is in both CRMs, once. */
      arrived(): void {
        inHubSpot.forEach((ids, index) => expect(emulators.dynamics.store.get('contacts', ids.dynamics)?.jobtitle).toBe(`${tag} HubSpot ${index}`));
        inDynamics.forEach((ids, index) => expect(emulators.hubspot.store.get('contacts', ids.hubspot)?.properties.jobtitle).toBe(`${tag} Dynamics ${index}`));
        for (const email of [...emails.hubspot, ...emails.dynamics]) {
          expect(emulators.hubspot.store.all('contacts').filter((record) => record.properties.email === email)).toHaveLength(1);
          expect(emulators.dynamics.store.all('contacts').filter((row) => row.emailaddress1 === email)).toHaveLength(1);
        }
      },
      writes: people.length + 6,
    };
  }

  test('a storm: every write is made exactly once; an outage: writes wait in the outbox with their attempt, next time and error, and a later run sends them once due', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const counts = () => ({ hubspot: emulators.hubspot.store.count('contacts'), dynamics: emulators.dynamics.store.count('contacts') });

    // Half of the write requests throttled: the retries ride it out.
    const storm = editBothSides(emulators, alike.slice(10, 40), 'storm');
    const before = counts();
    const stormy = await runTwoWay('contacts', db, emulators, { adapt: throttledWrites(emulators, 0.5), retry: { ...TWO_WAY_RETRY, retries: 20 } });
    expect(emulators.hubspot.stats.faults['429']).toBeGreaterThan(0);
    expect(emulators.dynamics.stats.faults.throttle).toBeGreaterThan(0);
    expect(stormy.result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(stormy.summary).toMatchObject({ created: { hubspot: 3, dynamics: 3 }, updated: { hubspot: 15, dynamics: 15 }, writesWaiting: 0, writesDead: 0 });
    storm.arrived();
    expect(counts()).toEqual({ hubspot: before.hubspot + 3, dynamics: before.dynamics + 3 });
    const stormRows = outboxOf(db, stormy.result.runId!);
    expect(stormRows).toHaveLength(storm.writes);
    expect(stormRows.filter((row) => row.status !== 'done')).toEqual([]);
    // One answer per write: each was made once, never sent again after it was.
    const stormAudit = auditOf(db, stormy.result.runId!);
    expect(stormAudit.map((row) => row.outcome)).toEqual(stormRows.map(() => 'done'));
    expect(new Set(stormAudit.map((row) => row.outbox_id)).size).toBe(stormRows.length);

    // Every write request throttled, past the retries: nothing is written, everything waits.
    const outage = editBothSides(emulators, alike.slice(40, 50), 'outage');
    const waiting = await runTwoWay('contacts', db, emulators, { adapt: throttledWrites(emulators, 1), retry: { ...TWO_WAY_RETRY, retries: 2 } });
    expect(waiting.result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(waiting.summary).toMatchObject({ writesWaiting: outage.writes, writesDead: 0, created: { hubspot: 0, dynamics: 0 }, updated: { hubspot: 0, dynamics: 0 } });
    const pending = outboxOf(db, waiting.result.runId!);
    expect(pending).toHaveLength(outage.writes);
    for (const row of pending) {
      expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/still failing after 3 attempts: (rate limited|throttled by service protection)/) });
      // Half a minute doubling, with jitter: not before 15 s from now.
      expect(Date.parse(row.next_attempt_at)).toBeGreaterThan(Date.now() + 10_000);
    }
    expect(auditOf(db, waiting.result.runId!).map((row) => row.outcome)).toEqual(pending.map(() => 'retry'));
    expect(counts()).toEqual({ hubspot: before.hubspot + 6, dynamics: before.dynamics + 6 });

    // The outage is over, but the writes are not due yet: the next run leaves them waiting.
    const early = await runTwoWay('contacts', db, emulators);
    expect(early.summary).toMatchObject({ writeRequests: { hubspot: 0, dynamics: 0 }, writesWaiting: outage.writes });
    expect(countRows(db, 'outbox', "status = 'pending'")).toBe(outage.writes);

    // Time passes: the run after their time sends each of them, once.
    execute(db, "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending'", new Date(Date.now() - 1_000).toISOString());
    const due = await runTwoWay('contacts', db, emulators);
    expect(due.result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(due.summary).toMatchObject({ writesWaiting: 0, created: { hubspot: 3, dynamics: 3 }, updated: { hubspot: 5, dynamics: 5 } });
    outage.arrived();
    expect(counts()).toEqual({ hubspot: before.hubspot + 9, dynamics: before.dynamics + 9 });
    expect(outboxOf(db, waiting.result.runId!).map((row) => [row.status, row.attempts])).toEqual(pending.map(() => ['done', 2]));

    const quiet = await runTwoWay('contacts', db, emulators);
    expect(quiet.summary.writeRequests).toEqual({ hubspot: 0, dynamics: 0 });
  });
});

describe('a value map (HubSpot options to Dataverse choices)', () => {
  // The industries of the shared companies HubSpot has, mapped to 1, 2, … but the first paired company's; 33 is mapped from none.
  const industries = [...new Set(seed.companies.flatMap((company) => (company.hubspot ? [company.hubspot.properties.industry!] : [])))].sort();
  const unmapped = seed.companies.find((company) => company.hubspot && company.dynamics)!.hubspot!.properties.industry!;
  const mapped = industries.filter((industry) => industry !== unmapped);
  const codeOf = new Map(mapped.map((industry, index) => [industry, index + 1]));
  const withIndustries = mappingsVariant(
    ['        industry_code: { property: industrycode, type: integer }\n', '        industry: { property: industrycode, type: integer }\n'],
    [
      '        created_at: { direction: none }\n      # industry is left out',
      `        created_at: { direction: none }\n        industry: { values: { ${mapped.map((industry) => `${industry}: ${codeOf.get(industry)}`).join(', ')} } }\n      # industry is left out`,
    ],
  );

  test('maps options both ways; an option without a counterpart is reported and not written', async () => {
    expect(mapped.length).toBeGreaterThan(2);
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    const { lines, log } = recordingLogger('warn');
    const first = await runTwoWay('companies', db, emulators, { config: withIndustries, log });

    const inHubSpot = seed.companies.filter((company) => company.hubspot);
    const notMapped = inHubSpot.filter((company) => company.hubspot!.properties.industry === unmapped);
    expect(first.result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(first.summary).toMatchObject({ valueErrors: notMapped.length, writesDead: 0, created: { hubspot: 2, dynamics: 2 } });
    expect(lines.filter((line) => line.includes(`HubSpot option "${unmapped}" has no Dataverse value; add one under objects.companies.two_way.fields.industry.values`))).toHaveLength(notMapped.length);
    const accountOf = (name: string) => emulators.dynamics.store.all('accounts').find((row) => row.name === name)!;
    for (const company of inHubSpot) {
      const industry = company.hubspot!.properties.industry!;
      expect([company.name, accountOf(company.name).industrycode ?? null]).toEqual([company.name, codeOf.get(industry) ?? null]);
    }

    // The next run reads back what the first wrote (and reports the option without a value again for pairs it merges).
    await runTwoWay('companies', db, emulators, { config: withIndustries });
    // Dataverse choices travel back as HubSpot options; one without an option is reported and HubSpot keeps its value.
    const [recoded, unknown] = seed.companies.filter((company) => company.hubspot && company.dynamics && company.hubspot.properties.industry !== unmapped);
    const hubspotOf = (name: string) => emulators.hubspot.store.all('companies').find((record) => record.properties.name === name)!;
    const newIndustry = mapped.find((industry) => industry !== recoded!.hubspot!.properties.industry)!;
    emulators.dynamics.store.update('accounts', recoded!.dynamics!.id, { industrycode: codeOf.get(newIndustry) });
    emulators.dynamics.store.update('accounts', unknown!.dynamics!.id, { industrycode: 33 });
    lines.length = 0;
    const second = await runTwoWay('companies', db, emulators, { config: withIndustries, log });
    expect(second.result).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(second.summary).toMatchObject({ valueErrors: 1, updated: { hubspot: 1, dynamics: 0 } });
    expect(hubspotOf(recoded!.name).properties.industry).toBe(newIndustry);
    expect(hubspotOf(unknown!.name).properties.industry).toBe(unknown!.hubspot!.properties.industry);
    expect(lines).toEqual([expect.stringContaining('Dataverse value 33 has no HubSpot option; add one under objects.companies.two_way.fields.industry.values; not written')]);
    expect(outboxOf(db, second.result.runId!).map((row) => [row.crm, row.record_id, row.properties])).toEqual([['hubspot', hubspotOf(recoded!.name).id, JSON.stringify({ industry: newIndustry })]]);
  });
});

describe('on_delete: ignore', () => {
  test('a record deleted on one side leaves its twin alone, and is never made again by edits of the twin', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators);
    const [archived, deleted] = alike.slice(50, 52).map((person) => ({ person, ids: idsOf(emulators, person) }));
    const counts = () => ({ hubspot: emulators.hubspot.store.count('contacts'), dynamics: emulators.dynamics.store.count('contacts') });
    emulators.hubspot.store.archive('contacts', archived!.ids.hubspot);
    emulators.dynamics.store.delete('contacts', deleted!.ids.dynamics);
    const before = counts();
    const linksBefore = countRows(db, 'entity_links');

    const { result, summary } = await runTwoWay('contacts', db, emulators);
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(summary).toMatchObject({ keptAfterDeletion: 2, writeRequests: { hubspot: 0, dynamics: 0 }, deleted: { hubspot: 0, dynamics: 0 } });
    expect(emulators.dynamics.store.get('contacts', archived!.ids.dynamics)).toBeDefined();
    expect(emulators.hubspot.store.get('contacts', deleted!.ids.hubspot)?.archived).toBe(false);

    emulators.dynamics.store.update('contacts', archived!.ids.dynamics, { jobtitle: 'Still here' });
    emulators.hubspot.store.update('contacts', deleted!.ids.hubspot, { jobtitle: 'Still here' });
    const after = await runTwoWay('contacts', db, emulators);
    expect(after.summary).toMatchObject({ keptAfterDeletion: 2, writeRequests: { hubspot: 0, dynamics: 0 }, created: { hubspot: 0, dynamics: 0 }, linked: 0 });
    expect(emulators.hubspot.store.get('contacts', archived!.ids.hubspot)?.archived).toBe(true);
    expect(emulators.dynamics.store.get('contacts', deleted!.ids.dynamics)).toBeUndefined();
    expect(counts()).toEqual(before);
    expect(countRows(db, 'entity_links')).toBe(linksBefore);
  });
});

describe('on_delete: propagate', () => {
  test('a deletion on one side deletes the twin (HubSpot archives it), unless the twin was edited since the pair agreed', async () => {
    const propagate = mappingsVariant(['      on_delete: ignore\n', '      on_delete: propagate\n']);
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('contacts', db, emulators, { config: propagate });
    const [archived, deleted, edited] = alike.slice(52, 55).map((person) => idsOf(emulators, person));
    emulators.hubspot.store.archive('contacts', archived!.hubspot);
    emulators.dynamics.store.delete('contacts', deleted!.dynamics);
    emulators.hubspot.store.archive('contacts', edited!.hubspot);
    emulators.dynamics.store.update('contacts', edited!.dynamics, { jobtitle: 'Edited after the deletion' });

    const { result, summary } = await runTwoWay('contacts', db, emulators, { config: propagate });
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(summary).toMatchObject({ deleted: { hubspot: 1, dynamics: 1 }, created: { hubspot: 0, dynamics: 0 }, keptAfterDeletion: 1, writesDead: 0 });
    expect(emulators.dynamics.store.get('contacts', archived!.dynamics)).toBeUndefined();
    expect(emulators.hubspot.store.get('contacts', deleted!.hubspot)?.archived).toBe(true);
    // Edited on the surviving side since the pair last agreed: reported and kept, not deleted.
    expect(emulators.dynamics.store.get('contacts', edited!.dynamics)).toMatchObject({ jobtitle: 'Edited after the deletion' });
    expect(outboxOf(db, result.runId!).map((row) => [row.crm, row.operation, row.record_id, row.status]).sort()).toEqual(
      [
        ['dynamics', 'delete', archived!.dynamics, 'done'],
        ['hubspot', 'delete', deleted!.hubspot, 'done'],
      ].sort(),
    );
    expect(auditOf(db, result.runId!).map((row) => row.outcome)).toEqual(['done', 'done']);

    // Both sides gone: nothing more to do, and nothing is made again.
    const after = await runTwoWay('contacts', db, emulators, { config: propagate });
    expect(after.summary).toMatchObject({ created: { hubspot: 0, dynamics: 0 }, deleted: { hubspot: 0, dynamics: 0 } });
    expect(emulators.hubspot.store.get('contacts', archived!.hubspot)?.archived).toBe(true);
    expect(emulators.dynamics.store.get('contacts', deleted!.dynamics)).toBeUndefined();
  });
});

describe('two runs of one object at once', () => {
  test('the second, in another process, is refused (lease held, exit code 4) and writes nothing; another object runs beside it', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    let enter!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The first run stops as it starts to read HubSpot, holding its lease.
    const held: ConnectionsAdapter = (connections) => ({
      ...connections,
      hubspot: withMember(connections.hubspot, 'reader', (mapping) => {
        const source = connections.hubspot.reader(mapping);
        const pages: RecordSource['pages'] = async function* (plan) {
          enter();
          await gate;
          yield* source.pages(plan);
        };
        return Object.assign(Object.create(source) as RecordSource, { pages });
      }),
    });
    const first = runTwoWay('contacts', db, emulators, { adapt: held });
    await entered;

    try {
      // Another process: the command line, as cron would start it.
      const env = { ...hubspotEnvOf(emulators.hubspot, db), ...dynamicsEnvOf(emulators.dynamics) };
      const refused = await crmsync(['sync-contacts', '--two-way', '--json'], env);
      expect(refused.code, refused.stderr).toBe(4);
      expect(refused.stderr).toMatch(/contacts.*is already being synced by pid \d+/);
      expect(summary(refused.stdout).results).toEqual([expect.objectContaining({ object: 'contacts', status: 'failed', error: expect.stringMatching(/already being synced/) })]);
      const beside = await crmsync(['sync-companies', '--two-way', '--json'], env);
      expect(beside.code, beside.stderr).toBe(0);
      expect(countRows(db, 'sync_history', "crm_source = 'two_way' AND sync_type = 'contacts'")).toBe(1);
      expect(countRows(db, 'outbox', "object_type = 'contacts'")).toBe(0);
    } finally {
      release();
    }
    const { result } = await first;
    expect(result).toMatchObject({ status: 'success', exitCode: 0 });
    expect(countRows(db, 'entity_links', "object_type = 'contacts'")).toBe(119);
  });
});

describe('a crash after HubSpot made companies, before crmsync recorded it', () => {
  test('the next run takes the companies it made, told apart by their values when two share a name; none is made twice', async () => {
    const emulators = await startEmulators(SHARED);
    const db = twoWayDb();
    await runTwoWay('companies', db, emulators);
    // Two new Dataverse accounts of one name: each gets a HubSpot twin by a plain create (company names are not unique).
    const twins = [
      { name: 'Harbour Lights', address1_city: 'Bergen' },
      { name: 'Harbour Lights', address1_city: 'Porto' },
    ];
    for (const account of twins) emulators.dynamics.store.create('accounts', account);
    const hubspotNamed = () => emulators.hubspot.store.all('companies').filter((record) => !record.archived && record.properties.name === 'Harbour Lights');

    // HubSpot takes the creates, then the process dies before their outcome is stored.
    const crash: ConnectionsAdapter = (connections) => ({
      ...connections,
      hubspot: withWriter(connections.hubspot, (writer) => async (mapping, writes) => {
        await writer.write(mapping, writes);
        throw new Error('killed after the request');
      }),
    });
    const crashed = await runTwoWay('companies', db, emulators, { adapt: crash });
    expect(crashed.result.status).toBe('failed');
    expect(hubspotNamed()).toHaveLength(2);

    const { result, summary } = await runTwoWay('companies', db, emulators);
    expect(result.exitCode).toBe(0);
    expect(summary).toMatchObject({ created: { hubspot: 2, dynamics: 0 }, writeRequests: { hubspot: 0 } });
    expect(hubspotNamed().map((record) => record.properties.city).sort()).toEqual(['Bergen', 'Porto']);
    // Each account is linked to the company of its own city.
    for (const company of hubspotNamed()) {
      const link = queryOne<{ dynamics_id: string }>(db, 'SELECT dynamics_id FROM entity_links WHERE object_type = ? AND hubspot_id = ?', 'companies', company.id)!;
      expect(emulators.dynamics.store.get('accounts', link.dynamics_id)).toMatchObject({ address1_city: company.properties.city });
    }
    expect((await runTwoWay('companies', db, emulators)).summary).toMatchObject({ created: { hubspot: 0, dynamics: 0 }, writeRequests: { hubspot: 0, dynamics: 0 } });
    expect(hubspotNamed()).toHaveLength(2);
  });
});
