import type { SourceName } from '../config/sources.js';

/** One event a CRM sent, as webhook_events stores it. */
export interface IncomingEvent {
  source: SourceName;
  /** Unique per event and the same on every redelivery of it. */
  eventId: string;
  /** HubSpot's subscriptionType (contact.propertyChange); Dataverse's MessageName (Update). */
  kind: string;
  /** The CRM's name of the record's type (HubSpot: contact, company, or an objectTypeId such as 2-123; Dataverse: the logical name). */
  objectType: string | null;
  objectId: string | null;
  occurredAt: string | null;
  /** The event as sent, JSON. */
  payload: string;
}

/** A body that is not what the CRM sends: the sender is told 400. */
export class WebhookBodyError extends Error {}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null);

/** Milliseconds since the epoch (HubSpot's occurredAt) as ISO-8601. */
function fromEpochMs(value: unknown): string | null {
  const ms = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(ms) && ms >= 0 && ms < 8.64e15 ? new Date(ms).toISOString() : null;
}

/**
 * HubSpot's v3 webhook body: always a JSON array of events, even for one. Standard objects
 * name their type in the subscription (contact.creation); the generic subscriptions
 * (object.propertyChange) carry it in objectTypeId.
 */
export function hubspotEvents(body: unknown): IncomingEvent[] {
  if (!Array.isArray(body)) throw new WebhookBodyError('expected a JSON array of events');
  return body.map((event, index) => {
    if (!isObject(event)) throw new WebhookBodyError(`event ${index} is not an object`);
    const eventId = text(event.eventId);
    const kind = text(event.subscriptionType);
    if (eventId === null) throw new WebhookBodyError(`event ${index} has no eventId`);
    if (kind === null) throw new WebhookBodyError(`event ${index} has no subscriptionType`);
    const prefix = kind.split('.')[0];
    return {
      source: 'hubspot',
      eventId,
      kind,
      objectType: prefix === 'object' ? text(event.objectTypeId) : prefix,
      objectId: text(event.objectId),
      occurredAt: fromEpochMs(event.occurredAt),
      payload: JSON.stringify(event),
    };
  });
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const guid = (value: unknown): string | null => {
  const id = text(value);
  return id === null || id === EMPTY_GUID ? null : id.toLowerCase();
};

/** Dataverse's WCF-style date in JSON: "/Date(1735689600000)/". */
function fromWcfDate(value: unknown): string | null {
  const match = typeof value === 'string' ? /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(value) : null;
  return match ? fromEpochMs(Number(match[1])) : typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : null;
}

/**
 * A Dataverse service-endpoint webhook body: one RemoteExecutionContext. Its id is the
 * async operation's (OperationId), kept across Dataverse's retry; synchronous steps have
 * none and are told apart by RequestId.
 */
export function dynamicsEvent(body: unknown): IncomingEvent {
  if (!isObject(body)) throw new WebhookBodyError('expected a RemoteExecutionContext JSON object');
  const kind = text(body.MessageName);
  if (kind === null) throw new WebhookBodyError('the context has no MessageName');
  const eventId = guid(body.OperationId) ?? guid(body.RequestId);
  if (eventId === null) throw new WebhookBodyError('the context has neither OperationId nor RequestId');
  return {
    source: 'dynamics',
    eventId,
    kind,
    objectType: text(body.PrimaryEntityName),
    objectId: guid(body.PrimaryEntityId),
    occurredAt: fromWcfDate(body.OperationCreatedOn),
    payload: JSON.stringify(body),
  };
}

/**
 * Events that say a record was created, changed or deleted: its record is read back. Others
 * (HubSpot's associationChange, Dataverse messages such as RetrieveMultiple) are stored and
 * set aside.
 */
const RECORD_EVENTS: Record<SourceName, (kind: string) => boolean> = {
  hubspot: (kind) => ['creation', 'propertyChange', 'deletion', 'restore', 'merge', 'privacyDeletion'].includes(kind.slice(kind.indexOf('.') + 1)),
  dynamics: (kind) => ['Create', 'Update', 'Delete', 'Assign', 'SetState', 'SetStateDynamicEntity', 'Restore'].includes(kind),
};

export function changesRecord(source: SourceName, kind: string): boolean {
  return RECORD_EVENTS[source](kind);
}
