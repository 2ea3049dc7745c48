import type { CrmConnection, ObjectDescription, PropertyDescription } from '../clients/crm.js';
import type { Config } from './load.js';
import type { MappingCheck } from './remote-check.js';
import { CRM_NAMES, type SourceName } from './sources.js';
import type { Direction } from './two-way-schema.js';
import type { TwoWayField, TwoWayMapping } from './two-way.js';

/** The direction that writes into a side. */
const INTO: Record<SourceName, Direction> = { hubspot: 'dynamics_to_hubspot', dynamics: 'hubspot_to_dynamics' };
const OTHER: Record<SourceName, SourceName> = { hubspot: 'dynamics', dynamics: 'hubspot' };

/** Whether a field's direction writes into a side's property. */
export function writesInto(direction: Direction, side: SourceName): boolean {
  return direction === 'both' || direction === INTO[side];
}

/**
 * One line per way an object's two-way fields do not fit what one CRM describes: a field
 * whose direction writes into a property the CRM sets itself (read-only, calculated), and a
 * value map naming an option the property does not list. Properties the CRM does not have
 * are left to the mapping check, which reports them.
 */
export function twoWayProblems(twoWay: TwoWayMapping, side: SourceName, description: ObjectDescription): string[] {
  const properties = new Map(description.properties.map((property) => [property.name, property]));
  const problems: string[] = [];
  for (const field of twoWay.fields) {
    const property = properties.get(field[side].property);
    if (!property) continue;
    if (property.readOnly && writesInto(field.direction, side)) problems.push(readOnlyProblem(field, side, property));
    if (field.values && property.values) problems.push(...optionProblems(field, side, property.values));
  }
  return problems;
}

function readOnlyProblem(field: TwoWayField, side: SourceName, property: PropertyDescription): string {
  const [what, term] = side === 'hubspot' ? ['property', 'read-only'] : ['column', 'not valid for update'];
  return `${field.path}: direction ${field.direction} writes ${CRM_NAMES[side]}'s ${what} "${property.name}", which ${CRM_NAMES[side]} sets itself (${term}); set direction: ${INTO[OTHER[side]]} or none`;
}

/** Options named in a message: this many, then how many more. */
const OPTIONS_SHOWN = 10;

function optionProblems(field: TwoWayField, side: SourceName, listed: string[]): string[] {
  const known = new Set(listed);
  const shown = listed.length > OPTIONS_SHOWN ? `${listed.slice(0, OPTIONS_SHOWN).join(', ')}, … (${listed.length} in all)` : listed.join(', ');
  if (side === 'hubspot') {
    const missing = [...field.values!.toDynamics.keys()].filter((option) => !known.has(option));
    return missing.map((option) => `${field.path}.values: "${option}" is not an option of HubSpot's property "${field.hubspot.property}" (it has ${shown})`);
  }
  const missing = [...field.values!.toHubspot.keys()].filter((value) => !known.has(String(value)));
  return missing.map((value) => `${field.path}.values: ${value} is not an option value of Dynamics 365's choice column "${field.dynamics.property}" (it has ${shown})`);
}

/**
 * The CRM's check of a mapping followed by the two-way check of its object, when the object
 * has a two_way: block. An object the CRM cannot describe has had that reported already.
 */
export function withTwoWayCheck(config: Config, side: SourceName, connection: Pick<CrmConnection, 'check' | 'describe'>): MappingCheck {
  return async (mapping) => {
    const problems = await connection.check(mapping);
    const twoWay = config.objects.get(mapping.name)?.twoWay;
    if (!twoWay) return problems;
    let description: ObjectDescription;
    try {
      description = await connection.describe(mapping.remoteName);
    } catch (error) {
      if (problems.length > 0) return problems;
      throw error;
    }
    return [...problems, ...twoWayProblems(twoWay, side, description)];
  };
}
