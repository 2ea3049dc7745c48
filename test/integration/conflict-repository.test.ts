import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConflictRepository } from '../../src/db/conflict-repository.js';
import { openStore, type Store } from '../../src/db/database.js';
import { UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/cli.js';
import { asListed, conflictRow, SAMPLE_GUIDS, sampleConflicts, storeConflict } from '../helpers/conflicts.js';

// Open conflicts are listed oldest first with their pair's record ids; resolving one records the choice once.

let store: Store;
let repository: ConflictRepository;
beforeEach(() => {
  store = openStore(':memory:');
  repository = new ConflictRepository(store);
});
afterEach(() => store.close());

const samples = sampleConflicts(['101', '102']);

/** The sample conflicts: three open ones stored out of order (two contacts, one company) and one resolved. */
function storeSome() {
  const [later, earlier, company, settled] = samples.map((conflict) => storeConflict(store, conflict));
  return { later, earlier, company, settled };
}

describe('ConflictRepository.listOpen', () => {
  test('an empty store has none', () => {
    expect(repository.listOpen()).toEqual([]);
  });

  test('the open conflicts of every object, oldest first, with both record ids and the values parsed', () => {
    const { later, earlier, company } = storeSome();
    const open = repository.listOpen();
    expect(open.map((conflict) => conflict.id)).toEqual([company, earlier, later]);
    expect(open).toEqual([asListed(samples[2], company), asListed(samples[1], earlier), asListed(samples[0], later)]);
    expect(open[1]).toMatchObject({ linkId: 'contacts:101', hubspotId: '101', dynamicsId: SAMPLE_GUIDS[0], hasBaseValue: true, baseValue: 'Engineer' });
    // An agreed empty value is a base; no agreed value is none.
    expect(open[2]).toMatchObject({ field: 'phone', hasBaseValue: true, baseValue: null, dynamicsValue: null, dynamicsChangedAt: null });
    expect(open[0]).toMatchObject({ object: 'companies', hasBaseValue: false, baseValue: null, hubspotValue: 'COMPUTER_SOFTWARE', dynamicsValue: 100000001 });
  });

  test('of one object', () => {
    const { later, earlier, company } = storeSome();
    expect(repository.listOpen('contacts').map((conflict) => conflict.id)).toEqual([earlier, later]);
    expect(repository.listOpen('companies').map((conflict) => conflict.id)).toEqual([company]);
    expect(repository.listOpen('deals')).toEqual([]);
  });

  test('a pair whose twin is still being created has no id on that side', () => {
    const id = storeConflict(store, { hubspotId: '103', dynamicsId: null, field: 'email', hubspot: 'a@example.com', dynamics: 'b@example.com', openedAt: '2026-03-01T10:00:00.000Z' });
    expect(repository.listOpen()).toEqual([expect.objectContaining({ id, hubspotId: '103', dynamicsId: null })]);
  });
});

describe('ConflictRepository.get', () => {
  test('an open or resolved conflict by id; an unknown id is undefined', () => {
    const { earlier, settled } = storeSome();
    expect(repository.get(earlier)).toMatchObject({ field: 'jobtitle', resolvedAt: null });
    expect(repository.get(settled)).toMatchObject({ field: 'lastname', resolvedAt: '2026-02-02T10:00:00.000Z', resolution: 'hubspot', resolvedValue: 'Lovelace' });
    expect(repository.get(9999)).toBeUndefined();
  });
});

describe('ConflictRepository.resolve', () => {
  const at = new Date('2026-03-05T12:00:00.000Z');

  test("HubSpot's value: resolved_at, resolution and its stored value; no longer open", () => {
    const { earlier, later, company } = storeSome();
    const resolved = repository.resolve(earlier, { use: 'hubspot' }, at);
    expect(resolved).toMatchObject({ id: earlier, resolvedAt: at.toISOString(), resolution: 'hubspot', resolvedValue: 'Senior Engineer', closedAt: null });
    expect(conflictRow(store, earlier)).toMatchObject({ resolved_at: at.toISOString(), resolution: 'hubspot', resolved_value: '"Senior Engineer"', closed_at: null });
    expect(repository.listOpen().map((conflict) => conflict.id)).toEqual([company, later]);
  });

  test("Dynamics 365's value is kept as Dynamics 365 holds it (a choice's number)", () => {
    const { company } = storeSome();
    repository.resolve(company, { use: 'dynamics' }, at);
    expect(conflictRow(store, company)).toMatchObject({ resolution: 'dynamics', resolved_value: '100000001' });
  });

  test('an empty Dynamics 365 value is chosen as JSON null', () => {
    const { later } = storeSome();
    expect(repository.resolve(later, { use: 'dynamics' }, at)).toMatchObject({ resolution: 'dynamics', resolvedValue: null });
    expect(conflictRow(store, later)).toMatchObject({ resolution: 'dynamics', resolved_value: 'null' });
  });

  test.each([
    ['text', 'Principal Engineer', '"Principal Engineer"'],
    ['text that looks like a number', '42', '"42"'],
    ['an empty value', '', 'null'],
  ])('a value given outright: %s', (_, value, stored) => {
    const { earlier } = storeSome();
    repository.resolve(earlier, { value }, at);
    expect(conflictRow(store, earlier)).toMatchObject({ resolved_at: at.toISOString(), resolution: 'value', resolved_value: stored });
  });

  test('an unknown id: a UsageError, nothing written', () => {
    storeSome();
    const before = store.sqlite.prepare('SELECT * FROM conflicts ORDER BY id').all();
    expect(() => repository.resolve(9999, { use: 'hubspot' }, at)).toThrow(new UsageError('no conflict with id 9999; crmsync conflicts lists the open ones'));
    expect(store.sqlite.prepare('SELECT * FROM conflicts ORDER BY id').all()).toEqual(before);
  });

  test('a conflict already resolved: a UsageError saying how and when, its row unchanged', () => {
    const { settled, earlier } = storeSome();
    const before = conflictRow(store, settled);
    expect(() => repository.resolve(settled, { use: 'dynamics' }, at)).toThrow(
      new UsageError(`conflict ${settled} is already resolved (HubSpot's value chosen, at 2026-02-02T10:00:00.000Z); crmsync conflicts lists the open ones`),
    );
    expect(conflictRow(store, settled)).toEqual(before);

    repository.resolve(earlier, { value: 'Principal Engineer' }, at);
    expect(() => repository.resolve(earlier, { use: 'hubspot' }, new Date())).toThrow(/^conflict \d+ is already resolved \(a value given outright, at 2026-03-05T12:00:00.000Z\)/);
    expect(conflictRow(store, earlier)).toMatchObject({ resolution: 'value', resolved_value: '"Principal Engineer"' });
  });

  test('resolved in a database file: another connection reading it sees the choice', () => {
    const path = join(tempDir(), 'conflicts.db');
    const writer = openStore(path);
    const id = storeConflict(writer, { hubspotId: '101', dynamicsId: SAMPLE_GUIDS[0], field: 'jobtitle', hubspot: 'A', dynamics: 'B', openedAt: '2026-03-01T10:00:00.000Z' });
    new ConflictRepository(writer).resolve(id, { use: 'dynamics' }, at);
    writer.close();

    const reader = openStore(path, { readOnly: true });
    try {
      const repository = new ConflictRepository(reader);
      expect(repository.listOpen()).toEqual([]);
      expect(repository.get(id)).toMatchObject({ resolution: 'dynamics', resolvedValue: 'B', resolvedAt: at.toISOString() });
    } finally {
      reader.close();
    }
  });
});
