/**
 * Writing NIfTI-1 files (.nii, .nii.gz), browser-safe so the segmentation page writes the label maps the CLI
 * does: a header from nifti-reader-js's `NIFTI1.toArrayBuffer`, then the voxels, gzip-compressed by fflate;
 * and the grids lvseg writes, a DICOM cine's (x, y, slice, time, in scanner coordinates) and 2D slices stacked.
 */
import { gzipSync } from 'fflate';
import { NIFTI1 } from 'nifti-reader-js';
import type { CineSeries } from './cine-grid.js';
import type { Sample } from './sample.js';

/** What a written volume's header says about its geometry. */
export interface NiftiGeometry {
  /** [nx, ny, nz] or [nx, ny, nz, nt]. */
  shape: readonly number[];
  /** Voxel index → RAS mm, 3×4 or 4×4; written as the sform (and the qform, where it is a rotation). */
  affine: readonly (readonly number[])[];
  /** Milliseconds between time points, for a 4D volume. */
  timeStepMs?: number;
  /** ms of the first time point (written as toffset). */
  timeOffsetMs?: number;
}

/** The voxel types lvseg writes. */
export type NiftiData = Uint8Array | Int16Array | Float32Array;

function datatypeOf(data: NiftiData): { code: number; bits: number } {
  if (data instanceof Uint8Array) return { code: 2, bits: 8 };
  if (data instanceof Int16Array) return { code: 4, bits: 16 };
  return { code: 16, bits: 32 };
}

/** Quaternion parameters of the rotation part of `affine`, or undefined where it is not a rotation (shear, zero
 * columns). */
function quaternionOf(
  affine: readonly (readonly number[])[],
): { b: number; c: number; d: number; qfac: number; pixdim: [number, number, number] } | undefined {
  const col = (c: number): number[] => [affine[0]![c]!, affine[1]![c]!, affine[2]![c]!];
  const cols = [col(0), col(1), col(2)];
  const pixdim = cols.map((v) => Math.hypot(...v)) as [number, number, number];
  if (pixdim.some((p) => !(p > 0))) return undefined;
  const r = cols.map((v, i) => v.map((x) => x / pixdim[i]!));
  const det =
    r[0]![0]! * (r[1]![1]! * r[2]![2]! - r[2]![1]! * r[1]![2]!) -
    r[1]![0]! * (r[0]![1]! * r[2]![2]! - r[2]![1]! * r[0]![2]!) +
    r[2]![0]! * (r[0]![1]! * r[1]![2]! - r[1]![1]! * r[0]![2]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) r[2] = r[2]!.map((x) => -x);
  // m[row][col] from the column vectors; the standard matrix → quaternion (nifti1_io's mat44_to_quatern).
  const m = (row: number, c: number): number => r[c]![row]!;
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      const dotp = m(0, i) * m(0, j) + m(1, i) * m(1, j) + m(2, i) * m(2, j);
      if (Math.abs(dotp - (i === j ? 1 : 0)) > 1e-3) return undefined;
    }
  let a = m(0, 0) + m(1, 1) + m(2, 2) + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (m(2, 1) - m(1, 2))) / a;
    c = (0.25 * (m(0, 2) - m(2, 0))) / a;
    d = (0.25 * (m(1, 0) - m(0, 1))) / a;
  } else {
    const xd = 1 + m(0, 0) - (m(1, 1) + m(2, 2));
    const yd = 1 + m(1, 1) - (m(0, 0) + m(2, 2));
    const zd = 1 + m(2, 2) - (m(0, 0) + m(1, 1));
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (m(0, 1) + m(1, 0))) / b;
      d = (0.25 * (m(0, 2) + m(2, 0))) / b;
      a = (0.25 * (m(2, 1) - m(1, 2))) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (m(0, 1) + m(1, 0))) / c;
      d = (0.25 * (m(1, 2) + m(2, 1))) / c;
      a = (0.25 * (m(0, 2) - m(2, 0))) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (m(0, 2) + m(2, 0))) / d;
      c = (0.25 * (m(1, 2) + m(2, 1))) / d;
      a = (0.25 * (m(1, 0) - m(0, 1))) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac, pixdim };
}

/** A NIfTI-1 header for `data` laid out as `geometry` (sform and qform codes 1, scanner coordinates, mm and ms). */
function headerFor(data: NiftiData, geometry: NiftiGeometry, description: string, classes?: number): NIFTI1 {
  const shape = geometry.shape;
  const h = new NIFTI1();
  h.littleEndian = true;
  h.dims = [shape.length, ...shape, ...new Array(7 - shape.length).fill(1)];
  const { code, bits } = datatypeOf(data);
  h.datatypeCode = code;
  h.numBitsPerVoxel = bits;
  h.vox_offset = 352;
  h.scl_slope = 1;
  h.scl_inter = 0;
  h.xyzt_units = 2 | (shape.length > 3 ? 16 : 0);
  h.description = description.slice(0, 79);
  h.magic = 'n+1';
  h.affine = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => geometry.affine[r]![c]!)).concat([[0, 0, 0, 1]]);
  h.sform_code = 1;
  const q = quaternionOf(geometry.affine);
  h.pixDims = [q?.qfac ?? 1, ...(q?.pixdim ?? [1, 1, 1]), geometry.timeStepMs ?? 0, 0, 0, 0];
  if (q) {
    h.qform_code = 1;
    h.quatern_b = q.b;
    h.quatern_c = q.c;
    h.quatern_d = q.d;
    h.qoffset_x = geometry.affine[0]![3]!;
    h.qoffset_y = geometry.affine[1]![3]!;
    h.qoffset_z = geometry.affine[2]![3]!;
  }
  if (geometry.timeOffsetMs !== undefined) h.toffset = geometry.timeOffsetMs;
  if (classes !== undefined) {
    h.intent_code = 1002; // NIFTI_INTENT_LABEL: viewers show the values as labels
    h.cal_min = 0;
    h.cal_max = Math.max(1, classes - 1);
  }
  return h;
}

