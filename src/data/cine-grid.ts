/**
 * A series of decoded DICOM images as a cine: grouped by SeriesInstanceUID, and one short-axis cine laid out
 * as a grid of slices (ordered along the slice normal) × cardiac phases (ordered by trigger time, else
 * instance number). Pure functions over decoded images, with no file system: the CLI (dicom-series.ts reads
 * the folder) and the browser page (dropped files) use the same.
 */
import { DataError, UsageError } from '../errors.js';
import { median } from '../imaging/statistics.js';
import type { DicomSlice } from './dicom-decode.js';
import { parseContour, type Contour } from '../imaging/contour-polygon.js';

type Vec3 = [number, number, number];
const dot = (a: readonly number[], b: readonly number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
const cross = (a: readonly number[], b: readonly number[]): Vec3 => [
  a[1]! * b[2]! - a[2]! * b[1]!,
  a[2]! * b[0]! - a[0]! * b[2]!,
  a[0]! * b[1]! - a[1]! * b[0]!,
];

/** The slice normal of ImageOrientationPatient: row direction × column direction. */
export function sliceNormal(orientation: readonly number[]): Vec3 {
  return cross(orientation.slice(0, 3), orientation.slice(3, 6));
}

/** Slice positions closer than this along the normal (mm) are one slice: positions are written with ~5 digits. */
const SAME_SLICE_MM = 0.05;

/** One series found in a folder, and whether it can be read as a short-axis cine stack. */
export interface SeriesGroup {
  uid: string;
  number?: number;
  description?: string;
  images: DicomSlice[];
  /** Distinct slice positions (along the normal, else SliceLocation). */
  positions: number;
  /** The largest number of images at one position. */
  maxPerPosition: number;
  /** Why this series is not a cine stack lvseg can measure; undefined when it is one. */
  problem?: string;
}

const NO_UID = '(no SeriesInstanceUID)';

function seriesName(g: { uid: string; number?: number; description?: string }): string {
  const extra = [g.number !== undefined ? `#${g.number}` : '', g.description ? `'${g.description}'` : '']
    .filter(Boolean)
    .join(' ');
  return `series ${g.uid}${extra ? ` (${extra})` : ''}`;
}

/** The coordinate of each image along its series' slice normal (positions), else its SliceLocation. */
function sliceCoordinate(image: DicomSlice, normal: Vec3 | undefined): number | undefined {
  if (normal && image.position) return dot(image.position, normal);
  return image.sliceLocation;
}

/** Clusters sorted coordinates into slices: consecutive values closer than SAME_SLICE_MM share one. */
function clusterPositions<T>(items: readonly T[], coordinate: (item: T) => number): T[][] {
  const sorted = [...items].sort((a, b) => coordinate(a) - coordinate(b));
  const clusters: T[][] = [];
  let last = -Infinity;
  for (const item of sorted) {
    const z = coordinate(item);
    if (clusters.length === 0 || z - last > SAME_SLICE_MM) clusters.push([]);
    clusters[clusters.length - 1]!.push(item);
    last = z;
  }
  return clusters;
}

function sameVector(a: readonly number[], b: readonly number[], tolerance: number): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);
}

