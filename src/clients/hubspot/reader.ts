import type { FullRead } from '../../config/env.js';
import type { ObjectMapping } from '../../config/load.js';
import type { RecordVersion } from '../../records.js';
import type { DeletedPage, ReadPlan, RecordSource, SourcePage } from '../crm.js';
import { prefetch } from '../http/request.js';
import { isBothEndsCursor, readFromBothEnds, startingCursor } from './both-ends.js';
import type { HubSpotClient, HubSpotPage, SearchFilter, SearchRequest } from './client.js';
import { HUBSPOT_BATCH_LIMIT, HUBSPOT_LIST_LIMIT, HUBSPOT_SEARCH_LIMIT } from './limits.js';
import { RECORD_ID_PROPERTY } from './properties.js';

/** HubSpot accepts at most 100 values in an IN / NOT_IN filter. */
const MAX_NOT_IN_VALUES = 100;

interface HubSpotRecord {
  id: string;
  properties: Record<string, string | null>;
}

/** Where an incremental read stands: every record modified before `since` is read, as are `seen` at `since`. */
interface SearchCursor {
  since: number;
  seen: string[];
  /** Set while walking records that all share the modification time `since`, by id. */
  tiesAfterId?: string;
}

/**
 * Reads one HubSpot object. Full reads page through the objects list endpoint (ordered by
 * id, with a cursor that stays valid while records change) and, at the same time, search
 * from the highest id down (both-ends.ts). Incremental reads use the
 * search API with keyset paging on the modification property instead of `after` offsets:
 * a record modified mid-run moves to the end of a sorted result and would shift offsets
 * (skipping a record), and offsets stop at HubSpot's 10,000-result cap. Each query starts
 * again at the last modification time seen, so neither problem can occur.
 */
export class HubSpotReader implements RecordSource {
  /** HubSpot has no change tracking: incremental reads search on the modification time. */
  readonly tracksChanges = false;

  constructor(
    private readonly client: HubSpotClient,
    private readonly object: ObjectMapping,
    private readonly fullRead: FullRead = 'both',
  ) {}

  get metrics() {
    return this.client.metrics;
  }

  pages(plan: ReadPlan): AsyncGenerator<SourcePage> {
    if (plan.mode === 'changes') throw new Error('HubSpot has no change tracking');
    return plan.mode === 'full' ? this.fullPages(plan.pageSize, plan.resume) : this.searchPages(plan.since, plan.pageSize, plan.resume as SearchCursor | undefined);
  }

  /** A read resumes as it began: from both ends, or down the list alone (a string cursor). */
  private async *fullPages(pageSize: number | undefined, resume: unknown): AsyncGenerator<SourcePage> {
    if (!isBothEndsCursor(resume) && (this.fullRead === 'list' || typeof resume === 'string')) {
      yield* this.listPages(pageSize, resume as string | undefined);
      return;
    }
    const searchLimit = Math.min(pageSize ?? HUBSPOT_SEARCH_LIMIT, HUBSPOT_SEARCH_LIMIT);
    const listLimit = Math.min(pageSize ?? HUBSPOT_LIST_LIMIT, HUBSPOT_LIST_LIMIT);
    const { remoteName, properties } = this.object;
    const requests = {
      list: (after: string | undefined) => this.client.listPage(remoteName, { limit: listLimit, after, properties }),
      searchBelow: (below: number) =>
        this.client.search(remoteName, {
          filterGroups: [{ filters: [{ propertyName: RECORD_ID_PROPERTY, operator: 'LT', value: String(below) }] }],
          sorts: [{ propertyName: RECORD_ID_PROPERTY, direction: 'DESCENDING' }],
          properties,
          limit: searchLimit,
        }),
      searchLimit,
    };
    if (isBothEndsCursor(resume)) {
      yield* readFromBothEnds(requests, resume);
      return;
    }
    // The list's first page does not wait for the search that places the ceiling: searches
    // of other objects may be queued before it.
    const firstListPage = prefetch(requests.list(undefined));
    yield* readFromBothEnds(requests, startingCursor(await this.searchCeiling()), firstListPage);
  }

