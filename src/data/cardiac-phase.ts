/**
 * End-diastole (ED) and end-systole (ES) from Sunnybrook slice names.
 *
 * A Sunnybrook cine series numbers its images slice by slice, 20 phases each: DICOM instance n is
 * phase ((n − 1) mod 20) + 1 of slice location ⌊(n − 1) / 20⌋ (CardiacNumberOfImages (0018,1090) = 20
 * and one ImagePositionPatient per block of 20 in every series of ../shared/data/sunnybrook/dicom).
 * Slice names keep n: `IM-0001-0048` is instance 48. The experts contoured two phases per patient. The
 * one next to the R wave that triggers the cine (phase 1, or the last phases before the next R wave:
 * trigger times 623–976 ms where the R–R interval is 680–1020 ms) is ED; the other, mid-cycle (trigger
 * times 224–315 ms), is ES. On all 30 patients of the shared PNG sets the ED phases found this way are
 * 18, 19, 20 or 1 and the ES phases 5 to 11, and the ED phase has the larger expert LV area summed over
 * the slices contoured at both phases (the volume definition of ED) for every patient.
 */

/** Images per slice location in a Sunnybrook cine series (DICOM CardiacNumberOfImages). */
export const SUNNYBROOK_PHASES = 20;

export type CardiacPhase = 'ED' | 'ES';

/** Where a slice sits in its cine: 1-based phase and 0-based slice location, from its instance number. */
export interface CinePosition {
  instance: number;
  phase: number;
  location: number;
}

const INSTANCE = /(?:^|\/)IM-\d+-(\d+)$/;

/** The cine position of a sample named like `SC-HF-I-01/IM-0001-0048`; undefined for other names. */
export function cinePosition(name: string, phases = SUNNYBROOK_PHASES): CinePosition | undefined {
  const match = INSTANCE.exec(name);
  if (!match) return undefined;
  const instance = Number(match[1]);
  if (!(instance >= 1)) return undefined;
  return { instance, phase: ((instance - 1) % phases) + 1, location: Math.floor((instance - 1) / phases) };
}

/** Phases between a phase and the R wave (phase 1), going round the cycle: 1 → 0, 20 → 1, 11 → 10. */
export function phasesFromRWave(phase: number, phases = SUNNYBROOK_PHASES): number {
  return Math.min(phase - 1, phases + 1 - phase);
}

/**
 * Phases at most this far from the R wave are ED when a patient has a single contoured phase: the
 * largest ED distance on the shared data is 3 (phase 18), the smallest ES distance 4 (phase 5).
 */
export const ED_MAX_PHASES_FROM_R_WAVE = 3;

/**
 * ED or ES for every sample name that carries an instance number, grouped by patient: of a patient's
 * contoured phases the one nearest the R wave is ED and the others ES; a patient with one phase only is
 * ED when it lies within ED_MAX_PHASES_FROM_R_WAVE of the R wave, else ES. Names without an instance
 * number (synthetic phantoms, other datasets) get no phase.
 */
export function cardiacPhases(
  samples: readonly { name: string; patient: string }[],
  phases = SUNNYBROOK_PHASES,
): Map<string, CardiacPhase> {
  const byPatient = new Map<string, Set<number>>();
  const positions = new Map<string, CinePosition>();
  for (const { name, patient } of samples) {
    const position = cinePosition(name, phases);
    if (!position) continue;
    positions.set(name, position);
    const set = byPatient.get(patient) ?? new Set<number>();
    set.add(position.phase);
    byPatient.set(patient, set);
  }
  const edPhase = new Map<string, number | undefined>();
  for (const [patient, set] of byPatient) {
    const sorted = [...set].sort((a, b) => phasesFromRWave(a, phases) - phasesFromRWave(b, phases) || a - b);
    const nearest = sorted[0]!;
    const isEd = sorted.length > 1 || phasesFromRWave(nearest, phases) <= ED_MAX_PHASES_FROM_R_WAVE;
    edPhase.set(patient, isEd ? nearest : undefined);
  }
  const out = new Map<string, CardiacPhase>();
  for (const { name, patient } of samples) {
    const position = positions.get(name);
    if (position) out.set(name, position.phase === edPhase.get(patient) ? 'ED' : 'ES');
  }
  return out;
}
