/**
 * The segmentation of one image, from model to mask to contour and area, and its overlay and contour
 * text: tfjs-core and typed arrays only (no Node, no PNG codec), so `lvseg predict` and the browser
 * page run the same code.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { DataError } from '../errors.js';
import { toGrey8, type RgbaImage } from '../imaging/pixels.js';
import { resizeBilinear, resizeNearest } from '../imaging/resample.js';
import { extractContour, type Point } from '../imaging/contours.js';
import { modelInputSize, predictScores } from '../models/predict.js';
import { argmaxLabels, foregroundArea, regionMask } from '../imaging/mask-metrics.js';
import { classRegions } from '../data/classes.js';
import { segmentSamples, type SegmentSettings } from './segment.js';

/**
 * The predicted class mask of one image at the image's own size. Images of another size than a model
 * with a fixed input are resized bilinearly to the input size and the mask back with nearest
 * neighbours; `resized` says whether that happened.
 */
export async function predictMask(
  model: tfl.LayersModel,
  image: Float32Array,
  height: number,
  width: number,
): Promise<{ mask: Uint8Array; resized: boolean }> {
  if (image.length !== height * width)
    throw new DataError(`predictMask: image has ${image.length} values, not ${height}×${width}`);
  const fixed = modelInputSize(model);
  const inHeight = fixed.height ?? height;
  const inWidth = fixed.width ?? width;
  const resized = inHeight !== height || inWidth !== width;
  const input = resized ? resizeBilinear(image, height, width, inHeight, inWidth) : image;
  const { scores, classes } = await predictScores(model, [input], inHeight, inWidth);
  const mask = argmaxLabels(scores, inHeight * inWidth, classes);
  return { mask: resized ? resizeNearest(mask, inHeight, inWidth, height, width) : mask, resized };
}

/**
 * The mask of one (scaled) sample as `lvseg predict` makes it: through the model's inference pipeline
 * (preprocessing, test-time flips, post-processing) when it has one, else straight through the model.
 */
export async function segmentImage(
  model: tfl.LayersModel,
  sample: Sample,
  segment?: SegmentSettings,
): Promise<{ mask: Uint8Array; resized: boolean }> {
  if (!segment) return predictMask(model, sample.image, sample.height, sample.width);
  const { mask, resized } = (await segmentSamples(model, [sample], segment))[0]!;
  return { mask, resized };
}

/** A contour as Sunnybrook's contour files write it: `x y` per line, two decimals, pixel coordinates. */
export function formatContourText(points: readonly Point[]): string {
  return points.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}\n`).join('');
}

export type OverlayColour = readonly [number, number, number];

export const PREDICTION_COLOUR: OverlayColour = [255, 48, 48];
export const LABEL_COLOUR: OverlayColour = [48, 220, 48];

/**
 * The colour of each predicted class's contour in an overlay of a model of more than two classes, by
 * region name (class or `epicardium`); the blood pool keeps PREDICTION_COLOUR; others cycle through the rest.
 */
const CLASS_COLOURS: Record<string, OverlayColour> = {
  lv: PREDICTION_COLOUR,
  epicardium: [255, 200, 40],
  rv: [60, 140, 255],
};
const MORE_COLOURS: readonly OverlayColour[] = [
  [230, 80, 230],
  [40, 220, 220],
  [255, 140, 40],
  [160, 120, 255],
];

export function classColour(name: string, index: number): OverlayColour {
  return CLASS_COLOURS[name] ?? MORE_COLOURS[index % MORE_COLOURS.length]!;
}

/** One class's (or region's) outline and area in a K-class mask. */
export interface ClassMeasures extends MaskMeasures {
  /** The label values the region covers. */
  values: number[];
}

/**
 * The outline and area of each region of a K-class mask (every foreground class, and `epicardium` =
 * lv ∪ myocardium where both are there; classRegions), with holes filled for the outline.
 */
export function measureClasses(
  mask: Uint8Array,
  height: number,
  width: number,
  classes: readonly string[],
  spacing?: readonly [number, number],
): Record<string, ClassMeasures> {
  const out: Record<string, ClassMeasures> = {};
  for (const { name, values } of classRegions(classes))
    out[name] = { ...measureMask(regionMask(mask, values), height, width, spacing), values };
  return out;
}

/**
 * Draws a closed polygon one pixel wide, stepping at most half a pixel so no gaps open; pixel (r, c)
 * covers [c, c+1) × [r, r+1) as in the contour files.
 */
function strokePolygon(image: RgbaImage, points: readonly Point[], colour: OverlayColour): void {
  const plot = (x: number, y: number): void => {
    const c = Math.floor(x);
    const r = Math.floor(y);
    if (c < 0 || r < 0 || c >= image.width || r >= image.height) return;
    const o = (r * image.width + c) * 4;
    image.data[o] = colour[0];
    image.data[o + 1] = colour[1];
    image.data[o + 2] = colour[2];
    image.data[o + 3] = 255;
  };
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    const steps = Math.max(1, Math.ceil(2 * Math.max(Math.abs(x2 - x1), Math.abs(y2 - y1))));
    for (let s = 0; s <= steps; s++) plot(x1 + ((x2 - x1) * s) / steps, y1 + ((y2 - y1) * s) / steps);
  }
}

/**
 * The image in grey (its own min–max) with contours drawn over it: the expert's (when given) in green
 * first, then the prediction's in red on top.
 */
export function renderContourOverlay(
  image: Float32Array,
  height: number,
  width: number,
  contours: { points: readonly Point[]; colour: OverlayColour }[],
): RgbaImage {
  const grey = toGrey8(image);
  const data = new Uint8Array(height * width * 4);
  for (let i = 0; i < grey.length; i++) {
    data[4 * i] = grey[i]!;
    data[4 * i + 1] = grey[i]!;
    data[4 * i + 2] = grey[i]!;
    data[4 * i + 3] = 255;
  }
  const out: RgbaImage = { width, height, data };
  for (const { points, colour } of contours) strokePolygon(out, points, colour);
  return out;
}

/** What a predicted mask says: the LV outline, its area in pixels and, where the spacing is known, in mm². */
export interface MaskMeasures {
  contour: Point[];
  lvAreaPx: number;
  lvAreaMm2?: number;
}

/** The LV outline and area of a mask; `spacing` is [row, column] mm per pixel (DICOM's Pixel Spacing). */
export function measureMask(
  mask: Uint8Array,
  height: number,
  width: number,
  spacing?: readonly [number, number],
): MaskMeasures {
  const lvAreaPx = foregroundArea(mask);
  const measures: MaskMeasures = { contour: extractContour(mask, height, width), lvAreaPx };
  if (spacing) measures.lvAreaMm2 = lvAreaPx * spacing[0] * spacing[1];
  return measures;
}
