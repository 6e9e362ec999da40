/**
 * Augmentation throughput: images per second through the sunnybrook-unet preset's training transform
 * (augmentation of the 256×256 slice with the 128×128 ROI crop folded in, then normalisation), next to the
 * training step it feeds (`npm run bench -- train-step`: a U-Net+BN step of batch 4 at 128 is the
 * number to compare with; augmentation must not starve it). One line per transform and one for the chain.
 */
import type { Benchmark } from './main.js';
import { median } from './stats.js';
import { generatePhantom } from '../src/data/synthetic.js';
import { getPreset } from '../src/models/presets.js';
import { compose, rngAt, transformFromSpec, type Transform } from '../src/transforms/compose.js';
import { inputTransform, trainingTransform } from '../src/transforms/preprocess.js';

/**
 * Images per second of wall time and per second of this process's CPU time: on a shared machine the
 * second is what the transform costs (wall was 14x CPU with ~25 processes on 2 cores).
 */
function throughput(transform: Transform, count: number): { images_per_s: number; images_per_cpu_s: number } {
  const samples = Array.from({ length: 8 }, (_, i) => generatePhantom(i, 256));
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < count; i++) transform(samples[i % samples.length]!, rngAt(r, i));
    const used = process.cpuUsage(cpuStart);
    wall.push(count / (Number(process.hrtime.bigint() - start) / 1e9));
    cpu.push(count / ((used.user + used.system) / 1e6));
  }
  return { images_per_s: Math.round(median(wall)), images_per_cpu_s: Math.round(median(cpu)) };
}

export const benchmark: Benchmark = {
  name: 'transforms',
  async run(emit) {
    const recipe = getPreset('sunnybrook-unet').recipe!;
    const count = 40;
    for (const spec of recipe.augment!) {
      // p = 1 so each line times the transform itself, not how often it is skipped
      const always = { ...spec, ...('p' in spec ? { p: 1 } : {}) };
      emit({ bench: 'transforms', transform: spec.type, size: 256, ...throughput(transformFromSpec([always]), count) });
    }
    // the chain as training runs it, and as it ran before the crop was folded in (crop after all the augmentation)
    const chains: [string, Transform][] = [
      [
        'sunnybrook-unet chain (augment + ROI + normalise)',
        trainingTransform(recipe.augment!, recipe.preprocessing!, 'augment'),
      ],
      [
        'sunnybrook-unet chain, crop last',
        compose(transformFromSpec(recipe.augment!), inputTransform(recipe.preprocessing!)),
      ],
    ];
    for (const [transform, chain] of chains) {
      emit({ bench: 'transforms', transform, size: 256, ...throughput(chain, count) });
    }
  },
};
