import type { MatchNormalization } from '../config/two-way-schema.js';

/**
 * The key a record is paired by the first time, from the value of its match property,
 * normalised as two_way.match.normalize says (lowercase trims too). A record without a value
 * has no key: matching never pairs it.
 */
export function matchKey(value: unknown, normalize: MatchNormalization): string | null {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return null;
  const text = String(value);
  const key = normalize === 'none' ? text : normalize === 'trim' ? text.trim() : text.trim().toLowerCase();
  return key === '' ? null : key;
}
