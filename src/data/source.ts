import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { BINARY_CLASSES, LV_MYO_CLASSES, LV_MYO_RV_CLASSES, sameClasses, sunnybrookClasses } from './classes.js';
import { decodeLabExample } from './lab-schema.js';
import { isPngDataset, readPngDataset } from './png-dataset.js';
import { isNiftiName } from './nifti.js';
import {
  ignoreOf,
  isNnunetDataset,
  mixedIgnoreWarning,
  niftiFileCase,
  readDatasetJson,
  readNnunetCase,
  readNnunetDataset,
  volumeSamples,
} from './nnunet.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';
import type { PixelSpacing } from './spacing.js';
import { isSunnybrookDicom, readSunnybrookDicom, type SourceReport } from './sunnybrook.js';
import { generatePhantom } from './synthetic.js';
import { readTfRecords } from './tfrecord.js';

/** Where samples come from. `samples()` reads lazily and in a stable order, so large sets stream. */
export interface SampleSource {
  kind: 'tfrecord' | 'png' | 'dicom' | 'synthetic' | 'nifti';
  description: string;
  /** Class names by label value, background first (e.g. ['background', 'lv', 'myocardium']); absent: ['background',
   * 'lv']. */
  classes?: readonly string[];
  samples(): AsyncIterable<Sample>;
  /** Skips and warnings of the last full pass of `samples()` (e.g. a contour without its image). */
  report?: SourceReport;
}

/** How openSource reads: the pixel scaling, and the spacing for images that carry none. */
export interface SourceOptions {
  /** Pixel scaling applied to every image; default `none` (the source's own units). */
  scale?: Scaling;
  /**
   * Pixel spacing [row_mm, column_mm] for the samples whose source does not know one (PNG without a
   * spacing.csv, TFRecord, synthetic); a DICOM header or a spacing.csv row is never overridden.
   */
  spacing?: PixelSpacing;
  /**
   * The classes to read where a source can give several: the Sunnybrook PNG and DICOM readers give
   * ['background', 'lv'] (the default) or ['background', 'lv', 'myocardium'], the phantoms those or
   * ['background', 'lv', 'myocardium', 'rv']. A source with its own names (NIfTI) keeps them.
   */
  classes?: readonly string[];
}

const SYNTHETIC = /^synthetic:(\d+)(?::(-?\d+))?(?::(\d+))?$/;

/** What a source spec may be, for error messages. */
export const SOURCE_KINDS_HELP =
  'a TFRecord file (.tfrecords, optionally gzip), a PNG dataset folder (images/<CASE>/*.png + ' +
  'masks/endo/<CASE>/*.png), ' +
  'a DICOM+contours folder (dicoms/, contourfiles/, link.csv), a NIfTI volume (.nii, .nii.gz), an nnU-Net dataset ' +
  'folder ' +
  '(dataset.json, imagesTr/, labelsTr/) or synthetic:N[:SEED][:SIZE]';

/**
 * Opens a source from its spec: `synthetic:N[:SEED][:SIZE]`, a TFRecord file, a PNG dataset folder
 * or a DICOM+contours folder. The kind is detected from the content, not the name.
 */
export async function openSource(spec: string, options: SourceOptions = {}): Promise<SampleSource> {
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.length > 1 && !existsSync(spec)) {
    if (parts.some((p) => p === ''))
      throw new DataError(
        `source '${spec}' has an empty part; join sources with commas, e.g. png/training,png/validation`,
      );
    return concatSources(await Promise.all(parts.map((p) => openSource(p, options))));
  }
  const source = await openSourceAs(spec, options.scale ?? 'none', options.classes);
  return options.spacing ? withDefaultSpacing(source, options.spacing) : source;
}

/**
 * Several sources read one after another (`--train png/training,png/validation`). A sample name seen
 * twice is an error: the same slice would count twice, and a patient could land on both sides of a split.
 */
