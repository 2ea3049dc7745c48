import type Database from 'better-sqlite3';
import type { SourceName } from '../config/sources.js';
import type { FieldValue } from '../processors/field-types.js';
import type { ManualConflict, Resolution } from '../processors/pair-plan.js';
import type { Store } from './database.js';
import { preparedOnce } from './prepared.js';

export type MatchedBy = 'match_key' | 'created_in_hubspot' | 'created_in_dynamics';

export interface LinkRow {
  id: string;
  objectType: string;
  hubspotId: string | null;
  dynamicsId: string | null;
  matchedBy: MatchedBy;
  matchKey: string | null;
  runId: number;
  createdAt: string;
}

export type NewConflict = ManualConflict & { linkId: string };

const LINK_COLUMNS = `id, object_type AS objectType, hubspot_id AS hubspotId, dynamics_id AS dynamicsId, matched_by AS matchedBy,
  match_key AS matchKey, run_id AS runId, created_at AS createdAt`;
const ID_COLUMN: Record<SourceName, string> = { hubspot: 'hubspot_id', dynamics: 'dynamics_id' };
const now = () => new Date().toISOString();

/**
 * The pairs of one object (entity_links), what each field last agreed on (field_state) and
 * the conflicts waiting on a person: everything the two-way merge keeps between runs.
 */
export class LinkRepository {
  private readonly statement: (sql: string) => Database.Statement;

  constructor(
    store: Store,
    readonly objectType: string,
  ) {
    this.statement = preparedOnce(store.sqlite);
  }

  /** Links by the id of one side's record; ids without a link are absent. */
  bySide(side: SourceName, ids: Iterable<string>): Map<string, LinkRow> {
    const found = new Map<string, LinkRow>();
    const query = this.statement(`SELECT ${LINK_COLUMNS} FROM entity_links WHERE object_type = ? AND ${ID_COLUMN[side]} = ?`);
    for (const id of ids) {
      const row = query.get(this.objectType, id) as LinkRow | undefined;
      if (row) found.set(id, row);
    }
    return found;
  }

  byIds(ids: Iterable<string>): LinkRow[] {
    const query = this.statement(`SELECT ${LINK_COLUMNS} FROM entity_links WHERE id = ?`);
    return [...ids].flatMap((id) => (query.get(id) as LinkRow | undefined) ?? []);
  }

  all(): LinkRow[] {
    return this.statement(`SELECT ${LINK_COLUMNS} FROM entity_links WHERE object_type = ? ORDER BY created_at, id`).all(this.objectType) as LinkRow[];
  }

  /** Every record id of one side that is linked (or has its twin on the way). */
  linkedIds(side: SourceName): Set<string> {
    const rows = this.statement(`SELECT ${ID_COLUMN[side]} AS id FROM entity_links WHERE object_type = ? AND ${ID_COLUMN[side]} IS NOT NULL`).all(this.objectType);
    return new Set((rows as { id: string }[]).map((row) => row.id));
  }

  insert(link: Omit<LinkRow, 'objectType' | 'createdAt'>): LinkRow {
    const row: LinkRow = { ...link, objectType: this.objectType, createdAt: now() };
    this.statement(
        `INSERT INTO entity_links (id, object_type, hubspot_id, dynamics_id, matched_by, match_key, run_id, created_at)
         VALUES (@id, @objectType, @hubspotId, @dynamicsId, @matchedBy, @matchKey, @runId, @createdAt)`,
      )
      .run(row);
    return row;
  }

  /** The link holding `recordId` on `side`, if any. */
  holder(side: SourceName, recordId: string): LinkRow | undefined {
    return this.bySide(side, [recordId]).get(recordId);
  }

  /** A twin's creation is done: the link learns its id. */
  setId(linkId: string, side: SourceName, recordId: string): void {
    this.statement(`UPDATE entity_links SET ${ID_COLUMN[side]} = ? WHERE id = ?`).run(recordId, linkId);
  }

  /** A link whose twin could not be made: the record is unmatched again. */
  remove(linkId: string): void {
    this.statement('DELETE FROM field_state WHERE link_id = ?').run(linkId);
    this.statement('DELETE FROM entity_links WHERE id = ?').run(linkId);
  }

  /** The field state of each link: column → value last agreed, in HubSpot's terms. */
  fieldStates(linkIds: Iterable<string>): Map<string, Map<string, FieldValue>> {
    const query = this.statement('SELECT field, value FROM field_state WHERE link_id = ?');
    const states = new Map<string, Map<string, FieldValue>>();
    for (const id of linkIds) {
      const rows = query.all(id) as { field: string; value: string }[];
      states.set(id, new Map(rows.map((row) => [row.field, JSON.parse(row.value) as FieldValue])));
    }
    return states;
  }

