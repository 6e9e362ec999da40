import * as tf from '@tensorflow/tfjs-core';
import { getGradient, util } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { ReduceOp, type OpCode } from './contract.js';
import { ONEDNN_BACKEND, isF32, output, values, withFallback, type KernelTable, type NativeKernel } from './kernel.js';

/** Sum, Max and Mean over a leading or trailing block of axes, and Mean's gradient. */
export function reduceKernels(addon: NativeAddon, kernels: KernelTable): void {
  const reduce =
    (op: OpCode<typeof ReduceOp>, mean = false): NativeKernel =>
    ({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (!isF32(backend, x) || x.shape.length === 0 || util.sizeFromShape(x.shape) === 0) return null;
      const axes = [...util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape)];
      if (new Set(axes).size !== axes.length) return null;
      const reduced = x.shape.map((_, i) => axes.includes(i));
      const outShape =
        attrs.keepDims === true ? x.shape.map((d, i) => (reduced[i] ? 1 : d)) : x.shape.filter((_, i) => !reduced[i]);
      // Size-1 axes do not change the memory layout: what counts is whether the reduced axes of the rest
      // are a leading block (reduce rows, keep the innermost values) or a trailing one (reduce each row).
      const pattern = x.shape.map((d, i) => (d === 1 ? '' : reduced[i] ? 'r' : 'k')).join('');
      const trailing = /^k*r*$/.test(pattern);
      const leading = op === ReduceOp.Sum && /^r+k+$/.test(pattern);
      if (!trailing && !leading) return null;
      const out = output(backend, outShape);
      if (trailing) addon.reduceInner(op, values(backend, x), out.data);
      else addon.sumLeading(values(backend, x), out.data);
      if (mean) {
        const scale = util.sizeFromShape(out.info.shape) / util.sizeFromShape(x.shape);
        for (let i = 0; i < out.data.length; i++) out.data[i] *= scale;
      }
      return out.info;
    };
  kernels.set('Sum', withFallback(reduce(ReduceOp.Sum)));
  kernels.set('Max', withFallback(reduce(ReduceOp.Max)));
  // tfjs cpu's Mean is three JavaScript passes (a cast copy, a division, the sum), not the native Sum.
  kernels.set('Mean', withFallback(reduce(ReduceOp.Sum, true)));
}

/**
 * tfjs's Mean gradient multiplies by a full tensor of ones and divides; on onednn it is the scaled dy
 * broadcast by the native Tile. Other backends keep tfjs's (the registry is global, so the gradient
 * checks the backend when it runs).
 */
export function registerMeanGradient(): void {
  const tfjsMeanGrad = getGradient('Mean');
  if (!tfjsMeanGrad) return;
  tf.registerGradient({
    ...tfjsMeanGrad,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (tf.getBackend() !== ONEDNN_BACKEND || x.dtype !== 'float32') return tfjsMeanGrad.gradFunc(dy, saved, attrs);
      const axes = util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const reduceSize = util.sizeFromShape(axes.map((a) => x.shape[a]));
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      // dy / n first (small), then one broadcast: the same values as tfjs's (dy * 1) / n.
      return { x: () => tf.broadcastTo(tf.reshape(tf.div(dy as tf.Tensor, reduceSize), expanded), x.shape) };
    },
  });
}
