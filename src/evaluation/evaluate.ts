/**
 * Evaluation of a segmentation model on labelled samples: the lab's loss, accuracy and Dice, the
 * per-image overlap and distance metrics of mask-metrics.ts and surface-distance.ts, and their
 * summaries per patient, per phase (ED/ES) and by the Sunnybrook challenge's protocol (summaries.ts).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { cardiacPhases, type CardiacPhase } from '../data/cardiac-phase.js';
import type { Sample } from '../data/sample.js';
import { DataError } from '../errors.js';
import { mean } from '../imaging/statistics.js';
import {
  accuracyFromCounts,
  addCounts,
  argmaxLabels,
  confusionCounts,
  diceFromCounts,
  regionMask,
  iouFromCounts,
  precisionFromCounts,
  recallFromCounts,
  type ConfusionCounts,
} from '../imaging/mask-metrics.js';
import {
  challengeSummary,
  isGoodContour,
  perPatientSummaries,
  perPhaseSummaries,
  type ChallengeSummary,
  type GroupSummary,
  type PatientSummary,
} from './summaries.js';
import { averagePerpendicularDistance, hausdorff95 } from './surface-distance.js';
import { segmentSamples, type SegmentSettings } from '../inference/segment.js';
import { detectOutputKind, modelInputSize, predictScores, type OutputKind } from '../models/predict.js';
import { scoresLoss, sparseCrossEntropy, type LossFn } from '../losses/losses.js';
import { BINARY_CLASSES } from '../data/classes.js';
import {
  classRegions,
  scoreClasses,
  summarizeClasses,
  type ClassImageScore,
  type ClassSummary,
} from './class-metrics.js';

/** The mean metrics over a dataset: loss, accuracy, the lab's Dice, mean Dice, IoU, precision, recall, HD95, APD. */
export interface EvaluationMetrics {
  /**
   * The loss (the run's training loss; by default the lab's sparse softmax cross-entropy) per batch of
   * `batchSize`, averaged over the images: training's val_loss computation (losses/losses.ts scoresLoss).
   */
  loss: number;
  /** Correct pixels / all pixels, over the whole set. */
  accuracy: number;
  /** The lab's Dice: per batch, counts pooled over the batch with smooth 1; then the mean over batches (as Keras
   * evaluate averages a metric function). */
  dice: number;
  /** Mean of per-image Dice (smooth 0; 1 when prediction and label are both empty). */
  meanDice: number;
  iou: number;
  precision: number;
  recall: number;
  /** Mean per-image Hausdorff 95 over the images where both masks are non-empty (`distanceCount`). */
  hd95: number;
  /** Mean per-image Sunnybrook APD over the same images. */
  apd: number;
  /** The challenge's share of expert contours predicted with APD < 5 mm; NaN unless the unit is mm. */
  goodContourRate: number;
  /** Images evaluated. */
  count: number;
  /** Images whose hd95/apd entered the means: both masks non-empty, or both empty (distance 0). */
  distanceCount: number;
  /** Unit of hd95 and apd: mm when every image has a pixel spacing, else px. */
  unit: 'mm' | 'px';
  /** Batch size of the lab Dice (it depends on it). */
  batchSize: number;
}

export interface PerImageResult {
  name: string;
  patient: string;
  dice: number;
  iou: number;
  precision: number;
  recall: number;
  accuracy: number;
  /** NaN when exactly one of prediction and label is empty. */
  hd95: number;
  apd: number;
  /** Predicted LV area in pixels. */
  lvAreaPx: number;
  /** Labelled LV area in pixels. */
  labelAreaPx: number;
  /** Predicted LV area in mm², where the spacing is known. */
  lvAreaMm2?: number;
  /** End-diastole or end-systole, for Sunnybrook cine names (data/cardiac-phase.ts). */
  phase?: CardiacPhase;
  /** Whether the predicted contour is good by the challenge's rule (APD < 5 mm); set where the unit is mm and the
   * expert drew a contour. */
  goodContour?: boolean;
  /** K > 2 classes: each class's (and the epicardium's) scores, where the label marks it. */
  classes?: Record<string, ClassImageScore>;
}

/** An evaluation: the mean metrics, the challenge protocol, per image, per patient and per phase. */
export interface EvaluationResult {
  metrics: EvaluationMetrics;
  /** The Sunnybrook challenge's protocol over the whole set. */
  challenge: ChallengeSummary;
  /** ED and ES, where the sample names give the cine phase. */
  perPhase: Partial<Record<CardiacPhase, GroupSummary>>;
  perPatient: PatientSummary[];
  perImage: PerImageResult[];
  /** K > 2 classes: per class (and the epicardium), keyed by name; the top-level metrics are the blood pool's (`lv`).
   * */
  classes?: Record<string, ClassSummary>;
}

