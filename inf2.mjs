import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '/work/wt-native/dist/src/backends/select.js';
import { setOnednnThreads } from '/work/wt-native/dist/src/backends/onednn.js';
import { buildLabDense, buildLabFcn } from '/work/wt-native/dist/bench/train-step.bench.js';
await selectBackend(process.argv[2]); setOnednnThreads(1);
const net = process.argv[3] === 'dense' ? buildLabDense() : buildLabFcn(); const x = tf.randomUniform([1, 256, 256, 1]);
const ts = [];
for (let i = 0; i < 6; i++) { const t = performance.now(); tf.tidy(() => net.predict(x).dataSync()); ts.push(Math.round(performance.now() - t)); }
const t = performance.now(); for (let i = 0; i < 3; i++) tf.tidy(() => net.apply(x).dataSync()); 
console.log(process.argv[2], process.argv[3], ts.join(' '), 'apply', Math.round((performance.now() - t) / 3));
