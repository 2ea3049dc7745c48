import type { SourceName } from '../../config/sources.js';
import type { Store } from '../../db/database.js';
import { WebhookEvents, type WaitingEvent } from '../../db/webhook-events.js';
import type { Logger } from '../../log.js';
import { changesRecord } from '../../processors/webhook-events.js';
import { ObjectSyncEngine } from '../object-sync-engine.js';
import { notStarted, type RunResult, type SyncOptions } from '../run-lifecycle.js';
import { connect, syncTwoWayObject, type RunContext } from '../run-objects.js';
import { READ_WEBHOOK_IDS } from '../strategy.js';
import type { ChangedIds } from '../two-way/two-way-engine.js';
import type { ObjectLocks } from './object-locks.js';
import { routeKey, type EventRoutes, type ServedObject } from './served-objects.js';

/** Events taken per pass: a pass reads each named record once, however many events name it. */
const EVENTS_PER_PASS = 20_000;
/** Events arriving within this of each other are read back together. */
const GATHER_MS = 25;
/** After a failed read-back (the CRM unreachable, the lease held elsewhere), waits double from this up to the maximum. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** A read-back run: every flag at its default. */
const READ_BACK: SyncOptions = { dryRun: false, maxRecords: 0, full: false, forceOverwrite: false };

/** An object's events of one pass, and the records they name per CRM. */
interface ObjectEvents {
  object: ServedObject;
  ids: Record<SourceName, Set<string>>;
  events: Record<SourceName, number[]>;
}

export interface ProcessorDependencies {
  store: Store;
  context: RunContext;
  routes: EventRoutes;
  locks: ObjectLocks;
  log: Logger;
  /** Told of every read-back run (tests, the bench). */
  onRun?: (results: RunResult[]) => void;
}

/**
 * Takes the events `serve` stored, a pass at a time: coalesces them per object, reads the
 * records they name back from their CRM by id (never trusting the event's values) through
 * the normal runs (the two-way run for two-way objects), and marks them processed. Events of
 * objects not served, and kinds that change no record, are marked ignored. A failed
 * read-back leaves its events waiting and is tried again, later each time; events stored
 * when a process died are the next process's first pass.
 */
export class WebhookProcessor {
  private readonly events: WebhookEvents;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  /** Objects whose last read-back failed: their events wait until then, the others' do not. */
  private readonly backoff = new Map<string, { until: number; delayMs: number }>();

  constructor(private readonly deps: ProcessorDependencies) {
    this.events = new WebhookEvents(deps.store);
  }

