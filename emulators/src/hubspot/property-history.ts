/**
 * Per-property change history: the versions the v3 `propertiesWithHistory` parameter
 * returns, newest first.
 *
 * Only records written through the API (or the store's create/update/restore) keep
 * versions. A seeded record, or one stored by put(), has one version per set property,
 * derived from the record whenever it is read, so seeding stores nothing: hs_object_id and
 * the creation property date from the creation time, every other property from the
 * modification time (the last write the record had). The first write to such a record
 * stores those versions and adds its own.
 */
import { toIso } from '../shared/iso-time.js';
import type { Snapshot } from './object-table.js';
import type { PropertyValues } from './seed.js';

/** One version as the API shows it (HubSpot's ValueWithTimestamp). */
export interface ValueWithTimestamp {
  value: string;
  timestamp: string;
  sourceType: string;
}

interface StoredVersion {
  value: string;
  at: number;
  sourceType: string;
}

/** Where a value came from: the emulator itself, an API write, or the seed / a put(). */
const CALCULATED = 'CALCULATED';
const WRITTEN = 'INTEGRATION';
const IMPORTED = 'IMPORT';

export class PropertyHistory {
  /** Versions by record id and property name, newest first: written records only. */
  private readonly stored = new Map<number, Map<string, StoredVersion[]>>();

  constructor(
    private readonly creationProperty: string,
    private readonly modificationProperty: string,
  ) {}

  private calculated(name: string): boolean {
    return name === 'hs_object_id' || name === this.creationProperty || name === this.modificationProperty;
  }

  /** The one version a property of an unwritten record has (none when it is unset). */
  private derived(snapshot: Snapshot, name: string): StoredVersion | undefined {
    const value = snapshot.props[name];
    if (value === undefined || value === null || value === '') return undefined;
    const fromCreation = name === 'hs_object_id' || name === this.creationProperty;
    return { value, at: fromCreation ? snapshot.createdAt : snapshot.updatedAt, sourceType: this.calculated(name) ? CALCULATED : IMPORTED };
  }

  /** A record created at `now` with `props`: each set property's first version. */
  created(id: number, props: PropertyValues, now: number): void {
    const versions = new Map<string, StoredVersion[]>();
    for (const [name, value] of Object.entries(props)) {
      if (value !== null && value !== '') versions.set(name, [{ value, at: now, sourceType: this.calculated(name) ? CALCULATED : WRITTEN }]);
    }
    this.stored.set(id, versions);
  }

  /** A write at `now` took the record from `before` to `after`: a version per changed property (unset: ''). */
  changed(before: Snapshot, after: PropertyValues, now: number): void {
    let versions = this.stored.get(before.id);
    if (versions === undefined) {
      versions = new Map();
      for (const name of Object.keys(before.props)) {
        const version = this.derived(before, name);
        if (version) versions.set(name, [version]);
      }
      this.stored.set(before.id, versions);
    }
    for (const name of new Set([...Object.keys(before.props), ...Object.keys(after)])) {
      const value = after[name] ?? '';
      if ((before.props[name] ?? '') === value) continue;
      const list = versions.get(name) ?? [];
      list.unshift({ value, at: now, sourceType: this.calculated(name) ? CALCULATED : WRITTEN });
      versions.set(name, list);
    }
  }

  /** put() replaced the record: its history is derived from it again. */
  forget(id: number): void {
    this.stored.delete(id);
  }

  /** `propertiesWithHistory` of a record: the versions of each of `names`, newest first. */
  of(snapshot: Snapshot, names: readonly string[]): Record<string, ValueWithTimestamp[]> {
    const versions = this.stored.get(snapshot.id);
    const out: Record<string, ValueWithTimestamp[]> = {};
    for (const name of names) {
      const derived = versions === undefined ? this.derived(snapshot, name) : undefined;
      const list = versions?.get(name) ?? (derived ? [derived] : []);
      out[name] = list.map((version) => ({ value: version.value, timestamp: toIso(version.at), sourceType: version.sourceType }));
    }
    return out;
  }
}
