// The webhook section of `npm run bench`: how long a change made in HubSpot takes to reach
// the local store (one-way) and Dynamics 365 (two-way) through `crmsync serve`, with the
// emulators posting their webhooks to it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';

/** Contacts in the CRMs; changes are made to distinct ones. */
const PEOPLE = 2_000;
/** Changes per second, and HubSpot writes in flight at once: a steady stream, not one burst. */
const CHANGES_PER_SECOND = 40;
const WRITES_IN_FLIGHT = 2;
/** How often the script looks at the store for the changes. */
const WATCH_MS = 20;
/** After the last write, how long the changes have to arrive before the run fails. */
const ARRIVAL_TIMEOUT_MS = 30_000;
const POLL_LINE = /^\d{4}-\d\d-\d\dT\S+ poll: /m;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free on 127.0.0.1 now (serve takes it a moment later). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** This process's environment without any CRM or store setting: serve gets only the ones given. */
function cleanEnv(settings) {
  const kept = Object.entries(process.env).filter(([name]) => !/^(HUBSPOT_|D365_|CRMSYNC_)/.test(name));
  return { ...Object.fromEntries(kept), ...settings };
}

/** Starts `crmsync serve`: `firstPoll` resolves once its first poll has finished; `stop()` sends SIGTERM and waits for the exit. */
function startServe(bin, port, env) {
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--poll', '1h', '--objects', 'contacts'], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stdout.resume();
  const firstPoll = new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const line = POLL_LINE.exec(stderr);
      if (line) resolve(stderr.slice(line.index).split('\n')[0]);
    });
    exited.then(({ code, signal }) => reject(new Error(`crmsync serve exited (${code ?? signal}) before its first poll: ${stderr.slice(-500)}`)));
  });
  const stop = async () => {
    const started = performance.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    return { code: code ?? signal, seconds: (performance.now() - started) / 1000, stderr };
  };
  return { firstPoll, stop, kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

/**
 * Sets jobtitle `lat-<n>` on contact ids[n] through HubSpot's API, CHANGES_PER_SECOND a
 * second; resolves with each write's time (ms since the epoch) as the API answered it.
 */
async function writeChanges(emulator, ids) {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  const answeredAt = new Array(ids.length);
  const started = Date.now();
  let next = 0;
  const writer = async () => {
    for (let n = next++; n < ids.length; n = next++) {
      await sleep(started + (n * 1000) / CHANGES_PER_SECOND - Date.now());
      const reply = await request(`${emulator.url}/crm/v3/objects/contacts/${ids[n]}`, {
        method: 'PATCH',
        dispatcher,
        headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { jobtitle: `lat-${n}` } }),
      });
      answeredAt[n] = Date.now();
      await reply.body.dump();
      if (reply.statusCode !== 200) throw new Error(`PATCH contacts/${ids[n]} answered ${reply.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, writer));
  await dispatcher.close();
  return answeredAt;
}

/**
 * Polls the store (read-only) every WATCH_MS while the changes are written: `arrivals()`
 * gives [n, ms] for the markers `lat-<n>` it finds and when each arrived; the first arrival
 * counts. Resolves with each change's latency once all are in; throws after
 * ARRIVAL_TIMEOUT_MS without them.
 */
async function watchWhileWriting(db, count, arrivals, writing) {
  const arrivedAt = new Array(count);
  let arrived = 0;
  let answeredAt;
  let deadline = Infinity;
  let failure;
  writing.then(
    (times) => {
      answeredAt = times;
      deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
    },
    (error) => {
      failure = error;
      deadline = 0;
    },
  );
  const store = new Database(db, { readonly: true });
  try {
    while (arrived < count && Date.now() < deadline) {
      for (const [n, at] of arrivals(store)) {
        if (arrivedAt[n] === undefined && n < count) (arrivedAt[n] = at), arrived++;
      }
      await sleep(WATCH_MS);
    }
  } finally {
    store.close();
  }
  if (failure) throw failure;
  answeredAt ??= await writing;
  if (arrived < count) throw new Error(`webhook latency: ${arrived} of ${count} changes arrived within ${ARRIVAL_TIMEOUT_MS / 1000} s of the last write`);
  return arrivedAt.map((at, n) => at - answeredAt[n]);
}

const markerNumber = (value) => Number(/^lat-(\d+)$/.exec(value ?? '')?.[1] ?? NaN);

/** p50, p95 and max of latencies in ms (nearest rank). */
function percentiles(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const rank = (p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
  return { count: sorted.length, p50: Math.round(rank(0.5)), p95: Math.round(rank(0.95)), max: Math.round(sorted.at(-1)) };
}

/** Waits until serve has no stored event left to process and none came in for a second. */
async function settled(db) {
  const store = new Database(db, { readonly: true });
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  try {
    let last = '';
    for (let quietSince = Date.now(); Date.now() - quietSince < 1_000; await sleep(100)) {
      if (Date.now() > deadline) throw new Error(`webhook latency: serve still had webhooks coming in or waiting ${ARRIVAL_TIMEOUT_MS / 1000} s after its first poll`);
      const { total, waiting } = store.prepare('SELECT count(*) AS total, count(*) - count(processed_at) AS waiting FROM webhook_events').get();
      const now = `${total}/${waiting}`;
      if (now !== last || waiting > 0) (last = now), (quietSince = Date.now());
    }
  } finally {
    store.close();
  }
}

/** One-way: HubSpot → serve → the local store; a change has arrived when the store holds it. */
async function oneWay({ bin, work, startEmulator, changes }) {
  const port = await freePort();
  const secret = randomBytes(16).toString('hex');
  const emulator = await startEmulator(['--seed', `contacts=${PEOPLE},companies=0,deals=0,tickets=0`, '--dynamics-seed', 'contacts=0,accounts=0', '--webhook-url', `http://127.0.0.1:${port}/webhooks/hubspot`, '--webhook-secret', secret]);
  const db = join(work, 'webhooks-one-way.db');
  const serve = startServe(bin, port, { HUBSPOT_BASE_URL: emulator.url, HUBSPOT_ACCESS_TOKEN: emulator.token, HUBSPOT_CLIENT_SECRET: secret, CRMSYNC_DB: db });
  try {
    await serve.firstPoll;
    const reader = new Database(db, { readonly: true });
    const ids = reader.prepare("SELECT source_id FROM records WHERE source = 'hubspot' AND object_type = 'contacts' ORDER BY random() LIMIT ?").pluck().all(changes);
    reader.close();
    const markers = `SELECT json_extract(fields_json, '$.jobtitle') FROM records WHERE source = 'hubspot' AND object_type = 'contacts' AND json_extract(fields_json, '$.jobtitle') LIKE 'lat-%'`;
    const arrivals = (store) => store.prepare(markers).pluck().all().map((value) => [markerNumber(value), Date.now()]);
    const latencies = await watchWhileWriting(db, ids.length, arrivals, writeChanges(emulator, ids));
    return { ...percentiles(latencies), stopped: await serve.stop() };
  } finally {
    serve.kill();
    await emulator.stop();
  }
}

/**
 * Two-way: HubSpot → serve → Dynamics 365; a change has arrived when the audit log records
 * Dataverse's answer to the write that carried it to the twin.
 */
async function twoWay({ bin, work, startEmulator, changes }) {
  const port = await freePort();
  const secret = randomBytes(16).toString('hex');
  const key = randomBytes(16).toString('hex');
  const emulator = await startEmulator([
    '--seed', 'contacts=0,companies=0,deals=0,tickets=0', '--dynamics-seed', 'contacts=0,accounts=0', '--shared-seed', `contacts=${PEOPLE},companies=1`,
    '--webhook-url', `http://127.0.0.1:${port}/webhooks/hubspot`, '--webhook-secret', secret,
    '--dynamics-webhook-url', `http://127.0.0.1:${port}/webhooks/dynamics`, '--dynamics-webhook-key', key,
  ]);
  const db = join(work, 'webhooks-two-way.db');
  const serve = startServe(bin, port, { HUBSPOT_BASE_URL: emulator.url, HUBSPOT_ACCESS_TOKEN: emulator.token, ...emulator.dynamics, HUBSPOT_CLIENT_SECRET: secret, D365_WEBHOOK_KEY: key, CRMSYNC_DB: db });
  try {
    await serve.firstPoll;
    // The first poll's writes come back as webhooks (echoes): the stream starts once they are processed.
    await settled(db);
    const reader = new Database(db, { readonly: true });
    const pairs = reader.prepare("SELECT hubspot_id, dynamics_id FROM entity_links WHERE object_type = 'contacts' AND hubspot_id IS NOT NULL AND dynamics_id IS NOT NULL ORDER BY random() LIMIT ?").all(changes);
    const firstAudit = reader.prepare('SELECT coalesce(max(id), 0) FROM audit_log').pluck().get();
    let lastAudit = firstAudit;
    reader.close();
    if (pairs.length < changes) throw new Error(`webhook latency: the first poll linked ${pairs.length} contacts, ${changes} are needed`);
    const twinOf = pairs.map((pair) => pair.dynamics_id);
    const audits = `SELECT id, record_id, json_extract(changes, '$.jobtitle.new') AS jobtitle, at FROM audit_log WHERE id > ? AND crm = 'dynamics' AND outcome = 'done' ORDER BY id`;
    const arrivals = (store) => {
      const rows = store.prepare(audits).all(lastAudit);
      if (rows.length > 0) lastAudit = rows.at(-1).id;
      return rows.map((row) => [markerNumber(row.jobtitle), Date.parse(row.at)]).filter(([n], index) => twinOf[n] === rows[index].record_id);
    };
    const latencies = await watchWhileWriting(db, pairs.length, arrivals, writeChanges(emulator, pairs.map((pair) => pair.hubspot_id)));
    const stopped = await serve.stop();
    // The writes to Dynamics 365 come back as its webhooks; read back, they must write nothing to HubSpot.
    const store = new Database(db, { readonly: true });
    const echoWrites = store.prepare("SELECT count(*) FROM audit_log WHERE id > ? AND crm = 'hubspot'").pluck().get(firstAudit);
    store.close();
    return { ...percentiles(latencies), stopped, echoWrites };
  } finally {
    serve.kill();
    await emulator.stop();
  }
}

/** Both measurements, one after the other (each with its own emulator and serve process). */
export async function webhookLatency(setup) {
  setup.log(`8. webhook latency: ${setup.changes} HubSpot changes at ${CHANGES_PER_SECOND}/s through crmsync serve, one-way to the store, then two-way to Dynamics 365`);
  return { changes: setup.changes, oneWay: await oneWay(setup), twoWay: await twoWay(setup) };
}

const latencyText = (figures, changes) => `p50 ${figures.p50} ms, p95 ${figures.p95} ms, max ${figures.max} ms (${figures.count} of ${changes} arrived)`;
const stopText = ({ stopped }) => `${stopped.code} in ${stopped.seconds.toFixed(1)} s`;

/** The summary table's rows: [measurement, measured, target, met]. */
export function webhookRows(webhooks) {
  const { changes, oneWay: one, twoWay: two } = webhooks;
  return [
    [`Webhooks, one-way: HubSpot change → local store, ${changes.toLocaleString('en')} changes at ${CHANGES_PER_SECOND}/s`, latencyText(one, changes), 'p95 ≤ 2 s, all', one.p95 <= 2_000 && one.count === changes],
    [`Webhooks, two-way: HubSpot change → written to Dynamics 365, ${changes.toLocaleString('en')} changes at ${CHANGES_PER_SECOND}/s`, latencyText(two, changes), 'p95 ≤ 5 s, all', two.p95 <= 5_000 && two.count === changes],
    ['Webhooks, two-way: writes to HubSpot while those changes and their echoes were processed', String(two.echoWrites), '0', two.echoWrites === 0],
    ['Webhooks: crmsync serve after SIGTERM, exit code', `one-way ${stopText(one)}, two-way ${stopText(two)}`, '0', one.stopped.code === 0 && two.stopped.code === 0],
  ];
}

/** How the webhook figures are measured, for BENCHMARKS.md. */
export function webhookMethod(changes) {
  const count = changes.toLocaleString('en');
  return `- **Webhooks**: \`crmsync emulator --webhook-url http://127.0.0.1:<port>/webhooks/hubspot --webhook-secret <s>\`
  (HubSpot seeded with ${PEOPLE.toLocaleString('en')} contacts) and \`crmsync serve --port <port> --poll 1h --objects contacts\`, each in
  its own process, serve with only HubSpot's settings and \`HUBSPOT_CLIENT_SECRET\` (contacts served one way). Once
  serve's first poll has finished, ${count} distinct contacts get a job title of their own (\`lat-<n>\`) through HubSpot's
  API (\`PATCH /crm/v3/objects/contacts/{id}\`), ${CHANGES_PER_SECOND} a second, at most ${WRITES_IN_FLIGHT} in flight: a stream, not a burst. A
  change's latency runs from the API's answer to its write until the script, polling the SQLite file (read-only) every
  ${WATCH_MS} ms, finds the job title in the contact's row. Two-way: the emulator with \`--shared-seed contacts=${PEOPLE}\` and
  both CRMs' webhooks (\`--dynamics-webhook-url …/webhooks/dynamics --dynamics-webhook-key <k>\` too) pointing at serve,
  which gets both CRMs' settings (contacts two-way); after its first poll (which links the pairs) and the processing of
  that poll's echoes, ${count} linked contacts get a job title the same way, and the latency runs to the \`at\` of the
  audit row of Dataverse's answer to the write that carried it to the twin. Those writes come back as Dataverse
  webhooks; reading them back must write nothing to HubSpot (audit rows for HubSpot from the first change until serve
  stopped). Percentiles by nearest rank; every change must arrive within ${ARRIVAL_TIMEOUT_MS / 1000} s of the last write, or the bench
  fails. Then SIGTERM: serve stops accepting, processes what it stored and must exit 0.`;
}
