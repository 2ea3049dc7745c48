import { SOURCES, type SourceName } from '../config/sources.js';
import type { CrmConnector } from './crm.js';
import { dynamics } from './dynamics/index.js';
import { hubspot } from './hubspot/index.js';

const CONNECTORS: { readonly [S in SourceName]: CrmConnector } = { hubspot, dynamics };

/** The CRM a source name stands for: the only way generic code gets one. */
export function connectorFor(source: SourceName): CrmConnector {
  return CONNECTORS[source];
}

/** Every CRM crmsync knows, in the order of SOURCES. */
export function allConnectors(): CrmConnector[] {
  return SOURCES.map(connectorFor);
}
