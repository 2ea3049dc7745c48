import type { Config, ObjectEntry, ObjectMapping } from '../../config/load.js';
import { objectEntry } from '../../config/load.js';
import { SOURCES, type SourceName } from '../../config/sources.js';
import { UsageError } from '../../errors.js';
import { connect, type RunContext } from '../run-objects.js';

/** An object `crmsync serve` keeps current: both ways, or one way from each CRM it is read from. */
export interface ServedObject {
  entry: ObjectEntry;
  /** Kept alike both ways (a two_way: block, and both CRMs' settings given). */
  twoWay: boolean;
  /** The CRMs its records are read from. */
  mappings: ObjectMapping[];
}

/**
 * The objects to serve: those named (disabled ones too), or every enabled one; each from
 * every CRM whose settings are given and that maps it. An object with a two_way: block is
 * kept both ways when both CRMs are there.
 */
export function servedObjects(config: Config, names: string[] | undefined, available: SourceName[]): ServedObject[] {
  const entries = names ? names.map((name) => objectEntry(config, name)) : [...config.objects.values()].filter((entry) => entry.enabled);
  const served = entries.flatMap((entry): ServedObject[] => {
    const mappings = SOURCES.filter((source) => available.includes(source)).flatMap((source) => (entry[source] ? [entry[source]] : []));
    if (mappings.length === 0) {
      if (names) throw new UsageError(`object "${entry.name}" is mapped for no CRM whose settings are given; set its CRM's settings or drop it from --objects`);
      return [];
    }
    const twoWay = entry.twoWay !== undefined && mappings.length === SOURCES.length;
    return [{ entry, twoWay, mappings }];
  });
  if (served.length === 0) throw new UsageError(`no enabled object in ${config.path} is mapped for a CRM whose settings are given; set HubSpot's or Dynamics 365's settings`);
  return served;
}

/**
 * Where an event goes: the object and CRM its record belongs to, by the names the CRM's
 * webhooks use (`hubspot:contact`, `hubspot:0-1`, `dynamics:contact`).
 */
export type EventRoutes = Map<string, { object: ServedObject; mapping: ObjectMapping }>;

export const routeKey = (source: string, webhookType: string): string => `${source}:${webhookType.toLowerCase()}`;

/** Which object and CRM each name the CRMs' webhooks use stands for. */
export async function eventRoutes(served: ServedObject[], context: RunContext): Promise<EventRoutes> {
  const routes: EventRoutes = new Map();
  const connections = new Map<SourceName, Awaited<ReturnType<typeof connect>>>();
  for (const object of served) {
    for (const mapping of object.mappings) {
      if (!connections.has(mapping.source)) connections.set(mapping.source, await connect(mapping.source, context));
      for (const name of await connections.get(mapping.source)!.connection.webhookTypes(mapping.remoteName)) routes.set(routeKey(mapping.source, name), { object, mapping });
    }
  }
  return routes;
}
