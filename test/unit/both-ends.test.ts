import { describe, expect, test } from 'vitest';
import { cursorAt } from '../../src/clients/hubspot/both-ends.js';

const base64url = (text: string) => Buffer.from(text).toString('base64url');

describe('the list cursor that starts above the ceiling', () => {
  test.each([
    ['a plain id, the next page’s first', { after: '501', lastId: 500 }, '9001'],
    ['a plain id, the last one read', { after: '500', lastId: 500 }, '9000'],
    ['base64url of the next page’s first id (the emulator’s)', { after: base64url('501'), lastId: 500 }, base64url('9001')],
    ['base64 with a line break after the id', { after: Buffer.from('501\n').toString('base64'), lastId: 500 }, Buffer.from('9001\n').toString('base64')],
  ])('%s', (_, sample, expected) => {
    expect(cursorAt(9_000, sample)).toBe(expected);
  });

  test.each([
    ['an id far from the page it came with', { after: '777', lastId: 500 }],
    ['an opaque token', { after: 'c210cC10b2tlbi1hYmMxMjM', lastId: 500 }],
    ['base64 of something else', { after: base64url('offset=501'), lastId: 500 }],
  ])('%s: none, and the list walks on', (_, sample) => {
    expect(cursorAt(9_000, sample)).toBeUndefined();
  });
});
