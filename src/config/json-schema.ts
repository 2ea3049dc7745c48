import { z } from 'zod';
import { HUBSPOT_REQUIRED_KEYS, mappingsSchema, objectSchema } from './mappings-schema.js';

/**
 * The JSON Schema of mappings.yaml, generated from the zod schema that validates it, so
 * that editors complete and check the file (mappings.yaml names it on its first line).
 * `npm run schema` writes it to mappings.schema.json; a test keeps that file current.
 */
export function mappingsJsonSchema(): Record<string, unknown> {
  // Input shape: what a person writes, before defaults are filled in. Transforms (durations)
  // are described by their input type.
  const schema = z.toJSONSchema(mappingsSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // The refinements zod cannot describe: an object is in HubSpot (object_type with its
      // keys), or in Dynamics 365 only (a dynamics: block), or in both; two_way: needs both.
      if (zodSchema === objectSchema) {
        jsonSchema.anyOf = [{ required: [...HUBSPOT_REQUIRED_KEYS] }, { required: ['dynamics'] }];
        jsonSchema.dependentRequired = { two_way: [...HUBSPOT_REQUIRED_KEYS, 'dynamics'] };
      }
    },
  }) as Record<string, unknown>;
  return { ...schema, title: 'crmsync mappings.yaml', description: 'Objects to sync, their fields and types, and the associations to keep.' };
}
