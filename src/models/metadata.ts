/**
 * A saved model's `lvseg.json`, beside its model.json: everything needed to use the model alone (input,
 * scaling, preprocessing, test-time augmentation, post-processing) and, for a shipped model, where it
 * came from and how well it did.
 */
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

/**
 * How a model's training masks were drawn: `inside` (the pixels whose centres lie inside the contour
 * line) or `contour-included` (those and every pixel the line passes through, as the published Sunnybrook
 * masks and lvseg's DICOM reader draw them). Such a model's masks are half a pixel wider all round than
 * the line, 5–7% of an LV's area; `lvseg volumes` measures them to the line (volumes.ts, measureSliceMask).
 */
export const LABEL_CONVENTIONS = ['inside', 'contour-included'] as const;
export type LabelConvention = (typeof LABEL_CONVENTIONS)[number];

export const NO_INFERENCE_EXTRAS: InferenceSettings = {
  tta: 'none',
  postprocess: { largestComponent: false, fillHoles: false },
};

/** A model's `lvseg.json`: its input, scaling, preprocessing, inference settings, labels and training facts. */
export interface ModelMetadata {
  format: 'lvseg-model';
  version: 1;
  /** The model's input, as it sees it after preprocessing. */
  input: { height: number; width: number; channels: 1 };
  /** The pixel scaling the source reader applies before preprocessing (`1/255`, `none`, …). */
  scale: string;
  preprocessing: Preprocessing;
  inference: InferenceSettings;
  /** How its training masks were drawn; absent: `inside`. */
  labels?: LabelConvention;
  /** Class names by output channel, background first; absent: ['background', 'lv']. */
  classes?: readonly string[];
  /** Where the model came from: free-form but conventionally data, command, epochs, wallSeconds, validation. */
  training?: Record<string, unknown>;
}

function fail(file: string, what: string): never {
  throw new CheckpointError(
    `${file}: ${what}; fix or delete the file (the model then falls back to its run's config.json)`,
  );
}

/** Checks a parsed lvseg.json; `file` names it in errors. */
export function checkModelMetadata(value: unknown, file: string): ModelMetadata {
  if (typeof value !== 'object' || value === null) fail(file, 'not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.format !== 'lvseg-model' || m.version !== 1)
    fail(file, `format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)} is not lvseg-model version 1`);
  const input = m.input as ModelMetadata['input'] | undefined;
  if (
    !input ||
    !(Number.isInteger(input.height) && input.height > 0 && Number.isInteger(input.width) && input.width > 0)
  )
    fail(file, "field 'input' must be {height, width, channels: 1}");
  if (typeof m.scale !== 'string') fail(file, "field 'scale' must be a scaling like 1/255 or none");
  let preprocessing: Preprocessing;
  try {
    preprocessing = checkPreprocessing(m.preprocessing, `${file}: preprocessing`);
  } catch (err) {
    return fail(file, (err as Error).message.replace(`${file}: `, ''));
  }
  const inf = m.inference as InferenceSettings | undefined;
  if (
    !inf ||
    (inf.tta !== 'none' && inf.tta !== 'flips') ||
    typeof inf.postprocess?.largestComponent !== 'boolean' ||
    typeof inf.postprocess?.fillHoles !== 'boolean'
  ) {
    fail(file, "field 'inference' must be {tta: none|flips, postprocess: {largestComponent, fillHoles}}");
  }
  if (m.labels !== undefined && !(LABEL_CONVENTIONS as readonly unknown[]).includes(m.labels))
    fail(file, `field 'labels' must be one of ${LABEL_CONVENTIONS.join(', ')}`);
  if (
    m.classes !== undefined &&
    !(Array.isArray(m.classes) && m.classes.length >= 2 && m.classes.every((c) => typeof c === 'string' && c !== ''))
  ) {
    fail(file, "field 'classes' must be a list of at least 2 class names, background first");
  }
  return { ...(m as unknown as ModelMetadata), preprocessing };
}

/**
 * The lvseg.json of a model that takes the whole image as the lab's do: no preprocessing, no test-time
 * flips, no post-processing; only its input size and the scaling it was trained with, so `lvseg evaluate`
 * and `predict` scale its inputs right. The lab page writes it beside the model it trained.
 */
export function plainModelMetadata(
  inputSize: number,
  scale: string,
  training?: Record<string, unknown>,
): ModelMetadata {
  return {
    format: 'lvseg-model',
    version: 1,
    input: { height: inputSize, width: inputSize, channels: 1 },
    scale,
    preprocessing: { spacing: null, roi: null, intensity: null },
    inference: NO_INFERENCE_EXTRAS,
    ...(training ? { training } : {}),
  };
}
