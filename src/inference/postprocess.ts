/** Post-processing of predicted masks: pure functions on 0/1 pixel arrays. */
import { largestComponent } from '../imaging/contours.js';

/**
 * `mask` with its holes filled: background pixels not 4-connected to the image border become
 * foreground (the blood pool is simply connected; papillary muscles inside it belong to it, as the
 * Sunnybrook contours draw it).
 */
export function fillHoles(mask: Uint8Array, height: number, width: number): Uint8Array {
  const outside = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  let top = 0;
  const seed = (p: number): void => {
    if (mask[p] === 0 && outside[p] === 0) {
      outside[p] = 1;
      stack[top++] = p;
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (top > 0) {
    const p = stack[--top]!;
    const y = (p / width) | 0;
    const x = p - y * width;
    if (x > 0) seed(p - 1);
    if (x < width - 1) seed(p + 1);
    if (y > 0) seed(p - width);
    if (y < height - 1) seed(p + width);
  }
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = outside[i] === 0 ? 1 : 0;
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
