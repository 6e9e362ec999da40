/** Class masks as plain pixel arrays: resizing and the PNG form the shared data uses (no tfjs). */
import { encodePngGrey } from './png.js';

export { resizeNearest } from './resample.js';

/** A class mask as an 8-bit PNG with the LV at 255 (the shared data's mask convention). */
export function encodeMaskPng(mask: Uint8Array, height: number, width: number): Buffer {
  return encodePngGrey(
    width,
    height,
    mask.map((v) => (v !== 0 ? 255 : 0)),
  );
}
