/**
 * A saved model's `lvseg.json`, beside its model.json: everything needed to use the model alone (input,
 * scaling, preprocessing, test-time augmentation, post-processing) and, for a shipped model, where it
 * came from and how well it did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { checkPreprocessing, type Preprocessing } from '../transforms/preprocess.js';

export const METADATA_FILE = 'lvseg.json';

/** How predictions are made from the model's scores. */
export interface InferenceSettings {
  /** `flips`: the mean foreground probability over the image and its three flips. */
  tta: 'none' | 'flips';
  postprocess: {
    /** Keep only the largest connected component. */
    largestComponent: boolean;
    /** Fill holes inside it. */
    fillHoles: boolean;
  };
}

export interface ModelMetadata {
  format: 'lvseg-model';
  version: 1;
  /** The model's input, as it sees it after preprocessing. */
  input: { height: number; width: number; channels: 1 };
  /** The pixel scaling the source reader applies before preprocessing (`1/255`, `none`, …). */
  scale: string;
  preprocessing: Preprocessing;
  inference: InferenceSettings;
  /** Where the model came from: free-form but conventionally data, command, epochs, wallSeconds, validation. */
  training?: Record<string, unknown>;
}

function fail(file: string, what: string): never {
  throw new CheckpointError(`${file}: ${what}; fix or delete the file (the model then falls back to its run's config.json)`);
}

/** Checks a parsed lvseg.json; `file` names it in errors. */
export function checkModelMetadata(value: unknown, file: string): ModelMetadata {
  if (typeof value !== 'object' || value === null) fail(file, 'not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.format !== 'lvseg-model' || m.version !== 1) fail(file, `format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)} is not lvseg-model version 1`);
  const input = m.input as ModelMetadata['input'] | undefined;
  if (!input || !(Number.isInteger(input.height) && input.height > 0 && Number.isInteger(input.width) && input.width > 0)) fail(file, "field 'input' must be {height, width, channels: 1}");
  if (typeof m.scale !== 'string') fail(file, "field 'scale' must be a scaling like 1/255 or none");
  let preprocessing: Preprocessing;
  try {
    preprocessing = checkPreprocessing(m.preprocessing, `${file}: preprocessing`);
  } catch (err) {
    return fail(file, (err as Error).message.replace(`${file}: `, ''));
  }
  const inf = m.inference as InferenceSettings | undefined;
  if (!inf || (inf.tta !== 'none' && inf.tta !== 'flips') || typeof inf.postprocess?.largestComponent !== 'boolean' || typeof inf.postprocess?.fillHoles !== 'boolean') {
    fail(file, "field 'inference' must be {tta: none|flips, postprocess: {largestComponent, fillHoles}}");
  }
  return { ...(m as unknown as ModelMetadata), preprocessing };
}

/** The lvseg.json beside a model.json, or undefined when there is none (models saved before it existed). */
export function readModelMetadata(modelJson: string): ModelMetadata | undefined {
  const file = join(dirname(modelJson), METADATA_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(file, `not readable JSON (${(err as Error).message})`);
  }
  return checkModelMetadata(json, file);
}
