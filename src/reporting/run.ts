import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { EvaluationDocument, EvaluationMetrics, PerImageResult } from '../evaluation/evaluate.js';
import type { ModelSummary } from '../models/summary.js';
import { checkRunDir, readHistory, readRunFile, runPath, type RunPart } from '../runs/run-dir.js';
import type { RunConfig } from '../training/config.js';
import type { HistoryEpoch } from './charts.js';

/** One image of `RUN/evaluation.json` as read back: JSON writes NaN as null. */
export type PerImageRecord = {
  [K in keyof PerImageResult]: PerImageResult[K] | (number extends PerImageResult[K] ? null : never);
};

export interface RunImage {
  /** File name inside the run directory, e.g. `samples/best-01-SC-HF-I-01-0048.png`. */
  file: string;
  png: Buffer;
}

/** Everything a report shows about one run directory; parts the run has not written are undefined. */
export interface RunRecord {
  dir: string;
  name: string;
  config?: RunConfig;
  history: HistoryEpoch[];
  summary?: ModelSummary;
  evaluation?: {
    metrics: EvaluationMetrics;
    perImage: PerImageRecord[];
    classes?: Record<
      string,
      {
        meanDice: number | null;
        apd: number | null;
        hd95: number | null;
        goodContourRate: number | null;
        count: number;
      }
    >;
  };
  samples: RunImage[];
  /** The display panel of the last epoch (`panels/epoch-NNN.png`). */
  lastPanel?: RunImage;
}

/**
 * Reads what a report needs from a run directory (config, history, summary, evaluation, sample and
 * panel PNGs). A run needs config.json or history.json; the other parts are optional.
 */
export function readRun(runDir: string): RunRecord {
  checkRunDir(runDir);
  const dir = resolve(runDir);
  const config = readRunFile<'config', RunConfig>(dir, 'config');
  const history = readHistory(dir).epochs.map((e, i) => ({ ...e, epoch: Number.isFinite(e.epoch) ? e.epoch : i }));
  const pngNames = (part: RunPart): string[] => {
    const folder = runPath(dir, part);
    if (!existsSync(folder)) return [];
    return readdirSync(folder)
      .filter((f) => f.toLowerCase().endsWith('.png'))
      .sort();
  };
  const read = (part: RunPart, f: string): RunImage => ({
    file: `${basename(runPath(dir, part))}/${f}`,
    png: readFileSync(join(runPath(dir, part), f)),
  });
  // Only the last epoch's panel goes in the report, so the others are listed but never read.
  const lastPanelName = pngNames('panels').at(-1);
  const lastPanel = lastPanelName === undefined ? undefined : read('panels', lastPanelName);
  return {
    dir,
    name: basename(dir),
    config,
    history,
    summary: readRunFile<'summary', ModelSummary>(dir, 'summary'),
    evaluation: reportMetrics(readRunFile<'evaluation', EvaluationDocument>(dir, 'evaluation')),
    samples: pngNames('samples').map((f) => read('samples', f)),
    lastPanel,
  };
}

/** The metrics of evaluation.json (its numbers and strings) apart from its per-image list. */
function reportMetrics(doc: EvaluationDocument | undefined): RunRecord['evaluation'] {
  if (!doc) return undefined;
  const metrics: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc))
    if (v === null || typeof v === 'number' || typeof v === 'string') metrics[k] = v;
  const classes = (doc as { classes?: NonNullable<RunRecord['evaluation']>['classes'] }).classes;
  return { metrics: metrics as unknown as EvaluationMetrics, perImage: doc.perImage, ...(classes ? { classes } : {}) };
}
