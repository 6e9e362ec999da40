import { existsSync, statSync } from 'node:fs';
import { DataError } from '../errors.js';
import type { Sample } from './sample.js';
import { applyScaling, type Scaling } from './scaling.js';
import { generatePhantom } from './synthetic.js';

/** Where samples come from. `samples()` reads lazily and in a stable order, so large sets stream. */
export interface SampleSource {
  kind: 'tfrecord' | 'png' | 'dicom' | 'synthetic';
  description: string;
  samples(): AsyncIterable<Sample>;
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
  const st = statSync(spec);
  throw new DataError(`source '${spec}' (${st.isDirectory() ? 'folder' : 'file'}): this kind is not supported yet`);
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
