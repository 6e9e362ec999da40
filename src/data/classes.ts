/**
 * Class names by label value, background first: the names travel from the source to the run's config,
 * the model's lvseg.json, evaluation and reports. Binary segmentation is K = 2, ['background', 'lv'].
 */
import { DataError } from '../errors.js';

export const BINARY_CLASSES: readonly string[] = ['background', 'lv'];
/** The Sunnybrook contours read as three classes: blood pool inside the endocardium, wall up to the epicardium. */
export const LV_MYO_CLASSES: readonly string[] = ['background', 'lv', 'myocardium'];
/** The synthetic phantoms with their right ventricle (blood pool) as a fourth class. */
export const LV_MYO_RV_CLASSES: readonly string[] = ['background', 'lv', 'myocardium', 'rv'];

/** A class list's problems, in one line naming `where`; returns it as given. */
export function checkClasses(value: unknown, where: string): readonly string[] {
  if (!Array.isArray(value) || value.length < 2 || !value.every((c) => typeof c === 'string' && c !== '')) {
    throw new DataError(
      `${where}: classes must be a list of at least 2 names, background first, e.g. ["background", "lv"]; got ` +
        `${JSON.stringify(value)}`,
    );
  }
  if (new Set(value).size !== value.length)
    throw new DataError(
      `${where}: classes ${JSON.stringify(value)} name a class twice; give each label value its own name`,
    );
  return value as string[];
}

/** Whether two class lists are the same names in the same order. */
export function sameClasses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** The class index of `name`, or -1. */
export function classIndex(classes: readonly string[], name: string): number {
  return classes.indexOf(name);
}

/**
 * Whether the Sunnybrook readers (PNG, DICOM) can give `classes`: the blood pool alone (the default) or
 * with the myocardium; the error names what they give.
 */
export function sunnybrookClasses(requested: readonly string[] | undefined, where: string): readonly string[] {
  if (requested === undefined || sameClasses(requested, BINARY_CLASSES)) return BINARY_CLASSES;
  if (sameClasses(requested, LV_MYO_CLASSES)) return LV_MYO_CLASSES;
  throw new DataError(
    `${where}: gives classes ${JSON.stringify(BINARY_CLASSES)} or ${JSON.stringify(LV_MYO_CLASSES)}, not ` +
      `${JSON.stringify(requested)}`,
  );
}

/** A class, or a region of several classes, by name. */
export interface ClassRegion {
  name: string;
  values: number[];
}

/**
 * The regions scored for `classes` (background first): every foreground class, then `epicardium`
 * (lv ∪ myocardium) where both are there.
 */
export function classRegions(classes: readonly string[]): ClassRegion[] {
  const regions = classes.slice(1).map((name, i) => ({ name, values: [i + 1] }));
  const lv = classes.indexOf('lv');
  const myo = classes.indexOf('myocardium');
  if (lv > 0 && myo > 0 && !classes.includes('epicardium')) regions.push({ name: 'epicardium', values: [lv, myo] });
  return regions;
}
