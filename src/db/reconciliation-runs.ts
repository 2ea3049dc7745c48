import { and, count, desc, eq } from 'drizzle-orm';
import type { Store } from './database.js';
import { reconciliationRuns } from './tables.js';

export type ReconciliationRow = typeof reconciliationRuns.$inferSelect;
export type ReconciliationStatus = 'clean' | 'drift' | 'fixed' | 'failed';

/** What a finished reconciliation found and did, as its row keeps it. */
export interface ReconciliationOutcome {
  status: ReconciliationStatus;
  sourceRecords?: number;
  localRecords?: number;
  missing: number;
  gone: number;
  stale: number;
  pairsCompared?: number;
  pairDrift: number;
  pairFields?: Record<string, number>;
  fixed: number;
  fixRunId?: number | null;
  pairRunId?: number | null;
  requests: number;
  error?: string;
}

const now = () => new Date().toISOString();

/** reconciliation_runs: one row per `crmsync reconcile`, opened when it starts and closed when it ends. */
export class ReconciliationRuns {
  constructor(private readonly store: Store) {}

  begin(objectType: string, source: string, fix: boolean): number {
    const [row] = this.store.orm.insert(reconciliationRuns).values({ objectType, source, fix, startedAt: now(), status: 'running' }).returning({ id: reconciliationRuns.id }).all();
    return row.id;
  }

  finish(id: number, outcome: ReconciliationOutcome): void {
    const { pairFields, error, ...counts } = outcome;
    this.store.orm
      .update(reconciliationRuns)
      .set({ ...counts, pairFields: pairFields === undefined ? null : JSON.stringify(pairFields), error: error ?? null, endedAt: now() })
      .where(eq(reconciliationRuns.id, id))
      .run();
  }

  /** The latest reconciliations, newest first, of one object and CRM or all; and how many there are in all. */
  list(filter: { objectType?: string; source?: string; limit: number }): { rows: ReconciliationRow[]; total: number } {
    const where = and(
      filter.objectType ? eq(reconciliationRuns.objectType, filter.objectType) : undefined,
      filter.source ? eq(reconciliationRuns.source, filter.source) : undefined,
    );
    const rows = this.store.orm.select().from(reconciliationRuns).where(where).orderBy(desc(reconciliationRuns.id)).limit(filter.limit).all();
    const [{ total }] = this.store.orm.select({ total: count() }).from(reconciliationRuns).where(where).all();
    return { rows, total };
  }
}
