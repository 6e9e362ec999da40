/**
 * Composable, seeded sample transforms (MONAI's idea): a transform is `(sample, rng) => sample`, image
 * and label together. `transformFromSpec` builds one from JSON, which is how a run's config.json lists
 * the augmentation it trained with.
 */
import { createRng, type Rng } from '../data/random.js';
import type { Sample } from '../data/sample.js';
import { UsageError } from '../errors.js';
import { normalize, randomBlur, randomContrast, randomGamma, randomNoise } from './intensity.js';
import {
  centreCrop,
  randomAffine,
  randomFlip,
  randomGridDistortion,
  randomRotate90,
  resampleToSpacing,
} from './spatial.js';

export type Transform = (sample: Sample, rng: Rng) => Sample;

/** Applies `transforms` in order, all drawing from the one generator. */
export function compose(...transforms: Transform[]): Transform {
  return (sample, rng) => transforms.reduce((s, t) => t(s, rng), sample);
}

/**
 * The generator for the `index`-th sample of a stream under `seed`: a sample's augmentation depends only
 * on (seed, position), so a batch is the same twice and a resumed run continues the same stream.
 */
export function rngAt(seed: number, index: number): Rng {
  return createRng((Math.imul(seed | 0, 0x2c1b3c6d) ^ Math.imul(index | 0, 0x297a2d39)) | 0);
}

/** One entry of a transform list in JSON: `{ "type": "affine", "degrees": 180, … }`. */
export interface TransformSpec {
  type: string;
  [option: string]: unknown;
}

/** Builds a transform from its options; `crop`, where given, is a centred crop the transform must end with. */
type Builder = (options: Record<string, unknown>, crop?: number) => Transform;

const pair = (v: unknown, where: string): [number, number] | undefined => {
  if (v === undefined) return undefined;
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && v[0] <= v[1])
    return v as [number, number];
  throw new UsageError(`${where} must be a range [lo, hi] of numbers, got ${JSON.stringify(v)}`);
};
const num = (v: unknown, where: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  throw new UsageError(`${where} must be a non-negative number, got ${JSON.stringify(v)}`);
};

/**
 * The transforms a spec may name, with the options each takes (anything else is an error naming it). `spatial`: the
 * transform moves pixels (the others change values in place); `cropsItself`: its builder takes a centred crop that
 * follows it.
 */
const BUILDERS: Record<string, { spatial?: true; cropsItself?: true; options: string[]; build: Builder }> = {
  flip: {
    spatial: true,
    options: ['horizontal', 'vertical'],
    build: (o) =>
      randomFlip({ horizontal: num(o.horizontal, 'flip.horizontal'), vertical: num(o.vertical, 'flip.vertical') }),
  },
  rotate90: { spatial: true, options: [], build: () => randomRotate90() },
  affine: {
    spatial: true,
    cropsItself: true,
    options: ['degrees', 'scale', 'translate', 'p'],
    build: (o, crop) =>
      randomAffine(
        {
          degrees: num(o.degrees, 'affine.degrees'),
          scale: pair(o.scale, 'affine.scale'),
          translate: num(o.translate, 'affine.translate'),
          p: num(o.p, 'affine.p'),
        },
        crop,
      ),
  },
  grid: {
    spatial: true,
    options: ['grid', 'magnitude', 'p'],
    build: (o) =>
      randomGridDistortion({
        grid: num(o.grid, 'grid.grid'),
        magnitude: num(o.magnitude, 'grid.magnitude'),
        p: num(o.p, 'grid.p'),
      }),
  },
  crop: {
    spatial: true,
    options: ['size'],
    build: (o) => {
      const size = num(o.size, 'crop.size');
      if (!(size !== undefined && Number.isInteger(size) && size > 0))
        throw new UsageError(`crop.size must be a positive integer, got ${JSON.stringify(o.size)}`);
      return centreCrop(size);
    },
  },
  resample: {
    spatial: true,
    options: ['spacing'],
    build: (o) => {
      const spacing = num(o.spacing, 'resample.spacing');
      if (!(spacing !== undefined && spacing > 0))
        throw new UsageError(`resample.spacing must be a positive number of mm, got ${JSON.stringify(o.spacing)}`);
      return (s) => resampleToSpacing(s, spacing);
    },
  },
  gamma: {
    options: ['gamma', 'p'],
    build: (o) => randomGamma({ gamma: pair(o.gamma, 'gamma.gamma'), p: num(o.p, 'gamma.p') }),
  },
  contrast: {
    options: ['contrast', 'brightness', 'p'],
    build: (o) =>
      randomContrast({
        contrast: pair(o.contrast, 'contrast.contrast'),
        brightness: num(o.brightness, 'contrast.brightness'),
        p: num(o.p, 'contrast.p'),
      }),
  },
  noise: { options: ['sd', 'p'], build: (o) => randomNoise({ sd: num(o.sd, 'noise.sd'), p: num(o.p, 'noise.p') }) },
  blur: {
    options: ['sigma', 'p'],
    build: (o) => randomBlur({ sigma: pair(o.sigma, 'blur.sigma'), p: num(o.p, 'blur.p') }),
  },
  normalize: {
    options: ['low', 'high'],
    build: (o) => normalize(num(o.low, 'normalize.low'), num(o.high, 'normalize.high')),
  },
};

export const TRANSFORM_TYPES = Object.keys(BUILDERS);

/** Builds the composition of a JSON transform list, checking every entry (`where` prefixes messages). */
export function transformFromSpec(specs: readonly TransformSpec[], where = 'transforms'): Transform {
  return compose(...checkSpecs(specs, where).map(({ entry, options }) => entry.build(options)));
}

/**
 * `transformFromSpec(specs)` followed by a centred `crop` × `crop` crop (training's region of interest), with the
 * crop taken as early as the geometry allows: straight after the last spatial transform, and inside its resampling
 * when that is an affine (only the window's pixels are sampled). The intensity transforms after it then see the
 * window only: for sunnybrook-unet a quarter of the pixels, and their statistics (gamma's range, contrast's mean,
 * noise's sd) are the window's.
 */
export function transformFromSpecCropped(
  specs: readonly TransformSpec[],
  crop: number,
  where = 'transforms',
): Transform {
  const built = checkSpecs(specs, where);
  let last = -1;
  built.forEach(({ entry }, i) => {
    if (entry.spatial) last = i;
  });
  const folded = last >= 0 && built[last]!.entry.cropsItself === true;
  const transforms = built.map(({ entry, options }, i) =>
    entry.build(options, i === last && folded ? crop : undefined),
  );
  if (!folded) transforms.splice(last + 1, 0, centreCrop(crop));
  return compose(...transforms);
}

function checkSpecs(
  specs: readonly TransformSpec[],
  where: string,
): { entry: (typeof BUILDERS)[string]; options: Record<string, unknown> }[] {
  if (!Array.isArray(specs)) throw new UsageError(`${where} must be a list of {"type": ..., options}`);
  return specs.map((spec, i) => {
    const entry = typeof spec === 'object' && spec !== null ? BUILDERS[spec.type] : undefined;
    if (!entry)
      throw new UsageError(
        `${where}[${i}]: unknown transform ${JSON.stringify((spec as TransformSpec | null)?.type)}; use one of ` +
          `${TRANSFORM_TYPES.join(', ')}`,
      );
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(spec)) {
      if (k === 'type') continue;
      if (!entry.options.includes(k))
        throw new UsageError(
          `${where}[${i}] (${spec.type}): unknown option '${k}'; it takes ${entry.options.join(', ') || 'none'}`,
        );
      options[k] = v;
    }
    return { entry, options };
  });
}
