import type { RequestMetrics } from './retry.js';

/**
 * What the engine asks a source for. A full read walks every record in the source's
 * natural order; an incremental one every record modified at or after `since`, in
 * ascending modification order.
 */
/** `pageSize` undefined: the largest page each endpoint allows. */
export type ReadPlan =
  | { mode: 'full'; pageSize?: number; resume?: unknown }
  | { mode: 'incremental'; since: string; pageSize?: number; resume?: unknown };

export interface SourcePage {
  records: unknown[];
  /** Serializable position after this page; passing it back as `resume` continues here. */
  checkpoint: unknown;
}

/** One object of one CRM, as the engine sees it. Clients implement it; engines consume it. */
export interface RecordSource {
  readonly name: string;
  readonly metrics: RequestMetrics;
  pages(plan: ReadPlan): AsyncGenerator<SourcePage>;
  /** The greatest modification time the source holds now, or null when it is empty. */
  latestModification(): Promise<string | null>;
  /** Every record deleted (archived) in the source, page by page. */
  deletedPages(pageSize: number | undefined, resume?: unknown): AsyncGenerator<DeletedPage>;
  /** Reads records by id; ids not active in the source are absent from the result. */
  readByIds(ids: string[]): Promise<unknown[]>;
}

export interface DeletedPage {
  deletions: { sourceId: string; deletedAt: string }[];
  checkpoint: unknown;
}
