/**
 * Per-class evaluation of K-class label maps: each foreground class, and for the left ventricle the
 * epicardium (the region inside the epicardial contour: lv ∪ myocardium), scored with the same pure mask
 * metrics as the blood pool. An image counts for a class only where its label marks that class
 * (Sample.labelledClasses): a Sunnybrook slice without an epicardial contour says nothing of the wall.
 */
import type { ClassRegion } from '../data/classes.js';
import type { Sample } from '../data/sample.js';
import { diceFromCounts, regionCounts, regionMask } from '../imaging/mask-metrics.js';
import { mean } from '../imaging/statistics.js';
import { GOOD_CONTOUR_APD_MM } from './summaries.js';
import { averagePerpendicularDistance, hausdorff95 } from './surface-distance.js';

export { classRegions, type ClassRegion } from '../data/classes.js';

/** One image's scores for one class. */
export interface ClassImageScore {
  dice: number;
  /** NaN when exactly one of prediction and label is empty. */
  hd95: number;
  apd: number;
  labelAreaPx: number;
  areaPx: number;
}

export interface ClassSummary {
  /** Mean per-image Dice (smooth 0; 1 when both are empty). */
  meanDice: number;
  apd: number;
  hd95: number;
  /** The challenge's share of labelled contours with APD < 5 mm; NaN unless the unit is mm. */
  goodContourRate: number;
  /** Images that mark the class. */
  count: number;
  /** Per patient: images, mean Dice and APD. */
  perPatient: { patient: string; count: number; meanDice: number; apd: number }[];
}

/** Scores of `prediction` against `sample`'s label for each region the label marks; distances in mm where the sample
 * has a spacing. */
export function scoreClasses(
  sample: Sample,
  prediction: Uint8Array,
  regions: readonly ClassRegion[],
): Record<string, ClassImageScore> {
  const out: Record<string, ClassImageScore> = {};
  for (const region of regions) {
    if (sample.labelledClasses && !region.values.every((v) => sample.labelledClasses!.includes(v))) continue;
    const counts = regionCounts(prediction, sample.label, region.values);
    const p = regionMask(prediction, region.values);
    const l = regionMask(sample.label, region.values);
    out[region.name] = {
      dice: diceFromCounts(counts, 0),
      hd95: hausdorff95(p, l, sample.height, sample.width, sample.spacing),
      apd: averagePerpendicularDistance(p, l, sample.height, sample.width, sample.spacing),
      labelAreaPx: counts.tp + counts.fn,
      areaPx: counts.tp + counts.fp,
    };
  }
  return out;
}

/** The summary of each region over the images that mark it; `unit` mm gives the good-contour rate. */
export function summarizeClasses(
  images: readonly { patient: string; classes?: Record<string, ClassImageScore> }[],
  regions: readonly ClassRegion[],
  unit: 'mm' | 'px',
): Record<string, ClassSummary> {
  const out: Record<string, ClassSummary> = {};
  for (const { name } of regions) {
    const scored = images.flatMap((r) => (r.classes?.[name] ? [{ patient: r.patient, ...r.classes[name]! }] : []));
    const distances = scored.filter((s) => Number.isFinite(s.hd95) && Number.isFinite(s.apd));
    const contours = scored.filter((s) => s.labelAreaPx > 0);
    const patients = [...new Set(scored.map((s) => s.patient))];
    out[name] = {
      meanDice: mean(scored.map((s) => s.dice)),
      apd: mean(distances.map((s) => s.apd)),
      hd95: mean(distances.map((s) => s.hd95)),
      goodContourRate:
        unit === 'mm' && contours.length > 0
          ? contours.filter((s) => Number.isFinite(s.apd) && s.apd < GOOD_CONTOUR_APD_MM).length / contours.length
          : NaN,
      count: scored.length,
      perPatient: patients.map((patient) => {
        const own = scored.filter((s) => s.patient === patient);
        return {
          patient,
          count: own.length,
          meanDice: mean(own.map((s) => s.dice)),
          apd: mean(own.filter((s) => Number.isFinite(s.apd)).map((s) => s.apd)),
        };
      }),
    };
  }
  return out;
}
