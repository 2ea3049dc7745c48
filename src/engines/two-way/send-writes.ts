import type { RecordWrite, RecordWriter, WriteOutcome } from '../../clients/crm.js';
import type { ObjectMapping } from '../../config/load.js';
import { CRM_NAMES, SOURCES, type SourceName } from '../../config/sources.js';
import type { Store } from '../../db/database.js';
import type { LinkRepository } from '../../db/link-repository.js';
import type { Outbox, OutboxRow } from '../../db/outbox.js';
import type { Logger } from '../../log.js';

/** What the writes of a run came to, per CRM where it matters. */
export interface WriteTally {
  created: Record<SourceName, number>;
  updated: Record<SourceName, number>;
  deleted: Record<SourceName, number>;
  /** Failed for passing reasons: waiting in the outbox for a later attempt. */
  waiting: number;
  /** Refused for good, or given up on: dead-lettered. */
  dead: number;
  /** Refused because the record changed after it was read: planned again from a fresh read. */
  stale: OutboxRow[];
  /** Links whose writes were done: their pairs are merged again with what the write left. */
  finishedLinks: Set<string>;
  /** Why writes were held back unsent (a CRM's daily quota down to its reserve): they wait in the outbox. */
  heldBy?: string;
}

export const emptyTally = (): WriteTally => ({
  created: { hubspot: 0, dynamics: 0 },
  updated: { hubspot: 0, dynamics: 0 },
  deleted: { hubspot: 0, dynamics: 0 },
  waiting: 0,
  dead: 0,
  stale: [],
  finishedLinks: new Set(),
});

export interface WriteTarget {
  writer: RecordWriter;
  mapping: ObjectMapping;
}

export interface SendContext {
  store: Store;
  outbox: Outbox;
  links: LinkRepository;
  targets: Record<SourceName, WriteTarget>;
  log: Logger;
  label: string;
}

/** Writes are sent this many batches at a time, and their outcomes committed together. */
const BATCHES_PER_ROUND = 10;

/**
 * Sends outbox rows to their CRMs in batches and records each outcome in the transaction
 * that follows its answer: the field state of a done write, the id of a created twin, a
 * backoff for a passing failure, the dead letter of a refusal, and an audit row each. Rows
 * are marked as attempted before they are sent, so a crash mid-request leaves them known to
 * have maybe reached the CRM.
 */
export async function sendWrites(context: SendContext, rows: OutboxRow[], tally: WriteTally): Promise<void> {
  for (const crm of SOURCES) {
    const { writer, mapping } = context.targets[crm];
    const mine = rows.filter((row) => row.crm === crm);
    const round = writer.batchLimit * BATCHES_PER_ROUND;
    for (let start = 0; start < mine.length; start += round) {
      const batch = mine.slice(start, start + round);
      context.outbox.markAttempted(batch.map((row) => row.id));
      const attempted = batch.map((row) => ({ ...row, attempts: row.attempts + 1 }));
      const outcomes = await writer.write(mapping, attempted.map(recordWrite));
      const byKey = new Map(outcomes.map((outcome) => [outcome.key, outcome]));
      context.store.sqlite.transaction(() => {
        for (const row of attempted) settle(context, row, byKey.get(String(row.id))!, tally);
      })();
      // The quota comes back no sooner for the next batches: they stay in the outbox untouched.
      if (outcomes.some((outcome) => outcome.status === 'held')) break;
    }
  }
}

function recordWrite(row: OutboxRow): RecordWrite {
  return {
    key: String(row.id),
    operation: row.operation,
    ...(row.recordId !== null && { recordId: row.recordId }),
    properties: row.properties,
    ...(row.etag !== null && { etag: row.etag }),
    ...(row.idProperty !== null && { idProperty: row.idProperty }),
  };
}

function settle(context: SendContext, row: OutboxRow, outcome: WriteOutcome, tally: WriteTally): void {
  const { outbox, links, log, label } = context;
  const where = `${label}: ${row.operation} in ${CRM_NAMES[row.crm]}${row.recordId ? ` of ${row.recordId}` : ''}`;
  switch (outcome.status) {
    case 'done':
    case 'exists':
      outbox.audit(row, outcome, outcome.recordId);
      if (row.operation === 'create' && !adoptTwin(context, row, outcome.recordId)) {
        tally.dead++;
        return;
      }
      // A record found already there (HubSpot's 409 on a plain create) kept its own values: no agreement yet.
      if (outcome.status === 'done') links.saveAgreed(row.linkId, row.agreed, row.runId);
      outbox.finish(row.id, 'done');
      tally.finishedLinks.add(row.linkId);
      if (row.operation === 'create') tally.created[row.crm]++;
      else if (row.operation === 'delete') tally.deleted[row.crm]++;
      else tally.updated[row.crm]++;
      return;
    case 'stale':
      outbox.audit(row, outcome, outcome.recordId);
      outbox.finish(row.id, 'stale');
      tally.stale.push(row);
      return;
    case 'retry':
      outbox.audit(row, outcome, row.recordId);
      if (outbox.retryLater(row, outcome.error) === 'dead') {
        tally.dead++;
        log.warn(`${where} given up after ${row.attempts} attempts: ${outcome.error}`);
      } else tally.waiting++;
      return;
    case 'held':
      outbox.release(row, outcome.error);
      tally.waiting++;
      tally.heldBy ??= outcome.error;
      return;
    case 'refused':
      outbox.audit(row, outcome, row.recordId);
      outbox.finish(row.id, 'dead', outcome.error);
      // A twin that cannot be made leaves its record unmatched, to be tried again when it changes.
      if (row.operation === 'create') links.remove(row.linkId);
      tally.dead++;
      log.warn(`${where} refused${outcome.httpStatus ? ` (${outcome.httpStatus})` : ''}: ${outcome.error}`);
      return;
  }
}

/**
 * A created (or found) twin joins its link. A record the CRM says already exists and that
 * is linked to another record is not taken over: the write is dead-lettered and the record
 * it was made for is unmatched again.
 */
function adoptTwin(context: SendContext, row: OutboxRow, recordId: string): boolean {
  const holder = context.links.holder(row.crm, recordId);
  if (holder && holder.id !== row.linkId) {
    const error = `${CRM_NAMES[row.crm]} already has this record (${recordId}), linked to another one (link ${holder.id})`;
    context.outbox.finish(row.id, 'dead', error);
    context.links.remove(row.linkId);
    context.log.warn(`${context.label}: twin not created: ${error}`);
    return false;
  }
  context.links.setId(row.linkId, row.crm, recordId);
  return true;
}
