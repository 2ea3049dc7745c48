import { z } from 'zod';
import { mappingsSchema } from './schema.js';

/**
 * The JSON Schema of mappings.yaml, generated from the zod schema that validates it, so
 * that editors complete and check the file (mappings.yaml names it on its first line).
 * `npm run schema` writes it to mappings.schema.json; a test keeps that file current.
 */
export function mappingsJsonSchema(): Record<string, unknown> {
  // Input shape: what a person writes, before defaults are filled in. Transforms (durations)
  // are described by their input type.
  const schema = z.toJSONSchema(mappingsSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'crmsync mappings.yaml', description: 'Objects to sync, their fields and types, and the associations to keep.' };
}
