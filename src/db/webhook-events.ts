import { and, asc, count, eq, inArray, isNull, isNotNull, sql } from 'drizzle-orm';
import type { IncomingEvent } from '../processors/webhook-events.js';
import { SOURCES } from '../config/sources.js';
import type { Store } from './database.js';
import { webhookEvents } from './tables.js';

export type WebhookEventRow = typeof webhookEvents.$inferSelect;
/** An event waiting to be processed, without its payload (processing reads the record back, never the event's values). */
export type WaitingEvent = Pick<WebhookEventRow, 'id' | 'source' | 'kind' | 'objectType' | 'objectId' | 'occurredAt' | 'attempts'>;
export type EventOutcome = 'applied' | 'ignored';
/** Events waiting to be processed, and processed by outcome. */
export type EventCounts = { waiting: number } & Record<EventOutcome, number>;

const now = () => new Date().toISOString();

/** webhook_events: what the CRMs sent, stored before it is acknowledged and marked once acted on. */
export class WebhookEvents {
  constructor(private readonly store: Store) {}

  /** Stores a delivery's events in one transaction; an event id already stored (a redelivery) is left as it is. */
  save(events: IncomingEvent[]): { stored: number; duplicates: number } {
    const receivedAt = now();
    const insert = this.store.sqlite.transaction(() => {
      let stored = 0;
      for (const event of events) {
        const inserted = this.store.orm
          .insert(webhookEvents)
          .values({ ...event, receivedAt })
          .onConflictDoNothing({ target: [webhookEvents.source, webhookEvents.eventId] })
          .run();
        stored += inserted.changes;
      }
      return stored;
    });
    const stored = insert.immediate();
    return { stored, duplicates: events.length - stored };
  }

  /** The oldest events not yet processed. */
  waiting(limit: number): WaitingEvent[] {
    const { id, source, kind, objectType, objectId, occurredAt, attempts } = webhookEvents;
    return this.store.orm
      .select({ id, source, kind, objectType, objectId, occurredAt, attempts })
      .from(webhookEvents)
      .where(isNull(webhookEvents.processedAt))
      .orderBy(asc(webhookEvents.id))
      .limit(limit)
      .all();
  }

  markProcessed(ids: number[], outcome: EventOutcome, runId: number | null = null): void {
    this.inChunks(ids, (chunk) =>
      this.store.orm.update(webhookEvents).set({ processedAt: now(), outcome, runId, lastError: null }).where(inArray(webhookEvents.id, chunk)).run(),
    );
  }

  /** A failed attempt: the events stay waiting, with the error kept. */
  markFailed(ids: number[], error: string): void {
    this.inChunks(ids, (chunk) =>
      this.store.orm
        .update(webhookEvents)
        .set({ attempts: sql`${webhookEvents.attempts} + 1`, lastError: error })
        .where(and(inArray(webhookEvents.id, chunk), isNull(webhookEvents.processedAt)))
        .run(),
    );
  }

  /** Events waiting, and processed by outcome. */
  counts(): EventCounts {
    const total: EventCounts = { waiting: 0, applied: 0, ignored: 0 };
    for (const counts of this.countsBySource().values()) for (const key of Object.keys(total) as (keyof EventCounts)[]) total[key] += counts[key];
    return total;
  }

  /** The same per CRM: every CRM of SOURCES, 0 included, and any other source a row names. */
  countsBySource(): Map<string, EventCounts> {
    const rows = this.store.orm
      .select({ source: webhookEvents.source, outcome: webhookEvents.outcome, processed: isNotNull(webhookEvents.processedAt), n: count() })
      .from(webhookEvents)
      .groupBy(webhookEvents.source, webhookEvents.outcome, isNotNull(webhookEvents.processedAt))
      .all();
    const bySource = new Map<string, EventCounts>(SOURCES.map((source) => [source, { waiting: 0, applied: 0, ignored: 0 }]));
    for (const row of rows) {
      const counts = bySource.get(row.source) ?? { waiting: 0, applied: 0, ignored: 0 };
      bySource.set(row.source, counts);
      if (!row.processed) counts.waiting += row.n;
      else if (row.outcome === 'applied' || row.outcome === 'ignored') counts[row.outcome] += row.n;
    }
    return bySource;
  }

  /** One row by its CRM's event id (tests, `show`). */
  find(source: string, eventId: string): WebhookEventRow | undefined {
    return this.store.orm.select().from(webhookEvents).where(and(eq(webhookEvents.source, source), eq(webhookEvents.eventId, eventId))).get();
  }

  /** SQLite binds at most 32,766 parameters a statement. */
  private inChunks(ids: number[], update: (chunk: number[]) => void): void {
    const CHUNK = 10_000;
    this.store.sqlite.transaction(() => {
      for (let start = 0; start < ids.length; start += CHUNK) update(ids.slice(start, start + CHUNK));
    })();
  }
}
