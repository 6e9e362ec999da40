/**
 * A synthetic short-axis cine written as a real DICOM series: a left ventricle shaped as an ellipsoid
 * cut flat at the apex and at the valve plane, whose in-plane radii beat over the phases, inside a
 * myocardial ring, on oblique slices. Its volume per phase is known in closed form.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDicom } from './dicom-fixture.js';

export interface PhantomCineOptions {
  slices?: number;
  phases?: number;
  size?: number;
  pixelMm?: number;
  spacingMm?: number;
  /** Long semi-axis of the ellipsoid (mm); the LV is cut at ±cutMm along it. */
  longMm?: number;
  cutMm?: number;
  /** In-plane semi-axis at ED and ES (mm); the other in-plane axis is `aspect` times it. */
  edRadiusMm?: number;
  esRadiusMm?: number;
  aspect?: number;
  /** Phase (0-based) of the largest volume; the smallest is half a cycle later. */
  edPhase?: number;
  heartRate?: number;
  seriesUid?: string;
  /** Leave these (slice, phase) images out of the folder (0-based, slices in order along the normal). */
  omit?: Array<[number, number]>;
  /** Write no TriggerTime. */
  noTriggerTime?: boolean;
  /**
   * The last slice, beyond the valve plane, shows what a slice at the valve does: the base of the ventricle
   * in the diastolic half of the cycle, the smaller atrium in the systolic half (the valve plane moving
   * through the slice), switching from one phase to the next. Not part of the volume.
   */
  atrium?: boolean;
  /** First instance number (instances count up slice by slice from the last slice, so file order ≠ slice order). */
  firstInstance?: number;
}

/** Row and column direction cosines of an oblique plane (orthonormal). */
export const PHANTOM_ORIENTATION: [number, number, number, number, number, number] = (() => {
  const t = 0.5,
    f = 0.6;
  return [Math.cos(t), Math.sin(t), 0, -Math.sin(t) * Math.cos(f), Math.cos(t) * Math.cos(f), -Math.sin(f)];
})();

export interface PhantomCine {
  dir: string;
  /** The exact LV volume per phase (mL). */
  volumesMl: number[];
  edPhase: number;
  esPhase: number;
  /** Slice centres along the normal (mm), in order; slices 0 and last lie beyond the cuts (no LV; the atrium on the
   * last with `atrium`). */
  zMm: number[];
  /** The LV mask of a slice at a phase, as drawn in the images. */
  mask(slice: number, phase: number): Uint8Array;
  /** The label map as drawn: 0 background, 1 the LV blood pool, 2 the myocardial ring 8 mm around it. */
  labels(slice: number, phase: number): Uint8Array;
  rows: number;
  columns: number;
  pixelMm: number;
}

export function writePhantomCine(dir: string, options: PhantomCineOptions = {}): PhantomCine {
  const S = options.slices ?? 12,
    P = options.phases ?? 20,
    N = options.size ?? 96,
    ps = options.pixelMm ?? 1.25;
  const h = options.spacingMm ?? 8,
    c = options.longMm ?? 60,
    cut = options.cutMm ?? (S / 2 - 1) * h;
  const edR = options.edRadiusMm ?? 28,
    esR = options.esRadiusMm ?? 20,
    aspect = options.aspect ?? 0.9;
  const ed = options.edPhase ?? 0;
  const hr = options.heartRate ?? 75;
  const rr = 60000 / hr;
  const uid = options.seriesUid ?? '1.2.826.0.1.3680043.2.1125.1.1';
  const o = PHANTOM_ORIENTATION;
  const normal = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  const zMm = Array.from({ length: S }, (_, k) => (k - (S - 1) / 2) * h);
  const radius = (p: number): number => (edR + esR) / 2 + ((edR - esR) / 2) * Math.cos((2 * Math.PI * (p - ed)) / P);
  const volumesMl = Array.from({ length: P }, (_, p) => {
    const a = radius(p),
      b = aspect * a;
    return (Math.PI * a * b * (2 * cut - (2 * cut ** 3) / (3 * c * c))) / 1000;
  });
  const centre = [(N / 2) * ps + 3, (N / 2) * ps - 4];
  const omitted = new Set((options.omit ?? []).map(([s, p]) => `${s}:${p}`));

  // Strictly inside the systolic half: cos(π/2) is 6e-17, not 0, and would tip one quarter point over.
  const systolic = (p: number): boolean => Math.cos((2 * Math.PI * (p - ed)) / P) < -1e-9;
  const ellipse = (slice: number, p: number, grow: number): Uint8Array => {
    const z = zMm[slice]!;
    const out = new Uint8Array(N * N);
    const atrial = options.atrium === true && slice === S - 1;
    if (Math.abs(z) > cut && !atrial) return out;
    // The atrial slice: the ventricle as at the cut in diastole, a round atrium 0.44 × the ED radius in systole
    // (its area a third below the ventricle's at the switch, as on SCD0000401's slice 11; not enough to read as a
    // jump).
    const f = Math.sqrt(1 - (Math.min(Math.abs(z), cut) / c) ** 2);
    const atrialRadius = 0.44 * edR;
    const a = (atrial && systolic(p) ? atrialRadius : radius(p) * f) + grow;
    const b = (atrial && systolic(p) ? atrialRadius : aspect * radius(p) * f) + grow;
    for (let r = 0; r < N; r++) {
      for (let col = 0; col < N; col++) {
        const x = (col + 0.5) * ps - centre[0]!,
          y = (r + 0.5) * ps - centre[1]!;
        if ((x / a) ** 2 + (y / b) ** 2 <= 1) out[r * N + col] = 1;
      }
    }
    return out;
  };

  mkdirSync(dir, { recursive: true });
  const first = options.firstInstance ?? 1;
  for (let s = 0; s < S; s++) {
    // In-plane origin fixed in patient space: each slice's position is the same point moved along the normal.
    const position: [number, number, number] = [
      -40 + zMm[s]! * normal[0]!,
      25 + zMm[s]! * normal[1]!,
      110 + zMm[s]! * normal[2]!,
    ];
    for (let p = 0; p < P; p++) {
      if (omitted.has(`${s}:${p}`)) continue;
      const lv = ellipse(s, p, 0),
        wall = ellipse(s, p, 8);
      const values = Array.from({ length: N * N }, (_, i) => (lv[i] ? 1000 : wall[i] ? 300 : 100));
      // Instances count from the last slice, so neither file names nor instance numbers follow the normal.
      const instance = first + (S - 1 - s) * P + p;
      const bytes = makeDicom({
        rows: N,
        columns: N,
        bits: 16,
        values,
        spacing: [ps, ps],
        instanceNumber: instance,
        position,
        orientation: o,
        triggerTime: options.noTriggerTime ? undefined : Number(((p * rr) / P + 0.37 * ((s * 7) % 5)).toFixed(3)),
        seriesUid: uid,
        seriesDescription: 'phantom sax cine',
        sliceThickness: h,
        heartRate: hr,
        cardiacImages: P,
      });
      writeFileSync(join(dir, `${instance}.dcm`), bytes);
    }
  }
  return {
    dir,
    volumesMl,
    edPhase: ed,
    esPhase: (ed + P / 2) % P,
    zMm,
    rows: N,
    columns: N,
    pixelMm: ps,
    mask: (slice, phase) => ellipse(slice, phase, 0),
    labels: (slice, phase) => {
      const lv = ellipse(slice, phase, 0),
        wall = ellipse(slice, phase, 8);
      return lv.map((v, i) => (v ? 1 : wall[i] ? 2 : 0));
    },
  };
}
