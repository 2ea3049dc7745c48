import type Database from 'better-sqlite3';
import type { WriteOutcome } from '../clients/crm.js';
import type { SourceName } from '../config/sources.js';
import type { FieldValue } from '../processors/field-types.js';
import type { CrmValue } from '../processors/merge.js';
import type { Store } from './database.js';
import { preparedOnce } from './prepared.js';

export type OutboxOperation = 'create' | 'update' | 'delete';
export type OutboxStatus = 'pending' | 'done' | 'dead' | 'superseded' | 'stale';

export interface OutboxRow {
  id: number;
  runId: number;
  linkId: string;
  objectType: string;
  crm: SourceName;
  operation: OutboxOperation;
  recordId: string | null;
  properties: Record<string, CrmValue>;
  agreed: Record<string, FieldValue>;
  previous: Record<string, unknown>;
  etag: string | null;
  idProperty: string | null;
  matchKey: string | null;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
}

export type NewWrite = Pick<OutboxRow, 'runId' | 'linkId' | 'crm' | 'operation' | 'recordId' | 'properties' | 'agreed' | 'previous' | 'etag' | 'idProperty' | 'matchKey'>;

/**
 * A write that keeps failing for passing reasons waits longer each time, from half a minute
 * doubling to an hour, with jitter so that many waiting writes do not come due together.
 */
const FIRST_RETRY_MS = 30_000;
const LONGEST_RETRY_MS = 60 * 60_000;
/** Attempts before a write failing for passing reasons is given up on (dead-lettered). */
export const MAX_ATTEMPTS = 10;

const COLUMNS = `id, run_id AS runId, link_id AS linkId, object_type AS objectType, crm, operation, record_id AS recordId, properties, agreed,
  previous, etag, id_property AS idProperty, match_key AS matchKey, status, attempts, next_attempt_at AS nextAttemptAt, last_error AS lastError`;
const now = () => new Date().toISOString();

/** When a write that failed for the `attempts`-th time comes due again. */
export function nextAttempt(attempts: number, from = Date.now(), random = Math.random): string {
  const delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
  return new Date(from + delay * (0.5 + random())).toISOString();
}

/**
 * Writes planned for the CRMs (outbox) and what became of each sent one (audit_log). A write
 * is stored in the transaction that plans it, before it is sent; its row records every
 * attempt, and each answer adds an audit row. audit_log is only ever appended to.
 */
export class Outbox {
  private readonly db: Database.Database;
  private readonly statement: (sql: string) => Database.Statement;

  constructor(
    store: Store,
    readonly objectType: string,
  ) {
    this.db = store.sqlite;
    this.statement = preparedOnce(store.sqlite);
  }

  /** Stores a write; a pending one of the same record and CRM is superseded, since this plan is newer. */
  add(write: NewWrite): number {
    this.statement(`UPDATE outbox SET status = 'superseded', finished_at = ? WHERE link_id = ? AND crm = ? AND status = 'pending' AND operation <> 'create'`)
      .run(now(), write.linkId, write.crm);
    const time = now();
    const result = this.statement(
        `INSERT INTO outbox (run_id, link_id, object_type, crm, operation, record_id, properties, agreed, previous, etag, id_property, match_key,
           status, attempts, next_attempt_at, created_at)
         VALUES (@runId, @linkId, @objectType, @crm, @operation, @recordId, @properties, @agreed, @previous, @etag, @idProperty, @matchKey,
           'pending', 0, @time, @time)`,
      )
      .run({
        ...write,
        objectType: this.objectType,
        properties: JSON.stringify(write.properties),
        agreed: JSON.stringify(write.agreed),
        previous: JSON.stringify(write.previous),
        time,
      });
    return Number(result.lastInsertRowid);
  }

  /** Pending writes whose time has come, oldest first; `all` takes those still waiting out a backoff too. */
  due(options: { all?: boolean } = {}): OutboxRow[] {
    const rows = this.statement(`SELECT ${COLUMNS} FROM outbox WHERE object_type = ? AND status = 'pending' AND (? = 1 OR next_attempt_at <= ?) ORDER BY id`)
      .all(this.objectType, options.all ? 1 : 0, now()) as RawRow[];
    return rows.map(parseRow);
  }

  /** Links with a pending create, and the CRM their twin is on its way to. */
  pendingCreates(): Map<string, SourceName> {
    const rows = this.statement(`SELECT link_id AS id, crm FROM outbox WHERE object_type = ? AND status = 'pending' AND operation = 'create'`).all(this.objectType);
    return new Map((rows as { id: string; crm: SourceName }[]).map((row) => [row.id, row.crm]));
  }

