import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { DynamicsEmulator } from '@crmsync/emulators/dynamics';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { parseConfig, twoWayObjects, type Config, type ObjectEntry, type ObjectMapping } from '../config/load.js';
import { CRM_NAMES, type SourceName } from '../config/sources.js';
import type { TwoWayField } from '../config/two-way.js';
import { ConflictRepository } from '../db/conflict-repository.js';
import type { Store } from '../db/database.js';
import { LinkRepository, type LinkRow } from '../db/link-repository.js';
import { EXIT_CODES, UsageError } from '../errors.js';
import type { RunResult, SyncOptions } from '../engines/run-lifecycle.js';
import { syncTwoWay, worstExitCode, type RunContext } from '../engines/run-objects.js';
import { TWO_WAY_SOURCE } from '../db/sync-history.js';
import { printConflicts, printResolved } from './conflicts-output.js';
import { printResults } from './output.js';

/** The fields the demo edits: a contact's job title in HubSpot (later in both CRMs), a company's city in Dynamics 365. */
const CONTACT_FIELD = { object: 'contacts', column: 'jobtitle' } as const;
const COMPANY_FIELD = { object: 'companies', column: 'city' } as const;

/** What the two-way part of the demo syncs and edits, checked before anything is written. */
export interface TwoWayDemoPlan {
  /** Every object with a two_way: block (what `sync-all --two-way` runs). */
  entries: ObjectEntry[];
  contacts: { entry: ObjectEntry; field: TwoWayField };
  companies: { entry: ObjectEntry; field: TwoWayField };
  /** The configuration with the contact field's conflicts left to a person. */
  manual: Config;
}

/** The emulators, the database and the run settings of a demo in progress. */
export interface DemoSession {
  store: Store;
  hubspot: HubSpotEmulator;
  dynamics: DynamicsEmulator;
  context: RunContext;
  options: SyncOptions;
  json: boolean;
  say: (line: string) => void;
}

/** The objects and fields the two-way steps use; a configuration that does not keep them alike both ways is a UsageError. */
export function planTwoWayDemo(config: Config): TwoWayDemoPlan {
  const entries = twoWayObjects(config);
  const [contacts, companies] = [CONTACT_FIELD, COMPANY_FIELD].map(({ object, column }) => {
    const entry = entries.find((candidate) => candidate.name === object);
    const field = entry?.twoWay?.fields.find((candidate) => candidate.column === column);
    if (!entry || !field || field.direction !== 'both') {
      throw new UsageError(`demo shows two-way sync with ${object}' ${column}: ${config.path} must keep it alike both ways under objects.${object}.two_way (as the shipped mappings.yaml does)`);
    }
    return { entry, field };
  });
  return { entries, contacts, companies, manual: withManualConflict(config, CONTACT_FIELD.object, CONTACT_FIELD.column) };
}

/** The configuration as its file says, but with `conflict: manual` for one two-way field. */
function withManualConflict(config: Config, object: string, column: string): Config {
  const document = yaml.load(readFileSync(config.path, 'utf8')) as { objects: Record<string, { two_way: { fields?: Record<string, object> } }> };
  const twoWay = document.objects[object].two_way;
  twoWay.fields = { ...twoWay.fields, [column]: { ...twoWay.fields?.[column], conflict: 'manual' } };
  return parseConfig(yaml.dump(document), config.path);
}

/**
 * The two-way steps: a first two-way run that links the records both CRMs hold and creates
 * the missing twins, an edit in each CRM reaching the other, and a conflict left to a person,
 * listed, resolved and written. The exit codes of its runs, except the one the conflict
 * makes partial on purpose; a step whose result is not as expected adds a failure.
 */
export async function demonstrateTwoWay(session: DemoSession, plan: TwoWayDemoPlan): Promise<number[]> {
  session.say(
    '\n5. First two-way run: the people and companies entered in both CRMs (the shared seed, some fields differing) are linked, by email and by name; ' +
      'every record only one CRM has gets its twin in the other; where linked records differ, the most recent change wins\n' +
      '$ crmsync sync-all --two-way',
  );
  const first = await runTwoWay(session, plan.entries);
  const contact = pickPairs(session, plan.contacts, 2);
  const company = pickPairs(session, plan.companies, 1);
  if (contact.length < 2 || company.length < 1) {
    session.context.log.error('demo: the first two-way run linked too few records to edit (2 contacts and 1 company are needed): seed more with --shared-seed');
    return [...codesOf(first), EXIT_CODES.failed];
  }
  const second = await editEachSide(session, plan.entries, contact[0], company[0]);
  const conflict = await settleConflict(session, plan.manual, contact[1]);
  return [...codesOf(first), ...second, ...conflict];
}

