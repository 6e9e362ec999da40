import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { decodeDicom } from '../../src/data/index.js';
import { makeDicom } from './dicom-fixture.js';

describe('decodeDicom', () => {
  it('reads explicit VR 16-bit unsigned with rescale, spacing, instance, position and trigger time', () => {
    const bytes = makeDicom({
      rows: 2,
      columns: 3,
      bits: 16,
      values: [0, 1, 2, 100, 1000, 65535],
      slope: 2,
      intercept: -10,
      spacing: [1.25, 1.5],
      instanceNumber: 48,
      triggerTime: 292.5,
      position: [1, -2.5, 3],
    });
    const s = decodeDicom(bytes, 'a.dcm');
    expect(s.rows).toBe(2);
    expect(s.columns).toBe(3);
    expect(Array.from(s.pixels)).toEqual([-10, -8, -6, 190, 1990, 131060]);
    expect(s.spacing).toEqual([1.25, 1.5]);
    expect(s.instanceNumber).toBe(48);
    expect(s.triggerTime).toBe(292.5);
    expect(s.position).toEqual([1, -2.5, 3]);
    expect(s.transferSyntax).toBe('1.2.840.10008.1.2.1');
  });

  it('reads implicit VR 16-bit signed values', () => {
    const bytes = makeDicom({
      rows: 1,
      columns: 4,
      bits: 16,
      signed: true,
      values: [-1, -32768, 32767, 5],
      transferSyntax: '1.2.840.10008.1.2',
    });
    expect(Array.from(decodeDicom(bytes, 'b.dcm').pixels)).toEqual([-1, -32768, 32767, 5]);
  });

  it('reads 8-bit unsigned and signed values', () => {
    expect(
      Array.from(decodeDicom(makeDicom({ rows: 1, columns: 3, bits: 8, values: [0, 128, 255] }), 'c').pixels),
    ).toEqual([0, 128, 255]);
    expect(
      Array.from(
        decodeDicom(makeDicom({ rows: 1, columns: 3, bits: 8, signed: true, values: [0, -128, 127] }), 'd').pixels,
      ),
    ).toEqual([0, -128, 127]);
  });

  it('names a compressed transfer syntax as unsupported', () => {
    const bytes = makeDicom({ rows: 1, columns: 1, bits: 16, values: [1], transferSyntax: '1.2.840.10008.1.2.4.50' });
    expect(() => decodeDicom(bytes, 'jpeg.dcm')).toThrow(
      /jpeg\.dcm: unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.50/,
    );
  });

  it('says when a file is not DICOM, has no pixel data, or is truncated', () => {
    expect(() => decodeDicom(new TextEncoder().encode('hello'), 'x.txt')).toThrow(/x\.txt: not a DICOM Part 10 file/);
    expect(() =>
      decodeDicom(makeDicom({ rows: 2, columns: 2, bits: 16, values: [], omitPixelData: true }), 'e.dcm'),
    ).toThrow(/e\.dcm: DICOM has no pixel data/);
    const full = makeDicom({ rows: 8, columns: 8, bits: 16, values: [] });
    const err = (() => {
      try {
        decodeDicom(full.subarray(0, full.length - 10), 't.dcm');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/^t\.dcm: /);
  });
});
