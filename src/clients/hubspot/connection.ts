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
    reader: (mapping) => new HubSpotReader(client, mapping, settings.fullRead),
    writer: new HubSpotWriter(client),
    changeTimes: (mapping, ids, properties) => changeTimes(client, mapping, ids, properties),
    describe: (objectType) => describeObject(client, objectType),
    check: (mapping) => checkMapping(client, mapping),
    draft: draftEntry,
    webhookTypes: async (objectType) => webhookTypes(objectType),
    associations: {
      batchLimit: HUBSPOT_ASSOCIATIONS_BATCH_LIMIT,
      read: async (from, to, fromIds) => associationRows(await client.associations(from.remoteName, to.remoteName, fromIds)),
    },
  };
}

/**
 * HubSpot's webhooks name standard objects in their subscription type (contact.creation) and
 * every object, custom ones included, by its objectTypeId in the generic subscriptions
 * (object.propertyChange with objectTypeId 0-1, 2-123456).
 */
const STANDARD_OBJECT_TYPES: Record<string, [singular: string, objectTypeId: string]> = {
  contacts: ['contact', '0-1'],
  companies: ['company', '0-2'],
  deals: ['deal', '0-3'],
  tickets: ['ticket', '0-5'],
  line_items: ['line_item', '0-8'],
  products: ['product', '0-7'],
};

function webhookTypes(objectType: string): string[] {
  return STANDARD_OBJECT_TYPES[objectType] ?? (/^\d+-\d+$/.test(objectType) ? [objectType] : []);
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
