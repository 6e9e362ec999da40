/**
 * What `lvseg predict` accepts as input: single PNG, DICOM or NIfTI files, folders of them, and every source
 * openSource reads (TFRecord files, PNG dataset, DICOM+contours and nnU-Net folders, synthetic:N), all as samples.
 * Images read here carry no label (an all-background mask).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { readDicomSlice } from '../data/dicom.js';
import { isNiftiName, type NiftiVolume } from '../data/nifti.js';
import {
  ignoreOf,
  isNnunetDataset,
  listNnunetCases,
  niftiFileCase,
  readDatasetJson,
  readNnunetCase,
  volumeSamples,
  type NnunetCase,
  type NnunetDataset,
} from '../data/nnunet.js';
import { isPngDataset, readPngSlice } from '../data/png-dataset.js';
import type { Sample } from '../data/sample.js';
import { applyScaling, type Scaling } from '../data/scaling.js';
import { openSource } from '../data/source.js';
import { isSunnybrookDicom } from '../data/sunnybrook.js';

function unlabelled(
  file: string,
  image: Float32Array,
  height: number,
  width: number,
  spacing?: [number, number],
): Sample {
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
  return PNG_FILE.test(file) || DICOM_FILE.test(file) || isNiftiName(file);
}

/** One image to predict; a slice of a NIfTI volume says which, so the masks can be written back as a label map on its
 * grid. */
export interface PredictInput {
  sample: Sample;
  input: string;
  nifti?: {
    volume: NiftiVolume;
    /** The case id (the file name without `_0000` and the extension): the label map's name. */
    id: string;
    /** Where the slice starts in the volume's voxels. */
    offset: number;
    /** The volume's last slice: its label map is complete. */
    last: boolean;
  };
}

/** The slices of a NIfTI volume (with its label map inside an nnU-Net imagesTr/, for the expert contour). */
async function* niftiInputs(
  c: NnunetCase,
  dataset: NnunetDataset | undefined,
  scale: Scaling,
  input: string,
): AsyncGenerator<PredictInput> {
  const { image, label } = await readNnunetCase(c, dataset?.classes.length ?? 2, dataset?.ignore);
  const [nx, ny, nz, nt] = image.shape;
  for (const { z, t, ...sample } of volumeSamples(c, image, scale, label, ignoreOf(dataset))) {
    yield {
      sample,
      input,
      nifti: { volume: image, id: c.id, offset: (t * nz + z) * nx * ny, last: t === nt - 1 && z === nz - 1 },
    };
  }
}

function niftiFileInputs(file: string, scale: Scaling): AsyncGenerator<PredictInput> {
  const found = niftiFileCase(file);
  return niftiInputs(found, found.dataset, scale, file);
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
export async function* predictInputs(inputs: readonly string[], scale: Scaling): AsyncGenerator<PredictInput> {
  for (const input of inputs) {
    const isPath = existsSync(input);
    if (isPath && statSync(input).isFile() && isNiftiName(input)) {
      yield* niftiFileInputs(input, scale);
      continue;
    }
    if (isPath && statSync(input).isDirectory() && isNnunetDataset(input)) {
      const dataset = readDatasetJson(input);
      for (const c of listNnunetCases(dataset, 'imagesTr')) yield* niftiInputs(c, dataset, scale, c.image);
      continue;
    }
    if (isPath && statSync(input).isFile() && isImageFile(input)) {
      yield { sample: await readImage(input, scale), input };
      continue;
    }
    if (isPath && statSync(input).isDirectory() && !isPngDataset(input) && !isSunnybrookDicom(input)) {
      const files = imageFilesIn(input);
      if (files.length > 0) {
        for (const f of files) {
          if (isNiftiName(f)) yield* niftiFileInputs(f, scale);
          else yield { sample: await readImage(f, scale), input: f };
        }
        continue;
      }
    }
    const source = await openSource(input, { scale });
    for await (const sample of source.samples()) yield { sample, input };
  }
}
