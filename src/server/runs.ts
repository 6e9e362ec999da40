/**
 * The runs `lvseg serve` shows: the run directories directly under RUNS_DIR, read through readRun. A folder that
 * readRun rejects is listed as broken with the reason, never an error of the server.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { resolveModelJson } from '../inference/run-config.js';
import { isRunDir, RUN_PARTS, runPath } from '../runs/run-dir.js';
import { readRun, type RunRecord } from '../reporting/run.js';
import { dirInside } from './safe-path.js';

/** How recently a run must have written history.json or config.json to count as training now. */
const LIVE_MS = 120_000;

/** One run as the dashboard and its event stream see it. */
export interface RunView {
  name: string;
  status: 'training' | 'finished' | 'stopped' | 'broken';
  error?: string;
  config?: Record<string, unknown>;
  history: { epoch: number; [metric: string]: number }[];
  /** The epochs the run was asked for (config.json `epochs`). */
  epochs?: number;
  /** evaluation.json's metrics, when the run has been evaluated. */
  metrics?: Record<string, number | string | null>;
  /** A K-class run's evaluation per class (and the epicardium), from evaluation.json `classes`. */
  classes?: NonNullable<RunRecord['evaluation']>['classes'];
  /** `panels/epoch-NNN.png`, in epoch order. */
  panels: string[];
  /** URL of RUN/report.html, when there is one. */
  report?: string;
  /** URL of the model `lvseg predict RUN` would use (best/ before model/), when the run has one. */
  model?: string;
}

function subfolders(runsDir: string, prefix: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(runsDir, prefix));
  } catch {
    return [];
  }
  return entries
    .filter((name) => !name.startsWith('.') && dirInside(runsDir, join(runsDir, prefix, name)))
    .map((name) => (prefix ? `${prefix}/${name}` : name));
}

const looksLikeRun = isRunDir;

/**
 * The runs under `runsDir`: its folders, and one level further down inside a folder that is no run itself but
 * holds runs (a parameter search's `SEARCH/trial-NNN`, named `SEARCH/trial-NNN`). Hidden folders and folders
 * linking outside `runsDir` are skipped; a folder that is neither a run nor holds one is listed (as broken).
 */
export function listRunNames(runsDir: string): string[] {
  const names: string[] = [];
  for (const name of subfolders(runsDir, '')) {
    const inner = looksLikeRun(join(runsDir, name))
      ? []
      : subfolders(runsDir, name).filter((n) => looksLikeRun(join(runsDir, n)));
    names.push(...(inner.length > 0 ? inner : [name]));
  }
  return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** The run's model.json as `lvseg predict RUN` resolves it, relative to the run, URL-style; undefined without one. */
function modelOf(dir: string): string | undefined {
  try {
    return relative(dir, resolveModelJson(dir)).split(sep).map(encodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

/** A run's state for the dashboard; `name` must be one of listRunNames' (the caller checks). */
export function viewRun(runsDir: string, name: string): RunView {
  const dir = join(runsDir, name);
  const base = `/runs/${name.split('/').map(encodeURIComponent).join('/')}/`;
  let panels: string[] = [];
  try {
    panels = readdirSync(runPath(dir, 'panels'))
      .filter((f) => /^epoch-\d+\.png$/.test(f))
      .sort()
      .map((f) => `${RUN_PARTS.panels}/${f}`);
  } catch {
    // No panels yet.
  }
  try {
    const run = readRun(dir);
    const view: RunView = { name, status: 'stopped', history: run.history, panels };
    if (run.config) view.config = run.config as unknown as Record<string, unknown>;
    if (typeof run.config?.epochs === 'number') view.epochs = run.config.epochs;
    if (run.evaluation) view.metrics = run.evaluation.metrics as unknown as Record<string, number | string | null>;
    if (run.evaluation?.classes) view.classes = run.evaluation.classes;
    if (existsSync(runPath(dir, 'report'))) view.report = `${base}${RUN_PARTS.report}`;
    const model = modelOf(dir);
    if (model) view.model = `${base}${model}`;
    if (existsSync(join(runPath(dir, 'model'), 'model.json'))) {
      view.status = 'finished';
    } else if (Date.now() - Math.max(mtime(runPath(dir, 'history')), mtime(runPath(dir, 'config'))) < LIVE_MS) {
      view.status = 'training';
    }
    return view;
  } catch (err) {
    return { name, status: 'broken', error: (err as Error).message, history: [], panels };
  }
}

/** A cheap fingerprint of what a run's view depends on, so the event stream sends only changes. */
export function runFingerprint(runsDir: string, name: string): string {
  const dir = join(runsDir, name);
  return [
    runPath(dir, 'config'),
    runPath(dir, 'history'),
    runPath(dir, 'evaluation'),
    runPath(dir, 'panels'),
    join(runPath(dir, 'model'), 'model.json'),
    runPath(dir, 'report'),
  ]
    .map(mtime)
    .join(':');
}