  saveAgreed(linkId: string, agreed: Record<string, FieldValue>, runId: number): void {
    const upsert = this.statement(
      `INSERT INTO field_state (link_id, field, value, agreed_at, run_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (link_id, field) DO UPDATE SET value = excluded.value, agreed_at = excluded.agreed_at, run_id = excluded.run_id
       WHERE field_state.value <> excluded.value`,
    );
    const time = now();
    for (const [field, value] of Object.entries(agreed)) upsert.run(linkId, field, JSON.stringify(value), time, runId);
  }

  /** Fields of each link with a conflict no one has resolved yet. */
  openConflicts(linkIds: Iterable<string>): Map<string, Set<string>> {
    const query = this.statement('SELECT field FROM conflicts WHERE link_id = ? AND resolved_at IS NULL');
    const open = new Map<string, Set<string>>();
    for (const id of linkIds) {
      const fields = (query.all(id) as { field: string }[]).map((row) => row.field);
      if (fields.length > 0) open.set(id, new Set(fields));
    }
    return open;
  }

  /** Conflicts a person resolved whose choice is not yet written: link → field → resolution. */
  resolutions(): Map<string, Map<string, Resolution>> {
    const rows = this.statement(`SELECT id, link_id AS linkId, field, resolution, resolved_value AS value FROM conflicts
                WHERE object_type = ? AND resolved_at IS NOT NULL AND closed_at IS NULL`)
      .all(this.objectType) as { id: number; linkId: string; field: string; resolution: string; value: string | null }[];
    const byLink = new Map<string, Map<string, Resolution>>();
    for (const row of rows) {
      const use = row.resolution === 'hubspot' || row.resolution === 'dynamics' ? row.resolution : 'value';
      const resolution: Resolution = { conflictId: row.id, use, ...(use === 'value' && { value: row.value === null ? null : JSON.parse(row.value) }) };
      if (!byLink.has(row.linkId)) byLink.set(row.linkId, new Map());
      byLink.get(row.linkId)!.set(row.field, resolution);
    }
    return byLink;
  }

  /** Opens a conflict, or brings the open one of the field up to date. Returns whether it is new. */
  openConflict(conflict: NewConflict, runId: number): boolean {
    const values = {
      linkId: conflict.linkId,
      objectType: this.objectType,
      field: conflict.field,
      base: conflict.base === undefined ? null : JSON.stringify(conflict.base),
      hubspot: JSON.stringify(conflict.hubspot),
      hubspotChangedAt: conflict.hubspotChangedAt,
      dynamics: JSON.stringify(conflict.dynamics),
      dynamicsChangedAt: conflict.dynamicsChangedAt,
      runId,
      now: now(),
    };
    const updated = this.statement(
        `UPDATE conflicts SET hubspot_value = @hubspot, hubspot_changed_at = @hubspotChangedAt, dynamics_value = @dynamics,
           dynamics_changed_at = @dynamicsChangedAt
         WHERE link_id = @linkId AND field = @field AND closed_at IS NULL AND resolved_at IS NULL`,
      )
      .run(values);
    if (updated.changes > 0) return false;
    const inserted = this.statement(
        `INSERT INTO conflicts (link_id, object_type, field, base_value, hubspot_value, hubspot_changed_at, dynamics_value, dynamics_changed_at, opened_at, run_id)
         VALUES (@linkId, @objectType, @field, @base, @hubspot, @hubspotChangedAt, @dynamics, @dynamicsChangedAt, @now, @runId)
         ON CONFLICT DO NOTHING`,
      )
      .run(values);
    return inserted.changes > 0;
  }

  /** The sides of an open conflict agree again: it is settled without anyone choosing. */
  settleConflict(linkId: string, field: string, runId: number): void {
    const time = now();
    this.statement(
        `UPDATE conflicts SET resolved_at = ?, resolution = 'agreed', closed_at = ?, closed_run_id = ?
         WHERE link_id = ? AND field = ? AND closed_at IS NULL AND resolved_at IS NULL`,
      )
      .run(time, time, runId, linkId, field);
  }

  /** A person's choice is planned (the outbox delivers it): the conflict is closed. */
  closeConflict(conflictId: number, runId: number): void {
    this.statement('UPDATE conflicts SET closed_at = ?, closed_run_id = ? WHERE id = ? AND closed_at IS NULL').run(now(), runId, conflictId);
  }

  openConflictCount(): number {
    return (this.statement('SELECT count(*) AS n FROM conflicts WHERE object_type = ? AND resolved_at IS NULL').get(this.objectType) as { n: number }).n;
  }
}