/** A NIfTI-1 file's bytes: `header`, then the voxels, gzip-compressed with `gzip`. */
export function encodeNiftiFile(header: NIFTI1, data: NiftiData, gzip: boolean): Uint8Array {
  const head = new Uint8Array(header.toArrayBuffer(false));
  const voxels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(head.length + voxels.length);
  out.set(head, 0);
  out.set(voxels, head.length);
  // no time stamp in the gzip header: the same label map gives the same bytes, here or on a queue worker
  return gzip ? gzipSync(out, { mtime: 0 }) : out;
}

/**
 * A .nii (or, with `gzip`, .nii.gz) file's bytes: `data` (x fastest) on the grid of `geometry`; with `classes`, a
 * label map (intent NIFTI_INTENT_LABEL, values 0 to classes - 1).
 */
export function encodeNifti(
  data: NiftiData,
  geometry: NiftiGeometry,
  options: { gzip: boolean; description?: string; classes?: number },
): Uint8Array {
  const n = geometry.shape.reduce((a, b) => a * b, 1);
  if (data.length !== n)
    throw new RangeError(`NIfTI data holds ${data.length} voxels, its shape ${geometry.shape.join('x')} needs ${n}`);
  return encodeNiftiFile(
    headerFor(data, geometry, options.description ?? 'lvseg', options.classes),
    data,
    options.gzip,
  );
}

type Vec3 = [number, number, number];
/** DICOM patient coordinates (LPS) ↔ NIfTI's RAS: x and y change sign. */
export const flipXY = (v: readonly number[]): Vec3 => [-v[0]!, -v[1]!, v[2]!];
export const unit = (v: readonly number[]): Vec3 => {
  const n = Math.hypot(v[0]!, v[1]!, v[2]!);
  return [v[0]! / n, v[1]! / n, v[2]! / n];
};

/**
 * The grid of a cine as a 4D NIfTI (x, y, slice, time): the in-plane directions and the slice step from the
 * DICOM positions and orientation, in RAS; `warnings` says what the grid cannot hold exactly.
 */
export function cineGeometry(cine: CineSeries): { geometry: NiftiGeometry; warnings: string[] } {
  const { rows, columns, phases } = cine;
  const n = cine.slices.length;
  const warnings: string[] = [];
  const [rowMm, colMm] = cine.pixelSpacing;
  const first = cine.slices[0]!;
  const last = cine.slices[n - 1]!;
  const step = n > 1 ? (last.zMm - first.zMm) / (n - 1) : 1;
  const uneven = Math.max(...cine.slices.map((s, k) => Math.abs(s.zMm - (first.zMm + k * step))));
  if (uneven > 0.1)
    warnings.push(
      `the slices are not evenly spaced (up to ${uneven.toFixed(2)} mm off a ${step.toFixed(2)} mm step): the NIfTI ` +
        `holds the mean step`,
    );
  let affine: number[][];
  if (cine.orientation && first.position && last.position) {
    const rowDir = flipXY(cine.orientation.slice(0, 3));
    const colDir = flipXY(cine.orientation.slice(3, 6));
    const origin = flipXY(first.position);
    const along =
      n > 1
        ? flipXY(last.position.map((p, i) => (p - first.position![i]!) / (n - 1)))
        : unit([
            rowDir[1] * colDir[2] - rowDir[2] * colDir[1],
            rowDir[2] * colDir[0] - rowDir[0] * colDir[2],
            rowDir[0] * colDir[1] - rowDir[1] * colDir[0],
          ]);
    affine = [0, 1, 2].map((r) => [rowDir[r]! * colMm, colDir[r]! * rowMm, along[r]!, origin[r]!]);
  } else {
    warnings.push(
      'the series has no ImagePositionPatient/ImageOrientationPatient: the NIfTI gets an axis-aligned grid with the ' +
        'slice step only',
    );
    affine = [
      [colMm, 0, 0, 0],
      [0, rowMm, 0, 0],
      [0, 0, step, first.zMm],
    ];
  }
  const geometry: NiftiGeometry = { shape: [columns, rows, n, phases], affine };
  const times = cine.triggerTimes;
  if (times && phases > 1) {
    geometry.timeStepMs = (times[phases - 1]! - times[0]!) / (phases - 1);
    geometry.timeOffsetMs = times[0]!;
  }
  return { geometry, warnings };
}

/** Whether 2D slices can be stacked into one volume: one size and one spacing. */
export function stackable(slices: readonly Pick<Sample, 'height' | 'width' | 'spacing'>[]): boolean {
  const sizes = new Set(slices.map((s) => `${s.height}x${s.width}`));
  const spacings = new Set(slices.map((s) => (s.spacing ? s.spacing.join('x') : '')));
  return sizes.size === 1 && spacings.size === 1;
}

/**
 * The grid of `count` stacked 2D slices like `first`: its in-plane spacing (1 mm where it has none) and a
 * nominal 1 mm between slices, axis-aligned (2D slices carry no position).
 */
export function stackGeometry(first: Pick<Sample, 'height' | 'width' | 'spacing'>, count: number): NiftiGeometry {
  const [rowMm, colMm] = first.spacing ?? [1, 1];
  return {
    shape: [first.width, first.height, count],
    affine: [
      [colMm, 0, 0, 0],
      [0, rowMm, 0, 0],
      [0, 0, 1, 0],
    ],
  };
}
