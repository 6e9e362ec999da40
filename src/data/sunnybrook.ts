import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { rasterizeContour, readContourFile } from './contours.js';
import { readDicomSlice } from './dicom.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';

/** Warnings and skips met while reading a source, for the summary. */
export interface SourceReport {
  skipped: number;
  warnings: string[];
}

/** True when `dir` looks like the Sunnybrook DICOM layout: `link.csv`, `dicoms/`, `contourfiles/`. */
export function isSunnybrookDicom(dir: string): boolean {
  return existsSync(join(dir, 'link.csv')) && existsSync(join(dir, 'dicoms')) && existsSync(join(dir, 'contourfiles'));
}

/**
 * `SC-HF-I-1` → `SC-HF-I-01`: the challenge ids in contourfiles/ drop the leading zero that the
 * PNG case names (and the challenge's own lists) keep.
 */
export function normalizePatientId(id: string): string {
  return id.replace(/-(\d)$/, '-0$1');
}

/** link.csv rows: DICOM folder → challenge id. */
export function readLinkCsv(dir: string): { folder: string; id: string }[] {
  const file = join(dir, 'link.csv');
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((s) => s.trim());
  if (!header || header[0] !== 'patient_id' || header[1] !== 'original_id') {
    throw new DataError(`${file}: expected the header 'patient_id,original_id'`);
  }
  return lines.slice(1).map((line, i) => {
    const [folder, id] = line.split(',').map((s) => s.trim());
    if (!folder || !id) throw new DataError(`${file}:${i + 2}: expected 'DICOM folder,challenge id', got '${line}'`);
    return { folder, id };
  });
}

const CONTOUR = /^IM-\d+-(\d+)-icontour-manual\.txt$/;

/**
 * Samples from the DICOM + expert contour layout: one per i-contour whose image exists
 * (contour `IM-0001-NNNN` → `dicoms/<folder>/<int(NNNN)>.dcm`). A contour without its image is a
 * warning and a skip, counted in `report`. Image values are the DICOM's rescaled units, then scaled;
 * spacing comes from the DICOM.
 */
export async function* readSunnybrookDicom(dir: string, scale: Scaling = 'none', report?: SourceReport): AsyncGenerator<Sample> {
  for (const { folder, id } of readLinkCsv(dir)) {
    const patient = normalizePatientId(id);
    const contourDir = join(dir, 'contourfiles', id, 'i-contours');
    if (!existsSync(contourDir)) {
      report?.warnings.push(`${contourDir}: missing; no contours for ${folder}`);
      continue;
    }
    const files = readdirSync(contourDir).filter((f) => CONTOUR.test(f)).sort();
    for (const f of files) {
      const nnnn = CONTOUR.exec(f)![1]!;
      const dcm = join(dir, 'dicoms', folder, `${Number(nnnn)}.dcm`);
      if (!existsSync(dcm)) {
        if (report) {
          report.skipped++;
          report.warnings.push(`${join(contourDir, f)}: no image ${dcm}; skipped`);
        }
        continue;
      }
      const slice = await readDicomSlice(dcm);
      if (slice.instanceNumber !== undefined && slice.instanceNumber !== Number(nnnn)) {
        report?.warnings.push(`${dcm}: InstanceNumber ${slice.instanceNumber} differs from its contour's ${Number(nnnn)}`);
      }
      const contourFile = join(contourDir, f);
      const contour = await readContourFile(contourFile);
      let label: Uint8Array;
      try {
        label = rasterizeContour(contour, slice.rows, slice.columns);
      } catch (err) {
        throw new DataError(`${contourFile}: ${(err as Error).message}`, { cause: err });
      }
      const sample: Sample = {
        name: `${patient}/${f.slice(0, f.indexOf('-icontour'))}`,
        patient,
        image: applyScaling(slice.pixels, scale),
        label,
        height: slice.rows,
        width: slice.columns,
      };
      if (slice.spacing) sample.spacing = slice.spacing;
      yield sample;
    }
  }
}
