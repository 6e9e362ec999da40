/**
 * DICOM folders as cine series: every DICOM file of a folder read, then grouped and laid out as a cine by
 * cine-grid.ts (the file-free part, shared with the browser page), and the experts' contours of the cine.
 * Used by `lvseg volumes`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import {
  buildCine,
  chooseSeries,
  CONTOUR_FILES,
  groupSeries,
  matchCineContours,
  type CineContours,
  type CineSeries,
  type SeriesGroup,
} from './cine-grid.js';

export type { CineContours } from './cine-grid.js';
import { decodeDicom, type DicomSlice } from './dicom.js';
import { readLinkCsv } from './sunnybrook.js';

export {
  buildCine,
  chooseSeries,
  cineHeartRate,
  describeSeries,
  groupSeries,
  sliceNormal,
  type CineSeries,
  type CineSlice,
  type SeriesGroup,
} from './cine-grid.js';

/** What reading a folder found: the decoded images, and the files left out with the reason. */
export interface DicomFolderScan {
  dir: string;
  images: DicomSlice[];
  /** Files without the DICOM 'DICM' marker (notes, thumbnails, DICOMDIR indexes): not images. */
  notDicom: string[];
  /** DICOM files that could not be decoded (compressed, no pixel data, truncated), with the reason. */
  unreadable: { file: string; reason: string }[];
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name, 'en', { numeric: true }),
  );
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(path));
    else if (e.isFile() && !e.name.startsWith('.')) out.push(path);
  }
  return out;
}

const isDicomBytes = (b: Uint8Array): boolean =>
  b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;

/** Reads every file under `dir` (sub-folders too, as scanners export them) that is a DICOM image. */
export async function readDicomFolder(dir: string): Promise<DicomFolderScan> {
  if (!existsSync(dir))
    throw new UsageError(`${dir}: no such folder; pass the folder that holds the series' DICOM files`);
  if (!statSync(dir).isDirectory())
    throw new UsageError(
      `${dir} is a file, not a folder: volumes reads a whole cine series; pass the folder that holds the series' ` +
        `DICOM files (e.g. ${dirname(dir) || '.'})`,
    );
  const scan: DicomFolderScan = { dir, images: [], notDicom: [], unreadable: [] };
  for (const file of listFiles(dir)) {
    const bytes = await readFile(file);
    if (!isDicomBytes(bytes)) {
      scan.notDicom.push(file);
      continue;
    }
    try {
      scan.images.push(decodeDicom(bytes, file));
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      scan.unreadable.push({
        file,
        reason: err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message,
      });
    }
  }
  return scan;
}

/** Reads a folder and lays out its cine: the scan (for messages), the series found, the one chosen. */
export async function readCineSeries(
  dir: string,
  seriesUid?: string,
): Promise<{ cine: CineSeries; groups: SeriesGroup[]; scan: DicomFolderScan }> {
  const scan = await readDicomFolder(dir);
  if (scan.images.length === 0) {
    const why =
      scan.unreadable.length > 0
        ? `; ${scan.unreadable.length} DICOM file(s) unreadable, e.g. ${scan.unreadable[0]!.file}: ` +
          `${scan.unreadable[0]!.reason}`
        : '';
    throw new DataError(`${dir}: no readable DICOM images (${scan.notDicom.length} other files)${why}`);
  }
  const groups = groupSeries(scan.images);
  const chosen = chooseSeries(groups, dir, seriesUid);
  const cine = buildCine(chosen, dir);
  if (scan.unreadable.length > 0) {
    cine.warnings.unshift(
      `${scan.unreadable.length} DICOM file(s) could not be read and are left out, e.g. ${scan.unreadable[0]!.file}: ` +
        `${scan.unreadable[0]!.reason}`,
    );
  }
  return { cine, groups, scan };
}

/** Expert contours of a cine at their (slice, phase) cells. */

/**
 * The i-contours folder meant by `dir` for the series in `seriesDir`: `dir/i-contours`, or in a
 * Sunnybrook layout (`dir/contourfiles/<ID>/i-contours`, or `dir` = contourfiles) the patient that
 * link.csv maps the series folder's name to, or the only patient there.
 */
export function resolveContourDir(dir: string, seriesDir: string): string {
  if (!existsSync(dir)) throw new UsageError(`--contours ${dir}: no such folder`);
  if (!statSync(dir).isDirectory())
    throw new UsageError(
      `--contours ${dir} is a file; pass the folder that holds i-contours/ (or the Sunnybrook contourfiles/)`,
    );
  if (existsSync(join(dir, 'i-contours'))) return join(dir, 'i-contours');
  const base = existsSync(join(dir, 'contourfiles')) ? join(dir, 'contourfiles') : dir;
  const patients = readdirSync(base).filter((p) => existsSync(join(base, p, 'i-contours')));
  if (patients.length === 0) {
    throw new UsageError(
      `--contours ${dir}: no i-contours folder (the Sunnybrook layout is ` +
        `contourfiles/<ID>/i-contours/IM-0001-NNNN-icontour-manual.txt)`,
    );
  }
  const folder = basename(resolve(seriesDir));
  for (const linkDir of [dir, dirname(resolve(base))]) {
    if (!existsSync(join(linkDir, 'link.csv'))) continue;
    const link = readLinkCsv(linkDir).find((l) => l.folder === folder);
    if (link && patients.includes(link.id)) return join(base, link.id, 'i-contours');
  }
  if (patients.length === 1) return join(base, patients[0]!, 'i-contours');
  throw new UsageError(
    `--contours ${dir} holds contours of ${patients.length} patients and no link.csv maps '${folder}' to one: pass ` +
      `${join(base, '<ID>')}`,
  );
}

/**
 * Reads the expert i-contours (or with `which` 'o', the o-contours) of a cine: contour `IM-0001-NNNN`
 * belongs to the image with InstanceNumber NNNN (matchCineContours). Contours whose image is not in the series are
 * warnings.
 */
export async function readCineContours(dir: string, cine: CineSeries, which: 'i' | 'o' = 'i'): Promise<CineContours> {
  const names = readdirSync(dir)
    .filter((f) => CONTOUR_FILES[which].test(f))
    .sort();
  const files = await Promise.all(
    names.map(async (f) => {
      const file = join(dir, f);
      try {
        return { name: file, text: await readFile(file, 'utf8') };
      } catch (err) {
        throw new DataError(`cannot read contour file ${file}: ${(err as Error).message}`, { cause: err });
      }
    }),
  );
  return matchCineContours(dir, files, cine, which);
}
