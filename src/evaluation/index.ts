// The evaluation layer's public API.
export * from './mask-metrics.js';
