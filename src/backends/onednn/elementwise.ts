import * as tf from '@tensorflow/tfjs-core';
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native-addon.js';
import { BinaryOp, UnaryOp, type OpCode } from './contract.js';
import { ONEDNN_BACKEND, countNativeRun, isF32, output, values, withFallback, type KernelTable } from './kernel.js';

/** Elementwise kernels: Add Sub Multiply RealDiv (with the broadcasts below), Relu Step Exp Log Neg Square Sqrt
 * Sigmoid, the Relu gradient. */

/**
 * How an operand of a broadcasting binary op maps onto the output: as is (full), one value (scalar),
 * a repeated block of trailing dims (periodic: a bias [C] over [N,H,W,C]), or one value per run of the
 * innermost outputs (blocked: [N,1] over [N,C]); null for the other broadcasts, left to the cpu kernel.
 */
function broadcastLayout(shape: number[], outShape: number[]): 'full' | 'scalar' | 'periodic' | 'blocked' | null {
  const size = util.sizeFromShape(shape);
  if (size === util.sizeFromShape(outShape)) return 'full';
  if (size === 1) return 'scalar';
  const padded = [...new Array<number>(outShape.length - shape.length).fill(1), ...shape];
  let first = 0;
  while (padded[first] === 1) first++;
  if (util.arraysEqual(padded.slice(first), outShape.slice(first))) return 'periodic';
  let last = padded.length;
  while (padded[last - 1] === 1) last--;
  if (util.arraysEqual(padded.slice(0, last), outShape.slice(0, last))) return 'blocked';
  return null;
}

export function elementwiseKernels(addon: NativeAddon, kernels: KernelTable): void {
  const binaryOps: [string, OpCode<typeof BinaryOp>, boolean][] = [
    ['Add', BinaryOp.Add, true],
    ['Sub', BinaryOp.Sub, false],
    ['Multiply', BinaryOp.Mul, true],
    ['RealDiv', BinaryOp.Div, false],
  ];
  for (const [name, op, commutative] of binaryOps) {
    kernels.set(
      name,
      withFallback(({ inputs, backend }) => {
        let { a, b } = inputs;
        if (!isF32(backend, a, b)) return null;
        const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
        if (util.sizeFromShape(outShape) === 0) return null;
        let layoutA = broadcastLayout(a.shape, outShape),
          layoutB = broadcastLayout(b.shape, outShape);
        if (commutative && layoutA !== 'full' && layoutB === 'full') {
          [a, b] = [b, a];
          [layoutA, layoutB] = [layoutB, layoutA];
        }
        let scalarA = false;
        if (layoutA !== 'full') {
          if (layoutA === 'scalar' && layoutB === 'full') scalarA = true;
          else return null;
        } else if (layoutB === null) {
          return null;
        }
        const out = output(backend, outShape);
        addon.binary(op, values(backend, a), values(backend, b), out.data, scalarA, layoutB === 'blocked');
        return out.info;
      }),
    );
  }

  const unaryOps: [string, OpCode<typeof UnaryOp>][] = [
    ['Relu', UnaryOp.Relu],
    ['Step', UnaryOp.Step],
    ['Exp', UnaryOp.Exp],
    ['Log', UnaryOp.Log],
    ['Neg', UnaryOp.Neg],
    ['Square', UnaryOp.Square],
    ['Sqrt', UnaryOp.Sqrt],
    ['Sigmoid', UnaryOp.Sigmoid],
  ];
  for (const [name, op] of unaryOps) {
    kernels.set(
      name,
      withFallback(({ inputs, backend, attrs }) => {
        const { x } = inputs;
        if (!isF32(backend, x)) return null;
        const y = output(backend, [...x.shape]);
        addon.unary(
          op,
          values(backend, x),
          y.data,
          op === UnaryOp.Step ? ((attrs.alpha as number | undefined) ?? 0) : 0,
        );
        return y.info;
      }),
    );
  }
}

const RELU_GRAD = 'LvsegReluGrad';

/**
 * tfjs's Relu gradient is mul(dy, step(x)): two passes and a temporary over every activation. On
 * onednn it becomes one native pass; other backends keep tfjs's formula (the gradient registry is
 * global, so this gradient checks the backend each time).
 */
export function registerReluGradient(addon: NativeAddon): void {
  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName: ONEDNN_BACKEND,
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as MathBackendCPU;
      const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
      const out = output(cpu, [...x.shape]);
      addon.binary(BinaryOp.ReluGrad, values(cpu, dy), values(cpu, x), out.data, false, false);
      countNativeRun(RELU_GRAD);
      return out.info;
    },
  });
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const grad = dy as tf.Tensor;
      const native =
        tf.getBackend() === ONEDNN_BACKEND &&
        x.dtype === 'float32' &&
        grad.dtype === 'float32' &&
        util.arraysEqual(x.shape, grad.shape);
      return {
        x: () =>
          native
            ? (tf.engine().runKernel(RELU_GRAD, { dy: grad, x }) as tf.Tensor)
            : tf.mul(grad, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
}
