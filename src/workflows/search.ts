/**
 * A parameter search: the trials of a search space, each an ordinary training run under OUT, run by a
 * JobRunner (this process, local worker processes or a Redis queue), optionally with successive
 * halving on the per-epoch validation Dice; the trials ranked in OUT/results.json, results.csv and
 * report.html.
 */
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { toCsv } from '../reporting/csv.js';
import { writeReport } from '../reporting/report.js';
import { runPath } from '../runs/run-dir.js';
import { resolveTrainConfig, type TrainConfig, type TrainOptionName } from '../training/config.js';
import type { EpochLogs } from '../training/callbacks/types.js';
import type { TrainJob, TrainJobResult } from './jobs.js';
import type { JobOutcome, JobRunner } from './runners.js';
import { sampleTrials, trialConfig, type SearchSpace, type TrialParams } from './space.js';
import { openStudy, recordRun, runStudyJobs, studyRef } from './study.js';

/** A parameter search: its space, the base training options, where it writes and where its trials run. */
export interface SearchOptions {
  space: SearchSpace;
  /** The space's file name, for messages. */
  source: string;
  /** Training options given on the command line: the base of every trial, over the space's `base`. */
  flags: Partial<Record<TrainOptionName, unknown>>;
  out: string;
  /** How many trials (overrides the space's `trials`). */
  trials?: number;
  /** Continue the search in `out`: finished trials are kept, never run again. */
  resume?: boolean;
  runner: JobRunner;
  log?: (line: string) => void;
}

/** The metrics of a trial in results.json and results.csv. */
export interface TrialMetrics {
  /** The final model on the validation set (RUN/evaluation.json): the lab's Dice ranks the trials. */
  dice: number | null;
  meanDice: number | null;
  iou: number | null;
  hd95: number | null;
  /** The best per-epoch val_dice and its epoch (1-based). */
  bestValDice: number | null;
  bestEpoch: number | null;
  epochs: number;
  seconds: number | null;
}

/** One trial of a search as results.json records it: its parameters, metrics, rank and where its run is. */
export interface TrialRecord {
  trial: number;
  name: string;
  status: 'done' | 'failed' | 'pruned';
  rank: number | null;
  /** The values this trial took for the space's parameters. */
  params: TrialParams;
  /** The trial's training options (its model spec, when it has one, is in RUN/config.json). */
  config: Omit<TrainConfig, 'modelSpecContent'>;
  metrics: TrialMetrics;
  /** Where the run (and its model) is: the worker's host and path. */
  host: string | null;
  runDir: string | null;
  /** The run directory on this machine: the worker's, or OUT/<name> holding what the worker sent back. */
  dir: string | null;
  error?: string;
}

interface SearchStudy {
  space: SearchSpace;
  flags: Partial<Record<TrainOptionName, unknown>>;
  trials: { trial: number; name: string; params: TrialParams }[];
}