/** What keeps a series from being one short-axis cine stack, or undefined. */
function seriesProblem(images: readonly DicomSlice[]): { problem?: string; positions: number; maxPerPosition: number } {
  const first = images[0]!;
  const sizes = new Set(images.map((i) => `${i.rows}x${i.columns}`));
  if (sizes.size > 1)
    return {
      problem: `mixed image sizes (${[...sizes].join(', ')}): not one acquisition`,
      positions: 0,
      maxPerPosition: 0,
    };
  const withOrientation = images.filter((i) => i.orientation);
  if (withOrientation.length > 0 && withOrientation.length < images.length) {
    return {
      problem:
        `${images.length - withOrientation.length} of ${images.length} images lack ImageOrientationPatient ` +
        `(0020,0037)`,
      positions: 0,
      maxPerPosition: 0,
    };
  }
  const orientation = first.orientation;
  if (orientation && images.some((i) => !sameVector(i.orientation!, orientation, 1e-3))) {
    const kinds = new Set(images.map((i) => i.orientation!.map((v) => v.toFixed(3)).join('\\')));
    return {
      problem: `mixed orientations (${kinds.size} different ImageOrientationPatient): not one stack of parallel slices`,
      positions: 0,
      maxPerPosition: 0,
    };
  }
  const normal = orientation ? sliceNormal(orientation) : undefined;
  const located = images.every((i) => sliceCoordinate(i, normal) !== undefined);
  if (!located) {
    return {
      problem:
        'images without ImagePositionPatient (0020,0032) or SliceLocation (0020,1041): the slices cannot be ordered',
      positions: 0,
      maxPerPosition: 0,
    };
  }
  const clusters = clusterPositions(images, (i) => sliceCoordinate(i, normal)!);
  const maxPerPosition = Math.max(...clusters.map((c) => c.length));
  const positions = clusters.length;
  if (positions === 1 && maxPerPosition === 1) return { problem: 'a single image', positions, maxPerPosition };
  if (positions === 1)
    return {
      problem: `a single slice position (${maxPerPosition} images): a volume needs a stack of short-axis slices`,
      positions,
      maxPerPosition,
    };
  if (maxPerPosition === 1)
    return {
      problem: `not a cine: each of its ${positions} slice positions holds one image (no cardiac phases)`,
      positions,
      maxPerPosition,
    };
  return { positions, maxPerPosition };
}

/** Groups images by SeriesInstanceUID, most images first, each with what keeps it from being a cine stack. */
export function groupSeries(images: readonly DicomSlice[]): SeriesGroup[] {
  const byUid = new Map<string, DicomSlice[]>();
  for (const image of images) {
    const uid = image.seriesUid ?? NO_UID;
    if (!byUid.has(uid)) byUid.set(uid, []);
    byUid.get(uid)!.push(image);
  }
  const groups = [...byUid].map(([uid, list]): SeriesGroup => {
    const first = list[0]!;
    const group: SeriesGroup = { uid, images: list, ...seriesProblem(list) };
    if (first.seriesNumber !== undefined) group.number = first.seriesNumber;
    if (first.seriesDescription) group.description = first.seriesDescription;
    return group;
  });
  return groups.sort((a, b) => b.images.length - a.images.length);
}

/** One line per series: what it holds. */
export function describeSeries(g: SeriesGroup): string {
  const layout =
    g.positions > 0
      ? `, ${g.positions} slice position${g.positions > 1 ? 's' : ''} × up to ` +
        `${g.maxPerPosition} image${g.maxPerPosition > 1 ? 's' : ''}`
      : '';
  return (
    `${seriesName(g)}: ` +
    `${g.images.length} image${g.images.length > 1 ? 's' : ''}${layout}${
      g.problem ? ` — not measurable: ` + `${g.problem}` : ''
    }`
  );
}

/**
 * The series to measure: `uid` when given, else the cine stack with the most images. Throws a one-line
 * DataError (listing what was found) when there is none.
 */
export function chooseSeries(groups: readonly SeriesGroup[], dir: string, uid?: string): SeriesGroup {
  if (groups.length === 0) throw new DataError(`${dir}: no DICOM images found`);
  if (uid) {
    const g = groups.find((s) => s.uid === uid);
    if (!g) throw new UsageError(`--series ${uid}: not in ${dir}; found ${groups.map((s) => s.uid).join(', ')}`);
    if (g.problem) throw new DataError(`${dir}: ${seriesName(g)} cannot be measured: ${g.problem}`);
    return g;
  }
  const usable = groups.filter((g) => !g.problem);
  if (usable.length === 0) {
    const what = groups.map((g) => `${seriesName(g)}: ${g.problem}`).join('; ');
    throw new DataError(
      `${dir}: no short-axis cine stack (several slice positions, each at several cardiac phases) found: ${what}`,
    );
  }
  return usable[0]!;
}

