import type Database from 'better-sqlite3';

/**
 * Prepares each SQL text once for the database: repositories that run a statement for every
 * pair and field of a run would otherwise spend more time preparing than executing.
 */
export function preparedOnce(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
}
