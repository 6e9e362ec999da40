/** Pixel rasters as plain typed arrays (no PNG codec, no Node): shared by the CLI and the browser page. */
export interface RgbaImage {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes a pixel. */
  data: Uint8Array;
}

/** A colour pixel's grey value: itself when r = g = b, else its luma (ITU-R BT.601), as decodePngGrey reads colour
 * PNGs. */
export function lumaGrey(r: number, g: number, b: number): number {
  return r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

/** Maps float values to 0–255 grey by their own min–max (a flat image maps to 0). */
export function toGrey8(values: ArrayLike<number>): Uint8Array {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Uint8Array(values.length);
  const span = hi - lo;
  if (!(span > 0)) return out;
  for (let i = 0; i < values.length; i++) out[i] = Math.round(((values[i]! - lo) / span) * 255);
  return out;
}
