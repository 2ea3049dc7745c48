import type { ObjectMapping } from '../../config/load.js';
import type { Deletion, RecordVersion } from '../../records.js';
import type { ReadPlan, RecordSource, SourcePage } from '../crm.js';
import { prefetch } from '../http/request.js';
import type { DynamicsClient, ODataPage } from './client.js';

/** Ids per query of a read by id: each is a GUID in the $filter, and the URL must stay short. */
const IDS_PER_QUERY = 50;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A change read lists a deleted row as {"@odata.context": "…#contacts/$deletedEntity", "id": "<guid>", "reason": "deleted"}. */
function isDeletedEntity(row: Record<string, unknown>): boolean {
  const context = row['@odata.context'];
  return typeof context === 'string' && context.endsWith('/$deletedEntity');
}

/**
 * Reads one Dataverse table (entity set). Every read pages by following @odata.nextLink
 * unchanged, whose paging cookie stays valid while rows change; the link is the
 * checkpoint a resumed run continues from.
 *
 * With change tracking, a full read asks for `odata.track-changes` and ends with a delta
 * link; the next run reads the changes after it (creates, updates and deletions) and gets
 * the next link. Without it, incremental reads filter and sort on the modification time,
 * like HubSpot's, and deletions are found only by full reads.
 */
export class DynamicsReader implements RecordSource {
  readonly tracksChanges: boolean;

  constructor(
    private readonly client: DynamicsClient,
    private readonly object: ObjectMapping,
  ) {
    this.tracksChanges = object.changeTracking;
  }

  get metrics() {
    return this.client.metrics;
  }

  async latestModification(): Promise<string | null> {
    const { remoteName: entitySet, modifiedProperty } = this.object;
    const url = this.client.collectionUrl(entitySet, { $select: modifiedProperty, $orderby: `${modifiedProperty} desc`, $top: '1' });
    const page = await this.client.page(`latest change in ${entitySet}`, url, { maxPageSize: 1 });
    const latest = page.value[0]?.[modifiedProperty];
    return typeof latest === 'string' ? new Date(latest).toISOString() : null;
  }

  /**
   * Dataverse has no batch read: rows by id come from a $filter of `key eq <guid>` terms
   * joined with `or`. A row deleted meanwhile is simply not among them.
   */
  async readByIds(ids: string[]): Promise<unknown[]> {
    const { remoteName: entitySet, properties, primaryKey } = this.object;
    // Every row's key is a GUID, written unquoted in a filter; anything else matches no row.
    const guids = ids.filter((id) => GUID.test(id));
    const rows: unknown[] = [];
    for (let start = 0; start < guids.length; start += IDS_PER_QUERY) {
      const $filter = guids
        .slice(start, start + IDS_PER_QUERY)
        .map((id) => `${primaryKey} eq ${id}`)
        .join(' or ');
      let link: string | undefined = this.client.collectionUrl(entitySet, { $select: properties.join(','), $filter });
      while (link) {
        const page: ODataPage = await this.client.page(`read ${entitySet} by id`, link);
        rows.push(...page.value);
        link = page.nextLink;
      }
    }
    return rows;
  }

  /**
   * Every row's key and modification time: a query that selects only those two columns,
   * in pages of up to 5,000 rows (the most Dataverse serves), following @odata.nextLink.
   */
  async *listVersions(pageSize?: number): AsyncGenerator<RecordVersion[]> {
    const { remoteName: entitySet, primaryKey, modifiedProperty } = this.object;
    const fetchPage = (link: string) => this.client.page(`list ids of ${entitySet}`, link, { maxPageSize: pageSize });
    let next: Promise<ODataPage> | undefined = fetchPage(this.client.collectionUrl(entitySet, { $select: `${primaryKey},${modifiedProperty}` }));
    while (next) {
      const page: ODataPage = await next;
      next = page.nextLink ? prefetch(fetchPage(page.nextLink)) : undefined;
      yield page.value.map((row) => {
        const modified = row[modifiedProperty];
        return { id: String(row[primaryKey]), modifiedAt: typeof modified === 'string' ? new Date(modified).toISOString() : null };
      });
    }
  }

  async *pages(plan: ReadPlan): AsyncGenerator<SourcePage> {
    const { remoteName: entitySet, properties, modifiedProperty, primaryKey } = this.object;
    const $select = properties.join(',');
    let url: string;
    let trackChanges = false;
    if (plan.mode === 'changes') {
      url = plan.deltaLink;
      trackChanges = true;
    } else if (plan.mode === 'full') {
      trackChanges = this.tracksChanges;
      // Change tracking refuses $orderby; without it Dataverse orders by the primary key anyway.
      url = this.client.collectionUrl(entitySet, { $select });
    } else {
      // Dataverse date-time literals are unquoted ISO-8601.
      url = this.client.collectionUrl(entitySet, {
        $select,
        $filter: `${modifiedProperty} ge ${plan.since}`,
        $orderby: `${modifiedProperty} asc,${primaryKey} asc`,
      });
    }
    if (typeof plan.resume === 'string') url = plan.resume;

    const operation = `${plan.mode === 'changes' ? 'changes in' : 'read'} ${entitySet}`;
    const fetchPage = (link: string) => this.client.page(operation, link, { maxPageSize: plan.pageSize, trackChanges });
    let next: Promise<ODataPage> | undefined = fetchPage(url);
    while (next) {
      const page: ODataPage = await next;
      // The next page is requested while this one is transformed and saved.
      next = page.nextLink ? prefetch(fetchPage(page.nextLink)) : undefined;
      const records: unknown[] = [];
      const deletions: Deletion[] = [];
      // Dataverse does not say when a row was deleted: the time the change was read stands in.
      const readAt = new Date().toISOString();
      for (const row of page.value) {
        if (isDeletedEntity(row)) deletions.push({ sourceId: String(row.id), deletedAt: readAt });
        else records.push(row);
      }
      yield { records, deletions, checkpoint: page.nextLink ?? null, deltaLink: page.nextLink ? undefined : page.deltaLink };
    }
  }
}
