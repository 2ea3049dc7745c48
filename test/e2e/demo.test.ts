/**
 * `crmsync demo`: the one-way steps against both emulators, then the two-way steps on the
 * records the shared seed puts in both: links, a change made in each CRM reaching the other,
 * and a conflict opened, listed, resolved and written; then serve, and a change arriving by
 * webhook.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { expect, test } from 'vitest';
import { generateSharedSeed } from '@crmsync/emulators/hubspot';
import { crmsync, ROOT, tempDir } from '../helpers/cli.js';
import { query, queryOne } from '../helpers/db.js';
import { tableAfter } from '../helpers/table.js';

const dir = tempDir();

test('the demo syncs both CRMs, then only their changes; then both ways: links, a change each way, a conflict resolved; then a change by webhook', async () => {
  const db = join(dir, 'demo.db');
  const SHARED = { contacts: 30, companies: 6 };
  const args = ['demo', '--db', db, '--seed', 'contacts=200,companies=20,deals=50,tickets=10', '--dynamics-seed', 'contacts=120,accounts=15', '--shared-seed', 'contacts=30,companies=6'];
  const run = await crmsync(args, {}, { cwd: dir });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).not.toMatch(/error|warn/);
  const { people, companies } = generateSharedSeed(SHARED, 42);
  // Person 0 is twice in Dataverse.
  const dataverseContacts = 120 + people.reduce((sum, person) => sum + person.dynamics.length, 0);
  expect(run.stdout).toMatch(new RegExp(`contacts \\(dynamics\\)\\s+success\\s+full\\s+${dataverseContacts} processed, ${dataverseContacts} created`));
  expect(run.stdout).toMatch(/contacts \(dynamics\)\s+success\s+changes\s+3 processed, 1 created, 2 updated, 0 unchanged, 0 deleted/);
  expect(run.stdout).toMatch(/companies \(dynamics\)\s+success\s+changes\s+0 processed, 0 created, 0 updated, 0 unchanged, 1 deleted/);

  // The first two-way run links the shared records (not person 0: two Dataverse contacts have that email).
  const step = (n: number) => {
    const next = run.stdout.indexOf(`\n${n + 1}. `);
    return run.stdout.slice(run.stdout.indexOf(`\n${n}. `), next === -1 ? undefined : next);
  };
  const linkedPeople = people.filter((person) => person.hubspot && person.dynamics.length === 1).length;
  const linkedCompanies = companies.filter((company) => company.hubspot && company.dynamics).length;
  expect(step(5)).toContain('$ crmsync sync-all --two-way');
  expect(step(5)).toMatch(new RegExp(`contacts \\(two_way\\)\\s+success[^\\n]+\\n\\s+${linkedPeople} pairs merged, ${linkedPeople} newly linked`));
  expect(step(5)).toMatch(new RegExp(`companies \\(two_way\\)\\s+success[^\\n]+\\n\\s+${linkedCompanies} pairs merged, ${linkedCompanies} newly linked`));

  // A job title changed in HubSpot reaches Dynamics 365; a city changed in Dynamics 365 reaches HubSpot.
  const edits = /Meanwhile in HubSpot: contact (\d+) \((.+?)\) jobtitle "[^"]*" → "([^"]+)"; in Dynamics 365: account ([0-9a-f-]{36}) \((.+?)\) city "[^"]*" → "([^"]+)"/.exec(step(6));
  expect(edits, step(6)).not.toBeNull();
  const [, , email, title, accountId, , city] = edits!;
  expect(step(7)).toMatch(new RegExp(`Now in Dynamics 365: contact [0-9a-f-]{36} \\(${email.replace(/\./g, '\\.')}\\) jobtitle "${title}"`));
  expect(step(7)).toMatch(new RegExp(`Now in HubSpot: company \\d+ \\(.+\\) city "${city}"`));
  const written = (crm: string, property: string) =>
    query<{ changes: string }>(db, "SELECT changes FROM audit_log WHERE crm = ? AND operation = 'update' AND outcome = 'done'", crm).map((row) => JSON.parse(row.changes)[property]?.new);
  expect(written('dynamics', 'jobtitle')).toContain(title);
  expect(written('hubspot', 'city')).toContain(city);
  expect(queryOne(db, 'SELECT city FROM dynamics_companies WHERE id = ?', accountId)).toEqual({ city });

  // Both CRMs change one job title differently: under conflict: manual the run opens a conflict, exit 3 as planned.
  const both = /In HubSpot: contact (\d+) \(.+?\) jobtitle "[^"]*" → "([^"]+)"; in Dynamics 365: the same person's jobtitle → "([^"]+)"/.exec(step(8));
  expect(both, step(8)).not.toBeNull();
  const [, hubspotId, hubspotTitle, dynamicsTitle] = both!;
  expect(step(9)).toContain('(exit 3): expected here, not a failure of the demo');
  expect(step(9)).toMatch(/contacts \(two_way\)\s+partial[^\n]+\n[^\n]+\n[^\n]+\n\s+1 conflict open \(1 new; crmsync conflicts\)/);
  expect(step(10)).toContain('$ crmsync conflicts\n');
  const [conflict] = tableAfter(step(10), ['id', 'object', 'hubspot id', 'dynamics 365 id', 'field', 'base', 'hubspot value', 'hubspot changed', 'dynamics 365 value', 'dynamics 365 changed', 'opened']);
  expect([conflict[0], conflict[1], conflict[2], conflict[4], conflict[6], conflict[8]]).toEqual(['1', 'contacts', hubspotId, 'jobtitle', hubspotTitle, dynamicsTitle]);
  expect(step(11)).toContain('$ crmsync conflicts resolve 1 --use hubspot');
  expect(step(11)).toContain(`chose HubSpot's value "${hubspotTitle}"; the next --two-way run writes it to Dynamics 365`);
  expect(step(12)).toMatch(new RegExp(`Now in HubSpot: contact ${hubspotId} .+ jobtitle "${hubspotTitle}"\\nNow in Dynamics 365: contact ${conflict[3]} .+ jobtitle "${hubspotTitle}"`));
  expect(step(12)).toContain(`jobtitle is "${hubspotTitle}" in both CRMs; no conflicts open`);
  expect(query(db, 'SELECT resolution, resolved_value, closed_at IS NOT NULL AS closed FROM conflicts')).toEqual([{ resolution: 'hubspot', resolved_value: JSON.stringify(hubspotTitle), closed: 1 }]);

  // serve in the demo's process: a job title changed through HubSpot's API arrives by webhook, in the store and in Dynamics 365, with no poll.
  expect(step(13)).toContain('$ crmsync serve --objects contacts,companies --poll 1h');
  const change = /in HubSpot, through its API: contact (\d+) \(.+?\) jobtitle "[^"]*" → "([^"]+)"/.exec(step(13));
  expect(change, step(13)).not.toBeNull();
  const [, hookedId, hookedTitle] = change!;
  const arrival = new RegExp(
    `Arrived by webhook, no poll: jobtitle "${hookedTitle}" in the local store after (\\d+\\.\\d\\d) s and in Dynamics 365 contact ([0-9a-f-]{36}) \\(.+?\\) after (\\d+\\.\\d\\d) s \\(read back by run (\\d+), sync_mode webhook\\)`,
  ).exec(step(13));
  expect(arrival, step(13)).not.toBeNull();
  const [, localDelay, hookedTwin, twinDelay, readBackRun] = arrival!;
  expect(Number(localDelay)).toBeLessThanOrEqual(Number(twinDelay));
  expect(Number(twinDelay)).toBeLessThan(30);
  expect(queryOne(db, 'SELECT crm_source, sync_mode, status FROM sync_history WHERE id = ?', Number(readBackRun))).toEqual({ crm_source: 'two_way', sync_mode: 'webhook', status: 'success' });
  expect(query(db, "SELECT outcome, run_id FROM webhook_events WHERE source = 'hubspot' AND object_id = ?", hookedId)).toContainEqual({ outcome: 'applied', run_id: Number(readBackRun) });
  expect(queryOne(db, 'SELECT count(*) AS n FROM webhook_events WHERE processed_at IS NULL')).toEqual({ n: 0 });
  expect(queryOne(db, 'SELECT jobtitle FROM hubspot_contacts WHERE id = ?', hookedId)).toEqual({ jobtitle: hookedTitle });
  expect(queryOne(db, 'SELECT jobtitle FROM dynamics_contacts WHERE id = ?', hookedTwin)).toEqual({ jobtitle: hookedTitle });
});

/** The shipped mappings.yaml, edited, in a file of its own. */
function editedMappings(name: string, edit: (objects: Record<string, { two_way?: { fields: Record<string, object> } }>) => void): string {
  const document = yaml.load(readFileSync(join(ROOT, 'mappings.yaml'), 'utf8')) as { objects: Parameters<typeof edit>[0] };
  edit(document.objects);
  const path = join(dir, name);
  writeFileSync(path, yaml.dump(document));
  return path;
}

