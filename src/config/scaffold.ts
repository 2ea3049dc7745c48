import { RESERVED_COLUMNS, type FieldType } from './mappings-schema.js';

/**
 * A mappings.yaml entry drafted from what a CRM says about an object, for `crmsync
 * properties --yaml`. Values are YAML scalars as the CRM writes them: HubSpot's names may
 * hold any character and are quoted, Dataverse's logical names never need it.
 */
export interface EntryDraft {
  /** The key the mapping sits under inside the entry (dynamics:), or none when its keys are the entry's own. */
  block?: string;
  settings: { key: string; value: string; comment?: string }[];
  fields: FieldDraft[];
}

export interface FieldDraft {
  column: string;
  /** Left out when the column has the property's name. */
  property?: string;
  type: FieldType;
  values?: string[];
  required?: boolean;
  comment?: string;
}

/** The entry as YAML, ready to paste (or append) under `objects:` (two-space indent). */
export function entryYaml(name: string, draft: EntryDraft): string {
  const indent = draft.block ? '      ' : '    ';
  const comment = (text?: string) => (text ? `  # ${text.replace(/\s+/g, ' ')}` : '');
  const lines = [`  ${name}:`];
  if (draft.block) lines.push(`    ${draft.block}:`);
  for (const setting of draft.settings) lines.push(`${indent}${setting.key}: ${setting.value}${comment(setting.comment)}`);
  lines.push(`${indent}fields:`);
  for (const field of draft.fields) {
    const parts = [...(field.property === undefined ? [] : [`property: ${field.property}`]), `type: ${field.type}`];
    if (field.values?.length) parts.push(`values: [${field.values.join(', ')}]`);
    if (field.required) parts.push('required: true');
    lines.push(`${indent}  ${field.column}: { ${parts.join(', ')} }${comment(field.comment)}`);
  }
  return `${lines.join('\n')}\n`;
}

const RESERVED = new Set<string>(RESERVED_COLUMNS);

/** A lower_snake_case column name for a property, unique within the entry; a reserved name gets the prefix. */
export function columnFor(property: string, used: Set<string>, reservedPrefix: string): string {
  let column = property.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^(\d)/, '_$1');
  if (RESERVED.has(column)) column = `${reservedPrefix}${column}`;
  while (used.has(column)) column = `${column}_`;
  used.add(column);
  return column;
}
