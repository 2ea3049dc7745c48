/** The CRMs crmsync reads from, as `--source` and sync_history.crm_source name them. */
export const SOURCES = ['hubspot', 'dynamics'] as const;
export type SourceName = (typeof SOURCES)[number];

/** The CRM on the other side of a two-way pair. */
export const otherSource = (side: SourceName): SourceName => (side === 'hubspot' ? 'dynamics' : 'hubspot');

/** How messages name each CRM. */
export const CRM_NAMES: Record<SourceName, string> = { hubspot: 'HubSpot', dynamics: 'Dynamics 365' };

/** What `--source` means when it is not given. */
export const DEFAULT_SOURCE: SourceName = 'hubspot';

/** How runs are named to users: runs of the default source go unnamed (contacts), others say it (contacts (dynamics)). */
export function displayName(object: string, source: string): string {
  return source === DEFAULT_SOURCE ? object : `${object} (${source})`;
}