/** How evaluateModel runs: batch size, the loss to report, output kind and the inference pipeline. */
export interface EvaluateOptions {
  /** Images per forward pass, per loss and per lab-Dice batch (default 8). */
  batchSize?: number;
  /** The loss to report (default: the lab's sparse softmax cross-entropy); a run passes its training loss. */
  loss?: LossFn;
  /** Override the detection of logits vs probabilities from the model's last layer. */
  outputs?: OutputKind;
  /**
   * Predict through the inference pipeline of segment.ts (preprocessing, TTA, post-processing; images of
   * any size), as `lvseg predict` does for a model with an lvseg.json. Without it, the model's raw argmax.
   */
  segment?: SegmentSettings;
  /**
   * The model's class names, background first (default ['background', 'lv']). With more than two, the
   * top-level metrics score class `lv` (else 1) alone and `classes` scores each class.
   */
  classes?: readonly string[];
}

/**
 * Per-image results for one prediction against its sample's label; distances in mm when the sample has a
 * spacing. `counts` lets evaluateModel pass the confusion counts it already has for its totals.
 */
export function scoreImage(
  sample: Sample,
  prediction: Uint8Array,
  counts = confusionCounts(prediction, sample.label),
): PerImageResult {
  const { height, width, spacing } = sample;
  const lvAreaPx = counts.tp + counts.fp;
  const result: PerImageResult = {
    name: sample.name,
    patient: sample.patient,
    dice: diceFromCounts(counts, 0),
    iou: iouFromCounts(counts),
    precision: precisionFromCounts(counts),
    recall: recallFromCounts(counts),
    accuracy: accuracyFromCounts(counts),
    hd95: hausdorff95(prediction, sample.label, height, width, spacing),
    apd: averagePerpendicularDistance(prediction, sample.label, height, width, spacing),
    lvAreaPx,
    labelAreaPx: counts.tp + counts.fn,
  };
  if (spacing) result.lvAreaMm2 = lvAreaPx * spacing[0] * spacing[1];
  return result;
}

/**
 * Evaluates `model` on labelled samples, `batchSize` at a time, keeping memory flat (one batch of
 * tensors alive at a time). Images must match the model's input size where the model fixes one.
 */
