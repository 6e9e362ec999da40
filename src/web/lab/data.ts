/**
 * The lab page's data: the files the user picked, read in the tab into samples as `lvseg train` reads them.
 * TFRecords (the lab's schema, gzip or not) go through the CLI's own parser (readTfRecordBlob +
 * decodeLabExample); a PNG dataset (images/<CASE>/<slice>.png with masks/endo/<CASE>/<slice>.png, the layout
 * `lvseg train --train DIR` reads) is decoded by the browser's image decoder, as the segmentation page does.
 * A file or dataset folder whose path names a validation set (`val_images.tfrecords`, `validation/`) is the
 * validation data; without one the training data is split by patient, as `lvseg train` does without --val.
 */
import { DataError, decodeLabExample, readTfRecordBlob, splitSamples, type Sample } from '../../browser.js';
import { decodeImageFile } from '../segment/decode.js';

export interface LabData {
  /** The training data; all of it when `val` is empty (then split when training starts, by its seed). */
  train: Sample[];
  /** The samples of the picked validation files, if any. */
  val: Sample[];
  /** The picked training and validation sources, for the user. */
  trainSources: string;
  valSources: string;
}

const TFRECORD = /\.tfrecords?(\.gz)?$/i;
const PNG_IMAGE = /^(.*?)images\/([^/]+)\/([^/]+)\.png$/i;
const PNG_MASK = /^(.*?)masks\/endo\/([^/]+)\/([^/]+)\.png$/i;
/** A path component that names validation data: val, val_images.tfrecords, validation, …_val. */
const VALIDATION = /(^|[/_.-])val(idation)?([/_.-]|$)/i;

/** The path the user sees for a picked file: its place in the picked folder, else its name. */
export function pathOf(file: File): string {
  return file.webkitRelativePath || file.name;
}

async function readTfRecordFile(file: File): Promise<Sample[]> {
  const name = pathOf(file);
  const samples: Sample[] = [];
  let index = 0;
  for await (const record of readTfRecordBlob(file, name))
    samples.push(decodeLabExample(record, { where: `${name} record ${index++}` }));
  if (samples.length === 0) throw new DataError(`${name}: no records`);
  return samples;
}

/** Pairs every images/<CASE>/<slice>.png with masks/endo/<CASE>/<slice>.png of the same dataset folder. */
export function pairPngDataset(
  paths: readonly string[],
): { root: string; patient: string; slice: string; image: string; mask: string }[] {
  const masks = new Map<string, string>();
  for (const p of paths) {
    const m = PNG_MASK.exec(p);
    if (m) masks.set(`${m[1]}|${m[2]}|${m[3]!.toLowerCase()}`, p);
  }
  const pairs = [];
  for (const p of paths) {
    const m = PNG_IMAGE.exec(p);
    if (!m || PNG_MASK.test(p)) continue;
    const [, root, patient, slice] = m as unknown as [string, string, string, string];
    const mask = masks.get(`${root}|${patient}|${slice.toLowerCase()}`);
    if (!mask)
      throw new DataError(
        `${p}: no mask at ${root}masks/endo/${patient}/${slice}.png; every image of a PNG dataset needs its endo mask`,
      );
    pairs.push({ root, patient, slice, image: p, mask });
  }
  return pairs.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
}

async function readPngDataset(files: readonly File[]): Promise<Map<string, Sample[]>> {
  const byPath = new Map(files.map((f) => [pathOf(f), f]));
  const byRoot = new Map<string, Sample[]>();
  for (const pair of pairPngDataset([...byPath.keys()])) {
    const [image, mask] = await Promise.all([
      decodeImageFile(byPath.get(pair.image)!),
      decodeImageFile(byPath.get(pair.mask)!),
    ]);
    if (image.width !== mask.width || image.height !== mask.height) {
      throw new DataError(
        `${pair.mask}: mask is ${mask.width}x${mask.height} but its image is ${image.width}x${image.height}`,
      );
    }
    const label = Uint8Array.from(mask.pixels, (v) => (v > 0 ? 1 : 0));
    const sample: Sample = {
      name: `${pair.patient}/${pair.slice}`,
      patient: pair.patient,
      image: image.pixels,
      label,
      height: image.height,
      width: image.width,
    };
    byRoot.set(pair.root, [...(byRoot.get(pair.root) ?? []), sample]);
  }
  return byRoot;
}

/** Every sample the same square size, as lvseg's networks take (the check `lvseg train` makes). */
function checkSizes(train: Sample[], val: Sample[]): void {
  const { height, width } = train[0]!;
  for (const [what, set] of [
    ['training', train],
    ['validation', val],
  ] as const) {
    const odd = set.find((s) => s.height !== height || s.width !== width);
    if (odd)
      throw new DataError(
        `${what} sample '${odd.name}' is ${odd.height}x${odd.width} but the first training sample is ` +
          `${height}x${width}; lvseg trains on one image size`,
      );
  }
  if (height !== width)
    throw new DataError(`training images are ${height}x${width}; the built-in models take square images`);
}

/** Reads the picked files: their samples in the source's units (unscaled), training and validation apart. */
export async function readLabData(files: readonly File[]): Promise<LabData> {
  const sets: { path: string; samples: Sample[] }[] = [];
  for (const file of files.filter((f) => TFRECORD.test(f.name)))
    sets.push({ path: pathOf(file), samples: await readTfRecordFile(file) });
  for (const [root, samples] of await readPngDataset(files.filter((f) => /\.png$/i.test(f.name))))
    sets.push({ path: root || '(PNG dataset)', samples });
  if (sets.length === 0) {
    throw new DataError(
      "no data among the picked files: pick the lab's .tfrecords (or .tfrecords.gz) files, or a PNG dataset folder " +
        '(images/<CASE>/*.png with masks/endo/<CASE>/*.png)',
    );
  }
  const isVal = (path: string): boolean => VALIDATION.test(path);
  const named = (which: boolean): string =>
    sets
      .filter((s) => isVal(s.path) === which)
      .map((s) => s.path)
      .join(', ');
  const data: LabData = {
    train: sets.filter((s) => !isVal(s.path)).flatMap((s) => s.samples),
    val: sets.filter((s) => isVal(s.path)).flatMap((s) => s.samples),
    trainSources: named(false),
    valSources: named(true),
  };
  if (data.train.length === 0)
    throw new DataError(`only validation data was picked (${data.valSources}); pick the training data too`);
  checkSizes(data.train, data.val);
  return data;
}

/**
 * The training and validation samples of `data`: the picked validation files, or else a tenth of the
 * patients held out with `seed`, as `lvseg train` splits without --val.
 */
export function labSplit(data: LabData, seed: number): { train: Sample[]; val: Sample[]; description: string } {
  if (data.val.length > 0) {
    return {
      train: data.train,
      val: data.val,
      description:
        `${data.train.length} training slices from ${data.trainSources}; ${data.val.length} validation ` +
        `slices from ${data.valSources}`,
    };
  }
  const { train, val } = splitSamples(data.train, { by: 'patient', valFraction: 0.1, seed });
  return {
    train,
    val,
    description:
      `${train.length} training and ${val.length} validation slices from ${data.trainSources} (a tenth of ` +
      `the patients held out, as lvseg train does without --val)`,
  };
}
