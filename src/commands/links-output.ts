import { CRM_NAMES } from '../config/sources.js';
import type { LinkListing } from '../db/link-report.js';
import type { UnlinkedRecord } from '../processors/pairing.js';
import { printTable } from './output.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What stands for "no value" in every cell. */
const NONE = '-';
const BEING_CREATED = '(being created)';

/** The object's links, a row each, then how many; with `json` an array of them. */
export function printLinks(object: string, links: LinkListing[], json: boolean): void {
  if (json) {
    out(JSON.stringify(links.map(({ id, ...link }) => ({ linkId: id, ...link })), null, 2));
    return;
  }
  const id = (link: LinkListing, side: 'hubspot' | 'dynamics') => {
    const recordId = side === 'hubspot' ? link.hubspotId : link.dynamicsId;
    if (link.beingCreated !== side) return recordId ?? NONE;
    return recordId === null ? BEING_CREATED : `${recordId} ${BEING_CREATED}`;
  };
  if (links.length > 0) {
    const rows = links.map((link) => [link.id, id(link, 'hubspot'), id(link, 'dynamics'), link.matchedBy, link.matchKey ?? NONE, link.createdAt.slice(0, 19).replace('T', ' ')]);
    printTable([['link', `${CRM_NAMES.hubspot} id`, `${CRM_NAMES.dynamics} id`, 'matched by', 'match key', 'created'], ...rows]);
  }
  const creating = links.filter((link) => link.beingCreated !== null).length;
  out(`${count(links.length, 'link', 'links')} of ${object}${creating > 0 ? `, ${creating} with a twin being created` : ''}`);
}

/** The object's records without a link, with the reason each has none; with `json` an array of them. */
export function printUnlinked(object: string, records: UnlinkedRecord[], json: boolean): void {
  if (json) {
    const rows = records.map(({ side, id, key, outcome, twinId, reason }) => ({ source: side, id, matchKey: key, outcome, ...(twinId !== undefined && { twinId }), reason }));
    out(JSON.stringify(rows, null, 2));
    return;
  }
  if (records.length > 0) {
    printTable([['source', 'id', 'match key', 'reason'], ...records.map((record) => [CRM_NAMES[record.side], record.id, record.key ?? NONE, record.reason])]);
  }
  const unmatched = records.filter((record) => record.outcome === 'unmatched').length;
  const pairable = records.length - unmatched;
  const detail = records.length === 0 ? '' : `: ${unmatched} unmatched, ${pairable} that a two-way run pairs`;
  out(`${count(records.length, 'record', 'records')} of ${object} without a link${detail}`);
}