/** One slice position of a cine, in order along the slice normal. */
export interface CineSlice {
  /** Position of the slice centre along the normal (mm): positions · normal, else derived (see
   * CineSeries.spacingSource). */
  zMm: number;
  /** ImagePositionPatient of the slice's first image, when known. */
  position?: Vec3;
  /** Images found at this position (≤ phases). */
  images: number;
}

/** A short-axis cine as a grid: grid[slice][phase] is the image, or undefined where it is missing. */
export interface CineSeries {
  dir: string;
  uid: string;
  description?: string;
  rows: number;
  columns: number;
  /** [row, column] spacing (mm). */
  pixelSpacing: [number, number];
  /** Row and column direction cosines, when known (for in-plane positions in patient coordinates). */
  orientation?: [number, number, number, number, number, number];
  slices: CineSlice[];
  phases: number;
  grid: (DicomSlice | undefined)[][];
  /** Median trigger time of each phase over the slices (ms), when the images have trigger times. */
  triggerTimes?: number[];
  phaseOrder: 'trigger time' | 'instance number';
  /** Where the slice centres came from. */
  spacingSource: 'ImagePositionPatient' | 'SpacingBetweenSlices' | 'SliceThickness';
  heartRate?: { bpm: number; source: string };
  warnings: string[];
}

function commonValue(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? median(known) : undefined;
}

/** The phase count: CardiacNumberOfImages when the images agree on it, else the most common images per slice. */
function phaseCount(perSlice: readonly number[], images: readonly DicomSlice[]): number {
  const tagged = new Set(images.map((i) => i.cardiacImages));
  const tag = tagged.size === 1 ? [...tagged][0] : undefined;
  if (tag !== undefined && tag >= Math.max(...perSlice)) return tag;
  const counts = new Map<number, number>();
  for (const n of perSlice) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]![0];
}

/**
 * Lays a series out as slices × phases. Slices are ordered by ImagePositionPatient · (row × column
 * cosines), phases by trigger time, else instance number. A slice with fewer images than the others has
 * them matched to the nearest phase by trigger time (the missing cells stay undefined, with a warning);
 * without trigger times such a slice cannot be matched and is left empty. More images at one position
 * than phases means two acquisitions there: a DataError.
 */
