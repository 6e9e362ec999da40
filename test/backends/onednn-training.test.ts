import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, test } from 'vitest';
import { createOptimizer } from '../../src/backends/optimizers.js';
import { selectBackend } from '../../src/backends/select.js';
import { onednnFallbackCounts, registerOnednnBackend } from '../../src/backends/onednn/index.js';
import { buildModel } from '../../src/models/build.js';
import { onednnKernelCounts } from '../../src/backends/onednn/index.js';
import { fuseBatchNormTraining } from '../../src/training/batch-norm.js';

const native = registerOnednnBackend();
if (!native.ok) console.warn(`[onednn training tests skipped] ${native.reason}; build it with 'npm run setup'`);

function smallFcn(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [16, 16, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 7, strides: 4, padding: 'same' }),
    ],
  });
}

function lossOf(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(labels, [-1]), 2), tf.reshape(logits, [-1, 2]));
}

/** Five Adam steps from fixed weights and data on `backend`; the losses, and tensors alive after each step. */
async function fiveSteps(
  backend: 'onednn' | 'wasm' | 'cpu',
  weights: Float32Array[],
  optimizerName: 'adam' | 'sgd' = 'adam',
  build: () => tfl.LayersModel = smallFcn,
  fused = false,
) {
  await selectBackend(backend);
  const model = build();
  if (fused) fuseBatchNormTraining(model);
  model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i].shape)));
  const optimizer = createOptimizer(optimizerName, 0.01);
  const x = tf.tensor4d(
    Float32Array.from({ length: 2 * 256 }, (_, i) => Math.sin(i * 0.37)),
    [2, 16, 16, 1],
  );
  const y = tf.tensor1d(
    Int32Array.from({ length: 2 * 256 }, (_, i) => (Math.cos(i * 0.11) > 0.3 ? 1 : 0)),
    'int32',
  );
  const losses: number[] = [];
  const tensors: number[] = [];
  for (let step = 0; step < 5; step++) {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const cost = optimizer.minimize(() => lossOf(y, model.apply(x, { training: true }) as tf.Tensor), true, vars)!;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
    tensors.push(tf.memory().numTensors);
  }
  const moments = (await optimizer.getWeights()).length;
  tf.dispose([x, y]);
  optimizer.dispose();
  const moving = model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .flatMap((l) =>
      l
        .getWeights()
        .slice(2)
        .map((w) => Array.from(w.dataSync())),
    );
  model.dispose();
  return { losses, tensors, moments, moving };
}

async function initialWeights(build: () => tfl.LayersModel = smallFcn): Promise<Float32Array[]> {
  await selectBackend('cpu');
  const model = build();
  // The layers' initializers draw from an unseeded generator; redraw each weight over the same range with
  // a fixed seed, so that every run trains from the same start (an unlucky start left the tiny U-Net's
  // cpu loss flat over five steps once).
  const weights = model.getWeights().map((w, i) => {
    const limit = tf.max(tf.abs(w)).dataSync()[0];
    if (limit === 0) return w.dataSync().slice() as Float32Array;
    return tf
      .randomUniform(w.shape, -limit, limit, 'float32', 1000 + i)
      .dataSync()
      .slice() as Float32Array;
  });
  model.dispose();
  return weights;
}

