// The data layer's public API.
export { generatePhantom, phantomPatient, PHANTOM_SLICES_PER_PATIENT } from './synthetic.js';
export { openSource, syntheticSource, readAllSamples, SOURCE_KINDS_HELP } from './source.js';
export type { SampleSource, SourceOptions } from './source.js';
export { applyScaling, parseScaling, formatScaling, LAB_SCALING } from './scaling.js';
export type { Scaling } from './scaling.js';
export { createRng } from './random.js';
export type { Rng } from './random.js';
