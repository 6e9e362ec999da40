/**
 * The unit of work that searches, cross-validations and batch inference hand to workers: a job is
 * plain JSON (it travels over IPC or a Redis queue), and so is its result, which carries everything
 * the coordinator's table needs (config, history, evaluation) so no disk has to be shared.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { evaluationDocument, type EvaluationDocument } from '../evaluation/evaluate.js';
import { isRunDir, readHistory, readRunFile, runPath } from '../runs/run-dir.js';
import type { EpochLogs } from '../training/callbacks/types.js';
import type { RunConfig, TrainConfig } from '../training/config.js';
import { parsePixelSpacing } from '../data/spacing.js';
import { predictInputs } from '../inference/predict-inputs.js';
import { predictedImageToJson, predictImages, type PredictedImageJson } from '../inference/predicted-image.js';
import { loadModel, type InferenceOptions } from './api.js';
import { readRunConfig, runTraining } from './train-run.js';

/** The study file at the top of a search or CV folder; a worker that sees it (same id) writes there. */
export const STUDY_FILE = 'study.json';

/** Train one configuration: a search trial or a CV fold. */
export interface TrainJob {
  kind: 'train';
  /** The study (search or CV) the job belongs to: its id, and its folder on the coordinator. */
  study: { id: string; out: string };
  /** The run's name inside the study folder, like `trial-003` or `fold-2`. */
  name: string;
  config: TrainConfig;
}

/** Segment inputs with a model (one shard of a batch `lvseg predict`). */
export interface PredictJob {
  kind: 'predict';
  study: { id: string; out: string };
  name: string;
  model: string;
  inputs: string[];
  options: InferenceOptions;
}

export type Job = TrainJob | PredictJob;

/**
 * A job's key: the same job of the same study has the same key however often its coordinator
 * restarts (its id on the queue, its file in the study's journal). A training job's key includes its
 * epochs: successive halving continues a trial as a new job.
 */
export function jobKey(job: Job): string {
  const epochs = job.kind === 'train' ? `-e${job.config.epochs}` : '';
  return `${job.study.id}-${job.name}${epochs}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export interface TrainJobResult {
  kind: 'train';
  name: string;
  /** Where the run directory is: the worker's host and its absolute path there. */
  host: string;
  runDir: string;
  /** Whether runDir is the coordinator's own study folder (a shared or local disk). */
  shared: boolean;
  config: RunConfig;
  history: EpochLogs[];
  evaluation: EvaluationDocument | null;
  /** Seconds the job took on the worker. */
  seconds: number;
}

export interface PredictJobResult {
  kind: 'predict';
  name: string;
  host: string;
  /** The compute backend the worker ran the model on. */
  backend: string;
  /** What predict writes per image, the masks and label maps included. */
  images: PredictedImageJson[];
  seconds: number;
}

export type JobResult = TrainJobResult | PredictJobResult;

export interface WorkerPlace {
  /** Where a worker keeps the runs of studies whose folder it cannot see (default runs/worker). */
  out?: string;
  /** Write into the study folder when it is visible here (default); false: always under `out`. */
  useStudyFolder?: boolean;
  /** Progress lines of the training (default: none). */
  log?: (line: string) => void;
}

/** Whether the study folder named in a job is on this machine's disk (shared, or the coordinator's own). */
export function seesStudyFolder(study: TrainJob['study']): boolean {
  const file = join(study.out, STUDY_FILE);
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { id?: string }).id === study.id;
  } catch {
    return false;
  }
}

/**
 * The recorded result of the run in `runDir` when it is complete (its report written) at `epochs` epochs,
 * else undefined.
 */
function finishedRun(
  runDir: string,
  epochs: number,
): Pick<TrainJobResult, 'config' | 'history' | 'evaluation'> | undefined {
  if (!isRunDir(runDir) || !existsSync(runPath(runDir, 'report'))) return undefined;
  const config = readRunFile<'config', RunConfig>(runDir, 'config');
  const history = readHistory(runDir).epochs;
  if (!config || config.epochs !== epochs || history.length !== epochs) return undefined;
  return { config, history, evaluation: readRunFile<'evaluation', EvaluationDocument>(runDir, 'evaluation') ?? null };
}

/**
 * Runs a job. A training job whose run directory already holds a run (an earlier attempt that was
 * killed, or a halving trial trained for fewer epochs) continues it from its last checkpoint, which
 * gives the same weights as an uninterrupted run.
 */
export async function runJob(job: Job, place: WorkerPlace = {}): Promise<JobResult> {
  const started = Date.now();
  if (job.kind === 'predict') {
    const loaded = await loadModel(job.model, job.options);
    const images: PredictedImageJson[] = [];
    try {
      const spacing = job.options.spacing ? parsePixelSpacing(job.options.spacing) : undefined;
      const predicted = predictImages(loaded.model, predictInputs(job.inputs, loaded.scale), {
        ...(loaded.segment ? { segment: loaded.segment } : {}),
        classes: loaded.classes,
        ...(spacing ? { spacing } : {}),
      });
      for await (const image of predicted) images.push(predictedImageToJson(image));
    } finally {
      loaded.model.dispose();
    }
    return {
      kind: 'predict',
      name: job.name,
      host: hostname(),
      backend: loaded.backend,
      images,
      seconds: (Date.now() - started) / 1000,
    };
  }
  const shared = place.useStudyFolder !== false && seesStudyFolder(job.study);
  const runDir = resolve(
    shared ? join(job.study.out, job.name) : join(place.out ?? join('runs', 'worker'), job.study.id, job.name),
  );
  const progress = { stream: { write: (text: string) => place.log?.(`${job.name}: ${text.trimEnd()}`) }, bar: false };
  const options = { progress, warn: (line: string) => place.log?.(`${job.name}: ${line}`) };
  const finished = finishedRun(runDir, job.config.epochs);
  if (finished) {
    // run again after its result was lost (Redis went away before the coordinator took it): the run is complete
    place.log?.(`${job.name}: already trained to epoch ${job.config.epochs} in ${runDir}; sending its result again`);
    return {
      kind: 'train',
      name: job.name,
      host: hostname(),
      runDir,
      shared,
      ...finished,
      seconds: (Date.now() - started) / 1000,
    };
  }
  const result =
    isRunDir(runDir) && readRunFile(runDir, 'config') !== undefined
      ? await runTraining({ ...readRunConfig(runDir), epochs: job.config.epochs }, runDir, options)
      : await runTraining({ ...job.config, out: runDir }, undefined, options);
  result.model.dispose();
  return {
    kind: 'train',
    name: job.name,
    host: hostname(),
    runDir,
    shared,
    config: result.config,
    history: result.history,
    evaluation: result.evaluation ? evaluationDocument(result.evaluation) : null,
    seconds: (Date.now() - started) / 1000,
  };
}
