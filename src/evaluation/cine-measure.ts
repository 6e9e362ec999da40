/**
 * A cine's masks to LV volumes: every image segmented by any segmenter, masks reduced to their largest
 * connected component and measured, volumes by the disc rule of volumes.ts. No file system and no model
 * here, so the browser page measures a dropped series with the same code as `lvseg volumes`.
 */
import type { CineContours, CineSeries } from '../data/cine-grid.js';
import { notTheWall, rasterizeContour } from '../imaging/contour-polygon.js';
import { DataError } from '../errors.js';
import type { DicomSlice } from '../data/dicom-decode.js';
import type { LabelConvention } from '../models/metadata.js';
import { largestComponent } from '../imaging/contours.js';
import {
  computeLvMass,
  computeVolumes,
  measureSliceMask,
  myocardialRing,
  type ImageMeasure,
  type MassResult,
  type MassSlice,
  type VolumeResult,
  type VolumeRule,
} from './volumes.js';
import { regionMask } from '../imaging/mask-metrics.js';
import { fillHoles } from '../inference/postprocess.js';

/** One image of a cine, where it sits in the grid. */
export interface CineImage {
  slice: number;
  phase: number;
  image: DicomSlice;
}

/** Anything that turns a cine image into a 0/1 LV mask of the image's size (a class mask for a model of more than two
 * classes). */
export type Segmenter = (image: CineImage) => Promise<Uint8Array>;

/** The in-plane offset of a slice (ImagePositionPatient on the row and column directions), 0 when unknown. */
function inPlaneOrigin(cine: CineSeries, slice: number): [number, number] {
  const p = cine.slices[slice]!.position;
  const o = cine.orientation;
  if (!p || !o) return [0, 0];
  return [p[0] * o[0] + p[1] * o[1] + p[2] * o[2], p[0] * o[3] + p[1] * o[4] + p[2] * o[5]];
}

/** Masks at grid cells (slice × phase), reduced to their largest connected component. */
export type MaskGrid = (Uint8Array | undefined)[][];

export function measureGrid(
  cine: CineSeries,
  masks: MaskGrid,
  phases: readonly number[],
  labels: LabelConvention = 'inside',
): (ImageMeasure | undefined)[][] {
  return masks.map((row, s) =>
    phases.map((p) => {
      const mask = row[p];
      return mask
        ? measureSliceMask(mask, cine.rows, cine.columns, cine.pixelSpacing, inPlaneOrigin(cine, s), labels)
        : undefined;
    }),
  );
}

export interface CineMeasurement {
  masks: MaskGrid;
  result: VolumeResult;
  /** A model with a myocardium class: the region inside the epicardial line (lv ∪ myocardium, holes filled) per image.
   * */
  epiMasks?: MaskGrid;
  /** A model with a myocardium class: LV mass and wall thickness at ED over the counted slices (computeLvMass). */
  mass?: MassResult;
}

/**
 * The ED slices of a mass: those of `slices` with a mask in both grids at `phase`, measured; the
 * epicardial area at least the endocardial one.
 */
export function massSlices(
  cine: CineSeries,
  endo: MaskGrid,
  epi: MaskGrid,
  phase: number,
  slices: readonly number[],
  labels: LabelConvention = 'inside',
): MassSlice[] {
  return slices.flatMap((s) => {
    const inner = endo[s]?.[phase];
    const outer = epi[s]?.[phase];
    if (!inner || !outer) return [];
    const area = (mask: Uint8Array): number =>
      measureSliceMask(mask, cine.rows, cine.columns, cine.pixelSpacing, [0, 0], labels).areaMm2;
    const endoAreaMm2 = area(inner);
    return [{ slice: s, zMm: cine.slices[s]!.zMm, endoAreaMm2, epiAreaMm2: Math.max(endoAreaMm2, area(outer)) }];
  });
}

/**
 * Segments every image of the cine and measures the volumes per phase. `labels`: how the segmenter draws
 * its masks (a model: as its training masks were; default inside the line). `onImage` reports progress.
 */
