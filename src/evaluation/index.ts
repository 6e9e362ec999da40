// The evaluation layer's public API.
export * from './mask-metrics.js';
export * from './contours.js';
export * from './surface-distance.js';
