/**
 * What `lvseg predict` accepts as input: single PNG or DICOM files, folders of them, and every source
 * openSource reads (TFRecord files, PNG dataset and DICOM+contours folders, synthetic:N), all as samples.
 * Images read here carry no label (an all-background mask).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { readDicomSlice } from '../data/dicom.js';
import { isPngDataset, readPngSlice } from '../data/png-dataset.js';
import type { Sample } from '../data/sample.js';
import { applyScaling, type Scaling } from '../data/scaling.js';
import { openSource } from '../data/source.js';
import { isSunnybrookDicom } from '../data/sunnybrook.js';

function unlabelled(file: string, image: Float32Array, height: number, width: number, spacing?: [number, number]): Sample {
  const folder = basename(dirname(resolve(file)));
  const sample: Sample = {
    name: `${folder}/${basename(file, extname(file))}`,
    patient: folder,
    image,
    label: new Uint8Array(height * width),
    height,
    width,
  };
  if (spacing) sample.spacing = spacing;
  return sample;
}

/** One grey PNG as an unlabelled sample: patient = its folder, name = FOLDER/FILE without extension. */
export async function readPngImage(file: string, scale: Scaling = 'none'): Promise<Sample> {
  const png = await readPngSlice(file);
  return unlabelled(file, applyScaling(png.pixels, scale), png.height, png.width);
}

/** One DICOM slice as an unlabelled sample, with its pixel spacing so areas come out in mm². */
export async function readDicomImage(file: string, scale: Scaling = 'none'): Promise<Sample> {
  const dicom = await readDicomSlice(file);
  return unlabelled(file, applyScaling(dicom.pixels, scale), dicom.rows, dicom.columns, dicom.spacing);
}

const PNG_FILE = /\.png$/i;
const DICOM_FILE = /\.(dcm|dicom)$/i;

function isImageFile(file: string): boolean {
  return PNG_FILE.test(file) || DICOM_FILE.test(file);
}

function readImage(file: string, scale: Scaling): Promise<Sample> {
  return PNG_FILE.test(file) ? readPngImage(file, scale) : readDicomImage(file, scale);
}

/** The PNG and DICOM files directly inside a folder, sorted by name (numerically, so 2.dcm before 10.dcm). */
function imageFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => isImageFile(f) && statSync(join(dir, f)).isFile())
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

/**
 * Samples of every input in order: PNG/DICOM files and plain folders of them read here; dataset folders,
 * TFRecord files and synthetic:N by openSource (labelled, so overlays show the expert contour too).
 */
export async function* predictInputs(inputs: readonly string[], scale: Scaling): AsyncGenerator<{ sample: Sample; input: string }> {
  for (const input of inputs) {
    const isPath = existsSync(input);
    if (isPath && statSync(input).isFile() && isImageFile(input)) {
      yield { sample: await readImage(input, scale), input };
      continue;
    }
    if (isPath && statSync(input).isDirectory() && !isPngDataset(input) && !isSunnybrookDicom(input)) {
      const files = imageFilesIn(input);
      if (files.length > 0) {
        for (const f of files) yield { sample: await readImage(f, scale), input: f };
        continue;
      }
    }
    const source = await openSource(input, { scale });
    for await (const sample of source.samples()) yield { sample, input };
  }
}
