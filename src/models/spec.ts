import { readFileSync } from 'node:fs';
import * as tfl from '@tensorflow/tfjs-layers';
import { ModelSpecError } from '../errors.js';

/**
 * A network as JSON: a Keras-like list of layers, each `{ "type": "Conv2D", "args": { … } }`.
 * Arguments take TF.js's camelCase names or Keras's snake_case ones (`kernel_size`). A size argument
 * may be a product of numbers and `H`/`W` (e.g. `"H*W*2"`): the input size is known only from the data.
 */
export interface ModelSpec {
  name?: string;
  layers: LayerSpec[];
}

export interface LayerSpec {
  type: string;
  args?: Record<string, unknown>;
}

type FieldKind = 'posInt' | 'posIntOrPair' | 'padding' | 'activation' | 'rate' | 'bool' | 'shape' | 'name' | 'number';

/** The layers a spec may use and the arguments each takes (anything else is an error naming it). */
const LAYER_FIELDS: Record<string, Record<string, FieldKind>> = {
  Conv2D: {
    filters: 'posInt',
    kernelSize: 'posIntOrPair',
    strides: 'posIntOrPair',
    padding: 'padding',
    activation: 'activation',
    useBias: 'bool',
    dilationRate: 'posIntOrPair',
    name: 'name',
  },
  Conv2DTranspose: {
    filters: 'posInt',
    kernelSize: 'posIntOrPair',
    strides: 'posIntOrPair',
    padding: 'padding',
    activation: 'activation',
    useBias: 'bool',
    name: 'name',
  },
  MaxPool2D: { poolSize: 'posIntOrPair', strides: 'posIntOrPair', padding: 'padding', name: 'name' },
  AveragePooling2D: { poolSize: 'posIntOrPair', strides: 'posIntOrPair', padding: 'padding', name: 'name' },
  UpSampling2D: { size: 'posIntOrPair', name: 'name' },
  Dense: { units: 'posInt', activation: 'activation', useBias: 'bool', name: 'name' },
  Flatten: { name: 'name' },
  Reshape: { targetShape: 'shape', name: 'name' },
  Dropout: { rate: 'rate', name: 'name' },
  BatchNormalization: { momentum: 'number', epsilon: 'number', name: 'name' },
  Activation: { activation: 'activation', name: 'name' },
};
const REQUIRED: Record<string, string[]> = {
  Conv2D: ['filters', 'kernelSize'],
  Conv2DTranspose: ['filters', 'kernelSize'],
  Dense: ['units'],
  Reshape: ['targetShape'],
  Dropout: ['rate'],
  Activation: ['activation'],
};
const ALIASES: Record<string, string> = {
  MaxPooling2D: 'MaxPool2D',
  AvgPool2D: 'AveragePooling2D',
  Conv2d: 'Conv2D',
  BatchNorm: 'BatchNormalization',
};
const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'softmax',
  'softplus',
  'softsign',
  'swish',
  'mish',
];

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Checks a parsed JSON value against the spec format; returns it typed with canonical names, or throws
 * a ModelSpecError naming the layer index and field. `source` (a file name) prefixes messages.
 */
