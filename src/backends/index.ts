// The backends layer's public API.
export { selectBackend, type BackendName, type SelectedBackend } from './select.js';
export { createOptimizer, setLearningRate, FusedAdam, FusedSgd, type OptimizerName } from './optimizers.js';
export { ONEDNN_BACKEND, registerOnednnBackend, setOnednnThreads, onednnFallbackCounts } from './onednn.js';
export { loadNativeAddon, NATIVE_ADVICE } from './native-addon.js';
