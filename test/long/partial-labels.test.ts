import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { createOptimizer } from '../../src/backends/optimizers.js';
import { LV_MYO_CLASSES } from '../../src/data/classes.js';
import type { Sample } from '../../src/data/sample.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { evaluateModel } from '../../src/evaluation/evaluate.js';
import { buildModel } from '../../src/models/build.js';
import { getLoss } from '../../src/losses/losses.js';
import { withSeededRandom } from '../../src/training/seed.js';
import { fitModel } from '../../src/training/train.js';

// Issue 25, item 2: a slice whose label marks the blood pool only must not teach "no myocardium". On
// three-class phantoms with the wall hidden (labelled background) on every other training slice, as the
// Sunnybrook sets have an epicardial mask on about half their slices, the partial-label losses (background
// and myocardium merged in the CE, the wall out of the Dice on those slices) are compared with treating
// the hidden wall as background. The numbers go to docs/training.md.
await selectBackend('auto');

const phantom = (seed: number): Sample => {
  const s = generatePhantom(seed, 64, { classes: 3 });
  return { ...s, image: s.image.map((v) => v / 255) };
};

async function trainAndScore(
  train: Sample[],
  val: Sample[],
): Promise<{ lv: number; myocardium: number; epicardium: number }> {
  const model = withSeededRandom(7, () =>
    buildModel('unet-small', { inputSize: 64, classes: 3, batchNorm: true, batchNormMomentum: 0.9 }),
  );
  await fitModel({
    model,
    optimizer: createOptimizer('adam', 0.003),
    train,
    val: [],
    epochs: 12,
    batchSize: 4,
    stepsPerEpoch: Math.ceil(train.length / 4),
    shuffleBuffer: train.length,
    seed: 7,
    loss: getLoss('ce+image-dice'),
    metrics: [],
    learningRate: 0.003,
    classes: 3,
  });
  const r = await evaluateModel(model, val, { classes: LV_MYO_CLASSES });
  model.dispose();
  return {
    lv: r.classes!.lv!.meanDice,
    myocardium: r.classes!.myocardium!.meanDice,
    epicardium: r.classes!.epicardium!.meanDice,
  };
}

describe('partial labels on phantoms', () => {
  it('merging background and the unmarked wall learns the wall no worse than calling it background', async () => {
    const full = Array.from({ length: 64 }, (_, i) => phantom(i));
    const hidden = (s: Sample): Sample => ({
      ...s,
      label: s.label.map((v) => (v === 2 ? 0 : v)),
      labelledClasses: [0, 1],
    });
    const partial = full.map((s, i) => (i % 2 === 1 ? hidden(s) : s));
    const naive = partial.map(({ labelledClasses: _, ...s }) => s);
    const val = Array.from({ length: 24 }, (_, i) => phantom(1000 + i));
    const merged = await trainAndScore(partial, val);
    const asBackground = await trainAndScore(naive, val);
    console.log(
      `partial labels: merged ${JSON.stringify(merged)}; hidden wall as background ${JSON.stringify(asBackground)}`,
    );
    // measured: 0.896 against 0.893 (docs/training.md): within noise on phantoms, so this holds "no worse"
    expect(merged.myocardium).toBeGreaterThan(asBackground.myocardium - 0.01);
    expect(merged.myocardium).toBeGreaterThan(0.8);
    expect(merged.lv).toBeGreaterThan(0.9);
  });
});
