import { describe, expect, it } from 'vitest';
import { glyphRows, textWidth } from '../../src/reporting/font.js';
import { createImage, drawText } from '../../src/reporting/raster.js';

describe('5x7 bitmap font', () => {
  it('has a glyph of 5-bit rows for every printable ASCII character, 9 rows for descenders', () => {
    for (let c = 32; c <= 126; c++) {
      const ch = String.fromCharCode(c);
      const rows = glyphRows(ch);
      expect(rows).toHaveLength('gjpqy'.includes(ch) ? 9 : 7);
      for (const r of rows) expect(r).toBeGreaterThanOrEqual(0), expect(r).toBeLessThan(32);
    }
    expect(glyphRows(' ').every((r) => r === 0)).toBe(true);
  });

  it('draws every letter and digit differently, and every one but space with ink', () => {
    const chars = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
    const keys = chars.map((ch) => glyphRows(ch).join(','));
    expect(new Set(keys).size).toBe(chars.length);
    for (let c = 33; c <= 126; c++) expect(glyphRows(String.fromCharCode(c)).some((r) => r > 0)).toBe(true);
  });

  it('draws characters outside ASCII as a question mark', () => {
    expect(glyphRows('é')).toEqual(glyphRows('?'));
  });

  it('measures text as 6 pixels a character less the trailing space, times the scale', () => {
    expect(textWidth('Label', 1)).toBe(29);
    expect(textWidth('Label', 2)).toBe(58);
    expect(textWidth('', 3)).toBe(0);
  });

  it('rasterises "I" at scale 2 as the glyph magnified: a 3-wide bar with serifs', () => {
    const img = createImage(12, 16);
    drawText(img, 'I', 0, 0, [0, 0, 0], 2);
    const ink = (x: number, y: number): boolean => img.data[(y * 12 + x) * 4] === 0;
    // Row 0 of "I" is .###. → columns 1..3 → pixels 2..7 at scale 2; row 1 is ..#.. → pixels 4..5.
    expect([...Array(12).keys()].filter((x) => ink(x, 0))).toEqual([2, 3, 4, 5, 6, 7]);
    expect([...Array(12).keys()].filter((x) => ink(x, 3))).toEqual([4, 5]);
    expect([...Array(12).keys()].filter((x) => ink(x, 14))).toHaveLength(0);
  });
});
