/**
 * `node dist/bench/dispatch-probe.js MODEL SIZE THREADS`: one training step and one inference of a bench
 * model on onednn, and nothing else, for train-step's ONEDNN_VERBOSE probe of what oneDNN dispatched to
 * (machine.ts reads the verbose lines from this process's stdout).
 */
import * as tf from '@tensorflow/tfjs-core';
import { setOnednnThreads } from '../src/backends/onednn/index.js';
import { createOptimizer } from '../src/backends/optimizers.js';
import { selectBackend } from '../src/backends/select.js';
import { buildBenchModel, makeBatch, MODELS, trainStep, type ModelName } from './train-step.bench.js';

const [model, size, threads] = process.argv.slice(2);
if (!(MODELS as readonly string[]).includes(model))
  throw new Error(`dispatch-probe: unknown model ${model}; use ${MODELS.join(', ')}`);
await selectBackend('onednn');
setOnednnThreads(Number(threads ?? 0));
const net = buildBenchModel(model as ModelName, Number(size ?? 256));
const optimizer = createOptimizer('adam', 1e-3);
const data = makeBatch(1, Number(size ?? 256));
trainStep(net, optimizer, data);
tf.tidy(() => {
  (net.predict(data.x) as tf.Tensor).dataSync();
});
tf.dispose([data.x, data.y]);
optimizer.dispose();
net.dispose();
