// The transforms layer's public API: seeded (sample, rng) => sample functions and model preprocessing.
export { compose, rngAt, transformFromSpec, TRANSFORM_TYPES, type Transform, type TransformSpec } from './compose.js';
export {
  remap, warpAffine, affineAboutCentre, flipValues, flip, rotate90, cropOrPad, centredWindow, centreCrop, resampleToSpacing,
  randomFlip, randomRotate90, randomAffine, randomGridDistortion,
  type AffineMap, type FlipOptions, type AffineOptions, type GridDistortionOptions,
} from './spatial.js';
export {
  percentiles, normalizeIntensity, normalize, adjustGamma, randomGamma, randomContrast, randomNoise, gaussianBlur, randomBlur,
  type GammaOptions, type ContrastOptions, type NoiseOptions, type BlurOptions,
} from './intensity.js';
export {
  checkPreprocessing, inputTransform, resampleForModel, preprocessSample, restoreProbabilities, type Preprocessing, type InputGeometry,
} from './preprocess.js';
