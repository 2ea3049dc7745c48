import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// drizzle-kit reads the schema from this file: the two-way tables are part of it.
export * from './two-way-tables.js';

/**
 * One row per run: the single source of truth for runs, watermarks and checkpoints.
 * No other table stores sync state.
 */
export const syncHistory = sqliteTable(
  'sync_history',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** hubspot | dynamics */
    crmSource: text('crm_source').notNull(),
    /** The entity the run synced: contacts, deals, contacts:companies (associations). */
    syncType: text('sync_type').notNull(),
    /** How it read: full | incremental | since | force_overwrite | changes (after a delta link). */
    syncMode: text('sync_mode').notNull(),
    /** running | success | partial | failed */
    status: text('status').notNull(),
    startTime: text('start_time').notNull(),
    endTime: text('end_time'),
    recordsProcessed: integer('records_processed').notNull().default(0),
    recordsCreated: integer('records_created').notNull().default(0),
    recordsUpdated: integer('records_updated').notNull().default(0),
    recordsFailed: integer('records_failed').notNull().default(0),
    errorMessage: text('error_message'),
    performanceMetrics: text('performance_metrics'),
    configuration: text('configuration'),
    recordsUnchanged: integer('records_unchanged').notNull().default(0),
    recordsDeleted: integer('records_deleted').notNull().default(0),
    /** Greatest source modification time among the records this run committed (ISO-8601). */
    watermark: text('watermark'),
    /** Paging position after the last committed page (JSON), written with that page. */
    checkpoint: text('checkpoint'),
    /**
     * Dynamics 365 change tracking: the delta link (@odata.deltaLink) that returns every
     * change made after this run's read. The next incremental run starts from it.
     */
    deltaLink: text('delta_link'),
    host: text('host'),
    pid: integer('pid'),
    heartbeatAt: text('heartbeat_at'),
    /** Two-way runs: pairs linked, records created and updated in each CRM, conflicts opened, writes failed (JSON). */
    writeSummary: text('write_summary'),
  },
  (table) => [
    // The documented indexes: an entity's runs, runs by status, the latest runs.
    index('sync_history_source_type_start').on(table.crmSource, table.syncType, sql`${table.startTime} desc`),
    index('sync_history_status_start').on(table.status, sql`${table.startTime} desc`),
    index('sync_history_end').on(sql`${table.endTime} desc`),
    // crmsync's own lookups: the lease (running rows) and the last finished run's watermark.
    index('sync_history_entity_status').on(table.crmSource, table.syncType, table.status, table.id),
  ],
);

/**
 * Every record as received (bronze) next to its mapped fields as JSON; per-object SQL views
 * (hubspot_contacts, ...) expose the mapped fields as columns (silver).
 */
export const records = sqliteTable(
  'records',
  {
    source: text('source').notNull(),
    objectType: text('object_type').notNull(),
    sourceId: text('source_id').notNull(),
    rawJson: text('raw_json').notNull(),
    fieldsJson: text('fields_json').notNull(),
    contentHash: text('content_hash').notNull(),
    sourceModifiedAt: text('source_modified_at'),
    isDeleted: integer('is_deleted', { mode: 'boolean' }).notNull().default(false),
    deletedAt: text('deleted_at'),
    firstRunId: integer('first_run_id').notNull(),
    lastRunId: integer('last_run_id').notNull(),
    /** When the source's latest version of the record was rejected (the row keeps the last valid one); NULL when the row is the latest. */
    rejectedAt: text('rejected_at'),
    /**
     * The row's mapped fields as the current version (see past_versions): since when (the
     * source's modification time of the copy that first had them), the run that wrote them,
     * and the hash of fields_json. NULL when the object keeps no history.
     */
    versionFrom: text('version_from'),
    versionRunId: integer('version_run_id'),
    fieldsHash: text('fields_hash'),
  },
  (table) => [
    primaryKey({ columns: [table.source, table.objectType, table.sourceId] }),
    // Only deleted rows: each run looks them up to notice restored records, and the index
    // stays small; an index over every row would halve the speed of saving pages.
    index('records_deleted').on(table.source, table.objectType).where(sql`${table.isDeleted} = 1`),
  ],
);

