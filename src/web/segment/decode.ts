/**
 * Images as the page reads them, in the browser: DICOM with lvseg's own decoder (dicom-parser, 16-bit values,
 * rescale and pixel spacing kept), PNG and JPEG through the browser's image decoder reduced to grey with the
 * same rule as the CLI's PNG reader.
 */
import { DataError, decodeDicom, lumaGrey, type DicomSlice } from '../../browser.js';

export interface PageImage {
  name: string;
  height: number;
  width: number;
  /** Values in the source's units (DICOM: after rescale slope/intercept), row-major. */
  pixels: Float32Array;
  /** [row, column] mm per pixel, from DICOM's Pixel Spacing. */
  spacing?: [number, number];
  /** DICOM Instance Number, to order a series. */
  instanceNumber?: number;
  /** The decoded DICOM (positions, orientation, trigger time, series): what the volumes section lays out. */
  dicom?: DicomSlice;
}

function isDicom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d
  );
}

function isPngOrJpeg(bytes: Uint8Array): boolean {
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  return png || jpeg;
}

async function decodeBitmap(file: File, name: string): Promise<PageImage> {
  // No colour management: the stored grey values, as the CLI's PNG reader gives them.
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new DataError(`${name}: the browser gave no 2D canvas to decode the image`);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = lumaGrey(rgba[4 * i]!, rgba[4 * i + 1]!, rgba[4 * i + 2]!);
  return { name, height, width, pixels };
}

/** Decodes one dropped file; DICOM is recognised by its 'DICM' marker whatever the file is called. */
export async function decodeImageFile(file: File): Promise<PageImage> {
  const name = file.webkitRelativePath || file.name;
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (isDicom(bytes)) {
    const slice = decodeDicom(bytes, name);
    const image: PageImage = { name, height: slice.rows, width: slice.columns, pixels: slice.pixels, dicom: slice };
    if (slice.spacing) image.spacing = slice.spacing;
    if (slice.instanceNumber !== undefined) image.instanceNumber = slice.instanceNumber;
    return image;
  }
  if (isPngOrJpeg(bytes)) return decodeBitmap(file, name);
  throw new DataError(`${name}: not a DICOM, PNG or JPEG file`);
}

/** A series in reading order: by DICOM instance number, then by name with numbers compared as numbers. */
export function seriesOrder(a: PageImage, b: PageImage): number {
  const ia = a.instanceNumber ?? Number.POSITIVE_INFINITY;
  const ib = b.instanceNumber ?? Number.POSITIVE_INFINITY;
  if (ia !== ib) return ia < ib ? -1 : 1;
  return a.name.localeCompare(b.name, 'en', { numeric: true });
}
