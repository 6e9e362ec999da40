import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { evaluateModel, evaluationDocument, type EvaluationResult } from '../evaluation/evaluate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { writeSamplePanels } from '../reporting/samples.js';
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
    await writeFileAtomic(join(runDir, 'evaluation.json'), JSON.stringify(evaluationDocument(evaluation), null, 2));
    const dice = evaluation.perImage.map((r) => r.dice);
    // only the images that get a panel are predicted again, one at a time
    await writeSamplePanels(runDir, val, (i) => predictLabels(model, [val[i]!])[0]!, dice, SAMPLES_EACH);
  }
  return { evaluation, report: await writeRunReport(runDir) };
}
