/**
 * What the two-way command-line tests check after a run: both emulators' records, the
 * database file, the pairs the run linked, and the bookkeeping tables (outbox, audit_log,
 * sync_history) that make a run safe to kill and to repeat.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { DynamicsEmulator } from '@crmsync/emulators/dynamics';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { twoWayObjects } from '../../src/config/load.js';
import { matchKey } from '../../src/processors/match-key.js';
import { fieldParser } from '../../src/processors/field-types.js';
import { query } from './db.js';
import { dynamicsEnvOf } from './dynamics.js';
import { hubspotEnvOf } from './emulator.js';
import { config } from './engine.js';

export interface EmulatorPair {
  hubspot: HubSpotEmulator;
  dynamics: DynamicsEmulator;
}

/** Both CRMs' settings and the database, as the command line reads them. */
export const twoWayEnvOf = (pair: EmulatorPair, db: string): Record<string, string> => ({ ...hubspotEnvOf(pair.hubspot, db), ...dynamicsEnvOf(pair.dynamics) });

/** An object of mappings.yaml with a two_way: block: its two mappings and its rules. */
export function twoWayEntry(object: string) {
  const [entry] = twoWayObjects(config, [object]);
  return { hubspot: entry.hubspot!, dynamics: entry.dynamics!, twoWay: entry.twoWay! };
}

/** Every record of both emulators' contacts and companies, archived ones too, as text that changes with any value. */
export function emulatorState({ hubspot, dynamics }: EmulatorPair): string {
  return JSON.stringify({
    contacts: hubspot.store.all('contacts', { includeArchived: true }),
    companies: hubspot.store.all('companies', { includeArchived: true }),
    dynamicsContacts: dynamics.store.all('contacts'),
    accounts: dynamics.store.all('accounts'),
  });
}

/**
 * The database file and its write-ahead log, each as a hash of its bytes ('absent' when there
 * is none), and the names of the files beside it. The -shm index is left out: any reader,
 * this test's too, rewrites it.
 */
export function fileState(path: string): { hash: string; wal: string; files: string[] } {
  const hash = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'absent');
  const files = readdirSync(dirname(path)).filter((name) => name.startsWith(basename(path))).sort();
  return { hash: hash(path), wal: hash(`${path}-wal`), files };
}

/** Requests that carried writes, answered by each emulator so far: HubSpot's batch writes, Dataverse's $batch requests. */
export function writeRequests({ hubspot, dynamics }: EmulatorPair): { hubspot: number; dynamics: number } {
  const sum = (routes: Record<string, number>, isWrite: (route: string) => boolean) => Object.entries(routes).reduce((total, [route, n]) => total + (isWrite(route) ? n : 0), 0);
  return {
    hubspot: sum(hubspot.stats.byRoute, (route) => !route.startsWith('GET ') && !/\/(batch\/read|search)$/.test(route)),
    dynamics: sum(dynamics.stats.byRoute, (route) => /^POST \S+\/\$batch$/.test(route)),
  };
}

/** Record ids by normalised match key, on each side; records without a match value under null. */
export function recordsByKey({ hubspot, dynamics }: EmulatorPair, object: string): Map<string | null, { hubspot: string[]; dynamics: string[] }> {
  const { hubspot: h, dynamics: d, twoWay } = twoWayEntry(object);
  const byKey = new Map<string | null, { hubspot: string[]; dynamics: string[] }>();
  const add = (key: string | null, side: 'hubspot' | 'dynamics', id: string) => {
    if (!byKey.has(key)) byKey.set(key, { hubspot: [], dynamics: [] });
    byKey.get(key)![side].push(id);
  };
  for (const record of hubspot.store.all(h.remoteName)) add(matchKey(record.properties[twoWay.match.hubspot.property], twoWay.match.normalize), 'hubspot', record.id);
  for (const row of dynamics.store.all(d.remoteName)) add(matchKey(row[twoWay.match.dynamics.property], twoWay.match.normalize), 'dynamics', String(row[d.primaryKey]));
  return byKey;
}

/** What a first two-way run of `object` pairs, by the match keys both emulators hold now. */
export function expectedPairing(pair: EmulatorPair, object: string): { linked: number; created: { hubspot: number; dynamics: number }; unmatched: number } {
  // HubSpot holds one contact per email: records sharing one on the Dataverse side cannot all get a twin there.
  const uniqueInHubspot = twoWayEntry(object).hubspot.remoteName === 'contacts';
  const expected = { linked: 0, created: { hubspot: 0, dynamics: 0 }, unmatched: 0 };
  for (const [key, { hubspot, dynamics }] of recordsByKey(pair, object)) {
    if (key === null) expected.unmatched += hubspot.length + dynamics.length;
    else if (hubspot.length === 1 && dynamics.length === 1) expected.linked++;
    else if (dynamics.length === 0) expected.created.dynamics += hubspot.length;
    else if (hubspot.length > 0 || (uniqueInHubspot && dynamics.length > 1)) expected.unmatched += hubspot.length + dynamics.length;
    else expected.created.hubspot += dynamics.length;
  }
  return expected;
}

