import type { RequestMetrics } from './http/retry.js';

/**
 * What the engine asks a source for. A full read walks every record in the source's
 * natural order; an incremental one every record modified at or after `since`, in
 * ascending modification order; a change read every change after a delta link (sources
 * with change tracking).
 * `pageSize` undefined: the largest page each endpoint allows.
 */
export type ReadPlan =
  | { mode: 'full'; pageSize?: number; resume?: unknown }
  | { mode: 'incremental'; since: string; pageSize?: number; resume?: unknown }
  | { mode: 'changes'; deltaLink: string; pageSize?: number; resume?: unknown };

export interface Deletion {
  sourceId: string;
  deletedAt: string;
}

export interface SourcePage {
  records: unknown[];
  /** Records deleted in the source (change reads). */
  deletions?: Deletion[];
  /** Serializable position after this page; passing it back as `resume` continues here. */
  checkpoint: unknown;
  /** On the last page of a change-tracked read: where the next change read starts. */
  deltaLink?: string;
}

/** One object of one CRM, as the engine sees it. Clients implement it; engines consume it. */
export interface RecordSource {
  /** As stored in sync_history.crm_source: hubspot, dynamics. */
  readonly name: string;
  /** As users know it: HubSpot, Dynamics 365. */
  readonly label: string;
  readonly metrics: RequestMetrics;
  pages(plan: ReadPlan): AsyncGenerator<SourcePage>;
  /** The greatest modification time the source holds now, or null when it is empty. */
  latestModification(): Promise<string | null>;
  /** Whether full reads return a delta link and change reads are possible. */
  readonly tracksChanges: boolean;
  /**
   * Every record deleted (archived) in the source, page by page. A source without such a
   * list learns of deletions from change reads, and from what a full read no longer sees.
   */
  deletedPages?(pageSize: number | undefined, resume?: unknown): AsyncGenerator<DeletedPage>;
  /** Reads records by id; ids not active in the source are absent from the result. */
  readByIds?(ids: string[]): Promise<unknown[]>;
}

export interface DeletedPage {
  deletions: Deletion[];
  checkpoint: unknown;
}

/** A delta link too old to use: the source wants a full read. */
export class ChangesExpiredError extends Error {}

/** A request started ahead of need: if the consumer stops early, its failure is nobody's concern. */
export function prefetch<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