export function concatSources(sources: SampleSource[]): SampleSource {
  const classes = sourceClasses(sources[0]!);
  const other = sources.find((s) => !sameClasses(sourceClasses(s), classes));
  if (other)
    throw new DataError(
      `${other.description} has classes ${JSON.stringify(sourceClasses(other))} but ${sources[0]!.description} has ` +
        `${JSON.stringify(classes)}; join sources with the same classes`,
    );
  return {
    kind: sources[0]!.kind,
    ...(sources[0]!.classes ? { classes } : {}),
    description: sources.map((s) => s.description).join(' + '),
    async *samples() {
      const seen = new Map<string, string>();
      for (const source of sources) {
        for await (const s of source.samples()) {
          const first = seen.get(s.name);
          if (first !== undefined)
            throw new DataError(
              `sample '${s.name}' is in both ${first} and ${source.description}; list each source once`,
            );
          seen.set(s.name, source.description);
          yield s;
        }
      }
    },
  };
}

/** `source` with `spacing` given to every sample that has none. */
export function withDefaultSpacing(source: SampleSource, spacing: PixelSpacing): SampleSource {
  const [row, column] = spacing;
  return {
    kind: source.kind,
    ...(source.classes ? { classes: source.classes } : {}),
    // the DICOM source replaces its report on every pass, so read it through
    get report() {
      return source.report;
    },
    description:
      `${source.description}; spacing ${row === column ? row : `${row}x${column}`} mm where the source ` + `has none`,
    async *samples() {
      for await (const s of source.samples()) {
        if (!s.spacing) s.spacing = [row, column];
        yield s;
      }
    },
  };
}

/** Largest phantom side: an MRI slice is rarely above 512. */
export const MAX_SYNTHETIC_SIZE = 2048;
/** Most pixels a synthetic source generates in all (image and mask float32 in the cache: ~1 GB). */
const MAX_SYNTHETIC_PIXELS = 2 ** 27;

/** A source's class names; ['background', 'lv'] where it names none. */
export function sourceClasses(source: SampleSource): readonly string[] {
  return source.classes ?? BINARY_CLASSES;
}

async function openSourceAs(spec: string, scale: Scaling, classes?: readonly string[]): Promise<SampleSource> {
  const synth = SYNTHETIC.exec(spec.trim());
  if (synth) {
    const count = Number(synth[1]);
    const seed = synth[2] === undefined ? 0 : Number(synth[2]);
    const size = synth[3] === undefined ? 256 : Number(synth[3]);
    if (count < 1) throw new DataError(`source '${spec}' is empty: synthetic:N needs N >= 1`);
    if (size < 16) throw new DataError(`source '${spec}': phantom size must be at least 16`);
    if (size > MAX_SYNTHETIC_SIZE)
      throw new DataError(
        `source '${spec}': phantom size ${size} is more than ${MAX_SYNTHETIC_SIZE} pixels a side; pick a smaller ` +
          `SIZE, e.g. synthetic:${count}:${seed}:256`,
      );
    if (count * size * size > MAX_SYNTHETIC_PIXELS) {
      const most = Math.floor(MAX_SYNTHETIC_PIXELS / (size * size));
      throw new DataError(
        `source '${spec}': ${count} phantoms of ${size}x${size} is more than lvseg generates ` +
          `(${MAX_SYNTHETIC_PIXELS / 2 ** 20} M pixels, about 1 GB cached); use at most ` +
          `synthetic:${most}:${seed}:${size}`,
      );
    }
    return syntheticSource(count, seed, size, scale, classes);
  }
  if (spec.startsWith('synthetic')) {
    throw new DataError(
      `source '${spec}' is not a valid synthetic spec: write synthetic:N[:SEED][:SIZE], e.g. synthetic:64:1`,
    );
  }
  if (!existsSync(spec)) throw new DataError(`source '${spec}' does not exist; expected ${SOURCE_KINDS_HELP}`);
  if (statSync(spec).isDirectory()) {
    if (isPngDataset(spec)) return pngSource(spec, scale, classes);
    if (isSunnybrookDicom(spec)) return dicomSource(spec, scale, classes);
    if (isNnunetDataset(spec)) return nnunetSource(spec, scale);
    const inside = sourcesInside(spec);
    const hint = inside.length > 0 ? `; it holds: ${inside.join(', ')}` : `; expected ${SOURCE_KINDS_HELP}`;
    throw new DataError(
      `source '${spec}' is a folder but neither a PNG dataset, a DICOM+contours folder nor an nnU-Net dataset${hint}`,
    );
  }
  if (isNiftiName(spec)) return niftiFileSource(spec, scale);
  const head = readHead(spec, 132);
  const isPng = head.length >= 8 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47;
  const isDicom = head.length >= 132 && String.fromCharCode(...head.subarray(128, 132)) === 'DICM';
  if (isPng || isDicom) {
    throw new DataError(
      `source '${spec}' is a single ${isPng ? 'PNG' : 'DICOM'} image, not a dataset; expected ` +
        `${SOURCE_KINDS_HELP} ('lvseg predict' takes single images)`,
    );
  }
  if (classes !== undefined && !sameClasses(classes, BINARY_CLASSES)) {
    throw new DataError(
      `source '${spec}': a TFRecord of the lab's schema gives classes ${JSON.stringify(BINARY_CLASSES)}, not ` +
        `${JSON.stringify(classes)}`,
    );
  }
  return tfrecordSource(spec, scale);
}

