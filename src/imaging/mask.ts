/** Class masks as plain pixel arrays: resizing and the PNG form the shared data uses (no tfjs). */
import { encodePngGrey } from './png.js';

/** Nearest-neighbour resampling of a mask with half-pixel centres, so classes stay classes. */
export function resizeNearest(mask: Uint8Array, height: number, width: number, outHeight: number, outWidth: number): Uint8Array {
  if (height === outHeight && width === outWidth) return mask.slice();
  const out = new Uint8Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(Math.floor(((y + 0.5) * height) / outHeight), height - 1);
    for (let x = 0; x < outWidth; x++) {
      const sx = Math.min(Math.floor(((x + 0.5) * width) / outWidth), width - 1);
      out[y * outWidth + x] = mask[sy * width + sx]!;
    }
  }
  return out;
}

/** A class mask as an 8-bit PNG with the LV at 255 (the shared data's mask convention). */
export function encodeMaskPng(mask: Uint8Array, height: number, width: number): Buffer {
  return encodePngGrey(width, height, mask.map((v) => (v !== 0 ? 255 : 0)));
}
