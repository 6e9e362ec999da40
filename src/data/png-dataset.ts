import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { DataError } from '../errors.js';
import { decodePngGrey } from '../imaging/png.js';
import { readImageFile } from '../io/limits.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';
import { readSpacingCsv, SPACING_FILE } from './spacing.js';

/** One grey PNG image: values in its own units (0–255 for 8-bit, 0–65535 for 16-bit). */
export interface PngSlice {
  file: string;
  height: number;
  width: number;
  pixels: Float32Array;
  bitDepth: 8 | 16;
}

async function decodePngFile(
  file: string,
): Promise<{ width: number; height: number; data: Uint8Array | Uint16Array; bitDepth: 8 | 16 }> {
  const bytes = await readImageFile(file, 'PNG');
  try {
    return decodePngGrey(bytes, file);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${file}: not a readable PNG (${(err as Error).message})`, { cause: err });
  }
}

/** Reads one PNG image (no label), e.g. for `lvseg predict`. */
export async function readPngSlice(file: string): Promise<PngSlice> {
  const png = await decodePngFile(file);
  return { file, height: png.height, width: png.width, pixels: Float32Array.from(png.data), bitDepth: png.bitDepth };
}

/** True when `dir` looks like a PNG dataset: `images/` and `masks/endo/`. */
export function isPngDataset(dir: string): boolean {
  return existsSync(join(dir, 'images')) && existsSync(join(dir, 'masks', 'endo'));
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The PNG files of a folder (`.png` in any case) by their name without the extension. */
function pngFilesIn(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  for (const f of readdirSync(dir).sort(byName))
    if (extname(f).toLowerCase() === '.png') files.set(basename(f, extname(f)), f);
  return files;
}

/**
 * The `[case, slice, file]` triples of a PNG dataset, in a stable (sorted) order; `file` is the image's
 * own name, so `IM-1.PNG` is opened as it is listed.
 */
export function listPngDataset(dir: string): [string, string, string][] {
  const imagesDir = join(dir, 'images');
  const out: [string, string, string][] = [];
  for (const c of readdirSync(imagesDir).sort(byName)) {
    if (!statSync(join(imagesDir, c)).isDirectory()) continue;
    for (const [slice, f] of pngFilesIn(join(imagesDir, c))) out.push([c, slice, f]);
  }
  return out;
}

/**
 * The samples of a PNG dataset `images/<CASE>/<slice>.png` + `masks/endo/<CASE>/<slice>.png`:
 * patient = CASE, name = CASE/slice, label = mask > 0, image in the PNG's units then scaled; the pixel
 * spacing of the case from the dataset's spacing.csv, when it has one (then every case needs a row).
 * With `myocardium`, a slice that also has `masks/epi/<CASE>/<slice>.png` gets label 2 inside the epicardial
 * mask but outside the endocardial one; a slice without it marks classes 0 and 1 only (`labelledClasses`).
 */
export async function* readPngDataset(
  dir: string,
  scale: Scaling = 'none',
  options: { myocardium?: boolean } = {},
): AsyncGenerator<Sample> {
  const spacing = readSpacingCsv(join(dir, SPACING_FILE));
  const masks = new Map<string, Map<string, string>>();
  const epiMasks = new Map<string, Map<string, string>>();
  for (const [c, slice, file] of listPngDataset(dir)) {
    const imageFile = join(dir, 'images', c, file);
    if (!masks.has(c)) masks.set(c, pngFilesIn(join(dir, 'masks', 'endo', c)));
    const maskName = masks.get(c)!.get(slice);
    const maskFile = join(dir, 'masks', 'endo', c, maskName ?? `${slice}.png`);
    if (maskName === undefined)
      throw new DataError(`${imageFile}: no mask at ${maskFile}; every image of a PNG dataset needs its endo mask`);
    const img = await decodePngFile(imageFile);
    const checkSize = (file: string, m: { width: number; height: number }): void => {
      if (m.width !== img.width || m.height !== img.height)
        throw new DataError(`${file}: mask is ${m.width}x${m.height} but its image is ${img.width}x${img.height}`);
    };
    const mask = await decodePngFile(maskFile);
    checkSize(maskFile, mask);
    const label = new Uint8Array(img.width * img.height);
    for (let i = 0; i < label.length; i++) label[i] = mask.data[i]! > 0 ? 1 : 0;
    let labelledClasses: readonly number[] | undefined;
    if (options.myocardium) {
      if (!epiMasks.has(c)) epiMasks.set(c, pngFilesIn(join(dir, 'masks', 'epi', c)));
      const epiName = epiMasks.get(c)!.get(slice);
      if (epiName === undefined) labelledClasses = [0, 1];
      else {
        const epiFile = join(dir, 'masks', 'epi', c, epiName);
        const epi = await decodePngFile(epiFile);
        checkSize(epiFile, epi);
        for (let i = 0; i < label.length; i++) if (label[i] === 0 && epi.data[i]! > 0) label[i] = 2;
      }
    }
    const sample: Sample = {
      name: `${c}/${slice}`,
      patient: c,
      image: applyScaling(Float32Array.from(img.data), scale),
      label,
      height: img.height,
      width: img.width,
      ...(labelledClasses ? { labelledClasses } : {}),
    };
    if (spacing.size > 0) {
      const caseSpacing = spacing.get(c);
      // A partial file would mix mm and pixels in one evaluation; say which row is missing instead.
      if (!caseSpacing)
        throw new DataError(
          `${join(dir, SPACING_FILE)}: no row for case '${c}'; list every case of images/ (or remove the file)`,
        );
      sample.spacing = [...caseSpacing];
    }
    yield sample;
  }
}
