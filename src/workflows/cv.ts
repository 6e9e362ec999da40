/**
 * K-fold cross-validation by patient (nnU-Net's 5-fold CV): the training source's patients in K folds,
 * one training run per fold with that fold's patients as validation (no patient on both sides), the
 * per-fold and mean ± sd metrics, and the K models as one ensemble (OUT/ensemble, the mean softmax).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseScaling } from '../data/scaling.js';
import { openSource, readAllSamples } from '../data/source.js';
import { patientFolds } from '../data/split.js';
import { UsageError } from '../errors.js';
import type { EvaluationMetrics } from '../evaluation/evaluate.js';
import { detectOutputKind } from '../models/predict.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ENSEMBLE_FILE, type EnsembleFile } from '../models/ensemble.js';
import { loadLayersModel } from '../models/io.js';
import { toCsv } from '../reporting/csv.js';
import { writeReport } from '../reporting/report.js';
import { runPath } from '../runs/run-dir.js';
import { resolveTrainConfig, type TrainOptionName } from '../training/config.js';
import type { TrainJob, TrainJobResult } from './jobs.js';
import type { JobRunner } from './runners.js';
import { meanSd, openStudy, recordRun, runStudyJobs, studyRef } from './study.js';

/** A K-fold cross-validation by patient: the training options, the folds, where it writes and where folds run. */
export interface CvOptions {
  /** Training options (`train` is the source the folds split; `val` must not be set). */
  flags: Partial<Record<TrainOptionName, unknown>>;
  folds: number;
  out: string;
  resume?: boolean;
  runner: JobRunner;
  log?: (line: string) => void;
}

/** The metrics a CV reports per fold and as mean ± sd: the final model of each fold on its validation patients. */
export const CV_METRICS = [
  'dice',
  'meanDice',
  'iou',
  'precision',
  'recall',
  'hd95',
  'apd',
  'loss',
  'accuracy',
] as const satisfies readonly (keyof EvaluationMetrics)[];
export type CvMetric = (typeof CV_METRICS)[number];

/** One fold of a cross-validation: its validation patients, metrics and run. */
export interface FoldRecord {
  fold: number;
  name: string;
  status: 'done' | 'failed';
  valPatients: string[];
  trainSize: number | null;
  valSize: number | null;
  metrics: Partial<Record<CvMetric, number | null>>;
  host: string | null;
  runDir: string | null;
  /** The fold's run directory on this machine (the worker's, or the record of what it sent back). */
  dir: string | null;
  seconds: number | null;
  error?: string;
}

/** The folds' records, each metric's mean and sd over the folds, and the ensemble of their models. */
export interface CvResult {
  folds: FoldRecord[];
  summary: Record<CvMetric, { mean: number; sd: number }>;
  /** OUT/ensemble, when every fold's model is on this machine. */
  ensemble: string | null;
  files: string[];
}

interface CvStudy {
  flags: Partial<Record<TrainOptionName, unknown>>;
  folds: string[][];
}

/** Runs (or with `resume` continues) a K-fold cross-validation by patient and writes OUT/cv.json, cv.csv, report.html
 * and ensemble/. */
export async function runCrossValidation(options: CvOptions): Promise<CvResult> {
  const log = options.log ?? (() => {});
  const { out } = options;
  const { out: _ignored, ...flags } = options.flags;
  const base = resolveTrainConfig(flags);
  if (base.val !== null)
    throw new UsageError(
      'cv splits --train into folds by patient; drop --val (use lvseg evaluate on other data afterwards)',
    );
  // the folds are drawn once, from the data, and kept in study.json: a resumed CV has the same folds
  const study = await openStudy<CvStudy>(out, 'cv', options.resume ?? false, async () => {
    const samples = await readAllSamples(await openSource(base.train, { scale: parseScaling(base.scale) }));
    return { flags, folds: patientFolds(samples, options.folds, base.seed) };
  });
  const { folds } = study;
  const ref = studyRef(study, out);
  const studyBase = resolveTrainConfig(study.flags);
  log(
    `cv ${study.id}: ${folds.length} folds of ${folds.map((f) => f.length).join('/')} patients in ${out}, on ` +
      `${options.runner.description}`,
  );

  const jobs: TrainJob[] = folds.map((patients, i) => ({
    kind: 'train',
    study: ref,
    name: `fold-${i + 1}`,
    config: { ...studyBase, valPatients: patients },
  }));
  const records = new Map<string, FoldRecord>();
  await runStudyJobs(out, jobs, options.runner, async (job, outcome) => {
    const fold = Number(job.name.slice('fold-'.length));
    const valPatients = folds[fold - 1]!;
    if (!outcome.ok) {
      records.set(job.name, {
        fold,
        name: job.name,
        status: 'failed',
        valPatients,
        trainSize: null,
        valSize: null,
        metrics: {},
        host: null,
        runDir: null,
        dir: null,
        seconds: null,
        error: outcome.error,
      });
      log(`${job.name} failed: ${outcome.error}`);
      return;
    }
    const result = outcome.result as TrainJobResult;
    const dir = await recordRun(out, result);
    const m = result.evaluation ?? undefined;
    const metrics = Object.fromEntries(
      CV_METRICS.map((k) => [k, typeof m?.[k] === 'number' && Number.isFinite(m[k]) ? m[k] : null]),
    );
    records.set(job.name, {
      fold,
      name: job.name,
      status: 'done',
      valPatients,
      trainSize: result.config.trainSize,
      valSize: result.config.valSize,
      metrics,
      host: result.host,
      runDir: result.runDir,
      dir,
      seconds: result.seconds,
    });
    log(
      `${job.name} (validation ${valPatients.join(', ')}): Dice ${fmt(metrics.dice)} (${result.host}, ` +
        `${result.seconds.toFixed(1)} s)`,
    );
  });
  const foldRecords = [...records.values()].sort((a, b) => a.fold - b.fold);
  const done = foldRecords.filter((f) => f.status === 'done');
  const summary = Object.fromEntries(
    CV_METRICS.map((k) => [k, meanSd(done.map((f) => f.metrics[k] ?? NaN))]),
  ) as CvResult['summary'];
  const ensemble = await writeEnsemble(out, done, studyBase.scale, log);
  const files = [join(out, 'cv.json'), join(out, 'cv.csv')];
  await writeFileAtomic(files[0]!, JSON.stringify({ folds: foldRecords, summary, ensemble }, null, 2) + '\n');
  await writeFileAtomic(files[1]!, cvCsv(foldRecords, summary));
  const dirs = done.map((f) => f.dir).filter((d): d is string => d !== null);
  if (dirs.length > 0) files.push(await writeReport(dirs, runPath(out, 'report')));
  return { folds: foldRecords, summary, ensemble, files };
}

