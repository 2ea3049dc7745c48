import { describe, expect, test } from 'vitest';
import { fieldParser, readableText } from '../../src/processors/field-types.js';

describe('field types: valid input is normalised', () => {
  test.each([
    ['string', 'Ada', 'Ada'],
    ['email', '  Ada.Lovelace@Example.COM ', 'ada.lovelace@example.com'],
    ['phone', '+1 (555) 010-2030', '+15550102030'],
    ['phone', '030 1234 5678', '03012345678'],
    ['url', 'https://example.com/about', 'https://example.com/about'],
    ['url', 'example.com', 'example.com'],
    ['date', '2025-03-04', '2025-03-04'],
    ['date', '1741046400000', '2025-03-04'],
    ['datetime', '2025-03-04T10:11:12.345Z', '2025-03-04T10:11:12.345Z'],
    ['datetime', '2025-03-04T12:11:12+02:00', '2025-03-04T10:11:12.000Z'],
    ['datetime', '1741083072345', '2025-03-04T10:11:12.345Z'],
    ['decimal', '12500.50', 12500.5],
    ['decimal', '-3', -3],
    ['integer', '250', 250],
    ['integer', '250.0', 250],
    ['boolean', 'true', true],
    ['boolean', 'FALSE', false],
    ['enumeration', 'lead', 'lead'],
  ] as const)('%s %j → %j', (type, raw, expected) => {
    expect(fieldParser({ type })(raw)).toEqual({ ok: true, value: expected });
  });
});

describe('field types: invalid input is refused with a reason', () => {
  test.each([
    ['email', 'not-an-email', 'not a valid email address'],
    ['email', 'ada@', 'not a valid email address'],
    ['phone', '12-34', 'not a valid phone number'],
    ['phone', 'call me', 'not a valid phone number'],
    ['url', 'not a url', 'not a valid URL'],
    ['date', '2025-02-30', 'not a valid date'],
    ['date', 'yesterday', 'not a valid date'],
    ['datetime', '2025-13-45T00:00:00Z', 'not a valid date-time'],
    ['datetime', '2025-02-30T10:00:00.000Z', 'not a valid date-time'],
    ['decimal', '12,5', 'not a number'],
    ['integer', '2.5', 'not a whole number'],
    ['boolean', 'maybe', 'not true or false'],
  ] as const)('%s %j', (type, raw, reason) => {
    expect(fieldParser({ type })(raw)).toEqual({ ok: false, reason });
  });
});

describe('empty values', () => {
  test.each([null, undefined, ''])('%j is null when optional and refused when required', (raw) => {
    expect(fieldParser({ type: 'string' })(raw)).toEqual({ ok: true, value: null });
    expect(fieldParser({ type: 'string', required: true })(raw)).toEqual({ ok: false, reason: 'is required but empty' });
  });

  test('a non-string value is refused', () => {
    expect(fieldParser({ type: 'decimal' })(12)).toEqual({ ok: false, reason: 'expected a string, got number' });
  });
});

describe('enumerations with allowed values', () => {
  const parse = fieldParser({ type: 'enumeration', values: ['low', 'medium', 'high'] });
  test.each([
    ['low', true],
    ['low;high', true],
    ['urgent', false],
    ['low;urgent', false],
  ])('%s → ok %s', (raw, ok) => {
    expect(parse(raw).ok).toBe(ok);
  });
});

describe('text a view can hold: NUL and lone surrogates become U+FFFD', () => {
  test.each([
    ['plain text is kept', 'Ada Lovelace', 'Ada Lovelace'],
    ['a surrogate pair (an emoji) is kept', 'rocket \u{1F680}', 'rocket \u{1F680}'],
    ['a NUL', 'a\u0000b', 'a\ufffdb'],
    ['a lone high surrogate', 'x\ud800y', 'x\ufffdy'],
    ['a lone low surrogate', 'x\udc00y', 'x\ufffdy'],
    ['a high surrogate at the end', 'x\ud83d', 'x\ufffd'],
    ['a pair next to a lone one', '\ud83d\ude80\ude80', '\u{1F680}\ufffd'],
  ])('%s', (_, raw, expected) => {
    expect(readableText(raw)).toBe(expected);
    expect(fieldParser({ type: 'string' })(raw)).toEqual({ ok: true, value: expected });
  });

  test('every type reads the replaced text', () => {
    expect(fieldParser({ type: 'enumeration' })('a\u0000')).toEqual({ ok: true, value: 'a\ufffd' });
    expect(fieldParser({ type: 'email' })('ada\u0000@example.com')).toEqual({ ok: false, reason: 'not a valid email address' });
  });
});
