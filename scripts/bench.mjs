#!/usr/bin/env node
// npm run bench: measures crmsync on this machine against the emulator (run in its own
// process, so the CLI's figures are its own) and writes BENCHMARKS.md.
//
//   npm run bench                 every measurement (about 7 minutes)
//   BENCH_QUICK=1 npm run bench   smaller record counts, for a quick look (not written to BENCHMARKS.md)
//   BENCH_ONLY=webhooks npm run bench   the webhook latency section alone (not written to BENCHMARKS.md)
//   BENCH_ONLY=rate-limits npm run bench  the rate-limited runs alone (not written to BENCHMARKS.md)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { bothEnds, bothEndsMethod, bothEndsRows } from './bench-both-ends.mjs';
import { webhookLatency, webhookMethod, webhookRows } from './bench-webhooks.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/crmsync.js');
// Observations kept next to the measured table (profiles, causes of a missed target).
const NOTES = join(ROOT, 'scripts/bench-notes.md');
const QUICK = Boolean(process.env.BENCH_QUICK);
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'webhooks' && ONLY !== 'rate-limits') {
  process.stderr.write(`BENCH_ONLY=${ONLY} names no section: those that run alone are BENCH_ONLY=webhooks and BENCH_ONLY=rate-limits\n`);
  process.exit(2);
}
const SIZES = QUICK
  ? { pipeline: 20_000, memory: [10_000, 50_000], changed: 2_000, rate: { contacts: 3_000, companies: 500, deals: 1_000 }, webhookChanges: 200 }
  : { pipeline: 200_000, memory: [100_000, 1_000_000], changed: 20_000, rate: { contacts: 20_000, companies: 3_000, deals: 7_000 }, webhookChanges: 1_000 };
const work = mkdtempSync(join(os.tmpdir(), 'crmsync-bench-'));
const log = (line) => process.stderr.write(`${line}\n`);

/** Starts `crmsync emulator` in its own process and waits for its URL and token. */
function startEmulator(args) {
  const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const url = /HUBSPOT_BASE_URL=(\S+)/.exec(text)?.[1];
      const token = /HUBSPOT_ACCESS_TOKEN=(\S+)/.exec(text)?.[1];
      const dynamics = Object.fromEntries([...text.matchAll(/export (D365_\w+)=(\S+)/g)].map((match) => [match[1], match[2]]));
      if (url && token && dynamics.D365_CA_CERT) {
        child.removeAllListeners('exit');
        resolve({ url, token, dynamics, stop: () => new Promise((done) => (child.on('exit', done), child.kill('SIGINT'))) });
      }
    });
  });
}

