import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { selectBackend } from './src/backends/select.js';
import { wasmOwnKernel } from './src/backends/wasm-kernels.js';
await selectBackend('wasm');
const ours = getKernel('MaxPoolGrad', 'wasm')!;
const own = wasmOwnKernel('MaxPoolGrad')!;
const use = (f: any) => { unregisterKernel('MaxPoolGrad', 'wasm'); registerKernel({ kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: f }); };
const B = Number(process.env.B ?? 8);
const dy = tf.randomUniform([B, 64, 64, 100]); const x = tf.relu(tf.randomUniform([B, 128, 128, 100], -1, 1)); const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 'same');
for (let rep = 0; rep < 3; rep++) for (const [name, f] of [['wasm-own', own], ['lvseg', ours.kernelFunc]] as const) {
  use(f); const c0 = process.cpuUsage(); const t0 = performance.now();
  const g = tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'same' }) as tf.Tensor; const t1 = performance.now(); const c1 = process.cpuUsage(c0); g.dataSync(); g.dispose();
  console.log(name, 'MaxPoolGrad b' + B + ' 128x128x100', (t1 - t0).toFixed(1), "ms wall", ((c1.user + c1.system) / 1000).toFixed(1), "ms cpu");
}
