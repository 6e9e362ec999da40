/**
 * Prediction on new images: the outputs `lvseg predict` writes (mask PNG, contour overlay, Sunnybrook-style
 * contour text). The segmentation itself lives in predict-core.ts, shared with the browser page.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { encodeMaskPng, resizeNearest } from '../imaging/mask.js';
import { encodePngGrey, encodePngRgba } from '../imaging/png.js';
import { resizeBilinear } from '../imaging/resample.js';
import { extractContour, type Point } from '../imaging/contours.js';
import { foregroundArea, regionMask } from '../imaging/mask-metrics.js';
import type { SegmentSettings } from './segment.js';
import {
  classColour,
  formatContourText,
  LABEL_COLOUR,
  measureClasses,
  measureMask,
  PREDICTION_COLOUR,
  renderContourOverlay,
  segmentImage,
  type ClassMeasures,
  type OverlayColour,
} from './predict-core.js';

export { encodeMaskPng, resizeNearest, resizeBilinear };
export {
  formatContourText,
  LABEL_COLOUR,
  measureMask,
  predictMask,
  PREDICTION_COLOUR,
  renderContourOverlay,
  segmentImage,
  type MaskMeasures,
  type OverlayColour,
} from './predict-core.js';

/** Everything `lvseg predict` writes and reports for one image. */
export interface ImagePrediction {
  /** Class indices; the blood pool's contour and area follow (label `lv`). */
  mask: Uint8Array;
  /** A model of more than two classes: each class's (and the epicardium's) outline and area. */
  classes?: Record<string, ClassMeasures>;
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
export async function predictSample(
  model: tfl.LayersModel,
  sample: Sample,
  segment?: SegmentSettings,
  classNames: readonly string[] = ['background', 'lv'],
): Promise<ImagePrediction> {
  const { image, height, width, spacing, label } = sample;
  const { mask, resized } = await segmentImage(model, sample, segment);
  const multi = classNames.length > 2;
  const lv = Math.max(1, classNames.indexOf('lv'));
  const { contour, lvAreaPx, lvAreaMm2 } = measureMask(multi ? regionMask(mask, [lv]) : mask, height, width, spacing);
  const contours: { points: readonly Point[]; colour: OverlayColour }[] = [];
  if (label && label.length === height * width && foregroundArea(label) > 0) {
    contours.push({
      points: extractContour(multi ? regionMask(label, [lv]) : label, height, width),
      colour: LABEL_COLOUR,
    });
  }
  const classes = multi ? measureClasses(mask, height, width, classNames, spacing) : undefined;
  if (classes) {
    // the myocardium's ring is drawn by its two outlines, the blood pool's and the epicardium's
    const drawn = Object.entries(classes).filter(([name]) => !(name === 'myocardium' && classes.epicardium));
    drawn.forEach(([name, c], i) => {
      contours.push({ points: c.contour, colour: classColour(name, i) });
    });
  } else contours.push({ points: contour, colour: PREDICTION_COLOUR });
  const result: ImagePrediction = {
    mask,
    ...(classes ? { classes } : {}),
    contour,
    lvAreaPx,
    resized,
    // K classes: the class indices themselves, as label maps (nnU-Net's) hold them
    maskPng: multi ? encodePngGrey(width, height, mask) : encodeMaskPng(mask, height, width),
    overlayPng: encodePngRgba(renderContourOverlay(image, height, width, contours)),
    contourText: formatContourText(contour),
  };
  if (lvAreaMm2 !== undefined) result.lvAreaMm2 = lvAreaMm2;
  return result;
}
