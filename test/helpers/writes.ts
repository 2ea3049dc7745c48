import type { CrmConnection, RecordWrite, WriteOutcome } from '../../src/clients/crm.js';
import { connectorFor } from '../../src/clients/registry.js';
import { objectByName } from '../../src/config/load.js';
import type { SourceName } from '../../src/config/sources.js';
import { config } from './engine.js';

// Short delays so the suites stay quick; the policy itself is the production one.
export const RETRY = { retries: 6, minDelayMs: 5, maxDelayMs: 40, timeoutMs: 10_000, rateLimitWaitMs: 50 };
export const contacts = objectByName(config, 'contacts');
export const dynamicsContacts = objectByName(config, 'contacts', 'dynamics');

/** A connection made the way the engines make one: through the registry. */
export function connect(source: SourceName, settings: unknown, retry = RETRY): Promise<CrmConnection> {
  return connectorFor(source).connect(settings, { retry });
}

export const byKey = (outcomes: WriteOutcome[]) => new Map(outcomes.map((outcome) => [outcome.key, outcome]));
export const update = (key: string, recordId: string, properties: RecordWrite['properties']): RecordWrite => ({ key, operation: 'update', recordId, properties });