export function buildCine(group: SeriesGroup, dir: string): CineSeries {
  if (group.problem) throw new DataError(`${dir}: ${seriesName(group)} cannot be measured: ${group.problem}`);
  const images = group.images;
  const first = images[0]!;
  const warnings: string[] = [];
  const orientation = first.orientation;
  const normal = orientation ? sliceNormal(orientation) : undefined;
  const positioned = normal !== undefined && images.every((i) => i.position);
  const clusters = clusterPositions(images, (i) => sliceCoordinate(i, positioned ? normal : undefined)!);

  let spacingSource: CineSeries['spacingSource'] = 'ImagePositionPatient';
  let zs: number[];
  if (positioned) zs = clusters.map((c) => median(c.map((i) => dot(i.position!, normal))));
  else {
    const between = commonValue(images.map((i) => i.spacingBetweenSlices));
    const thickness = commonValue(images.map((i) => i.sliceThickness));
    const step = between ?? thickness;
    if (step === undefined) {
      throw new DataError(
        `${dir}: ${seriesName(group)} has no ImagePositionPatient/ImageOrientationPatient and no SliceThickness ` +
          `(0018,0050): the distance between slices is unknown`,
      );
    }
    spacingSource = between !== undefined ? 'SpacingBetweenSlices' : 'SliceThickness';
    zs = clusters.map((_, k) => k * step);
    warnings.push(
      `no ImagePositionPatient/ImageOrientationPatient: slices ordered by SliceLocation and ${step} mm apart from ` +
        `${spacingSource}`,
    );
  }

  const useTrigger = images.every((i) => i.triggerTime !== undefined);
  const useInstance = !useTrigger && images.every((i) => i.instanceNumber !== undefined);
  if (!useTrigger) {
    warnings.push(
      useInstance
        ? 'no TriggerTime (0018,1060) on every image: phases ordered by InstanceNumber'
        : 'neither TriggerTime nor InstanceNumber on every image: phases ordered by file name',
    );
  }
  const phaseKey = (i: DicomSlice): number => (useTrigger ? i.triggerTime! : useInstance ? i.instanceNumber! : 0);
  const ordered = clusters.map((c) => [...c].sort((a, b) => phaseKey(a) - phaseKey(b)));
  const phases = phaseCount(
    ordered.map((c) => c.length),
    images,
  );

  // More images at a position than phases, or two at one trigger time: two acquisitions at one position.
  const distinctTimes = (c: DicomSlice[]): number =>
    useTrigger ? new Set(c.map((i) => Math.round(i.triggerTime!))).size : c.length;
  const crowded = ordered.findIndex((c) => c.length > phases || distinctTimes(c) < c.length);
  if (crowded >= 0) {
    const c = ordered[crowded]!;
    const what =
      c.length > phases ? `the series has ${phases} phases` : `at only ${distinctTimes(c)} different trigger times`;
    throw new DataError(
      `${dir}: ${seriesName(group)}: slice ${crowded + 1} (at ${zs[crowded]!.toFixed(1)} mm) holds ` +
        `${c.length} images, ${what}: ` +
        'two acquisitions at one position? keep one of them in the folder',
    );
  }
  const complete = ordered.filter((c) => c.length === phases);
  const triggerTimes =
    useTrigger && complete.length > 0
      ? Array.from({ length: phases }, (_, p) => median(complete.map((c) => c[p]!.triggerTime!)))
      : undefined;

  const grid: (DicomSlice | undefined)[][] = ordered.map((c, s) => {
    if (c.length === phases) return c;
    const row: (DicomSlice | undefined)[] = new Array(phases).fill(undefined);
    if (!triggerTimes) {
      warnings.push(
        `slice ${s + 1} holds ${c.length} of ${phases} images and without trigger times they cannot be matched to ` +
          `phases: slice left empty`,
      );
      return row;
    }
    // Nearest free phase by trigger time, so one missing image does not shift all the later ones.
    for (const image of c) {
      let best = -1;
      for (let p = 0; p < phases; p++) {
        if (row[p]) continue;
        if (
          best < 0 ||
          Math.abs(triggerTimes[p]! - image.triggerTime!) < Math.abs(triggerTimes[best]! - image.triggerTime!)
        )
          best = p;
      }
      row[best] = image;
    }
    const missing = row.flatMap((img, p) => (img ? [] : [p + 1]));
    warnings.push(`slice ${s + 1} has no image at phase${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    return row;
  });

  const spacings = new Set(images.map((i) => (i.spacing ? i.spacing.join('\\') : '')));
  if (!first.spacing || spacings.size > 1) {
    throw new DataError(
      `${dir}: ${seriesName(group)}: ${first.spacing ? 'mixed' : 'no'} PixelSpacing (0028,0030): LV areas in mm² ` +
        `need one in-plane spacing`,
    );
  }

  const cine: CineSeries = {
    dir,
    uid: group.uid,
    rows: first.rows,
    columns: first.columns,
    pixelSpacing: first.spacing,
    slices: clusters.map((c, k) => {
      const slice: CineSlice = { zMm: zs[k]!, images: c.length };
      if (positioned) slice.position = c[0]!.position!;
      return slice;
    }),
    phases,
    grid,
    phaseOrder: useTrigger ? 'trigger time' : 'instance number',
    spacingSource,
    warnings,
  };
  if (group.description) cine.description = group.description;
  if (orientation) cine.orientation = orientation;
  if (triggerTimes) cine.triggerTimes = triggerTimes;
  const heartRate = cineHeartRate(images, triggerTimes);
  if (heartRate) cine.heartRate = heartRate;
  return cine;
}

/**
 * The heart rate: the HeartRate tag, else 60000 / NominalInterval (the RR interval), else estimated from
 * the trigger times of a cine that spans the cycle (the last trigger time plus one phase step).
 */
export function cineHeartRate(
  images: readonly DicomSlice[],
  triggerTimes?: readonly number[],
): { bpm: number; source: string } | undefined {
  const tagged = commonValue(images.map((i) => i.heartRate));
  if (tagged !== undefined) return { bpm: tagged, source: 'HeartRate (0018,1088)' };
  const rr = commonValue(images.map((i) => i.nominalInterval));
  if (rr !== undefined) return { bpm: 60000 / rr, source: `60000 / NominalInterval (0018,1062) ${rr} ms` };
  if (triggerTimes && triggerTimes.length >= 2) {
    const step = (triggerTimes[triggerTimes.length - 1]! - triggerTimes[0]!) / (triggerTimes.length - 1);
    const cycle = triggerTimes[triggerTimes.length - 1]! + step;
    if (step > 0)
      return {
        bpm: 60000 / cycle,
        source: 'estimated from trigger times (last trigger time + one phase step as the RR interval)',
      };
  }
  return undefined;
}

/** The expert contours of a cine, each at its grid cell. */
export interface CineContours {
  /** The contours folder read. */
  dir: string;
  contours: { slice: number; phase: number; contour: Contour; file: string }[];
  warnings: string[];
}

/** Sunnybrook's expert contour files, inner (i) and outer (o): IM-SSSS-NNNN-icontour-manual.txt, NNNN the image's
 * InstanceNumber. */
export const CONTOUR_FILES = {
  i: /^IM-\d+-(\d+)-icontour-manual\.txt$/,
  o: /^IM-\d+-(\d+)-ocontour-manual\.txt$/,
} as const;
/** The inner (endocardial) contour files. */
export const ICONTOUR_FILE = CONTOUR_FILES.i;

/**
 * The expert i-contours (or with `which` 'o', the o-contours) among `files` (name, text; from a folder or
 * dropped in a page) at their cells of the cine: contour `IM-0001-NNNN` belongs to the image with
 * InstanceNumber NNNN. Contours whose image is not in the series are warnings; no contour file at all is an error.
 */
export function matchCineContours(
  dir: string,
  files: readonly { name: string; text: string }[],
  cine: CineSeries,
  which: 'i' | 'o' = 'i',
): CineContours {
  const pattern = CONTOUR_FILES[which];
  const where = new Map<number, { slice: number; phase: number }>();
  cine.grid.forEach((row, slice) => {
    row.forEach((img, phase) => {
      if (img?.instanceNumber !== undefined) where.set(img.instanceNumber, { slice, phase });
    });
  });
  const found: CineContours = { dir, contours: [], warnings: [] };
  const base = (name: string): string => name.slice(name.lastIndexOf('/') + 1);
  const contourFiles = files
    .filter((f) => pattern.test(base(f.name)))
    .sort((a, b) => (base(a.name) < base(b.name) ? -1 : 1));
  if (contourFiles.length === 0) throw new DataError(`${dir}: no IM-0001-NNNN-${which}contour-manual.txt files`);
  for (const f of contourFiles) {
    const instance = Number(pattern.exec(base(f.name))![1]);
    const cell = where.get(instance);
    if (!cell) {
      found.warnings.push(`${f.name}: no image with InstanceNumber ${instance} in the series; contour left out`);
      continue;
    }
    found.contours.push({ ...cell, contour: parseContour(f.text, f.name), file: f.name });
  }
  return found;
}
