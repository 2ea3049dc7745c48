import { randomUUID } from 'node:crypto';
import type { ObjectMapping } from '../../config/load.js';
import { UnknownObjectError } from '../../errors.js';
import { checkWriteKeys, type RecordWrite, type RecordWriter, type WriteOutcome } from '../crm.js';
import { errorBody } from '../http/request.js';
import { RetriesExhaustedError } from '../http/retry.js';
import type { BatchRequest, BatchResponse } from './batch.js';
import { requestIdOf, type BatchAnswer, type DataverseErrorBody, type DynamicsClient } from './client.js';
import { DynamicsReader } from './reader.js';

/**
 * Requests per $batch: Dataverse's maximum, 1,000. Every request of a batch counts against
 * the service protection limits as one, so batching saves round trips, not execution time;
 * a batch of 1,000 small PATCHes stays well within the two-minute limit on one request.
 * A throttled batch is refused whole (429) and sent again whole.
 */
export const DYNAMICS_WRITE_BATCH_LIMIT = 1000;

/** DuplicateRecord: a create whose primary key (or alternate key) is taken. */
const DUPLICATE_RECORD = '0x80040237';
/** ObjectDoesNotExist: "contact With Id = <guid> Does Not Exist". */
const OBJECT_DOES_NOT_EXIST = '0x80040217';

/**
 * Writes Dataverse rows, a batch of independent requests at a time: an update is a PATCH
 * of the row with `If-Match` (the row version it was planned against, or `*`, so that an
 * update never creates a row); a create is a POST with the row's primary key, so that a
 * create sent again (after a crash, or by the retry policy after a lost answer) fails as
 * a duplicate, `exists`, instead of making a second row. A write without an id gets a new
 * GUID, which Dataverse takes as it takes its own. A delete is a DELETE of the row, with
 * `If-Match` only when the write names the version it was planned against; a row that is
 * gone already (404) is as good as one this delete removed.
 */
export class DynamicsWriter implements RecordWriter {
  readonly batchLimit = DYNAMICS_WRITE_BATCH_LIMIT;

  constructor(private readonly client: DynamicsClient) {}

  async write(mapping: ObjectMapping, writes: RecordWrite[]): Promise<WriteOutcome[]> {
    checkWriteKeys(writes);
    const outcomes: WriteOutcome[] = [];
    const sendable: RecordWrite[] = [];
    for (const write of writes) {
      if (write.operation !== 'create' && !write.recordId) {
        outcomes.push({ key: write.key, status: 'refused', error: `${write.operation === 'update' ? 'an update' : 'a delete'} needs the id of the Dynamics 365 row` });
      } else sendable.push(write.recordId ? write : { ...write, recordId: randomUUID() });
    }
    for (let start = 0; start < sendable.length; start += this.batchLimit) {
      outcomes.push(...(await this.send(mapping, sendable.slice(start, start + this.batchLimit))));
    }
    return outcomes;
  }

  private async send(mapping: ObjectMapping, writes: RecordWrite[]): Promise<WriteOutcome[]> {
    let answer: BatchAnswer;
    try {
      answer = await this.client.batch(`write ${mapping.remoteName}`, writes.map((write) => this.requestOf(mapping, write)));
    } catch (error) {
      // Throttling and outages outlasted the retries: these rows wait for a later run.
      if (error instanceof RetriesExhaustedError) return writes.map(({ key }) => ({ key, status: 'retry', error: error.message }));
      throw error;
    }
    const outcomes = writes.map((write, index) => judge(mapping, write, answer.responses[index], answer.requestId));
    const duplicates = writes.filter((write, index) => write.operation === 'create' && errorOf(answer.responses[index]).code === DUPLICATE_RECORD);
    return duplicates.length > 0 ? this.markExisting(mapping, outcomes, duplicates) : outcomes;
  }

