/**
 * What evaluate and predict need from a run directory: the pixel scaling the model was trained with,
 * so that the same scaling is applied to new images without the original command line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import { parseScaling, type Scaling } from '../data/scaling.js';
import { ENSEMBLE_FILE } from '../models/ensemble.js';
import { resolveModelJson } from '../models/io.js';
import { RUN_PARTS, runPath } from '../runs/run-dir.js';

/**
 * The run directory's config.json for a model path: the run directory itself, or the run above a
 * `model.json` in `RUN/model/`, `RUN/best/` or `RUN/checkpoints/<name>/`. Undefined for a bare model.
 */
export function findRunConfig(modelPath: string): string | undefined {
  const candidates: string[] = [];
  if (existsSync(modelPath) && statSync(modelPath).isDirectory()) candidates.push(runPath(modelPath, 'config'));
  const modelFile = resolveModelJson(modelPath);
  // an ensemble records its members' scaling in its own file
  if (basename(modelFile) === ENSEMBLE_FILE) return modelFile;
  // Only the run layout's own folders lead up to a run: an unrelated config.json above a bare model is not one.
  const dir = dirname(resolve(modelFile));
  if (basename(dir) === RUN_PARTS.model || basename(dir) === RUN_PARTS.best) candidates.push(runPath(join(dir, '..'), 'config'));
  if (basename(dirname(dir)) === RUN_PARTS.checkpoints) candidates.push(runPath(join(dir, '..', '..'), 'config'));
  return candidates.find((f) => existsSync(f));
}

/** The scaling recorded in a run's config.json (`scale`: a factor, `1/255`, minmax, zscore or none). */
export function readRunScale(configFile: string): Scaling | undefined {
  let config: { scale?: unknown };
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${configFile}: not readable JSON (${(err as Error).message}); pass --scale to skip it`);
  }
  if (config.scale === undefined || config.scale === null) return undefined;
  if (typeof config.scale !== 'number' && typeof config.scale !== 'string') {
    throw new CheckpointError(`${configFile}: field 'scale' is ${JSON.stringify(config.scale)}, not a number or name; pass --scale`);
  }
  try {
    return parseScaling(config.scale);
  } catch (err) {
    throw new CheckpointError(`${configFile}: field 'scale': ${(err as Error).message}; pass --scale`);
  }
}

/**
 * The scaling to apply to a model's inputs: `--scale` when given, else the run's, else none (with the
 * reason, for the user).
 */
export function resolveInputScale(modelPath: string, given: string | undefined): { scale: Scaling; origin: string } {
  if (given !== undefined && given !== '') return { scale: parseScaling(given), origin: '--scale' };
  const config = findRunConfig(modelPath);
  const fromRun = config ? readRunScale(config) : undefined;
  if (fromRun !== undefined) return { scale: fromRun, origin: config! };
  return { scale: 'none', origin: config ? `${config} has no scale` : 'no run config.json found; pass --scale if the model was trained on scaled images' };
}

/**
 * A warning when raw DICOM intensities meet a fixed scaling factor: the shared PNG and TFRecord data were
 * min–max rescaled to 0–255 per slice by their publisher, so a model trained on them with 1/255 expects
 * per-image 0–1 values, which `minmax` gives for DICOM input. Undefined when there is nothing to warn of.
 */
export function dicomScalingWarning(scale: Scaling): string | undefined {
  if (typeof scale !== 'number') return undefined;
  return (
    `DICOM pixels are raw scanner intensities, not the 0-255 of the PNG/TFRecord data; a model trained on those ` +
    `with a fixed factor expects per-image 0-1 values: pass --scale minmax`
  );
}
