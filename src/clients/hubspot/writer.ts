import type { ObjectMapping } from '../../config/load.js';
import { checkWriteKeys, type RecordWrite, type RecordWriter, type WriteOutcome, type WriteValue } from '../crm.js';
import { DailyQuotaStop } from '../../errors.js';
import { RetriesExhaustedError } from '../http/retry.js';
import type { BatchAction, BatchWriteAnswer, BatchWriteInput, HubSpotClient } from './client.js';
import { HUBSPOT_BATCH_LIMIT } from './limits.js';

/** A batch read asking for propertiesWithHistory takes at most 50 ids. */
const HISTORY_BATCH_LIMIT = 50;

/** A write on its way: the caller's write and the input HubSpot gets for it. */
interface Pending {
  write: RecordWrite;
  input: BatchWriteInput;
}

/** A record in a batch answer; `new` only on upserts, `objectWriteTraceId` where HubSpot echoes it. */
interface BatchResult {
  id?: string | number;
  new?: boolean;
  objectWriteTraceId?: string;
  properties?: Record<string, string | null>;
}

/** One error of a 207's `errors`, or the body of a 400/409. Every field may be missing. */
interface BatchError {
  status?: string;
  category?: string;
  message?: string;
  id?: string;
  context?: Record<string, string[] | undefined>;
  errors?: { message?: string; context?: Record<string, string[] | undefined> }[];
}

/** HubSpot's status for each error category of a batch answer (its errors carry only the category). */
const STATUS_OF_CATEGORY: Record<string, number> = { VALIDATION_ERROR: 400, OBJECT_NOT_FOUND: 404, CONFLICT: 409, RATE_LIMITS: 429 };

/**
 * Writes HubSpot records with the batch endpoints: updates by id, creates by upsert on a
 * unique property when the write names one (a repeated create then finds the record it
 * made), otherwise plain creates; deletes archive by id. Every input carries its write's
 * key as `objectWriteTraceId`, which HubSpot echoes in 207 answers.
 *
 * HubSpot answers an archive with 204 and no body, for ids it has archived already or
 * never had as well: every delete of such an answer is done, since the record is gone.
 *
 * HubSpot refuses a whole batch (400, 409) for one bad input, and its message does not
 * always say which one. Inputs it names are refused and the rest sent again; when it names
 * none, the batch is split in halves and each half sent again, down to the single input
 * the error belongs to. Nothing of a refused batch is written, so sending it again is safe.
 *
 * HubSpot takes no idempotency key: a plain create whose answer is lost is sent again by
 * the retry policy, and makes a second record unless a unique value (an email) makes
 * HubSpot answer 409 with the first one's id, which is then `exists`.
 */
export class HubSpotWriter implements RecordWriter {
  readonly batchLimit = HUBSPOT_BATCH_LIMIT;

  constructor(private readonly client: HubSpotClient) {}