export async function evaluateModel(
  model: tfl.LayersModel,
  samples: Iterable<Sample> | AsyncIterable<Sample>,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DataError(`evaluateModel: batchSize must be a positive integer, got ${batchSize}`);
  }
  const kind = options.outputs ?? detectOutputKind(model);
  const classNames = options.classes ?? BINARY_CLASSES;
  const multi = classNames.length > 2;
  const regions = multi ? classRegions(classNames) : [];
  const lv = Math.max(1, classNames.indexOf('lv'));
  const lossFn = options.loss ?? sparseCrossEntropy;
  const fixed = modelInputSize(model);
  const perImage: PerImageResult[] = [];
  const batchDice: number[] = [];
  let lossSum = 0;
  let totals: ConfusionCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let withSpacing = 0;
  // Pixel distances of images with a spacing, needed only if some other image lacks one (mixed units
  // cannot be averaged); a source normally knows the spacing of all its images or of none.
  const pixelDistances: { hd95: number; apd: number }[] = [];
  let batch: Sample[] = [];

  /** Masks of one batch, and the batch's loss. */
  const predictBatch = async (samples: Sample[]): Promise<{ predictions: Uint8Array[]; loss: number }> => {
    const { height, width } = samples[0]!;
    const pixels = height * width;
    const labels = samples.map((s) => s.label);
    const labelled = samples.map((s) => s.labelledClasses);
    if (options.segment && multi) {
      const segmented = await segmentSamples(model, samples, options.segment);
      const probabilities = new Float32Array(classNames.length * pixels * samples.length);
      segmented.forEach((s, i) => {
        probabilities.set(s.probabilities!, i * pixels * classNames.length);
      });
      return {
        predictions: segmented.map((s) => s.mask),
        loss: await scoresLoss(lossFn, probabilities, labels, height, width, 'probabilities', labelled),
      };
    }
    if (options.segment) {
      const segmented = await segmentSamples(model, samples, options.segment);
      const probabilities = new Float32Array(2 * pixels * samples.length);
      segmented.forEach(({ foreground }, i) => {
        for (let k = 0; k < pixels; k++) {
          probabilities[2 * (i * pixels + k)] = 1 - foreground[k]!;
          probabilities[2 * (i * pixels + k) + 1] = foreground[k]!;
        }
      });
      return {
        predictions: segmented.map((s) => s.mask),
        loss: await scoresLoss(lossFn, probabilities, labels, height, width, 'probabilities'),
      };
    }
    const { scores, classes } = await predictScores(
      model,
      samples.map((s) => s.image),
      height,
      width,
    );
    const masks = argmaxLabels(scores, pixels, classes);
    return {
      predictions: samples.map((_, i) => masks.subarray(i * pixels, (i + 1) * pixels)),
      loss: await scoresLoss(lossFn, scores, labels, height, width, kind, labelled),
    };
  };

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const { predictions, loss } = await predictBatch(batch);
    const wholePredictions = predictions.slice();
    lossSum += loss * batch.length;
    // One count per image serves its metrics, the set's totals and the batch's lab Dice.
    let batchCounts: ConfusionCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
    batch.forEach((whole, i) => {
      // with K classes the top level is the blood pool's: its own 0/1 masks
      const sample = multi ? { ...whole, label: regionMask(whole.label, [lv]) } : whole;
      if (multi) predictions[i] = regionMask(predictions[i]!, [lv]);
      const counts = confusionCounts(predictions[i]!, sample.label);
      totals = addCounts(totals, counts);
      batchCounts = addCounts(batchCounts, counts);
      perImage.push(scoreImage(sample, predictions[i]!, counts));
      if (multi) perImage[perImage.length - 1]!.classes = scoreClasses(whole, wholePredictions[i]!, regions);
      if (sample.spacing) {
        const r = perImage[perImage.length - 1]!;
        const [sr, sc] = sample.spacing;
        // Distances scale by the spacing when it is isotropic; otherwise measure again in pixels.
        pixelDistances[perImage.length - 1] =
          sr === sc
            ? { hd95: r.hd95 / sr, apd: r.apd / sr }
            : {
                hd95: hausdorff95(predictions[i]!, sample.label, sample.height, sample.width),
                apd: averagePerpendicularDistance(predictions[i]!, sample.label, sample.height, sample.width),
              };
      }
    });
    // labDice's definition: counts pooled over the batch, smooth 1.
    batchDice.push(diceFromCounts(batchCounts, 1));
    batch = [];
  };

  for await (const sample of samples) {
    const { height, width, name } = sample;
    if (
      !options.segment &&
      ((fixed.height !== null && fixed.height !== height) || (fixed.width !== null && fixed.width !== width))
    ) {
      throw new DataError(
        `${name}: image is ${height}×${width} but the model takes ${fixed.height}×${fixed.width}; ` +
          'evaluate on data of the training size (predict resizes, evaluate does not)',
      );
    }
    if (sample.image.length !== height * width || sample.label.length !== height * width) {
      throw new DataError(`${name}: image or label does not hold ${height}×${width} pixels`);
    }
    if (sample.spacing) withSpacing++;
    // A batch holds images of one size, for models that accept any size.
    if (batch.length > 0 && (batch[0]!.height !== height || batch[0]!.width !== width)) await flush();
    batch.push(sample);
    if (batch.length === batchSize) await flush();
  }
  await flush();

  if (perImage.length === 0) throw new DataError('evaluateModel: the data source yielded no samples');
  const unit = withSpacing === perImage.length ? 'mm' : 'px';
  if (unit === 'px' && withSpacing > 0) {
    perImage.forEach((r, i) => {
      const px = pixelDistances[i];
      if (px) Object.assign(r, px);
    });
  }
  const distances = perImage.filter((r) => Number.isFinite(r.hd95) && Number.isFinite(r.apd));
  const phases = cardiacPhases(perImage);
  for (const r of perImage) {
    const phase = phases.get(r.name);
    if (phase) r.phase = phase;
    if (unit === 'mm' && r.labelAreaPx > 0) r.goodContour = isGoodContour(r);
  }
  const challenge = challengeSummary(perImage, unit);
  return {
    metrics: {
      loss: lossSum / perImage.length,
      accuracy: accuracyFromCounts(totals),
      dice: mean(batchDice),
      meanDice: mean(perImage.map((r) => r.dice)),
      iou: mean(perImage.map((r) => r.iou)),
      precision: mean(perImage.map((r) => r.precision)),
      recall: mean(perImage.map((r) => r.recall)),
      hd95: mean(distances.map((r) => r.hd95)),
      apd: mean(distances.map((r) => r.apd)),
      goodContourRate: challenge.goodContourRate,
      count: perImage.length,
      distanceCount: distances.length,
      unit,
      batchSize,
    },
    challenge,
    perPhase: perPhaseSummaries(perImage, unit),
    perPatient: perPatientSummaries(perImage, unit),
    perImage,
    ...(multi ? { classes: summarizeClasses(perImage, regions, unit) } : {}),
  };
}

/** `lvseg evaluate --json` and RUN/evaluation.json: every metric at the top level, then the groups and images. */
export type EvaluationDocument = EvaluationMetrics & Omit<EvaluationResult, 'metrics'>;

/**
 * The one JSON document of an evaluation, as `lvseg evaluate --json` prints it and a run's
 * evaluation.json holds it: every metric at the top level (meanDice, apd and goodContourRate first),
 * then the challenge protocol, per phase, per patient and per image. NaN becomes null in JSON.
 */
export function evaluationDocument(result: EvaluationResult): EvaluationDocument {
  const { meanDice, apd, goodContourRate, ...rest } = result.metrics;
  return {
    meanDice,
    apd,
    goodContourRate,
    ...rest,
    ...(result.classes ? { classes: result.classes } : {}),
    challenge: result.challenge,
    perPhase: result.perPhase,
    perPatient: result.perPatient,
    perImage: result.perImage,
  };
}
