import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../src/reporting/csv.js';
import { perImageCsv } from '../../src/cli/evaluate.js';
import { resultsCsv, type TrialRecord } from '../../src/workflows/search.js';

describe('the CSV writer', () => {
  it('writes integers whole and other numbers to 6 significant digits', () => {
    expect([1, 0, -3, 123456789, 0.1 + 0.2, 2 / 3, 3671.23456, 1e-7].map(csvCell)).toEqual([
      '1',
      '0',
      '-3',
      '123456789',
      '0.3',
      '0.666667',
      '3671.23',
      '1e-7',
    ]);
  });

  it('leaves the cell empty for undefined, null, NaN and infinities, never "NaN"', () => {
    expect([undefined, null, NaN, Infinity, -Infinity].map(csvCell)).toEqual(['', '', '', '', '']);
    expect(toCsv(['a', 'b', 'c'], [[NaN, 1, null]])).toBe('a,b,c\n,1,\n');
  });

  it('quotes a cell with a comma, a quote or a line break as RFC 4180 says, doubling its quotes', () => {
    expect(csvCell('plain name')).toBe('plain name');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\r')).toBe('"cr\r"');
    // Not JSON's escapes: a backslash stays a backslash.
    expect(csvCell('C:\\scans\\80.dcm')).toBe('C:\\scans\\80.dcm');
  });

  it('writes booleans as words and objects as JSON, quoted', () => {
    expect(csvCell(true)).toBe('true');
    expect(csvCell([16, 32])).toBe('"[16,32]"');
    expect(csvCell({ filters: 8 })).toBe('"{""filters"":8}"');
  });

  it('is what lvseg evaluate --per-image and lvseg search write', () => {
    const csv = perImageCsv(
      [{ name: 'a,1', patient: 'P1', dice: 0.912345678, iou: NaN, hd95: Infinity, goodContour: true } as never],
      'mm',
    ).split('\n');
    expect(csv[0]).toBe(
      'name,patient,phase,dice,iou,precision,recall,accuracy,hd95_mm,apd_mm,goodContour,lvAreaPx,labelAreaPx,lvAreaMm2',
    );
    expect(csv[1]).toBe('"a,1",P1,,0.912346,,,,,,,true,,,');
    const trial: TrialRecord = {
      rank: 1,
      trial: 2,
      name: 't',
      status: 'done',
      params: { lr: 0.0012345678, filters: [8, 16] },
      metrics: { dice: 0.8 },
      host: 'h',
    } as never;
    expect(resultsCsv([trial]).split('\n')[1]).toBe('1,2,done,0.00123457,"[8,16]",0.8,,,,,,,,h,,');
  });
});
