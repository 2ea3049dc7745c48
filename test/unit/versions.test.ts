import { describe, expect, test } from 'vitest';
import { placeObservation, type Version } from '../../src/processors/versions.js';

const version = (validFrom: string, validTo: string | null, hash: string, runId = 1): Version => ({ validFrom, validTo, hash, fieldsJson: `{"v":"${hash}"}`, runId });
const copy = (at: string, hash: string, runId = 9) => ({ at, hash, fieldsJson: `{"v":"${hash}"}`, runId });
const shape = (versions: Version[]) => versions.map((v) => `${v.validFrom}..${v.validTo ?? ''} ${v.hash}`);

describe('placing a copy of a record into its timeline', () => {
  const timeline = [version('01', '05', 'A'), version('05', null, 'C')];

  test.each([
    ['the first copy opens the first version', [], copy('03', 'A'), ['03.. A']],
    ['a copy inside a version with other content splits it', timeline, copy('03', 'B'), ['01..03 A', '03..05 B', '05.. C']],
    ['a copy with the content of the version covering its time changes nothing', timeline, copy('03', 'A'), ['01..05 A', '05.. C']],
    ['a copy at the start of a version re-describes it', timeline, copy('05', 'D'), ['01..05 A', '05.. D']],
    ['a copy before the first version fills the time up to it', timeline, copy('00', 'Z'), ['00..01 Z', '01..05 A', '05.. C']],
    ['a copy before the first version with its content extends it', timeline, copy('00', 'A'), ['00..05 A', '05.. C']],
    ['a copy whose content equals the next version merges into it', timeline, copy('03', 'C'), ['01..03 A', '03.. C']],
    ['a copy after the current one closes it', timeline, copy('07', 'E'), ['01..05 A', '05..07 C', '07.. E']],
    ['a copy after a deletion opens a version again', [version('01', '04', 'A')], copy('06', 'A'), ['01..04 A', '06.. A']],
    ['a copy inside a deletion gap fills it up to the next version', [version('01', '03', 'A'), version('06', null, 'C')], copy('04', 'B'), ['01..03 A', '04..06 B', '06.. C']],
    ['a version that lasted no time gives way to a copy at that instant', [version('01', '04', 'A'), version('04', '04', 'B')], copy('04', 'C'), ['01..04 A', '04.. C']],
  ])('%s', (_, before, observed, after) => {
    expect(shape(placeObservation(before, observed))).toEqual(after);
  });

  test('never changes the timeline it is given, and keeps the run of versions it does not touch', () => {
    const before = structuredClone(timeline);
    const after = placeObservation(timeline, copy('03', 'B', 7));
    expect(timeline).toEqual(before);
    expect(after.map((v) => v.runId)).toEqual([1, 7, 1]);
  });
});
