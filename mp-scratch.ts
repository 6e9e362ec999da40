import { maxPoolBackprop } from './src/backends/wasm-pool.js';
const B = 8, H = 128, C = 100;
const x = new Float32Array(B*H*H*C).map(() => Math.max(0, Math.random()*2-1)); const dy = new Float32Array(B*64*64*C).fill(1); const dx = new Float32Array(x.length);
const g = { batchSize: B, inHeight: H, inWidth: H, channels: C, outHeight: 64, outWidth: 64, filterHeight: 2, filterWidth: 2, strideHeight: 2, strideWidth: 2, dilationHeight: 1, dilationWidth: 1, padTop: 0, padLeft: 0 };
for (let i = 0; i < 4; i++) { const t0 = performance.now(); maxPoolBackprop(x, dy, dx, g); console.log('pure', (performance.now()-t0).toFixed(1), 'ms'); }
