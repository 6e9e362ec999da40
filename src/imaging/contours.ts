/**
 * Masks to contours: connected components, boundary pixels and the LV outline as a polygon.
 * Coordinates follow the Sunnybrook contour files as the data layer reads them (src/data/contours.ts):
 * pixel (row r, column c) covers [c, c+1) × [r, r+1), so its centre is (x = c + 0.5, y = r + 0.5), and
 * rasterizeContour fills a traced contour back to the same mask.
 */
import { PIXEL_CENTRE } from './contour-polygon.js';
import { DataError } from '../errors.js';
import type { MaskLike } from './mask-metrics.js';

export type Point = [x: number, y: number];

function checkShape(mask: MaskLike, height: number, width: number, what: string): void {
  if (
    !Number.isInteger(height) ||
    !Number.isInteger(width) ||
    height < 1 ||
    width < 1 ||
    mask.length !== height * width
  ) {
    throw new DataError(
      `${what}: mask has ${mask.length} pixels, not ${height}×${width}; pass the mask's own height and width`,
    );
  }
}

/**
 * The largest 4-connected foreground component as a 0/1 mask (empty when the mask is empty). Ties go to
 * the component met first in raster order. 4-connectivity matches the contour tracing below, which keeps
 * diagonal-only neighbours apart.
 */
export function largestComponent(mask: MaskLike, height: number, width: number): Uint8Array {
  checkShape(mask, height, width, 'largestComponent');
  const n = height * width;
  const labels = new Int32Array(n);
  const stack = new Int32Array(n);
  let bestLabel = 0;
  let bestSize = 0;
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    const label = ++next;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const i = stack[--top]!;
      size++;
      const c = i % width;
      // Left, right, up, down; each pushed once, when first labelled.
      if (c > 0 && mask[i - 1] !== 0 && labels[i - 1] === 0) {
        labels[i - 1] = label;
        stack[top++] = i - 1;
      }
      if (c < width - 1 && mask[i + 1] !== 0 && labels[i + 1] === 0) {
        labels[i + 1] = label;
        stack[top++] = i + 1;
      }
      if (i >= width && mask[i - width] !== 0 && labels[i - width] === 0) {
        labels[i - width] = label;
        stack[top++] = i - width;
      }
      if (i + width < n && mask[i + width] !== 0 && labels[i + width] === 0) {
        labels[i + width] = label;
        stack[top++] = i + width;
      }
    }
    if (size > bestSize) {
      bestSize = size;
      bestLabel = label;
    }
  }
  const out = new Uint8Array(n);
  if (bestLabel !== 0) for (let i = 0; i < n; i++) if (labels[i] === bestLabel) out[i] = 1;
  return out;
}

/**
 * Foreground pixels with at least one 4-neighbour in the background or outside the image: the
 * "surface" that surface-distance metrics (Hausdorff, as in MedPy and MONAI) measure between.
 */
export function boundaryPixels(mask: MaskLike, height: number, width: number): Uint8Array {
  checkShape(mask, height, width, 'boundaryPixels');
  const out = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      if (mask[i] === 0) continue;
      if (
        r === 0 ||
        c === 0 ||
        r === height - 1 ||
        c === width - 1 ||
        mask[i - 1] === 0 ||
        mask[i + 1] === 0 ||
        mask[i - width] === 0 ||
        mask[i + width] === 0
      ) {
        out[i] = 1;
      }
    }
  }
  return out;
}

// Marching-squares cell cases (corners a = top-left, b = top-right, c = bottom-right, d = bottom-left,
// index a·8 + b·4 + c·2 + d) to the cell edges each segment joins: 0 top, 1 right, 2 bottom, 3 left.
// Saddles (5, 10) keep diagonal pixels apart, consistent with 4-connected components.
const SEGMENTS: readonly (readonly [number, number])[][] = [
  [],
  [[3, 2]],
  [[2, 1]],
  [[3, 1]],
  [[0, 1]],
  [
    [0, 1],
    [3, 2],
  ],
  [[0, 2]],
  [[0, 3]],
  [[0, 3]],
  [[0, 2]],
  [
    [0, 3],
    [2, 1],
  ],
  [[0, 1]],
  [[3, 1]],
  [[1, 2]],
  [[3, 2]],
  [],
];

