/**
 * A model's metadata file, `lvseg.json` beside its `model.json`: what a user of the model (the CLI, the
 * browser page, another program) needs besides the weights to feed it the right pixels. Parsed here, without
 * Node, so every reader applies the same rules. Example:
 *
 *     { "name": "lv-sunnybrook", "scale": "minmax", "inputSize": [256, 256], "classes": 2,
 *       "preprocessing": "grey, per-image min-max to 0-1", "description": "..." }
 */
import { formatScaling, parseScaling, type Scaling } from '../data/scaling.js';
import { CheckpointError } from '../errors.js';

/** The metadata file's name, in the model's folder. */
export const MODEL_METADATA_FILE = 'lvseg.json';

export interface ModelMetadata {
  name?: string;
  description?: string;
  /** The input scaling the model was trained with (as `--scale` writes it: `1/255`, `minmax`, …). */
  scale: Scaling;
  /** [height, width] of the model's input, when fixed; images of another size are resized to it. */
  inputSize?: [number, number];
  classes?: number;
  /** Free text on anything else done to the pixels before scaling. */
  preprocessing?: string;
}

function optionalString(raw: Record<string, unknown>, key: string, file: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new CheckpointError(`${file}: field '${key}' must be text, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates a parsed `lvseg.json`; `file` names it in messages. Unknown fields are ignored. */
export function parseModelMetadata(raw: unknown, file: string): ModelMetadata {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`${file}: expected a JSON object with at least 'scale'`);
  const o = raw as Record<string, unknown>;
  if (typeof o.scale !== 'number' && typeof o.scale !== 'string') {
    throw new CheckpointError(`${file}: field 'scale' must be a factor like "1/255" or minmax, zscore, none; got ${JSON.stringify(o.scale)}`);
  }
  let scale: Scaling;
  try {
    scale = parseScaling(o.scale);
  } catch (err) {
    throw new CheckpointError(`${file}: field 'scale': ${(err as Error).message}`);
  }
  const meta: ModelMetadata = { scale };
  const name = optionalString(o, 'name', file);
  const description = optionalString(o, 'description', file);
  const preprocessing = optionalString(o, 'preprocessing', file);
  if (name !== undefined) meta.name = name;
  if (description !== undefined) meta.description = description;
  if (preprocessing !== undefined) meta.preprocessing = preprocessing;
  if (o.inputSize !== undefined && o.inputSize !== null) {
    const s = o.inputSize;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((d) => Number.isInteger(d) && (d as number) > 0)) {
      throw new CheckpointError(`${file}: field 'inputSize' must be [height, width] in pixels, got ${JSON.stringify(s)}`);
    }
    meta.inputSize = [s[0] as number, s[1] as number];
  }
  if (o.classes !== undefined && o.classes !== null) {
    if (!Number.isInteger(o.classes) || (o.classes as number) < 2) throw new CheckpointError(`${file}: field 'classes' must be an integer >= 2`);
    meta.classes = o.classes as number;
  }
  return meta;
}

/** The metadata as JSON-ready values (the scale written as `1/255` rather than 0.00392…). */
export function modelMetadataJson(meta: ModelMetadata): Record<string, unknown> {
  return { ...meta, scale: formatScaling(meta.scale) };
}
