import { describe, expect, test } from 'vitest';
import { hubspot } from '../../src/clients/hubspot/index.js';
import { parseConfig, objectByName } from '../../src/config/load.js';
import { createRecordMapper } from '../../src/processors/mapper.js';

const yaml = (validation: string) => `
version: 1
objects:
  contacts:
    object_type: contacts
    modified_property: lastmodifieddate
    validation: ${validation}
    fields:
      email: { type: email }
      first_name: { property: firstname, type: string }
      employees: { property: numemployees, type: integer }
      modified_at: { property: lastmodifieddate, type: datetime, required: true }
`;
const mapper = (validation: 'strict' | 'lenient') => createRecordMapper(objectByName(parseConfig(yaml(validation), 'm.yaml'), 'contacts'), hubspot.recordShape);

const record = (properties: Record<string, string | null>) => ({
  id: '1001',
  properties: { lastmodifieddate: '2025-05-01T10:00:00.000Z', ...properties },
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-05-01T10:00:00.000Z',
  archived: false,
});

describe('mapping a HubSpot record', () => {
  test('maps properties to columns with their types', () => {
    const raw = record({ email: 'Ada@Example.com', firstname: 'Ada', numemployees: '12' });
    expect(mapper('strict')(raw)).toEqual({
      ok: true,
      record: {
        sourceId: '1001',
        modifiedAt: '2025-05-01T10:00:00.000Z',
        fields: { email: 'ada@example.com', first_name: 'Ada', employees: 12, modified_at: '2025-05-01T10:00:00.000Z' },
        raw,
        warnings: [],
      },
    });
  });

  test('missing properties become nulls', () => {
    const result = mapper('strict')(record({}));
    expect(result.ok && result.record.fields).toEqual({ email: null, first_name: null, employees: null, modified_at: '2025-05-01T10:00:00.000Z' });
  });

  test('strict: an invalid field rejects the record with every reason', () => {
    const raw = record({ email: 'not-an-email', numemployees: 'many' });
    expect(mapper('strict')(raw)).toEqual({
      ok: false,
      rejected: {
        sourceId: '1001',
        raw,
        reasons: [
          { column: 'email', property: 'email', value: 'not-an-email', reason: 'not a valid email address' },
          { column: 'employees', property: 'numemployees', value: 'many', reason: 'not a number' },
        ],
      },
    });
  });

  test('lenient: the field is stored as received, with a warning naming it', () => {
    const result = mapper('lenient')(record({ email: 'not-an-email' }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.record.fields.email).toBe('not-an-email');
    expect(result.record.warnings).toEqual([{ column: 'email', property: 'email', value: 'not-an-email', reason: 'not a valid email address' }]);
  });

  test('lenient: a value stored as received is still readable text; the raw record keeps the exact source text', () => {
    const raw = record({ email: 'ada\u0000@example' });
    const result = mapper('lenient')(raw);
    expect(result.ok && result.record.fields.email).toBe('ada\ufffd@example');
    expect(result.ok && result.record.raw).toBe(raw);
  });

  test.each([
    ['no id', { properties: {} }, /malformed record: id/],
    ['properties not an object', { id: '7', properties: 'x' }, /malformed record: properties/],
    ['not an object', 'garbage', /malformed record/],
    ['no modification time', { id: '7', properties: {} }, /modification time is required but empty/],
  ])('a malformed record is rejected: %s', (_, raw, reason) => {
    const result = mapper('lenient')(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejected.reasons.map((problem) => problem.reason).join('; ')).toMatch(reason);
  });
});
