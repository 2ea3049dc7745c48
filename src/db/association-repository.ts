import type Database from 'better-sqlite3';
import type { Association } from '../records.js';
import type { Store } from './database.js';
import { emptyCounts, type PageCounts, type SyncHistoryRepository } from './sync-history.js';

/** Associations of one pair of objects (e.g. deals → contacts) from one source. */
export class AssociationRepository {
  private readonly existing: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly saveTx: Database.Transaction<(runId: number, fromIds: string[], found: Association[], checkpoint: unknown, watermark: string | null) => PageCounts>;

  constructor(
    private readonly store: Store,
    private readonly history: SyncHistoryRepository,
    private readonly source: string,
    private readonly fromObject: string,
    private readonly toObject: string,
  ) {
    const db = store.sqlite;
    this.existing = db.prepare(
      'SELECT to_id AS toId, type_id AS typeId FROM associations WHERE source = ? AND from_object = ? AND to_object = ? AND from_id = ?',
    );
    this.insert = db.prepare(
      `INSERT INTO associations (source, from_object, from_id, to_object, to_id, type_id, category, label, first_run_id)
       VALUES (@source, @fromObject, @fromId, @toObject, @toId, @typeId, @category, @label, @runId)
       ON CONFLICT DO UPDATE SET category = excluded.category, label = excluded.label`,
    );
    this.remove = db.prepare(
      'DELETE FROM associations WHERE source = ? AND from_object = ? AND to_object = ? AND from_id = ? AND to_id = ? AND type_id = ?',
    );
    this.saveTx = db.transaction((runId, fromIds, found, checkpoint, watermark) => this.write(runId, fromIds, found, checkpoint, watermark));
  }

  /**
   * Makes the stored associations of `fromIds` exactly `found`, in one transaction with the
   * run's counts and checkpoint. Rows that did not change are left alone.
   */
  replaceFor(runId: number, fromIds: string[], found: Association[], checkpoint: unknown, watermark: string | null): PageCounts {
    return this.saveTx.immediate(runId, fromIds, found, checkpoint, watermark);
  }

  private write(runId: number, fromIds: string[], found: Association[], checkpoint: unknown, watermark: string | null): PageCounts {
    const counts = emptyCounts();
    const key = (toId: string, typeId: number) => `${toId}\n${typeId}`;
    const byFrom = new Map<string, Association[]>();
    for (const association of found) byFrom.set(association.fromId, [...(byFrom.get(association.fromId) ?? []), association]);
    const ids = { source: this.source, fromObject: this.fromObject, toObject: this.toObject };
    for (const fromId of fromIds) {
      counts.processed++;
      const before = new Map((this.existing.all(this.source, this.fromObject, this.toObject, fromId) as { toId: string; typeId: number }[]).map((row) => [key(row.toId, row.typeId), row]));
      for (const association of byFrom.get(fromId) ?? []) {
        if (before.delete(key(association.toId, association.typeId))) {
          counts.unchanged++;
          continue;
        }
        this.insert.run({ ...ids, ...association, runId });
        counts.created++;
      }
      for (const gone of before.values()) {
        this.remove.run(this.source, this.fromObject, this.toObject, fromId, gone.toId, gone.typeId);
        counts.deleted++;
      }
    }
    this.history.recordPage(runId, counts, checkpoint, watermark);
    return counts;
  }

  /** Removes the associations of records no longer active locally (a full run's sweep). */
  removeOrphans(runId: number): number {
    const { changes } = this.store.sqlite
      .prepare(
        `DELETE FROM associations WHERE source = ? AND from_object = ? AND to_object = ? AND from_id NOT IN
           (SELECT source_id FROM records WHERE source = ? AND object_type = ? AND is_deleted = 0)`,
      )
      .run(this.source, this.fromObject, this.toObject, this.source, this.fromObject);
    if (changes > 0) this.history.recordPage(runId, { ...emptyCounts(), deleted: changes }, null, null);
    return changes;
  }

  /**
   * One page of the local active records of the "from" object modified at or after `since`
   * (all when null), oldest first, after `after` (keyset paging keeps memory flat however
   * many records there are).
   */
  fromRecords(since: string | null, limit: number, after?: { modifiedAt: string; sourceId: string }): { sourceId: string; modifiedAt: string }[] {
    return this.store.sqlite
      .prepare(
        `SELECT source_id AS sourceId, source_modified_at AS modifiedAt FROM records
         WHERE source = @source AND object_type = @objectType AND is_deleted = 0
           AND (@since IS NULL OR source_modified_at >= @since)
           AND (@afterModified IS NULL OR (source_modified_at, source_id) > (@afterModified, @afterId))
         ORDER BY source_modified_at, source_id LIMIT @limit`,
      )
      .all({ source: this.source, objectType: this.fromObject, since, limit, afterModified: after?.modifiedAt ?? null, afterId: after?.sourceId ?? null }) as {
      sourceId: string;
      modifiedAt: string;
    }[];
  }
}
