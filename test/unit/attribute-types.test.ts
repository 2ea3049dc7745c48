import yaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import type { TableDefinition } from '../../src/clients/dynamics/client.js';
import { parseConfig } from '../../src/config/load.js';
import { attributeFits, fieldTypeForAttribute, tableDescription } from '../../src/clients/dynamics/columns.js';
import { draftEntry } from '../../src/clients/dynamics/scaffold.js';
import { entryYaml } from '../../src/config/scaffold.js';

const column = (name: string, type: string) => ({ name, type, updatable: true });
const dynamicsMappingBlock = (name: string, table: TableDefinition) => entryYaml(name, draftEntry(tableDescription(table)));

describe('Dataverse attribute types → crmsync field types', () => {
  test.each([
    [column('firstname', 'String'), 'string'],
    [column('description', 'Memo'), 'string'],
    [column('emailaddress2', 'String'), 'email'],
    [column('telephone1', 'String'), 'phone'],
    [column('mobilephone', 'String'), 'phone'],
    [column('websiteurl', 'String'), 'url'],
    [column('numberofemployees', 'Integer'), 'integer'],
    [column('versionnumber', 'BigInt'), 'integer'],
    [column('revenue', 'Money'), 'decimal'],
    [column('exchangerate', 'Decimal'), 'decimal'],
    [column('industrycode', 'Picklist'), 'integer'],
    [column('statecode', 'State'), 'integer'],
    [column('donotemail', 'Boolean'), 'boolean'],
    [column('modifiedon', 'DateTime'), 'datetime'],
    [column('_parentcustomerid_value', 'Customer'), 'string'],
    [column('contactid', 'Uniqueidentifier'), 'string'],
    [column('emailaddress1', 'Memo'), 'string'],
  ] as const)('%o → %s', (input, expected) => {
    expect(fieldTypeForAttribute(input)).toBe(expected);
  });

  test.each([
    ['string', column('revenue', 'Money'), true],
    ['decimal', column('numberofemployees', 'Integer'), true],
    ['integer', column('revenue', 'Money'), false],
    ['integer', column('jobtitle', 'String'), false],
    ['date', column('birthdate', 'DateTime'), true],
    ['datetime', column('jobtitle', 'String'), false],
    ['email', column('emailaddress1', 'String'), true],
    ['email', column('numberofemployees', 'Integer'), false],
    ['boolean', column('donotemail', 'Boolean'), true],
    ['boolean', column('statecode', 'State'), false],
    ['enumeration', column('industrycode', 'Picklist'), true],
  ] as const)('%s can read %o: %s', (type, input, expected) => {
    expect(attributeFits(type, input)).toBe(expected);
  });
});

describe('a generated dynamics: entry', () => {
  const table = (changeTracking: boolean): TableDefinition => ({
    entitySet: 'incidents',
    logicalName: 'incident',
    primaryKey: 'incidentid',
    changeTracking,
    attributes: [
      column('incidentid', 'Uniqueidentifier'),
      column('title', 'String'),
      column('_customerid_value', 'Customer'),
      column('prioritycode', 'Picklist'),
      column('id', 'String'),
      column('modifiedon', 'DateTime'),
      column('activities', 'Virtual'),
    ],
  });

  test('maps every readable column but the key, lookups by their id, and parses as an object only in Dynamics 365', () => {
    const block = dynamicsMappingBlock('cases', table(true));
    const entry = (yaml.load(`objects:\n${block}`) as { objects: { cases: Record<string, unknown> } }).objects.cases;
    expect(entry).toEqual({
      dynamics: {
        entity_set: 'incidents',
        primary_key: 'incidentid',
        fields: {
          customerid_id: { property: '_customerid_value', type: 'string' },
          d365_id: { property: 'id', type: 'string' },
          modifiedon: { type: 'datetime', required: true },
          prioritycode: { type: 'integer' },
          title: { type: 'string' },
        },
      },
    });
    const config = parseConfig(`version: 1\nobjects:\n${block}`, 'mappings.yaml');
    expect(config.objects.get('cases')?.dynamics).toMatchObject({ remoteName: 'incidents', changeTracking: true });
  });

  test('a table without change tracking says so in the entry', () => {
    const config = parseConfig(`version: 1\nobjects:\n${dynamicsMappingBlock('cases', table(false))}`, 'mappings.yaml');
    expect(config.objects.get('cases')?.dynamics?.changeTracking).toBe(false);
  });
});
