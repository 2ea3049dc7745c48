import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import type { SourcePage } from '../../src/clients/crm.js';
import { HubSpotClient } from '../../src/clients/hubspot/client.js';
import { HubSpotReader } from '../../src/clients/hubspot/reader.js';
import { objectByName } from '../../src/config/load.js';
import { settingsOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';

const contacts = objectByName(config, 'contacts');
let emulator: HubSpotEmulator;
beforeAll(async () => {
  emulator = await startHubSpotEmulator({ seed: { contacts: 600 }, seedValue: 61 });
});
afterAll(() => emulator?.close());

const reader = () => new HubSpotReader(new HubSpotClient(settingsOf(emulator)), contacts, 'both');
const idsOf = (pages: SourcePage[]) => pages.flatMap((page) => page.records.map((record) => String((record as { id: string }).id)));

async function read(resume?: unknown): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of reader().pages({ mode: 'full', pageSize: 50, resume })) pages.push(page);
  return pages;
}

describe('a full read from both ends resumed from any of its checkpoints', () => {
  test('reads exactly the records its first pages did not, each once', async () => {
    const all = emulator.store.all('contacts').map((record) => record.id).sort();
    const pages = await read();
    expect(idsOf(pages).sort()).toEqual(all);
    expect(pages.some((page) => (page.checkpoint as { searchLow: number }).searchLow <= Number(all.at(-1)))).toBe(true);

    const last = pages.length - 1;
    for (const stop of [...new Set([0, 2, Math.floor(last / 2), last - 1, last])]) {
      const before = idsOf(pages.slice(0, stop + 1));
      const after = idsOf(await read(pages[stop].checkpoint));
      expect([...before, ...after].sort(), `resumed after page ${stop + 1} of ${pages.length}`).toEqual(all);
    }
  });

  test('resumed after its last page, with the list at its end, it reads nothing more', async () => {
    const pages = await read();
    const done = pages.at(-1)!.checkpoint as { listAfter: string | null; met: boolean };
    expect(done).toMatchObject({ listAfter: null, met: true });
    const requestsBefore = emulator.stats.requests;
    expect(idsOf(await read(done))).toEqual([]);
    expect(emulator.stats.requests).toBe(requestsBefore);
  });
});
