import type { ObjectMapping } from '../config/load.js';
import type { SourceName } from '../config/sources.js';
import type { FieldType } from '../config/mappings-schema.js';
import type { EntryDraft } from '../config/scaffold.js';
import type { Association, Deletion, RecordShape, RecordVersion } from '../records.js';
import type { RequestMetrics, RetryPolicy } from './http/retry.js';

/**
 * A CRM as the rest of crmsync knows it. Generic code gets one only from the registry
 * (registry.ts) and never asks which one it holds. The connector itself is cheap to load
 * (the command line reads its page limits for --help); the client and its libraries load
 * when `connect` is called.
 */
export interface CrmConnector<Settings = unknown> {
  /** As --source and sync_history.crm_source name it. */
  readonly name: SourceName;
  /** As users know it: HubSpot, Dynamics 365. */
  readonly label: string;
  /** What the mapper needs to know about the records it sends. */
  readonly recordShape: RecordShape;
  /** --batch-size's bounds: the largest page a read may ask for, and what else to know. */
  readonly pageSize: { max: number; note?: string };
  /** Whether any of its settings is in the environment: then it is meant, and a missing one is an error. */
  settingsGiven(env: NodeJS.ProcessEnv): boolean;
  /** Its connection settings from the environment; a UsageError names what is missing or wrong. */
  settings(env: NodeJS.ProcessEnv): Settings;
  /** Where the settings point, as messages name it: "the portal at https://api.hubapi.com". */
  target(settings: Settings): string;
  connect(settings: Settings, options?: ConnectOptions): Promise<CrmConnection>;
}

export interface ConnectOptions {
  /** Overrides the default retry policy (tests use short delays). */
  retry?: RetryPolicy;
  /** Told of every retry, with the reason. */
  onRetry?: (message: string) => void;
  /** What a daily request quota the CRM states must keep for the account's other clients (HubSpot); none: no reserve. */
  dailyReserve?: DailyReserve;
}

/** Requests of a daily quota left to others: a number of them, or a share of the daily limit. `{ requests: 0 }` keeps none. */
export type DailyReserve = { requests: number } | { percent: number };

/**
 * What crmsync does with a CRM once connected. Each capability is a member of its own:
 * reading an object (`reader`), writing batches of records (`writer`), describing and
 * checking one, reading associations.
 */
export interface CrmConnection {
  /** Where every request goes: what stored links and cursors must belong to before a run uses them. */
  readonly origin: Origin;
  /** Requests, retries, 429s and bytes so far: a run's performance_metrics. */
  readonly metrics: RequestMetrics;
  /** Reads one object as mapped in mappings.yaml. */
  reader(mapping: ObjectMapping): RecordSource;
  /** Creates, updates and deletes records in batches, with one outcome per record. */
  readonly writer: RecordWriter;
  /**
   * When each of `properties` last changed, per record (ISO-8601), for CRMs that keep a
   * history of every property (HubSpot): what "the most recent value wins" compares. A
   * property never set, and a record the CRM does not have, are absent.
   */
  changeTimes?(mapping: ObjectMapping, ids: string[], properties: string[]): Promise<Map<string, Record<string, string>>>;
  /** The object's properties (columns), described alike for every CRM. Unknown objects fail with a message saying so. */
  describe(remoteName: string): Promise<ObjectDescription>;
  /** One line per way the mapping does not fit the live object (unknown object or property, type, key); none when it fits. */
  check(mapping: ObjectMapping): Promise<string[]>;
  /** A mappings.yaml entry for the described object (`crmsync properties --yaml`). */
  draft(description: ObjectDescription): EntryDraft;
  /** Present when the CRM keeps associations between records. */
  readonly associations?: AssociationReader;
  /** The names the CRM's webhooks give the object's records (HubSpot: contact and 0-1; Dataverse: the table's logical name). */
  webhookTypes(remoteName: string): Promise<string[]>;
}

/** A CRM's address, and how messages name it when it changes: "organisation", "HUBSPOT_BASE_URL". */
export interface Origin {
  url: string;
  name: string;
}

/**
 * What a reader is asked for. A full read walks every record in the CRM's natural order;
 * an incremental one every record modified at or after `since`, in ascending modification
 * order; a change read every change after a delta link (CRMs with change tracking).
 * `pageSize` undefined: the largest page each endpoint allows.
 */
export type ReadPlan =
  | { mode: 'full'; pageSize?: number; resume?: unknown }
  | { mode: 'incremental'; since: string; pageSize?: number; resume?: unknown }
  | { mode: 'changes'; deltaLink: string; pageSize?: number; resume?: unknown };

export interface SourcePage {
  records: unknown[];
  /** Records deleted in the CRM (change reads). */
  deletions?: Deletion[];
  /** Serializable position after this page; passing it back as `resume` continues here. */
  checkpoint: unknown;
  /** On the last page of a change-tracked read: where the next change read starts. */
  deltaLink?: string;
}

export interface DeletedPage {
  deletions: Deletion[];
  checkpoint: unknown;
}

