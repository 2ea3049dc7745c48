import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { enabledObjects, loadConfig, objectByName, parseConfig } from '../../src/config/load.js';
import { UsageError } from '../../src/errors.js';

const minimal = (object: string) => `version: 1\nobjects:\n  contacts:\n${object}`;
const DYNAMICS_ONLY = '    dynamics:\n      entity_set: incidents\n      primary_key: incidentid\n      fields:\n        title: { type: string }\n';
const valid = '    object_type: contacts\n    modified_property: lastmodifieddate\n    fields:\n      email: { type: email }\n';

describe('the shipped mappings.yaml', () => {
  const config = loadConfig('mappings.yaml');

  test('defines the standard objects, example custom objects and associations', () => {
    expect([...config.objects.keys()]).toEqual(['contacts', 'companies', 'deals', 'tickets', 'appointments', 'divisions']);
    expect([...config.objects.values()].filter((object) => !object.enabled).map((object) => object.name)).toEqual(['appointments', 'divisions']);
    expect(objectByName(config, 'appointments').remoteName).toBe('2-1234567');
    expect(config.associations.map((pair) => pair.name)).toEqual(['contacts:companies', 'deals:contacts', 'deals:companies', 'appointments:contacts']);
    expect(objectByName(config, 'contacts').modifiedProperty).toBe('lastmodifieddate');
    expect(objectByName(config, 'companies').modifiedProperty).toBe('hs_lastmodifieddate');
    expect(objectByName(config, 'deals').modifiedProperty).toBe('hs_lastmodifieddate');
  });

  test('fills defaults: view name, overlap, properties to fetch', () => {
    const contacts = objectByName(config, 'contacts');
    expect(contacts.table).toBe('hubspot_contacts');
    expect(contacts.overlapMs).toBe(600_000);
    expect(contacts.properties).toContain('email');
    expect(contacts.properties).toContain('hs_email_optout');
    expect(contacts.fields.find((field) => field.column === 'email_optout')?.property).toBe('hs_email_optout');
  });

  test('an unknown object names the ones that exist', () => {
    expect(() => objectByName(config, 'unicorns')).toThrow('unknown object "unicorns"; mappings.yaml defines: contacts, companies, deals, tickets, appointments, divisions');
  });
});

describe('invalid mappings name the file, the path and the problem', () => {
  test.each([
    ['objects: [unclosed', /^bad\.yaml: not valid YAML: .* \(line \d+, column \d+\)$/],
    ['version: 2\nobjects: {}', /^bad\.yaml: version: /],
    [minimal(valid.replace('type: email', 'type: emial')), /^bad\.yaml: objects\.contacts\.fields\.email\.type: Invalid option/],
    [minimal(valid.replace('    modified_property: lastmodifieddate\n', '')), /^bad\.yaml: objects\.contacts\.modified_property: /],
    [minimal(valid.replace('email: {', 'id: {')), /^bad\.yaml: objects\.contacts\.fields\.id: "id" is reserved/],
    [minimal(valid.replace('email: {', 'valid_from: {')), /^bad\.yaml: objects\.contacts\.fields\.valid_from: "valid_from" is reserved/],
    [minimal(valid.replace('email: {', 'E-mail: {')), /^bad\.yaml: objects\.contacts\.fields\.E-mail: must be lower_snake_case/],
    [minimal(`${valid}    colour: blue\n`), /^bad\.yaml: objects\.contacts: Unrecognized key: "colour"/],
    [minimal(`${valid}    incremental: { overlap: soon }\n`), /^bad\.yaml: objects\.contacts\.incremental\.overlap: must be a duration/],
    [`${minimal(valid)}associations:\n  - { from: contacts, to: unicorns }\n`, /^bad\.yaml: associations\.0\.to: "unicorns" is not an object defined under objects:/],
    [minimal('    validation: strict\n'), /^bad\.yaml: objects\.contacts\.object_type: give object_type \(the HubSpot object\), or a dynamics: block/],
    [minimal(`${DYNAMICS_ONLY}    modified_property: lastmodifieddate\n`), /^bad\.yaml: objects\.contacts\.modified_property: maps a HubSpot property, so object_type is needed too/],
    [minimal(valid.replace('    fields:\n      email: { type: email }\n', '')), /^bad\.yaml: objects\.contacts\.fields: is required with object_type/],
    [`${minimal(valid)}  cases:\n${DYNAMICS_ONLY}associations:\n  - { from: contacts, to: cases }\n`, /^bad\.yaml: associations\.0\.to: "cases" has no object_type: associations are HubSpot's/],
  ])('%#', (text, message) => {
    expect(() => parseConfig(text, 'bad.yaml')).toThrow(UsageError);
    expect(() => parseConfig(text, 'bad.yaml')).toThrow(message);
  });

  test('a missing file', () => {
    expect(() => loadConfig('nope.yaml')).toThrow('nope.yaml: file not found (pass --config <mappings.yaml>)');
  });
});

test('a new standard object needs only YAML', () => {
  const text = `${readFileSync('mappings.yaml', 'utf8')}
  line_items:
    object_type: line_items
    modified_property: hs_lastmodifieddate
    incremental: { overlap: 2m }
    fields:
      name: { type: string }
`;
  const lineItems = objectByName(parseConfig(text, 'mappings.yaml'), 'line_items');
  expect(lineItems).toMatchObject({ table: 'hubspot_line_items', overlapMs: 120_000, remoteName: 'line_items', primaryKey: 'hs_object_id', enabled: true });
  expect(lineItems.properties).toEqual(['name', 'hs_lastmodifieddate']);
});

describe('an object that lives only in Dynamics 365', () => {
  const config = parseConfig(`version: 1\nobjects:\n  cases:\n${DYNAMICS_ONLY}  contacts:\n${valid}`, 'mappings.yaml');

  test('needs no object_type, and syncs from Dynamics 365 only', () => {
    expect(objectByName(config, 'cases', 'dynamics')).toMatchObject({ remoteName: 'incidents', primaryKey: 'incidentid', table: 'dynamics_cases', changeTracking: true });
    expect(() => objectByName(config, 'cases')).toThrow(
      'object "cases" lives only in Dynamics 365 in mappings.yaml (no object_type); sync it with --source dynamics, or add object_type, modified_property and fields',
    );
    expect(() => objectByName(config, 'contacts', 'dynamics')).toThrow('object "contacts" has no dynamics: block in mappings.yaml');
  });

  test('a plain sync-all takes the enabled objects each source has', () => {
    expect(enabledObjects(config, 'hubspot').map((object) => object.name)).toEqual(['contacts']);
    expect(enabledObjects(config, 'dynamics').map((object) => object.name)).toEqual(['cases']);
  });
});

test('mappings.schema.json is the JSON Schema generated from the zod schema', async () => {
  const { mappingsJsonSchema } = await import('../../src/config/json-schema.js');
  expect(JSON.parse(readFileSync('mappings.schema.json', 'utf8'))).toEqual(mappingsJsonSchema());
  expect(readFileSync('mappings.yaml', 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./mappings.schema.json');
});
