import type * as tfl from '@tensorflow/tfjs-layers';
import type { Sample } from '../data/sample.js';
import { evaluateModel, evaluationDocument, type EvaluationResult } from '../evaluation/evaluate.js';
import { segmentSamples, type SegmentSettings } from '../inference/segment.js';
import { writeSamplePanels } from '../reporting/samples.js';
import { writeRunReport } from '../reporting/report.js';
import { writeRunFile } from '../runs/run-dir.js';
import type { LossFn } from '../losses/losses.js';
import { predictLabels } from '../training/train.js';

/** How many of the best and of the worst validation images get a panel in RUN/samples/. */
const SAMPLES_EACH = 3;

export interface FinishOptions {
  /** The run's training loss and batch size: evaluation.json's loss and lab Dice are then its val_loss and val_dice
   * computed again. */
  loss: LossFn;
  batchSize: number;
  /** The model's inference pipeline, where it has one. */
  segment?: SegmentSettings;
  /** The model's class names (default ['background', 'lv']). */
  classes?: readonly string[];
}

/**
 * What a run writes after its last epoch: RUN/evaluation.json (the final model on the validation set,
 * as `lvseg evaluate` reports it), RUN/samples/ (panels of the best and worst validation images by
 * Dice) and RUN/report.html. With `segment`, the model is measured through that inference pipeline
 * (the full-size validation images, TTA and post-processing), as `lvseg evaluate` measures it; without,
 * evaluation.json's loss and lab Dice equal the last epoch's val_loss and val_dice.
 */
export async function finishRun(
  runDir: string,
  model: tfl.LayersModel,
  val: readonly Sample[],
  { loss, batchSize, segment, classes }: FinishOptions,
): Promise<{ evaluation?: EvaluationResult; report: string }> {
  let evaluation: EvaluationResult | undefined;
  if (val.length > 0) {
    evaluation = await evaluateModel(model, val, {
      batchSize,
      loss,
      ...(segment ? { segment } : {}),
      ...(classes ? { classes } : {}),
    });
    await writeRunFile(runDir, 'evaluation', evaluationDocument(evaluation));
    const dice = evaluation.perImage.map((r) => r.dice);
    // only the images that get a panel are predicted again, one at a time
    const predict = async (i: number): Promise<Uint8Array> =>
      segment
        ? (await segmentSamples(model, [val[i]!], segment))[0]!.mask
        : (await predictLabels(model, [val[i]!]))[0]!;
    await writeSamplePanels(runDir, val, predict, dice, SAMPLES_EACH);
  }
  return { evaluation, report: await writeRunReport(runDir) };
}
