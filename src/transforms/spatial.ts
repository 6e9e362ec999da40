/**
 * Spatial transforms of a sample: image and label move together, the image bilinearly, the label by
 * nearest neighbour so it keeps its classes. Pure functions over typed arrays; the random ones take the
 * generator they draw from.
 */
import type { Sample } from '../data/sample.js';
import { DataError } from '../errors.js';
import type { Transform } from './compose.js';

/**
 * A 2×3 affine map from OUTPUT pixel centres to INPUT pixel centres, (x, y) → (a·x + b·y + c, d·x + e·y + f):
 * sampling with the inverse map is what lets every output pixel get exactly one value.
 */
export type AffineMap = readonly [number, number, number, number, number, number];

/**
 * Resamples `sample` at the input coordinates (`xs[i]`, `ys[i]`) of each output pixel i of an
 * `outHeight` × `outWidth` result (OpenCV's remap). Outside the input the image takes `fill` and the
 * label 0 (background).
 */
export function remap(
  sample: Sample,
  xs: Float32Array,
  ys: Float32Array,
  outHeight: number,
  outWidth: number,
  fill = 0,
): Sample {
  const { height: h, width: w, image, label } = sample;
  const outImage = new Float32Array(outHeight * outWidth);
  const outLabel = new Uint8Array(outHeight * outWidth);
  const at = (yy: number, xx: number): number => (xx >= 0 && yy >= 0 && xx < w && yy < h ? image[yy * w + xx]! : fill);
  for (let o = 0; o < outImage.length; o++) {
    const sx = xs[o]!;
    const sy = ys[o]!;
    // nearest for the label: the input pixel whose centre is closest
    const nx = Math.round(sx);
    const ny = Math.round(sy);
    if (nx >= 0 && ny >= 0 && nx < w && ny < h) outLabel[o] = label[ny * w + nx]!;
    if (sx <= -1 || sy <= -1 || sx >= w || sy >= h) {
      outImage[o] = fill;
      continue;
    }
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const wx = sx - x0;
    const wy = sy - y0;
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
      const i = y0 * w + x0;
      outImage[o] =
        (image[i]! * (1 - wx) + image[i + 1]! * wx) * (1 - wy) +
        (image[i + w]! * (1 - wx) + image[i + w + 1]! * wx) * wy;
    } else {
      outImage[o] =
        (at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx) * (1 - wy) +
        (at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx) * wy;
    }
  }
  return { ...sample, image: outImage, label: outLabel, height: outHeight, width: outWidth };
}

/** Resamples `sample` through `map` (output → input coordinates) into an `outHeight` × `outWidth` sample. */
export function warpAffine(
  sample: Sample,
  map: AffineMap,
  outHeight = sample.height,
  outWidth = sample.width,
  fill = 0,
): Sample {
  return warpWindow(sample, map, 0, 0, outHeight, outWidth, fill);
}

/**
 * The `height` × `width` window at (`top`, `left`) of what `warpAffine(sample, map)` gives, sampling only the
 * window's pixels: the same values as warping everything and cropping afterwards.
 */
function warpWindow(
  sample: Sample,
  map: AffineMap,
  top: number,
  left: number,
  height: number,
  width: number,
  fill = 0,
): Sample {
  const [a, b, c, d, e, f] = map;
  const xs = new Float32Array(height * width);
  const ys = new Float32Array(height * width);
  for (let y = top, o = 0; y < top + height; y++) {
    for (let x = left; x < left + width; x++, o++) {
      xs[o] = a * x + b * y + c;
      ys[o] = d * x + e * y + f;
    }
  }
  return remap(sample, xs, ys, height, width, fill);
}

/**
 * The map that rotates by `degrees` (counter-clockwise on screen), scales by `scale` (> 1 enlarges) and
 * shifts by (`dx`, `dy`) pixels, about the image centre.
 */
export function affineAboutCentre(
  height: number,
  width: number,
  { degrees = 0, scale = 1, dx = 0, dy = 0 }: { degrees?: number; scale?: number; dx?: number; dy?: number },
): AffineMap {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t) / scale;
  const sin = Math.sin(t) / scale;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // input = R⁻¹·(output − centre − shift)/scale + centre
  const ox = cx + dx;
  const oy = cy + dy;
  return [cos, -sin, cx - cos * ox + sin * oy, sin, cos, cy - sin * ox - cos * oy];
}

