import type { HubSpotSettings } from '../../config/env.js';
import type { Association } from '../../records.js';
import type { ConnectOptions, CrmConnection } from '../crm.js';
import { HubSpotClient, type AssociationResult } from './client.js';
import { HUBSPOT_ASSOCIATIONS_BATCH_LIMIT } from './limits.js';
import { checkMapping, describeObject } from './properties.js';
import { HubSpotReader } from './reader.js';
import { draftEntry } from './scaffold.js';
import { changeTimes, HubSpotWriter } from './writer.js';

/** HubSpot behind the one interface every CRM implements. */
export function connectHubSpot(settings: HubSpotSettings, options: ConnectOptions = {}): CrmConnection {
  const client = new HubSpotClient(settings, options);
  return {
    origin: { url: settings.baseUrl, name: 'HUBSPOT_BASE_URL' },
    metrics: client.metrics,
    reader: (mapping) => new HubSpotReader(client, mapping),
    writer: new HubSpotWriter(client),
    changeTimes: (mapping, ids, properties) => changeTimes(client, mapping, ids, properties),
    describe: (objectType) => describeObject(client, objectType),
    check: (mapping) => checkMapping(client, mapping),
    draft: draftEntry,
    associations: {
      batchLimit: HUBSPOT_ASSOCIATIONS_BATCH_LIMIT,
      read: async (from, to, fromIds) => associationRows(await client.associations(from.remoteName, to.remoteName, fromIds)),
    },
  };
}

/** One row per (from, to, association type): a pair can be associated in several ways (labels). */
function associationRows(results: AssociationResult[]): Association[] {
  const associations: Association[] = [];
  for (const result of results) {
    for (const target of result.to) {
      for (const type of target.associationTypes) {
        associations.push({ fromId: result.fromId, toId: String(target.toObjectId), typeId: type.typeId, category: type.category, label: type.label ?? null });
      }
    }
  }
  return associations;
}
