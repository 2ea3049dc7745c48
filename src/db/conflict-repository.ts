import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { CRM_NAMES, type SourceName } from '../config/sources.js';
import { UsageError } from '../errors.js';
import type { Store } from './database.js';
import { conflicts, entityLinks } from './tables.js';

/** How a conflict was settled: conflicts.resolution. */
export type Resolution = SourceName | 'value' | 'agreed';

/** What a person chose: one CRM's value as that CRM holds it, or a value given outright. */
export type ConflictChoice = { use: SourceName } | { value: string };

/** A field both CRMs changed to different values, with the pair of records it belongs to. Values are parsed from their JSON. */
export interface Conflict {
  id: number;
  object: string;
  linkId: string;
  /** The pair's record in each CRM; null while its twin's creation is on its way. */
  hubspotId: string | null;
  dynamicsId: string | null;
  field: string;
  /** Whether the pair had agreed on a value of the field before; baseValue is that value (null when there was none). */
  hasBaseValue: boolean;
  baseValue: unknown;
  hubspotValue: unknown;
  hubspotChangedAt: string | null;
  dynamicsValue: unknown;
  dynamicsChangedAt: string | null;
  openedAt: string;
  runId: number;
  resolvedAt: string | null;
  resolution: Resolution | null;
  /** The chosen value; null while open. */
  resolvedValue: unknown;
  /** When the chosen value was written where it was missing. */
  closedAt: string | null;
}

const SELECTION = {
  id: conflicts.id,
  object: conflicts.objectType,
  linkId: conflicts.linkId,
  hubspotId: entityLinks.hubspotId,
  dynamicsId: entityLinks.dynamicsId,
  field: conflicts.field,
  baseValue: conflicts.baseValue,
  hubspotValue: conflicts.hubspotValue,
  hubspotChangedAt: conflicts.hubspotChangedAt,
  dynamicsValue: conflicts.dynamicsValue,
  dynamicsChangedAt: conflicts.dynamicsChangedAt,
  openedAt: conflicts.openedAt,
  runId: conflicts.runId,
  resolvedAt: conflicts.resolvedAt,
  resolution: conflicts.resolution,
  resolvedValue: conflicts.resolvedValue,
  closedAt: conflicts.closedAt,
};

function selectConflicts(store: Store) {
  return store.orm.select(SELECTION).from(conflicts).leftJoin(entityLinks, eq(entityLinks.id, conflicts.linkId)).$dynamic();
}

type ConflictRow = ReturnType<ReturnType<typeof selectConflicts>['all']>[number];

/**
 * The conflicts two-way runs open. A conflict is open until a person resolves it (or the
 * two CRMs come to agree); a two-way run then writes the chosen value where it is missing
 * and closes it.
 */
export class ConflictRepository {
  constructor(private readonly store: Store) {}

  /** Open conflicts, of one object or all, oldest first. */
  listOpen(objectType?: string): Conflict[] {
    const open = isNull(conflicts.resolvedAt);
    const rows = selectConflicts(this.store)
      .where(objectType === undefined ? open : and(open, eq(conflicts.objectType, objectType)))
      .orderBy(asc(conflicts.openedAt), asc(conflicts.id))
      .all();
    return rows.map(toConflict);
  }

  get(id: number): Conflict | undefined {
    const row = selectConflicts(this.store).where(eq(conflicts.id, id)).get();
    return row && toConflict(row);
  }

  /**
   * Settles an open conflict with a person's choice. An unknown id or a conflict already
   * resolved is a UsageError, and nothing is written.
   */
  resolve(id: number, choice: ConflictChoice, at = new Date()): Conflict {
    return this.store.sqlite.transaction(() => {
      const conflict = this.get(id);
      if (!conflict) throw new UsageError(`no conflict with id ${id}; crmsync conflicts lists the open ones`);
      if (conflict.resolvedAt !== null) throw new UsageError(`conflict ${id} is already resolved (${describeResolution(conflict)}, at ${conflict.resolvedAt}); crmsync conflicts lists the open ones`);
      this.store.orm
        .update(conflicts)
        .set({ resolvedAt: at.toISOString(), ...chosen(choice) })
        .where(and(eq(conflicts.id, id), isNull(conflicts.resolvedAt)))
        .run();
      return this.get(id)!;
    }).immediate();
  }
}

/** The resolution and resolved_value of a choice: a CRM's value is copied as that CRM's column holds it. */
function chosen(choice: ConflictChoice): { resolution: Resolution; resolvedValue: string | SQL } {
  if ('value' in choice) return { resolution: 'value', resolvedValue: JSON.stringify(choice.value === '' ? null : choice.value) };
  return { resolution: choice.use, resolvedValue: sql`${choice.use === 'hubspot' ? conflicts.hubspotValue : conflicts.dynamicsValue}` };
}

/** "HubSpot's value chosen", "a value given outright", "the two CRMs came to agree" */
function describeResolution(conflict: Pick<Conflict, 'resolution'>): string {
  switch (conflict.resolution) {
    case 'hubspot':
    case 'dynamics':
      return `${CRM_NAMES[conflict.resolution]}'s value chosen`;
    case 'value':
      return 'a value given outright';
    case 'agreed':
      return 'the two CRMs came to agree';
    default:
      return String(conflict.resolution);
  }
}

function toConflict(row: ConflictRow): Conflict {
  const parse = (text: string | null) => (text === null ? null : (JSON.parse(text) as unknown));
  return {
    ...row,
    hasBaseValue: row.baseValue !== null,
    baseValue: parse(row.baseValue),
    hubspotValue: parse(row.hubspotValue),
    dynamicsValue: parse(row.dynamicsValue),
    resolution: row.resolution as Resolution | null,
    resolvedValue: parse(row.resolvedValue),
  };
}
