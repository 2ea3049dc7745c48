import { describe, expect, test } from 'vitest';
import { isWrongEndpoint } from '../../src/clients/hubspot/client.js';

const hubspotError = { status: 'error', message: 'resource not found', correlationId: '3f1c6a1e-0000-4000-8000-000000000000', category: 'OBJECT_NOT_FOUND' };

describe('a 404 blames HUBSPOT_BASE_URL when HubSpot cannot have sent it for a missing record', () => {
  test.each([
    ['list of an object type', '/crm/v3/objects/contacts', hubspotError, true],
    ['search', '/crm/v3/objects/2-1234567/search', hubspotError, true],
    ['batch read', '/crm/v3/objects/deals/batch/read', hubspotError, true],
    ['properties', '/crm/v3/properties/contacts', hubspotError, true],
    ['associations batch read', '/crm/v4/associations/deals/contacts/batch/read', hubspotError, true],
    ['a record by id, in HubSpot\'s shape', '/crm/v3/objects/contacts/123', hubspotError, false],
    ['a record by id, from something else (an empty or HTML page)', '/crm/v3/objects/contacts/123', {}, true],
    ['a record by id, JSON of another shape', '/crm/v3/objects/contacts/123', { error: 'Not Found' }, true],
  ])('%s', (_, path, body, wrong) => {
    expect(isWrongEndpoint(path, 404, body)).toBe(wrong);
  });

  test('other statuses are not about the endpoint', () => {
    expect(isWrongEndpoint('/crm/v3/objects/widgets', 400, { status: 'error', message: 'Unable to infer object type from: widgets', correlationId: 'x' })).toBe(false);
  });
});
