// The evaluation layer's public API.
export * from './mask-metrics.js';
export * from './contours.js';
export * from './surface-distance.js';
export * from './evaluate.js';
export * from './run-config.js';
export * from './predict.js';
export * from './predict-inputs.js';