export const codesOf = (results: RunResult[]) => results.map((result) => result.exitCode);
export const quoted = (value: unknown) => (value === null || value === undefined ? '(empty)' : JSON.stringify(value));

async function runTwoWay(session: DemoSession, entries: ObjectEntry[]): Promise<RunResult[]> {
  const results = await syncTwoWay(entries, session.options, session.context);
  printResults(results, worstExitCode(codesOf(results)), session.json);
  return results;
}

/** One field of a linked pair, read and written in each emulator's store as a person using that CRM would. */
export class PairField {
  constructor(
    private readonly session: DemoSession,
    private readonly entry: ObjectEntry,
    readonly field: TwoWayField,
    readonly link: LinkRow,
  ) {}

  mapping(side: SourceName): ObjectMapping {
    return this.entry[side]!;
  }

  id(side: SourceName): string {
    return (side === 'hubspot' ? this.link.hubspotId : this.link.dynamicsId) as string;
  }

  read(side: SourceName): unknown {
    const remote = this.entry[side]!.remoteName;
    if (side === 'hubspot') return this.session.hubspot.store.get(remote, this.id(side))?.properties[this.field.hubspot.property] ?? null;
    return this.session.dynamics.store.get(remote, this.id(side))?.[this.field.dynamics.property] ?? null;
  }

  write(side: SourceName, value: string): void {
    const remote = this.entry[side]!.remoteName;
    if (side === 'hubspot') this.session.hubspot.store.update(remote, this.id(side), { [this.field.hubspot.property]: value });
    else this.session.dynamics.store.update(remote, this.id(side), { [this.field.dynamics.property]: value });
  }

  /** "contact 5012 (ana.silva@blueriver.com)": the record as `side` names it, with the key it was matched by. */
  label(side: SourceName): string {
    const singular = this.entry[side]!.remoteName.replace(/ies$/, 'y').replace(/s$/, '');
    return `${singular} ${this.id(side)}${this.link.matchKey ? ` (${this.link.matchKey})` : ''}`;
  }

  /** A value from `candidates` that neither CRM holds now. */
  fresh(candidates: string[]): string {
    const current = [this.read('hubspot'), this.read('dynamics')];
    return candidates.find((candidate) => !current.includes(candidate)) ?? candidates[0];
  }
}

/** Linked pairs whose records both emulators still hold, those the match key paired first. */
export function pickPairs(session: DemoSession, { entry, field }: TwoWayDemoPlan['contacts'], count: number): PairField[] {
  const exists = (link: LinkRow) => {
    const record = link.hubspotId === null ? undefined : session.hubspot.store.get(entry.hubspot!.remoteName, link.hubspotId);
    return record !== undefined && !record.archived && link.dynamicsId !== null && session.dynamics.store.get(entry.dynamics!.remoteName, link.dynamicsId) !== undefined;
  };
  const links = new LinkRepository(session.store, entry.name).all().filter(exists);
  const byMatch = [...links.filter((link) => link.matchedBy === 'match_key'), ...links.filter((link) => link.matchedBy !== 'match_key')];
  return byMatch.slice(0, count).map((link) => new PairField(session, entry, field, link));
}

/** Whether `side` now holds `expected`, said either way. */
function arrived(session: DemoSession, pair: PairField, side: SourceName, expected: string): boolean {
  const value = pair.read(side);
  session.say(`Now in ${CRM_NAMES[side]}: ${pair.label(side)} ${pair.field.column} ${quoted(value)}`);
  if (value === expected) return true;
  session.context.log.error(`demo: expected ${quoted(expected)} in ${pair.field.column} of ${CRM_NAMES[side]} ${pair.label(side)}, found ${quoted(value)}`);
  return false;
}

