/**
 * NIfTI-1/NIfTI-2 volumes (.nii, .nii.gz): the header is read by nifti-reader-js, the voxels are
 * bounded (limits.ts) before they are decompressed, and every failure is a one-line DataError naming
 * the file. Writing (label maps, converted datasets) is a NIfTI-1 header from the same library's
 * `NIFTI1.toArrayBuffer`, then the voxels, gzip-compressed by zlib for `.nii.gz`.
 */
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { isNIFTI1, isNIFTI2, NIFTI1, readHeader, type NIFTI2 } from 'nifti-reader-js';
import { DataError } from '../errors.js';
import { checkImageSize, readImageFile } from '../io/limits.js';
import { encodeNiftiFile } from './nifti-write.js';

export { encodeNifti, type NiftiData, type NiftiGeometry } from './nifti-write.js';

/** The largest volume lvseg reads: 2^27 voxels (512 MB as float32), e.g. 512x512x32x16; far above a cardiac cine. */
export const MAX_NIFTI_VOXELS = 2 ** 27;

export type NiftiHeader = NIFTI1 | NIFTI2;

/** One NIfTI volume read into memory. */
export interface NiftiVolume {
  file: string;
  /** The header as nifti-reader-js read it (kept whole, so a label map can be written with the same geometry). */
  header: NiftiHeader;
  /** [nx, ny, nz, nt]: columns, rows, slices and time points (1 where the file has fewer dimensions). */
  shape: [number, number, number, number];
  /** nx·ny·nz·nt voxel values after scl_slope/scl_inter, x fastest (each slice is one row-major ny×nx image). */
  data: Float32Array;
  /** Voxel index (i, j, k) → RAS millimetres, 4×4: the sform where it is set, else the qform, else the pixdims. */
  affine: number[][];
  /** Millimetres between voxel centres along i, j and k (the lengths of the affine's columns). */
  spacing: [number, number, number];
  /** Milliseconds between time points (pixdim[4] in the file's time unit), when the file says. */
  timeStepMs?: number;
}

/** NIfTI datatype codes lvseg reads, with their bytes per voxel. */
const DATATYPES: Record<number, { name: string; bytes: number }> = {
  2: { name: 'uint8', bytes: 1 },
  4: { name: 'int16', bytes: 2 },
  8: { name: 'int32', bytes: 4 },
  16: { name: 'float32', bytes: 4 },
  64: { name: 'float64', bytes: 8 },
  256: { name: 'int8', bytes: 1 },
  512: { name: 'uint16', bytes: 2 },
  768: { name: 'uint32', bytes: 4 },
};

/** True for a name lvseg reads as NIfTI: `.nii` or `.nii.gz`, any case. */
export function isNiftiName(file: string): boolean {
  return /\.nii(\.gz)?$/i.test(file);
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The first bytes of a (possibly gzip) file's content, without inflating the rest. */
function contentPrefix(bytes: Uint8Array): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  // Z_SYNC_FLUSH returns what a cut-off stream holds instead of failing on its missing end.
  return gunzipSync(bytes.subarray(0, 16384), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
}

function copyBuffer(bytes: Uint8Array, length: number): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + Math.min(length, bytes.length)) as ArrayBuffer;
}

/** Reads the header from the start of the content: 348 bytes for NIfTI-1, 540 for NIfTI-2 (extensions are not read). */
function headerFrom(prefix: Uint8Array, file: string): NiftiHeader {
  const one = copyBuffer(prefix, 348);
  const two = copyBuffer(prefix, 540);
  if (!isNIFTI1(one) && !isNIFTI2(two)) {
    throw new DataError(
      `${file}: not a NIfTI-1 or NIfTI-2 file (no 'n+1'/'n+2' magic in its header); pass a .nii or .nii.gz volume`,
    );
  }
  try {
    return readHeader(isNIFTI1(one) ? one : two);
  } catch (err) {
    throw new DataError(`${file}: unreadable NIfTI header (${(err as Error).message})`, { cause: err });
  }
}

