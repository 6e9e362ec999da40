/** Bounds on the images lvseg decodes, checked from their headers before decoding (no file system: the page uses them
 * too). */
import { DataError } from '../errors.js';

/** Largest image lvseg decodes: 16 M pixels (4096x4096), far above any MRI slice. */
export const MAX_IMAGE_PIXELS = 4096 * 4096;
/** Largest side of an image. */
export const MAX_IMAGE_SIDE = 16384;
/** Largest single image file (PNG or DICOM) read into memory. */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/** Fails unless a `width`x`height` image is within the bounds above. */
export function checkImageSize(width: number, height: number, name: string): void {
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(
      `${name}: a ${width}x${height} image is larger than lvseg reads (at most ${MAX_IMAGE_PIXELS / 2 ** 20} M ` +
        `pixels, e.g. 4096x4096); resize it first`,
    );
  }
}
