// The backends layer's public API.
export { selectBackend, type BackendName, type SelectedBackend } from './select.js';
export { createOptimizer, FusedAdam, FusedSgd, type OptimizerName } from './optimizers.js';
export { ONEDNN_BACKEND, registerOnednnBackend, setOnednnThreads, onednnFallbackCounts, onednnKernelCounts } from './onednn/index.js';
export { loadNativeAddon, NATIVE_ADVICE } from './native-addon.js';