/** The dimensions as [nx, ny, nz, nt], checked: 2 to 4 dimensions, none empty, within the bounds. */
function volumeShape(header: NiftiHeader, file: string): [number, number, number, number] {
  const d = header.dims;
  const rank = d[0]!;
  if (!(rank >= 2 && rank <= 7))
    throw new DataError(`${file}: header dim[0] is ${rank}; a NIfTI image has 2 to 7 dimensions`);
  const extra = d.slice(5, rank + 1).filter((n) => n > 1);
  if (extra.length > 0)
    throw new DataError(
      `${file}: a ${rank}-dimensional volume (${d.slice(1, rank + 1).join('x')}); lvseg reads 2D, 3D and 4D (x, y, ` +
        `slice, time)`,
    );
  const shape = [1, 2, 3, 4].map((i) => (i <= rank ? d[i]! : 1)) as [number, number, number, number];
  if (shape.some((n) => !(Number.isInteger(n) && n >= 1)))
    throw new DataError(`${file}: header dims ${shape.join('x')} hold an empty or negative size`);
  checkImageSize(shape[0], shape[1], file);
  const voxels = shape[0] * shape[1] * shape[2] * shape[3];
  if (voxels > MAX_NIFTI_VOXELS) {
    throw new DataError(
      `${file}: ${shape.join('x')} = ${voxels} voxels, more than lvseg reads as one volume (${MAX_NIFTI_VOXELS}); ` +
        `crop or split it first`,
    );
  }
  return shape;
}

/** Millimetres per unit of the header's spatial unit code (0 unknown: taken as mm). */
function spatialUnitMm(units: number): number {
  const code = units & 0x07;
  return code === 1 ? 1000 : code === 3 ? 0.001 : 1;
}

/** Milliseconds per unit of the header's time unit code, or undefined when it names none. */
function timeUnitMs(units: number): number | undefined {
  const code = units & 0x38;
  return code === 8 ? 1000 : code === 16 ? 1 : code === 24 ? 0.001 : undefined;
}

function decodeVoxels(buffer: ArrayBuffer, header: NiftiHeader, count: number): Float32Array {
  const code = header.datatypeCode;
  const out = new Float32Array(count);
  const view = new DataView(buffer);
  const little = header.littleEndian;
  const bytes = DATATYPES[code]!.bytes;
  const get: (offset: number) => number =
    code === 2
      ? (o) => view.getUint8(o)
      : code === 256
        ? (o) => view.getInt8(o)
        : code === 4
          ? (o) => view.getInt16(o, little)
          : code === 512
            ? (o) => view.getUint16(o, little)
            : code === 8
              ? (o) => view.getInt32(o, little)
              : code === 768
                ? (o) => view.getUint32(o, little)
                : code === 16
                  ? (o) => view.getFloat32(o, little)
                  : (o) => view.getFloat64(o, little);
  for (let i = 0; i < count; i++) out[i] = get(i * bytes);
  // scl_slope 0 means "no scaling" in NIfTI; a non-finite one is ignored the same way.
  const slope = header.scl_slope;
  const inter = Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
  if (Number.isFinite(slope) && slope !== 0 && (slope !== 1 || inter !== 0)) {
    for (let i = 0; i < count; i++) out[i] = out[i]! * slope + inter;
  }
  return out;
}

/**
 * Reads a .nii or .nii.gz file: header, geometry and voxels (scaled by scl_slope/scl_inter), after
 * checking the file size and the header's dimensions against lvseg's bounds. Corrupt, truncated or
 * unsupported files give a one-line DataError naming the file.
 */
