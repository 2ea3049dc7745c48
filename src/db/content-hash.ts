import { hash } from 'node:crypto';

/** The hash crmsync keeps of a JSON text: a raw record (its version) or mapped fields (their content). */
export function contentHash(json: string): string {
  // The one-shot form: a full read hashes every record, and createHash's object per call cost twice as much.
  return hash('sha1', json, 'base64');
}

/** Migrations call it by this name: the fields_hash of rows written before versions were kept. */
export const CONTENT_HASH_SQL_FUNCTION = 'crmsync_content_hash';
