/**
 * The models the segmentation page offers: the ones bundled with lvseg (`models/NAME/` in the package, with
 * their lvseg.json) and, under `lvseg serve`, every run's model. Each entry carries the scaling and the
 * inference pipeline `lvseg predict` would use for that model (resolveModelSettings, the CLI's own
 * resolution), so the page runs it exactly as the CLI does.
 */
import { join } from 'node:path';
import { formatScaling } from '../data/scaling.js';
import { resolveModelSettings } from '../inference/run-config.js';
import type { SegmentSettings } from '../inference/segment.js';
import { bundledModelNames, bundledModelsDir } from '../models/io.js';
import type { LabelConvention } from '../models/metadata.js';
import type { RunView } from './runs.js';

/** An entry of the page's models.json. */
export interface ListedModel {
  id: string;
  label: string;
  /** model.json, relative to the page or absolute on its own server. */
  url: string;
  scale?: string;
  /** The model's inference pipeline (preprocessing, test-time flips, post-processing), when it has one. */
  segment?: SegmentSettings;
  /** How the model's training masks were drawn: the page measures its volumes as `lvseg volumes` does. */
  labels?: LabelConvention;
  /** Class names by label value, background first (the model's lvseg.json; ['background', 'lv'] for a binary one). */
  classes?: readonly string[];
  /** Why the model's settings could not be read (the page then uses its scaling menu and no pipeline). */
  problem?: string;
}

/** `entry` with the scale and pipeline `lvseg predict MODEL` would use; `model` is a run, model folder or model.json.
 * */
function withSettings(entry: ListedModel, model: string): ListedModel {
  try {
    const { scale, segment, labels, classes } = resolveModelSettings(model);
    return { ...entry, scale: formatScaling(scale), ...(segment ? { segment } : {}), labels, classes };
  } catch (err) {
    // A model whose lvseg.json or config.json is unreadable is still offered, saying why.
    return { ...entry, problem: (err as Error).message };
  }
}

/**
 * The bundled models (`dir`: bundledModelsDir(), which honours LVSEG_MODELS_DIR as every command does); `urlBase`
 * is where their folders are served (`/models/` or `models/`).
 */
export function bundledModels(urlBase: string, dir = bundledModelsDir()): ListedModel[] {
  return bundledModelNames(dir).map((name) =>
    withSettings(
      { id: `bundled:${name}`, label: name, url: `${urlBase}${encodeURIComponent(name)}/model.json` },
      join(dir, name, 'model.json'),
    ),
  );
}

/** Each run's model (as `lvseg predict RUN` picks it) that a browser can load: a layers model.json, not an ensemble. */
export function runModels(runsDir: string, runs: readonly RunView[]): ListedModel[] {
  return runs
    .filter((run) => run.model?.endsWith('/model.json'))
    .map((run) =>
      withSettings({ id: `run:${run.name}`, label: `${run.name} (run)`, url: run.model! }, join(runsDir, run.name)),
    );
}
