import yaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { PropertyDefinition } from '../../src/clients/hubspot/client.js';
import { fieldTypeFor, fits, objectDescription } from '../../src/clients/hubspot/properties.js';
import { draftEntry } from '../../src/clients/hubspot/scaffold.js';
import { entryYaml } from '../../src/config/scaffold.js';

const mappingBlock = (name: string, objectType: string, properties: PropertyDefinition[]) => entryYaml(name, draftEntry(objectDescription(objectType, properties)));

const property = (name: string, type: string, fieldType = 'text', extra: Partial<PropertyDefinition> = {}): PropertyDefinition => ({ name, type, fieldType, ...extra });

describe('HubSpot property types → crmsync field types', () => {
  test.each([
    [property('firstname', 'string'), 'string'],
    [property('email', 'string'), 'email'],
    [property('work_email', 'string'), 'email'],
    [property('website', 'string'), 'url'],
    [property('phone', 'string', 'phonenumber'), 'phone'],
    [property('mobile', 'phone_number', 'phonenumber'), 'phone'],
    [property('amount', 'number', 'number'), 'decimal'],
    [property('closedate', 'datetime', 'date'), 'datetime'],
    [property('date_of_birth', 'date', 'date'), 'date'],
    [property('hs_email_optout', 'bool', 'booleancheckbox'), 'boolean'],
    [property('opted_in', 'enumeration', 'booleancheckbox'), 'boolean'],
    [property('dealstage', 'enumeration', 'select'), 'enumeration'],
  ] as const)('%o → %s', (input, expected) => {
    expect(fieldTypeFor(input)).toBe(expected);
  });

  test.each([
    ['string', property('amount', 'number'), true],
    ['integer', property('amount', 'number'), true],
    ['integer', property('firstname', 'string'), false],
    ['datetime', property('firstname', 'string'), false],
    ['datetime', property('closedate', 'date'), true],
    ['boolean', property('flag', 'enumeration', 'booleancheckbox'), true],
    ['boolean', property('firstname', 'string'), false],
    ['email', property('amount', 'number'), false],
  ] as const)('%s can read %o: %s', (type, input, expected) => {
    expect(fits(type, input)).toBe(expected);
  });
});

test('a generated mappings block parses and is a valid object entry', () => {
  const block = mappingBlock('line_items', 'line_items', [
    property('name', 'string', 'text', { label: 'Name' }),
    property('price', 'number', 'number', { label: 'Unit price' }),
    property('hs_lastmodifieddate', 'datetime', 'date', { label: 'Last Modified Date' }),
    property('hs_object_id', 'number'),
    property('Weird Name!', 'string'),
    property('id', 'string'),
    property('tier', 'enumeration', 'select', { options: [{ value: 'gold' }, { value: 'silver' }, { value: 'old', hidden: true }] }),
    property('secret', 'string', 'text', { hidden: true }),
  ]);
  const entry = (yaml.load(`objects:\n${block}`) as { objects: { line_items: { fields: Record<string, unknown> } } }).objects.line_items;
  expect(entry).toMatchObject({ object_type: 'line_items', modified_property: 'hs_lastmodifieddate' });
  expect(entry.fields).toEqual({
    hs_id: { property: 'id', type: 'string' },
    hs_lastmodifieddate: { type: 'datetime', required: true },
    name: { type: 'string' },
    price: { type: 'decimal' },
    tier: { type: 'enumeration', values: ['gold', 'silver'] },
    weird_name_: { property: 'Weird Name!', type: 'string' },
  });
  const config = parseConfig(`version: 1\nobjects:\n${block}`, 'generated.yaml');
  expect(config.objects.get('line_items')?.hubspot?.fields).toHaveLength(6);
});
