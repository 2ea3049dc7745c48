import { createHash } from 'node:crypto';
import type { SourceName } from '../config/sources.js';

/**
 * The id of the link a record starts: derived from the record, so planning its pairing twice
 * gives the same id. Shaped as a name-based UUID (RFC 9562 version 5 layout), because a twin
 * created in Dynamics 365 takes it as its primary key: a create sent twice then meets its own
 * row instead of making a second one.
 */
export function linkId(side: SourceName, objectType: string, recordId: string): string {
  const hex = createHash('sha1').update(`crmsync-link\u0000${side}\u0000${objectType}\u0000${recordId}`).digest('hex');
  const variant = (8 | (parseInt(hex[16], 16) & 3)).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
