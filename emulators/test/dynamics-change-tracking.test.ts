/**
 * Change tracking (`Prefer: odata.track-changes`): the initial read and its deltaLink,
 * creates/updates/deletes in deltas, paged deltas, replayable links, expired delta
 * tokens and the options change tracking refuses.
 */
import { afterEach, describe, expect, it, test } from 'vitest';
import type { DynamicsEmulator } from '../src/dynamics/index.js';
import { call, closeAll, dynamics, fakeClock, headerValues, readAll } from './dynamics-helpers.js';

afterEach(closeAll);

const TRACK = { Prefer: 'odata.track-changes' };
const tracked = (pageSize: number) => ({ Prefer: `odata.track-changes, odata.maxpagesize=${pageSize}` });
const PROJECTS = { entitySet: 'new_projects', logicalName: 'new_project', primaryKey: 'new_projectid', changeTracking: false, attributes: { new_name: 'string' as const } };

/** The initial read: all rows and the deltaLink of its last page. */
async function initialRead(emu: DynamicsEmulator, path = 'contacts?$select=firstname,lastname', pageSize = 5000) {
  const result = await readAll(emu, path, { headers: tracked(pageSize) });
  const deltaLink = result.last.body['@odata.deltaLink'] as string;
  return { ...result, deltaLink };
}

const idsOf = (rows: any[]) => rows.map((row) => row.contactid ?? row.id);

describe('initial read', () => {
  it('pages through every row and ends with a deltaLink carrying the version the read began at', async () => {
    const clock = fakeClock(Date.UTC(2026, 2, 14, 9, 5, 7));
    const emu = await dynamics({ seed: { contacts: 250 }, now: clock.now });
    const version = emu.store.version;
    const { rows, pages, deltaLink } = await initialRead(emu, 'contacts?$select=firstname,lastname', 100);
    expect(pages).toHaveLength(3);
    for (const page of pages) expect(headerValues(page, 'preference-applied').sort()).toEqual(['odata.maxpagesize=100', 'odata.track-changes']);
    expect(pages.slice(0, 2).every((page) => page.body['@odata.deltaLink'] === undefined && page.body['@odata.nextLink'] !== undefined)).toBe(true);
    expect(pages[0]?.body['@odata.nextLink']).toContain('istracking=%22True%22');
    expect(deltaLink).toBe(`${emu.apiUrl}/contacts?$select=firstname,lastname&$deltatoken=${version}%2103%2f14%2f2026%2009%3a05%3a07`);
    expect(new Set(idsOf(rows)).size).toBe(250);
    expect(idsOf(rows)).toEqual(idsOf(emu.store.all('contacts')));
  });

  it('without $select, the deltaLink carries only the token', async () => {
    const emu = await dynamics({ seed: { accounts: 3 } });
    const reply = await call(emu, 'GET', 'accounts', { headers: TRACK });
    expect(reply.body.value).toHaveLength(3);
    expect(reply.body['@odata.deltaLink']).toMatch(new RegExp(`^${emu.apiUrl.replace(/[.]/g, '\\.')}/accounts\\?\\$deltatoken=\\d+%21`));
  });
});

describe('deltas', () => {
  it('returns creates and updates (current values, by version), then deletions, and a new deltaLink', async () => {
    const emu = await dynamics({ seed: { contacts: 20 } });
    const { deltaLink } = await initialRead(emu);
    const [a, b, c, d] = emu.store.all('contacts').map((row) => row.contactid as string);
    const posted = await call(emu, 'POST', 'contacts', { json: { firstname: 'Ada', lastname: 'Lovelace' } });
    const createdId = /contacts\((.*)\)$/.exec(posted.headers['odata-entityid'] as string)?.[1] as string;
    emu.store.update('contacts', a as string, { firstname: 'First' });
    emu.store.update('contacts', a as string, { firstname: 'Second' });
    await call(emu, 'PATCH', `contacts(${b})`, { json: { lastname: 'Patched' } });
    emu.store.delete('contacts', c as string);
    // Created and deleted before the client looked: it still hears of the deletion.
    const ephemeral = emu.store.create('contacts', { lastname: 'Gone' }).contactid as string;
    emu.store.delete('contacts', ephemeral);
    await call(emu, 'DELETE', `contacts(${d})`);

    const delta = await call(emu, 'GET', deltaLink, { headers: TRACK });
    expect(delta.status).toBe(200);
    expect(delta.body['@odata.context']).toBe(`${emu.apiUrl}/$metadata#contacts(firstname,lastname)/$delta`);
    const deleted = (id: string) => ({ '@odata.context': `${emu.apiUrl}/$metadata#contacts/$deletedEntity`, id, reason: 'deleted' });
    const current = (id: string) => {
      const row = emu.store.get('contacts', id)!;
      return { '@odata.etag': row['@odata.etag'], firstname: row.firstname, lastname: row.lastname, contactid: id };
    };
    expect(delta.body.value).toEqual([current(createdId), current(a as string), current(b as string), deleted(c as string), deleted(ephemeral), deleted(d as string)]);
    expect(delta.body.value[1].firstname).toBe('Second');
    expect(delta.body.value[2].lastname).toBe('Patched');

    // The new link has nothing yet; the old one can be replayed.
    const next = delta.body['@odata.deltaLink'] as string;
    expect(next).not.toBe(deltaLink);
    const quiet = await call(emu, 'GET', next);
    expect(quiet.body.value).toEqual([]);
    expect(quiet.body['@odata.deltaLink']).toEqual(expect.stringContaining('$deltatoken='));
    const replay = await call(emu, 'GET', deltaLink, { headers: TRACK });
    expect(replay.body.value).toEqual(delta.body.value);

    emu.store.update('contacts', createdId, { lastname: 'Byron' });
    const after = await call(emu, 'GET', next);
    expect(after.body.value).toEqual([current(createdId)]);
  });

  it('brings rows changed while the initial read was paging in the next delta', async () => {
    const emu = await dynamics({ seed: { contacts: 300 } });
    const all = emu.store.all('contacts').map((row) => row.contactid as string);
    const { deltaLink, rows } = await readAll(emu, 'contacts?$select=lastname', {
      headers: tracked(100),
      between: (page) => {
        if (page !== 1) return;
        emu.store.update('contacts', all[5] as string, { lastname: 'Already read' });
        emu.store.update('contacts', all[250] as string, { lastname: 'Not read yet' });
      },
    }).then((result) => ({ ...result, deltaLink: result.last.body['@odata.deltaLink'] as string }));
    expect(rows.find((row) => row.contactid === all[250])?.lastname).toBe('Not read yet');
    const delta = await call(emu, 'GET', deltaLink);
    expect(delta.body.value.map((row: any) => [row.contactid, row.lastname])).toEqual([
      [all[5], 'Already read'],
      [all[250], 'Not read yet'],
    ]);
  });

  it('pages a large delta, keeping its position, and ends with a new deltaLink', async () => {
    const emu = await dynamics({ seed: { contacts: 260 } });
    const { deltaLink } = await initialRead(emu);
    const ids = emu.store.all('contacts').map((row) => row.contactid as string);
    for (const id of ids.slice(0, 230)) emu.store.update('contacts', id, { jobtitle: 'Updated' });
    for (const id of ids.slice(230)) emu.store.delete('contacts', id);
    const pages = await readAll(emu, deltaLink, { headers: tracked(100) });
    expect(pages.pages.map((page) => page.body.value.length)).toEqual([100, 100, 60]);
    for (const page of pages.pages.slice(0, 2)) {
      expect(page.body['@odata.nextLink']).toContain('$deltatoken=');
      expect(page.body['@odata.deltaLink']).toBeUndefined();
    }
    const values = pages.rows;
    expect(values.slice(0, 230).map((row) => row.contactid).sort()).toEqual(ids.slice(0, 230).sort());
    expect(values.slice(230).map((row) => [row.id, row.reason])).toEqual(ids.slice(230).map((id) => [id, 'deleted']));
    expect((await call(emu, 'GET', pages.last.body['@odata.deltaLink'])).body.value).toEqual([]);
  });
});

