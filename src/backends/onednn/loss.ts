import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { SPARSE_SOFTMAX_CE } from '../fused-loss.js';
import type { NativeAddon } from '../native-addon.js';
import { ONEDNN_BACKEND, countNativeRun, output, values } from './kernel.js';

/**
 * Sparse softmax cross-entropy and its gradient as one native pass, the kernel fused-loss.ts looks up
 * (tfjs's composition is ~15 kernels and a one-hot tensor, forward and backward: ~5 ms of a 50 ms step).
 */
export function registerSoftmaxCrossEntropy(addon: NativeAddon): void {
  tf.registerKernel({
    kernelName: SPARSE_SOFTMAX_CE,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as MathBackendCPU;
      const { logits, labels } = inputs as { logits: TensorInfo; labels: TensorInfo };
      // An int32 tensor's values need not be an Int32Array (a cast from bool keeps its Uint8Array).
      const stored = cpu.data.get(labels.dataId).values;
      const classes = stored instanceof Int32Array ? stored : Int32Array.from(stored as ArrayLike<number>);
      const grad = output(cpu, [...logits.shape]);
      const loss = addon.softmaxCrossEntropy(values(cpu, logits), classes, grad.data);
      countNativeRun(SPARSE_SOFTMAX_CE);
      return [cpu.makeTensorInfo([], 'float32', Float32Array.of(loss)), grad.info];
    },
  });
}
