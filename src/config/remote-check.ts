import type { Config, ObjectMapping } from './load.js';
import type { SourceName } from './sources.js';

/** A CRM's verdict on one of its mappings: one line per problem, none when it fits. */
export type MappingCheck = (mapping: ObjectMapping) => Promise<string[]>;

/**
 * Checks every mapping mappings.yaml has for one CRM against that CRM, one line per
 * problem, in the order of the file (`crmsync config check`).
 */
export async function checkMappings(config: Config, source: SourceName, check: MappingCheck): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of config.objects.values()) {
    const mapping = entry[source];
    if (mapping) problems.push(...(await check(mapping)));
  }
  return problems;
}
