import { z } from 'zod';
import { twoWayIssues, twoWaySchema } from './two-way-schema.js';

/** Field types a mapped property can have; each has a parser in src/processors/field-types.ts. */
export const FIELD_TYPES = [
  'string', 'email', 'phone', 'url', 'date', 'datetime', 'decimal', 'integer', 'boolean', 'enumeration',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** How far before the last watermark an incremental run starts, unless mappings.yaml says otherwise. */
export const DEFAULT_OVERLAP_MS = 600_000;

/** Columns every normalised view or its history view has; a mapped field may not reuse these names. */
export const RESERVED_COLUMNS = [
  'id', 'source_modified_at', 'is_deleted', 'deleted_at', 'rejected_at', 'last_run_id',
  'valid_from', 'valid_to', 'is_current', 'content_hash', 'run_id',
] as const;

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, 'must be lower_snake_case (letters, digits, underscores)');

/** "10m", "90s", "2h", "1d", "500ms" → milliseconds. */
export const durationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as 90s, 10m, 2h or 1d')
  .transform((text) => {
    const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
    const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
    return Number(amount) * factor;
  });

export const fieldSchema = z
  .object({
    /** Source property the column is read from; defaults to the column name. */
    property: z.string().min(1).optional(),
    type: z.enum(FIELD_TYPES),
    required: z.boolean().default(false),
    /** Allowed values of an enumeration (checked when given). */
    values: z.array(z.string()).min(1).optional(),
  })
  .strict();

export const incrementalSchema = z
  .object({
    /**
     * How far before the last watermark an incremental run starts. Re-reading a few
     * minutes of changes is harmless (unchanged records are skipped by content hash) and
     * covers records whose modification time was set before they became searchable.
     */
    overlap: durationSchema.default(DEFAULT_OVERLAP_MS),
  })
  .strict();

const fieldsSchema = z
  .record(identifier, fieldSchema)
  .refine((fields) => Object.keys(fields).length > 0, 'must map at least one field')
  .superRefine((fields, ctx) => {
    for (const column of Object.keys(fields)) {
      if ((RESERVED_COLUMNS as readonly string[]).includes(column)) {
        ctx.addIssue({ code: 'custom', path: [column], message: `"${column}" is reserved; choose another column name` });
      }
    }
  });

/** The same object in Dynamics 365 (Dataverse): which entity set, and which attributes fill which columns. */
export const dynamicsMappingSchema = z
  .object({
    /** Web API entity set: contacts, accounts, incidents, new_projects, ... */
    entity_set: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be an entity set name such as contacts or accounts (lower case)'),
    /** Attribute holding the row's id (a GUID), e.g. contactid, accountid. */
    primary_key: z.string().min(1),
    /** Attribute Dataverse updates on every change; used when the table has no change tracking. */
    modified_property: z.string().min(1).default('modifiedon'),
    /**
     * Whether the table has "Track changes" on (Dataverse's contact and account tables do):
     * incremental runs then read delta links and see deletions. false: they filter on
     * modified_property, and only full runs notice deletions.
     */
    change_tracking: z.boolean().default(true),
    /** Defaults to the object's validation. */
    validation: z.enum(['strict', 'lenient']).optional(),
    /** Name of the SQL view; defaults to dynamics_<object>. */
    table: identifier.optional(),
    properties: z.array(z.string().min(1)).default([]),
    incremental: incrementalSchema.optional(),
    fields: fieldsSchema,
  })
  .strict();

/** The HubSpot side's keys: an object that lives only in Dynamics 365 leaves them out. */
export const HUBSPOT_REQUIRED_KEYS = ['object_type', 'modified_property', 'fields'] as const;

const objectShape = z
  .object({
    source: z.literal('hubspot').default('hubspot'),
    /** false: synced only when named (sync-object, --objects), not by a plain sync-all. */
    enabled: z.boolean().default(true),
    /** HubSpot object type: a name (contacts) or a type id (0-1, 2-1234567). Leave out for a Dynamics 365-only object. */
    object_type: z.string().min(1).optional(),
    /** Property holding the record's unique id. */
    primary_key: z.string().min(1).default('hs_object_id'),
    /** Property HubSpot bumps on every change; incremental runs search on it. */
    modified_property: z.string().min(1).optional(),
    validation: z.enum(['strict', 'lenient']).default('strict'),
    /**
     * Keep every version of the mapped fields (<table>_history, from both CRMs). false: keep
     * only the current row; versions written before stay, and resume with the next read once
     * this is true again.
     */
    history: z.boolean().default(true),
    /** Name of the SQL view holding the mapped columns; defaults to <source>_<object>. */
    table: identifier.optional(),
    /** Extra properties to fetch and keep in the raw record without mapping them. */
    properties: z.array(z.string().min(1)).default([]),
    incremental: incrementalSchema.optional(),
    fields: fieldsSchema.optional(),
    /** Where this object lives in Dynamics 365, for `--source dynamics`. */
    dynamics: dynamicsMappingSchema.optional(),
    /** Keep the HubSpot and Dynamics 365 sides alike, both ways (see two-way-schema.ts). */
    two_way: twoWaySchema.optional(),
  })
  .strict();

export const objectSchema = objectShape.superRefine((object, ctx) => {
  // zod prefixes an issue's path in place as it rises through the parents: each issue needs a path of its own.
  for (const issue of [...sideIssues(object), ...twoWayIssues(object)]) ctx.addIssue({ code: 'custom', ...issue, path: [...issue.path] });
});

/** The top level maps the object in HubSpot; without object_type it lives in Dynamics 365 only. */
function sideIssues(object: z.infer<typeof objectShape>): { path: string[]; message: string }[] {
  if (object.object_type === undefined) {
    const issues = object.dynamics
      ? []
      : [{ path: ['object_type'], message: 'give object_type (the HubSpot object), or a dynamics: block for an object that lives only in Dynamics 365' }];
    for (const key of ['modified_property', 'fields'] as const) {
      if (object[key] !== undefined) issues.push({ path: [key], message: 'maps a HubSpot property, so object_type is needed too' });
    }
    return issues;
  }
  return HUBSPOT_REQUIRED_KEYS.filter((key) => object[key] === undefined).map((key) => ({
    path: [key],
    message: 'is required with object_type (the HubSpot side of the object)',
  }));
}

export const associationSchema = z
  .object({
    /** Objects (names under `objects:`) whose records are associated. */
    from: identifier,
    to: identifier,
  })
  .strict();

export const mappingsSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    defaults: z
      .object({ incremental: incrementalSchema.optional() })
      .strict()
      .default({}),
    objects: z
      .record(identifier, objectSchema)
      .refine((objects) => Object.keys(objects).length > 0, 'must define at least one object'),
    /** Pairs of objects whose associations `sync-associations` and `sync-all` keep. */
    associations: z.array(associationSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    file.associations.forEach((pair, index) => {
      for (const end of ['from', 'to'] as const) {
        const object = file.objects[pair[end]];
        if (!object) {
          ctx.addIssue({ code: 'custom', path: ['associations', index, end], message: `"${pair[end]}" is not an object defined under objects:` });
        } else if (object.object_type === undefined) {
          ctx.addIssue({ code: 'custom', path: ['associations', index, end], message: `"${pair[end]}" has no object_type: associations are HubSpot's` });
        }
      }
    });
  });

export type FieldConfig = z.infer<typeof fieldSchema>;
export type MappingsFile = z.infer<typeof mappingsSchema>;
export type DynamicsMapping = z.infer<typeof dynamicsMappingSchema>;
