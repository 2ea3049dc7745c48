import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` turns changes to src/db/tables.ts into a new SQL migration in
// drizzle/; crmsync applies pending migrations automatically when it opens a database.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/tables.ts',
  out: './drizzle',
});
