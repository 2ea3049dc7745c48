import { expect } from 'vitest';

/**
 * The rows of the table whose header line is `header`, up to the next blank line, cut into
 * cells where the header's columns start: misaligned values come out wrong.
 */
export function tableAfter(stdout: string, header: string[]): string[][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.split(/\s{2,}/).join('|') === header.join('|'));
  expect(start, `no table headed ${header.join(', ')} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  const offsets = header.map((name) => lines[start].indexOf(name));
  const end = lines.findIndex((line, index) => index > start && line.trim() === '');
  return lines.slice(start + 1, end < 0 ? undefined : end).map((line) => offsets.map((offset, column) => line.slice(offset, offsets[column + 1]).trim()));
}
