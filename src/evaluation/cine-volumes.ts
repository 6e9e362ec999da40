/**
 * A short-axis cine series to LV volumes and ejection fraction: every image segmented (by a model or any
 * injected segmenter), masks measured, volumes by the disc rule of volumes.ts; and the same rule over the
 * experts' contours when they are at hand.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { rasterizeContour } from '../data/contours.js';
import {
  readCineContours, readCineSeries, resolveContourDir, type CineContours, type CineSeries, type DicomFolderScan, type SeriesGroup,
} from '../data/dicom-series.js';
import { applyScaling, type Scaling } from '../data/scaling.js';
import { DataError } from '../errors.js';
import { largestComponent } from './contours.js';
import { measureCine, measureGrid, type CineMeasurement, type MaskGrid, type Segmenter } from './cine-measure.js';
import { predictMask } from './predict.js';
import { segmentSamples, type SegmentSettings } from './segment.js';
import type { Sample } from '../data/sample.js';
import type { LabelConvention } from '../models/metadata.js';
import { computeLvMass, computeVolumes, type MassResult, type VolumeResult, type VolumeRule } from './volumes.js';
import { massSlices } from './cine-measure.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export { measureCine, type CineImage, type CineMeasurement, type MaskGrid, type Segmenter } from './cine-measure.js';

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
      name: image.file, patient: '', image: input, label: new Uint8Array(input.length), height: image.rows, width: image.columns,
      ...(image.spacing ? { spacing: image.spacing } : {}),
    };
    return (await segmentSamples(model, [sample], segment))[0]!.mask;
  };
}

/** The experts' volumes: the same rule over the contoured slices, at the contoured phases only. */
export interface ExpertMeasurement {
  dir: string;
  /** The contoured phases (indices into the cine's phases). */
  phases: number[];
  /** The area inside each expert line (the polygon filled at pixel centres), at grid cells. */
  masks: MaskGrid;
  /** Volumes indexed like `phases`; `ed`/`es` index `phases` too. */
  result: VolumeResult;
  /**
   * The same with the contours rasterised as the training masks are (boundary pixels added, as the
   * published Sunnybrook masks do): what a model that learnt those masks perfectly would measure.
   */
  asTrainingMasks: VolumeResult;
  /** LV mass and wall thickness at the experts' ED over the slices where they drew both the i- and the o-contour. */
  mass?: MassResult;
  warnings: string[];
}

/** The o-contours folder beside an i-contours folder, where there is one. */
function outerContourDir(innerDir: string): string | undefined {
  const dir = join(dirname(innerDir), 'o-contours');
  return existsSync(dir) ? dir : undefined;
}

function rasterizeExperts(cine: CineSeries, contours: CineContours, boundary: boolean): MaskGrid {
  const masks: MaskGrid = cine.grid.map(() => new Array(cine.phases).fill(undefined));
  for (const c of contours.contours) {
    let mask: Uint8Array;
    try {
      mask = rasterizeContour(c.contour, cine.rows, cine.columns, { boundary });
    } catch (err) {
      throw new DataError(`${c.file}: ${(err as Error).message}`, { cause: err });
    }
    masks[c.slice]![c.phase] = largestComponent(mask, cine.rows, cine.columns);
  }
  return masks;
}

/**
 * Reads the experts' i-contours for the cine and measures them by the same rule (no temporal checks: they
 * are drawn at two phases). The volumes use the area inside each line: the polygon filled at pixel
 * centres, which matches its shoelace area within 0.1% on the shared data, where the boundary pixels of
 * the training masks add 5–6% (SCD0000101 EDV 191.2 vs 202.2 mL).
 */
export async function measureExpertContours(cine: CineSeries, contourDir: string, rule?: Partial<VolumeRule>): Promise<ExpertMeasurement> {
  const contours = await readCineContours(contourDir, cine);
  const phases = [...new Set(contours.contours.map((c) => c.phase))].sort((a, b) => a - b);
  // A slice the experts did not contour at a phase has no LV there for them: an empty mask, not a missing image.
  const empty = new Uint8Array(cine.rows * cine.columns);
  const measure = (masks: MaskGrid): VolumeResult => {
    const filled = masks.map((row, s) => row.map((m, p) => m ?? (cine.grid[s]![p] ? empty : undefined)));
    return computeVolumes(measureGrid(cine, filled, phases), cine.slices.map((s) => s.zMm), { rule, cyclic: false, phaseNames: phases.map((p) => p + 1) });
  };
  const masks = rasterizeExperts(cine, contours, false);
  const result = measure(masks);
  const asTrainingMasks = measure(rasterizeExperts(cine, contours, true));
  if (phases.length !== 2) {
    result.warnings.push(`the experts contoured ${phases.length} phase${phases.length === 1 ? '' : 's'} (${phases.map((p) => p + 1).join(', ')}), not ED and ES only`);
  }
  const outerDir = outerContourDir(contourDir);
  let mass: MassResult | undefined;
  const warnings = [...contours.warnings];
  if (outerDir) {
    const outer = await readCineContours(outerDir, cine, 'o');
    warnings.push(...outer.warnings);
    const ed = phases[result.ed]!;
    const slices = cine.slices.map((_, s) => s);
    mass = computeLvMass(massSlices(cine, masks, rasterizeExperts(cine, outer, false), ed, slices), cine.slices.map((s) => s.zMm));
  }
  return { dir: contours.dir, phases, masks, result, asTrainingMasks, ...(mass ? { mass } : {}), warnings };
}

/** Everything `lvseg volumes` computes for one folder. */
export interface SeriesVolumes {
  scan: DicomFolderScan;
  groups: SeriesGroup[];
  cine: CineSeries;
  measured: CineMeasurement;
  experts?: ExpertMeasurement;
}

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

/** The library entry: a folder of DICOM files to LV volumes, ED/ES, EF (and the experts' where given). */
export async function seriesVolumes(dir: string, options: SeriesVolumesOptions): Promise<SeriesVolumes> {
  const { cine, groups, scan } = await readCineSeries(dir, options.seriesUid);
  const contourDir = options.contours ? resolveContourDir(options.contours, dir) : undefined;
  const measured = await measureCine(cine, options.segmenter, { rule: options.rule, labels: options.labels, onImage: options.onImage });
  const out: SeriesVolumes = { scan, groups, cine, measured };
  if (contourDir) out.experts = await measureExpertContours(cine, contourDir, options.rule);
  return out;
}
