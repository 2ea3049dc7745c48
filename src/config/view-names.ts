import { schemaNames } from '../db/schema-names.js';
import type { ObjectEntry, ObjectMapping } from './load.js';
import type { SourceName } from './sources.js';

/** SQLite reserves every name that starts with this (sqlite_master, sqlite_sequence, sqlite_stat1, ...), in any case. */
const SQLITE_PREFIX = 'sqlite_';

/**
 * What is wrong with the view names of mappings.yaml, one line per problem, each naming
 * where in the file to change it: two mappings (of any objects and sources) with one view,
 * or a view named like one of crmsync's own tables and indexes, or like SQLite's own.
 * Creating such a view would replace another object's view or fail half-way through a run.
 */
export function viewNameProblems(objects: Iterable<ObjectEntry>): string[] {
  const problems: string[] = [];
  const own = schemaNames();
  const owners = new Map<string, ObjectMapping>();
  for (const entry of objects) {
    for (const mapping of [entry.hubspot, entry.dynamics]) {
      if (!mapping) continue;
      const name = mapping.table.toLowerCase();
      const kind = own.get(name);
      if (kind) {
        problems.push(problem(mapping, `is ${kind === 'index' ? 'an index' : 'a table'} of crmsync`));
      } else if (name.startsWith(SQLITE_PREFIX)) {
        problems.push(problem(mapping, `names starting with ${SQLITE_PREFIX} are reserved by SQLite`, ':'));
      } else {
        const earlier = owners.get(name);
        if (!earlier) owners.set(name, mapping);
        // Two default names never meet (hubspot_<object>, dynamics_<object>): blame the one that chose its name.
        else if (namedInFile(mapping)) problems.push(problem(mapping, `is also the view of ${earlier.path}`));
        else problems.push(problem(earlier, `is also the view of ${mapping.path}`));
      }
    }
  }
  return problems;
}

/** The view of an object's mapping when mappings.yaml gives no table: hubspot_contacts, dynamics_contacts. */
export function defaultViewName(source: SourceName, object: string): string {
  return `${source}_${object}`;
}

/** Whether the view name was given with table: rather than left to its default. */
function namedInFile(mapping: ObjectMapping): boolean {
  return mapping.table !== defaultViewName(mapping.source, mapping.name);
}

function problem(mapping: ObjectMapping, what: string, separator = ''): string {
  return `${mapping.path}.table: "${mapping.table}"${separator} ${what}; choose another table:`;
}
