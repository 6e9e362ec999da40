/**
 * The models the segmentation page offers: the ones bundled with lvseg (`models/NAME/` in the package, with
 * their lvseg.json) and, under `lvseg serve`, every run's final model with the scaling from its config.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatScaling, parseScaling } from '../data/scaling.js';
import { checkModelMetadata, METADATA_FILE } from '../models/metadata.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { RunView } from './runs.js';

/** The folder of bundled models (lv-sunnybrook), each `NAME/model.json` + weights + lvseg.json. */
export const BUNDLED_MODELS_DIR = join(PACKAGE_ROOT, 'models');

/** An entry of the page's models.json. */
export interface ListedModel {
  id: string;
  label: string;
  url: string;
  scale?: string;
  description?: string;
}

/** The bundled models; `urlBase` is where their folders are served (`/models/` or `models/`). */
export function bundledModels(urlBase: string, dir = BUNDLED_MODELS_DIR): ListedModel[] {
  if (!existsSync(dir)) return [];
  const listed: ListedModel[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!existsSync(join(dir, name, 'model.json'))) continue;
    const entry: ListedModel = { id: `bundled:${name}`, label: name, url: `${urlBase}${encodeURIComponent(name)}/model.json` };
    const metaFile = join(dir, name, METADATA_FILE);
    if (existsSync(metaFile)) {
      const meta = checkModelMetadata(JSON.parse(readFileSync(metaFile, 'utf8')), metaFile);
      entry.scale = formatScaling(parseScaling(meta.scale));
    }
    listed.push(entry);
  }
  return listed;
}

/** Each finished run's model, with the scaling it was trained with. */
export function runModels(runs: readonly RunView[]): ListedModel[] {
  const listed: ListedModel[] = [];
  for (const run of runs) {
    if (!run.model) continue;
    const entry: ListedModel = { id: `run:${run.name}`, label: `${run.name} (run)`, url: run.model };
    const scale = run.config?.scale;
    if (typeof scale === 'number' || typeof scale === 'string') {
      try {
        entry.scale = formatScaling(parseScaling(scale));
      } catch {
        // A run with an unreadable scale is still offered; the page's scaling menu then decides.
      }
    }
    listed.push(entry);
  }
  return listed;
}
