import type { KernelFunc, NamedAttrMap, TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BufferPool } from '../buffer-pool.js';

/** What every kernel family of the onednn backend shares: buffer access, the output pool, the cpu fallback. */

export const ONEDNN_BACKEND = 'onednn';

/** Kernel outputs are recycled through this pool (see buffer-pool.ts); 256 MB of free buffers at most. */
export const pool = new BufferPool(256 << 20);

export function values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

export function isF32(backend: MathBackendCPU, ...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32' && backend.data.get(t.dataId).values instanceof Float32Array);
}

/**
 * Tokens for buffers whose values stay as they are, so the native convolution can reorder a filter into
 * oneDNN's layout once per token instead of on every call (the filters of a model at inference). A buffer
 * loses its token whenever something may write to it: the pool hands it out again (`output`), or an
 * optimizer updates a variable in place (`writtenInPlace`). TensorFlow.js itself never writes to a
 * tensor's values.
 */
const tokens = new WeakMap<Float32Array, number>();
let lastToken = 0;

export function valuesToken(values: Float32Array): number {
  let token = tokens.get(values);
  if (token === undefined) {
    token = ++lastToken;
    tokens.set(values, token);
  }
  return token;
}

/** `values` is about to be written in place: its token no longer stands for its contents. */
export function writtenInPlace(values: Float32Array): void {
  tokens.delete(values);
}

/** An output buffer from the pool, not cleared: every native kernel writes all of its output. */
export function output(backend: MathBackendCPU, shape: number[]): { info: TensorInfo; data: Float32Array } {
  const data = pool.take(util.sizeFromShape(shape));
  writtenInPlace(data);
  return { info: backend.makeTensorInfo(shape, 'float32', data), data };
}

export type NativeKernel = (args: {
  inputs: Record<string, TensorInfo>;
  backend: MathBackendCPU;
  attrs: NamedAttrMap;
}) => TensorInfo | null;

/** Makes the onednn kernel `name` from the cpu kernel it overrides. */
export type KernelFactory = (cpu: KernelFunc, name: string) => KernelFunc;

/** The onednn kernels that replace cpu kernels, by kernel name; each family adds its own. */
export type KernelTable = Map<string, KernelFactory>;

export type Shape4 = [number, number, number, number];
export type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
export type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** Marks every input buffer of a call to a cpu kernel as exposed: the kernel may return a view of it. */
export function exposingInputs(cpu: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    for (const t of Object.values(args.inputs)) if (t != null) pool.expose(backend.data.get(t.dataId)?.values);
    return cpu(args);
  };
}

const nativeRuns = new Map<string, number>();
const fallbacks = new Map<string, number>();

const bump = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

/** Counts a run of a kernel that has no cpu counterpart (LvsegReluGrad and the like): always native. */
export function countNativeRun(name: string): void {
  bump(nativeRuns, name);
}

/**
 * Wraps a native kernel that returns null for cases it does not handle, falling back to the cpu kernel;
 * both outcomes are counted under the kernel's name.
 */
export function withFallback(native: NativeKernel): KernelFactory {
  return (cpu, name) => {
    const fallback = exposingInputs(cpu);
    return (args) => {
      const result = native(args as unknown as Parameters<NativeKernel>[0]);
      if (result) {
        bump(nativeRuns, name);
        return result;
      }
      bump(fallbacks, name);
      return fallback(args);
    };
  };
}

export interface KernelCounts {
  /** Runs of each kernel that the addon computed. */
  native: Record<string, number>;
  /** Runs of each native kernel handed to the cpu kernel (a case the addon does not cover). */
  fallback: Record<string, number>;
}

/** How often each onednn kernel ran natively and fell back to cpu since the process started. */
export function onednnKernelCounts(): KernelCounts {
  return { native: Object.fromEntries(nativeRuns), fallback: Object.fromEntries(fallbacks) };
}

/** How often each native kernel handed a case to the cpu kernel since the process started (for profiles). */
export function onednnFallbackCounts(): Record<string, number> {
  return Object.fromEntries(fallbacks);
}
