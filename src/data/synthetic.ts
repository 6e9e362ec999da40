import type { Sample } from './sample.js';
import { createRng } from './random.js';

/**
 * Phantoms are grouped into pseudo-patients of this many consecutive seeds: slices of one patient
 * share body shape, heart position and contrast (like the slices of one real series), so a split
 * by patient is a real test of generalisation and not just a split by seed.
 */
export const PHANTOM_SLICES_PER_PATIENT = 8;

/** The pseudo-patient a phantom seed belongs to, e.g. `synthetic-p003`. */
export function phantomPatient(seed: number): string {
  return `synthetic-p${String(Math.floor(Math.trunc(seed) / PHANTOM_SLICES_PER_PATIENT)).padStart(3, '0')}`;
}

interface Ellipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Rotation in radians, with its cosine and sine (computed once: per pixel they would dominate). */
  angle: number;
  cos: number;
  sin: number;
}

function ellipse(e: Omit<Ellipse, 'cos' | 'sin'>): Ellipse {
  return { ...e, cos: Math.cos(e.angle), sin: Math.sin(e.angle) };
}

/**
 * A short-axis-like cardiac MR slice and its LV mask, deterministic for `seed`.
 *
 * Values are integers 0–255 (the units of the shared PNG/TFRecord data), so a phantom written as the
 * lab's int64 TFRecord reads back pixel for pixel. The label is the LV blood pool (papillary muscles
 * inside it included, as in the Sunnybrook i-contours); a pixel is LV when its centre
 * (x + 0.5, y + 0.5) lies inside the blood-pool ellipse. With `classes` 3, the wall between the blood pool
 * and the epicardial ellipse is label 2 (myocardium); with 4, the right ventricle's blood pool outside the
 * LV's epicardium is label 3 too. The image is the same whatever the classes.
 */