export interface LinkedPair {
  id: string;
  hubspotId: string;
  dynamicsId: string;
}

export const links = (db: string, object: string): LinkedPair[] =>
  query<LinkedPair>(db, 'SELECT id, hubspot_id AS hubspotId, dynamics_id AS dynamicsId FROM entity_links WHERE object_type = ? ORDER BY id', object);

/**
 * Linked pairs whose records, as the emulators hold them, differ on a field kept alike both
 * ways (compared as the field's type reads them: formatting is no difference), or whose
 * record is missing from its CRM.
 */
export function differingPairs({ hubspot, dynamics }: EmulatorPair, db: string, object: string): string[] {
  const { hubspot: h, dynamics: d, twoWay } = twoWayEntry(object);
  const problems: string[] = [];
  for (const link of links(db, object)) {
    const record = link.hubspotId === null ? undefined : hubspot.store.get(h.remoteName, link.hubspotId);
    const row = link.dynamicsId === null ? undefined : dynamics.store.get(d.remoteName, link.dynamicsId);
    if (!record || !row) {
      problems.push(`${link.id}: HubSpot ${link.hubspotId} ${record ? 'found' : 'missing'}, Dataverse ${link.dynamicsId} ${row ? 'found' : 'missing'}`);
      continue;
    }
    for (const field of twoWay.fields.filter((candidate) => candidate.direction === 'both')) {
      const ours = fieldParser({ type: field.hubspot.type }, true)(record.properties[field.hubspot.property] ?? null);
      const theirs = fieldParser({ type: field.dynamics.type }, true)(row[field.dynamics.property] ?? null);
      const [a, b] = [ours.ok ? ours.value : `unreadable ${String(record.properties[field.hubspot.property])}`, theirs.ok ? theirs.value : `unreadable ${String(row[field.dynamics.property])}`];
      if (a !== b) problems.push(`${link.id} ${field.column}: HubSpot ${link.hubspotId} ${JSON.stringify(a)}, Dataverse ${link.dynamicsId} ${JSON.stringify(b)}`);
    }
  }
  return problems;
}

/**
 * What must hold of the bookkeeping once runs have ended cleanly: no run left `running`, no
 * write left pending, and an audit row for every write that was answered: one 'done' or
 * 'exists' for each write done, one 'stale' for each write refused as stale, none for a
 * write that was never answered; and no audit row without its write.
 */
export function bookkeepingProblems(db: string): string[] {
  const problems: string[] = [];
  for (const row of query<{ id: number; sync_type: string; crm_source: string }>(db, "SELECT id, sync_type, crm_source FROM sync_history WHERE status = 'running'")) {
    problems.push(`run ${row.id} (${row.sync_type}, ${row.crm_source}) still running`);
  }
  for (const row of query<{ id: number; operation: string; crm: string }>(db, "SELECT id, operation, crm FROM outbox WHERE status = 'pending'")) {
    problems.push(`outbox ${row.id} (${row.crm} ${row.operation}) still pending`);
  }
  const audits = query<{ outbox_id: number | null; outcome: string; link_id: string; crm: string; operation: string }>(db, 'SELECT outbox_id, outcome, link_id, crm, operation FROM audit_log');
  const writes = new Map(query<{ id: number; status: string; link_id: string; crm: string; operation: string }>(db, 'SELECT id, status, link_id, crm, operation FROM outbox').map((row) => [row.id, row]));
  const answered = new Map<number, string[]>();
  for (const audit of audits) {
    const write = audit.outbox_id === null ? undefined : writes.get(audit.outbox_id);
    if (!write || write.link_id !== audit.link_id || write.crm !== audit.crm || write.operation !== audit.operation) {
      problems.push(`audit row of outbox ${audit.outbox_id} (${audit.crm} ${audit.operation} of ${audit.link_id}) has no such write`);
      continue;
    }
    answered.set(write.id, [...(answered.get(write.id) ?? []), audit.outcome]);
  }
  for (const write of writes.values()) {
    const outcomes = answered.get(write.id) ?? [];
    const finals = outcomes.filter((outcome) => outcome === 'done' || outcome === 'exists').length;
    const stale = outcomes.filter((outcome) => outcome === 'stale').length;
    const expected = write.status === 'done' ? [1, 0] : write.status === 'stale' ? [0, 1] : [0, 0];
    if (finals !== expected[0] || stale !== expected[1]) problems.push(`outbox ${write.id} (${write.status} ${write.crm} ${write.operation}) audited as ${outcomes.join(', ') || 'nothing'}`);
  }
  return problems;
}