export function validateModelSpec(value: unknown, source = 'model spec'): ModelSpec {
  const fail = (where: string, what: string): never => {
    throw new ModelSpecError(`${source}: ${where}: ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('top level', 'must be an object {"layers": [...]}');
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj))
    if (key !== 'name' && key !== 'layers') fail(`field '${key}'`, "unknown; a spec has 'name' and 'layers'");
  if (obj.name !== undefined && typeof obj.name !== 'string') fail("field 'name'", 'must be a string');
  if (!Array.isArray(obj.layers) || obj.layers.length === 0)
    fail("field 'layers'", 'must be a non-empty list of {"type": ..., "args": {...}}');
  const layers = (obj.layers as unknown[]).map((raw, i): LayerSpec => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return fail(`layers[${i}]`, 'must be an object {"type": ..., "args": {...}}');
    const layer = raw as Record<string, unknown>;
    for (const key of Object.keys(layer))
      if (key !== 'type' && key !== 'args') fail(`layers[${i}].${key}`, "unknown; a layer has 'type' and 'args'");
    if (typeof layer.type !== 'string')
      return fail(`layers[${i}].type`, `missing; one of ${Object.keys(LAYER_FIELDS).join(', ')}`);
    const type = ALIASES[layer.type] ?? layer.type;
    const fields = LAYER_FIELDS[type];
    if (!fields)
      return fail(
        `layers[${i}].type`,
        `unknown layer type '${layer.type}'; use one of ${Object.keys(LAYER_FIELDS).join(', ')}`,
      );
    const rawArgs = layer.args ?? {};
    if (typeof rawArgs !== 'object' || rawArgs === null || Array.isArray(rawArgs))
      return fail(`layers[${i}] (${type}).args`, 'must be an object');
    const args: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(rawArgs as Record<string, unknown>)) {
      const name = camelCase(key);
      const where = `layers[${i}] (${type}).${key}`;
      const kind = fields[name];
      if (!kind) fail(where, `not an argument of ${type}; it takes ${Object.keys(fields).join(', ')}`);
      args[name] = checkField(v, kind!, where, fail);
    }
    for (const req of REQUIRED[type] ?? [])
      if (args[req] === undefined) fail(`layers[${i}] (${type}).${req}`, 'required');
    return { type, args };
  });
  return { ...(obj.name !== undefined ? { name: obj.name as string } : {}), layers };
}

const SIZE_EXPR = /^\s*(?:\d+|H|W)(?:\s*\*\s*(?:\d+|H|W))*\s*$/;

function checkField(v: unknown, kind: FieldKind, where: string, fail: (w: string, m: string) => never): unknown {
  const posInt = (x: unknown): boolean =>
    (typeof x === 'number' && Number.isInteger(x) && x > 0) || (typeof x === 'string' && SIZE_EXPR.test(x));
  switch (kind) {
    case 'posInt':
      return posInt(v)
        ? v
        : fail(where, `must be a positive integer (or a product with H and W), got ${JSON.stringify(v)}`);
    case 'posIntOrPair':
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
      if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0))
        return v;
      return fail(where, `must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
    case 'padding':
      return v === 'same' || v === 'valid' ? v : fail(where, `must be "same" or "valid", got ${JSON.stringify(v)}`);
    case 'activation':
      return typeof v === 'string' && ACTIVATIONS.includes(v)
        ? v
        : fail(where, `must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(v)}`);
    case 'rate':
      return typeof v === 'number' && v >= 0 && v < 1
        ? v
        : fail(where, `must be a number in [0, 1), got ${JSON.stringify(v)}`);
    case 'bool':
      return typeof v === 'boolean' ? v : fail(where, `must be true or false, got ${JSON.stringify(v)}`);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
        ? v
        : fail(where, `must be a number, got ${JSON.stringify(v)}`);
    case 'name':
      return typeof v === 'string' && /^[A-Za-z][\w.-]*$/.test(v)
        ? v
        : fail(where, `must be a name (letters, digits, _ . -), got ${JSON.stringify(v)}`);
    case 'shape':
      return Array.isArray(v) && v.length > 0 && v.every(posInt)
        ? v
        : fail(where, `must be a list of positive integers (or products with H and W), got ${JSON.stringify(v)}`);
  }
}

/** Reads and validates a JSON model spec file. */
export function loadModelSpec(file: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelSpecError(
      `${file}: cannot read the model spec (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelSpecError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return validateModelSpec(json, file);
}

function resolveSize(v: unknown, inputSize: number): unknown {
  if (typeof v !== 'string' || !SIZE_EXPR.test(v))
    return Array.isArray(v) ? v.map((x) => resolveSize(x, inputSize)) : v;
  return v.split('*').reduce((p, t) => p * (t.trim() === 'H' || t.trim() === 'W' ? inputSize : Number(t)), 1);
}

/** Builds a Sequential model from a (validated) spec for square inputs of `inputSize`. */
export function buildModelFromSpec(spec: ModelSpec, { inputSize = 256 }: { inputSize?: number } = {}): tfl.Sequential {
  const valid = validateModelSpec(spec);
  const model = tfl.sequential({ name: valid.name ?? 'spec' });
  valid.layers.forEach((layer, i) => {
    const args: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(layer.args ?? {})) args[k] = k === 'name' ? v : resolveSize(v, inputSize);
    if (i === 0) args.inputShape = [inputSize, inputSize, 1];
    // Keras-like default names (conv2d_1, dense_3, ...) numbered by position, stable across builds
    args.name ??= `${layer.type
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
      .toLowerCase()}_${i + 1}`;
    try {
      model.add(makeLayer(layer.type, args));
    } catch (err) {
      throw new ModelSpecError(`layers[${i}] (${layer.type}): ${(err as Error).message.split('\n')[0]}`);
    }
  });
  return model;
}

/** A spec's args are JSON for whichever tfjs layer `type` names, and that layer validates them. */
// biome-ignore lint/suspicious/noExplicitAny: see above
function makeLayer(type: string, args: any): tfl.layers.Layer {
  switch (type) {
    case 'Conv2D':
      return tfl.layers.conv2d(args);
    case 'Conv2DTranspose':
      return tfl.layers.conv2dTranspose(args);
    case 'MaxPool2D':
      return tfl.layers.maxPooling2d(args);
    case 'AveragePooling2D':
      return tfl.layers.averagePooling2d(args);
    case 'UpSampling2D':
      return tfl.layers.upSampling2d(args);
    case 'Dense':
      return tfl.layers.dense(args);
    case 'Flatten':
      return tfl.layers.flatten(args);
    case 'Reshape':
      return tfl.layers.reshape(args);
    case 'Dropout':
      return tfl.layers.dropout(args);
    case 'BatchNormalization':
      return tfl.layers.batchNormalization(args);
    case 'Activation':
      return tfl.layers.activation(args);
    default:
      throw new ModelSpecError(`unknown layer type '${type}'`);
  }
}
