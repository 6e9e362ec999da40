import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native-addon.js';
import { ONEDNN_BACKEND, onednnAddon, writtenInPlace } from './onednn/index.js';

export type OptimizerName = 'adam' | 'sgd';

/**
 * The optimizer for training. On the onednn backend the update of each variable is one native fused
 * kernel working in place on the variable's buffer (tf.train.adam builds ~12 tensors per variable, 473 ms
 * per step for the FCN on cpu); elsewhere it is TensorFlow.js's own. Both keep tf.Optimizer's interface,
 * including getWeights/setWeights, so checkpoints save and restore the moments either way.
 * A `weightDecay` > 0 makes Adam AdamW: decoupled decay of the kernels (not biases or batch-norm
 * parameters), w ← w·(1 − lr·weightDecay) before each update.
 */
export function createOptimizer(
  name: OptimizerName,
  learningRate: number,
  { weightDecay = 0 }: { weightDecay?: number } = {},
): tf.Optimizer {
  const addon = tf.getBackend() === ONEDNN_BACKEND ? onednnAddon() : undefined;
  if (name === 'sgd') return addon ? new FusedSgd(addon, learningRate) : tf.train.sgd(learningRate);
  if (addon) return new FusedAdam(addon, learningRate, weightDecay);
  return weightDecay > 0 ? new AdamW(learningRate, weightDecay) : tf.train.adam(learningRate);
}

export { setLearningRate } from './learning-rate.js';

/** Whether a variable is a kernel that weight decay applies to (rank ≥ 2; biases and batch-norm vectors are rank 1). */
function decays(variable: tf.Variable): boolean {
  return variable.rank >= 2;
}

/** tf.train.adam with decoupled weight decay, for backends without the fused kernel. */
class AdamW extends tf.AdamOptimizer {
  constructor(
    learningRate: number,
    private readonly weightDecay: number,
  ) {
    super(learningRate, 0.9, 0.999);
  }

  override applyGradients(variableGradients: Gradients): void {
    const factor = 1 - this.learningRate * this.weightDecay;
    tf.tidy(() => {
      for (const { name } of gradientList(variableGradients)) {
        const v = tf.engine().registeredVariables[name];
        if (v && decays(v)) v.assign(tf.mul(v, factor));
      }
    });
    super.applyGradients(variableGradients);
  }
}

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** The Float32Array behind `t` on the active onednn backend, or undefined when it is not there. */
function bufferOf(backend: MathBackendCPU, t: tf.Tensor): Float32Array | undefined {
  if (t.dtype !== 'float32' || !backend.data.has(t.dataId)) return undefined;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : undefined;
}

/**
 * The variable's buffer, made its own first: a tensor that shares it (tf.clone, the initial value)
 * must not see the update, so a shared buffer is copied once before writing in place.
 */
function ownBuffer(backend: MathBackendCPU, variable: tf.Variable): Float32Array {
  if (backend.refCount(variable.dataId) > 1) {
    const copy = (backend.data.get(variable.dataId).values as Float32Array).slice();
    tf.tidy(() => variable.assign(tf.tensor(copy, variable.shape, 'float32')));
  }
  const values = backend.data.get(variable.dataId).values as Float32Array;
  writtenInPlace(values);
  return values;
}

function gradientList(grads: Gradients): { name: string; tensor: tf.Tensor }[] {
  return Array.isArray(grads) ? grads : Object.keys(grads).map((name) => ({ name, tensor: grads[name] }));
}

/** Whether every variable and gradient lives, as float32, on the active onednn backend. */
function nativeReady(list: { name: string; tensor: tf.Tensor }[]): MathBackendCPU | undefined {
  if (tf.getBackend() !== ONEDNN_BACKEND) return undefined;
  const backend = tf.backend() as MathBackendCPU;
  for (const { name, tensor } of list) {
    const variable = tf.engine().registeredVariables[name];
    if (tensor == null) continue;
    if (!variable || !bufferOf(backend, variable) || !bufferOf(backend, tensor) || variable.size !== tensor.size)
      return undefined;
  }
  return backend;
}

interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

/** tf.train.adam's math (beta1 0.9, beta2 0.999, epsilon 1e-7, bias correction) in one native kernel per variable,
 * AdamW's decay in the same pass. */
export class FusedAdam extends tf.AdamOptimizer {
  constructor(
    private readonly addon: NativeAddon,
    learningRate: number,
    private readonly weightDecay = 0,
  ) {
    super(learningRate, 0.9, 0.999);
  }

  override applyGradients(variableGradients: Gradients): void {
    const list = gradientList(variableGradients);
    const backend = nativeReady(list);
    if (!backend) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const oneMinusAcc1 = 1 - state.accBeta1.dataSync()[0];
    const oneMinusAcc2 = 1 - state.accBeta2.dataSync()[0];
    list.forEach(({ name, tensor }, i) => {
      const value = tf.engine().registeredVariables[name];
      // The moments are variables, as in tf.train.adam, so getWeights/setWeights see them unchanged.
      state.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      state.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      if (tensor == null) return;
      const m = ownBuffer(backend, state.accumulatedFirstMoment[i].variable);
      const v = ownBuffer(backend, state.accumulatedSecondMoment[i].variable);
      this.addon.adam(
        ownBuffer(backend, value),
        m,
        v,
        bufferOf(backend, tensor)!,
        state.learningRate,
        state.beta1,
        state.beta2,
        oneMinusAcc1,
        oneMinusAcc2,
        state.epsilon,
        this.weightDecay > 0 && decays(value) ? 1 - state.learningRate * this.weightDecay : 1,
      );
    });
    tf.tidy(() => {
      state.accBeta1.assign(tf.mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, state.beta2));
    });
    this.incrementIterations();
  }
}

/** tf.train.sgd's update, value -= lr * gradient, in one native kernel per variable. */
export class FusedSgd extends tf.SGDOptimizer {
  constructor(
    private readonly addon: NativeAddon,
    learningRate: number,
  ) {
    super(learningRate);
  }

  override applyGradients(variableGradients: Gradients): void {
    const list = gradientList(variableGradients);
    const backend = nativeReady(list);
    if (!backend) {
      super.applyGradients(variableGradients);
      return;
    }
    for (const { name, tensor } of list) {
      if (tensor == null) continue;
      this.addon.sgd(
        ownBuffer(backend, tf.engine().registeredVariables[name]),
        bufferOf(backend, tensor)!,
        this.learningRate,
      );
    }
    this.incrementIterations();
  }
}
