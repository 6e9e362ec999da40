import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { HistoryEpoch } from './charts.js';

/** `RUN/summary.json`: the Keras-style model summary. */
export interface ModelSummaryFile {
  layers: Array<{ name: string; type: string; outputShape: unknown; params: number }>;
  totalParams: number;
  trainableParams: number;
}

/** One image of `RUN/evaluation.json`'s perImage list (JSON writes NaN as null). */
export interface PerImageRecord {
  name: string;
  patient?: string;
  dice: number | null;
  iou?: number | null;
  hd95?: number | null;
  apd?: number | null;
  lvAreaPx?: number;
  [key: string]: unknown;
}

export interface EvaluationFile {
  metrics: Record<string, number | string | null>;
  perImage: PerImageRecord[];
}

export interface RunImage {
  /** File name inside the run directory, e.g. `samples/best-01-SC-HF-I-01-0048.png`. */
  file: string;
  png: Buffer;
}

/** Everything a report shows about one run directory; parts the run has not written are undefined. */
export interface RunRecord {
  dir: string;
  name: string;
  config?: Record<string, unknown>;
  history: HistoryEpoch[];
  summary?: ModelSummaryFile;
  evaluation?: EvaluationFile;
  samples: RunImage[];
  /** The display panel of the last epoch (`panels/epoch-NNN.png`). */
  lastPanel?: RunImage;
}

/**
 * evaluation.json as the report reads it. It holds every metric at the top level (what `lvseg evaluate
 * --json` prints); runs written before that hold `{metrics, perImage}`.
 */
function evaluationFile(json: Record<string, unknown> | undefined): EvaluationFile | undefined {
  if (!json || 'metrics' in json) return json as EvaluationFile | undefined;
  const metrics: Record<string, number | string | null> = {};
  for (const [k, v] of Object.entries(json)) if (v === null || typeof v === 'number' || typeof v === 'string') metrics[k] = v;
  return { metrics, perImage: json.perImage as PerImageRecord[] };
}

function readJson<T>(dir: string, file: string): T | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new CheckpointError(`${path} is not valid JSON (${(err as Error).message}); re-run the step that writes it or delete the file`, { cause: err });
  }
}

/**
 * Reads what a report needs from a run directory (config, history, summary, evaluation, sample and
 * panel PNGs). A run needs config.json or history.json; the other parts are optional.
 */
export function readRun(runDir: string): RunRecord {
  const dir = resolve(runDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CheckpointError(`run directory ${runDir} not found; pass the folder that 'lvseg train --out' wrote`);
  }
  const config = readJson<Record<string, unknown>>(dir, 'config.json');
  const historyFile = readJson<{ epochs?: unknown }>(dir, 'history.json');
  if (!config && !historyFile) {
    throw new CheckpointError(`${runDir} has neither config.json nor history.json; is it a run directory written by 'lvseg train'?`);
  }
  if (historyFile && !Array.isArray(historyFile.epochs)) {
    throw new CheckpointError(`${join(runDir, 'history.json')}: field 'epochs' must be a list of per-epoch objects`);
  }
  const history = ((historyFile?.epochs ?? []) as HistoryEpoch[]).map((e, i) => ({ ...e, epoch: Number.isFinite(e.epoch) ? e.epoch : i }));
  const evaluation = evaluationFile(readJson<Record<string, unknown>>(dir, 'evaluation.json'));
  if (evaluation && (typeof evaluation.metrics !== 'object' || !Array.isArray(evaluation.perImage))) {
    throw new CheckpointError(`${join(runDir, 'evaluation.json')}: expected the metrics (meanDice, …) and perImage: [...]`);
  }
  const pngNames = (sub: string): string[] => {
    const folder = join(dir, sub);
    if (!existsSync(folder)) return [];
    return readdirSync(folder).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  };
  const read = (sub: string, f: string): RunImage => ({ file: `${sub}/${f}`, png: readFileSync(join(dir, sub, f)) });
  // Only the last epoch's panel goes in the report, so the others are listed but never read.
  const lastPanelName = pngNames('panels').at(-1);
  const lastPanel = lastPanelName === undefined ? undefined : read('panels', lastPanelName);
  return {
    dir,
    name: typeof config?.name === 'string' ? config.name : basename(dir),
    config,
    history,
    summary: readJson<ModelSummaryFile>(dir, 'summary.json'),
    evaluation,
    samples: pngNames('samples').map((f) => read('samples', f)),
    lastPanel,
  };
}
