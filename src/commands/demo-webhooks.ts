import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load.js';
import { EXIT_CODES } from '../errors.js';
import type { RunResult } from '../engines/run-lifecycle.js';
import { serve } from '../server/serve.js';
import { codesOf, pickPairs, quoted, type DemoSession, type PairField, type TwoWayDemoPlan } from './demo-two-way.js';

/** Longer than the demo lasts: every change after the first poll arrives by webhook or not at all. */
const DEMO_POLL_MS = 60 * 60 * 1000;
/** How long the change may take to arrive before the step counts as failed. */
const ARRIVAL_TIMEOUT_MS = 30_000;
const CHECK_EVERY_MS = 10;
const TITLES = ['Director of Webhooks', 'Head of Real-Time Sync'];

/** A serve under way in this process, told of its runs. */
interface RunningServe {
  url: string;
  /** The first poll's runs, once it ended. */
  firstPoll: Promise<RunResult[]>;
  runs: RunResult[];
  /** Stops accepting, processes what is stored, resolves once stopped. */
  stop(): Promise<void>;
}

/**
 * `crmsync serve` in this process, both emulators posting their webhooks to it, and a job
 * title changed through HubSpot's API: the webhook makes serve read the contact back by id
 * and, contacts being two-way, write the change to Dynamics 365, long before any poll. The
 * exit codes of its runs and of the step.
 */
export async function demonstrateWebhooks(session: DemoSession, plan: TwoWayDemoPlan, config: Config): Promise<number[]> {
  const [pair] = pickPairs(session, plan.contacts, 1);
  const objects = plan.entries.map((entry) => entry.name);
  session.say(
    `\n13. crmsync serve: each CRM posts a webhook when a record changes; serve stores the event, reads the record back by id (never trusting the event's values) ` +
      `and, for a two-way object, writes the change to the other CRM; polling (--poll) is only the backstop for webhooks that get lost\n` +
      `$ crmsync serve --objects ${objects.join(',')} --poll 1h`,
  );
  if (!pair) {
    session.context.log.error('demo: no linked contact left to change for the webhook step: seed more with --shared-seed');
    return [EXIT_CODES.failed];
  }
  const running = await startServe(session, config, objects);
  try {
    await running.firstPoll;
    const title = pair.fresh(TITLES);
    const before = lastRunId(session);
    session.say(`Listening on ${running.url}; in HubSpot, through its API: ${pair.label('hubspot')} ${pair.field.column} ${quoted(pair.read('hubspot'))} → ${quoted(title)}`);
    const arrival = await changeAndWait(session, pair, title);
    const polled = runsSince(session, before).filter((mode) => mode !== 'webhook').length;
    if (!arrival || polled > 0) {
      session.context.log.error(`demo: expected ${quoted(title)} by webhook in the local store and in Dynamics 365 within ${ARRIVAL_TIMEOUT_MS / 1000} s and no poll; ${arrival ? `${polled} polling runs` : 'it did not arrive'}`);
      return [...codesOf(running.runs), EXIT_CODES.failed];
    }
    session.say(
      `Arrived by webhook, no poll: ${pair.field.column} ${quoted(title)} in the local store after ${seconds(arrival.local)} and in Dynamics 365 ${pair.label('dynamics')} after ${seconds(arrival.dynamics)} ` +
        `(read back by run ${arrival.runId}, sync_mode webhook)`,
    );
    // Dataverse's webhook of that write comes back too: serve reads the row and finds nothing to write.
    await Promise.all([session.hubspot.webhooksIdle(), session.dynamics.webhooksIdle()]);
    return [...codesOf(running.runs), EXIT_CODES.success];
  } finally {
    await running.stop();
  }
}

