/**
 * Boundary distances between a predicted and an expert mask: Hausdorff 95 and the Sunnybrook
 * challenge's average perpendicular distance (APD). In millimetres when a pixel spacing
 * [row_mm, column_mm] is given, else in pixels.
 *
 * Empty masks: both empty → 0 (nothing to miss); exactly one empty → NaN, since no distance exists. Callers
 * that average these (evaluateModel) leave NaN out and report how many images were averaged.
 */
import { DataError } from '../errors.js';
import { boundaryPixels, extractContour, type Point } from '../imaging/contours.js';
import { foregroundArea, type MaskLike } from '../imaging/mask-metrics.js';

export type Spacing = readonly [row: number, column: number];

function checkSpacing(spacing: Spacing | undefined, what: string): Spacing {
  if (spacing === undefined) return [1, 1];
  const [sr, sc] = spacing;
  if (!(sr > 0) || !(sc > 0) || !Number.isFinite(sr) || !Number.isFinite(sc)) {
    throw new DataError(
      `${what}: pixel spacing must be two positive numbers [row_mm, column_mm], got [${spacing.join(', ')}]`,
    );
  }
  return spacing;
}

/**
 * Exact Euclidean distance from every pixel to the nearest feature pixel (non-zero in `features`),
 * with anisotropic spacing, by Felzenszwalb and Huttenlocher's separable lower-envelope algorithm:
 * O(H·W). Pixels are at infinite distance when there is no feature pixel at all.
 */
export function distanceTransform(features: MaskLike, height: number, width: number, spacing?: Spacing): Float64Array {
  const [sr, sc] = checkSpacing(spacing, 'distanceTransform');
  if (features.length !== height * width) {
    throw new DataError(`distanceTransform: ${features.length} pixels, not ${height}×${width}`);
  }
  const squared = new Float64Array(height * width);
  for (let i = 0; i < squared.length; i++) squared[i] = features[i] !== 0 ? 0 : Infinity;
  const longest = Math.max(height, width);
  const f = new Float64Array(longest);
  const d = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  // Columns first (steps of sr), then rows (steps of sc) on the partial result.
  for (let c = 0; c < width; c++) {
    for (let r = 0; r < height; r++) f[r] = squared[r * width + c]!;
    squaredDistance1d(f, height, sr, d, v, z);
    for (let r = 0; r < height; r++) squared[r * width + c] = d[r]!;
  }
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) f[c] = squared[r * width + c]!;
    squaredDistance1d(f, width, sc, d, v, z);
    for (let c = 0; c < width; c++) squared[r * width + c] = d[c]!;
  }
  for (let i = 0; i < squared.length; i++) squared[i] = Math.sqrt(squared[i]!);
  return squared;
}

/** d[q] = min_p (step·(q − p))² + f[p] over the lower envelope of parabolas; handles infinite f. */
function squaredDistance1d(
  f: Float64Array,
  n: number,
  step: number,
  d: Float64Array,
  v: Int32Array,
  z: Float64Array,
): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    const zq = q * step;
    while (k >= 0) {
      const zv = v[k]! * step;
      const s = (f[q]! + zq * zq - (f[v[k]!]! + zv * zv)) / (2 * (zq - zv));
      if (s <= z[k]!) k--;
      else {
        k++;
        v[k] = q;
        z[k] = s;
        break;
      }
    }
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
    }
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    d.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    const zq = q * step;
    while (z[j + 1]! < zq) j++;
    const dz = zq - v[j]! * step;
    d[q] = dz * dz + f[v[j]!]!;
  }
}

/** Linear-interpolated percentile (NumPy's default) of a non-empty array; sorts a copy. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (rank - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Distances from each boundary pixel of `from` to the nearest boundary pixel of `to`, in spacing units.
 */
export function directedBoundaryDistances(
  from: MaskLike,
  to: MaskLike,
  height: number,
  width: number,
  spacing?: Spacing,
): Float64Array {
  return boundaryToBoundary(
    boundaryPixels(from, height, width),
    boundaryPixels(to, height, width),
    height,
    width,
    spacing,
  );
}