/** A job title changed in HubSpot and a city in Dynamics 365; the next two-way run takes each to the other CRM. */
async function editEachSide(session: DemoSession, entries: ObjectEntry[], contact: PairField, company: PairField): Promise<number[]> {
  const title = contact.fresh(['VP of Customer Success', 'Head of Customer Success']);
  const city = company.fresh(['Porto', 'Lyon']);
  session.say(
    `\n6. Meanwhile in HubSpot: ${contact.label('hubspot')} ${contact.field.column} ${quoted(contact.read('hubspot'))} → ${quoted(title)}; ` +
      `in Dynamics 365: ${company.label('dynamics')} ${company.field.column} ${quoted(company.read('dynamics'))} → ${quoted(city)}`,
  );
  contact.write('hubspot', title);
  company.write('dynamics', city);
  session.say('\n7. Second two-way run: reads only what changed in each CRM and writes each change to the other\n$ crmsync sync-all --two-way');
  const results = await runTwoWay(session, entries);
  const ok = [arrived(session, contact, 'dynamics', title), arrived(session, company, 'hubspot', city)].every(Boolean);
  return [...codesOf(results), ok ? EXIT_CODES.success : EXIT_CODES.failed];
}

/**
 * The same field changed to different values in both CRMs, under `conflict: manual`: the run
 * opens a conflict (exit 3, as planned), a person resolves it with HubSpot's value, and the
 * next run writes that value to Dynamics 365.
 */
async function settleConflict(session: DemoSession, manual: Config, pair: PairField): Promise<number[]> {
  const { objectType: object } = pair.link;
  const column = pair.field.column;
  const entries = twoWayObjects(manual, [object]);
  const hubspotValue = pair.fresh(['Head of Partnerships', 'Partnerships Lead']);
  const dynamicsValue = pair.fresh(['Director of Alliances', 'Alliances Manager']);
  session.say(
    `\n8. Now ${object}' ${column} is to be settled by a person: mappings.yaml with  ${column}: { conflict: manual }  under objects.${object}.two_way.fields ` +
      `(the demo uses a copy; the file is unchanged). In HubSpot: ${pair.label('hubspot')} ${column} ${quoted(pair.read('hubspot'))} → ${quoted(hubspotValue)}; ` +
      `in Dynamics 365: the same person's ${column} → ${quoted(dynamicsValue)}`,
  );
  pair.write('hubspot', hubspotValue);
  pair.write('dynamics', dynamicsValue);
  session.say(`\n9. Two-way run: both CRMs changed ${column}, differently, so it opens a conflict and ends partial (exit 3): expected here, not a failure of the demo\n$ crmsync sync-${object} --two-way`);
  const opened = await runTwoWay(session, entries);
  const twoWay = opened.find((result) => result.source === TWO_WAY_SOURCE);
  const codes = codesOf(opened.filter((result) => result !== twoWay));
  const repository = new ConflictRepository(session.store);
  session.say('\n10. The conflict, with both values and the one they last agreed on\n$ crmsync conflicts');
  printConflicts(repository.listOpen(), { json: session.json });
  const open = repository.listOpen();
  const conflict = open.find((candidate) => candidate.linkId === pair.link.id && candidate.field === column);
  if (!conflict || open.length !== 1 || !onlyConflictsOpen(twoWay)) {
    session.context.log.error(`demo: expected the two-way run to end partial with one open conflict, on ${column} of HubSpot ${pair.label('hubspot')}; it exited ${twoWay?.exitCode ?? '(not run)'} with ${open.length} open`);
    return [...codes, EXIT_CODES.failed];
  }
  session.say(`\n11. Keep HubSpot's value\n$ crmsync conflicts resolve ${conflict.id} --use hubspot`);
  printResolved(repository.resolve(conflict.id, { use: 'hubspot' }), session.json);
  session.say(`\n12. Two-way run: writes the chosen value to Dynamics 365 and closes the conflict\n$ crmsync sync-${object} --two-way`);
  const resolved = await runTwoWay(session, entries);
  const alike = [arrived(session, pair, 'hubspot', hubspotValue), arrived(session, pair, 'dynamics', hubspotValue)].every(Boolean);
  const stillOpen = repository.listOpen().length;
  if (alike) session.say(`${column} is ${quoted(hubspotValue)} in both CRMs; ${stillOpen === 0 ? 'no conflicts open' : `${stillOpen} conflicts open`}`);
  return [...codes, ...codesOf(resolved), alike && stillOpen === 0 ? EXIT_CODES.success : EXIT_CODES.failed];
}

/** Whether a two-way run ended partial for open conflicts alone: no write refused or waiting, no value without a counterpart. */
function onlyConflictsOpen(result: RunResult | undefined): boolean {
  const summary = result?.twoWay;
  return result?.exitCode === EXIT_CODES.partial && summary !== undefined && summary.conflictsOpen > 0 && summary.writesDead + summary.writesWaiting + summary.valueErrors === 0;
}
