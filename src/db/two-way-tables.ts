/** The state two-way sync keeps: links, agreed field values, conflicts, the outbox and the audit log. */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * Pairs of records kept alike by two-way sync: a HubSpot record and its Dynamics 365 twin.
 * The id is derived from the record the pair started from (see link-ids.ts), so planning
 * the same pair twice gives the same id; a twin created in Dynamics 365 takes it as its
 * primary key. A side's id is NULL while its twin's creation is on its way.
 */
export const entityLinks = sqliteTable(
  'entity_links',
  {
    id: text('id').primaryKey(),
    objectType: text('object_type').notNull(),
    hubspotId: text('hubspot_id'),
    dynamicsId: text('dynamics_id'),
    /** match_key: paired by the match key; created_in_hubspot, created_in_dynamics: crmsync made the twin. */
    matchedBy: text('matched_by').notNull(),
    /** The normalised match value the pair was made with; a later change of it never re-links. */
    matchKey: text('match_key'),
    runId: integer('run_id').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [
    uniqueIndex('entity_links_hubspot').on(table.objectType, table.hubspotId),
    uniqueIndex('entity_links_dynamics').on(table.objectType, table.dynamicsId),
  ],
);

/**
 * The value each field of a link last held on both sides alike: the base of the three-way
 * merge. Like entity_links it is a WITHOUT ROWID table (its migration says so; drizzle-kit does
 * not model it): rows are found and written by their key alone.
 */
export const fieldState = sqliteTable(
  'field_state',
  {
    linkId: text('link_id').notNull(),
    field: text('field').notNull(),
    /** JSON of the value in HubSpot's terms; null is an agreed empty value. */
    value: text('value').notNull(),
    agreedAt: text('agreed_at').notNull(),
    runId: integer('run_id').notNull(),
  },
  (table) => [primaryKey({ columns: [table.linkId, table.field] })],
);

/**
 * Fields both CRMs changed to different values whose rule leaves the choice to a person
 * (conflict: manual). Open until resolved (`crmsync conflicts resolve`) or until the sides
 * agree again; closed once the chosen value is written.
 */
export const conflicts = sqliteTable(
  'conflicts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    linkId: text('link_id').notNull(),
    objectType: text('object_type').notNull(),
    field: text('field').notNull(),
    /** JSON values; base NULL when the pair had no agreed value yet. */
    baseValue: text('base_value'),
    hubspotValue: text('hubspot_value').notNull(),
    hubspotChangedAt: text('hubspot_changed_at'),
    dynamicsValue: text('dynamics_value').notNull(),
    dynamicsChangedAt: text('dynamics_changed_at'),
    openedAt: text('opened_at').notNull(),
    runId: integer('run_id').notNull(),
    /** When a person chose (or the sides came to agree); NULL while open. */
    resolvedAt: text('resolved_at'),
    /** hubspot | dynamics | value (given outright) | agreed (the sides came to agree) */
    resolution: text('resolution'),
    /**
     * JSON of the chosen value: with hubspot or dynamics, the value that side held when the
     * choice was made, in its own terms (the next run writes the side's value as it is then);
     * with value, the value given, in HubSpot's terms; with agreed, NULL.
     */
    resolvedValue: text('resolved_value'),
    /** When the chosen value was written where it was missing; NULL until then. */
    closedAt: text('closed_at'),
    closedRunId: integer('closed_run_id'),
  },
  (table) => [
    uniqueIndex('conflicts_unsettled').on(table.linkId, table.field).where(sql`${table.closedAt} IS NULL`),
    index('conflicts_open').on(table.objectType).where(sql`${table.resolvedAt} IS NULL`),
  ],
);

/**
 * Writes to a CRM, stored in the transaction that plans them and before they are sent:
 * pending until the CRM took them (done), gave up on by a permanent refusal (dead, with
 * the reason), or replaced by a later plan of the same record (superseded).
 */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id').notNull(),
    linkId: text('link_id').notNull(),
    objectType: text('object_type').notNull(),
    /** The CRM written to: hubspot | dynamics */
    crm: text('crm').notNull(),
    /** create | update | delete */
    operation: text('operation').notNull(),
    /** The record written; a create's id where the CRM takes one from the caller (Dataverse). */
    recordId: text('record_id'),
    /** JSON: property → value, in the CRM's names and forms. */
    properties: text('properties').notNull(),
    /** JSON: field → value agreed once the write is done (the field state to store). */
    agreed: text('agreed').notNull(),
    /** JSON: field → the value the record held before, as the audit log shows it. */
    previous: text('previous').notNull(),
    etag: text('etag'),
    idProperty: text('id_property'),
    /** The normalised match value, for a create whose earlier attempt may have reached the CRM. */
    matchKey: text('match_key'),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: text('created_at').notNull(),
    finishedAt: text('finished_at'),
  },
  (table) => [
    index('outbox_due').on(table.objectType, table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    index('outbox_link').on(table.linkId, table.crm).where(sql`${table.status} = 'pending'`),
    index('outbox_dead').on(table.objectType).where(sql`${table.status} = 'dead'`),
  ],
);

/** One row per write sent to a CRM, and its outcome. Append-only: rows are never changed or removed. */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id').notNull(),
    outboxId: integer('outbox_id').notNull(),
    linkId: text('link_id').notNull(),
    objectType: text('object_type').notNull(),
    crm: text('crm').notNull(),
    recordId: text('record_id'),
    operation: text('operation').notNull(),
    /** JSON: field → { old, new }. */
    changes: text('changes').notNull(),
    /** done | exists | stale | retry | refused */
    outcome: text('outcome').notNull(),
    httpStatus: integer('http_status'),
    error: text('error'),
    /** HubSpot's correlation id or Dataverse's request id of the answer. */
    requestId: text('request_id'),
    at: text('at').notNull(),
  },
  (table) => [index('audit_log_link').on(table.linkId), index('audit_log_run').on(table.runId)],
);