/** Runs (or, with `resume`, continues) a search and writes its results; returns them ranked. */
export async function runSearch(options: SearchOptions): Promise<{ results: TrialRecord[]; files: string[] }> {
  const log = options.log ?? (() => {});
  const { out } = options;
  const study = await openStudy<SearchStudy>(out, 'search', options.resume ?? false, () => ({
    space: options.space,
    flags: options.flags,
    trials: sampleTrials(options.space, options.trials).map((params, i) => ({
      trial: i + 1,
      name: `trial-${String(i + 1).padStart(3, '0')}`,
      params,
    })),
  }));
  // a resumed search keeps its own space, flags and trials: the same trials under the same names
  const { space, flags } = study;
  const { out: _ignored, ...trialFlags } = flags;
  const base = resolveTrainConfig(trialFlags, space.base, options.source);
  if (space.halving && Object.keys(space.params).includes('epochs'))
    throw new UsageError(
      `${options.source}: successive halving sets each trial's epochs; do not search over 'epochs' too`,
    );
  const configs = study.trials.map((t) => trialConfig(base, t.params, `${options.source} ${t.name}`));
  const ref = studyRef(study, out);
  log(`search ${study.id}: ${study.trials.length} trials in ${out}, on ${options.runner.description}`);

  const records = new Map<string, TrialRecord>();
  const histories = new Map<string, EpochLogs[]>();
  const recordOutcome = async (job: TrainJob, outcome: JobOutcome, status: TrialRecord['status']): Promise<void> => {
    const t = study.trials.find((x) => x.name === job.name)!;
    const { modelSpecContent: _spec, ...config } = job.config;
    if (!outcome.ok) {
      records.set(job.name, {
        trial: t.trial,
        name: t.name,
        status: 'failed',
        rank: null,
        params: t.params,
        config,
        metrics: emptyMetrics(job.config.epochs),
        host: null,
        runDir: null,
        dir: null,
        error: outcome.error,
      });
      log(`${job.name} failed: ${outcome.error}`);
      return;
    }
    const result = outcome.result as TrainJobResult;
    const dir = await recordRun(out, result);
    histories.set(job.name, result.history);
    records.set(job.name, {
      trial: t.trial,
      name: t.name,
      status,
      rank: null,
      params: t.params,
      config,
      metrics: trialMetrics(result),
      host: result.host,
      runDir: result.runDir,
      dir,
    });
    log(
      `${job.name} ${describeParams(t.params)}: val Dice ${fmt(result.evaluation?.dice)} after ` +
        `${result.history.length} epochs (${result.host}, ${result.seconds.toFixed(1)} s)`,
    );
  };

  const jobOf = (i: number, epochs?: number): TrainJob => ({
    kind: 'train',
    study: ref,
    name: study.trials[i]!.name,
    config: epochs === undefined ? configs[i]! : { ...configs[i]!, epochs },
  });
  const all = study.trials.map((_, i) => i);
  if (!space.halving) {
    await runStudyJobs(
      out,
      all.map((i) => jobOf(i)),
      options.runner,
      (job, outcome) => recordOutcome(job as TrainJob, outcome, 'done'),
    );
  } else {
    let alive = all;
    const rungs = halvingRungs(base.epochs, space.halving.minEpochs, space.halving.eta);
    for (const [r, epochs] of rungs.entries()) {
      const last = r === rungs.length - 1;
      await runStudyJobs(
        out,
        alive.map((i) => jobOf(i, epochs)),
        options.runner,
        (job, outcome) => recordOutcome(job as TrainJob, outcome, last ? 'done' : 'pruned'),
      );
      if (last) break;
      const ranked = alive
        .filter((i) => records.get(study.trials[i]!.name)?.status !== 'failed')
        .sort((a, b) => rungScore(records, study.trials[b]!.name) - rungScore(records, study.trials[a]!.name));
      alive = ranked.slice(0, Math.max(1, Math.ceil(ranked.length / space.halving.eta)));
      log(
        `halving: after ${epochs} epoch(s) ${alive.length} of ${ranked.length} trials go on to ${rungs[r + 1]} epochs`,
      );
    }
  }
  const results = rankTrials([...records.values()]);
  const files = await writeSearchResults(out, results);
  return { results, files };
}

/** The epochs of each rung: minEpochs, minEpochs·eta, … below maxEpochs, then maxEpochs. */
export function halvingRungs(maxEpochs: number, minEpochs: number, eta: number): number[] {
  const rungs: number[] = [];
  for (let e = minEpochs; e < maxEpochs; e *= eta) rungs.push(e);
  rungs.push(maxEpochs);
  return rungs;
}

function rungScore(records: Map<string, TrialRecord>, name: string): number {
  return records.get(name)?.metrics.bestValDice ?? -Infinity;
}

function emptyMetrics(epochs: number): TrialMetrics {
  return {
    dice: null,
    meanDice: null,
    iou: null,
    hd95: null,
    bestValDice: null,
    bestEpoch: null,
    epochs,
    seconds: null,
  };
}