/** serve on a free port of 127.0.0.1, with both emulators' webhooks pointed at it. */
async function startServe(session: DemoSession, config: Config, objects: string[]): Promise<RunningServe> {
  const { hubspot, dynamics, context } = session;
  const hubspotSecret = randomBytes(16).toString('hex');
  const dynamicsKey = randomBytes(16).toString('hex');
  const stopping = new AbortController();
  const signal = context.signal ? AbortSignal.any([stopping.signal, context.signal]) : stopping.signal;
  const runs: RunResult[] = [];
  let pollEnded: (results: RunResult[]) => void = () => undefined;
  const firstPoll = new Promise<RunResult[]>((resolve) => (pollEnded = resolve));
  let listening: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const served = serve(
    { host: '127.0.0.1', port: 0, pollMs: DEMO_POLL_MS, objects, hubspotSecret, dynamicsKey },
    {
      config,
      settings: { hubspot: context.hubspot, dynamics: context.dynamics },
      store: session.store,
      log: context.log,
      signal,
      onListening: listening,
      // No event is stored before the first poll ends, so the first runs reported are the poll's.
      onRuns: (results) => {
        runs.push(...results);
        pollEnded(results);
      },
    },
  );
  const address = await Promise.race([url, served.then(() => Promise.reject(new Error('crmsync serve stopped before it listened')))]);
  hubspot.setWebhooks({ url: `${address}/webhooks/hubspot`, secret: hubspotSecret });
  dynamics.setWebhooks({ url: `${address}/webhooks/dynamics`, key: dynamicsKey });
  return {
    url: address,
    firstPoll,
    runs,
    stop: async () => {
      stopping.abort();
      await served;
      hubspot.setWebhooks(undefined);
      dynamics.setWebhooks(undefined);
    },
  };
}

interface Arrival {
  /** Seconds from the change until the local store held it, and Dynamics 365. */
  local: number;
  dynamics: number;
  /** The webhook run that read the record back (its event marked applied). */
  runId: number;
}

/** Writes `title` through HubSpot's API and waits for it to arrive everywhere, by webhook; undefined after the timeout. */
async function changeAndWait(session: DemoSession, pair: PairField, title: string): Promise<Arrival | undefined> {
  const started = performance.now();
  const { hubspot } = session;
  const answer = await fetch(`${hubspot.url}/crm/v3/objects/${pair.mapping('hubspot').remoteName}/${pair.id('hubspot')}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${hubspot.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ properties: { [pair.field.hubspot.property]: title } }),
  });
  if (!answer.ok) throw new Error(`the HubSpot emulator refused the change: HTTP ${answer.status}`);
  let local: number | undefined;
  let dynamics: number | undefined;
  while (performance.now() - started < ARRIVAL_TIMEOUT_MS) {
    const elapsed = (performance.now() - started) / 1000;
    local ??= storedValue(session, pair) === title ? elapsed : undefined;
    dynamics ??= pair.read('dynamics') === title ? elapsed : undefined;
    const runId = appliedBy(session, pair);
    if (local !== undefined && dynamics !== undefined && runId !== undefined) return { local, dynamics, runId };
    await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
  }
  return undefined;
}

/** The webhook run that applied the latest HubSpot event of the record, once it is marked. */
function appliedBy(session: DemoSession, pair: PairField): number | undefined {
  const row = session.store.sqlite
    .prepare(
      `SELECT run_id AS runId FROM webhook_events JOIN sync_history ON sync_history.id = run_id
       WHERE source = 'hubspot' AND object_id = ? AND outcome = 'applied' AND sync_mode = 'webhook' ORDER BY webhook_events.id DESC LIMIT 1`,
    )
    .get(pair.id('hubspot')) as { runId: number } | undefined;
  return row?.runId;
}

/** The field as the local store holds HubSpot's record (its view). */
function storedValue(session: DemoSession, pair: PairField): unknown {
  const view = pair.mapping('hubspot').table.replace(/"/g, '""');
  const column = pair.field.column.replace(/"/g, '""');
  return session.store.sqlite.prepare(`SELECT "${column}" FROM "${view}" WHERE id = ?`).pluck().get(pair.id('hubspot'));
}

const lastRunId = (session: DemoSession) => (session.store.sqlite.prepare('SELECT coalesce(max(id), 0) FROM sync_history').pluck().get() as number);
const runsSince = (session: DemoSession, id: number) => session.store.sqlite.prepare('SELECT sync_mode FROM sync_history WHERE id > ?').pluck().all(id) as string[];
const seconds = (value: number) => `${value.toFixed(2)} s`;
