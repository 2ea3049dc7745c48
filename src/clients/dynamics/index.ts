import { dynamicsSettings, dynamicsSettingsGiven, type DynamicsSettings } from '../../config/env.js';
import type { CrmConnector } from '../crm.js';
import { DYNAMICS_MAX_PAGE_SIZE } from './limits.js';

/** Dynamics 365 through the Dataverse Web API v9.2, signed in by client credentials. */
export const dynamics: CrmConnector<DynamicsSettings> = {
  name: 'dynamics',
  label: 'Dynamics 365',
  // Rows are flat: attributes, the primary key among them, and @odata annotations; numbers,
  // booleans and choices arrive as JSON values.
  recordShape: { layout: 'flat', jsonScalars: true },
  pageSize: { max: DYNAMICS_MAX_PAGE_SIZE },
  settingsGiven: dynamicsSettingsGiven,
  settings: dynamicsSettings,
  target: (settings) => `the Dynamics 365 organisation at ${settings.resourceUrl}`,
  async connect(settings, options) {
    // undici and @azure/msal-node load only when a command talks to Dynamics 365.
    const { connectDynamics } = await import('./connection.js');
    return connectDynamics(settings, options);
  },
};
