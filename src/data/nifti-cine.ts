/**
 * A short-axis cine as one 4D NIfTI volume (x, y, slice, time) and back: `lvseg data convert SERIES_DIR
 * --out cine.nii.gz` writes one, `lvseg volumes cine.nii.gz` measures one. The slice positions come from
 * the affine, the phases from the 4th dimension, the phase times from pixdim[4] and toffset, the spacing
 * from the voxel size; the cine is then laid out by cine-grid.ts as a DICOM series is.
 */
import { DataError, UsageError } from '../errors.js';
import { buildCine, chooseSeries, groupSeries, type CineSeries, type SeriesGroup } from './cine-grid.js';
import type { DicomSlice } from './dicom-decode.js';
import { readCineSeries, type DicomFolderScan } from './dicom-series.js';
import { compactImageData, isNiftiName, readNifti, volumeSlice, type NiftiData, type NiftiGeometry } from './nifti.js';
import { cineGeometry, flipXY, unit } from './nifti-write.js';

type Vec3 = [number, number, number];

/** A 4D volume and its geometry from a cine; `warnings` says what the NIfTI cannot hold exactly. */
export function cineToNifti(cine: CineSeries): { data: NiftiData; geometry: NiftiGeometry; warnings: string[] } {
  const { rows, columns, phases } = cine;
  const n = cine.slices.length;
  const warnings: string[] = [];
  const values = new Float32Array(columns * rows * n * phases);
  let empty = 0;
  for (let t = 0; t < phases; t++) {
    for (let k = 0; k < n; k++) {
      const image = cine.grid[k]![t];
      if (image) values.set(image.pixels, (t * n + k) * rows * columns);
      else empty++;
    }
  }
  if (empty > 0) warnings.push(`${empty} slice/phase cell(s) of the series hold no image: written as zeros`);
  const { geometry, warnings: gridWarnings } = cineGeometry(cine);
  warnings.push(...gridWarnings);
  return { data: compactImageData(values), geometry, warnings };
}

/** The images of a 4D NIfTI as DICOM-like slices in patient coordinates, for cine-grid.ts. */
function niftiImages(file: string, volume: Awaited<ReturnType<typeof readNifti>>): DicomSlice[] {
  const [nx, ny, nz, nt] = volume.shape;
  const a = volume.affine;
  const column = (c: number): Vec3 => [a[0]![c]!, a[1]![c]!, a[2]![c]!];
  const orientation = [...unit(flipXY(column(0))), ...unit(flipXY(column(1)))] as DicomSlice['orientation'];
  const dt = volume.timeStepMs;
  const images: DicomSlice[] = [];
  for (let t = 0; t < nt; t++) {
    for (let z = 0; z < nz; z++) {
      const image: DicomSlice = {
        file: `${file}:t${String(t).padStart(2, '0')}/z${String(z).padStart(3, '0')}`,
        rows: ny,
        columns: nx,
        pixels: volumeSlice(volume, z, t),
        spacing: [volume.spacing[1], volume.spacing[0]],
        position: flipXY([0, 1, 2].map((r) => a[r]![2]! * z + a[r]![3]!)),
        orientation: orientation!,
        transferSyntax: 'NIfTI',
        seriesUid: file,
        cardiacImages: nt,
      };
      if (dt !== undefined) image.triggerTime = volume.header.toffset + t * dt;
      else image.instanceNumber = t + 1;
      images.push(image);
    }
  }
  return images;
}

/** Reads a 4D NIfTI cine (x, y, slice, time) as `lvseg volumes` reads a DICOM series folder. */
export async function readNiftiCine(
  file: string,
): Promise<{ cine: CineSeries; groups: SeriesGroup[]; scan: DicomFolderScan }> {
  const volume = await readNifti(file);
  if (volume.shape[3] < 2 || volume.shape[2] < 2) {
    throw new DataError(
      `${file}: a ${volume.shape.join('x')} volume; a cine for volumes is 4D: x, y, several slices, several phases`,
    );
  }
  const images = niftiImages(file, volume);
  const groups = groupSeries(images);
  const cine = buildCine(chooseSeries(groups, file), file);
  cine.description = 'NIfTI 4D cine';
  return { cine, groups, scan: { dir: file, images, notDicom: [], unreadable: [] } };
}

/** A cine from a DICOM series folder, or from a 4D NIfTI file (where `seriesUid` does not apply). */
export async function readCine(
  path: string,
  seriesUid?: string,
): Promise<{ cine: CineSeries; groups: SeriesGroup[]; scan: DicomFolderScan }> {
  if (!isNiftiName(path)) return readCineSeries(path, seriesUid);
  if (seriesUid)
    throw new UsageError(
      `--series ${seriesUid}: ${path} is a NIfTI volume, which holds one series; leave --series out`,
    );
  return readNiftiCine(path);
}
