/**
 * `crmsync emulator` with webhooks: a write through the HubSpot API reaches the receiver
 * signed with the secret from the environment, no secret or key is printed, and Ctrl-C
 * ends the process at once even with a retry waiting.
 */
import { createHmac } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { startReceiver, type Receiver } from '../../emulators/test/webhook-receiver.js';
import { startCrmsync } from '../helpers/cli.js';

const SECRET = 'hubspot-app-secret';
const KEY = 'dataverse-webhook-key';
const receivers: Receiver[] = [];
afterAll(() => Promise.all(receivers.map((receiver) => receiver.close())));

test('HubSpot writes arrive signed; secrets stay unprinted; Ctrl-C stops with a retry pending', async () => {
  const receiver = await startReceiver();
  receivers.push(receiver);
  // The first delivery fails, so a retry is waiting when the emulator is stopped.
  receiver.answer((index) => ({ status: index === 0 ? 503 : 200 }));
  const emulator = startCrmsync(
    ['emulator', '--port', '0', '--dynamics-port', '0', '--seed', 'contacts=1', '--dynamics-seed', 'contacts=1', '--webhook-url', `${receiver.url}/hubspot`, '--dynamics-webhook-url', `${receiver.url}/dataverse`],
    { HUBSPOT_CLIENT_SECRET: SECRET, D365_WEBHOOK_KEY: KEY },
  );
  try {
    await emulator.printed('Press Ctrl-C');
    const stdout = emulator.stdout();
    expect(stdout).toContain(`HubSpot webhooks to ${receiver.url}/hubspot\n`);
    expect(stdout).toContain(`Dynamics 365 webhooks to ${receiver.url}/dataverse\n`);
    expect(stdout).not.toContain(SECRET);
    expect(stdout).not.toContain(KEY);
    const exported = Object.fromEntries([...stdout.matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1] as string, match[2] as string]));
    const created = await fetch(`${exported.HUBSPOT_BASE_URL}/crm/v3/objects/contacts`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${exported.HUBSPOT_ACCESS_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ properties: { email: 'hook@example.com' } }),
    });
    expect(created.status).toBe(201);
    const id = Number(((await created.json()) as { id: string }).id);
    await expect.poll(() => receiver.posts.length, { timeout: 10_000 }).toBeGreaterThan(0);

    const post = receiver.posts[0]!;
    expect(post.json).toMatchObject([{ subscriptionType: 'contact.creation', objectId: id, attemptNumber: 0 }]);
    const timestamp = post.headers['x-hubspot-request-timestamp'] as string;
    const signature = createHmac('sha256', SECRET).update(`POST${receiver.url}/hubspot${post.body}${timestamp}`).digest('base64');
    expect(post.headers['x-hubspot-signature-v3']).toBe(signature);
  } finally {
    emulator.child.kill('SIGINT');
  }
  const run = await emulator.done;
  expect(run.code, run.stderr).toBe(0);
  expect(receiver.posts).toHaveLength(1);
});
