/** Per-image cost of the evaluation metrics on 256×256 masks: two overlapping discs, LV-sized. */
import type { Benchmark } from './main.js';
import { diceCoefficient } from '../src/imaging/mask-metrics.js';
import { extractContour } from '../src/imaging/contours.js';
import { averagePerpendicularDistance, hausdorff95 } from '../src/evaluation/surface-distance.js';

function disc(size: number, cx: number, cy: number, radius: number): Uint8Array {
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) m[y * size + x] = 1;
  return m;
}

function timeMs(repeats: number, fn: () => unknown): number {
  fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / repeats;
}

export const benchmark: Benchmark = {
  name: 'mask-metrics',
  async run(emit) {
    const size = 256;
    const pred = disc(size, 128, 120, 30);
    const label = disc(size, 124, 126, 28);
    const cases: [string, () => unknown][] = [
      ['dice', () => diceCoefficient(pred, label)],
      ['extractContour', () => extractContour(pred, size, size)],
      ['hausdorff95', () => hausdorff95(pred, label, size, size, [1.367, 1.367])],
      ['apd', () => averagePerpendicularDistance(pred, label, size, size, [1.367, 1.367])],
    ];
    for (const [metric, fn] of cases)
      emit({ bench: 'mask-metrics', metric, size, ms_per_image: +timeMs(20, fn).toFixed(3) });
  },
};