const finite = (v: number | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function trialMetrics(result: TrainJobResult): TrialMetrics {
  const m = result.evaluation ?? undefined;
  let best: { v: number; epoch: number } | undefined;
  result.history.forEach((e, i) => {
    const v = e.val_dice;
    if (typeof v === 'number' && Number.isFinite(v) && (!best || v > best.v)) best = { v, epoch: i + 1 };
  });
  return {
    dice: finite(m?.dice),
    meanDice: finite(m?.meanDice),
    iou: finite(m?.iou),
    hd95: finite(m?.hd95),
    bestValDice: best?.v ?? null,
    bestEpoch: best?.epoch ?? null,
    epochs: result.history.length,
    seconds: result.seconds,
  };
}

/** The score that ranks trials: the final model's lab Dice, else the best val_dice. */
function score(r: TrialRecord): number {
  return r.metrics.dice ?? r.metrics.bestValDice ?? -Infinity;
}

/** Finished trials first (best score first), then pruned ones (by their last rung), then failed ones. */
export function rankTrials(records: TrialRecord[]): TrialRecord[] {
  const order = { done: 0, pruned: 1, failed: 2 } as const;
  const sorted = [...records].sort(
    (a, b) => order[a.status] - order[b.status] || score(b) - score(a) || a.trial - b.trial,
  );
  return sorted.map((r, i) => ({ ...r, rank: r.status === 'failed' ? null : i + 1 }));
}

function describeParams(params: TrialParams): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
}

function fmt(v: number | undefined | null): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '-';
}

const METRIC_COLUMNS: (keyof TrialMetrics)[] = [
  'dice',
  'meanDice',
  'iou',
  'hd95',
  'bestValDice',
  'bestEpoch',
  'epochs',
  'seconds',
];

/** The ranked trials as CSV: one row each, a column per searched parameter and per metric. */
export function resultsCsv(results: readonly TrialRecord[]): string {
  const paramNames = [...new Set(results.flatMap((r) => Object.keys(r.params)))];
  const header = ['rank', 'trial', 'status', ...paramNames, ...METRIC_COLUMNS, 'host', 'runDir', 'error'];
  const rows = results.map((r) => [
    r.rank,
    r.trial,
    r.status,
    ...paramNames.map((p) => r.params[p]),
    ...METRIC_COLUMNS.map((m) => r.metrics[m]),
    r.host,
    r.runDir,
    r.error,
  ]);
  return toCsv(header, rows);
}

/** The results table as lvseg search prints it. */
export function formatResultsTable(results: readonly TrialRecord[]): string {
  const paramNames = [...new Set(results.flatMap((r) => Object.keys(r.params)))];
  const rows = results.map((r) => [
    r.rank === null ? '-' : String(r.rank),
    r.name,
    r.status,
    ...paramNames.map((p) => (r.params[p] === undefined ? '' : JSON.stringify(r.params[p]))),
    fmt(r.metrics.dice),
    fmt(r.metrics.bestValDice),
    String(r.metrics.epochs),
    r.metrics.seconds === null ? '-' : r.metrics.seconds.toFixed(1),
  ]);
  const header = ['rank', 'trial', 'status', ...paramNames, 'dice', 'best val_dice', 'epochs run', 'seconds'];
  const widths = header.map((h, c) => Math.min(40, Math.max(h.length, ...rows.map((row) => row[c]!.length))));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (cell.length > widths[c]! ? `${cell.slice(0, widths[c]! - 1)}~` : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Writes OUT/results.json, results.csv and report.html (the trials' HTML comparison). */
async function writeSearchResults(out: string, results: TrialRecord[]): Promise<string[]> {
  const json = join(out, 'results.json');
  const csv = join(out, 'results.csv');
  await writeFileAtomic(json, JSON.stringify(results, null, 2) + '\n');
  await writeFileAtomic(csv, resultsCsv(results));
  const dirs = results.map((r) => r.dir).filter((d): d is string => d !== null);
  const files = [json, csv];
  // the study folder's report sits where a run's would
  if (dirs.length > 0) files.push(await writeReport(dirs, runPath(out, 'report')));
  return files;
}
