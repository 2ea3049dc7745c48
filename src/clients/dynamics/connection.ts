import type { DynamicsSettings } from '../../config/env.js';
import type { ConnectOptions, CrmConnection } from '../crm.js';
import { DynamicsClient } from './client.js';
import { checkMapping, describeTable } from './columns.js';
import { DynamicsReader } from './reader.js';
import { draftEntry } from './scaffold.js';
import { DynamicsWriter } from './writer.js';

/**
 * Dynamics 365 (the Dataverse Web API) behind the one interface every CRM implements. It
 * keeps no associations of its own, and no per-column change times (only audit history).
 */
export function connectDynamics(settings: DynamicsSettings, options: ConnectOptions = {}): CrmConnection {
  const client = new DynamicsClient(settings, options);
  return {
    origin: { url: settings.resourceUrl, name: 'organisation' },
    metrics: client.metrics,
    reader: (mapping) => new DynamicsReader(client, mapping),
    writer: new DynamicsWriter(client),
    describe: (entitySet) => describeTable(client, entitySet),
    check: (mapping) => checkMapping(client, mapping),
    draft: draftEntry,
    // Service-endpoint webhooks name the table by its logical name (contact), the Web API by its entity set (contacts).
    webhookTypes: async (entitySet) => {
      const table = await client.tableDefinition(entitySet);
      return table ? [table.logicalName] : [];
    },
  };
}