export async function readNifti(file: string): Promise<NiftiVolume> {
  const bytes = new Uint8Array(await readImageFile(file, 'NIfTI'));
  let prefix: Uint8Array;
  try {
    prefix = contentPrefix(bytes);
  } catch (err) {
    throw new DataError(`${file}: corrupt gzip data (${(err as Error).message}); is the .nii.gz complete?`, {
      cause: err,
    });
  }
  if (prefix.length < 348)
    throw new DataError(
      `${file}: ${prefix.length} bytes, shorter than a NIfTI header (348); the file is truncated or not NIfTI`,
    );
  const header = headerFrom(prefix, file);
  const type = DATATYPES[header.datatypeCode];
  if (!type) {
    throw new DataError(
      `${file}: NIfTI datatype ${header.datatypeCode} is not read by lvseg; store the image as uint8, int8, int16, ` +
        `uint16, int32, uint32, float32 or float64`,
    );
  }
  const shape = volumeShape(header, file);
  const count = shape[0] * shape[1] * shape[2] * shape[3];
  const offset = Math.max(Math.floor(header.vox_offset), header instanceof NIFTI1 ? 352 : 544);
  const needed = offset + count * type.bytes;
  let content: Uint8Array;
  try {
    // Bounded by the header: a file that inflates to more than its voxels is refused before it fills memory.
    content = isGzip(bytes) ? gunzipSync(bytes, { maxOutputLength: needed + 2 ** 20 }) : bytes;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `it inflates to more than the ${needed} bytes its header describes`
        : `corrupt or truncated gzip data (${(err as Error).message})`;
    throw new DataError(`${file}: ${why}; re-export the volume`, { cause: err });
  }
  if (content.length < needed) {
    throw new DataError(
      `${file}: truncated: its header describes ${shape.join('x')} ${type.name} voxels from byte ` +
        `${offset} (${needed} bytes) but the ${isGzip(bytes) ? 'inflated ' : ''}file has ${content.length}`,
    );
  }
  const data = decodeVoxels(copyBuffer(content.subarray(offset), count * type.bytes), header, count);
  const unit = spatialUnitMm(header.xyzt_units);
  const affine = [0, 1, 2]
    .map((r) => [0, 1, 2, 3].map((c) => (header.affine[r]![c] ?? 0) * unit))
    .concat([[0, 0, 0, 1]]);
  // 7 significant digits: what float32 header fields hold, so 1.367188 mm stays 1.367188, not 1.3671879768
  const spacing = [0, 1, 2].map((c) =>
    Number(Math.hypot(affine[0]![c]!, affine[1]![c]!, affine[2]![c]!).toPrecision(7)),
  ) as [number, number, number];
  if (spacing.some((s) => !Number.isFinite(s) || s <= 0)) {
    throw new DataError(
      `${file}: its affine (sform/qform) gives a voxel size of ` +
        `${spacing.map((s) => s.toPrecision(3)).join(' x ')} mm; fix the header's pixdim or sform`,
    );
  }
  const volume: NiftiVolume = { file, header, shape, data, affine, spacing };
  const timeUnit = timeUnitMs(header.xyzt_units);
  const dt = header.pixDims[4];
  if (shape[3] > 1 && timeUnit !== undefined && dt !== undefined && Number.isFinite(dt) && dt > 0)
    volume.timeStepMs = dt * timeUnit;
  return volume;
}

/** The row-major ny×nx image of slice `z` at time point `t` (a copy). */
export function volumeSlice(volume: NiftiVolume, z: number, t = 0): Float32Array {
  const [nx, ny, nz] = volume.shape;
  const start = (t * nz + z) * nx * ny;
  return volume.data.slice(start, start + nx * ny);
}

/** A NIfTI-1 header copied from `source` for a label map of the same grid: same dims, pixdim, qform, sform, units. */
function labelHeaderLike(source: NiftiHeader, classes: number): NIFTI1 {
  const h = new NIFTI1();
  h.littleEndian = true;
  h.dim_info = source.dim_info;
  h.dims = [...source.dims];
  h.pixDims = [...source.pixDims];
  h.datatypeCode = 2;
  h.numBitsPerVoxel = 8;
  h.vox_offset = 352;
  h.scl_slope = 1;
  h.scl_inter = 0;
  h.xyzt_units = source.xyzt_units;
  h.intent_code = 1002; // NIFTI_INTENT_LABEL: viewers show the values as labels
  h.cal_min = 0;
  h.cal_max = Math.max(1, classes - 1);
  h.slice_code = source.slice_code;
  h.slice_start = source.slice_start;
  h.slice_end = source.slice_end;
  h.slice_duration = source.slice_duration;
  h.toffset = source.toffset;
  h.description = 'lvseg label map';
  h.magic = 'n+1';
  h.qform_code = source.qform_code;
  h.sform_code = source.sform_code;
  h.quatern_b = source.quatern_b;
  h.quatern_c = source.quatern_c;
  h.quatern_d = source.quatern_d;
  h.qoffset_x = source.qoffset_x;
  h.qoffset_y = source.qoffset_y;
  h.qoffset_z = source.qoffset_z;
  h.affine = source.affine.map((row) => [...row]);
  return h;
}

/**
 * A label map (one class index per voxel, laid out as `volume.data`) as a NIfTI-1 file with the geometry
 * of the volume it was predicted from (dims, pixdim, qform and sform copied), so it opens aligned over the
 * scan in 3D Slicer, ITK-SNAP or niivue.
 */
export function encodeLabelMapLike(
  volume: NiftiVolume,
  labels: Uint8Array,
  options: { gzip: boolean; classes: number },
): Uint8Array {
  if (labels.length !== volume.data.length)
    throw new RangeError(`label map holds ${labels.length} voxels, ${volume.file} has ${volume.data.length}`);
  return encodeNiftiFile(labelHeaderLike(volume.header, options.classes), labels, options.gzip);
}

/** The voxel type a converted image is stored as: int16 when every value is a whole number in its range, else float32.
 * */
export function compactImageData(values: Float32Array): Int16Array | Float32Array {
  for (const v of values) if (!Number.isInteger(v) || v < -32768 || v > 32767) return values;
  return Int16Array.from(values);
}