  async write(mapping: ObjectMapping, writes: RecordWrite[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    const byAction = new Map<BatchAction, Pending[]>();
    checkWriteKeys(writes);
    for (const write of writes) {
      const planned = pendingOf(write);
      if ('status' in planned) outcomes.push(planned);
      else if (byAction.has(planned.action)) byAction.get(planned.action)!.push(planned.pending);
      else byAction.set(planned.action, [planned.pending]);
    }
    for (const [action, pending] of byAction) {
      for (let start = 0; start < pending.length; start += this.batchLimit) {
        outcomes.push(...(await this.send(mapping.remoteName, action, pending.slice(start, start + this.batchLimit))));
      }
    }
    return outcomes;
  }

  private async send(objectType: string, action: BatchAction, pending: Pending[]): Promise<WriteOutcome[]> {
    let answer: BatchWriteAnswer;
    try {
      answer = await this.client.writeBatch(objectType, action, pending.map((entry) => entry.input));
    } catch (error) {
      // Rate limits and outages outlasted the retries: these records wait for a later run.
      if (error instanceof RetriesExhaustedError) return pending.map(({ write }) => ({ key: write.key, status: 'retry', error: error.message }));
      // Nothing of the batch was sent (or HubSpot refused it for the day): it waits for the quota.
      if (error instanceof DailyQuotaStop) return pending.map(({ write }) => ({ key: write.key, status: 'held', error: error.message }));
      throw error;
    }
    if (answer.status >= 300) return this.judgeRefusal(objectType, action, pending, answer);
    return action === 'archive' ? pending.map((entry) => archived(entry, answer.requestId)) : this.judge(objectType, action, pending, answer);
  }

  /** A 200, 201 or 207: each result and error matched to its input; inputs = results + errors, or the rest is `retry`. */
  private async judge(objectType: string, action: BatchAction, pending: Pending[], answer: BatchWriteAnswer): Promise<WriteOutcome[]> {
    const { requestId } = answer;
    const body = (answer.body ?? {}) as { results?: BatchResult[]; errors?: BatchError[] };
    const results = Array.isArray(body.results) ? body.results : [];
    const errors = Array.isArray(body.errors) ? body.errors : [];
    const outcomes = new Map<string, WriteOutcome>();
    const lookup = inputLookup(pending);
    let unmatchedResults = 0;
    for (const result of results) {
      const matched = result.id === undefined ? undefined : lookup.result(result);
      // A plain create's result echoes no trace id: it is the unanswered input whose values it holds.
      const entry = matched ?? (action === 'create' && result.id !== undefined ? pending.find((candidate) => !outcomes.has(candidate.write.key) && holds(result, candidate)) : undefined);
      if (entry && !outcomes.has(entry.write.key)) outcomes.set(entry.write.key, done(entry, action, result, requestId));
      else unmatchedResults++;
    }
    // An answer without trace ids has only the order to go by: one result per input, in input order.
    if (action === 'create' && outcomes.size === 0 && errors.length === 0 && results.length === pending.length && results.every((result) => result.id !== undefined)) {
      results.forEach((result, index) => outcomes.set(pending[index].write.key, done(pending[index], action, result, requestId)));
      unmatchedResults = 0;
    }
    const unattributed: BatchError[] = [];
    for (const error of errors) {
      const named = lookup.error(error);
      if (named.length === 0) unattributed.push(error);
      for (const entry of named) outcomes.set(entry.write.key, failed(entry, error, requestId, 207));
    }
    const unanswered = pending.filter((entry) => !outcomes.has(entry.write.key));
    if (unanswered.length === 1 && unattributed.length === 1) {
      outcomes.set(unanswered[0].write.key, failed(unanswered[0], unattributed[0], requestId, 207));
    } else if (unanswered.length > 1 && unattributed.length > 0 && unmatchedResults === 0) {
      // Errors that name no input: the unanswered inputs were not written; find out which failed.
      return [...outcomes.values(), ...(await this.split(objectType, action, unanswered))];
    } else {
      for (const { write } of unanswered) outcomes.set(write.key, { key: write.key, status: 'retry', error: "HubSpot's answer to the batch has no result or error for this record", requestId });
    }
    return [...outcomes.values()];
  }

  /** A 400 or 409 for the whole batch: nothing was written. */
  private async judgeRefusal(objectType: string, action: BatchAction, pending: Pending[], answer: BatchWriteAnswer): Promise<WriteOutcome[]> {
    const error = (answer.body ?? {}) as BatchError;
    const named = inputLookup(pending).error(error);
    if (pending.length === 1 || named.length === pending.length) return pending.map((entry) => failed(entry, error, answer.requestId, answer.status));
    if (named.length === 0) return this.split(objectType, action, pending);
    const refused = named.map((entry) => failed(entry, error, answer.requestId, answer.status));
    return [...refused, ...(await this.send(objectType, action, pending.filter((entry) => !named.includes(entry))))];
  }

  private async split(objectType: string, action: BatchAction, pending: Pending[]): Promise<WriteOutcome[]> {
    const half = Math.ceil(pending.length / 2);
    return [...(await this.send(objectType, action, pending.slice(0, half))), ...(await this.send(objectType, action, pending.slice(half)))];
  }
}

/** Whether a created record holds every value its input set (HubSpot may change a value's case, as it does emails'). */
function holds(result: BatchResult, entry: Pending): boolean {
  return Object.entries(entry.input.properties).every(([name, value]) => String(result.properties?.[name] ?? '').trim().toLowerCase() === value.trim().toLowerCase());
}

/** When each property of each record last changed: the newest timestamp of its history. */
export async function changeTimes(client: HubSpotClient, mapping: ObjectMapping, ids: string[], properties: string[]): Promise<Map<string, Record<string, string>>> {
  const times = new Map<string, Record<string, string>>();
  for (let start = 0; start < ids.length; start += HISTORY_BATCH_LIMIT) {
    const records = (await client.batchRead(mapping.remoteName, ids.slice(start, start + HISTORY_BATCH_LIMIT), [], { propertiesWithHistory: properties })) as {
      id: string | number;
      propertiesWithHistory?: Record<string, { timestamp?: string }[]>;
    }[];
    for (const record of records) times.set(String(record.id), latestTimes(record.propertiesWithHistory ?? {}));
  }
  return times;
}

/** The batch and input a write goes out as, or why it cannot go out at all. */
function pendingOf(write: RecordWrite): { action: BatchAction; pending: Pending } | WriteOutcome {
  const properties = hubspotValues(write.properties);
  const objectWriteTraceId = write.key;
  const refuse = (error: string): WriteOutcome => ({ key: write.key, status: 'refused', error });
  if (write.operation === 'delete') {
    if (!write.recordId) return refuse('a delete needs the id of the HubSpot record');
    return { action: 'archive', pending: { write, input: { id: write.recordId, properties: {}, objectWriteTraceId } } };
  }
  if (write.operation === 'update') {
    if (!write.recordId) return refuse('an update needs the id of the HubSpot record');
    return { action: 'update', pending: { write, input: { id: write.recordId, properties, objectWriteTraceId } } };
  }
  if (write.idProperty === undefined) return { action: 'create', pending: { write, input: { properties, objectWriteTraceId } } };
  const unique = properties[write.idProperty];
  if (!unique) return refuse(`a create by ${write.idProperty} needs a value of ${write.idProperty}`);
  return { action: 'upsert', pending: { write, input: { id: unique, idProperty: write.idProperty, properties, objectWriteTraceId } } };
}

/** HubSpot takes every value as a string; an empty string clears a property. */
function hubspotValues(properties: Record<string, WriteValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, value === null ? '' : String(value)]));
}

