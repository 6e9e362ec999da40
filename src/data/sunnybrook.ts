import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { notTheWall, rasterizeContour, readContourFile } from './contours.js';
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

/** A name that stays inside its folder when joined to it: no separators, not `.` or `..`. */
const PLAIN_NAME = /^(?!\.\.?$)[^/\\\0]+$/;

/**
 * link.csv rows: DICOM folder → challenge id. Both are folder names inside the dataset (an id like
 * `../../../etc` once read outside it); a row repeated exactly is read once, with a warning in
 * `report` (it once doubled every sample); a folder or an id linked twice differently is an error.
 */
export function readLinkCsv(dir: string, report?: SourceReport): { folder: string; id: string }[] {
  const file = join(dir, 'link.csv');
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const header = lines[0]?.split(',').map((s) => s.trim());
  if (header?.[0] !== 'patient_id' || header[1] !== 'original_id') {
    throw new DataError(`${file}: expected the header 'patient_id,original_id'`);
  }
  const rows: { folder: string; id: string }[] = [];
  const byFolder = new Map<string, { id: string; line: number }>();
  const byId = new Map<string, { folder: string; line: number }>();
  lines.forEach((line, i) => {
    if (i === 0 || line.trim() === '') return;
    const at = `${file}:${i + 1}`;
    const [folder, id] = line.split(',').map((s) => s.trim());
    if (!folder || !id) throw new DataError(`${at}: expected 'DICOM folder,challenge id', got '${line}'`);
    for (const [what, name] of [
      ['DICOM folder', folder],
      ['challenge id', id],
    ] as const) {
      if (!PLAIN_NAME.test(name))
        throw new DataError(
          `${at}: ${what} '${name}' is not a plain folder name; link.csv names folders inside ${dir}, not paths`,
        );
    }
    const seen = byFolder.get(folder);
    if (seen && seen.id === id) {
      report?.warnings.push(`${at}: repeats line ${seen.line} ('${folder},${id}'); read once`);
      return;
    }
    if (seen)
      throw new DataError(
        `${at}: DICOM folder '${folder}' is linked to '${seen.id}' on line ${seen.line} and to '${id}' here; keep one`,
      );
    const other = byId.get(id);
    if (other)
      throw new DataError(
        `${at}: challenge id '${id}' is linked to '${other.folder}' on line ${other.line} and to '${folder}' here; ` +
          `keep one`,
      );
    byFolder.set(folder, { id, line: i + 1 });
    byId.set(id, { folder, line: i + 1 });
    rows.push({ folder, id });
  });
  return rows;
}

const CONTOUR = /^IM-\d+-(\d+)-icontour-manual\.txt$/;

/**
 * Samples from the DICOM + expert contour layout: one per i-contour whose image exists
 * (contour `IM-0001-NNNN` → `dicoms/<folder>/<int(NNNN)>.dcm`). A contour without its image is a
 * warning and a skip, counted in `report`. Image values are the DICOM's rescaled units, then scaled;
 * spacing comes from the DICOM. With `myocardium`, a slice whose `o-contours/…-ocontour-manual.txt`
 * exists gets label 2 inside the o-contour but outside the i-contour; the others, and those whose o-contour does not
 * enclose the i-contour (notTheWall: a warning), mark classes 0 and 1 only (`labelledClasses`).
 */
export async function* readSunnybrookDicom(
  dir: string,
  scale: Scaling = 'none',
  report?: SourceReport,
  options: { myocardium?: boolean } = {},
): AsyncGenerator<Sample> {
  for (const { folder, id } of readLinkCsv(dir, report)) {
    const patient = normalizePatientId(id);
    const contourDir = join(dir, 'contourfiles', id, 'i-contours');
    if (!existsSync(contourDir)) {
      report?.warnings.push(`${contourDir}: missing; no contours for ${folder}`);
      continue;
    }
    const files = readdirSync(contourDir)
      .filter((f) => CONTOUR.test(f))
      .sort();
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
        report?.warnings.push(
          `${dcm}: InstanceNumber ${slice.instanceNumber} differs from its contour's ${Number(nnnn)}`,
        );
      }
      const contourFile = join(contourDir, f);
      const contour = await readContourFile(contourFile);
      let label: Uint8Array;
      try {
        label = rasterizeContour(contour, slice.rows, slice.columns);
      } catch (err) {
        throw new DataError(`${contourFile}: ${(err as Error).message}`, { cause: err });
      }
      let labelledClasses: readonly number[] | undefined;
      if (options.myocardium) {
        const outerFile = join(dir, 'contourfiles', id, 'o-contours', f.replace('-icontour-', '-ocontour-'));
        if (!existsSync(outerFile)) labelledClasses = [0, 1];
        else {
          let outer: Uint8Array;
          try {
            outer = rasterizeContour(await readContourFile(outerFile), slice.rows, slice.columns);
          } catch (err) {
            throw new DataError(`${outerFile}: ${(err as Error).message}`, { cause: err });
          }
          const why = notTheWall(label, outer, outerFile);
          if (why) {
            report?.warnings.push(`${why}; the slice supervises the blood pool only`);
            labelledClasses = [0, 1];
          } else for (let i = 0; i < label.length; i++) if (label[i] === 0 && outer[i] !== 0) label[i] = 2;
        }
      }
      const sample: Sample = {
        name: `${patient}/${f.slice(0, f.indexOf('-icontour'))}`,
        patient,
        image: applyScaling(slice.pixels, scale),
        label,
        height: slice.rows,
        width: slice.columns,
        ...(labelledClasses ? { labelledClasses } : {}),
      };
      if (slice.spacing) sample.spacing = slice.spacing;
      yield sample;
    }
  }
}
