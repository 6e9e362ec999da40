/**
 * A 5x7 bitmap font for printable ASCII (32–126), so panels and PNG charts can carry text without a
 * font engine. Each glyph is 7 rows of 5 bits, written as 14 hex digits (bit 4 is the left column);
 * glyphs follow in code-point order. Characters outside the table draw as '?'.
 */
const GLYPH_HEX =
  '00000000000000040404040400040a0a0a000000000a0a1f0a1f0a0a040f140e051e0418190204081303' +
  '0c12140815120d0404080000000002040808080402080402020204080004150e1504000004041f040400' +
  '000000000c04080000001f00000000000000000c0c000102040810000e11131519110e040c040404040e' +
  '0e11010204081f1f02040201110e02060a121f02021f101e0101110e0608101e11110e1f010204080808' +
  '0e11110e11110e0e11110f01020c000c0c000c0c00000c0c000c04080204081008040200001f001f0000' +
  '080402010204080e1101020400040e11010d15150e0e11111f1111111e11111e11111e0e11101010110e' +
  '1c12111111121c1f10101e10101f1f10101e1010100e11101711110f1111111f1111110e04040404040e' +
  '0702020202120c111214181412111010101010101f111b1515111111111119151311110e11111111110e' +
  '1e11111e1010100e11111115120d1e11111e1412110f10100e01011e1f0404040404041111111111110e' +
  '11111111110a041111111515150a11110a040a11111111110a0404041f01020408101f0e08080808080e' +
  '001008040201000e02020202020e040a11000000000000000000001f0804020000000000000e010f110f' +
  '1010161911111e00000e1010110e01010d1311110f00000e111f100e0609081c080808000f11110f010e' +
  '1010161911111104000c0404040e0200060202120c101012141814120c04040404040e00001a15151111' +
  '0000161911111100000e1111110e00001e111e101000000d130f01010000161910101000000e100e011e' +
  '08081c080809060000111111130d00001111110a040000111115150a0000110a040a11000011110f010e' +
  '00001f0204081f02040408040402040404040404040804040204040800000815020000';

/** Lower-case letters with descenders: 9 rows, the last two below the baseline. */
const DESCENDER_HEX: Record<string, string> = {
  g: '00000f1111110f010e',
  j: '02000602020202120c',
  p: '00001e1111111e1010',
  q: '00000f1111110f0101',
  y: '0000111111110f010e',
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character in font pixels (glyph + one column of spacing). */
export const GLYPH_ADVANCE = 6;

const FIRST = 32;
const LAST = 126;

/** Row bits of one character's glyph (7 rows, or 9 for descenders; bit 4 = leftmost column). */
export function glyphRows(ch: string): readonly number[] {
  const descender = DESCENDER_HEX[ch];
  if (descender) return Array.from({ length: 9 }, (_, r) => parseInt(descender.slice(2 * r, 2 * r + 2), 16));
  let code = ch.codePointAt(0) ?? 63;
  if (code < FIRST || code > LAST) code = 63;
  const at = (code - FIRST) * 14;
  const rows: number[] = [];
  for (let r = 0; r < GLYPH_HEIGHT; r++) rows.push(parseInt(GLYPH_HEX.slice(at + 2 * r, at + 2 * r + 2), 16));
  return rows;
}

/** Width in output pixels of `text` drawn at `scale` (no trailing spacing column). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/** Height in output pixels of one line drawn at `scale`. */
export function textHeight(scale: number): number {
  return GLYPH_HEIGHT * scale;
}
