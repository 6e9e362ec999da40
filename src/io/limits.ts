/**
 * Bounds on what lvseg reads, checked before the bytes are read or decoded, so a hostile or broken
 * input fails in milliseconds with a message instead of exhausting memory (an 875 KB PNG that decodes
 * to 30000x30000 once took 41 s and 5.9 GB before failing).
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/limits.js';

export { checkImageSize, MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from '../imaging/limits.js';

/** Reads a whole image file after checking its size; `what` names the kind for messages (PNG, DICOM). */
export async function readImageFile(file: string, what: string): Promise<Buffer> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new DataError(`cannot read ${what} file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (size > MAX_IMAGE_FILE_BYTES) {
    throw new DataError(
      `${file}: ${size} bytes, more than lvseg reads as one ${what} image (${MAX_IMAGE_FILE_BYTES} bytes = ` +
        `${MAX_IMAGE_FILE_BYTES / 2 ** 20} MB); is it the right file?`,
    );
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new DataError(`cannot read ${what} file ${file}: ${(err as Error).message}`, { cause: err });
  }
}
