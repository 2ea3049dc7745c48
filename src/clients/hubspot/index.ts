import { hubspotSettings, hubspotSettingsGiven, type HubSpotSettings } from '../../config/env.js';
import type { CrmConnector } from '../crm.js';
import { HUBSPOT_LIST_LIMIT, HUBSPOT_SEARCH_LIMIT } from './limits.js';
import { RECORD_ID_PROPERTY } from './properties.js';

/** HubSpot CRM v3/v4 for a private app's access token. */
export const hubspot: CrmConnector<HubSpotSettings> = {
  name: 'hubspot',
  label: 'HubSpot',
  // The objects API sends { id, properties: { name: "text" or null }, createdAt, updatedAt, archived }.
  recordShape: { layout: 'envelope', jsonScalars: false, idProperty: RECORD_ID_PROPERTY },
  pageSize: { max: HUBSPOT_SEARCH_LIMIT, note: `${HUBSPOT_LIST_LIMIT} when reading everything` },
  settingsGiven: hubspotSettingsGiven,
  settings: hubspotSettings,
  target: (settings) => `the portal at ${settings.baseUrl}`,
  async connect(settings, options) {
    // @hubspot/api-client loads only when a command talks to HubSpot.
    const { connectHubSpot } = await import('./connection.js');
    return connectHubSpot(settings, options);
  },
};
