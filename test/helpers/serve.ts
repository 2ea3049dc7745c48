import { createServer } from 'node:net';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { startCrmsync, type RunningCli } from './cli.js';
import { query } from './db.js';

/** A port nothing listens on now: the emulators are told where to deliver before serve starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `condition` holds, checking every 50 ms; fails with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `crmsync serve` in the background, once its first poll has ended. */
export async function startServe(args: string[], env: Record<string, string | undefined>): Promise<RunningCli> {
  const serve = startCrmsync(['serve', ...args], env);
  await serve.printed('crmsync serve listening on');
  await eventually(() => polls(serve) >= 1, 'the first poll');
  return serve;
}

/** Polls the serve process has finished so far. */
export const polls = (serve: RunningCli): number => serve.stderr().match(/ poll: /g)?.length ?? 0;

/** Events stored in webhook_events: all of them, and those waiting. */
export function storedEvents(db: string): { stored: number; waiting: number; distinct: number } {
  return query<{ stored: number; waiting: number; distinct: number }>(
    db,
    'SELECT count(*) AS stored, count(*) - count(processed_at) AS waiting, count(DISTINCT source || event_id) AS "distinct" FROM webhook_events',
  )[0];
}

/** Calls HubSpot's batch API of the emulator, as another app of the portal would. */
export async function hubspotBatch(emulator: HubSpotEmulator, object: string, action: 'create' | 'update' | 'archive', inputs: unknown[]): Promise<void> {
  const response = await fetch(`${emulator.url}/crm/v3/objects/${object}/batch/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs }),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`batch ${action} of ${object} answered ${response.status}`);
}

/** 1,000 changes through HubSpot's API, in batches of 100 `pauseMs` apart: 700 updates, 200 creations and 100 deletions of existing contacts. */
export async function thousandChanges(emulator: HubSpotEmulator, pauseMs: number, afterBatch: (batch: number) => void | Promise<void> = () => {}): Promise<void> {
  const ids = emulator.store.all('contacts').map((record) => record.id);
  if (ids.length < 800) throw new Error('thousandChanges needs at least 800 contacts');
  const batches: [string, 'create' | 'update' | 'archive', unknown[]][] = [];
  for (let batch = 0; batch < 7; batch++) {
    batches.push(['contacts', 'update', ids.slice(batch * 100, batch * 100 + 100).map((id, index) => ({ id, properties: { jobtitle: `Changed ${batch}-${index}`, city: `City ${index}` } }))]);
  }
  for (let batch = 0; batch < 2; batch++) {
    batches.push(['contacts', 'create', Array.from({ length: 100 }, (_, index) => ({ properties: { email: `webhook-${batch}-${index}@example.com`, firstname: `New ${index}` } }))]);
  }
  batches.push(['contacts', 'archive', ids.slice(700, 800).map((id) => ({ id }))]);
  for (const [index, [object, action, inputs]] of batches.entries()) {
    await hubspotBatch(emulator, object, action, inputs);
    await afterBatch(index);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
