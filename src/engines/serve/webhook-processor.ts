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
  private retryMs = 0;
  private stopped = false;

  constructor(private readonly deps: ProcessorDependencies) {
    this.events = new WebhookEvents(deps.store);
  }

  /** New events were stored: a pass starts soon, or after the one under way. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => void this.pass(), this.retryMs || GATHER_MS);
  }

  /** Processes every event waiting, then stops taking new wake-ups (shutdown: the server has stopped accepting). */
  async drain(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    let waiting = this.events.waiting(1).length;
    while (waiting > 0) {
      const progressed = await this.processOnce();
      waiting = this.events.waiting(1).length;
      if (!progressed) break;
    }
  }

  private async pass(): Promise<void> {
    this.timer = undefined;
    this.again = false;
    const run = this.processOnce();
    this.running = run.then(() => undefined);
    const allDone = await run;
    this.running = undefined;
    this.retryMs = allDone ? 0 : Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, this.retryMs * 2));
    if (this.stopped) return;
    if (!allDone) this.deps.log.warn(`webhooks: events left waiting; trying again in ${Math.round(this.retryMs / 1000)} s`);
    if (this.again || !allDone || this.events.waiting(1).length > 0) this.wake();
  }

  /** One pass over the events waiting; whether every group it took was processed. */
  private async processOnce(): Promise<boolean> {
    const waiting = this.events.waiting(EVENTS_PER_PASS);
    if (waiting.length === 0) return true;
    const { groups, ignored } = this.group(waiting);
    if (ignored.length > 0) this.events.markProcessed(ignored, 'ignored');
    const outcomes = await Promise.all([...groups.values()].map((group) => this.deps.locks.run(group.object.entry.name, () => this.readBack(group))));
    return outcomes.every(Boolean);
  }

  private group(waiting: WaitingEvent[]): { groups: Map<string, ObjectEvents>; ignored: number[] } {
    const groups = new Map<string, ObjectEvents>();
    const ignored: number[] = [];
    for (const event of waiting) {
      const source = event.source as SourceName;
      const route = event.objectType === null ? undefined : this.deps.routes.get(routeKey(source, event.objectType));
      if (!route || event.objectId === null || !changesRecord(source, event.kind)) {
        ignored.push(event.id);
        continue;
      }
      const name = route.object.entry.name;
      let group = groups.get(name);
      if (!group) groups.set(name, (group = { object: route.object, ids: { hubspot: new Set(), dynamics: new Set() }, events: { hubspot: [], dynamics: [] } }));
      group.ids[source].add(event.objectId);
      group.events[source].push(event.id);
    }
    return { groups, ignored };
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