/** An exact flip of a row-major `height` × `width` array: `horizontal` mirrors columns, `vertical` rows. */
export function flipValues<T extends Float32Array | Uint8Array>(
  values: T,
  height: number,
  width: number,
  horizontal: boolean,
  vertical: boolean,
): T {
  const out = values.slice() as T;
  for (let y = 0; y < height; y++) {
    const sy = vertical ? height - 1 - y : y;
    for (let x = 0; x < width; x++) out[y * width + x] = values[sy * width + (horizontal ? width - 1 - x : x)]!;
  }
  return out;
}

/** Exact flips of image and label together. */
export function flip(sample: Sample, horizontal: boolean, vertical: boolean): Sample {
  const { height: h, width: w } = sample;
  return {
    ...sample,
    image: flipValues(sample.image, h, w, horizontal, vertical),
    label: flipValues(sample.label, h, w, horizontal, vertical),
  };
}

/** An exact rotation by k·90° counter-clockwise (k mod 4); odd k swaps height and width. */
export function rotate90(sample: Sample, k: number): Sample {
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return sample;
  if (turns === 2) return flip(sample, true, true);
  const { height: h, width: w } = sample;
  const image = new Float32Array(h * w);
  const label = new Uint8Array(h * w);
  // output is w×h; counter-clockwise: out(y, x) = in(x, w−1−y); clockwise: out(y, x) = in(h−1−x, y)
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < h; x++) {
      const s = turns === 1 ? x * w + (w - 1 - y) : (h - 1 - x) * w + y;
      image[y * h + x] = sample.image[s]!;
      label[y * h + x] = sample.label[s]!;
    }
  }
  return {
    ...sample,
    image,
    label,
    height: w,
    width: h,
    ...(sample.spacing ? { spacing: [sample.spacing[1], sample.spacing[0]] as [number, number] } : {}),
  };
}

/**
 * The `height` × `width` window whose top-left corner is at (`top`, `left`) of the sample (negative or
 * beyond the edge pads with `fill` and background).
 */
export function cropOrPad(sample: Sample, top: number, left: number, height: number, width: number, fill = 0): Sample {
  const image = new Float32Array(height * width).fill(fill);
  const label = new Uint8Array(height * width);
  const { height: h, width: w } = sample;
  for (let y = Math.max(0, -top); y < Math.min(height, h - top); y++) {
    const src = (y + top) * w;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(width, w - left);
    if (x1 <= x0) continue;
    image.set(sample.image.subarray(src + left + x0, src + left + x1), y * width + x0);
    label.set(sample.label.subarray(src + left + x0, src + left + x1), y * width + x0);
  }
  return { ...sample, image, label, height, width };
}

/** The top-left corner of a centred `height` × `width` window in an `h` × `w` image (negative: padding). */
export function centredWindow(h: number, w: number, height: number, width: number): { top: number; left: number } {
  return { top: Math.floor((h - height) / 2), left: Math.floor((w - width) / 2) };
}

/** Crops (or pads) to a centred `height` × `width` window. */
export function centreCrop(height: number, width = height): Transform {
  return (sample) => {
    const { top, left } = centredWindow(sample.height, sample.width, height, width);
    return cropOrPad(sample, top, left, height, width);
  };
}

/**
 * Resamples to a pixel spacing of `target` mm where the sample knows its own (otherwise it is returned
 * as it is: the caller assumes it is at the target already).
 */
export function resampleToSpacing(sample: Sample, target: number): Sample {
  if (!sample.spacing) return sample;
  const [sr, sc] = sample.spacing;
  const height = Math.max(1, Math.round((sample.height * sr) / target));
  const width = Math.max(1, Math.round((sample.width * sc) / target));
  if (height === sample.height && width === sample.width) return { ...sample, spacing: [target, target] };
  // pixel centres map onto the same physical positions (half-pixel convention)
  const ky = sample.height / height;
  const kx = sample.width / width;
  const out = warpAffine(sample, [kx, 0, (kx - 1) / 2, 0, ky, (ky - 1) / 2], height, width);
  return { ...out, spacing: [target, target] };
}

export interface FlipOptions {
  /** Probability of a left-right flip (default 0.5). */
  horizontal?: number;
  /** Probability of an up-down flip (default 0.5). */
  vertical?: number;
}