describe('expiry and refusals', () => {
  it('expires delta tokens older than the retention period', async () => {
    const clock = fakeClock();
    const emu = await dynamics({ seed: { contacts: 5 }, now: clock.now, changeTrackingRetentionMs: 86_400_000 });
    const { deltaLink } = await initialRead(emu);
    clock.advance(86_400_000);
    // (A token a day old has expired too: ask for a new one.)
    expect((await call(emu, 'GET', deltaLink, { token: emu.issueToken() })).status).toBe(200);
    clock.advance(1_000);
    const expired = await call(emu, 'GET', deltaLink, { token: emu.issueToken() });
    expect(expired.status).toBe(400);
    expect(expired.body).toEqual({ error: { code: '0x80044352', message: 'Version stamp associated with the client has expired. Please perform a full sync.' } });
  });

  it('expireDeltaTokens() expires every token issued so far, not later ones', async () => {
    const emu = await dynamics({ seed: { contacts: 5 } });
    const { deltaLink: old } = await initialRead(emu);
    const { last } = await readAll(emu, old);
    emu.expireDeltaTokens();
    for (const link of [old, last.body['@odata.deltaLink']]) expect((await call(emu, 'GET', link)).body.error.code).toBe('0x80044352');
    const { deltaLink: fresh } = await initialRead(emu);
    expect((await call(emu, 'GET', fresh)).status).toBe(200);
  });

  test.each(['$filter=statecode eq 0', '$orderby=lastname', '$expand=parentcustomerid_account', '$top=5'])('refuses %s with change tracking', async (option) => {
    const emu = await dynamics({ seed: { contacts: 5 } });
    const name = option.split('=')[0];
    const message = `The "${name}" query parameter isn't supported when Change Tracking is enabled.`;
    const initial = await call(emu, 'GET', `contacts?$select=lastname&${option}`, { headers: TRACK });
    expect(initial.status).toBe(400);
    expect(initial.body.error).toEqual({ code: '0x80060888', message });
    const { deltaLink } = await initialRead(emu);
    expect((await call(emu, 'GET', `${deltaLink}&${option}`)).body.error.message).toBe(message);
  });

  it('refuses tables without change tracking', async () => {
    const emu = await dynamics({ entitySets: [PROJECTS] });
    const reply = await call(emu, 'GET', 'new_projects?$select=new_name', { headers: TRACK });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: { code: '0x80072491', message: "Entity new_project isn't enabled for change tracking." } });
    // Without the preference the table reads normally.
    expect((await call(emu, 'GET', 'new_projects')).status).toBe(200);
  });

  test.each([
    { name: 'garbage', token: 'not-a-token' },
    { name: 'no timestamp', token: '1234' },
    { name: 'a version from the future', token: '999999999!01/01/2026 00:00:00' },
    { name: 'an impossible date', token: '5!13/45/2026 00:00:00' },
  ])('a malformed delta token ($name) is a 400', async ({ token }) => {
    const emu = await dynamics({ seed: { contacts: 2 } });
    const reply = await call(emu, 'GET', `contacts?$deltatoken=${encodeURIComponent(token)}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toContain('delta token');
  });
});