/**
 * OUT/ensemble/ensemble.json naming each fold's final model (RUN/model), when all are on this machine;
 * folds trained on other machines keep their models there (their host and path are in cv.json).
 */
async function writeEnsemble(
  out: string,
  folds: readonly FoldRecord[],
  scale: string,
  log: (line: string) => void,
): Promise<string | null> {
  const models = folds.map((f) =>
    f.runDir && existsSync(runPath(f.runDir, 'model')) ? runPath(f.runDir, 'model') : null,
  );
  if (folds.length === 0 || models.includes(null)) {
    if (folds.length > 0)
      log(
        `no ensemble: the models of ${folds
          .filter((_, i) => models[i] === null)
          .map((f) => `${f.name} (${f.host}:${f.runDir})`)
          .join(', ')} are on other machines`,
      );
    return null;
  }
  const dir = join(out, 'ensemble');
  mkdirSync(dir, { recursive: true });
  const members: EnsembleFile['members'] = [];
  // a coordinator whose folds ran elsewhere has not started a backend yet
  await tf.ready();
  for (const model of models as string[]) {
    // loaded once to record whether it outputs logits or probabilities
    const loaded = await loadLayersModel(model);
    members.push({ model: relative(dir, model), output: detectOutputKind(loaded) });
    loaded.dispose();
  }
  const file: EnsembleFile = {
    members,
    scale,
    description: `the ${folds.length} fold models of lvseg cv ${out}: the mean of their softmax`,
  };
  await writeFileAtomic(join(dir, ENSEMBLE_FILE), JSON.stringify(file, null, 2) + '\n');
  return dir;
}

function fmt(v: number | null | undefined, digits = 4): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

function cvCsv(folds: readonly FoldRecord[], summary: CvResult['summary']): string {
  const header = [
    'fold',
    'status',
    'valPatients',
    'trainSize',
    'valSize',
    ...CV_METRICS,
    'seconds',
    'host',
    'runDir',
    'error',
  ];
  const rows = folds.map((f) => [
    f.fold,
    f.status,
    f.valPatients.join(' '),
    f.trainSize,
    f.valSize,
    ...CV_METRICS.map((k) => f.metrics[k]),
    f.seconds,
    f.host,
    f.runDir,
    f.error,
  ]);
  rows.push(['mean', '', '', '', '', ...CV_METRICS.map((k) => summary[k].mean), '', '', '', '']);
  rows.push(['sd', '', '', '', '', ...CV_METRICS.map((k) => summary[k].sd), '', '', '', '']);
  return toCsv(header, rows);
}

/** The per-fold table with a mean ± sd row, as lvseg cv prints it. */
export function formatCvTable(result: Pick<CvResult, 'folds' | 'summary'>): string {
  const shown: CvMetric[] = ['dice', 'meanDice', 'iou', 'hd95', 'apd'];
  const header = ['fold', 'val patients', 'images', ...shown];
  const rows = result.folds.map((f) => [
    String(f.fold),
    f.valPatients.join(' '),
    f.valSize === null ? '-' : String(f.valSize),
    ...shown.map((k) => (f.status === 'failed' ? 'failed' : fmt(f.metrics[k]))),
  ]);
  rows.push([
    'mean ± sd',
    '',
    '',
    ...shown.map((k) => `${fmt(result.summary[k].mean)} ± ${fmt(result.summary[k].sd)}`),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