  /**
   * Where the search walk starts: the highest id of a record last modified before the
   * overlap (incremental.overlap: how late HubSpot's search index may be). Ids grow with
   * creation, so every lower id was created before that too and is searchable; a record
   * created since, and one whose latest change the index does not show yet, lie above it
   * or are found in their earlier form. Ids above it are the list's. 0: nothing is.
   */
  private async searchCeiling(): Promise<number> {
    const { remoteName, modifiedProperty, overlapMs } = this.object;
    const page = await this.client.search(remoteName, {
      filterGroups: [{ filters: [{ propertyName: modifiedProperty, operator: 'LT', value: String(Date.now() - overlapMs) }] }],
      sorts: [{ propertyName: RECORD_ID_PROPERTY, direction: 'DESCENDING' }],
      properties: [RECORD_ID_PROPERTY],
      limit: 1,
    });
    const top = page.results[0] as HubSpotRecord | undefined;
    return top ? Number(top.id) : 0;
  }

  async latestModification(): Promise<string | null> {
    const page = await this.client.search(this.object.remoteName, {
      filterGroups: [],
      sorts: [{ propertyName: this.object.modifiedProperty, direction: 'DESCENDING' }],
      properties: [this.object.modifiedProperty],
      limit: 1,
    });
    const latest = (page.results[0] as HubSpotRecord | undefined)?.properties[this.object.modifiedProperty];
    return latest ? new Date(toMillis(latest)).toISOString() : null;
  }

  /**
   * Archiving a record in HubSpot does not change its modification time, so a search for
   * changes never sees it. The list endpoint with archived=true does, ordered by id and
   * not by archivedAt, so every run walks all of it (one request per 100 archived records).
   */
  async *deletedPages(pageSize: number | undefined, resume?: unknown): AsyncGenerator<DeletedPage> {
    for await (const page of this.listPages(pageSize, resume as string | undefined, { properties: [RECORD_ID_PROPERTY], archived: true })) {
      const deletions = (page.records as { id: string; archivedAt?: string; updatedAt?: string }[]).map((record) => ({
        sourceId: String(record.id),
        deletedAt: new Date(record.archivedAt ?? record.updatedAt ?? Date.now()).toISOString(),
      }));
      yield { deletions, checkpoint: page.checkpoint };
    }
  }

  /** Ids are the object's keys: a mapping keyed on a property with unique values reads by that property. */
  async readByIds(ids: string[]): Promise<unknown[]> {
    const { remoteName, properties, primaryKey } = this.object;
    const idProperty = primaryKey === RECORD_ID_PROPERTY ? undefined : primaryKey;
    const records: unknown[] = [];
    for (let start = 0; start < ids.length; start += HUBSPOT_BATCH_LIMIT) {
      records.push(...(await this.client.batchRead(remoteName, ids.slice(start, start + HUBSPOT_BATCH_LIMIT), properties, { idProperty })));
    }
    return records;
  }

  /**
   * Every record's id and modification time through the search API, which serves 200
   * records a request where the list endpoint serves 100, with only the modification
   * property (and a key other than the record id). Keyset paging, sorted by id and asking
   * each time for ids after the last one seen, starts every query afresh: HubSpot's cap of
   * 10,000 results per query never applies, and records changed meanwhile are neither
   * skipped nor repeated. A page without a next one ends the listing, so no request is spent
   * on an empty page. Searches see a write only a few seconds after it is made.
   */
  async *listVersions(pageSize?: number): AsyncGenerator<RecordVersion[]> {
    const { remoteName, modifiedProperty, primaryKey } = this.object;
    const limit = Math.min(pageSize ?? HUBSPOT_SEARCH_LIMIT, HUBSPOT_SEARCH_LIMIT);
    const keyProperty = primaryKey === RECORD_ID_PROPERTY ? undefined : primaryKey;
    const fetchPage = (afterId?: string) =>
      this.client.search(remoteName, {
        filterGroups: afterId === undefined ? [] : [{ filters: [{ propertyName: RECORD_ID_PROPERTY, operator: 'GT', value: afterId }] }],
        sorts: [{ propertyName: RECORD_ID_PROPERTY, direction: 'ASCENDING' }],
        properties: keyProperty ? [modifiedProperty, keyProperty] : [modifiedProperty],
        limit,
      });
    let next: Promise<HubSpotPage> | undefined = fetchPage();
    while (next) {
      const page: HubSpotPage = await next;
      const results = page.results as HubSpotRecord[];
      const lastId = results.at(-1)?.id;
      next = page.after !== undefined && results.length === limit && lastId !== undefined ? prefetch(fetchPage(String(lastId))) : undefined;
      yield results.flatMap((record) => {
        const id = keyProperty ? record.properties[keyProperty] : String(record.id);
        const modified = toMillis(record.properties[modifiedProperty]);
        return id ? [{ id, modifiedAt: Number.isNaN(modified) ? null : new Date(modified).toISOString() }] : [];
      });
    }
  }