export function generatePhantom(seed: number, size = 256, options: { classes?: 2 | 3 | 4 | number } = {}): Sample {
  const classes = options.classes ?? 2;
  if (![2, 3, 4].includes(classes)) throw new RangeError(`phantom classes must be 2, 3 or 4, got ${classes}`);
  if (!Number.isInteger(size) || size < 16) throw new RangeError(`phantom size must be an integer >= 16, got ${size}`);
  const s = size / 256; // geometry is designed at 256 px and scaled
  const patientSeed = Math.floor(Math.trunc(seed) / PHANTOM_SLICES_PER_PATIENT);
  const pr = createRng(patientSeed * 7919 + 17); // per patient: anatomy and contrast
  const rng = createRng(seed); // per slice: level along the long axis, phase, noise

  // Patient: body, heart position and orientation, tissue contrasts.
  const body = ellipse({
    cx: 128 * s + pr.uniform(-8, 8) * s,
    cy: 128 * s + pr.uniform(-6, 6) * s,
    rx: pr.uniform(100, 118) * s,
    ry: pr.uniform(72, 92) * s,
    angle: pr.uniform(-0.15, 0.15),
  });
  const heartX = body.cx + pr.uniform(0, 14) * s;
  const heartY = body.cy + pr.uniform(-22, 8) * s;
  const rvAngle = Math.PI + pr.uniform(-0.5, 0.5); // the RV lies to the image-left of the LV
  const tissue = pr.uniform(70, 100);
  const blood = pr.uniform(185, 235);
  const myoLevel = pr.uniform(35, 60);
  const lungLevel = pr.uniform(5, 20);
  const noiseSigma = pr.uniform(3, 9);

  // Slice: base-to-apex level shrinks the LV; the cardiac phase changes it too.
  const level = rng.next();
  const phase = rng.next();
  const lvR = (27 - 18 * level) * (0.75 + 0.25 * phase) * s;
  const lv = ellipse({
    cx: heartX + rng.uniform(-4, 4) * s,
    cy: heartY + rng.uniform(-4, 4) * s,
    rx: lvR * rng.uniform(0.88, 1.12),
    ry: lvR * rng.uniform(0.88, 1.12),
    angle: rng.uniform(0, Math.PI),
  });
  const wall = rng.uniform(6, 11) * s * (1.15 - 0.3 * phase);
  const epi: Ellipse = { ...lv, rx: lv.rx + wall, ry: lv.ry + wall };
  const rvDist = (lvR + wall) * rng.uniform(0.55, 0.8);
  const rv = ellipse({
    cx: lv.cx + Math.cos(rvAngle) * rvDist,
    cy: lv.cy + Math.sin(rvAngle) * rvDist,
    rx: (lvR + wall) * rng.uniform(1.1, 1.5),
    ry: (lvR + wall) * rng.uniform(0.8, 1.1),
    angle: rvAngle + rng.uniform(-0.3, 0.3),
  });
  const rvWall = 3 * s;
  const rvOuter: Ellipse = { ...rv, rx: rv.rx + rvWall, ry: rv.ry + rvWall };
  const lungs: Ellipse[] = [-1, 1].map((side) =>
    ellipse({
      cx: body.cx + side * body.rx * 0.64,
      cy: body.cy - body.ry * 0.1 + rng.uniform(-5, 5) * s,
      rx: body.rx * pr.uniform(0.18, 0.24),
      ry: body.ry * pr.uniform(0.45, 0.6),
      angle: side * 0.2,
    }),
  );
  const papillary: Ellipse[] = [];
  const nPap = rng.int(3);
  for (let i = 0; i < nPap; i++) {
    const a = rng.uniform(0, 2 * Math.PI);
    const r = lvR * 0.7;
    papillary.push(
      ellipse({ cx: lv.cx + Math.cos(a) * r, cy: lv.cy + Math.sin(a) * r, rx: lvR * 0.18, ry: lvR * 0.14, angle: a }),
    );
  }
  // Smooth multiplicative bias (coil sensitivity): a tilted plane plus a broad bump.
  const bx = rng.uniform(-0.25, 0.25);
  const by = rng.uniform(-0.25, 0.25);
  const bumpX = rng.uniform(0, size);
  const bumpY = rng.uniform(0, size);
  const bumpA = rng.uniform(0, 0.3);

  const edge = 0.8 * s; // width of the soft edges in the image (partial volume)
  const image = new Float32Array(size * size);
  const label = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const py = y + 0.5;
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      let v = 0;
      v = mix(v, tissue, coverage(body, px, py, edge));
      for (const lung of lungs) v = mix(v, lungLevel, coverage(lung, px, py, edge) * coverage(body, px, py, edge));
      v = mix(v, myoLevel, coverage(rvOuter, px, py, edge));
      v = mix(v, blood * 0.92, coverage(rv, px, py, edge));
      v = mix(v, myoLevel, coverage(epi, px, py, edge));
      v = mix(v, blood, coverage(lv, px, py, edge));
      for (const p of papillary) v = mix(v, myoLevel, coverage(p, px, py, edge));
      const dx = (px - bumpX) / size;
      const dy = (py - bumpY) / size;
      const bias =
        1 + bx * (px / size - 0.5) * 2 + by * (py / size - 0.5) * 2 + bumpA * Math.exp(-(dx * dx + dy * dy) * 8);
      v = Math.abs(v * bias + noiseSigma * rng.normal()); // magnitude images: noise folds at 0
      image[y * size + x] = Math.min(255, Math.round(v));
      label[y * size + x] =
        signedDistance(lv, px, py) <= 0
          ? 1
          : classes >= 3 && signedDistance(epi, px, py) <= 0
            ? 2
            : classes === 4 && signedDistance(rv, px, py) <= 0
              ? 3
              : 0;
    }
  }
  const patient = phantomPatient(seed);
  return {
    name: `${patient}/slice-${String(seed).padStart(4, '0')}`,
    patient,
    image,
    label,
    height: size,
    width: size,
  };
}

function mix(under: number, over: number, alpha: number): number {
  return under + (over - under) * alpha;
}

/** Approximate signed distance in pixels to the ellipse's boundary (negative inside). */
function signedDistance(e: Ellipse, px: number, py: number): number {
  const c = e.cos;
  const sn = e.sin;
  const dx = px - e.cx;
  const dy = py - e.cy;
  const u = (dx * c + dy * sn) / e.rx;
  const w = (-dx * sn + dy * c) / e.ry;
  const r = Math.sqrt(u * u + w * w);
  return (r - 1) * Math.min(e.rx, e.ry);
}

function coverage(e: Ellipse, px: number, py: number, edge: number): number {
  // Outside this square the distance is at least 2·edge, so coverage is exactly 0: skip the sqrt.
  const reach = Math.max(e.rx, e.ry) * (1 + (2 * edge) / Math.min(e.rx, e.ry));
  if (Math.abs(px - e.cx) > reach || Math.abs(py - e.cy) > reach) return 0;
  const d = signedDistance(e, px, py);
  if (d <= -2 * edge) return 1;
  if (d >= 2 * edge) return 0;
  return 1 / (1 + Math.exp(d / (edge * 0.5)));
}
