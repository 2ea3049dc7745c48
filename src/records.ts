/**
 * A record as it passes between the layers: the shape a CRM sends it in, mapped into local
 * columns or rejected with its reasons, deleted, or associated with another record. Clients
 * produce these, processors make them, the database stores them; none of them owns them.
 */

/** What the mapper needs to know about the records a CRM sends. */
export interface RecordShape {
  /**
   * envelope: `{ id, properties: { ... }, updatedAt }`, the values inside `properties`;
   * flat: the record's own keys are its properties, its key among them.
   */
  layout: 'envelope' | 'flat';
  /** Whether values may arrive as JSON numbers and booleans, or only as strings. */
  jsonScalars: boolean;
  /** Envelopes: the property the envelope's `id` stands for; a mapping keyed on it reads the id. */
  idProperty?: string;
}

/** A record deleted in its CRM, and when (or when crmsync learnt of it, where the CRM does not say). */
export interface Deletion {
  sourceId: string;
  deletedAt: string;
}

/** A record's id and when it was last modified, as a CRM lists them: what a reconciliation compares with the local copy. */
export interface RecordVersion {
  id: string;
  /** ISO-8601; null when the CRM holds no modification time for the record. */
  modifiedAt: string | null;
}

export interface FieldProblem {
  column: string;
  property: string;
  value: unknown;
  reason: string;
}

export interface MappedRecord {
  sourceId: string;
  /** ISO-8601 modification time from the object's modification property. */
  modifiedAt: string;
  fields: Record<string, unknown>;
  raw: unknown;
  /** Lenient mode: fields stored as received because they did not parse. */
  warnings: FieldProblem[];
}

export interface RejectedRecord {
  sourceId: string | null;
  raw: unknown;
  reasons: FieldProblem[];
}

/** One association of a record with another, of one association type. */
export interface Association {
  fromId: string;
  toId: string;
  typeId: number;
  category: string;
  label: string | null;
}