  private async *listPages(
    pageSize: number | undefined,
    resumeAfter?: string,
    query: { properties: string[]; archived?: boolean } = { properties: this.object.properties },
  ): AsyncGenerator<SourcePage> {
    const fetchPage = (after?: string) =>
      this.client.listPage(this.object.remoteName, { limit: Math.min(pageSize ?? HUBSPOT_LIST_LIMIT, HUBSPOT_LIST_LIMIT), after, ...query });
    let next: Promise<HubSpotPage> | undefined = fetchPage(resumeAfter);
    while (next) {
      const page: HubSpotPage = await next;
      // The next page is requested while this one is transformed and saved.
      next = page.after ? prefetch(fetchPage(page.after)) : undefined;
      yield { records: page.results, checkpoint: page.after ?? null };
    }
  }

  private async *searchPages(since: string, pageSize: number | undefined, resume?: SearchCursor): AsyncGenerator<SourcePage> {
    const limit = Math.min(pageSize ?? HUBSPOT_SEARCH_LIMIT, HUBSPOT_SEARCH_LIMIT);
    const modified = this.object.modifiedProperty;
    const fetchPage = (at: SearchCursor) => this.client.search(this.object.remoteName, this.searchRequest(at, limit));
    let cursor: SearchCursor = resume ?? { since: Date.parse(since), seen: [] };
    let next: Promise<HubSpotPage> | undefined = fetchPage(cursor);
    while (next) {
      const results = (await next).results as HubSpotRecord[];
      const seen = new Set(cursor.seen);
      const fresh = results.filter((record) => !seen.has(record.id));
      const exhausted = results.length < limit;

      if (cursor.tiesAfterId !== undefined) {
        // Walking ties by id: continue after the last id, or move past this timestamp.
        const last = results.at(-1)?.id;
        cursor = exhausted || !last ? { since: cursor.since + 1, seen: [] } : { ...cursor, tiesAfterId: last };
      } else if (exhausted) {
        cursor = nextCursor(cursor, results, modified);
        next = undefined;
        yield { records: fresh, checkpoint: cursor };
        return;
      } else if (toMillis(results.at(-1)!.properties[modified]) === cursor.since) {
        // A whole page shares one modification time: page through those ties by id.
        cursor = { ...cursor, tiesAfterId: '0' };
        next = fetchPage(cursor);
        continue;
      } else {
        cursor = nextCursor(cursor, results, modified);
      }
      // The next query is sent while this page is transformed and saved.
      next = prefetch(fetchPage(cursor));
      yield { records: fresh, checkpoint: cursor };
    }
  }

  private searchRequest(cursor: SearchCursor, limit: number): SearchRequest {
    const modified = this.object.modifiedProperty;
    const properties = this.object.properties;
    if (cursor.tiesAfterId !== undefined) {
      return {
        filterGroups: [
          {
            filters: [
              { propertyName: modified, operator: 'EQ', value: String(cursor.since) },
              { propertyName: RECORD_ID_PROPERTY, operator: 'GT', value: cursor.tiesAfterId },
            ],
          },
        ],
        sorts: [{ propertyName: RECORD_ID_PROPERTY, direction: 'ASCENDING' }],
        properties,
        limit,
      };
    }
    const filters: SearchFilter[] = [{ propertyName: modified, operator: 'GTE', value: String(cursor.since) }];
    // Leave out the records already read at the boundary timestamp, so each page brings
    // `limit` new records; past NOT_IN's value limit they are read again and skipped here.
    if (cursor.seen.length > 0 && cursor.seen.length <= MAX_NOT_IN_VALUES) {
      filters.push({ propertyName: RECORD_ID_PROPERTY, operator: 'NOT_IN', values: cursor.seen });
    }
    return { filterGroups: [{ filters }], sorts: [{ propertyName: modified, direction: 'ASCENDING' }], properties, limit };
  }
}

/** Moves the cursor to the last modification time in the page, remembering the ids read at it. */
function nextCursor(cursor: SearchCursor, results: HubSpotRecord[], modified: string): SearchCursor {
  if (results.length === 0) return cursor;
  const last = toMillis(results.at(-1)!.properties[modified]);
  const atLast = results.filter((record) => toMillis(record.properties[modified]) === last).map((record) => record.id);
  return { since: last, seen: last === cursor.since ? [...new Set([...cursor.seen, ...atLast])] : atLast };
}

/** HubSpot datetimes arrive as ISO-8601 or as epoch milliseconds. */
function toMillis(value: string | null | undefined): number {
  if (!value) return Number.NaN;
  return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
}
