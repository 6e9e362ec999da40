/**
 * Prediction on new images: the outputs `lvseg predict` writes (mask PNG, contour overlay, Sunnybrook-style
 * contour text). The segmentation itself lives in predict-core.ts, shared with the browser page.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { encodeMaskPng, resizeNearest } from '../imaging/mask.js';
import { encodePngRgba } from '../imaging/png.js';
import { resizeBilinear } from '../imaging/resample.js';
import { extractContour, type Point } from '../imaging/contours.js';
import { foregroundArea } from '../imaging/mask-metrics.js';
import type { SegmentSettings } from './segment.js';
import {
  formatContourText, LABEL_COLOUR, measureMask, PREDICTION_COLOUR, renderContourOverlay, segmentImage, type OverlayColour,
} from './predict-core.js';

export { encodeMaskPng, resizeNearest, resizeBilinear };
export {
  formatContourText, LABEL_COLOUR, measureMask, predictMask, PREDICTION_COLOUR, renderContourOverlay, segmentImage, type MaskMeasures,
  type OverlayColour,
} from './predict-core.js';

/** Everything `lvseg predict` writes and reports for one image. */
export interface ImagePrediction {
  mask: Uint8Array;
  contour: Point[];
  lvAreaPx: number;
  lvAreaMm2?: number;
  resized: boolean;
  maskPng: Buffer;
  overlayPng: Buffer;
  contourText: string;
}

/**
 * Predicts one sample (through the model's inference pipeline `segment`, when it has one) and renders
 * its outputs. The expert contour is drawn too when the sample carries a non-empty label (inputs from
 * labelled datasets or TFRecords).
 */
export async function predictSample(model: tfl.LayersModel, sample: Sample, segment?: SegmentSettings): Promise<ImagePrediction> {
  const { image, height, width, spacing, label } = sample;
  const { mask, resized } = await segmentImage(model, sample, segment);
  const { contour, lvAreaPx, lvAreaMm2 } = measureMask(mask, height, width, spacing);
  const contours: { points: readonly Point[]; colour: OverlayColour }[] = [];
  if (label && label.length === height * width && foregroundArea(label) > 0) {
    contours.push({ points: extractContour(label, height, width), colour: LABEL_COLOUR });
  }
  contours.push({ points: contour, colour: PREDICTION_COLOUR });
  const result: ImagePrediction = {
    mask,
    contour,
    lvAreaPx,
    resized,
    maskPng: encodeMaskPng(mask, height, width),
    overlayPng: encodePngRgba(renderContourOverlay(image, height, width, contours)),
    contourText: formatContourText(contour),
  };
  if (lvAreaMm2 !== undefined) result.lvAreaMm2 = lvAreaMm2;
  return result;
}
