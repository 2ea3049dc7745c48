import { CRM_NAMES } from '../config/sources.js';
import type { Conflict } from '../db/conflict-repository.js';
import { RESOLVE_USAGE } from './conflicts.js';
import { oneLine, printTable, tableTime } from './output.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

/** A field's value in a cell: JSON null is an empty field. */
const cell = (value: unknown) => (value === null ? '(empty)' : oneLine(value));
const time = (iso: string | null) => (iso === null ? '-' : tableTime(iso));

/** Open conflicts, oldest first, as a table; with `json` an array of them. */
export function printConflicts(conflicts: Conflict[], options: { json: boolean; object?: string }): void {
  if (options.json) {
    out(JSON.stringify(conflicts, null, 2));
    return;
  }
  if (conflicts.length === 0) {
    out(options.object === undefined ? 'no open conflicts' : `no open conflicts of ${options.object}`);
    return;
  }
  const header = ['id', 'object', 'hubspot id', 'dynamics 365 id', 'field', 'base', 'hubspot value', 'hubspot changed', 'dynamics 365 value', 'dynamics 365 changed', 'opened'];
  const rows = conflicts.map((conflict) => [
    String(conflict.id),
    conflict.object,
    conflict.hubspotId ?? '-',
    conflict.dynamicsId ?? '-',
    conflict.field,
    conflict.hasBaseValue ? cell(conflict.baseValue) : '(none)',
    cell(conflict.hubspotValue),
    time(conflict.hubspotChangedAt),
    cell(conflict.dynamicsValue),
    time(conflict.dynamicsChangedAt),
    time(conflict.openedAt),
  ]);
  printTable([header, ...rows]);
  out();
  out(`${conflicts.length} open ${conflicts.length === 1 ? 'conflict' : 'conflicts'}, oldest first; settle one with ${RESOLVE_USAGE}`);
}

/** A conflict just resolved: what was chosen and where it goes; with `json` the conflict as it now is. */
export function printResolved(conflict: Conflict, json: boolean): void {
  if (json) {
    out(JSON.stringify(conflict, null, 2));
    return;
  }
  const value = conflict.resolvedValue === null ? '(empty)' : JSON.stringify(conflict.resolvedValue);
  const records = `HubSpot ${conflict.hubspotId ?? '(being created)'}, Dynamics 365 ${conflict.dynamicsId ?? '(being created)'}`;
  const [chosen, target] =
    conflict.resolution === 'hubspot' || conflict.resolution === 'dynamics'
      ? [`${CRM_NAMES[conflict.resolution]}'s value ${value}`, CRM_NAMES[conflict.resolution === 'hubspot' ? 'dynamics' : 'hubspot']]
      : [conflict.resolvedValue === null ? 'an empty value' : `the value ${value}`, 'each CRM that lacks it'];
  out(`conflict ${conflict.id} on ${conflict.object} ${conflict.field} (${records}): chose ${chosen}; the next --two-way run writes it to ${target}`);
}
