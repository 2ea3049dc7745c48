import { expect, test } from 'vitest';
import { matchKey } from '../../src/processors/match-key.js';

test.each([
  [' Ada@Example.COM ', 'lowercase', 'ada@example.com'],
  [' Acme Ltd ', 'trim', 'Acme Ltd'],
  [' Acme Ltd ', 'none', ' Acme Ltd '],
  [1001, 'trim', '1001'],
  ['   ', 'trim', null],
  ['', 'none', null],
  [null, 'lowercase', null],
  [undefined, 'lowercase', null],
  [{ email: 'ada@example.com' }, 'lowercase', null],
] as const)('%j normalised by %s is the key %j', (value, normalize, key) => {
  expect(matchKey(value, normalize)).toBe(key);
});
