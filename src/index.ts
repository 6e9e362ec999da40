/** lvseg's library API: everything the CLI uses is importable from the package root. */
export * from './errors.js';
export type { Sample } from './data/sample.js';
export * from './data/index.js';
export * from './transforms/index.js';
export * from './models/index.js';
export * from './losses/index.js';
export * from './training/index.js';
export * from './inference/index.js';
export * from './evaluation/index.js';
export * from './backends/index.js';
export * from './reporting/index.js';
export * from './runs/index.js';
export * from './workflows/index.js';
export { VERSION } from './version.js';
