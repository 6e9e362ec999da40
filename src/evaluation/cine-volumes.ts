/**
 * A short-axis cine series to LV volumes and ejection fraction: every image segmented (by a model or any
 * injected segmenter), masks measured, volumes by the disc rule of volumes.ts; and the same rule over the
 * experts' contours when they are at hand.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  readCineContours,
  resolveContourDir,
  type CineSeries,
  type DicomFolderScan,
  type SeriesGroup,
} from '../data/dicom-series.js';
import { isNiftiName } from '../data/nifti.js';
import { readCine } from '../data/nifti-cine.js';
import { applyScaling, type Scaling } from '../data/scaling.js';
import { UsageError } from '../errors.js';
import {
  measureCine,
  measureExperts,
  type CineMeasurement,
  type ExpertMeasurement,
  type Segmenter,
} from './cine-measure.js';
import { predictMask } from '../inference/predict.js';
import { segmentSamples, type SegmentSettings } from '../inference/segment.js';
import type { Sample } from '../data/sample.js';
import type { LabelConvention } from '../models/metadata.js';
import type { VolumeRule } from './volumes.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export {
  measureCine,
  measureExperts,
  type CineImage,
  type CineMeasurement,
  type ExpertMeasurement,
  type MaskGrid,
  type Segmenter,
} from './cine-measure.js';

/**
 * A segmenter on a model through the prediction path of predict.ts, or through the model's inference
 * pipeline `segment` (lvseg.json: spacing, region of interest, normalisation, flips, post-processing)
 * when it has one. `scale` is applied to a copy of each image's pixels (rescaled DICOM values) first.
 */
export function modelSegmenter(model: tfl.LayersModel, scale: Scaling, segment?: SegmentSettings): Segmenter {
  return async ({ image }) => {
    const input = applyScaling(image.pixels.slice(), scale);
    if (!segment) return (await predictMask(model, input, image.rows, image.columns)).mask;
    const sample: Sample = {
      name: image.file,
      patient: '',
      image: input,
      label: new Uint8Array(input.length),
      height: image.rows,
      width: image.columns,
      ...(image.spacing ? { spacing: image.spacing } : {}),
    };
    return (await segmentSamples(model, [sample], segment))[0]!.mask;
  };
}

/** The o-contours folder beside an i-contours folder, where there is one. */
function outerContourDir(innerDir: string): string | undefined {
  const dir = join(dirname(innerDir), 'o-contours');
  return existsSync(dir) ? dir : undefined;
}

/**
 * Reads the experts' i-contours for the cine and measures them by the same rule (measureExperts).
 */
export async function measureExpertContours(
  cine: CineSeries,
  contourDir: string,
  rule?: Partial<VolumeRule>,
): Promise<ExpertMeasurement> {
  const outerDir = outerContourDir(contourDir);
  const outer = outerDir ? await readCineContours(outerDir, cine, 'o') : undefined;
  return measureExperts(cine, await readCineContours(contourDir, cine), rule, outer);
}

/** Why --contours does not go with a NIfTI cine. */
export const NIFTI_CONTOURS =
  '--contours: the Sunnybrook contours name DICOM instance numbers, which a NIfTI cine does not keep; measure the ' +
  "experts' on the DICOM series folder";

/** Everything `lvseg volumes` computes for one folder. */
export interface SeriesVolumes {
  scan: DicomFolderScan;
  groups: SeriesGroup[];
  cine: CineSeries;
  measured: CineMeasurement;
  experts?: ExpertMeasurement;
}

/** How seriesVolumes segments and measures a cine series, and where the experts' contours are. */
export interface SeriesVolumesOptions {
  segmenter: Segmenter;
  /** SeriesInstanceUID to measure when the folder holds several series. */
  seriesUid?: string;
  /** Expert contours: a Sunnybrook contour folder (see resolveContourDir). */
  contours?: string;
  rule?: Partial<VolumeRule>;
  /** How the segmenter draws its masks (a model: as its training masks were drawn; see LabelConvention). */
  labels?: LabelConvention;
  onImage?: (done: number, total: number) => void;
}

/** The library entry: a folder of DICOM files or a 4D NIfTI cine to LV volumes, ED/ES, EF (and the experts' where
 * given). */
export async function seriesVolumes(dir: string, options: SeriesVolumesOptions): Promise<SeriesVolumes> {
  if (options.contours && isNiftiName(dir)) throw new UsageError(NIFTI_CONTOURS);
  const { cine, groups, scan } = await readCine(dir, options.seriesUid);
  const contourDir = options.contours ? resolveContourDir(options.contours, dir) : undefined;
  const measured = await measureCine(cine, options.segmenter, {
    rule: options.rule,
    labels: options.labels,
    onImage: options.onImage,
  });
  const out: SeriesVolumes = { scan, groups, cine, measured };
  if (contourDir) out.experts = await measureExpertContours(cine, contourDir, options.rule);
  return out;
}