  /** Counted before the writes are sent, so that a crash mid-request leaves them marked as maybe sent. */
  markAttempted(ids: number[]): void {
    const mark = this.statement('UPDATE outbox SET attempts = attempts + 1 WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => mark.run(id)))();
  }

  finish(id: number, status: Exclude<OutboxStatus, 'pending'>, error?: string): void {
    this.statement('UPDATE outbox SET status = ?, finished_at = ?, last_error = coalesce(?, last_error) WHERE id = ?').run(status, now(), error ?? null, id);
  }

  /** A write never sent after all (held back for a quota): its attempt is not counted, and it stays due. */
  release(row: OutboxRow, reason: string): void {
    this.statement('UPDATE outbox SET attempts = max(attempts - 1, 0), last_error = ? WHERE id = ?').run(reason, row.id);
  }

  /** A passing failure: the write comes due again after a backoff, or is given up on after MAX_ATTEMPTS. */
  retryLater(row: OutboxRow, error: string): 'pending' | 'dead' {
    const attempts = Math.max(row.attempts, 1);
    if (attempts >= MAX_ATTEMPTS) {
      this.finish(row.id, 'dead', `gave up after ${attempts} attempts: ${error}`);
      return 'dead';
    }
    this.statement('UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ?').run(nextAttempt(attempts), error, row.id);
    return 'pending';
  }

  audit(row: OutboxRow, outcome: WriteOutcome, recordId: string | null): void {
    const changes = changesOf(row);
    const error = 'error' in outcome ? outcome.error : null;
    this.statement(
        `INSERT INTO audit_log (run_id, outbox_id, link_id, object_type, crm, record_id, operation, changes, outcome, http_status, error, request_id, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(row.runId, row.id, row.linkId, this.objectType, row.crm, recordId, row.operation, JSON.stringify(changes), outcome.status,
        outcome.status === 'refused' ? (outcome.httpStatus ?? null) : null, error, outcome.requestId ?? null, now());
  }

  /** How many writes the run planned. */
  plannedBy(runId: number): number {
    return (this.statement('SELECT count(*) AS n FROM outbox WHERE object_type = ? AND run_id = ?').get(this.objectType, runId) as { n: number }).n;
  }

  /** Links with a write waiting to be sent (pending). */
  waitingLinks(): Set<string> {
    const rows = this.statement(`SELECT DISTINCT link_id FROM outbox WHERE object_type = ? AND status = 'pending'`).pluck().all(this.objectType) as string[];
    return new Set(rows);
  }

  /**
   * Links with a write done after the last read that changed the record it went to: the
   * store still holds the record as it was before the write, until the next read brings
   * the write back. (A read that finds a record unchanged leaves its row alone, but a
   * write changes the record, so the read after it always rewrites the row.)
   */
  writtenSinceRead(): Set<string> {
    const rows = this.statement(
      `SELECT DISTINCT o.link_id FROM outbox o
       JOIN entity_links l ON l.id = o.link_id
       JOIN records r ON r.source = o.crm AND r.object_type = o.object_type
         AND r.source_id = CASE o.crm WHEN 'hubspot' THEN l.hubspot_id ELSE l.dynamics_id END
       JOIN sync_history h ON h.id = r.last_run_id
       WHERE o.object_type = ? AND o.status = 'done' AND o.finished_at > h.start_time`,
    )
      .pluck()
      .all(this.objectType) as string[];
    return new Set(rows);
  }

  counts(): { pending: number; dead: number } {
    const row = this.statement(`SELECT sum(status = 'pending') AS pending, sum(status = 'dead') AS dead FROM outbox WHERE object_type = ?`)
      .get(this.objectType) as { pending: number | null; dead: number | null };
    return { pending: row.pending ?? 0, dead: row.dead ?? 0 };
  }
}

/** What a write changes: property → the value the record held (null for a twin not yet there) and the value written. */
export function changesOf(row: Pick<OutboxRow, 'properties' | 'previous'>): Record<string, { old: unknown; new: unknown }> {
  return Object.fromEntries(Object.entries(row.properties).map(([property, value]) => [property, { old: row.previous[property] ?? null, new: value }]));
}

type RawRow = Omit<OutboxRow, 'properties' | 'agreed' | 'previous'> & { properties: string; agreed: string; previous: string };

function parseRow(row: RawRow): OutboxRow {
  return { ...row, properties: JSON.parse(row.properties), agreed: JSON.parse(row.agreed), previous: JSON.parse(row.previous) };
}

/** A write given up on: refused by its CRM, or failing for passing reasons until MAX_ATTEMPTS; as `crmsync history` lists it. */
export interface DeadLetter {
  id: number;
  objectType: string;
  /** The CRM the write was for. */
  crm: SourceName;
  operation: OutboxOperation;
  /** The record written; null for a create of a record whose id the CRM hands out (a HubSpot record). */
  recordId: string | null;
  /** A create's normalised match value (the email of a contact), which names the record it was for. */
  matchKey: string | null;
  finishedAt: string;
  reason: string | null;
}

/** Dead-lettered writes, newest first, of one object and one CRM or all; and how many there are in all. */
export function deadLetters(store: Store, filter: { objectType?: string; crm?: string; limit: number }): { rows: DeadLetter[]; total: number } {
  const where = `status = 'dead' AND (@objectType IS NULL OR object_type = @objectType) AND (@crm IS NULL OR crm = @crm)`;
  const params = { objectType: filter.objectType ?? null, crm: filter.crm ?? null };
  const rows = store.sqlite
    .prepare(
      `SELECT id, object_type AS objectType, crm, operation, record_id AS recordId, match_key AS matchKey, finished_at AS finishedAt, last_error AS reason
       FROM outbox WHERE ${where} ORDER BY finished_at DESC, id DESC LIMIT @limit`,
    )
    .all({ ...params, limit: filter.limit }) as DeadLetter[];
  const { total } = store.sqlite.prepare(`SELECT count(*) AS total FROM outbox WHERE ${where}`).get(params) as { total: number };
  return { rows, total };
}