/**
 * Finds the inputs a result or an error is about: by the trace id HubSpot echoes; else a
 * result by its record id (updates) or its unique value (upserts), an error by the ids or
 * unique values its context lists.
 */
function inputLookup(pending: Pending[]) {
  const byTrace = new Map(pending.map((entry) => [entry.input.objectWriteTraceId, entry]));
  const byId = new Map(pending.filter((entry) => entry.input.id !== undefined).map((entry) => [entry.input.id!.toLowerCase(), entry]));
  const uniqueProperties = [...new Set(pending.flatMap((entry) => (entry.input.idProperty ? [entry.input.idProperty] : [])))];
  return {
    result(result: BatchResult): Pending | undefined {
      if (result.objectWriteTraceId !== undefined) return byTrace.get(result.objectWriteTraceId);
      const values = uniqueProperties.length > 0 ? uniqueProperties.map((name) => result.properties?.[name]) : [result.id];
      for (const value of values) {
        const entry = value === undefined || value === null ? undefined : byId.get(String(value).toLowerCase());
        if (entry) return entry;
      }
      return undefined;
    },
    error(error: BatchError): Pending[] {
      const traces = error.context?.objectWriteTraceId ?? [];
      if (traces.length > 0) return traces.flatMap((trace) => byTrace.get(trace) ?? []);
      const ids = error.context?.ids ?? (error.id !== undefined ? [error.id] : []);
      return ids.flatMap((id) => byId.get(String(id).toLowerCase()) ?? []);
    },
  };
}

function done(entry: Pending, action: BatchAction, result: BatchResult, requestId: string | undefined): WriteOutcome {
  const created = action === 'create' || (action === 'upsert' && result.new === true);
  return { key: entry.write.key, status: 'done', recordId: String(result.id), created, requestId };
}

function archived(entry: Pending, requestId: string | undefined): WriteOutcome {
  return { key: entry.write.key, status: 'done', recordId: entry.input.id!, created: false, requestId };
}

/** What one error means for one input: a create's 409 names the record that exists; 429 and 5xx pass. */
function failed(entry: Pending, error: BatchError, requestId: string | undefined, batchStatus: number): WriteOutcome {
  const { key, operation } = entry.write;
  const status = batchStatus === 207 ? (STATUS_OF_CATEGORY[error.category ?? ''] ?? 400) : batchStatus;
  const existing = existingId(error);
  if (operation === 'create' && status === 409 && existing) return { key, status: 'exists', recordId: existing, requestId };
  if (status === 429 || status >= 500) return { key, status: 'retry', error: describe(error), requestId };
  return { key, status: 'refused', error: describe(error), httpStatus: status, requestId };
}

/** HubSpot's 409 "Contact already exists. Existing ID: 123", in its context or only in its message. */
function existingId(error: BatchError): string | undefined {
  return error.context?.existingId?.[0] ?? /Existing ID: (\d+)/.exec(error.message ?? '')?.[1];
}

/**
 * HubSpot's message, readable: invalid values come as "Property values were not valid:"
 * followed by a JSON list; each becomes "property: message".
 */
function describe(error: BatchError): string {
  const details = (error.errors ?? []).flatMap((detail) => (detail.message ? [withProperty(detail.context?.propertyName?.[0], detail.message)] : []));
  if (details.length > 0) return details.join('; ');
  const message = error.message ?? `HubSpot refused the record (${error.category ?? 'no reason given'})`;
  const listed = /^Property values were not valid: (\[.*\])$/s.exec(message)?.[1];
  if (!listed) return message;
  try {
    const problems = JSON.parse(listed) as { name?: string; message?: string }[];
    return problems.map((problem) => withProperty(problem.name, problem.message ?? 'not valid')).join('; ');
  } catch {
    return message;
  }
}

function withProperty(property: string | undefined, message: string): string {
  return property ? `${property}: ${message}` : message;
}

/** The newest timestamp of each property's versions, as ISO-8601. */
function latestTimes(history: Record<string, { timestamp?: string }[]>): Record<string, string> {
  const times: Record<string, string> = {};
  for (const [property, versions] of Object.entries(history)) {
    const newest = Math.max(...versions.map((version) => toMillis(version.timestamp)).filter((ms) => !Number.isNaN(ms)));
    if (Number.isFinite(newest)) times[property] = new Date(newest).toISOString();
  }
  return times;
}

/** HubSpot timestamps arrive as ISO-8601 or as epoch milliseconds. */
function toMillis(value: string | undefined): number {
  if (!value) return Number.NaN;
  return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
}
