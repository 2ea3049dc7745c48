#!/usr/bin/env node
// npm run schema: regenerates mappings.schema.json from the zod schema in src/config/mappings-schema.ts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mappingsJsonSchema } from '../dist/config/json-schema.js';

const target = fileURLToPath(new URL('../mappings.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(mappingsJsonSchema(), null, 2)}\n`);
process.stderr.write(`wrote ${target}\n`);
