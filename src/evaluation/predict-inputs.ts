/**
 * What `lvseg predict` accepts as input: single PNG files, folders of PNG files, and every source
 * openSource reads (TFRecord files, dataset folders, synthetic:N), all as samples.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Sample } from '../data/sample.js';
import { applyScaling, type Scaling } from '../data/scaling.js';
import { openSource } from '../data/source.js';
import { DataError } from '../errors.js';
import { decodePngGrey } from '../imaging/png.js';

/** One grey PNG as an unlabelled sample: name = file name without extension, patient = its folder. */
export function readPngImage(file: string, scale: Scaling = 'none'): Sample {
  let decoded;
  try {
    decoded = decodePngGrey(readFileSync(file));
  } catch (err) {
    throw new DataError(`${file}: not a readable PNG image (${(err as Error).message})`);
  }
  const image = Float32Array.from(decoded.data);
  applyScaling(image, scale);
  const { height, width } = decoded;
  return {
    name: basename(file, extname(file)),
    patient: basename(dirname(resolve(file))),
    image,
    label: new Uint8Array(height * width),
    height,
    width,
  };
}

const IMAGE_FILE = /\.png$/i;

/** The PNG files directly inside a folder, sorted by name; empty when it holds none (a dataset layout). */
function imageFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_FILE.test(f) && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => join(dir, f));
}

/** Samples of every input in order: PNG files and folders of PNGs read here, anything else by openSource. */
export async function* predictInputs(inputs: readonly string[], scale: Scaling): AsyncGenerator<{ sample: Sample; input: string }> {
  for (const input of inputs) {
    const isPath = existsSync(input);
    if (isPath && statSync(input).isFile() && IMAGE_FILE.test(input)) {
      yield { sample: readPngImage(input, scale), input };
      continue;
    }
    if (isPath && statSync(input).isDirectory()) {
      const files = imageFilesIn(input);
      if (files.length > 0) {
        for (const f of files) yield { sample: readPngImage(f, scale), input: f };
        continue;
      }
    }
    const source = await openSource(input, { scale });
    for await (const sample of source.samples()) yield { sample, input };
  }
}
