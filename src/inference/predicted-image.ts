/**
 * What `lvseg predict` writes for one image, as plain data: made the same way in this process and on an
 * `lvseg worker` (predictImages), and sent back over a queue as JSON (predictedImageToJson), so a queued
 * predict writes what a local one writes.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodeLabelMapLike, type NiftiVolume } from '../data/nifti.js';
import type { PredictInput } from './predict-inputs.js';
import { formatContourText, predictSample } from './predict.js';
import type { SegmentSettings } from './segment.js';

/** One class's (or the epicardium's) outline and area in a K-class prediction. */
export interface PredictedClass {
  areaPx: number;
  areaMm2: number | null;
  contourPoints: number;
  /** Its outline as a Sunnybrook-style contour file's text. */
  contourText: string;
}

/** A NIfTI label map on the grid of an input volume: its bytes (.nii.gz) and what it came from. */
export interface PredictedLabelMap {
  input: string;
  shape: number[];
  bytes: Uint8Array;
}

export interface PredictedImage {
  input: string;
  name: string;
  patient: string;
  height: number;
  width: number;
  spacing: [number, number] | null;
  resized: boolean;
  /** The blood pool's (label `lv`) area and outline. */
  lvAreaPx: number;
  lvAreaMm2: number | null;
  contourPoints: number;
  /** Class indices (a binary model: 0 and 1), row-major. */
  mask: Uint8Array;
  maskPng: Uint8Array;
  overlayPng: Uint8Array;
  contourText: string;
  /** A model of more than two classes: each class and the epicardium. */
  classes?: Record<string, PredictedClass>;
  /** A slice of a NIfTI volume: the volume's case id and, with its last slice, its label map. */
  nifti?: { id: string; labelMap?: PredictedLabelMap };
}

/** How predictImages runs the model: its pipeline, its class names and a spacing for images without one. */
export interface PredictImagesOptions {
  segment?: SegmentSettings;
  classes: readonly string[];
  spacing?: readonly [number, number];
}

/**
 * Predicts every input in order; the masks of a NIfTI volume's slices are gathered into a label map on the
 * volume's grid (its dims, pixdim, qform and sform), given with the volume's last slice.
 */
export async function* predictImages(
  model: tfl.LayersModel,
  inputs: AsyncIterable<PredictInput>,
  options: PredictImagesOptions,
): AsyncGenerator<PredictedImage> {
  const volumes = new Map<NiftiVolume, Uint8Array>();
  for await (const { sample, input, nifti } of inputs) {
    if (options.spacing && !sample.spacing) sample.spacing = [...options.spacing];
    const p = await predictSample(model, sample, options.segment, options.classes);
    const image: PredictedImage = {
      input,
      name: sample.name,
      patient: sample.patient,
      height: sample.height,
      width: sample.width,
      spacing: sample.spacing ?? null,
      resized: p.resized,
      lvAreaPx: p.lvAreaPx,
      lvAreaMm2: p.lvAreaMm2 ?? null,
      contourPoints: p.contour.length,
      mask: p.mask,
      maskPng: p.maskPng,
      overlayPng: p.overlayPng,
      contourText: p.contourText,
    };
    if (p.classes) {
      image.classes = Object.fromEntries(
        Object.entries(p.classes).map(([name, c]) => [
          name,
          {
            areaPx: c.lvAreaPx,
            areaMm2: c.lvAreaMm2 ?? null,
            contourPoints: c.contour.length,
            contourText: formatContourText(c.contour),
          },
        ]),
      );
    }
    if (nifti) {
      let labels = volumes.get(nifti.volume);
      if (!labels) {
        labels = new Uint8Array(nifti.volume.data.length);
        volumes.set(nifti.volume, labels);
      }
      labels.set(p.mask, nifti.offset);
      image.nifti = { id: nifti.id };
      if (nifti.last) {
        image.nifti.labelMap = {
          input: nifti.volume.file,
          shape: nifti.volume.shape,
          bytes: encodeLabelMapLike(nifti.volume, labels, {
            gzip: true,
            classes: labels.reduce((m, v) => Math.max(m, v + 1), 2),
          }),
        };
        volumes.delete(nifti.volume);
      }
    }
    yield image;
  }
}

type Base64<T> = { [K in keyof T]: T[K] extends Uint8Array ? string : T[K] };

/** A PredictedImage as JSON (a job's result): its bytes in base64, the mask gzip-compressed first. */
export type PredictedImageJson = Base64<Omit<PredictedImage, 'nifti'>> & {
  nifti?: { id: string; labelMap?: Base64<PredictedLabelMap> };
};

const base64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

export function predictedImageToJson(image: PredictedImage): PredictedImageJson {
  const { nifti, ...rest } = image;
  const json: PredictedImageJson = {
    ...rest,
    mask: base64(gzipSync(image.mask)),
    maskPng: base64(image.maskPng),
    overlayPng: base64(image.overlayPng),
  };
  if (nifti) {
    json.nifti = { id: nifti.id };
    if (nifti.labelMap) json.nifti.labelMap = { ...nifti.labelMap, bytes: base64(nifti.labelMap.bytes) };
  }
  return json;
}

export function predictedImageFromJson(json: PredictedImageJson): PredictedImage {
  const { nifti, ...rest } = json;
  const image: PredictedImage = {
    ...rest,
    mask: new Uint8Array(gunzipSync(bytesOf(json.mask))),
    maskPng: bytesOf(json.maskPng),
    overlayPng: bytesOf(json.overlayPng),
  };
  if (nifti) {
    image.nifti = { id: nifti.id };
    if (nifti.labelMap) image.nifti.labelMap = { ...nifti.labelMap, bytes: bytesOf(nifti.labelMap.bytes) };
  }
  return image;
}
