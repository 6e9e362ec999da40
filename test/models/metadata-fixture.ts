import { NO_INFERENCE_EXTRAS, type ModelMetadata } from '../../src/models/metadata.js';

/** An lvseg.json for a test model: its scaling, no preprocessing, no test-time flips or post-processing. */
export function testModelMetadata(scale: string, size = 32): ModelMetadata {
  return {
    format: 'lvseg-model',
    version: 1,
    input: { height: size, width: size, channels: 1 },
    scale,
    preprocessing: { spacing: null, roi: null, intensity: null },
    inference: NO_INFERENCE_EXTRAS,
  };
}
