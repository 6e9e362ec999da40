/**
 * The deterministic preprocessing a model is trained and used with: resampling to a pixel spacing, a
 * region of interest around the heart and per-image intensity normalisation; and the way back from a
 * mask of the model's input to a mask of the original image.
 */
import type { Sample } from '../data/sample.js';
import { UsageError } from '../errors.js';
import { resizeBilinear } from '../imaging/resample.js';
import { compose, type Transform, type TransformSpec, transformFromSpec, transformFromSpecCropped } from './compose.js';
import { normalize, normalizeIntensity } from './intensity.js';
import { centreCrop, centredWindow, cropOrPad, resampleToSpacing } from './spatial.js';

export interface Preprocessing {
  /** Pixel spacing (mm) the model works at: images that know theirs are resampled to it; the others are taken to be at
   * it. */
  spacing: number | null;
  /**
   * The region of interest the model sees: a `size` × `size` window at the centre of the (resampled)
   * image. Cardiac MR is planned with the heart near the centre of the field of view (on the Sunnybrook
   * training and validation sets every LV lies within the central 128×128 window at 1.37 mm), so a
   * fixed centred window keeps the LV while dropping ~75% of the pixels.
   */
  roi: { method: 'centre-crop'; size: number } | null;
  /** Per-image intensity normalisation (after the crop, so the window's own statistics count). */
  intensity: { method: 'percentile-zscore'; low: number; high: number } | null;
}

/** Where a model input came from in its original image, to map a prediction back. */
export interface InputGeometry {
  height: number;
  width: number;
  /** Size after resampling to the model's spacing. */
  resampledHeight: number;
  resampledWidth: number;
  /** The ROI window's top-left corner in the resampled image (negative: padding). */
  top: number;
  left: number;
  inputHeight: number;
  inputWidth: number;
}

export function checkPreprocessing(value: unknown, where: string): Preprocessing {
  const bad = (what: string): never => {
    throw new UsageError(`${where}: ${what}`);
  };
  if (typeof value !== 'object' || value === null) return bad('must be an object {spacing, roi, intensity}');
  const p = value as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (!['spacing', 'roi', 'intensity'].includes(k)) bad(`unknown field '${k}'; it has spacing, roi, intensity`);
  const spacing = p.spacing ?? null;
  if (spacing !== null && !(typeof spacing === 'number' && spacing > 0))
    bad(`spacing must be a positive number of mm or null, got ${JSON.stringify(spacing)}`);
  const roi = (p.roi ?? null) as Preprocessing['roi'];
  if (roi !== null && !(roi.method === 'centre-crop' && Number.isInteger(roi.size) && roi.size > 0)) {
    bad(`roi must be {"method": "centre-crop", "size": N} or null, got ${JSON.stringify(roi)}`);
  }
  const intensity = (p.intensity ?? null) as Preprocessing['intensity'];
  if (
    intensity !== null &&
    !(
      intensity.method === 'percentile-zscore' &&
      intensity.low >= 0 &&
      intensity.high <= 100 &&
      intensity.low < intensity.high
    )
  ) {
    bad(
      `intensity must be {"method": "percentile-zscore", "low": P, "high": Q} with 0 <= P < Q <= 100, or null, got ` +
        `${JSON.stringify(intensity)}`,
    );
  }
  return { spacing: spacing as number | null, roi, intensity };
}

/** The ROI crop and the normalisation as one transform (training applies it after the augmentation). */
export function inputTransform(prep: Preprocessing): Transform {
  const steps: Transform[] = [];
  if (prep.roi) steps.push(centreCrop(prep.roi.size));
  if (prep.intensity) steps.push(normalize(prep.intensity.low, prep.intensity.high));
  return compose(...steps);
}

/**
 * Training's transform of a drawn sample: the augmentation `augment`, then the ROI crop and the normalisation. The
 * crop happens as early as the geometry allows (`transformFromSpecCropped`): for sunnybrook-unet's chain, ~5.7 ms of
 * CPU a sample became ~2.2 ms (`npm run bench -- transforms`).
 */
export function trainingTransform(
  augment: readonly TransformSpec[],
  prep: Preprocessing | null,
  where: string,
): Transform {
  if (!prep?.roi) return compose(transformFromSpec(augment, where), ...(prep ? [inputTransform(prep)] : []));
  return compose(transformFromSpecCropped(augment, prep.roi.size, where), inputTransform({ ...prep, roi: null }));
}

/** Resampling to the model's spacing: done once per sample, before any augmentation. */
export function resampleForModel(sample: Sample, prep: Preprocessing): Sample {
  return prep.spacing === null ? sample : resampleToSpacing(sample, prep.spacing);
}

/**
 * A sample as the model takes it (resampled, cropped, normalised), with the geometry that maps the
 * model's output back. The label goes along, so validation during training can score the crop.
 */
export function preprocessSample(sample: Sample, prep: Preprocessing): { input: Sample; geometry: InputGeometry } {
  const resampled = resampleForModel(sample, prep);
  const size = prep.roi?.size;
  const { top, left } =
    size === undefined ? { top: 0, left: 0 } : centredWindow(resampled.height, resampled.width, size, size);
  const input = size === undefined ? resampled : cropOrPad(resampled, top, left, size, size);
  const image = prep.intensity ? normalizeIntensity(input.image, prep.intensity.low, prep.intensity.high) : input.image;
  return {
    input: { ...input, image },
    geometry: {
      height: sample.height,
      width: sample.width,
      resampledHeight: resampled.height,
      resampledWidth: resampled.width,
      top,
      left,
      inputHeight: input.height,
      inputWidth: input.width,
    },
  };
}

/** Places a model-input-sized map into its resampled image (`outside` elsewhere). */
function uncrop<T extends Uint8Array | Float32Array>(values: T, g: InputGeometry, make: (n: number) => T): T {
  const out = make(g.resampledHeight * g.resampledWidth);
  for (let y = Math.max(0, g.top); y < Math.min(g.resampledHeight, g.top + g.inputHeight); y++) {
    const x0 = Math.max(0, g.left);
    const x1 = Math.min(g.resampledWidth, g.left + g.inputWidth);
    if (x1 <= x0) continue;
    const src = (y - g.top) * g.inputWidth - g.left;
    out.set(values.subarray(src + x0, src + x1), y * g.resampledWidth + x0);
  }
  return out;
}

/** A foreground-probability map of the model's input mapped back to the original image (0 outside the ROI, bilinear).
 * */
export function restoreProbabilities(probs: Float32Array, g: InputGeometry): Float32Array {
  return resizeBilinear(
    uncrop(probs, g, (n) => new Float32Array(n)),
    g.resampledHeight,
    g.resampledWidth,
    g.height,
    g.width,
  );
}
