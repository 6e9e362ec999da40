/**
 * The run directory: its layout and the typed contents of its files. Every layer that reads or writes
 * a run goes through here, so the layout is declared once. It imports only types from those layers.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { ModelSummary } from '../models/summary.js';
import type { RunConfig } from '../training/config.js';
import type { EpochLogs } from '../training/callbacks/types.js';
import type { EvaluationResult } from '../evaluation/evaluate.js';

/** The JSON files of a run, by what they hold. */
export const RUN_FILES = {
  /** The resolved configuration, versions, seed and backend: enough to resume, evaluate or report. */
  config: 'config.json',
  /** The Keras-style model summary. */
  summary: 'summary.json',
  /** Per-epoch logs, rewritten after every epoch. */
  history: 'history.json',
  /** The final model on the validation set. */
  evaluation: 'evaluation.json',
} as const;

/** The other parts of a run. */
export const RUN_PARTS = {
  report: 'report.html',
  /** The final model (TF.js layers format). */
  model: 'model',
  /** The model of the best epoch by val_dice, with best.json. */
  best: 'best',
  checkpoints: 'checkpoints',
  /** The display panel of every epoch: epoch-NNN.png. */
  panels: 'panels',
  /** The best and worst validation images of the final model. */
  samples: 'samples',
  /** TensorBoard event files: logs/train, logs/validation. */
  logs: 'logs',
} as const;

export type RunFile = keyof typeof RUN_FILES;
export type RunPart = keyof typeof RUN_PARTS;

/** `RUN/history.json`. */
export interface HistoryFile {
  epochs: (EpochLogs & { epoch: number })[];
}

/** The type of each JSON file of a run. */
export interface RunFileTypes {
  config: RunConfig;
  summary: ModelSummary;
  history: HistoryFile;
  evaluation: EvaluationResult;
}

/** The path of a file or folder of the run in `runDir`. */
export function runPath(runDir: string, part: RunFile | RunPart): string {
  return join(runDir, part in RUN_FILES ? RUN_FILES[part as RunFile] : RUN_PARTS[part as RunPart]);
}

/** Whether `dir` holds a run (its config.json or history.json). */
export function isRunDir(dir: string): boolean {
  return existsSync(runPath(dir, 'config')) || existsSync(runPath(dir, 'history'));
}

/** Shape checks of what is read back: a file another program wrote must not crash a reader later. */
const SHAPE_CHECKS: { [K in RunFile]: (value: unknown) => string | undefined } = {
  config: (v) => (isObject(v) ? undefined : 'expected a JSON object'),
  summary: (v) => (isObject(v) && Array.isArray(v.layers) ? undefined : "expected {layers: [...], totalParams, ...}"),
  history: (v) => (isObject(v) && Array.isArray(v.epochs) ? undefined : "field 'epochs' must be a list of per-epoch objects"),
  evaluation: (v) => (isObject(v) && isObject(v.metrics) && Array.isArray(v.perImage) ? undefined : 'expected {metrics: {...}, perImage: [...]}'),
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads one JSON file of a run, or undefined when the run has not written it. A file that is not
 * JSON, or not of the file's shape, is a CheckpointError naming it.
 */
export function readRunFile<K extends RunFile>(runDir: string, file: K): RunFileTypes[K] | undefined {
  const path = runPath(runDir, file);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${path} is not valid JSON (${(err as Error).message}); re-run the step that writes it or delete the file`, { cause: err });
  }
  const problem = SHAPE_CHECKS[file](value);
  if (problem) throw new CheckpointError(`${path}: ${problem}; is it a file lvseg wrote?`);
  return value as RunFileTypes[K];
}

/** Writes one JSON file of a run atomically. */
export async function writeRunFile<K extends RunFile>(runDir: string, file: K, value: RunFileTypes[K]): Promise<void> {
  await writeFileAtomic(runPath(runDir, file), JSON.stringify(value, null, 2));
}

/** The run's history, empty when it has none yet. */
export function readHistory(runDir: string): HistoryFile {
  return readRunFile(runDir, 'history') ?? { epochs: [] };
}

/** Fails unless `runDir` is a directory holding a run. */
export function checkRunDir(runDir: string): void {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) {
    throw new CheckpointError(`run directory ${runDir} not found; pass the folder that 'lvseg train --out' wrote`);
  }
  if (!isRunDir(runDir)) {
    throw new CheckpointError(`${runDir} has neither config.json nor history.json; is it a run directory written by 'lvseg train'?`);
  }
}
