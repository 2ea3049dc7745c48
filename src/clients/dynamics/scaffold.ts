import { columnFor, type EntryDraft } from '../../config/scaffold.js';
import type { ObjectDescription } from '../crm.js';

const MODIFIED_ON = 'modifiedon';

/**
 * A dynamics: entry for a Dataverse table, for an object that lives only in Dynamics 365:
 * every readable column but the key, typed with the crmsync type that fits it. For an
 * object already in mappings.yaml, its dynamics: block goes under that object instead.
 */
export function draftEntry(description: ObjectDescription): EntryDraft {
  const hasModifiedOn = description.properties.some((column) => column.name === MODIFIED_ON);
  const settings: EntryDraft['settings'] = [
    { key: 'entity_set', value: description.remoteName },
    { key: 'primary_key', value: description.primaryKey },
  ];
  if (!hasModifiedOn) settings.push({ key: 'modified_property', value: MODIFIED_ON, comment: 'not found among the columns: name the column Dataverse updates on every change' });
  if (!description.changeTracking) settings.push({ key: 'change_tracking', value: 'false', comment: 'the table has "Track changes" off: incremental runs filter on modifiedon' });
  const used = new Set<string>();
  const fields = description.properties
    .filter((column) => column.name !== description.primaryKey)
    .map((column) => {
      // _parentcustomerid_value → parentcustomerid_id: the column holds the related row's id.
      const lookup = /^_(.+)_value$/.exec(column.name);
      const name = columnFor(lookup ? `${lookup[1]}_id` : column.name, used, 'd365_');
      return { column: name, property: name === column.name ? undefined : column.name, type: column.fieldType, required: column.name === MODIFIED_ON };
    })
    .sort((a, b) => a.column.localeCompare(b.column));
  return { block: 'dynamics', settings, fields };
}
