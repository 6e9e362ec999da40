/**
 * `npm run bench -- wasm`: one training step of the lab's FCN on the wasm backend with lvseg's
 * training kernels, and the FCN's Conv2DBackpropInput shapes on wasm's own kernel vs lvseg's.
 * Options: --profile adds a per-kernel profile of one batch-1 step (JSON lines, "bench":"profile");
 * --no-kernels skips the Conv2DBackpropInput comparison.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2DBackpropInput, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/select.js';
import { createOptimizer } from '../src/backends/optimizers.js';
import { registerWasmTrainingKernels, wasmOwnKernel } from '../src/backends/wasm-kernels.js';
import { buildModel } from '../src/models/build.js';
import { sparseCrossEntropy } from '../src/losses/losses.js';
import type { Benchmark, Emit } from './main.js';
import { kernelTotals, median } from './stats.js';

const SIZE = 256;
const WARMUP_STEPS = 2;
/** step_ms is the median of these. */
const TIMED_STEPS = 5;
/** Batch 8 is timed only when it should take under ~20 s a step (estimated from batch 1). */
const BATCH8_LIMIT_MS = 20_000;

interface StepFixture {
  step(): void;
  dispose(): void;
}

function makeFcnStep(batch: number): StepFixture {
  const model = buildModel('fcn');
  const optimizer = createOptimizer('adam', 1e-3);
  const images = tf.randomUniform([batch, SIZE, SIZE, 1], 0, 1, 'float32', 1);
  const labels = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([batch, SIZE, SIZE], 0, 1, 'float32', 2), 0.8), 'int32'),
  ) as tf.Tensor3D;
  const step = (): void => {
    const loss = optimizer.minimize(
      () => sparseCrossEntropy(model.apply(images, { training: true }) as tf.Tensor4D, labels),
      true,
    );
    loss?.dataSync();
    loss?.dispose();
  };
  return {
    step,
    dispose: () => {
      model.dispose();
      optimizer.dispose();
      images.dispose();
      labels.dispose();
    },
  };
}

function timeSteps(fixture: StepFixture): {
  stepMs: number;
  minMs: number;
  tensorsBefore: number;
  tensorsAfter: number;
} {
  for (let i = 0; i < WARMUP_STEPS; i++) fixture.step();
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < TIMED_STEPS; i++) {
    const start = performance.now();
    fixture.step();
    times.push(performance.now() - start);
  }
  return { stepMs: median(times), minMs: Math.min(...times), tensorsBefore, tensorsAfter: tf.memory().numTensors };
}

async function profileStep(emit: Emit): Promise<void> {
  const fixture = makeFcnStep(1);
  fixture.step();
  const profile = await tf.profile(() => fixture.step());
  fixture.dispose();
  // Nested kernels (those that lvseg's composite kernels run) are listed too; totals are by name.
  for (const [kernel, { ms, calls }] of [...kernelTotals(profile.kernels)].sort((a, b) => b[1].ms - a[1].ms)) {
    emit({ bench: 'profile', model: 'fcn', backend: 'wasm', batch: 1, kernel, calls, ms: Number(ms.toFixed(2)) });
  }
}

/** The FCN's Conv2DBackpropInput calls: the 3 stride-1 convs, conv2 (5x5/2), and the Conv2DTranspose forward. */
const BACKPROP_INPUT_CASES: Array<{
  label: string;
  dy: number[];
  filter: number[];
  inputShape: number[];
  strides: number;
}> = [
  { label: 'conv5 3x3 300->2', dy: [1, 16, 16, 2], filter: [3, 3, 300, 2], inputShape: [1, 16, 16, 300], strides: 1 },
  {
    label: 'conv4 3x3 300->300',
    dy: [1, 16, 16, 300],
    filter: [3, 3, 300, 300],
    inputShape: [1, 16, 16, 300],
    strides: 1,
  },
  {
    label: 'conv3 3x3 200->300',
    dy: [1, 16, 16, 300],
    filter: [3, 3, 200, 300],
    inputShape: [1, 16, 16, 200],
    strides: 1,
  },
  {
    label: 'conv2 5x5/2 100->200',
    dy: [1, 32, 32, 200],
    filter: [5, 5, 100, 200],
    inputShape: [1, 64, 64, 100],
    strides: 2,
  },
  {
    label: 'upsample forward 31x31/16',
    dy: [1, 16, 16, 2],
    filter: [31, 31, 2, 2],
    inputShape: [1, 256, 256, 2],
    strides: 16,
  },
];

function timeKernel(run: () => void, repeats = 5): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

function benchBackpropInput(emit: Emit, wasmOwn: KernelFunc): void {
  const backend = tf.backend();
  for (const c of BACKPROP_INPUT_CASES) {
    const dy = tf.randomUniform(c.dy, -1, 1, 'float32', 3);
    const filter = tf.randomUniform(c.filter, -1, 1, 'float32', 4);
    const attrs = { strides: c.strides, pad: 'same', dataFormat: 'NHWC', inputShape: c.inputShape };
    const ownMs = timeKernel(() => {
      const out = wasmOwn({ inputs: { dy, filter }, attrs, backend }) as TensorInfo;
      backend.disposeData(out.dataId);
    });
    const lvsegMs = timeKernel(() => {
      (tf.engine().runKernel(Conv2DBackpropInput, { dy, filter }, attrs) as tf.Tensor).dispose();
    });
    emit({
      bench: 'kernel',
      kernel: Conv2DBackpropInput,
      backend: 'wasm',
      case: c.label,
      tfjs_wasm_ms: round(ownMs),
      lvseg_ms: round(lvsegMs),
    });
    dy.dispose();
    filter.dispose();
  }
}

function round(ms: number): number {
  return Number(ms.toFixed(2));
}

export const benchmark: Benchmark = {
  name: 'wasm',
  async run(emit, args) {
    await selectBackend('wasm');
    registerWasmTrainingKernels();
    const wasmOwn = wasmOwnKernel(Conv2DBackpropInput);
    if (wasmOwn && !args.includes('--no-kernels')) benchBackpropInput(emit, wasmOwn);

    let batch1Ms = Infinity;
    for (const batch of [1, 8]) {
      if (batch > 1 && batch1Ms * batch > BATCH8_LIMIT_MS * 1.5) {
        emit({
          bench: 'train-step',
          model: 'fcn',
          backend: 'wasm',
          batch,
          skipped: `batch 1 took ${round(batch1Ms)} ms`,
        });
        continue;
      }
      const fixture = makeFcnStep(batch);
      const { stepMs, minMs, tensorsBefore, tensorsAfter } = timeSteps(fixture);
      fixture.dispose();
      if (batch === 1) batch1Ms = stepMs;
      emit({
        bench: 'train-step',
        model: 'fcn',
        backend: 'wasm',
        batch,
        step_ms: round(stepMs),
        // The fastest of the timed steps: the least disturbed by other work on a shared machine.
        min_step_ms: round(minMs),
        ms_per_image: round(stepMs / batch),
        tensors_leaked_per_step: (tensorsAfter - tensorsBefore) / TIMED_STEPS,
      });
    }
    if (args.includes('--profile')) await profileStep(emit);
  },
};
