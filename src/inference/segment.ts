/**
 * The one inference pipeline of models that carry preprocessing metadata (lvseg.json): preprocess
 * (resample, ROI, normalise) → model → test-time augmentation → back to the original image → threshold
 * → post-process. `lvseg predict` and `lvseg evaluate` both run it, so what is measured is what users get.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { ModelSpecError } from '../errors.js';
import type { InferenceSettings } from '../models/metadata.js';
import {
  preprocessSample,
  restoreProbabilities,
  type InputGeometry,
  type Preprocessing,
} from '../transforms/preprocess.js';
import { argmaxLabels } from '../imaging/mask-metrics.js';
import { flipValues } from '../transforms/spatial.js';
import { detectOutputKind, predictScores } from '../models/predict.js';
import { postprocessLabels, postprocessMask } from './postprocess.js';

export interface SegmentSettings {
  preprocessing: Preprocessing;
  inference: InferenceSettings;
}

export interface Segmentation {
  /** The class mask at the image's own size, post-processed: 0/1 for two classes, 0…K−1 for K. */
  mask: Uint8Array;
  /** The foreground probability at the image's own size (before post-processing); for K classes 1 − p(background). */
  foreground: Float32Array;
  /** K > 2 only: every class's probability at the image's own size, channel last (before post-processing). */
  probabilities?: Float32Array;
  /** Whether the model saw a resampled image. */
  resized: boolean;
}

/** The flips a TTA pass averages over: [horizontal, vertical]; each is its own inverse. */
const FLIPS: readonly [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function ttaFlips(tta: InferenceSettings['tta']): readonly [boolean, boolean][] {
  return tta === 'flips' ? FLIPS : FLIPS.slice(0, 1);
}

/** The inputs of one TTA pass: each image, then its flips when `tta` is `flips`, in that order. */
export function ttaInputs(
  images: readonly Float32Array[],
  height: number,
  width: number,
  tta: InferenceSettings['tta'],
): Float32Array[] {
  return images.flatMap((image) => ttaFlips(tta).map(([h, v]) => flipValues(image, height, width, h, v)));
}

/**
 * Foreground probabilities of same-sized model inputs, averaged over the flips when `tta` is `flips`.
 * One forward pass for all images and their flips.
 */
export async function foregroundProbabilities(
  model: tfl.LayersModel,
  images: readonly Float32Array[],
  height: number,
  width: number,
  tta: InferenceSettings['tta'],
): Promise<Float32Array[]> {
  const pixels = height * width;
  const inputs = ttaInputs(images, height, width, tta);
  const { scores, classes } = await predictScores(model, inputs, height, width);
  if (classes !== 2)
    throw new ModelSpecError(`model output has ${classes} classes; the inference pipeline takes 2 (background, LV)`);
  const probabilities = detectOutputKind(model) === 'probabilities';
  // the softmax of two logits, for class 1
  const values = new Float32Array(inputs.length * pixels);
  for (let k = 0; k < values.length; k++)
    values[k] = probabilities ? scores[2 * k + 1]! : 1 / (1 + Math.exp(scores[2 * k]! - scores[2 * k + 1]!));
  return meanOverFlips(values, images.length, 1, height, width, ttaFlips(tta));
}

/**
 * Each of `count` images' values [pixels · K] averaged over its flipped passes, each turned back to the image's
 * own orientation: `values` holds the passes image by image, each image's flips in ttaFlips' order (ttaInputs).
 */
function meanOverFlips(
  values: Float32Array,
  count: number,
  classes: number,
  height: number,
  width: number,
  flips: readonly (readonly [boolean, boolean])[],
): Float32Array[] {
  const size = height * width * classes;
  return Array.from({ length: count }, (_, i) => {
    const mean = new Float32Array(size);
    flips.forEach((flip, f) => {
      addFlippedBack(mean, values, (i * flips.length + f) * size, classes, height, width, flip, flips.length);
    });
    return mean;
  });
}

/**
 * mean[k·K + c] += from[base + flip(k)·K + c] / n for every pixel k and class c: one flipped pass added back
 * in the image's own orientation (a flip is its own inverse), read in place rather than copied per class.
 */
function addFlippedBack(
  mean: Float32Array,
  from: Float32Array,
  base: number,
  classes: number,
  height: number,
  width: number,
  [horizontal, vertical]: readonly [boolean, boolean],
  n: number,
): void {
  for (let y = 0; y < height; y++) {
    const sy = vertical ? height - 1 - y : y;
    for (let x = 0; x < width; x++) {
      const to = (y * width + x) * classes;
      const src = base + (sy * width + (horizontal ? width - 1 - x : x)) * classes;
      for (let c = 0; c < classes; c++) mean[to + c]! += from[src + c]! / n;
    }
  }
}

/**
 * Class probabilities [pixels · K] of same-sized model inputs, channel last, averaged over the flips when
 * `tta` is `flips`: foregroundProbabilities for K classes. One forward pass for all images and their flips.
 */
export async function classProbabilities(
  model: tfl.LayersModel,
  images: readonly Float32Array[],
  height: number,
  width: number,
  tta: InferenceSettings['tta'],
): Promise<{ probabilities: Float32Array[]; classes: number }> {
  const inputs = ttaInputs(images, height, width, tta);
  const { scores, classes } = await predictScores(model, inputs, height, width);
  if (detectOutputKind(model) !== 'probabilities') {
    for (let p = 0; p < scores.length; p += classes) {
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, scores[p + c]!);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += scores[p + c] = Math.exp(scores[p + c]! - max);
      for (let c = 0; c < classes; c++) scores[p + c]! /= sum;
    }
  }
  const probabilities = meanOverFlips(scores, images.length, classes, height, width, ttaFlips(tta));
  return { probabilities, classes };
}