/** Random exact flips. */
export function randomFlip({ horizontal = 0.5, vertical = 0.5 }: FlipOptions = {}): Transform {
  return (sample, rng) => {
    const h = rng.next() < horizontal;
    const v = rng.next() < vertical;
    return h || v ? flip(sample, h, v) : sample;
  };
}

/** A random exact rotation by 0, 90, 180 or 270°. */
export function randomRotate90(): Transform {
  return (sample, rng) => rotate90(sample, rng.int(4));
}

export interface AffineOptions {
  /** Rotation drawn uniformly in ±degrees (default 180: any angle). */
  degrees?: number;
  /** Scale factor range [lo, hi], drawn log-uniformly (default [0.7, 1.4]). */
  scale?: [number, number];
  /** Shift drawn uniformly in ±fraction of height and width (default 0.1). */
  translate?: number;
  /** Probability the transform is applied at all (default 1). */
  p?: number;
}

/**
 * A random rotation, scaling and translation, in one resampling pass. With `crop`, the result is the centred
 * `crop` × `crop` window of the warped sample (`centreCrop(crop)` after it), and only the window is sampled.
 */
export function randomAffine(
  { degrees = 180, scale = [0.7, 1.4], translate = 0.1, p = 1 }: AffineOptions = {},
  crop?: number,
): Transform {
  if (!(scale[0] > 0 && scale[1] >= scale[0]))
    throw new DataError(`affine scale range must be 0 < lo <= hi, got [${scale.join(', ')}]`);
  return (sample, rng) => {
    if (rng.next() >= p) return crop === undefined ? sample : centreCrop(crop)(sample, rng);
    const map = affineAboutCentre(sample.height, sample.width, {
      degrees: rng.uniform(-degrees, degrees),
      scale: Math.exp(rng.uniform(Math.log(scale[0]), Math.log(scale[1]))),
      dx: rng.uniform(-translate, translate) * sample.width,
      dy: rng.uniform(-translate, translate) * sample.height,
    });
    if (crop === undefined) return warpAffine(sample, map);
    // a window beyond the image is padding, as centreCrop pads: warped pixels stop at the image's edge
    if (crop > sample.height || crop > sample.width) return centreCrop(crop)(warpAffine(sample, map), rng);
    const { top, left } = centredWindow(sample.height, sample.width, crop, crop);
    return warpWindow(sample, map, top, left, crop, crop);
  };
}

export interface GridDistortionOptions {
  /** Control points per side of the coarse displacement grid (default 4). */
  grid?: number;
  /** Largest displacement of a control point, in pixels (default 4). */
  magnitude?: number;
  p?: number;
}

/**
 * An elastic (grid) deformation: random displacements at a coarse grid of control points, interpolated
 * bilinearly to every pixel, so the warp is smooth and small structures bend rather than tear.
 */
export function randomGridDistortion({ grid = 4, magnitude = 4, p = 1 }: GridDistortionOptions = {}): Transform {
  if (!(Number.isInteger(grid) && grid >= 2))
    throw new DataError(`grid distortion needs grid >= 2 control points, got ${grid}`);
  return (sample, rng) => {
    if (rng.next() >= p) return sample;
    const n = grid * grid;
    const gx = new Float32Array(n);
    const gy = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      gx[i] = rng.uniform(-magnitude, magnitude);
      gy[i] = rng.uniform(-magnitude, magnitude);
    }
    const { height: h, width: w } = sample;
    const xs = new Float32Array(h * w);
    const ys = new Float32Array(h * w);
    for (let y = 0; y < h; y++) {
      const fy = (y / Math.max(1, h - 1)) * (grid - 1);
      const j0 = Math.min(Math.floor(fy), grid - 2);
      const ty = fy - j0;
      for (let x = 0; x < w; x++) {
        const fx = (x / Math.max(1, w - 1)) * (grid - 1);
        const i0 = Math.min(Math.floor(fx), grid - 2);
        const tx = fx - i0;
        const k = j0 * grid + i0;
        const lerp = (g: Float32Array): number =>
          (g[k]! * (1 - tx) + g[k + 1]! * tx) * (1 - ty) + (g[k + grid]! * (1 - tx) + g[k + grid + 1]! * tx) * ty;
        xs[y * w + x] = x + lerp(gx);
        ys[y * w + x] = y + lerp(gy);
      }
    }
    return remap(sample, xs, ys, h, w);
  };
}
