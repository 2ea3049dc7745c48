import type { Store } from '../../src/db/database.js';
import { conflicts, entityLinks } from '../../src/db/tables.js';

export interface StoredConflict {
  object?: string;
  hubspotId: string | null;
  dynamicsId: string | null;
  field: string;
  /** Values as the CRMs hold them; base undefined: the pair had agreed on no value yet. */
  base?: unknown;
  hubspot: unknown;
  hubspotChangedAt?: string | null;
  dynamics: unknown;
  dynamicsChangedAt?: string | null;
  openedAt: string;
  resolved?: { at: string; resolution: string; value: unknown };
}

/** Stores a pair of records (unless stored already) and a conflict on one of its fields, as a two-way run opens it; its id. */
export function storeConflict(store: Store, conflict: StoredConflict): number {
  const object = conflict.object ?? 'contacts';
  const linkId = `${object}:${conflict.hubspotId ?? conflict.dynamicsId}`;
  store.orm
    .insert(entityLinks)
    .values({ id: linkId, objectType: object, hubspotId: conflict.hubspotId, dynamicsId: conflict.dynamicsId, matchedBy: 'match_key', runId: 1, createdAt: conflict.openedAt })
    .onConflictDoNothing()
    .run();
  const [{ id }] = store.orm
    .insert(conflicts)
    .values({
      linkId,
      objectType: object,
      field: conflict.field,
      baseValue: conflict.base === undefined ? null : JSON.stringify(conflict.base),
      hubspotValue: JSON.stringify(conflict.hubspot),
      hubspotChangedAt: conflict.hubspotChangedAt ?? null,
      dynamicsValue: JSON.stringify(conflict.dynamics),
      dynamicsChangedAt: conflict.dynamicsChangedAt ?? null,
      openedAt: conflict.openedAt,
      runId: 1,
      resolvedAt: conflict.resolved?.at ?? null,
      resolution: conflict.resolved?.resolution ?? null,
      resolvedValue: conflict.resolved ? JSON.stringify(conflict.resolved.value) : null,
    })
    .returning({ id: conflicts.id })
    .all();
  return id;
}

/** A conflict's row as stored, its columns by their SQL names. */
export function conflictRow(store: Store, id: number): Record<string, unknown> | undefined {
  return store.sqlite.prepare('SELECT * FROM conflicts WHERE id = ?').get(id) as Record<string, unknown> | undefined;
}
