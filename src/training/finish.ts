import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { evaluateModel, type EvaluationResult } from '../evaluation/evaluate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { renderPanel } from '../reporting/panels.js';
import { writeRunReport } from '../reporting/report.js';
import { predictLabels } from './train.js';

/** How many of the best and of the worst validation images get a panel in RUN/samples/. */
const SAMPLES_EACH = 3;

/**
 * What a run writes after its last epoch: RUN/evaluation.json (the final model on the validation set,
 * as `lvseg evaluate` reports it), RUN/samples/ (panels of the best and worst validation images by
 * Dice) and RUN/report.html.
 */
export async function finishRun(runDir: string, model: tfl.LayersModel, val: readonly Sample[]): Promise<{ evaluation?: EvaluationResult; report: string }> {
  let evaluation: EvaluationResult | undefined;
  if (val.length > 0) {
    evaluation = await evaluateModel(model, val, { batchSize: 8 });
    await writeFileAtomic(join(runDir, 'evaluation.json'), JSON.stringify(evaluation, null, 2));
    await writeSamplePanels(runDir, model, val, evaluation);
  }
  return { evaluation, report: await writeRunReport(runDir) };
}

async function writeSamplePanels(runDir: string, model: tfl.LayersModel, val: readonly Sample[], evaluation: EvaluationResult): Promise<void> {
  const ranked = evaluation.perImage.map((r, i) => ({ r, i })).sort((a, b) => b.r.dice - a.r.dice);
  const best = ranked.slice(0, SAMPLES_EACH).map((x, k) => ({ ...x, file: `best-${String(k + 1).padStart(2, '0')}` }));
  const worst = ranked.slice(Math.max(SAMPLES_EACH, ranked.length - SAMPLES_EACH)).reverse().map((x, k) => ({ ...x, file: `worst-${String(k + 1).padStart(2, '0')}` }));
  const dir = join(runDir, 'samples');
  mkdirSync(dir, { recursive: true });
  for (const { r, i, file } of [...best, ...worst]) {
    const sample = val[i]!;
    const [prediction] = predictLabels(model, [sample]);
    const png = renderPanel(
      { image: sample.image, height: sample.height, width: sample.width, label: sample.label, prediction },
      { titles: true, contours: true, caption: `${sample.name}: Dice ${r.dice.toFixed(4)}` },
    );
    await writeFileAtomic(join(dir, `${file}-${sample.name.replace(/[^\w.-]+/g, '-')}.png`), png);
  }
}
