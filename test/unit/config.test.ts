import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadConfig, objectByName, parseConfig } from '../../src/config/load.js';
import { UsageError } from '../../src/errors.js';

const minimal = (object: string) => `version: 1\nobjects:\n  contacts:\n${object}`;
const valid = '    object_type: contacts\n    modified_property: lastmodifieddate\n    fields:\n      email: { type: email }\n';

describe('the shipped mappings.yaml', () => {
  const config = loadConfig('mappings.yaml');

  test('defines contacts, companies and deals with their modification properties', () => {
    expect([...config.objects.keys()]).toEqual(['contacts', 'companies', 'deals']);
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
    expect(() => objectByName(config, 'tickets')).toThrow('unknown object "tickets"; mappings.yaml defines: contacts, companies, deals');
  });
});

describe('invalid mappings name the file, the path and the problem', () => {
  test.each([
    ['objects: [unclosed', /^bad\.yaml: not valid YAML: .* \(line \d+, column \d+\)$/],
    ['version: 2\nobjects: {}', /^bad\.yaml: version: /],
    [minimal(valid.replace('type: email', 'type: emial')), /^bad\.yaml: objects\.contacts\.fields\.email\.type: Invalid option/],
    [minimal(valid.replace('    modified_property: lastmodifieddate\n', '')), /^bad\.yaml: objects\.contacts\.modified_property: /],
    [minimal(valid.replace('email: {', 'id: {')), /^bad\.yaml: objects\.contacts\.fields\.id: "id" is reserved/],
    [minimal(valid.replace('email: {', 'E-mail: {')), /^bad\.yaml: objects\.contacts\.fields\.E-mail: must be lower_snake_case/],
    [minimal(`${valid}    colour: blue\n`), /^bad\.yaml: objects\.contacts: Unrecognized key: "colour"/],
    [minimal(`${valid}    incremental: { overlap: soon }\n`), /^bad\.yaml: objects\.contacts\.incremental\.overlap: must be a duration/],
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
  tickets:
    object_type: tickets
    modified_property: hs_lastmodifieddate
    incremental: { overlap: 2m }
    fields:
      subject: { type: string }
`;
  const tickets = objectByName(parseConfig(text, 'mappings.yaml'), 'tickets');
  expect(tickets).toMatchObject({ table: 'hubspot_tickets', overlapMs: 120_000, objectType: 'tickets', primaryKey: 'hs_object_id' });
  expect(tickets.properties).toEqual(['subject', 'hs_lastmodifieddate']);
});
