import { existsSync, statSync } from 'node:fs';
import { DataError } from '../errors.js';
import { decodeLabExample } from './lab-schema.js';
import { isPngDataset, readPngDataset } from './png-dataset.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';
import { isSunnybrookDicom, readSunnybrookDicom, type SourceReport } from './sunnybrook.js';
import { generatePhantom } from './synthetic.js';
import { readTfRecords } from './tfrecord.js';

/** Where samples come from. `samples()` reads lazily and in a stable order, so large sets stream. */
export interface SampleSource {
  kind: 'tfrecord' | 'png' | 'dicom' | 'synthetic';
  description: string;
  samples(): AsyncIterable<Sample>;
  /** Skips and warnings of the last full pass of `samples()` (e.g. a contour without its image). */
  report?: SourceReport;
}

export interface SourceOptions {
  /** Pixel scaling applied to every image; default `none` (the source's own units). */
  scale?: Scaling;
}

const SYNTHETIC = /^synthetic:(\d+)(?::(-?\d+))?(?::(\d+))?$/;

/** What a source spec may be, for error messages. */
export const SOURCE_KINDS_HELP =
  'a TFRecord file (.tfrecords, optionally gzip), a PNG dataset folder (images/<CASE>/*.png + masks/endo/<CASE>/*.png), ' +
  'a DICOM+contours folder (dicoms/, contourfiles/, link.csv) or synthetic:N[:SEED][:SIZE]';

/**
 * Opens a source from its spec: `synthetic:N[:SEED][:SIZE]`, a TFRecord file, a PNG dataset folder
 * or a DICOM+contours folder. The kind is detected from the content, not the name.
 */
export async function openSource(spec: string, options: SourceOptions = {}): Promise<SampleSource> {
  const scale = options.scale ?? 'none';
  const synth = SYNTHETIC.exec(spec.trim());
  if (synth) {
    const count = Number(synth[1]);
    const seed = synth[2] === undefined ? 0 : Number(synth[2]);
    const size = synth[3] === undefined ? 256 : Number(synth[3]);
    if (count < 1) throw new DataError(`source '${spec}' is empty: synthetic:N needs N >= 1`);
    if (size < 16) throw new DataError(`source '${spec}': phantom size must be at least 16`);
    return syntheticSource(count, seed, size, scale);
  }
  if (spec.startsWith('synthetic')) {
    throw new DataError(`source '${spec}' is not a valid synthetic spec: write synthetic:N[:SEED][:SIZE], e.g. synthetic:64:1`);
  }
  if (!existsSync(spec)) throw new DataError(`source '${spec}' does not exist; expected ${SOURCE_KINDS_HELP}`);
  if (statSync(spec).isDirectory()) {
    if (isPngDataset(spec)) return pngSource(spec, scale);
    if (isSunnybrookDicom(spec)) return dicomSource(spec, scale);
    throw new DataError(`source '${spec}' is a folder but neither a PNG dataset nor a DICOM+contours folder; expected ${SOURCE_KINDS_HELP}`);
  }
  return tfrecordSource(spec, scale);
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

export function pngSource(dir: string, scale: Scaling = 'none'): SampleSource {
  return {
    kind: 'png',
    description: `PNG dataset ${dir}`,
    async *samples() {
      let count = 0;
      for await (const s of readPngDataset(dir, scale)) {
        count++;
        yield s;
      }
      if (count === 0) throw new DataError(`source '${dir}' is empty: no images/<CASE>/*.png`);
    },
  };
}

export function dicomSource(dir: string, scale: Scaling = 'none'): SampleSource {
  const source: SampleSource = {
    kind: 'dicom',
    description: `DICOM+contours folder ${dir}`,
    report: { skipped: 0, warnings: [] },
    async *samples() {
      const report: SourceReport = { skipped: 0, warnings: [] };
      source.report = report;
      let count = 0;
      for await (const s of readSunnybrookDicom(dir, scale, report)) {
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

/** `count` phantoms with seeds `seed`, `seed + 1`, …; consecutive seeds group into pseudo-patients. */
export function syntheticSource(count: number, seed = 0, size = 256, scale: Scaling = 'none'): SampleSource {
  return {
    kind: 'synthetic',
    description: `${count} synthetic phantoms ${size}x${size}, seeds ${seed}..${seed + count - 1}`,
    async *samples() {
      for (let i = 0; i < count; i++) {
        const s = generatePhantom(seed + i, size);
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
