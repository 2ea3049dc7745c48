import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { UsageError } from '../../src/errors.js';

/** An object entry: a HubSpot side (table: given or not) and, when `dynamics` is given, a Dynamics 365 side. */
function entry(name: string, { table, dynamics }: { table?: string | null; dynamics?: { table?: string } } = {}): string {
  const hubspot =
    table === null ? '' : `    object_type: contacts\n    modified_property: lastmodifieddate\n${table ? `    table: ${table}\n` : ''}    fields:\n      email: { type: email }\n`;
  const dynamicsBlock = dynamics
    ? `    dynamics:\n      entity_set: contacts\n      primary_key: contactid\n${dynamics.table ? `      table: ${dynamics.table}\n` : ''}      fields:\n        email: { property: emailaddress1, type: email }\n`
    : '';
  return `  ${name}:\n${hubspot}${dynamicsBlock}`;
}
const file = (...entries: string[]) => `version: 1\nobjects:\n${entries.join('')}`;

describe('view names: every object and source has its own, and none is taken by crmsync or SQLite', () => {
  test.each([
    ['two objects with one table:', file(entry('people', { table: 'everyone' }), entry('leads', { table: 'everyone' })), 'objects.leads.table: "everyone" is also the view of objects.people; choose another table:'],
    ['a table: equal to a later default name', file(entry('people', { table: 'hubspot_leads' }), entry('leads')), 'objects.people.table: "hubspot_leads" is also the view of objects.leads; choose another table:'],
    ['a table: equal to an earlier default name', file(entry('leads'), entry('people', { table: 'hubspot_leads' })), 'objects.people.table: "hubspot_leads" is also the view of objects.leads; choose another table:'],
    ['a HubSpot view named like a Dynamics 365 default', file(entry('people', { table: 'dynamics_contacts' }), entry('contacts', { table: null, dynamics: {} })), 'objects.people.table: "dynamics_contacts" is also the view of objects.contacts.dynamics; choose another table:'],
    ['a Dynamics 365 view named like a HubSpot default', file(entry('contacts'), entry('people', { table: null, dynamics: { table: 'hubspot_contacts' } })), 'objects.people.dynamics.table: "hubspot_contacts" is also the view of objects.contacts; choose another table:'],
    ["one object's two sources with one view", file(entry('contacts', { table: 'people', dynamics: { table: 'people' } })), 'objects.contacts.dynamics.table: "people" is also the view of objects.contacts; choose another table:'],
    ["crmsync's records table", file(entry('people', { table: 'records' })), 'objects.people.table: "records" is a table of crmsync; choose another table:'],
    ["crmsync's run history", file(entry('people', { dynamics: { table: 'sync_history' } })), 'objects.people.dynamics.table: "sync_history" is a table of crmsync; choose another table:'],
    ['the table of applied migrations', file(entry('people', { table: '__drizzle_migrations' })), 'objects.people.table: "__drizzle_migrations" is a table of crmsync; choose another table:'],
    ["one of crmsync's indexes", file(entry('people', { table: 'associations_to' })), 'objects.people.table: "associations_to" is an index of crmsync; choose another table:'],
    ["SQLite's own names", file(entry('people', { table: 'sqlite_stat1' })), 'objects.people.table: "sqlite_stat1": names starting with sqlite_ are reserved by SQLite; choose another table:'],
    ["a view named like another object's history view", file(entry('contacts'), entry('people', { table: 'hubspot_contacts_history' })), 'objects.people.table: "hubspot_contacts_history" is also the history view of objects.contacts; choose another table:'],
    ["a history view named like another object's view", file(entry('audit', { table: 'hubspot_people_history' }), entry('people')), 'objects.audit.table: "hubspot_people_history" is also the history view of objects.people; choose another table:'],
    ['a history view named like a table of crmsync', file(entry('people', { table: 'sync' })), 'objects.people.table: "sync" (its history view "sync_history") is a table of crmsync; choose another table:'],
    ['several problems: the first, and how many more', file(entry('a', { table: 'records' }), entry('b', { table: 'sqlite_x' })), 'objects.a.table: "records" is a table of crmsync; choose another table: (and 1 more problem)'],
  ])('%s', (_, text, message) => {
    expect(() => parseConfig(text, 'mappings.yaml')).toThrow(UsageError);
    expect(() => parseConfig(text, 'mappings.yaml')).toThrow(`mappings.yaml: ${message}`);
  });

  test.each([
    ['default names of both sources', file(entry('contacts', { dynamics: {} }), entry('companies', { dynamics: {} }))],
    ['a table: that is its own default', file(entry('people', { table: 'hubspot_people' }))],
    ['names that only start like crmsync\'s', file(entry('people', { table: 'records_of_people' }), entry('leads', { table: 'my_sqlite_leads' }))],
  ])('accepted: %s', (_, text) => {
    expect(() => parseConfig(text, 'mappings.yaml')).not.toThrow();
  });
});