/**
 * The outline of the mask's largest component as a closed polygon (first point not repeated), traced
 * by marching squares at level 0.5 between pixel centres: vertices lie half-way between the centres of a
 * foreground pixel and its background neighbour (on the shared pixel edge), so a single pixel gives a
 * diamond of area 0.5 through the middles of its four edges. Holes are
 * ignored (the outer loop only). The polygon runs clockwise on screen (positive shoelace area with y
 * pointing down) and starts at its top-most, then left-most vertex. Empty mask: [].
 */
export function extractContour(mask: MaskLike, height: number, width: number): Point[] {
  const component = largestComponent(mask, height, width);
  // Pad by one background pixel on each side so every loop closes inside the grid.
  const ph = height + 2;
  const pw = width + 2;
  const padded = new Uint8Array(ph * pw);
  for (let r = 0; r < height; r++) padded.set(component.subarray(r * width, (r + 1) * width), (r + 1) * pw + 1);
  // Each crossing point is identified by the grid edge it lies on: horizontal edge (r, c)–(r, c+1) has key
  // 2·(r·pw + c), vertical edge (r, c)–(r+1, c) has key 2·(r·pw + c) + 1. Every crossing point is shared
  // by exactly two segments, so loops are found by walking from neighbour to neighbour.
  const neighbours = new Map<number, number[]>();
  const link = (p: number, q: number): void => {
    const a = neighbours.get(p);
    if (a) a.push(q);
    else neighbours.set(p, [q]);
  };
  for (let r = 0; r < ph - 1; r++) {
    const top = r * pw;
    const bottom = top + pw;
    for (let c = 0; c < pw - 1; c++) {
      const index = padded[top + c]! * 8 + padded[top + c + 1]! * 4 + padded[bottom + c + 1]! * 2 + padded[bottom + c]!;
      if (index === 0 || index === 15) continue;
      const edgeKey = [2 * (top + c), 2 * (top + c + 1) + 1, 2 * (bottom + c), 2 * (top + c) + 1];
      for (const [e1, e2] of SEGMENTS[index]!) {
        link(edgeKey[e1]!, edgeKey[e2]!);
        link(edgeKey[e2]!, edgeKey[e1]!);
      }
    }
  }
  const pointOf = (key: number): Point => {
    const cell = key >> 1;
    const r = Math.floor(cell / pw);
    const c = cell - r * pw;
    // Back from padded grid indices to image coordinates with centres at + PIXEL_CENTRE.
    const x = c - 1 + PIXEL_CENTRE;
    const y = r - 1 + PIXEL_CENTRE;
    return key & 1 ? [x, y + 0.5] : [x + 0.5, y];
  };
  const visited = new Set<number>();
  let best: Point[] = [];
  let bestArea = 0;
  for (const start of neighbours.keys()) {
    if (visited.has(start)) continue;
    const loop: Point[] = [];
    let previous = -1;
    let current = start;
    while (!visited.has(current)) {
      visited.add(current);
      loop.push(pointOf(current));
      const [n1, n2] = neighbours.get(current)!;
      const next = n1 !== previous ? n1! : n2!;
      previous = current;
      current = next;
    }
    const area = Math.abs(polygonArea(loop));
    if (area > bestArea) {
      bestArea = area;
      best = loop;
    }
  }
  return normaliseLoop(best);
}

/** Shoelace area of a closed polygon; positive when clockwise on screen (y down). */
export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    twice += x1 * y2 - x2 * y1;
  }
  return twice / 2;
}

function normaliseLoop(loop: Point[]): Point[] {
  if (loop.length === 0) return loop;
  const oriented = polygonArea(loop) < 0 ? loop.slice().reverse() : loop;
  let first = 0;
  for (let i = 1; i < oriented.length; i++) {
    const [x, y] = oriented[i]!;
    const [bx, by] = oriented[first]!;
    if (y < by || (y === by && x < bx)) first = i;
  }
  return [...oriented.slice(first), ...oriented.slice(0, first)];
}