/** directedBoundaryDistances on boundaries already found, so hausdorff95 finds each mask's only once. */
function boundaryToBoundary(
  fromBoundary: MaskLike,
  toBoundary: MaskLike,
  height: number,
  width: number,
  spacing?: Spacing,
): Float64Array {
  const field = distanceTransform(toBoundary, height, width, spacing);
  const out: number[] = [];
  for (let i = 0; i < fromBoundary.length; i++) if (fromBoundary[i] !== 0) out.push(field[i]!);
  return Float64Array.from(out);
}

/**
 * The 95th percentile of the symmetric boundary distances: the distances from every boundary pixel of
 * the prediction to the label's boundary and from every boundary pixel of the label to the
 * prediction's, pooled (as MedPy's `hd95` does), so a few stray pixels do not dominate as they do the
 * plain Hausdorff distance.
 */
export function hausdorff95(pred: MaskLike, label: MaskLike, height: number, width: number, spacing?: Spacing): number {
  checkSpacing(spacing, 'hausdorff95');
  const emptyPred = foregroundArea(pred) === 0;
  const emptyLabel = foregroundArea(label) === 0;
  if (emptyPred && emptyLabel) return 0;
  if (emptyPred || emptyLabel) return NaN;
  const predBoundary = boundaryPixels(pred, height, width);
  const labelBoundary = boundaryPixels(label, height, width);
  const forward = boundaryToBoundary(predBoundary, labelBoundary, height, width, spacing);
  const backward = boundaryToBoundary(labelBoundary, predBoundary, height, width, spacing);
  const pooled = new Float64Array(forward.length + backward.length);
  pooled.set(forward);
  pooled.set(backward, forward.length);
  return percentile(pooled, 95);
}

/** Distance from point p to the segment a–b. */
function pointToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  let t = length2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / length2;
  t = Math.max(0, Math.min(1, t));
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return Math.sqrt(ex * ex + ey * ey);
}

/**
 * Mean distance from each vertex of contour `from` to the closed polyline `to` (the nearest point on
 * any of its edges, i.e. the perpendicular foot where it falls on an edge), with both scaled to mm by
 * the spacing first. NaN when either contour is empty.
 */
export function meanContourDistance(from: readonly Point[], to: readonly Point[], spacing?: Spacing): number {
  const [sr, sc] = checkSpacing(spacing, 'meanContourDistance');
  if (from.length === 0 || to.length === 0) return NaN;
  const tx = to.map(([x]) => x * sc);
  const ty = to.map(([, y]) => y * sr);
  let total = 0;
  for (const [x, y] of from) {
    const px = x * sc;
    const py = y * sr;
    let best = Infinity;
    for (let j = 0; j < to.length; j++) {
      const k = j + 1 === to.length ? 0 : j + 1;
      const dist = pointToSegment(px, py, tx[j]!, ty[j]!, tx[k]!, ty[k]!);
      if (dist < best) best = dist;
    }
    total += best;
  }
  return total / from.length;
}

/**
 * The Sunnybrook LV segmentation challenge's average perpendicular distance (Radau et al., 2009): the
 * distance from each point of the automatic contour to the expert contour, averaged over the points of
 * the automatic contour. Both contours are the outlines of the masks' largest components
 * (extractContour); distances go to the nearest point of the expert polygon, not only its vertices.
 * Like the challenge, one-directional (automatic → expert).
 */
export function averagePerpendicularDistance(
  pred: MaskLike,
  label: MaskLike,
  height: number,
  width: number,
  spacing?: Spacing,
): number {
  checkSpacing(spacing, 'averagePerpendicularDistance');
  const auto = extractContour(pred, height, width);
  const expert = extractContour(label, height, width);
  if (auto.length === 0 && expert.length === 0) return 0;
  return meanContourDistance(auto, expert, spacing);
}
