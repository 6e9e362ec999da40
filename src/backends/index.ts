// The backends layer's public API.
export { selectBackend, BACKEND_NAMES, type BackendName, type SelectedBackend } from './select.js';
export { registerWebGpuBackend, WEBGPU_BACKEND, type WebGpuFound } from './webgpu.js';
export { createOptimizer, setLearningRate, FusedAdam, FusedSgd, type OptimizerName } from './optimizers.js';
export {
  ONEDNN_BACKEND,
  registerOnednnBackend,
  setOnednnThreads,
  onednnFallbackCounts,
  onednnKernelCounts,
} from './onednn/index.js';
export { loadNativeAddon, NATIVE_ADVICE } from './native-addon.js';
