/** Post-processing of predicted masks: pure functions on 0/1 pixel arrays. */
import { largestComponent } from '../imaging/contours.js';

/**
 * `mask` with its holes filled: background pixels not 4-connected to the image border become
 * foreground (the blood pool is simply connected; papillary muscles inside it belong to it, as the
 * Sunnybrook contours draw it). The flood fill from the border runs inside the foreground's bounding box
 * grown by a pixel: every background pixel beyond it reaches the border in a straight line, so the ring
 * around the box seeds the same fill that the whole border would.
 */
export function fillHoles(mask: Uint8Array, height: number, width: number): Uint8Array {
  let top = height,
    bottom = -1,
    left = width,
    right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
      if (x < left) left = x;
      if (x > right) right = x;
    }
  }
  const out = new Uint8Array(mask.length);
  if (bottom < 0) return out;
  // the box, one pixel beyond the foreground where the image has room
  const y0 = Math.max(0, top - 1),
    y1 = Math.min(height - 1, bottom + 1),
    x0 = Math.max(0, left - 1),
    x1 = Math.min(width - 1, right + 1);
  const outside = new Uint8Array(mask.length);
  const stack = new Int32Array((y1 - y0 + 1) * (x1 - x0 + 1));
  let depth = 0;
  const seed = (p: number): void => {
    if (mask[p] === 0 && outside[p] === 0) {
      outside[p] = 1;
      stack[depth++] = p;
    }
  };
  for (let x = x0; x <= x1; x++) {
    seed(y0 * width + x);
    seed(y1 * width + x);
  }
  for (let y = y0; y <= y1; y++) {
    seed(y * width + x0);
    seed(y * width + x1);
  }
  while (depth > 0) {
    const p = stack[--depth]!;
    const y = (p / width) | 0;
    const x = p - y * width;
    if (x > x0) seed(p - 1);
    if (x < x1) seed(p + 1);
    if (y > y0) seed(p - width);
    if (y < y1) seed(p + width);
  }
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const p = y * width + x;
      if (outside[p] === 0) out[p] = 1;
    }
  }
  return out;
}

/**
 * Post-processing of a K-class label map (K > 2, label 1 the blood pool): each foreground class keeps its
 * largest component (the rest becomes background); with `fillHoles`, the holes of all the foreground
 * together and those of class 1 become class 1, as papillary muscles and trabeculae inside the
 * endocardial contour belong to the blood pool. With two classes it is postprocessMask.
 */
export function postprocessLabels(
  labels: Uint8Array,
  height: number,
  width: number,
  classes: number,
  settings: { largestComponent: boolean; fillHoles: boolean },
): Uint8Array {
  if (classes <= 2) return postprocessMask(labels, height, width, settings);
  const out = labels.slice();
  if (settings.largestComponent) {
    for (let c = 1; c < classes; c++) {
      const kept = largestComponent(classMask(out, c), height, width);
      for (let i = 0; i < out.length; i++) if (out[i] === c && kept[i] === 0) out[i] = 0;
    }
  }
  if (settings.fillHoles) {
    const foreground = new Uint8Array(out.length);
    for (let i = 0; i < out.length; i++) foreground[i] = out[i] === 0 ? 0 : 1;
    const filled = fillHoles(foreground, height, width);
    for (let i = 0; i < out.length; i++) if (out[i] === 0 && filled[i] === 1) out[i] = 1;
    const pool = fillHoles(classMask(out, 1), height, width);
    for (let i = 0; i < out.length; i++) if (pool[i] === 1) out[i] = 1;
  }
  return out;
}

function classMask(labels: Uint8Array, c: number): Uint8Array {
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) mask[i] = labels[i] === c ? 1 : 0;
  return mask;
}

/** The post-processing `settings` ask for: the largest component first, then its holes filled. */
export function postprocessMask(
  mask: Uint8Array,
  height: number,
  width: number,
  settings: { largestComponent: boolean; fillHoles: boolean },
): Uint8Array {
  let out = mask;
  if (settings.largestComponent) out = largestComponent(out, height, width);
  if (settings.fillHoles) out = fillHoles(out, height, width);
  return out;
}
