import { DataError } from '../errors.js';
import { createRng, type Rng } from './random.js';

/** How splitSamples divides samples into training and validation. */
export interface SplitOptions {
  /** `random`: by slice, as the lab does; `patient`: no patient on both sides. */
  by: 'random' | 'patient';
  /** Share of samples for validation, in (0, 1). */
  valFraction: number;
  seed: number;
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Splits samples into training and validation sets, reproducibly for a seed. Both sides keep the
 * input's order. By patient, whole patients go to validation (in a seeded random order) until it
 * holds the patient count closest to `valFraction` of the samples. Both sides are non-empty.
 */
export function splitSamples<T extends { patient: string }>(
  samples: readonly T[],
  options: SplitOptions,
): { train: T[]; val: T[] } {
  const { by, valFraction, seed } = options;
  if (!(valFraction > 0 && valFraction < 1))
    throw new DataError(`validation fraction must be between 0 and 1 (exclusive), got ${valFraction}`);
  if (samples.length < 2) throw new DataError(`cannot split ${samples.length} sample(s): need at least 2`);
  const rng = createRng(seed);
  const target = samples.length * valFraction;
  const inVal = new Set<number>();
  if (by === 'random') {
    const k = Math.min(samples.length - 1, Math.max(1, Math.round(target)));
    for (const i of shuffled(
      samples.map((_, i) => i),
      rng,
    ).slice(0, k))
      inVal.add(i);
  } else {
    const byPatient = new Map<string, number[]>();
    samples.forEach((s, i) => {
      const list = byPatient.get(s.patient);
      if (list) list.push(i);
      else byPatient.set(s.patient, [i]);
    });
    if (byPatient.size < 2)
      throw new DataError(
        `cannot split by patient: all ${samples.length} samples belong to one patient; use --split random`,
      );
    const order = shuffled([...byPatient.keys()], rng);
    let count = 0;
    for (const p of order.slice(0, -1)) {
      const n = byPatient.get(p)!.length;
      // Stop before a patient that takes validation further from the target than it is.
      if (count > 0 && Math.abs(count + n - target) > Math.abs(count - target)) break;
      for (const i of byPatient.get(p)!) inVal.add(i);
      count += n;
    }
  }
  const train: T[] = [];
  const val: T[] = [];
  samples.forEach((s, i) => {
    (inVal.has(i) ? val : train).push(s);
  });
  return { train, val };
}

/**
 * The samples of the given patients as validation, all others as training (a cross-validation fold).
 * A patient with no samples is an error: it is a typo, or the fold belongs to other data.
 */
export function holdOutPatients<T extends { patient: string }>(
  samples: readonly T[],
  patients: readonly string[],
): { train: T[]; val: T[] } {
  const held = new Set(patients);
  const present = new Set(samples.map((s) => s.patient));
  const missing = patients.filter((p) => !present.has(p));
  if (missing.length > 0)
    throw new DataError(
      `validation patient(s) ${missing.join(', ')} have no samples in the training source (it has ` +
        `${[...present].slice(0, 20).join(', ')}${present.size > 20 ? ', ...' : ''})`,
    );
  const train = samples.filter((s) => !held.has(s.patient));
  const val = samples.filter((s) => held.has(s.patient));
  if (train.length === 0) throw new DataError('holding out those patients leaves no training samples');
  return { train, val };
}

/**
 * K folds of patients for cross-validation, reproducibly for a seed: patients in a seeded random order,
 * then each (the largest first) to the fold with the fewest samples so far, so folds are balanced by
 * samples and every patient is in exactly one fold. Each fold's patients are sorted.
 */
export function patientFolds<T extends { patient: string }>(
  samples: readonly T[],
  k: number,
  seed: number,
): string[][] {
  const counts = new Map<string, number>();
  for (const s of samples) counts.set(s.patient, (counts.get(s.patient) ?? 0) + 1);
  if (!Number.isInteger(k) || k < 2) throw new DataError(`cross-validation needs at least 2 folds, got ${k}`);
  if (counts.size < k)
    throw new DataError(`cannot make ${k} folds of ${counts.size} patient(s): each fold needs a patient`);
  const order = shuffled([...counts.keys()], createRng(seed)).sort((a, b) => counts.get(b)! - counts.get(a)!);
  const folds: string[][] = Array.from({ length: k }, () => []);
  const sizes = new Array<number>(k).fill(0);
  for (const patient of order) {
    const f = sizes.indexOf(Math.min(...sizes));
    folds[f]!.push(patient);
    sizes[f]! += counts.get(patient)!;
  }
  return folds.map((f) => f.sort());
}
