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
  const owners = new Map<string, { mapping: ObjectMapping; view: string }>();
  for (const entry of objects) {
    for (const mapping of [entry.hubspot, entry.dynamics]) {
      if (!mapping) continue;
      const found = problems.length;
      for (const view of [mapping.table, historyViewName(mapping.table)]) {
        // One problem per mapping: a bad table: makes a bad history view too.
        if (problems.length > found) break;
        const name = view.toLowerCase();
        const kind = own.get(name);
        const its = view === mapping.table ? '' : ` (its history view "${view}")`;
        if (kind) {
          problems.push(problem(mapping, `${its} is ${kind === 'index' ? 'an index' : `a ${kind}`} of crmsync`));
        } else if (name.startsWith(SQLITE_PREFIX)) {
          problems.push(problem(mapping, `${its}: names starting with ${SQLITE_PREFIX} are reserved by SQLite`));
        } else {
          const earlier = owners.get(name);
          if (!earlier) owners.set(name, { mapping, view });
          // Two default names never meet (hubspot_<object>, dynamics_<object>): blame the one that chose its name.
          else if (namedInFile(mapping)) problems.push(problem(mapping, `${its} is also the ${kindOf(earlier)} of ${earlier.mapping.path}`));
          else problems.push(problem(earlier.mapping, ` is also the ${kindOf({ mapping, view })} of ${mapping.path}`));
        }
      }
    }
  }
  return problems;
}

/** The view of an object's versions: hubspot_contacts_history next to hubspot_contacts. */
export function historyViewName(table: string): string {
  return `${table}_history`;
}

function kindOf(claim: { mapping: ObjectMapping; view: string }): string {
  return claim.view === claim.mapping.table ? 'view' : 'history view';
}

/** The view of an object's mapping when mappings.yaml gives no table: hubspot_contacts, dynamics_contacts. */
export function defaultViewName(source: SourceName, object: string): string {
  return `${source}_${object}`;
}

/** Whether the view name was given with table: rather than left to its default. */
function namedInFile(mapping: ObjectMapping): boolean {
  return mapping.table !== defaultViewName(mapping.source, mapping.name);
}

function problem(mapping: ObjectMapping, what: string): string {
  return `${mapping.path}.table: "${mapping.table}"${what}; choose another table:`;
}