/** Runs the real CLI; resolves with its exit code, parsed --json summary and wall time. */
function crmsync(args, env) {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      let summary;
      try {
        summary = JSON.parse(stdout);
      } catch {
        summary = undefined;
      }
      if (code !== 0 && code !== null && args.includes('--json')) log(`crmsync ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
      resolve({ code, summary, wallMs, stdout, stderr });
    }),
  );
}

const envFor = (emulator, db) => ({ HUBSPOT_BASE_URL: emulator.url, HUBSPOT_ACCESS_TOKEN: emulator.token, ...emulator.dynamics, CRMSYNC_DB: db });
const sum = (results, key) => results.reduce((total, result) => total + (result.metrics[key] ?? 0), 0);
const round = (value, digits = 2) => Number(value.toFixed(digits));
const requestCount = (n) => `${n} request${n === 1 ? '' : 's'}`;

/** The same rows crmsync stored, upserted with plain better-sqlite3 in pages of the same size. */
function rawUpsertRate(syncedDb) {
  const source = new Database(syncedDb, { readonly: true });
  const rows = source.prepare('SELECT * FROM records').all();
  // The table and its indexes, exactly as crmsync's migrations created them.
  const ddl = source.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'records' AND sql IS NOT NULL ORDER BY type DESC").all().map((row) => row.sql);
  source.close();
  const path = join(work, 'raw-upsert.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const statement of ddl) db.exec(statement);
  const upsert = db.prepare(
    `INSERT INTO records (source, object_type, source_id, raw_json, fields_json, content_hash, source_modified_at, is_deleted, deleted_at, first_run_id, last_run_id)
     VALUES (@source, @object_type, @source_id, @raw_json, @fields_json, @content_hash, @source_modified_at, @is_deleted, @deleted_at, @first_run_id, @last_run_id)
     ON CONFLICT (source, object_type, source_id) DO UPDATE SET raw_json = excluded.raw_json, fields_json = excluded.fields_json,
       content_hash = excluded.content_hash, source_modified_at = excluded.source_modified_at, last_run_id = excluded.last_run_id`,
  );
  const page = db.transaction((batch) => {
    for (const row of batch) upsert.run(row);
  });
  const started = performance.now();
  for (let start = 0; start < rows.length; start += 100) page(rows.slice(start, start + 100));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  rmSync(path, { force: true });
  return rows.length / seconds;
}

/** Changes `count` contacts through the batch update API (like users editing in HubSpot). */
async function changeContacts(emulator, ids) {
  for (let start = 0; start < ids.length; start += 100) {
    const inputs = ids.slice(start, start + 100).map((id) => ({ id, properties: { jobtitle: `Changed ${start}` } }));
    const response = await fetch(`${emulator.url}/crm/v3/objects/contacts/batch/update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs }),
    });
    if (!response.ok) throw new Error(`batch update answered ${response.status}`);
  }
}

/**
 * What keeping versions costs a full sync: the same full sync-contacts into fresh databases with
 * history: false on contacts, alternated with runs that keep versions; the best of each.
 */