  /**
   * Dataverse answers a taken primary key and a duplicate alternate key (another row with
   * the same email, where such a key is defined) with the same DuplicateRecord code: a
   * create is `exists` only if the row with its own id is there; otherwise it stays refused.
   */
  private async markExisting(mapping: ObjectMapping, outcomes: WriteOutcome[], duplicates: RecordWrite[]): Promise<WriteOutcome[]> {
    const rows = (await new DynamicsReader(this.client, mapping).readByIds(duplicates.map((write) => write.recordId!))) as Record<string, unknown>[];
    const found = new Set(rows.map((row) => String(row[mapping.primaryKey]).toLowerCase()));
    const existing = new Map(duplicates.filter((write) => found.has(write.recordId!.toLowerCase())).map((write) => [write.key, write.recordId!]));
    return outcomes.map((outcome) => {
      const recordId = existing.get(outcome.key);
      return recordId === undefined ? outcome : { key: outcome.key, status: 'exists', recordId, requestId: outcome.requestId };
    });
  }

  private requestOf(mapping: ObjectMapping, write: RecordWrite): BatchRequest {
    if (write.operation === 'update') {
      return { method: 'PATCH', url: this.client.rowUrl(mapping.remoteName, write.recordId!), headers: { 'If-Match': write.etag ?? '*' }, body: write.properties };
    }
    if (write.operation === 'delete') {
      return { method: 'DELETE', url: this.client.rowUrl(mapping.remoteName, write.recordId!), headers: write.etag ? { 'If-Match': write.etag } : {} };
    }
    return { method: 'POST', url: this.client.collectionUrl(mapping.remoteName), headers: {}, body: { ...write.properties, [mapping.primaryKey]: write.recordId } };
  }
}

/** What one response of the batch means for its write. */
function judge(mapping: ObjectMapping, write: RecordWrite, response: BatchResponse | undefined, batchRequestId: string | undefined): WriteOutcome {
  const { key } = write;
  if (!response) return { key, status: 'retry', error: 'Dynamics 365 answered the batch without a response to this request', requestId: batchRequestId };
  const requestId = requestIdOf(response) ?? batchRequestId;
  const { status } = response;
  if (status < 300) {
    const recordId = rowIdOf(response.header('odata-entityid')) ?? write.recordId ?? '';
    return { key, status: 'done', recordId, created: write.operation === 'create', requestId };
  }
  const { code = '', message = `HTTP ${status}` } = errorOf(response);
  // If-Match with the version the write was planned against: the row has changed since.
  if (write.operation !== 'create' && status === 412) return { key, status: 'stale', recordId: write.recordId!, requestId };
  if (status === 429 || status >= 500) return { key, status: 'retry', error: `Dynamics 365 answered ${status}${code ? ` ${code}` : ''}: ${message}`, requestId };
  if (status === 404 && /Resource not found for the segment/i.test(message)) {
    throw new UnknownObjectError(`write ${mapping.remoteName}: Dynamics 365 answered 404 (${message}); check entity_set in mappings.yaml`, status);
  }
  if (write.operation === 'delete' && status === 404 && code === OBJECT_DOES_NOT_EXIST) return { key, status: 'done', recordId: write.recordId!, created: false, requestId };
  return { key, status: 'refused', error: message, httpStatus: status, requestId };
}

/** Dataverse's { error: { code, message } } of a response; nothing for a success or a body that is not JSON. */
function errorOf(response: BatchResponse | undefined): { code?: string; message?: string } {
  return response ? (errorBody<DataverseErrorBody>({ ...response, text: response.body }).error ?? {}) : {};
}

/** The row's id from OData-EntityId: https://org.crm.dynamics.com/api/data/v9.2/contacts(<guid>). */
function rowIdOf(entityId: string | undefined): string | undefined {
  return entityId ? /\(([0-9a-f-]{36})\)\s*$/i.exec(entityId)?.[1]?.toLowerCase() : undefined;
}