export async function measureCine(
  cine: CineSeries,
  segment: Segmenter,
  options: {
    rule?: Partial<VolumeRule>;
    labels?: LabelConvention;
    onImage?: (done: number, total: number) => void;
    classes?: readonly string[];
  } = {},
): Promise<CineMeasurement> {
  const classes = options.classes ?? ['background', 'lv'];
  const lv = Math.max(1, classes.indexOf('lv'));
  const myo = classes.indexOf('myocardium');
  const epiMasks: MaskGrid | undefined = myo > 0 ? [] : undefined;
  // With a myocardium class: how much of each blood pool's border is wall (the basal-slice rule of computeVolumes).
  const rings: (number | undefined)[][] = [];
  const total = cine.grid.reduce((n, row) => n + row.filter(Boolean).length, 0);
  let done = 0;
  const masks: MaskGrid = [];
  for (let s = 0; s < cine.grid.length; s++) {
    const row: (Uint8Array | undefined)[] = [];
    const epiRow: (Uint8Array | undefined)[] = [];
    const ringRow: (number | undefined)[] = [];
    for (let p = 0; p < cine.phases; p++) {
      const image = cine.grid[s]![p];
      if (!image) {
        row.push(undefined);
        epiRow.push(undefined);
        continue;
      }
      const labels = await segment({ slice: s, phase: p, image });
      const mask = classes.length > 2 ? regionMask(labels, [lv]) : labels;
      if (epiMasks)
        epiRow.push(
          fillHoles(
            largestComponent(regionMask(labels, [lv, myo]), image.rows, image.columns),
            image.rows,
            image.columns,
          ),
        );
      if (mask.length !== image.rows * image.columns) {
        throw new RangeError(
          `segmenter returned ${mask.length} pixels for the ${image.rows}×${image.columns} image ${image.file}`,
        );
      }
      // Islands apart from the main blob are not the LV blood pool (rule, step 1).
      const pool = largestComponent(mask, image.rows, image.columns);
      row.push(pool);
      ringRow[p] = myo > 0 ? myocardialRing(pool, labels, image.rows, image.columns, myo) : undefined;
      options.onImage?.(++done, total);
    }
    masks.push(row);
    epiMasks?.push(epiRow);
    rings.push(ringRow);
  }
  const phases = Array.from({ length: cine.phases }, (_, p) => p);
  const measures = measureGrid(cine, masks, phases, options.labels);
  for (const [s, row] of measures.entries()) {
    for (const [p, m] of row.entries()) {
      const ring = rings[s]![p];
      if (m && ring !== undefined && !Number.isNaN(ring)) m.myocardialRing = ring;
    }
  }
  const result = computeVolumes(
    measures,
    cine.slices.map((s) => s.zMm),
    { rule: options.rule, cyclic: true },
  );
  if (!epiMasks) return { masks, result };
  const counted = result.slices.filter((s) => s.counted).map((s) => s.slice);
  const mass = computeLvMass(
    massSlices(cine, masks, epiMasks, result.ed, counted, options.labels),
    cine.slices.map((s) => s.zMm),
  );
  return { masks, result, epiMasks, ...(mass ? { mass } : {}) };
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
 * The experts' i-contours measured by the same rule (no temporal checks: they are drawn at two phases);
 * `lvseg volumes --contours` and the page's contour drop both run it. The volumes use the area inside each
 * line: the polygon filled at pixel centres, which matches its shoelace area within 0.1% on the shared data,
 * where the boundary pixels of the training masks add 5–6% (SCD0000101 EDV 191.2 vs 202.2 mL).
 */
export function measureExperts(
  cine: CineSeries,
  contours: CineContours,
  rule?: Partial<VolumeRule>,
  outer?: CineContours,
): ExpertMeasurement {
  const phases = [...new Set(contours.contours.map((c) => c.phase))].sort((a, b) => a - b);
  // A slice the experts did not contour at a phase has no LV there for them: an empty mask, not a missing image.
  const empty = new Uint8Array(cine.rows * cine.columns);
  const measure = (masks: MaskGrid): VolumeResult => {
    const filled = masks.map((row, s) => row.map((m, p) => m ?? (cine.grid[s]![p] ? empty : undefined)));
    return computeVolumes(
      measureGrid(cine, filled, phases),
      cine.slices.map((s) => s.zMm),
      { rule, cyclic: false, phaseNames: phases.map((p) => p + 1) },
    );
  };
  const masks = rasterizeExperts(cine, contours, false);
  const result = measure(masks);
  const asTrainingMasks = measure(rasterizeExperts(cine, contours, true));
  if (phases.length !== 2) {
    result.warnings.push(
      `the experts contoured ` +
        `${phases.length} phase${phases.length === 1 ? '' : 's'} (${phases.map((p) => p + 1).join(', ')}), not ED ` +
        `and ES only`,
    );
  }
  const warnings = [...contours.warnings, ...(outer?.warnings ?? [])];
  if (!outer) return { dir: contours.dir, phases, masks, result, asTrainingMasks, warnings };
  // the mass where both lines exist: massSlices skips the slices without an o-contour, or with one that is not their
  // wall
  const ed = phases[result.ed]!;
  const outerMasks = rasterizeExperts(cine, outer, false);
  for (const c of outer.contours) {
    const inner = masks[c.slice]![c.phase];
    const why = c.phase === ed && inner ? notTheWall(inner, outerMasks[c.slice]![c.phase]!, c.file) : undefined;
    if (!why) continue;
    outerMasks[c.slice]![c.phase] = undefined;
    warnings.push(`${why}; left out of the experts' LV mass`);
  }
  const edSlices = massSlices(
    cine,
    masks,
    outerMasks,
    ed,
    cine.slices.map((_, s) => s),
  );
  const mass = computeLvMass(
    edSlices,
    cine.slices.map((s) => s.zMm),
  );
  return { dir: contours.dir, phases, masks, result, asTrainingMasks, mass, warnings };
}
