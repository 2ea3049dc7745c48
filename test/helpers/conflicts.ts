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

export const SAMPLE_GUIDS = ['3f2504e0-4f89-41d3-9a0c-0305e82c3301', '3f2504e0-4f89-41d3-9a0c-0305e82c3302'];

/**
 * Conflicts as two-way runs leave them, stored in this order: the phone of contact
 * `contactIds[0]` (opened last), its jobtitle, a company's industry (opened first, a
 * Dataverse choice on that side) and the lastname of `contactIds[1]`, already resolved.
 */
export function sampleConflicts(contactIds: string[]): StoredConflict[] {
  return [
    {
      hubspotId: contactIds[0],
      dynamicsId: SAMPLE_GUIDS[0],
      field: 'phone',
      base: null,
      hubspot: '+442071234567',
      hubspotChangedAt: '2026-03-02T09:15:00.000Z',
      dynamics: null,
      openedAt: '2026-03-02T10:00:00.000Z',
    },
    {
      hubspotId: contactIds[0],
      dynamicsId: SAMPLE_GUIDS[0],
      field: 'jobtitle',
      base: 'Engineer',
      hubspot: 'Senior Engineer',
      hubspotChangedAt: '2026-03-01T08:00:00.000Z',
      dynamics: 'Lead Engineer',
      dynamicsChangedAt: '2026-03-01T08:30:00.000Z',
      openedAt: '2026-03-01T10:00:00.000Z',
    },
    { object: 'companies', hubspotId: '9001', dynamicsId: SAMPLE_GUIDS[1], field: 'industry', hubspot: 'COMPUTER_SOFTWARE', dynamics: 100000001, openedAt: '2026-02-28T10:00:00.000Z' },
    {
      hubspotId: contactIds[1],
      dynamicsId: null,
      field: 'lastname',
      hubspot: 'Lovelace',
      dynamics: 'King',
      openedAt: '2026-02-01T10:00:00.000Z',
      resolved: { at: '2026-02-02T10:00:00.000Z', resolution: 'hubspot', value: 'Lovelace' },
    },
  ];
}

/** An open conflict stored by storeConflict with this id, as ConflictRepository and `conflicts --json` give it. */
export function asListed(conflict: StoredConflict, id: number): Record<string, unknown> {
  const object = conflict.object ?? 'contacts';
  return {
    id,
    object,
    linkId: `${object}:${conflict.hubspotId ?? conflict.dynamicsId}`,
    hubspotId: conflict.hubspotId,
    dynamicsId: conflict.dynamicsId,
    field: conflict.field,
    hasBaseValue: conflict.base !== undefined,
    baseValue: conflict.base ?? null,
    hubspotValue: conflict.hubspot,
    hubspotChangedAt: conflict.hubspotChangedAt ?? null,
    dynamicsValue: conflict.dynamics,
    dynamicsChangedAt: conflict.dynamicsChangedAt ?? null,
    openedAt: conflict.openedAt,
    runId: 1,
    resolvedAt: null,
    resolution: null,
    resolvedValue: null,
    closedAt: null,
  };
}