/** Sources one or two levels below `dir`, to point a user at the right folder. */
function sourcesInside(dir: string, depth = 2): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (isPngDataset(path) || isSunnybrookDicom(path) || isNnunetDataset(path)) found.push(path);
      else if (depth > 1) found.push(...sourcesInside(path, depth - 1));
    } else if (/\.tfrecords?(\.gz)?$/i.test(entry.name) || isNiftiName(entry.name)) found.push(path);
  }
  return found;
}

function readHead(file: string, n: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const buf = new Uint8Array(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The lab's TFRecord schema, one sample per record. Any file that is not a folder is tried as TFRecord. */
export function tfrecordSource(file: string, scale: Scaling = 'none'): SampleSource {
  return {
    kind: 'tfrecord',
    description: `TFRecord file ${file}`,
    async *samples() {
      let index = 0;
      for await (const record of readTfRecords(file)) {
        yield decodeLabExample(record, { scale, where: `${file} record ${index}` });
        index++;
      }
      if (index === 0) throw new DataError(`source '${file}' is empty: no records; expected ${SOURCE_KINDS_HELP}`);
    },
  };
}

/** A PNG dataset; with `classes` ['background', 'lv', 'myocardium'] its `masks/epi` give the wall (readPngDataset). */
export function pngSource(dir: string, scale: Scaling = 'none', classes?: readonly string[]): SampleSource {
  const named = sunnybrookClasses(classes, `PNG dataset ${dir}`);
  const myocardium = named.length === 3;
  return {
    kind: 'png',
    description: `PNG dataset ${dir}`,
    ...(myocardium ? { classes: named } : {}),
    async *samples() {
      let count = 0;
      for await (const s of readPngDataset(dir, scale, { myocardium })) {
        count++;
        yield s;
      }
      if (count === 0) throw new DataError(`source '${dir}' is empty: no images/<CASE>/*.png`);
    },
  };
}

/** A DICOM+contours folder; with `classes` ['background', 'lv', 'myocardium'] its o-contours give the wall. */
export function dicomSource(dir: string, scale: Scaling = 'none', classes?: readonly string[]): SampleSource {
  const named = sunnybrookClasses(classes, `DICOM+contours folder ${dir}`);
  const myocardium = named.length === 3;
  const source: SampleSource = {
    kind: 'dicom',
    description: `DICOM+contours folder ${dir}`,
    ...(myocardium ? { classes: named } : {}),
    report: { skipped: 0, warnings: [] },
    async *samples() {
      const report: SourceReport = { skipped: 0, warnings: [] };
      source.report = report;
      let count = 0;
      for await (const s of readSunnybrookDicom(dir, scale, report, { myocardium })) {
        count++;
        yield s;
      }
      if (count === 0) {
        throw new DataError(`source '${dir}' is empty: no i-contour with its DICOM image (${report.skipped} skipped)`);
      }
    },
  };
  return source;
}

/** An nnU-Net raw dataset folder: the slices of its imagesTr cases with their labelsTr maps, classes from dataset.json.
 * */
export function nnunetSource(dir: string, scale: Scaling = 'none'): SampleSource {
  const dataset = readDatasetJson(dir);
  const source: SampleSource = {
    kind: 'nifti',
    description: `nnU-Net dataset ${dir}`,
    classes: dataset.classes,
    report: { skipped: 0, warnings: [] },
    async *samples() {
      const report: SourceReport = { skipped: 0, warnings: [] };
      source.report = report;
      let count = 0;
      for await (const s of readNnunetDataset(dataset, scale, report)) {
        count++;
        yield s;
      }
      if (count === 0) throw new DataError(`source '${dir}' is empty: no imagesTr/CASE_0000${dataset.fileEnding}`);
    },
  };
  return source;
}

/**
 * One NIfTI volume, slice by slice. Inside an nnU-Net dataset (`imagesTr/CASE_0000.nii.gz`) its labelsTr
 * map and dataset.json's classes come with it; elsewhere it has no labels (all background, with a warning).
 */
export function niftiFileSource(file: string, scale: Scaling = 'none'): SampleSource {
  const found = niftiFileCase(file);
  const source: SampleSource = {
    kind: 'nifti',
    description: `NIfTI volume ${file}`,
    report: { skipped: 0, warnings: [] },
    async *samples() {
      source.report = {
        skipped: 0,
        warnings: found.label
          ? []
          : [
              `${file}: no label map (only a volume in an nnU-Net imagesTr/ has one, in labelsTr/): its samples are ` +
                `unlabelled`,
            ],
      };
      const classes = found.dataset?.classes.length ?? 2;
      const mixed: string[] = [];
      const ignore = ignoreOf(found.dataset, (name) => mixed.push(name));
      const { image, label } = await readNnunetCase(found, classes, found.dataset?.ignore);
      for (const { z: _z, t: _t, ...sample } of volumeSamples(found, image, scale, label, ignore)) yield sample;
      if (mixed.length > 0) source.report!.warnings.push(mixedIgnoreWarning(file, mixed));
    },
  };
  if (found.dataset) source.classes = found.dataset.classes;
  return source;
}

/**
 * `count` phantoms with seeds `seed`, `seed + 1`, …; consecutive seeds group into pseudo-patients. Their
 * labels: the blood pool, or with `classes` of 3 or 4 names the wall and the right ventricle too
 * (generatePhantom).
 */
export function syntheticSource(
  count: number,
  seed = 0,
  size = 256,
  scale: Scaling = 'none',
  classes?: readonly string[],
): SampleSource {
  const where = `synthetic:${count}:${seed}:${size}`;
  const named =
    classes === undefined || sameClasses(classes, BINARY_CLASSES)
      ? BINARY_CLASSES
      : sameClasses(classes, LV_MYO_CLASSES)
        ? LV_MYO_CLASSES
        : sameClasses(classes, LV_MYO_RV_CLASSES)
          ? LV_MYO_RV_CLASSES
          : undefined;
  if (!named)
    throw new DataError(
      `${where}: phantoms give classes ` +
        `${[BINARY_CLASSES, LV_MYO_CLASSES, LV_MYO_RV_CLASSES].map((c) => JSON.stringify(c)).join(', ')}, not ` +
        `${JSON.stringify(classes)}`,
    );
  return {
    kind: 'synthetic',
    description: `${count} synthetic phantoms ${size}x${size}, seeds ${seed}..${seed + count - 1}`,
    ...(named.length > 2 ? { classes: named } : {}),
    async *samples() {
      for (let i = 0; i < count; i++) {
        const s = generatePhantom(seed + i, size, { classes: named.length });
        applyScaling(s.image, scale);
        yield s;
      }
    },
  };
}

/** Reads a whole source into memory (fine for the datasets here; use `samples()` to stream). */
export async function readAllSamples(source: SampleSource): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of source.samples()) out.push(s);
  return out;
}
