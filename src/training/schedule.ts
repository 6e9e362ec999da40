import { UsageError } from '../errors.js';

/** A learning-rate schedule: the rate for the `step`-th optimisation step (0-based) of `totalSteps`. */
export type LearningRateSchedule = (step: number) => number;

export const SCHEDULE_NAMES = ['constant', 'cosine', 'poly'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export interface ScheduleOptions {
  name: ScheduleName;
  /** The peak rate. */
  lr: number;
  totalSteps: number;
  /** Steps of linear warm-up from lr/warmupSteps to lr (0: none). */
  warmupSteps?: number;
  /** The rate the decay ends at, as a fraction of lr (default 0.01). */
  minFraction?: number;
}

/**
 * Warm-up then decay: `cosine` (half a cosine from lr to lr·minFraction) or `poly` (nnU-Net's
 * (1 − t)^0.9); `constant` keeps lr after the warm-up. Warm-up keeps Adam's first, noisiest moments
 * from throwing fresh batch-norm statistics off; the decay lets the last epochs settle.
 */
export function learningRateSchedule({
  name,
  lr,
  totalSteps,
  warmupSteps = 0,
  minFraction = 0.01,
}: ScheduleOptions): LearningRateSchedule {
  if (!(SCHEDULE_NAMES as readonly string[]).includes(name))
    throw new UsageError(`unknown lr schedule '${name}'; use one of ${SCHEDULE_NAMES.join(', ')}`);
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0))
    throw new UsageError(`warm-up steps must be a non-negative integer, got ${warmupSteps}`);
  const floor = lr * minFraction;
  return (step) => {
    if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
    const t = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    switch (name) {
      case 'constant':
        return lr;
      case 'cosine':
        return floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * t));
      case 'poly':
        return floor + (lr - floor) * (1 - t) ** 0.9;
    }
  };
}