/**
 * Segments samples of any size: each is preprocessed to the model's input, predicted (with TTA), mapped
 * back to its own size, thresholded at 0.5 (argmax of two classes; of K, each class's probability mapped
 * back bilinearly, then the argmax) and post-processed (postprocessLabels).
 */
export async function segmentSamples(
  model: tfl.LayersModel,
  samples: readonly Sample[],
  settings: SegmentSettings,
): Promise<Segmentation[]> {
  if (samples.length === 0) return [];
  const outputs = model.outputs[0]?.shape.at(-1);
  if (typeof outputs === 'number' && outputs > 2) return segmentClasses(model, samples, settings);
  const prepared = samples.map((s) => preprocessSample(s, settings.preprocessing));
  const out: Segmentation[] = new Array(samples.length);
  for (const indices of bySize(prepared)) {
    const { height, width } = prepared[indices[0]!]!.input;
    const probs = await foregroundProbabilities(
      model,
      indices.map((i) => prepared[i]!.input.image),
      height,
      width,
      settings.inference.tta,
    );
    indices.forEach((i, k) => {
      const { geometry } = prepared[i]!;
      const foreground = restoreProbabilities(probs[k]!, geometry);
      const raw = new Uint8Array(foreground.length);
      for (let p = 0; p < raw.length; p++) raw[p] = foreground[p]! > 0.5 ? 1 : 0;
      out[i] = {
        mask: postprocessMask(raw, geometry.height, geometry.width, settings.inference.postprocess),
        foreground,
        resized: geometry.resampledHeight !== geometry.height || geometry.resampledWidth !== geometry.width,
      };
    });
  }
  return out;
}

/** segmentSamples for a model of K > 2 classes: one pass per input size, as for two. */
async function segmentClasses(
  model: tfl.LayersModel,
  samples: readonly Sample[],
  settings: SegmentSettings,
): Promise<Segmentation[]> {
  const prepared = samples.map((s) => preprocessSample(s, settings.preprocessing));
  const out: Segmentation[] = new Array(samples.length);
  for (const indices of bySize(prepared)) {
    const { height, width } = prepared[indices[0]!]!.input;
    const { probabilities, classes } = await classProbabilities(
      model,
      indices.map((i) => prepared[i]!.input.image),
      height,
      width,
      settings.inference.tta,
    );
    indices.forEach((i, n) => {
      const { geometry } = prepared[i]!;
      const inputPixels = height * width;
      const pixels = geometry.height * geometry.width;
      const restored = new Float32Array(pixels * classes);
      const channel = new Float32Array(inputPixels);
      for (let c = 0; c < classes; c++) {
        for (let k = 0; k < inputPixels; k++) channel[k] = probabilities[n]![k * classes + c]!;
        const back = restoreProbabilities(channel, geometry);
        // outside the ROI: background
        if (c === 0) for (let k = 0; k < pixels; k++) restored[k * classes] = back[k]! + outsideRoi(k, geometry);
        else for (let k = 0; k < pixels; k++) restored[k * classes + c] = back[k]!;
      }
      const raw = argmaxLabels(restored, pixels, classes);
      const foreground = new Float32Array(pixels);
      for (let k = 0; k < pixels; k++) foreground[k] = 1 - restored[k * classes]!;
      out[i] = {
        mask: postprocessLabels(raw, geometry.height, geometry.width, classes, settings.inference.postprocess),
        foreground,
        probabilities: restored,
        resized: geometry.resampledHeight !== geometry.height || geometry.resampledWidth !== geometry.width,
      };
    });
  }
  return out;
}

/** Indices of the prepared samples grouped by input size: a crop gives one size, no crop each its own. */
function bySize(prepared: readonly { input: { height: number; width: number } }[]): number[][] {
  const groups = new Map<string, number[]>();
  prepared.forEach(({ input }, i) => {
    const key = `${input.height}x${input.width}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  return [...groups.values()];
}

/** 0 where pixel k of the original image lies in the model's window, else a weight that makes it background. */
function outsideRoi(k: number, g: InputGeometry): number {
  const y = Math.floor((((k / g.width) | 0) + 0.5) * (g.resampledHeight / g.height));
  const x = Math.floor(((k % g.width) + 0.5) * (g.resampledWidth / g.width));
  return y >= g.top && y < g.top + g.inputHeight && x >= g.left && x < g.left + g.inputWidth ? 0 : 1;
}

/** One line for the user: what the pipeline does. */
export function describeSegment({ preprocessing: p, inference: i }: SegmentSettings): string {
  const steps = [
    p.spacing === null ? undefined : `resample to ${p.spacing} mm`,
    p.roi ? `centre ${p.roi.size}x${p.roi.size} ROI` : undefined,
    p.intensity ? `clip to percentiles ${p.intensity.low}-${p.intensity.high} + z-score` : undefined,
    i.tta === 'flips' ? 'TTA over 4 flips' : undefined,
    i.postprocess.largestComponent ? 'largest component' : undefined,
    i.postprocess.fillHoles ? 'holes filled' : undefined,
  ].filter(Boolean);
  return `pipeline: ${steps.join(', ') || 'none'}`;
}
