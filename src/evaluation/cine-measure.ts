/**
 * A cine's masks to LV volumes: every image segmented by any segmenter, masks reduced to their largest
 * connected component and measured, volumes by the disc rule of volumes.ts. No file system and no model
 * here, so the browser page measures a dropped series with the same code as `lvseg volumes`.
 */
import type { CineSeries } from '../data/cine-grid.js';
import type { DicomSlice } from '../data/dicom-decode.js';
import type { LabelConvention } from '../models/metadata.js';
import { largestComponent } from './contours.js';
import { computeLvMass, computeVolumes, measureMask, type ImageMeasure, type MassResult, type MassSlice, type VolumeResult, type VolumeRule } from './volumes.js';
import { regionMask } from '../imaging/mask-metrics.js';
import { fillHoles } from './postprocess.js';

/** One image of a cine, where it sits in the grid. */
export interface CineImage {
  slice: number;
  phase: number;
  image: DicomSlice;
}

/** Anything that turns a cine image into a 0/1 LV mask of the image's size (a class mask for a model of more than two classes). */
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

export function measureGrid(cine: CineSeries, masks: MaskGrid, phases: readonly number[], labels: LabelConvention = 'inside'): (ImageMeasure | undefined)[][] {
  return masks.map((row, s) => phases.map((p) => {
    const mask = row[p];
    return mask ? measureMask(mask, cine.rows, cine.columns, cine.pixelSpacing, inPlaneOrigin(cine, s), labels) : undefined;
  }));
}

export interface CineMeasurement {
  masks: MaskGrid;
  result: VolumeResult;
  /** A model with a myocardium class: the region inside the epicardial line (lv ∪ myocardium, holes filled) per image. */
  epiMasks?: MaskGrid;
  /** A model with a myocardium class: LV mass and wall thickness at ED over the counted slices (computeLvMass). */
  mass?: MassResult;
}

/**
 * The ED slices of a mass: those of `slices` with a mask in both grids at `phase`, measured; the
 * epicardial area at least the endocardial one.
 */
export function massSlices(cine: CineSeries, endo: MaskGrid, epi: MaskGrid, phase: number, slices: readonly number[], labels: LabelConvention = 'inside'): MassSlice[] {
  return slices.flatMap((s) => {
    const inner = endo[s]?.[phase];
    const outer = epi[s]?.[phase];
    if (!inner || !outer) return [];
    const area = (mask: Uint8Array): number => measureMask(mask, cine.rows, cine.columns, cine.pixelSpacing, [0, 0], labels).areaMm2;
    const endoAreaMm2 = area(inner);
    return [{ slice: s, zMm: cine.slices[s]!.zMm, endoAreaMm2, epiAreaMm2: Math.max(endoAreaMm2, area(outer)) }];
  });
}

/**
 * Segments every image of the cine and measures the volumes per phase. `labels`: how the segmenter draws
 * its masks (a model: as its training masks were; default inside the line). `onImage` reports progress.
 */
export async function measureCine(
  cine: CineSeries, segment: Segmenter,
  options: { rule?: Partial<VolumeRule>; labels?: LabelConvention; onImage?: (done: number, total: number) => void; classes?: readonly string[] } = {},
): Promise<CineMeasurement> {
  const classes = options.classes ?? ['background', 'lv'];
  const lv = Math.max(1, classes.indexOf('lv'));
  const myo = classes.indexOf('myocardium');
  const epiMasks: MaskGrid | undefined = myo > 0 ? [] : undefined;
  const total = cine.grid.reduce((n, row) => n + row.filter(Boolean).length, 0);
  let done = 0;
  const masks: MaskGrid = [];
  for (let s = 0; s < cine.grid.length; s++) {
    const row: (Uint8Array | undefined)[] = [];
    const epiRow: (Uint8Array | undefined)[] = [];
    for (let p = 0; p < cine.phases; p++) {
      const image = cine.grid[s]![p];
      if (!image) {
        row.push(undefined);
        epiRow.push(undefined);
        continue;
      }
      const labels = await segment({ slice: s, phase: p, image });
      const mask = classes.length > 2 ? regionMask(labels, [lv]) : labels;
      if (epiMasks) epiRow.push(fillHoles(largestComponent(regionMask(labels, [lv, myo]), image.rows, image.columns), image.rows, image.columns));
      if (mask.length !== image.rows * image.columns) {
        throw new RangeError(`segmenter returned ${mask.length} pixels for the ${image.rows}×${image.columns} image ${image.file}`);
      }
      // Islands apart from the main blob are not the LV blood pool (rule, step 1).
      row.push(largestComponent(mask, image.rows, image.columns));
      options.onImage?.(++done, total);
    }
    masks.push(row);
    epiMasks?.push(epiRow);
  }
  const phases = Array.from({ length: cine.phases }, (_, p) => p);
  const result = computeVolumes(measureGrid(cine, masks, phases, options.labels), cine.slices.map((s) => s.zMm), { rule: options.rule, cyclic: true });
  if (!epiMasks) return { masks, result };
  const counted = result.slices.filter((s) => s.counted).map((s) => s.slice);
  const mass = computeLvMass(massSlices(cine, masks, epiMasks, result.ed, counted, options.labels), cine.slices.map((s) => s.zMm));
  return { masks, result, epiMasks, ...(mass ? { mass } : {}) };
}
