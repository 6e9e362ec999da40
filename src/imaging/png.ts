import { PNG } from 'pngjs';
import { lumaGrey, type RgbaImage } from './pixels.js';

export { toGrey8, lumaGrey, type RgbaImage } from './pixels.js';
import { checkImageSize } from './limits.js';
import { DataError } from '../errors.js';

/** An RGBA or grey raster in memory. */
export interface GreyImage {
  width: number;
  height: number;
  /** Row-major values; 8-bit images hold 0–255, 16-bit images 0–65535. */
  data: Uint16Array | Uint8Array;
  bitDepth: 8 | 16;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk, or undefined when `bytes` does not start like a PNG. */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Decodes an 8- or 16-bit PNG into grey values (colour PNGs are reduced to their luma). The size in
 * the header is checked first: a small file can claim a huge image. `name` names it in errors.
 */
export function decodePngGrey(bytes: Uint8Array, name = 'PNG'): GreyImage {
  const dims = pngDimensions(bytes);
  if (dims) checkImageSize(dims.width, dims.height, name);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true } as never);
  } catch (err) {
    throw new DataError(
      `${name}: not a readable PNG: ${pngFailure(bytes, err)}; is the file complete? export or copy it again`,
      { cause: err },
    );
  }
  const { width, height } = png;
  const depth = (png as unknown as { depth?: number }).depth === 16 ? 16 : 8;
  const src = png.data as unknown as Uint8Array | Uint16Array;
  const out = depth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const r = src[4 * i]!,
      g = src[4 * i + 1]!,
      b = src[4 * i + 2]!;
    out[i] = lumaGrey(r, g, b);
  }
  return { width, height, data: out, bitDepth: depth };
}

/** Why pngjs could not decode `bytes`, in lvseg's words (its own read "There are some read requests waitng on finished
 * stream" for a cut-off file). */
function pngFailure(bytes: Uint8Array, err: unknown): string {
  if (!pngDimensions(bytes)) return 'no PNG signature and header';
  const message = err instanceof Error ? err.message : String(err);
  if (/read requests waitng|unexpected end|truncated/i.test(message))
    return `truncated (its ${bytes.length} bytes end before the image data does)`;
  return `corrupt (${message.split('\n')[0]})`;
}

/** Encodes 8-bit grey values as a PNG. */
export function encodePngGrey(width: number, height: number, data: Uint8Array): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(data.buffer, data.byteOffset, width * height);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

/** Encodes an RGBA raster as a PNG. */
export function encodePngRgba(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.width * image.height * 4);
  return PNG.sync.write(png);
}