/**
 * The versions of records' mapped fields that have ended (SCD Type 2, gold): replaced by a
 * later version, or ended by the record's deletion. A record's current version is its row in
 * `records` (version_from, version_run_id, fields_hash), so a full read of new records writes
 * no second row. The view record_versions (a migration creates it) shows both as one table,
 * with is_current; per-object views (<source>_<object>_history) show the fields as columns.
 */
export const pastVersions = sqliteTable(
  'past_versions',
  {
    source: text('source').notNull(),
    objectType: text('object_type').notNull(),
    sourceId: text('source_id').notNull(),
    validFrom: text('valid_from').notNull(),
    validTo: text('valid_to').notNull(),
    /** Hash of fields_json: the version's mapped content. */
    contentHash: text('content_hash').notNull(),
    fieldsJson: text('fields_json').notNull(),
    /** The run that wrote the version. */
    runId: integer('run_id').notNull(),
  },
  // Versions of a record never share a start: the key orders each record's timeline.
  (table) => [primaryKey({ columns: [table.source, table.objectType, table.sourceId, table.validFrom] })],
);

/**
 * Records that failed validation, with the reasons: one row per version of a record (the
 * run that first rejected it), never silently dropped. A rejection is outstanding until a
 * valid version of the record is saved or the record is deleted in the source.
 */
export const rejectedRecords = sqliteTable(
  'rejected_records',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The run that first rejected this version. */
    runId: integer('run_id').notNull(),
    source: text('source').notNull(),
    objectType: text('object_type').notNull(),
    sourceId: text('source_id'),
    rawJson: text('raw_json').notNull(),
    reasons: text('reasons').notNull(),
    rejectedAt: text('rejected_at')
      .notNull()
      .default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
    /** Hash of raw_json, as records.content_hash: the version. NULL only for rows kept from before versions were told apart. */
    contentHash: text('content_hash'),
    /** When a valid version was saved or the record was deleted in the source; NULL while the rejection is outstanding. */
    resolvedAt: text('resolved_at'),
  },
  (table) => [
    index('rejected_records_object').on(table.source, table.objectType, table.sourceId),
    // The raw record holds its id, so its hash tells versions of every record apart (ids missing too).
    uniqueIndex('rejected_records_version').on(table.source, table.objectType, table.contentHash),
    // Outstanding rejections only: each run loads them, and the index stays small.
    index('rejected_records_outstanding').on(table.source, table.objectType, table.sourceId).where(sql`${table.resolvedAt} IS NULL`),
  ],
);

/** Associations between records (HubSpot v4), one row per (from, to, association type). */
export const associations = sqliteTable(
  'associations',
  {
    source: text('source').notNull(),
    fromObject: text('from_object').notNull(),
    fromId: text('from_id').notNull(),
    toObject: text('to_object').notNull(),
    toId: text('to_id').notNull(),
    typeId: integer('type_id').notNull(),
    /** HUBSPOT_DEFINED or USER_DEFINED */
    category: text('category').notNull(),
    label: text('label'),
    firstRunId: integer('first_run_id').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.source, table.fromObject, table.toObject, table.fromId, table.toId, table.typeId] }),
    index('associations_to').on(table.source, table.toObject, table.toId),
  ],
);

/**
 * Ids read so far by a full read of a source that cannot list its deleted records
 * (Dynamics 365): when the read completes, local rows it did not see were deleted in the
 * source. Kept in the database, not in memory, so a read resumed after a crash still
 * knows what it saw before. Emptied when the read ends.
 */
export const fullReadSeen = sqliteTable(
  'full_read_seen',
  {
    source: text('source').notNull(),
    objectType: text('object_type').notNull(),
    sourceId: text('source_id').notNull(),
  },
  (table) => [primaryKey({ columns: [table.source, table.objectType, table.sourceId] })],
);

