/**
 * Per-image results summarised the ways a clinician or a paper reads them: per patient, per cardiac
 * phase (ED/ES), and by the Sunnybrook LV segmentation challenge's protocol (Radau et al., 2009), which
 * calls a contour "good" when its average perpendicular distance to the expert's is below 5 mm and then
 * reports the share of good contours and Dice and APD over the good contours only. Papers on Sunnybrook
 * usually quote the latter, which leave the failures out; the plain means over every image are kept
 * beside them. Pure functions over the per-image results.
 */
import type { CardiacPhase } from '../data/cardiac-phase.js';
import { mean } from '../imaging/statistics.js';

/** The challenge's threshold: a contour with APD below this many millimetres is "good". */
export const GOOD_CONTOUR_APD_MM = 5;

/** What a summary needs of a per-image result. */
export interface ScoredImage {
  patient: string;
  dice: number;
  iou: number;
  /** NaN when exactly one of prediction and label is empty. */
  hd95: number;
  apd: number;
  /** Labelled LV area in pixels: 0 means the expert drew no contour on the image. */
  labelAreaPx: number;
  phase?: CardiacPhase;
}

/** One group of images (all, one patient, one phase): plain means beside the challenge's numbers. */
export interface GroupSummary {
  /** Images in the group. */
  count: number;
  /** Mean per-image Dice over every image of the group. */
  meanDice: number;
  /** Mean per-image IoU over every image. */
  iou: number;
  /** Mean Hausdorff 95 over the images where it is defined (`distanceCount`). */
  hd95: number;
  /** Mean APD over the images where it is defined. */
  apd: number;
  distanceCount: number;
  /** Images with an expert contour (a non-empty label): the challenge's denominator. */
  contours: number;
  /** Expert contours whose prediction has a contour with APD < 5 mm; NaN when distances are not in mm. */
  goodContours: number;
  /** goodContours / contours; NaN when distances are not in mm or there is no expert contour. */
  goodContourRate: number;
  /** Mean Dice over the good contours only (what papers usually quote); NaN when there is none. */
  diceOverGood: number;
  /** Mean APD over the good contours only; NaN when there is none. */
  apdOverGood: number;
}

export interface PatientSummary extends GroupSummary {
  patient: string;
}

/** The challenge protocol over the whole set: its rule beside the group numbers. */
export interface ChallengeSummary extends GroupSummary {
  rule: string;
  thresholdMm: number;
}

/** Whether an image's predicted contour is good by the challenge's rule (distances in mm). */
export function isGoodContour(image: ScoredImage): boolean {
  return image.labelAreaPx > 0 && Number.isFinite(image.apd) && image.apd < GOOD_CONTOUR_APD_MM;
}

/** The summary of a group of images; the challenge's numbers only when `unit` is mm. */
export function summarizeGroup(images: readonly ScoredImage[], unit: 'mm' | 'px'): GroupSummary {
  const distances = images.filter((r) => Number.isFinite(r.hd95) && Number.isFinite(r.apd));
  const contours = images.filter((r) => r.labelAreaPx > 0);
  const good = unit === 'mm' ? contours.filter(isGoodContour) : [];
  return {
    count: images.length,
    meanDice: mean(images.map((r) => r.dice)),
    iou: mean(images.map((r) => r.iou)),
    hd95: mean(distances.map((r) => r.hd95)),
    apd: mean(distances.map((r) => r.apd)),
    distanceCount: distances.length,
    contours: contours.length,
    goodContours: unit === 'mm' ? good.length : NaN,
    goodContourRate: unit === 'mm' && contours.length > 0 ? good.length / contours.length : NaN,
    diceOverGood: mean(good.map((r) => r.dice)),
    apdOverGood: mean(good.map((r) => r.apd)),
  };
}

export function challengeSummary(images: readonly ScoredImage[], unit: 'mm' | 'px'): ChallengeSummary {
  return { rule: `APD < ${GOOD_CONTOUR_APD_MM} mm`, thresholdMm: GOOD_CONTOUR_APD_MM, ...summarizeGroup(images, unit) };
}

/** One summary per patient, in the order patients first appear. */
export function perPatientSummaries(images: readonly ScoredImage[], unit: 'mm' | 'px'): PatientSummary[] {
  const groups = new Map<string, ScoredImage[]>();
  for (const r of images) {
    const group = groups.get(r.patient) ?? [];
    group.push(r);
    groups.set(r.patient, group);
  }
  return [...groups].map(([patient, group]) => ({ patient, ...summarizeGroup(group, unit) }));
}

/** ED and ES summaries, for the phases the images have (none for data without cine positions). */
export function perPhaseSummaries(
  images: readonly ScoredImage[],
  unit: 'mm' | 'px',
): Partial<Record<CardiacPhase, GroupSummary>> {
  const out: Partial<Record<CardiacPhase, GroupSummary>> = {};
  for (const phase of ['ED', 'ES'] as const) {
    const group = images.filter((r) => r.phase === phase);
    if (group.length > 0) out[phase] = summarizeGroup(group, unit);
  }
  return out;
}