/** One object of one CRM, as the engine reads it. */
export interface RecordSource {
  readonly metrics: RequestMetrics;
  /** Whether full reads return a delta link and change reads are possible. */
  readonly tracksChanges: boolean;
  pages(plan: ReadPlan): AsyncGenerator<SourcePage>;
  /** The greatest modification time the CRM holds now, or null when the object is empty. */
  latestModification(): Promise<string | null>;
  /**
   * Every record deleted (archived) in the CRM, page by page. A CRM without such a list
   * tells of deletions in change reads, and by what a full read no longer sees.
   */
  deletedPages?(pageSize: number | undefined, resume?: unknown): AsyncGenerator<DeletedPage>;
  /** Reads records by id; ids not active in the CRM are absent from the result. */
  readByIds(ids: string[]): Promise<unknown[]>;
  /**
   * Every record's id and modification time, page by page, in as few requests as the CRM
   * allows: only those two properties, in the largest pages it serves. `pageSize`
   * undefined: the largest.
   */
  listVersions(pageSize?: number): AsyncGenerator<RecordVersion[]>;
}

/** A delta link too old to use: the CRM wants a full read. */
export class ChangesExpiredError extends Error {}

/** An object's properties (HubSpot) or columns (Dataverse), described alike. */
export interface ObjectDescription {
  /** The object as the API names it: a HubSpot object type or a Dataverse entity set. */
  remoteName: string;
  /** The property holding each record's id. */
  primaryKey: string;
  /** Whether the CRM tracks the object's changes (delta links). */
  changeTracking: boolean;
  properties: PropertyDescription[];
  /** What `crmsync properties` lists: a header, then a row per property, in the CRM's own terms. */
  listing: string[][];
  /** The CRM's own description, as `crmsync properties --json` prints it. */
  definition: unknown;
}

export interface PropertyDescription {
  /** As the API reads it (a lookup column as _<name>_value). */
  name: string;
  label?: string;
  /** The CRM's own type: string, number, enumeration (HubSpot); String, Money, Lookup (Dataverse). */
  type: string;
  /** The crmsync field type that reads it best. */
  fieldType: FieldType;
  /** Set by the CRM (calculated, system-maintained): never written through the API. */
  readOnly: boolean;
  /** Holds a different value on every record, so it can be a primary key. */
  unique: boolean;
  /** Hidden from the CRM's own forms: left out of a drafted entry. */
  hidden: boolean;
  /** The values an enumeration allows, where the CRM lists them: HubSpot's options, a Dataverse choice column's option values. */
  values?: string[];
}

/** Associations of records of one object with records of another, read in batches. */
export interface AssociationReader {
  /** Most "from" records one read takes. */
  readonly batchLimit: number;
  read(from: ObjectMapping, to: ObjectMapping, fromIds: string[]): Promise<Association[]>;
}

/** A value as a write sends it, in the CRM's own form; null clears the property. */
export type WriteValue = string | number | boolean | null;

/** One record's write to one CRM, in the CRM's property names and value forms. */
export interface RecordWrite {
  /** Names the write in the outcomes (the caller's outbox id); unique within one call. */
  key: string;
  operation: 'create' | 'update' | 'delete';
  /**
   * update and delete: the record's id. create: the id to give the record, where the CRM
   * takes one (a Dataverse primary key; without one the Dynamics 365 writer gives the row a
   * new GUID).
   */
  recordId?: string;
  /** delete: empty (a delete sends no values). */
  properties: Record<string, WriteValue>;
  /**
   * The row version the write was planned against (a Dataverse @odata.etag): a row changed
   * since answers `stale`. On a delete, a row edited since is then kept.
   */
  etag?: string;
  /**
   * create: a property with unique values (a contact's email) whose value in `properties`
   * finds the record if it exists, so that a create repeated after a crash finds the record
   * it made instead of making a second one (HubSpot).
   */
  idProperty?: string;
}

/**
 * What became of one write. Every write of a call gets exactly one. A delete is `done` when
 * the record is gone, whether this write removed it or it was gone already.
 */
export type WriteOutcome =
  | { key: string; status: 'done'; recordId: string; created: boolean; requestId?: string }
  /** The row changed after the version the write was planned against; nothing was written. */
  | { key: string; status: 'stale'; recordId: string; requestId?: string }
  /** A create found the record already there (a unique value or the given id is taken): `recordId` is that record. */
  | { key: string; status: 'exists'; recordId: string; requestId?: string }
  /** Not written for a passing reason (rate limits, outages, no answer) after the retries: try again later. */
  | { key: string; status: 'retry'; error: string; requestId?: string }
  /**
   * Not sent: the CRM's daily request quota is down to the reserve kept for the account's
   * other clients, or used up. Waits for a run after the quota resets; not an attempt.
   */
  | { key: string; status: 'held'; error: string; requestId?: undefined }
  /**
   * The CRM will never take the write as it is (an invalid value, an unknown option, a
   * read-only property, an update of a deleted record). `httpStatus` is absent when it was
   * never sent.
   */
  | { key: string; status: 'refused'; error: string; httpStatus?: number; requestId?: string };

/**
 * Writes records of one object in batches. A record's failure is its outcome, never an
 * exception; what stops every write (credentials, an object the CRM does not know) throws,
 * as the readers do.
 */
export interface RecordWriter {
  /** Most writes one batch request carries; `write` takes any number and splits them. */
  readonly batchLimit: number;
  write(mapping: ObjectMapping, writes: RecordWrite[]): Promise<WriteOutcome[]>;
}

/** Outcomes are matched to writes by key: a call with two writes of one key is a mistake of its caller. */
export function checkWriteKeys(writes: RecordWrite[]): void {
  const keys = new Set(writes.map((write) => write.key));
  if (keys.size !== writes.length) throw new Error('every write of one call needs a key of its own');
}
