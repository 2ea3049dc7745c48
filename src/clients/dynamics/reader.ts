import type { ObjectMapping } from '../../config/load.js';
import type { DynamicsClient, ODataPage } from './client.js';
import { prefetch, type Deletion, type ReadPlan, type RecordSource, type SourcePage } from '../crm.js';

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
export class DynamicsSource implements RecordSource {
  readonly name = 'dynamics';
  readonly label = 'Dynamics 365';
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