/**
 * One row per `crmsync reconcile`: how the object's local copy compared with its CRM when
 * every id and modification time was listed, how its linked pairs compared (two-way
 * objects), and what --fix did about it. The runs a fix made are sync_history rows of
 * their own (sync_mode reconcile).
 */
export const reconciliationRuns = sqliteTable(
  'reconciliation_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    objectType: text('object_type').notNull(),
    /** The CRM listed: hubspot | dynamics */
    source: text('source').notNull(),
    startedAt: text('started_at').notNull(),
    endedAt: text('ended_at'),
    /** running | clean (no drift) | drift (found, and left or not all fixed) | fixed (found and all fixed) | failed */
    status: text('status').notNull(),
    /** Whether --fix was asked for. */
    fix: integer('fix', { mode: 'boolean' }).notNull().default(false),
    /** Records the CRM listed, and local rows not marked deleted. */
    sourceRecords: integer('source_records'),
    localRecords: integer('local_records'),
    /** In the CRM, not stored (or marked deleted locally). */
    missing: integer('missing').notNull().default(0),
    /** Stored and not marked deleted, no longer in the CRM. */
    gone: integer('gone').notNull().default(0),
    /** Modified in the CRM after the stored copy. */
    stale: integer('stale').notNull().default(0),
    /** Two-way objects: linked pairs compared, and those whose fields the rules would write (or leave to a person). */
    pairsCompared: integer('pairs_compared'),
    pairDrift: integer('pair_drift').notNull().default(0),
    /** JSON: field → pairs that differ in it. */
    pairFields: text('pair_fields'),
    /** --fix: records saved or marked deleted, plus pairs whose writes were queued. */
    fixed: integer('fixed').notNull().default(0),
    /** --fix: the sync_history rows of the read by id and of the queued pair writes. */
    fixRunId: integer('fix_run_id'),
    pairRunId: integer('pair_run_id'),
    /** Requests the comparison took (listing the CRM, confirming records gone); the fix's are in its runs. */
    requests: integer('requests').notNull().default(0),
    error: text('error'),
  },
  (table) => [index('reconciliation_runs_object').on(table.objectType, table.source, table.id)],
);

/**
 * webhook_events: every event a CRM sent to `crmsync serve`, stored as received before the
 * answer that acknowledges it. The CRMs retry and repeat deliveries: an event id is stored
 * once. An event is a hint that a record changed; processing reads the record back.
 */
export const webhookEvents = sqliteTable(
  'webhook_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The CRM that sent it: hubspot | dynamics */
    source: text('source').notNull(),
    /** HubSpot's eventId; Dataverse's context id (OperationId, else RequestId). */
    eventId: text('event_id').notNull(),
    /** HubSpot's subscriptionType (contact.propertyChange); Dataverse's MessageName (Update). */
    kind: text('kind').notNull(),
    /** The CRM's name of the record's type: contact, 0-3, 2-123 (HubSpot); contact, account (Dataverse logical name). */
    objectType: text('object_type'),
    objectId: text('object_id'),
    /** When the change happened, as the CRM says (ISO-8601). */
    occurredAt: text('occurred_at'),
    receivedAt: text('received_at').notNull(),
    /** The event as the CRM sent it (JSON). */
    payload: text('payload').notNull(),
    /** Set once the event was acted on or set aside; null while it waits. */
    processedAt: text('processed_at'),
    /** applied (its record was read back through a run) | ignored (a type or object crmsync does not sync) */
    outcome: text('outcome'),
    /** The sync_history run that read its record back. */
    runId: integer('run_id'),
    /** Processing attempts that failed (the CRM unreachable, the lease held elsewhere), and the last error. */
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (table) => [uniqueIndex('webhook_events_source_event').on(table.source, table.eventId), index('webhook_events_waiting').on(table.processedAt, table.id)],
);
