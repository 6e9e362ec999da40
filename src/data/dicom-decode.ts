/**
 * DICOM decoding from bytes, without the file system: shared by the CLI (dicom.ts reads the file) and
 * the browser page.
 */
import dicomParser from 'dicom-parser';
import { DataError } from '../errors.js';
import { checkImageSize } from '../imaging/limits.js';

/** The transfer syntaxes lvseg decodes: uncompressed little-endian, implicit and explicit VR. */
export const SUPPORTED_TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
};

/** One decoded DICOM slice: pixel values after rescale slope/intercept, and the geometry and timing we use. */
export interface DicomSlice {
  file: string;
  rows: number;
  columns: number;
  /** rows·columns values, row-major, in the modality's units (stored value × slope + intercept). */
  pixels: Float32Array;
  /** Pixel spacing [row_mm, col_mm] (0028,0030), when present. */
  spacing?: [number, number];
  instanceNumber?: number;
  /** Image position (patient) (0020,0032), mm. */
  position?: [number, number, number];
  /** Trigger time (0018,1060), ms after the R wave: the cardiac phase. */
  triggerTime?: number;
  transferSyntax: string;
  /** Series instance UID (0020,000E): which acquisition the image belongs to. */
  seriesUid?: string;
  /** Series number (0020,0011) and description (0008,103E), for messages. */
  seriesNumber?: number;
  seriesDescription?: string;
  /** Image orientation (patient) (0020,0037): row then column direction cosines. */
  orientation?: [number, number, number, number, number, number];
  /** Slice thickness (0018,0050) and spacing between slices (0018,0088), mm. */
  sliceThickness?: number;
  spacingBetweenSlices?: number;
  /** Slice location (0020,1041), mm: vendor-defined, used only when positions are missing. */
  sliceLocation?: number;
  /** Heart rate (0018,1088), beats per minute, and nominal RR interval (0018,1062), ms. */
  heartRate?: number;
  nominalInterval?: number;
  /** Cardiac number of images (0018,1090): phases per slice in a cine. */
  cardiacImages?: number;
}

function message(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  // dicom-parser throws {exception, dataSet} when it fails part-way.
  if (err && typeof err === 'object' && 'exception' in err) return String((err as { exception: unknown }).exception);
  return String(err);
}

/** Decodes a DICOM Part 10 file's bytes; `file` is for messages. */
export function decodeDicom(bytes: Uint8Array, file: string): DicomSlice {
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) {
    throw new DataError(`${file}: not a DICOM Part 10 file (no 'DICM' at byte 128)`);
  }
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (err) {
    throw new DataError(`${file}: unreadable DICOM (${message(err)})`, { cause: err });
  }
  try {
    return sliceFrom(ds, bytes, file);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${file}: unreadable DICOM (${message(err)})`, { cause: err });
  }
}

function sliceFrom(ds: dicomParser.DataSet, bytes: Uint8Array, file: string): DicomSlice {
  const ts = (ds.string('x00020010') ?? '').replace(/\0/g, '').trim();
  if (!(ts in SUPPORTED_TRANSFER_SYNTAXES)) {
    throw new DataError(
      `${file}: unsupported transfer syntax ${ts || '(missing)'}; lvseg reads uncompressed little-endian DICOM ` +
        `(convert with e.g. 'gdcmconv --raw')`,
    );
  }
  const pixel = ds.elements.x7fe00010;
  if (!pixel) throw new DataError(`${file}: DICOM has no pixel data (7FE0,0010)`);
  const rows = ds.uint16('x00280010');
  const columns = ds.uint16('x00280011');
  const bitsAllocated = ds.uint16('x00280100');
  if (!rows || !columns) throw new DataError(`${file}: DICOM lacks Rows/Columns (0028,0010/0011)`);
  checkImageSize(columns, rows, file);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DataError(
      `${file}: BitsAllocated ${bitsAllocated ?? '(missing)'} is not supported; lvseg reads 8- and 16-bit images`,
    );
  }
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  if (samplesPerPixel !== 1)
    throw new DataError(`${file}: ${samplesPerPixel} samples per pixel; lvseg reads grey (1 sample) images`);
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const bitsStored = Math.min(ds.uint16('x00280101') ?? bitsAllocated, bitsAllocated);
  const n = rows * columns;
  const bytesPer = bitsAllocated / 8;
  if (pixel.dataOffset + n * bytesPer > bytes.length || pixel.length < n * bytesPer) {
    throw new DataError(
      `${file}: pixel data holds ${Math.min(pixel.length, bytes.length - pixel.dataOffset)} bytes, ` +
        `${rows}x${columns}x${bitsAllocated}-bit needs ${n * bytesPer} (truncated file?)`,
    );
  }
  const slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept))
    throw new DataError(`${file}: invalid rescale slope/intercept`);
  const pixels = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset + pixel.dataOffset, n * bytesPer);
  // Values use only BitsStored bits; the rest may hold overlays, so mask and sign-extend.
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  for (let i = 0; i < n; i++) {
    let v = (bytesPer === 2 ? view.getUint16(2 * i, true) : view.getUint8(i)) & mask;
    if (signed && v & signBit) v -= mask + 1;
    pixels[i] = v * slope + intercept;
  }
  const slice: DicomSlice = { file, rows, columns, pixels, transferSyntax: ts };
  const r = ds.floatString('x00280030', 0);
  const c = ds.floatString('x00280030', 1);
  if (r !== undefined && c !== undefined && r > 0 && c > 0) slice.spacing = [r, c];
  const inst = ds.intString('x00200013');
  if (inst !== undefined && Number.isFinite(inst)) slice.instanceNumber = inst;
  const pos = [0, 1, 2].map((k) => ds.floatString('x00200032', k));
  if (pos.every((p) => p !== undefined && Number.isFinite(p))) slice.position = pos as [number, number, number];
  const trig = ds.floatString('x00181060');
  if (trig !== undefined && Number.isFinite(trig)) slice.triggerTime = trig;
  readSeriesFields(ds, slice);
  return slice;
}

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** The series, geometry and timing tags a cine analysis needs (lvseg volumes); each only when present and valid. */
function readSeriesFields(ds: dicomParser.DataSet, slice: DicomSlice): void {
  const text = (tag: string): string | undefined => ds.string(tag)?.replace(/\0/g, '').trim() || undefined;
  const uid = text('x0020000e');
  if (uid) slice.seriesUid = uid;
  const seriesNumber = ds.intString('x00200011');
  if (finite(seriesNumber)) slice.seriesNumber = seriesNumber;
  const description = text('x0008103e');
  if (description) slice.seriesDescription = description;
  const orientation = [0, 1, 2, 3, 4, 5].map((k) => ds.floatString('x00200037', k));
  if (orientation.every(finite)) slice.orientation = orientation as DicomSlice['orientation'];
  const positive = (tag: string): number | undefined => {
    const v = ds.floatString(tag);
    return finite(v) && v > 0 ? v : undefined;
  };
  const thickness = positive('x00180050');
  if (thickness !== undefined) slice.sliceThickness = thickness;
  const between = positive('x00180088');
  if (between !== undefined) slice.spacingBetweenSlices = between;
  const location = ds.floatString('x00201041');
  if (finite(location)) slice.sliceLocation = location;
  const heartRate = positive('x00181088');
  if (heartRate !== undefined) slice.heartRate = heartRate;
  const interval = positive('x00181062');
  if (interval !== undefined) slice.nominalInterval = interval;
  const images = ds.intString('x00181090');
  if (finite(images) && images > 0) slice.cardiacImages = images;
}