function expectClose(actual: number[], expected: number[], relative: number): void {
  actual.forEach((v, i) => {
    expect(Math.abs(v - expected[i]), `step ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(
      relative * Math.abs(expected[i]),
    );
  });
}

describe.skipIf(!native.ok)('training on onednn', () => {
  test('five Adam steps give the cpu and wasm losses within 1e-3 relative, with flat tensor counts', async () => {
    const weights = await initialWeights();
    const cpu = await fiveSteps('cpu', weights);
    const onednn = await fiveSteps('onednn', weights);
    const wasm = await fiveSteps('wasm', weights);
    expect(cpu.losses[4]).toBeLessThan(cpu.losses[0]);
    expectClose(onednn.losses, cpu.losses, 1e-3);
    expectClose(wasm.losses, cpu.losses, 1e-3);
    expect(new Set(onednn.tensors.slice(1)).size).toBe(1);
    // iterations, then one first and one second moment per variable (checkpoints save these)
    expect(onednn.moments).toBe(1 + 2 * weights.length);
  });

  // Skip concatenations (SplitV in the gradient), transposed stride-2 convolutions, batch norm in training.
  test.each([false, true])(
    'a small U-Net (batch norm %s): five Adam steps match the cpu losses, no cpu fallback',
    async (batchNorm) => {
      const unet = () => buildModel('unet', { inputSize: 16, depth: 2, baseFilters: 3, batchNorm });
      const weights = await initialWeights(unet);
      const cpu = await fiveSteps('cpu', weights, 'adam', unet);
      const before = onednnFallbackCounts();
      const onednn = await fiveSteps('onednn', weights, 'adam', unet);
      expect(cpu.losses[4]).toBeLessThan(cpu.losses[0]);
      expectClose(onednn.losses, cpu.losses, 1e-3);
      expect(new Set(onednn.tensors.slice(1)).size).toBe(1);
      expect(onednnFallbackCounts()).toEqual(before);
    },
  );

  test(
    "the fused training-mode batch norm: the U-Net's five steps and moving averages match cpu, one native pass " +
      'per layer',
    async () => {
      const unet = () => buildModel('unet', { inputSize: 16, depth: 2, baseFilters: 3, batchNorm: true });
      const weights = await initialWeights(unet);
      const cpu = await fiveSteps('cpu', weights, 'adam', unet);
      const runs = (name: string): number => onednnKernelCounts().native[name] ?? 0;
      const [before, beforeGrad] = [runs('LvsegBatchNormTraining'), runs('LvsegBatchNormTrainingGrad')];
      const fused = await fiveSteps('onednn', weights, 'adam', unet, true);
      // one forward and one backward kernel per batch-norm layer and step
      const probe = unet();
      const layers = probe.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
      probe.dispose();
      expect(layers).toBe(10);
      expect(runs('LvsegBatchNormTraining') - before).toBe(5 * layers);
      expect(runs('LvsegBatchNormTrainingGrad') - beforeGrad).toBe(5 * layers);
      expectClose(fused.losses, cpu.losses, 1e-3);
      expect(new Set(fused.tensors.slice(1)).size).toBe(1);
      expect(fused.moving).toHaveLength(cpu.moving.length);
      fused.moving.forEach((values, i) => {
        values.forEach((v, k) => {
          expect(Math.abs(v - cpu.moving[i]![k]!), `moving ${i}[${k}]`).toBeLessThan(
            1e-3 * (1 + Math.abs(cpu.moving[i]![k]!)),
          );
        });
      });
    },
  );

  test('the fused batch norm gives the stock output and gradients to x, gamma and beta', async () => {
    await selectBackend('onednn');
    const layer = () => {
      const m = tfl.sequential({
        layers: [
          tfl.layers.batchNormalization({
            inputShape: [5, 4, 3],
            gammaInitializer: 'glorotUniform',
            betaInitializer: 'glorotUniform',
          }),
        ],
      });
      return m;
    };
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 5 * 4 * 3 }, (_, i) => 3 * Math.sin(i * 0.7) + (i % 3)),
      [2, 5, 4, 3],
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: 2 * 5 * 4 * 3 }, (_, i) => Math.cos(i * 0.3)),
      [2, 5, 4, 3],
    );
    const grads = (fused: boolean) => {
      const model = layer();
      if (fused) fuseBatchNormTraining(model);
      const [gamma, beta] = model.layers[0]!.trainableWeights.map((v) => v.read());
      (gamma as tf.Variable).assign(tf.tensor1d([0.5, 1.5, -1]));
      (beta as tf.Variable).assign(tf.tensor1d([0.1, -0.2, 0.3]));
      const f = (input: tf.Tensor) => tf.sum(tf.mul(model.apply(input, { training: true }) as tf.Tensor, w));
      const y = (model.apply(x, { training: true }) as tf.Tensor).dataSync();
      const { value, grads: g } = tf.variableGrads(
        () => f(x) as tf.Scalar,
        [gamma as tf.Variable, beta as tf.Variable],
      );
      const dx = tf
        .grad((input: tf.Tensor) => f(input))(x)
        .dataSync();
      const out = {
        y: Array.from(y),
        value: value.dataSync()[0],
        dGamma: Array.from(Object.values(g)[0]!.dataSync()),
        dBeta: Array.from(Object.values(g)[1]!.dataSync()),
        dx: Array.from(dx),
      };
      model.dispose();
      return out;
    };
    const stock = grads(false);
    const fused = grads(true);
    for (const key of ['y', 'dGamma', 'dBeta', 'dx'] as const) {
      fused[key].forEach((v, i) => {
        expect(Math.abs(v - stock[key][i]!), `${key}[${i}]`).toBeLessThan(1e-4);
      });
    }
    expect(fused.value).toBeCloseTo(stock.value, 4);
    tf.dispose([x, w]);
  });

  // conv -> batch norm -> relu, as the U-Net's blocks are; and a batch norm whose output a relu and an add
  // both read, which must keep its own relu layer (the add needs the values before the relu).
  test.each([
    ['only a relu reads it: one kernel each way, no Relu or ReluGrad', false],
    ['a relu and an add read it: the relu layer stays', true],
  ])('the fused batch norm followed by a relu, %s, gives the stock output and gradients', async (_, shared) => {
    await selectBackend('onednn');
    const build = () => {
      const input = tfl.input({ shape: [6, 5, 2] });
      const conv = tfl.layers
        .conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: 'ones' })
        .apply(input) as tfl.SymbolicTensor;
      const bn = tfl.layers.batchNormalization().apply(conv) as tfl.SymbolicTensor;
      const relu = tfl.layers.activation({ activation: 'relu' }).apply(bn) as tfl.SymbolicTensor;
      const out = shared ? (tfl.layers.add().apply([relu, bn]) as tfl.SymbolicTensor) : relu;
      return tfl.model({ inputs: input, outputs: out });
    };
    const x = tf.tensor4d(
      Float32Array.from({ length: 3 * 6 * 5 * 2 }, (_, i) => Math.sin(i * 0.7) + 0.2 * (i % 4)),
      [3, 6, 5, 2],
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: 3 * 6 * 5 * 4 }, (_, i) => Math.cos(i * 0.3)),
      [3, 6, 5, 4],
    );
    const runs = (name: string): number => onednnKernelCounts().native[name] ?? 0;
    const grads = (fused: boolean) => {
      const model = build();
      if (fused) fuseBatchNormTraining(model);
      const [kernel, gamma, beta] = model.trainableWeights.map((v) => v.read() as tf.Variable);
      gamma!.assign(tf.tensor1d([0.5, 1.5, -1, 0.8]));
      beta!.assign(tf.tensor1d([0.1, -0.2, 0.3, 0]));
      const f = (input: tf.Tensor) => tf.sum(tf.mul(model.apply(input, { training: true }) as tf.Tensor, w));
      const before = runs('Relu') + runs('LvsegReluGrad');
      const y = (model.apply(x, { training: true }) as tf.Tensor).dataSync();
      const { value, grads: g } = tf.variableGrads(() => f(x) as tf.Scalar, [kernel!, gamma!, beta!]);
      const dx = tf
        .grad((input: tf.Tensor) => f(input))(x)
        .dataSync();
      const out = {
        y: Array.from(y),
        value: value.dataSync()[0]!,
        dKernel: Array.from(g[kernel!.name]!.dataSync()),
        dGamma: Array.from(g[gamma!.name]!.dataSync()),
        dBeta: Array.from(g[beta!.name]!.dataSync()),
        dx: Array.from(dx),
        reluRuns: runs('Relu') + runs('LvsegReluGrad') - before,
      };
      tf.dispose([value, ...Object.values(g)]);
      model.dispose();
      return out;
    };
    const stock = grads(false);
    const fused = grads(true);
    // the relu cuts some values and passes others (shared: y = relu(b) + b is b where b < 0), so the mask matters
    expect(stock.y.some((v) => (shared ? v < 0 : v === 0)) && stock.y.some((v) => v > 0)).toBe(true);
    for (const key of ['y', 'dKernel', 'dGamma', 'dBeta', 'dx'] as const) {
      expect(fused[key]).toHaveLength(stock[key].length);
      fused[key].forEach((v, i) => {
        expect(Math.abs(v - stock[key][i]!), `${key}[${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(stock[key][i]!)));
      });
    }
    expect(fused.value).toBeCloseTo(stock.value, 3);
    // stock: the relu forward three times (y, variableGrads, grad) and its gradient twice
    expect(stock.reluRuns).toBe(5);
    expect(fused.reluRuns).toBe(shared ? 5 : 0);
    tf.dispose([x, w]);
  });

  test('five SGD steps match the cpu losses', async () => {
    const weights = await initialWeights();
    const cpu = await fiveSteps('cpu', weights, 'sgd');
    const onednn = await fiveSteps('onednn', weights, 'sgd');
    expectClose(onednn.losses, cpu.losses, 1e-3);
  });

  test('the fused Adam update equals tf.train.adam, and getWeights exposes its moments', async () => {
    const start = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const grads = [0.5, -2, 3].map((s) => Float32Array.from({ length: 1000 }, (_, i) => s * Math.cos(i * 0.3)));
    const run = async (backend: 'cpu' | 'onednn') => {
      await selectBackend(backend);
      const v = tf.variable(tf.tensor(start), true, `w_${backend}_${Math.random()}`);
      const opt = createOptimizer('adam', 0.05);
      for (const g of grads) opt.applyGradients([{ name: v.name, tensor: tf.tensor(g) }]);
      const weights = await opt.getWeights();
      const out = v.dataSync().slice();
      const m = weights[1].tensor.dataSync().slice();
      opt.dispose();
      v.dispose();
      return { out, m, weights };
    };
    const cpu = await run('cpu');
    const onednn = await run('onednn');
    for (let i = 0; i < start.length; i++) {
      expect(Math.abs(onednn.out[i] - cpu.out[i])).toBeLessThan(1e-5);
      expect(Math.abs(onednn.m[i] - cpu.m[i])).toBeLessThan(1e-5);
    }
    expect(onednn.weights[0].name).toBe('iter');
    expect(onednn.weights[1].name).toMatch(/\/m$/);
  });

  test('auto selects onednn when the addon loads', async () => {
    expect(await selectBackend('auto')).toEqual({ name: 'onednn' });
    expect(tf.getBackend()).toBe('onednn');
  });
});