async function versionsCost(emulator, firstRun) {
  log(`7. full sync-contacts of ${SIZES.pipeline} contacts with and without versions (history: false)`);
  const config = join(work, 'no-history.yaml');
  writeFileSync(config, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8').replace('\n  contacts:\n', '\n  contacts:\n    history: false\n'));
  const fullSync = async (name, extra) => {
    const db = join(work, `${name}.db`);
    const run = (await crmsync([...extra, 'sync-contacts', '--json', '--quiet'], envFor(emulator, db))).summary.results[0];
    const versionRows = new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM record_versions').get().n;
    rmSync(db, { force: true });
    return { seconds: run.metrics.durationMs / 1000, versionRows };
  };
  const without = [await fullSync('no-history-1', ['--config', config])];
  const withVersions = [{ seconds: firstRun.metrics.durationMs / 1000, versionRows: firstRun.counts.created }, await fullSync('history-2', [])];
  without.push(await fullSync('no-history-2', ['--config', config]));
  const best = (runs) => runs.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const on = best(withVersions);
  const off = best(without);
  return { withSeconds: round(on.seconds, 1), withoutSeconds: round(off.seconds, 1), versionRows: on.versionRows, withoutRows: off.versionRows, overheadPercent: round((on.seconds / off.seconds - 1) * 100, 1) };
}

async function pipelineAndRequests() {
  log(`1+4. full sync-contacts of ${SIZES.pipeline} contacts, no-op runs, ${SIZES.changed} contacts changed, an incremental run`);
  const emulator = await startEmulator(['--seed', `contacts=${SIZES.pipeline},companies=1000,deals=1000`]);
  const db = join(work, 'pipeline.db');
  try {
    const full = await crmsync(['sync-contacts', '--json', '--quiet'], envFor(emulator, db));
    const [fullRun] = full.summary.results;
    const rawRate = rawUpsertRate(db);
    const versions = await versionsCost(emulator, fullRun);
    await crmsync(['sync-all', '--json', '--quiet'], envFor(emulator, db)); // companies and deals read in full
    const noop = (await crmsync(['sync-all', '--json', '--quiet'], envFor(emulator, db))).summary.results;
    const ids = new Database(db, { readonly: true }).prepare("SELECT source_id FROM records WHERE object_type = 'contacts' ORDER BY random() LIMIT ?").all(SIZES.changed).map((row) => row.source_id);
    await changeContacts(emulator, ids);
    const incremental = (await crmsync(['sync-contacts', '--json', '--quiet'], envFor(emulator, db))).summary.results[0];
    // Right after those changes, the next run re-reads the overlap window (10 minutes before the watermark).
    const rerun = (await crmsync(['sync-contacts', '--json', '--quiet'], envFor(emulator, db))).summary.results[0];
    return {
      versions,
      pipeline: { records: fullRun.counts.processed, recordsPerSecond: fullRun.metrics.recordsPerSecond, rawRate: Math.round(rawRate), ratio: round(fullRun.metrics.recordsPerSecond / rawRate), seconds: round(fullRun.metrics.durationMs / 1000, 1) },
      requests: {
        full: round((fullRun.metrics.requests * 1000) / fullRun.counts.processed),
        incremental: round((incremental.metrics.requests * 1000) / incremental.counts.processed),
        incrementalDetail: `${incremental.metrics.requests} requests for ${incremental.counts.processed} records, ${incremental.counts.updated} updated`,
        noopPerObject: Math.max(...noop.map((result) => result.metrics.requests)),
        rerun: `${rerun.metrics.requests} requests, ${rerun.counts.processed} records re-read, ${rerun.counts.updated} updated`,
      },
    };
  } finally {
    await emulator.stop();
  }
}

async function memory() {
  const figures = {};
  for (const count of SIZES.memory) {
    log(`2. peak RSS of a full sync of ${count} contacts`);
    const emulator = await startEmulator(['--seed', `contacts=${count}`]);
    const db = join(work, `memory-${count}.db`);
    try {
      const run = await crmsync(['sync-contacts', '--json', '--quiet'], envFor(emulator, db));
      const [result] = run.summary.results;
      figures[count] = { peakRssMb: result.metrics.peakRssMb, recordsPerSecond: result.metrics.recordsPerSecond, seconds: round(result.metrics.durationMs / 1000, 1) };
    } finally {
      await emulator.stop();
      rmSync(db, { force: true });
    }
  }
  return figures;
}

// HubSpot allows 100 requests per 10 s; the window is scaled down 5x (100 per 2 s) so the
// run takes seconds, not minutes. Searches keep their real per-second limit (5/s).
const RATE = { max: 100, windowMs: 2_000, searchPerSecond: 5, latencyMs: 20 };

async function rateLimit() {
  const seed = Object.entries(SIZES.rate).map(([name, count]) => `${name}=${count}`).join(',');
  log(`3. sync-all of ${seed} with HubSpot's limits on (${RATE.max} per ${RATE.windowMs} ms, ${RATE.searchPerSecond} searches/s) and ${RATE.latencyMs} ms latency`);
  const emulator = await startEmulator(['--seed', seed, '--rate-limit', '--rate-limit-max', String(RATE.max), '--rate-limit-window', String(RATE.windowMs), '--latency', String(RATE.latencyMs)]);
  const db = join(work, 'rate.db');
  try {
    const run = await crmsync(['sync-all', '--skip-associations', '--json', '--quiet'], envFor(emulator, db));
    const results = run.summary.results;
    const searches = sum(results, 'searches');
    const general = sum(results, 'requests') - searches;
    // The window and the search limit are separate budgets, drawn on side by side: the run
    // can end no sooner than the busier of the two allows.
    const lowerBoundSeconds = Math.max(general / (RATE.max / (RATE.windowMs / 1000)), searches / RATE.searchPerSecond);
    // Objects run concurrently: the process's wall time, start-up included.
    const wallSeconds = run.wallMs / 1000;
    return { requests: sum(results, 'requests'), searches, wallSeconds: round(wallSeconds, 1), lowerBoundSeconds: round(lowerBoundSeconds, 1), ratio: round(wallSeconds / lowerBoundSeconds), received429: sum(results, 'rateLimited') };
  } finally {
    await emulator.stop();
  }
}

/** Changes Dynamics 365 contacts through the Web API (PATCH, 8 at a time), as users editing them would. */
async function changeDynamicsContacts(dynamics, ids) {
  const dispatcher = new Agent({ connect: { ca: readFileSync(dynamics.D365_CA_CERT, 'utf8') } });
  const tokenReply = await request(`${dynamics.D365_AUTHORITY_HOST}/${dynamics.D365_TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: dynamics.D365_CLIENT_ID, client_secret: dynamics.D365_CLIENT_SECRET, scope: `${dynamics.D365_RESOURCE_URL}/.default` }).toString(),
  });
  const { access_token: token } = await tokenReply.body.json();
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id; id = queue.shift()) {
      const reply = await request(`${dynamics.D365_RESOURCE_URL}/api/data/v9.2/contacts(${id})`, {
        method: 'PATCH',
        dispatcher,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '*' },
        body: JSON.stringify({ jobtitle: 'Changed' }),
      });
      await reply.body.dump();
      if (reply.statusCode >= 300) throw new Error(`PATCH contacts(${id}) answered ${reply.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await dispatcher.close();
}

async function dynamics() {
  log(`6. Dynamics 365: full sync-contacts --source dynamics of ${SIZES.pipeline} contacts, ${SIZES.changed} changed, a change-tracked run, a no-op run`);
  const emulator = await startEmulator(['--seed', 'contacts=1', '--dynamics-seed', `contacts=${SIZES.pipeline},accounts=1`]);
  const db = join(work, 'dynamics.db');
  const sync = async () => (await crmsync(['sync-contacts', '--source', 'dynamics', '--json', '--quiet'], envFor(emulator, db))).summary.results[0];
  try {
    const full = await sync();
    const ids = new Database(db, { readonly: true }).prepare("SELECT source_id FROM records WHERE source = 'dynamics' AND object_type = 'contacts' ORDER BY random() LIMIT ?").all(SIZES.changed).map((row) => row.source_id);
    await changeDynamicsContacts(emulator.dynamics, ids);
    const delta = await sync();
    const noop = await sync();
    // Memory follows the page size (two pages are in flight), not the number of records.
    const smallPages = (await crmsync(['sync-contacts', '--source', 'dynamics', '--batch-size', '1000', '--json', '--quiet'], envFor(emulator, join(work, 'dynamics-1000.db')))).summary.results[0];
    return {
      smallPages: { peakRssMb: smallPages.metrics.peakRssMb, recordsPerSecond: smallPages.metrics.recordsPerSecond, requests: smallPages.metrics.requests },
      full: { records: full.counts.processed, recordsPerSecond: full.metrics.recordsPerSecond, seconds: round(full.metrics.durationMs / 1000, 1), requests: full.metrics.requests, peakRssMb: full.metrics.peakRssMb },
      delta: { requests: delta.metrics.requests, processed: delta.counts.processed, updated: delta.counts.updated, syncMode: delta.syncMode },
      noop: { requests: noop.metrics.requests, processed: noop.counts.processed },
    };
  } finally {
    await emulator.stop();
  }
}

/** Linked pairs' ids: the first `count` for HubSpot edits, the next `count` for Dynamics 365 edits. */
function linkedPairs(db, count) {
  const store = new Database(db, { readonly: true });
  const rows = store.prepare('SELECT hubspot_id AS hubspot, dynamics_id AS dynamics FROM entity_links WHERE hubspot_id IS NOT NULL AND dynamics_id IS NOT NULL ORDER BY random() LIMIT ?').all(count * 2);
  store.close();
  return { hubspot: rows.slice(0, count).map((row) => row.hubspot), dynamics: rows.slice(count).map((row) => row.dynamics) };
}

/** A two-way run's figures from its --json summary: the two-way row, and the requests of its inbound reads per CRM. */
function twoWayFigures(summary) {
  const [hubspotRead, dynamicsRead, run] = summary.results;
  const written = { hubspot: run.twoWay.created.hubspot + run.twoWay.updated.hubspot, dynamics: run.twoWay.created.dynamics + run.twoWay.updated.dynamics };
  const per1000 = (crm) => (written[crm] > 0 ? round((run.twoWay.writeRequests[crm] * 1000) / written[crm]) : null);
  return {
    pairs: run.twoWay.pairsMerged,
    linked: run.twoWay.linked,
    written,
    writeRequests: run.twoWay.writeRequests,
    requests: { hubspot: hubspotRead.metrics.requests + run.twoWay.writeRequests.hubspot, dynamics: dynamicsRead.metrics.requests + run.twoWay.writeRequests.dynamics },
    per1000: { hubspot: per1000('hubspot'), dynamics: per1000('dynamics') },
    mergeRate: run.twoWay.mergeMs > 0 ? Math.round((run.twoWay.pairsMerged * 1000) / run.twoWay.mergeMs) : null,
    seconds: round(run.metrics.durationMs / 1000, 1),
  };
}

async function twoWay() {
  const people = SIZES.changed;
  const changed = people / 10;
  log(`7. two-way: ${people} contacts in both CRMs, ${changed} changed on each side, then a rerun and a no-op run`);
  const emulator = await startEmulator(['--seed', 'contacts=0,companies=0,deals=0,tickets=0', '--dynamics-seed', 'contacts=0,accounts=0', '--shared-seed', `contacts=${people},companies=1`]);
  const db = join(work, 'two-way.db');
  // Incremental HubSpot reads re-read the changes of the last 10 minutes before the watermark
  // (the overlap) for records HubSpot's search index shows late. The emulator's index is never
  // late, and the re-read is the same for one-way and two-way runs: these runs go without it.
  const config = join(work, 'two-way-mappings.yaml');
  writeFileSync(config, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8').replace('overlap: 10m', 'overlap: 0s'));
  const run = async () => {
    const result = await crmsync(['--config', config, 'sync-contacts', '--two-way', '--json', '--quiet'], envFor(emulator, db));
    return { code: result.code, ...twoWayFigures(result.summary) };
  };
  try {
    const first = await run();
    const echo = await run();
    const ids = linkedPairs(db, changed);
    await changeContacts(emulator, ids.hubspot);
    await changeDynamicsContacts(emulator.dynamics, ids.dynamics);
    const edits = await run();
    const editsEcho = await run();
    const noop = await run();
    return { people, changed, first, echo, edits, editsEcho, noop };
  } finally {
    await emulator.stop();
  }
}

async function startup() {
  log('5. wall time of crmsync --help (median of 11)');
  const times = [];
  for (let run = 0; run < 11; run++) times.push((await crmsync(['--help'], {})).wallMs);
  times.sort((a, b) => a - b);
  return { medianMs: Math.round(times[5]), minMs: Math.round(times[0]) };
}

const rateRows = (rate) => [
  ['Rate limits on: wall time ÷ lower bound', `${rate.ratio} (${rate.wallSeconds} s vs ${rate.lowerBoundSeconds} s for ${rate.requests} requests, ${rate.searches} of them searches)`, '≤ 1.10', rate.ratio <= 1.1],
  ['Rate limits on: 429 responses received', String(rate.received429), '0', rate.received429 === 0],
];

const markdownTable = (rows) =>
  [
    '| measurement | measured | target | met |',
    '|---|---|---|---|',
    ...rows.map(([name, value, target, met]) => `| ${name} | ${value} | ${target} | ${met === '' ? '' : met ? 'yes' : '**no**'} |`),
  ].join('\n');
const webhookSetup = { bin: BIN, work, startEmulator, changes: SIZES.webhookChanges, log };
const bothEndsSetup = { quick: QUICK, work, join, startEmulator, crmsync, envFor, log };

if (ONLY === 'rate-limits') {
  try {
    const rate = await rateLimit();
    process.stdout.write(`${markdownTable([...rateRows(rate), ...bothEndsRows(await bothEnds(bothEndsSetup))])}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

if (ONLY === 'webhooks') {
  try {
    process.stdout.write(`${markdownTable(webhookRows(await webhookLatency(webhookSetup)))}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

const started = new Date();
const { pipeline, requests, versions } = await pipelineAndRequests();
const memoryFigures = await memory();
const rate = await rateLimit();
const bothEndsFigures = await bothEnds(bothEndsSetup);
const help = await startup();
const d365 = await dynamics();
const twoWayRuns = await twoWay();
const webhooks = await webhookLatency(webhookSetup);
rmSync(work, { recursive: true, force: true });

const [small, large] = SIZES.memory;
const rows = [
  ['Local pipeline: full sync-contacts, records/s', `${pipeline.recordsPerSecond} (${pipeline.records} in ${pipeline.seconds} s)`, '', ''],
  [`Full sync-contacts of ${SIZES.pipeline.toLocaleString('en')} contacts keeping versions ÷ without (history: false)`, `${versions.overheadPercent >= 0 ? "+" : ""}${versions.overheadPercent} % (${versions.withSeconds} s with ${versions.versionRows} version rows, ${versions.withoutSeconds} s with ${versions.withoutRows})`, '≤ +15 %', versions.overheadPercent <= 15],
  ['Raw better-sqlite3 upsert of the same rows, rows/s', String(pipeline.rawRate), '', ''],
  ['Pipeline ÷ raw upsert', String(pipeline.ratio), '≥ 0.25', pipeline.ratio >= 0.25],
  [`Peak RSS, full sync of ${small.toLocaleString('en')} contacts`, `${memoryFigures[small].peakRssMb} MB (${memoryFigures[small].recordsPerSecond} records/s)`, '≤ 150 MB', memoryFigures[small].peakRssMb <= 150],
  [`Peak RSS, full sync of ${large.toLocaleString('en')} contacts`, `${memoryFigures[large].peakRssMb} MB (${memoryFigures[large].recordsPerSecond} records/s, ${memoryFigures[large].seconds} s)`, '≤ 150 MB', memoryFigures[large].peakRssMb <= 150],
  ...rateRows(rate),
  ...bothEndsRows(bothEndsFigures),
  ['Requests per 1,000 records, full run', String(requests.full), '≤ 10.1', requests.full <= 10.1],
  ['Requests per 1,000 records, incremental run', `${requests.incremental} (${requests.incrementalDetail})`, '≤ 5.1 (+1 per object)', requests.incremental <= 5.1 + 1000 / SIZES.changed],
  ['Requests per object, no-op run', String(requests.noopPerObject), '≤ 2', requests.noopPerObject <= 2],
  ['A run right after the incremental one (overlap re-read)', requests.rerun, '', ''],
  ['Start-up: crmsync --help', `${help.medianMs} ms median (${help.minMs} ms best)`, '≤ 250 ms', help.medianMs <= 250],
  ['Dynamics 365: full sync-contacts --source dynamics, records/s', `${d365.full.recordsPerSecond} (${d365.full.records} in ${d365.full.seconds} s, ${d365.full.requests} requests, peak RSS ${d365.full.peakRssMb} MB)`, '', ''],
  ['Dynamics 365: the same with --batch-size 1000', `peak RSS ${d365.smallPages.peakRssMb} MB (${d365.smallPages.recordsPerSecond} records/s, ${d365.smallPages.requests} requests)`, '', ''],
  ['Dynamics 365: requests per 1,000 records, full run', String(round((d365.full.requests * 1000) / d365.full.records)), '', ''],
  [`Dynamics 365: change-tracked run after ${SIZES.changed.toLocaleString('en')} edits`, `${requestCount(d365.delta.requests)} for ${d365.delta.processed} records, ${d365.delta.updated} updated`, '', ''],
  ['Dynamics 365: no-op run', `${requestCount(d365.noop.requests)}, ${d365.noop.processed} records`, '', ''],
  [`Two-way, first run over ${twoWayRuns.people.toLocaleString('en')} shared contacts`, `${twoWayRuns.first.linked} linked, written: HubSpot ${twoWayRuns.first.written.hubspot}, Dynamics 365 ${twoWayRuns.first.written.dynamics} in ${twoWayRuns.first.seconds} s`, '', ''],
  ['Two-way, the run right after it (echo)', `written: HubSpot ${twoWayRuns.echo.written.hubspot}, Dynamics 365 ${twoWayRuns.echo.written.dynamics}`, '0', twoWayRuns.echo.written.hubspot + twoWayRuns.echo.written.dynamics === 0],
  [`Two-way, ${twoWayRuns.changed.toLocaleString('en')} changed on each side: HubSpot requests per 1,000 written`, `${twoWayRuns.edits.per1000.hubspot} (${twoWayRuns.edits.writeRequests.hubspot} for ${twoWayRuns.edits.written.hubspot})`, '≤ 10.5', twoWayRuns.edits.per1000.hubspot !== null && twoWayRuns.edits.per1000.hubspot <= 10.5],
  [`Two-way, the same: Dynamics 365 requests per 1,000 written`, `${twoWayRuns.edits.per1000.dynamics} (${twoWayRuns.edits.writeRequests.dynamics} for ${twoWayRuns.edits.written.dynamics})`, '≤ 2', twoWayRuns.edits.per1000.dynamics !== null && twoWayRuns.edits.per1000.dynamics <= 2],
  ['Two-way: merge stage, pairs/s', `${twoWayRuns.edits.mergeRate} (${twoWayRuns.edits.pairs} pairs; first run: ${twoWayRuns.first.mergeRate} for ${twoWayRuns.first.pairs})`, '', ''],
  ['Two-way: echo of those writes', `written: HubSpot ${twoWayRuns.editsEcho.written.hubspot}, Dynamics 365 ${twoWayRuns.editsEcho.written.dynamics}`, '0', twoWayRuns.editsEcho.written.hubspot + twoWayRuns.editsEcho.written.dynamics === 0],
  ['Two-way: no-op run, requests per CRM', `HubSpot ${twoWayRuns.noop.requests.hubspot}, Dynamics 365 ${twoWayRuns.noop.requests.dynamics}`, '≤ 2 each', twoWayRuns.noop.requests.hubspot <= 2 && twoWayRuns.noop.requests.dynamics <= 2],
  ...webhookRows(webhooks),
];

const table = markdownTable(rows);
process.stdout.write(`${table}\n`);

if (!QUICK) {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  writeFileSync(
    join(ROOT, 'BENCHMARKS.md'),
    `# Benchmarks

Measured by \`npm run bench\` (scripts/bench.mjs) on ${started.toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu},
${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node.js ${process.version}. The HubSpot emulator runs in its
own process (\`crmsync emulator\`); every figure comes from the real CLI's \`--json\` summary
(performance_metrics), except the raw upsert, measured by the script on the rows the CLI stored, and the webhook
latencies, timed by the script from the emulator's answers to what \`crmsync serve\` stored.

${table}

How each is measured:
- **Local pipeline**: a full \`crmsync sync-contacts\` of ${SIZES.pipeline.toLocaleString('en')} emulated contacts, no latency, no rate limit:
  records processed ÷ run duration. The raw rate upserts the very rows that run stored
  (raw JSON, mapped fields, hash) into an empty table of the same schema and indexes with one prepared
  \`INSERT … ON CONFLICT DO UPDATE\`, 100 rows per transaction, in the same WAL/synchronous
  settings.
- **Versions**: the same full sync into fresh databases, alternating a mappings.yaml with \`history: false\` on contacts and
  the shipped one (which keeps a version of every record in \`record_versions\`): the fastest of two runs each, run durations
  from the CLI's summary.
- **Memory**: \`process.resourceUsage().maxRSS\` at the end of a full sync, reported by the CLI.
- **Rate limits**: the wall time of one \`sync-all --skip-associations\` process (up to 3 objects at a time) of ${Object.entries(SIZES.rate).map(([name, count]) => `${count.toLocaleString('en')} ${name}`).join(', ')} with the emulator
  enforcing ${RATE.max} requests per rolling window and ${RATE.searchPerSecond} searches per second, with ${RATE.latencyMs} ms latency per response.
  HubSpot's window is 10 s; here it is scaled down to ${RATE.windowMs / 1000} s so the run takes seconds. Lower bound
  = the larger of non-search requests ÷ (${RATE.max} per ${RATE.windowMs / 1000} s) and searches ÷ ${RATE.searchPerSecond} per s (\`searches\` in the
  run's metrics): the two budgets are drawn on side by side, so the run can end no sooner than the busier one allows.
${bothEndsMethod(QUICK)}
- **Requests**: the full run above; a \`sync-all\` that reads the 1,000 companies and 1,000 deals beside the contacts, then
  one more with nothing changed (the most requests any one object made); ${SIZES.changed.toLocaleString('en')} contacts changed
  through the batch update API and an incremental run; then one more run, which re-reads what changed within the overlap
  (10 minutes) before the watermark: the price of never missing a late-indexed record.
- **Start-up**: median wall time of 11 runs of \`node bin/crmsync.js --help\`.
- **Dynamics 365**: the Dynamics emulator (HTTPS, MSAL sign-in) in the same separate process, seeded with ${SIZES.pipeline.toLocaleString('en')} contacts;
  a full \`sync-contacts --source dynamics\` at the default page of 5,000 rows, then the same into a fresh database with
  \`--batch-size 1000\`; ${SIZES.changed.toLocaleString('en')} contacts changed through the Web API (PATCH) and a run that reads them
  through the delta link; then one more run with nothing changed.
- **Two-way**: both emulators in one process with \`--shared-seed contacts=${SIZES.changed.toLocaleString('en')}\` (the same people in both CRMs,
  some fields differing, a few only on one side, one email twice in Dataverse); \`crmsync sync-contacts --two-way\` links them and
  writes what differs; the next run must write nothing. Then ${(SIZES.changed / 10).toLocaleString('en')} linked contacts get a new job title
  through HubSpot's batch update API and ${(SIZES.changed / 10).toLocaleString('en')} others through Dataverse PATCHes, and one two-way run
  carries each side's edits to the other: requests of its writes ÷ records written, per CRM (HubSpot batch update, 100 per
  request; Dataverse \`$batch\`, 1,000 per request). The merge rate is pairs merged ÷ the time spent pairing and merging.
  Then the echo of those writes, and a run with nothing changed: every request of both CRMs, reads included. These runs
  use \`incremental.overlap: 0s\`: the emulator's search index is never late. With the shipped 10-minute overlap, each
  incremental HubSpot read re-reads the changes of the 10 minutes before its watermark (one search request per 200
  records), two-way or not: a no-op run right after 2,000 writes re-reads them and still writes nothing.
${webhookMethod(SIZES.webhookChanges)}
${existsSync(NOTES) ? `\n${readFileSync(NOTES, 'utf8')}` : ''}`,
  );
  log('wrote BENCHMARKS.md');
}
