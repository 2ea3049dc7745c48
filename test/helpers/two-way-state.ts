import Database from 'better-sqlite3';
import type { SourceName } from '../../src/config/sources.js';
import type { SharedPerson, SharedSeed } from '@crmsync/emulators/hubspot';
import { query } from './db.js';
import type { EmulatorPair } from './two-way.js';

/** What two-way sync keeps, as its tables hold it: for tests to read after a run. */

export interface LinkRow {
  id: string;
  object_type: string;
  hubspot_id: string | null;
  dynamics_id: string | null;
  matched_by: string;
  match_key: string | null;
}

export interface OutboxRow {
  id: number;
  run_id: number;
  link_id: string;
  crm: SourceName;
  operation: string;
  record_id: string | null;
  properties: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
}

export interface AuditRow {
  run_id: number;
  outbox_id: number;
  link_id: string;
  object_type: string;
  crm: SourceName;
  record_id: string | null;
  operation: string;
  changes: string;
  outcome: string;
  http_status: number | null;
  error: string | null;
  request_id: string | null;
}

/** The Dataverse table of each object. */
export const TABLE: Record<string, string> = { contacts: 'contacts', companies: 'accounts' };

export const links = (db: string, object: string) => query<LinkRow>(db, 'SELECT * FROM entity_links WHERE object_type = ? ORDER BY id', object);
export const linkOfHubSpot = (db: string, object: string, id: string): LinkRow | undefined =>
  query<LinkRow>(db, 'SELECT * FROM entity_links WHERE object_type = ? AND hubspot_id = ?', object, id)[0];
export const outboxOf = (db: string, runId: number) => query<OutboxRow>(db, 'SELECT * FROM outbox WHERE run_id = ? ORDER BY id', runId);
export const auditOf = (db: string, runId: number) => query<AuditRow>(db, 'SELECT * FROM audit_log WHERE run_id = ? ORDER BY id', runId);

/** The value a link's field last agreed on (undefined: none). */
export function stateOf(db: string, link: string, field: string): unknown {
  const row = query<{ value: string }>(db, 'SELECT value FROM field_state WHERE link_id = ? AND field = ?', link, field)[0];
  return row && (JSON.parse(row.value) as unknown);
}

/** Runs a statement against the database file, as another command would. */
export function execute(db: string, sql: string, ...params: unknown[]): void {
  const handle = new Database(db);
  try {
    handle.prepare(sql).run(...params);
  } finally {
    handle.close();
  }
}

/** Requests that write, by CRM, as the emulators counted them: HubSpot's batch writes, Dataverse's writes inside and outside $batch. */
export function writeRequests(emulators: EmulatorPair): Record<SourceName, number> {
  const sum = (routes: Record<string, number>, written: RegExp) => Object.entries(routes).reduce((total, [route, count]) => total + (written.test(route) ? count : 0), 0);
  return {
    hubspot: sum(emulators.hubspot.stats.byRoute, /^(POST \/crm\/v3\/objects\/\{type\}\/batch\/(create|update|upsert|archive)|PATCH |DELETE |POST \/crm\/v3\/objects\/\{type\}$)/),
    dynamics: sum(emulators.dynamics.stats.byRoute, /^(\$batch: )?(PATCH|DELETE|POST) \/api\/data\/v9\.2\/(?!\$batch)/),
  };
}

/** Whether a person of the shared seed is in both CRMs. */
export const inBoth = (person: SharedPerson) => person.hubspot !== undefined && person.dynamics.length > 0;

/** People in both CRMs alike from the start: no differences, and not the one whose email Dataverse has twice. */
export const alikePeople = (seed: SharedSeed) => seed.people.filter((person) => person.index > 0 && inBoth(person) && person.differences.length === 0);

export const hubspotIdOf = (emulators: EmulatorPair, email: string) => emulators.hubspot.store.findBy('contacts', 'email', email)?.id;

/** A person's HubSpot id and Dataverse row id. */
export const idsOf = (emulators: EmulatorPair, person: SharedPerson) => ({ hubspot: hubspotIdOf(emulators, person.email)!, dynamics: person.dynamics[0]!.id });