  /** New events were stored: a pass starts soon, or after the one under way. */
  wake(delayMs = GATHER_MS): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => void this.pass(), delayMs);
  }

  /** Processes every event waiting, failed objects too, then takes no more wake-ups (shutdown: the server has stopped accepting). */
  async drain(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    this.backoff.clear();
    while (this.events.waiting(1).length > 0 && (await this.processOnce()).done) {
      // Each pass takes the oldest events; a pass that could not do everything ends the drain.
    }
  }

  private async pass(): Promise<void> {
    this.timer = undefined;
    this.again = false;
    const run = this.processOnce().catch((error: unknown) => {
      // The store itself failed: the events stay waiting for the next pass.
      this.deps.log.error(`webhooks: ${(error as Error).message}`);
      return { done: false, deferred: true };
    });
    this.running = run.then(() => undefined);
    const { deferred } = await run;
    this.running = undefined;
    if (this.stopped) return;
    if (this.again || (!deferred && this.events.waiting(1).length > 0)) this.wake();
    else if (this.backoff.size > 0) this.wake(Math.max(GATHER_MS, Math.min(...[...this.backoff.values()].map((entry) => entry.until)) - Date.now()));
  }

  /** One pass over the events waiting: whether it did all it took, and whether it left events of objects waiting out a failure. */
  private async processOnce(): Promise<{ done: boolean; deferred: boolean }> {
    const waiting = this.events.waiting(EVENTS_PER_PASS);
    if (waiting.length === 0) return { done: true, deferred: false };
    const { groups, ignored, deferred } = this.group(waiting);
    if (ignored.length > 0) this.events.markProcessed(ignored, 'ignored');
    const outcomes = await Promise.all([...groups.values()].map((group) => this.deps.locks.run(group.object.entry.name, () => this.readBack(group))));
    [...groups.keys()].forEach((name, index) => this.noteOutcome(name, outcomes[index]));
    return { done: outcomes.every(Boolean), deferred };
  }

  /** A failed read-back waits twice as long as the one before it (1 s to 60 s); a done one clears that. */
  private noteOutcome(object: string, done: boolean): void {
    if (done) {
      this.backoff.delete(object);
      return;
    }
    const delayMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, (this.backoff.get(object)?.delayMs ?? 0) * 2));
    this.backoff.set(object, { until: Date.now() + delayMs, delayMs });
    this.deps.log.warn(`webhooks: ${object}: events left waiting; trying again in ${Math.round(delayMs / 1000)} s`);
  }

  private group(waiting: WaitingEvent[]): { groups: Map<string, ObjectEvents>; ignored: number[]; deferred: boolean } {
    const groups = new Map<string, ObjectEvents>();
    const ignored: number[] = [];
    let deferred = false;
    const now = Date.now();
    for (const event of waiting) {
      const source = event.source as SourceName;
      const route = event.objectType === null ? undefined : this.deps.routes.get(routeKey(source, event.objectType));
      if (!route || event.objectId === null || !changesRecord(source, event.kind)) {
        ignored.push(event.id);
        continue;
      }
      const name = route.object.entry.name;
      if ((this.backoff.get(name)?.until ?? 0) > now) {
        deferred = true;
        continue;
      }
      let group = groups.get(name);
      if (!group) groups.set(name, (group = { object: route.object, ids: { hubspot: new Set(), dynamics: new Set() }, events: { hubspot: [], dynamics: [] } }));
      group.ids[source].add(event.objectId);
      group.events[source].push(event.id);
    }
    return { groups, ignored, deferred };
  }

  /** Reads one object's named records back; whether all of it was done. */
  private async readBack(group: ObjectEvents): Promise<boolean> {
    const { object } = group;
    if (object.twoWay) {
      const ids: ChangedIds = { hubspot: [...group.ids.hubspot], dynamics: [...group.ids.dynamics] };
      const results = await this.safely(object.entry.name, () => syncTwoWayObject(object.entry, READ_BACK, this.deps.context, ids));
      const twoWayRun = results.at(-1);
      return this.settle(twoWayRun, [...group.events.hubspot, ...group.events.dynamics]);
    }
    let done = true;
    for (const mapping of object.mappings) {
      const ids = [...group.ids[mapping.source]];
      if (ids.length === 0) continue;
      const [result] = await this.safely(object.entry.name, async () => {
        const { crm, connection } = await connect(mapping.source, this.deps.context);
        const { store, log, progress } = this.deps.context;
        const engine = new ObjectSyncEngine({ mapping, crm, reader: connection.reader(mapping), origin: connection.origin, store, log, progress });
        return [await engine.readIds({ ids, gone: [] }, READ_BACK, READ_WEBHOOK_IDS)];
      });
      done = this.settle(result, group.events[mapping.source]) && done;
    }
    return done;
  }

  /** The run's results; a run that could not start (its lease held elsewhere, its CRM unreachable) is a failed result with the reason. */
  private async safely(object: string, run: () => Promise<RunResult[]>): Promise<RunResult[]> {
    try {
      const results = await run();
      this.deps.onRun?.(results);
      return results;
    } catch (error) {
      this.deps.log.warn(`webhooks: ${object}: ${(error as Error).message}`);
      return [notStarted(object, 'webhook', READ_BACK, error)];
    }
  }

  /** Marks the events processed by a run that finished, or failed (kept waiting) by one that did not. */
  private settle(result: RunResult | undefined, eventIds: number[]): boolean {
    if (result && result.status !== 'failed') {
      this.events.markProcessed(eventIds, 'applied', result.runId);
      return true;
    }
    this.events.markFailed(eventIds, result?.error ?? 'the read-back did not run');
    return false;
  }
}