const ONE_WAY = editedMappings('one-way.yaml', (objects) => Object.values(objects).forEach((object) => delete object.two_way));
const NO_JOBTITLE = editedMappings('no-jobtitle.yaml', (objects) => (objects.contacts.two_way!.fields.jobtitle = { direction: 'none' }));

test.each([
  ['a --shared-seed of an object that cannot be shared', ['--shared-seed', 'contacts=30,deals=5'], '--shared-seed: "deals" cannot be shared: a shared seed has contacts and companies, e.g. contacts=500,companies=50'],
  ['a mappings.yaml without two_way: blocks', ['--config', ONE_WAY], `no object in ${ONE_WAY} has a two_way: block; add one to an object mapped for both CRMs`],
  [
    'a mappings.yaml that keeps job titles one way',
    ['--config', NO_JOBTITLE],
    `demo shows two-way sync with contacts' jobtitle: ${NO_JOBTITLE} must keep it alike both ways under objects.contacts.two_way (as the shipped mappings.yaml does)`,
  ],
])('the demo refuses %s: one line, exit 2, no database', async (_, args, message) => {
  const db = join(dir, `${Math.random()}.db`);
  const run = await crmsync(['demo', '--db', db, ...args], {}, { cwd: dir });
  expect(run.code).toBe(2);
  expect(run.stderr.trim().split('\n')).toEqual([`crmsync: ${message}`]);
  expect(run.stdout).toBe('');
  expect(existsSync(db)).toBe(false);
});
