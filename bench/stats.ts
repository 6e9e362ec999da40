/** Helpers shared by the bench modules (not a benchmark itself: main.ts lists those). */
import type * as tf from '@tensorflow/tfjs-core';

type ProfiledKernels = Awaited<ReturnType<typeof tf.profile>>['kernels'];

/** The median: other processes share the cores, and one descheduled step should not move the result. */
export function median(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds and calls per kernel name in a tf.profile result (nested kernels included). */
export function kernelTotals(kernels: ProfiledKernels): Map<string, { ms: number; calls: number }> {
  const totals = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const t = totals.get(k.name) ?? { ms: 0, calls: 0 };
    t.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    t.calls += 1;
    totals.set(k.name, t);
  }
  return totals;
}
