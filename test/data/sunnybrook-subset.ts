/**
 * Small PNG datasets cut from the shared Sunnybrook sets (../shared/data/sunnybrook), for tests that convert,
 * train and evaluate on a few real slices.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The shared Sunnybrook data: png/, dicom/ (its README says what they hold). */
export const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sunnybrook');

/**
 * A PNG dataset in `dir` of the first `perPatient` slices of `patients` in a shared set, with their masks of
 * each kind in `masks` (`endo`, `epi`) where the set has them.
 */
export function pngSubset(
  set: 'training' | 'validation',
  patients: readonly string[],
  perPatient: number,
  dir: string,
  masks: readonly ('endo' | 'epi')[] = ['endo'],
): string {
  for (const p of patients) {
    const names = readdirSync(join(SHARED, 'png', set, 'images', p))
      .sort()
      .slice(0, perPatient);
    for (const kind of ['images', ...masks.map((m) => join('masks', m))]) {
      mkdirSync(join(dir, kind, p), { recursive: true });
      for (const f of names)
        if (existsSync(join(SHARED, 'png', set, kind, p, f)))
          copyFileSync(join(SHARED, 'png', set, kind, p, f), join(dir, kind, p, f));
    }
  }
  return dir;
}

/** Training's per-epoch history without what differs between two equal runs (seconds, tensor counts). */
export function epochMetrics(history: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return history.map(({ seconds: _s, tensors: _t, ...m }) => m);
}

/** Options for train() and friends that print nothing. */
export const quiet = { progress: { stream: { write: () => true } }, warn: () => {} };
