import type { EntryDraft, FieldDraft } from '../../config/scaffold.js';
import { columnFor } from '../../config/scaffold.js';
import type { ObjectDescription } from '../crm.js';
import { RECORD_ID_PROPERTY } from './properties.js';

/** Most objects' modification property; contacts have their own. */
const MODIFIED_PROPERTIES = ['hs_lastmodifieddate', 'lastmodifieddate'];

/**
 * A mappings.yaml entry for a HubSpot object: every visible property, typed with the
 * crmsync type that fits it, enumerations with their values. The record id needs no field:
 * it is every view's `id`.
 */
export function draftEntry(description: ObjectDescription): EntryDraft {
  const names = new Set(description.properties.map((property) => property.name));
  const modified = MODIFIED_PROPERTIES.find((name) => names.has(name));
  const used = new Set<string>();
  const fields: FieldDraft[] = [];
  for (const property of [...description.properties].sort((a, b) => a.name.localeCompare(b.name))) {
    if (property.hidden || property.name === RECORD_ID_PROPERTY) continue;
    const column = columnFor(property.name, used, 'hs_');
    fields.push({
      column,
      property: column === property.name ? undefined : JSON.stringify(property.name),
      type: property.fieldType,
      values: property.fieldType === 'enumeration' ? property.values?.map((value) => JSON.stringify(value)) : undefined,
      required: property.name === modified,
      comment: property.label,
    });
  }
  return {
    settings: [
      { key: 'object_type', value: JSON.stringify(description.remoteName) },
      modified ? { key: 'modified_property', value: modified } : { key: 'modified_property', value: MODIFIED_PROPERTIES[0], comment: 'not found among the properties: check' },
    ],
    fields,
  };
}
