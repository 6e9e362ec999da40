/**
 * Search spaces: which training options and model-spec fields a search varies, and over what values;
 * grid and seeded random sampling of trials. The format is documented in docs/search.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { createRng } from '../data/random.js';
import { UsageError } from '../errors.js';
import { loadModelSpec, validateModelSpec } from '../models/spec.js';
import { checkTrainConfig, TRAIN_OPTIONS, type TrainConfig } from '../training/config.js';

/** One dimension of a space: the values a parameter (or a group of them) takes. */
export type Dimension =
  | { kind: 'choice'; values: unknown[] }
  | { kind: 'int'; lo: number; hi: number; step: number; log: boolean }
  | { kind: 'float'; lo: number; hi: number; log: boolean; steps: number | null }
  /** Each value sets several parameters at once (e.g. a stride and the upsampling that must match it). */
  | { kind: 'group'; values: Record<string, unknown>[] };

/** A search space file (SPACE.json) as read: the method, the trials and the parameters to vary. */
export interface SearchSpace {
  method: 'grid' | 'random';
  /** Random: how many trials (default 10); grid: at most this many of the grid, in order. */
  trials: number | null;
  /** Seed of the random sampler (not of training: that is the base's `seed`). */
  seed: number;
  /** Training options every trial starts from, before the command line's flags. */
  base: Record<string, unknown>;
  /** Successive halving on the per-epoch val Dice: every rung keeps the best 1/eta trials. */
  halving: { eta: number; minEpochs: number } | null;
  params: Record<string, Dimension>;
}

/** A trial's parameter values: option names and `spec.` paths (groups expanded) → values. */
export type TrialParams = Record<string, unknown>;

const SPACE_KEYS = ['method', 'trials', 'seed', 'base', 'halving', 'params'];
const SPEC_PREFIX = 'spec.';

/** Reads and checks a search space file (see parseSearchSpace). */
export function readSearchSpace(file: string): SearchSpace {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `${file}: cannot read the search space (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const space = parseSearchSpace(json, file);
  // a model spec named in the space is next to it, not in the folder lvseg runs in
  if (typeof space.base.modelSpec === 'string' && !isAbsolute(space.base.modelSpec))
    space.base.modelSpec = join(dirname(file), space.base.modelSpec);
  return space;
}

/**
 * Checks a search space: either `{"params": {...}, "method", "trials", ...}` or a plain object of
 * parameter → list of choices (`{"lr": [0.001, 0.0003], "batchSize": [1, 4]}`). Every parameter is a
 * training option or a `spec.` path into the model spec; every value of an option passes its check.
 */
export function parseSearchSpace(json: unknown, source = 'search space'): SearchSpace {
  const fail = (where: string, what: string): never => {
    throw new UsageError(`${source}: ${where} ${what}; see docs/search.md`);
  };
  if (!isObject(json)) return fail('top level', 'must be a JSON object of parameter -> values');
  const full = 'params' in json;
  if (full)
    for (const key of Object.keys(json))
      if (!SPACE_KEYS.includes(key)) fail(`'${key}'`, `is not a search-space key (${SPACE_KEYS.join(', ')})`);
  const rawParams = full ? json.params : json;
  if (!isObject(rawParams) || Object.keys(rawParams).length === 0)
    return fail("'params'", 'must be a non-empty object of parameter -> values');
  const params: Record<string, Dimension> = {};
  for (const [name, raw] of Object.entries(rawParams)) params[name] = parseDimension(name, raw, fail);
  const method = full && json.method !== undefined ? json.method : 'grid';
  if (method !== 'grid' && method !== 'random')
    fail("'method'", `must be "grid" or "random", got ${JSON.stringify(method)}`);
  const trials = full && json.trials !== undefined ? json.trials : null;
  if (trials !== null && !(Number.isInteger(trials) && (trials as number) > 0))
    fail("'trials'", 'must be a positive integer');
  const seed = full && json.seed !== undefined ? json.seed : 0;
  if (!Number.isInteger(seed)) fail("'seed'", 'must be an integer');
  const base = full && json.base !== undefined ? json.base : {};
  if (!isObject(base)) return fail("'base'", 'must be an object of training options');
  for (const key of Object.keys(base)) if (!(key in TRAIN_OPTIONS)) fail(`base.${key}`, 'is not a training option');
  let halving: SearchSpace['halving'] = null;
  if (full && json.halving !== undefined) {
    const h = json.halving;
    if (!isObject(h)) return fail("'halving'", 'must be {"eta": 3, "minEpochs": 1}');
    const eta = h.eta ?? 3;
    const minEpochs = h.minEpochs ?? 1;
    if (!(Number.isInteger(eta) && (eta as number) >= 2)) fail('halving.eta', 'must be an integer >= 2');
    if (!(Number.isInteger(minEpochs) && (minEpochs as number) >= 1))
      fail('halving.minEpochs', 'must be a positive integer');
    halving = { eta: eta as number, minEpochs: minEpochs as number };
  }
  for (const [name, dim] of Object.entries(params)) checkValues(name, dim, fail);
  return {
    method: method as SearchSpace['method'],
    trials: trials as number | null,
    seed: seed as number,
    base,
    halving,
    params,
  };
}

function parseDimension(name: string, raw: unknown, fail: (where: string, what: string) => never): Dimension {
  const where = `'${name}'`;
  if (Array.isArray(raw)) {
    if (raw.length === 0) fail(where, 'has no choices');
    checkParamName(name, fail);
    return { kind: 'choice', values: raw };
  }
  if (!isObject(raw)) return fail(where, 'must be a list of choices or {"choices"|"int"|"float"|"group": ...}');
  if (Array.isArray(raw.group)) {
    if (raw.group.length === 0) fail(where, 'has an empty group');
    for (const [i, g] of raw.group.entries()) {
      if (!isObject(g) || Object.keys(g).length === 0)
        fail(`${where}.group[${i}]`, 'must be an object of parameter -> value');
      for (const key of Object.keys(g as object)) checkParamName(key, fail);
    }
    return { kind: 'group', values: raw.group as Record<string, unknown>[] };
  }
  checkParamName(name, fail);
  if (Array.isArray(raw.choices)) {
    if (raw.choices.length === 0) fail(where, 'has no choices');
    return { kind: 'choice', values: raw.choices };
  }
  const range = (raw.int ?? raw.float) as unknown;
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    !range.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    range[0] > range[1]
  ) {
    return fail(
      where,
      'must be a list of choices, {"choices": [...]}, {"int": [lo, hi]}, {"float": [lo, hi]} or {"group": [...]}',
    );
  }
  const [lo, hi] = range as [number, number];
  const log = raw.log === true;
  if (log && lo <= 0) fail(where, 'has a log scale but a range that is not above 0');
  if (raw.int !== undefined) {
    const step = raw.step ?? 1;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || !(Number.isInteger(step) && (step as number) > 0))
      fail(where, 'int range needs integer bounds and step');
    return { kind: 'int', lo, hi, step: step as number, log };
  }
  const steps = raw.steps ?? null;
  if (steps !== null && !(Number.isInteger(steps) && (steps as number) >= 2))
    fail(`${where}.steps`, 'must be an integer >= 2');
  return { kind: 'float', lo, hi, log, steps: steps as number | null };
}

function checkParamName(name: string, fail: (where: string, what: string) => never): void {
  if (name.startsWith(SPEC_PREFIX)) {
    if (name.length === SPEC_PREFIX.length)
      fail(`'${name}'`, 'needs a path into the model spec, like spec.layers.0.args.filters');
    return;
  }
  if (!(name in TRAIN_OPTIONS))
    fail(
      `'${name}'`,
      `is neither a training option (${Object.keys(TRAIN_OPTIONS).join(', ')}) nor a spec.PATH into the model spec`,
    );
  if (name === 'out' || name === 'train') fail(`'${name}'`, 'is set by the search itself, not searched over');
}

/** Every value an option can take is checked now, so a bad choice fails before any trial runs. */
function checkValues(name: string, dim: Dimension, fail: (where: string, what: string) => never): void {
  const sets: TrialParams[] =
    dim.kind === 'group'
      ? dim.values
      : dim.kind === 'choice'
        ? dim.values.map((v) => ({ [name]: v }))
        : [{ [name]: dim.lo }, { [name]: dim.hi }];
  for (const set of sets) {
    for (const [key, value] of Object.entries(set)) {
      if (key.startsWith(SPEC_PREFIX)) continue;
      const declaration = TRAIN_OPTIONS[key as keyof typeof TRAIN_OPTIONS];
      const parsed = declaration.schema.safeParse(value);
      if (!parsed.success) fail(`'${key}'`, `must ${declaration.must}, got ${JSON.stringify(value)}`);
    }
  }
}

/** The values of a dimension on a grid. */
function gridValues(dim: Dimension, name: string): TrialParams[] {
  switch (dim.kind) {
    case 'choice':
      return dim.values.map((v) => ({ [name]: v }));
    case 'group':
      return dim.values;
    case 'int': {
      if (dim.log) {
        // powers of two-ish: distinct rounded points evenly spaced in log
        const n = Math.max(2, Math.round(Math.log2(dim.hi / dim.lo)) + 1);
        const values = [
          ...new Set(Array.from({ length: n }, (_, i) => Math.round(dim.lo * (dim.hi / dim.lo) ** (i / (n - 1))))),
        ];
        return values.map((v) => ({ [name]: v }));
      }
      const values: TrialParams[] = [];
      for (let v = dim.lo; v <= dim.hi; v += dim.step) values.push({ [name]: v });
      return values;
    }
    case 'float': {
      if (dim.steps === null)
        throw new UsageError(`'${name}': a float range on a grid needs "steps": N (or use "method": "random")`);
      const at = (t: number): number => (dim.log ? dim.lo * (dim.hi / dim.lo) ** t : dim.lo + (dim.hi - dim.lo) * t);
      return Array.from({ length: dim.steps }, (_, i) => ({ [name]: Number(at(i / (dim.steps! - 1)).toPrecision(6)) }));
    }
  }
}

function sampleValue(dim: Dimension, name: string, rng: ReturnType<typeof createRng>): TrialParams {
  switch (dim.kind) {
    case 'choice':
      return { [name]: dim.values[rng.int(dim.values.length)] };
    case 'group':
      return dim.values[rng.int(dim.values.length)]!;
    case 'int': {
      if (dim.log)
        return { [name]: Math.min(dim.hi, Math.round(Math.exp(rng.uniform(Math.log(dim.lo), Math.log(dim.hi))))) };
      const steps = Math.floor((dim.hi - dim.lo) / dim.step) + 1;
      return { [name]: dim.lo + dim.step * rng.int(steps) };
    }
    case 'float': {
      const v = dim.log ? Math.exp(rng.uniform(Math.log(dim.lo), Math.log(dim.hi))) : rng.uniform(dim.lo, dim.hi);
      return { [name]: Number(v.toPrecision(6)) };
    }
  }
}

/**
 * The trials of a space, in order: the grid (the last parameter varies fastest), or `trials` seeded
 * random draws. `limit` (from --trials) overrides the space's `trials`.
 */
export function sampleTrials(space: SearchSpace, limit?: number): TrialParams[] {
  const n = limit ?? space.trials;
  const entries = Object.entries(space.params);
  if (space.method === 'random') {
    const rng = createRng(space.seed);
    return Array.from(
      { length: n ?? 10 },
      () => Object.assign({}, ...entries.map(([name, dim]) => sampleValue(dim, name, rng))) as TrialParams,
    );
  }
  let grid: TrialParams[] = [{}];
  for (const [name, dim] of entries) {
    const values = gridValues(dim, name);
    grid = grid.flatMap((partial) => values.map((v) => ({ ...partial, ...v })));
  }
  return n === null || n === undefined ? grid : grid.slice(0, n);
}

/** Sets a value at a dotted path (`layers.0.args.filters`) in a copy of `root`; the path must exist up to its last
 * step. */
export function setPath(root: unknown, path: string, value: unknown, source: string): unknown {
  const keys = path.split('.');
  const copy = structuredClone(root);
  let node: unknown = copy;
  for (const [i, key] of keys.entries()) {
    const last = i === keys.length - 1;
    const container = node as Record<string, unknown> | unknown[];
    if (Array.isArray(container)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index >= container.length) {
        throw new UsageError(`${source}: spec.${path}: '${key}' is not an index of a list of ${container.length}`);
      }
      if (last) container[index] = value;
      else node = container[index];
    } else if (isObject(container)) {
      if (last) container[key] = value;
      else {
        if (!(key in container)) {
          // a layer's `args` may be absent; anything else must exist
          if (key !== 'args') throw new UsageError(`${source}: spec.${path}: no '${key}' in the model spec`);
          container[key] = {};
        }
        node = container[key];
      }
    } else {
      throw new UsageError(`${source}: spec.${path}: '${keys.slice(0, i).join('.')}' is not an object or list`);
    }
  }
  return copy;
}

/**
 * A trial's training config: the base config with the trial's option values, and its `spec.` values
 * applied to the model spec, which is read here and travels in `modelSpecContent`: workers need no spec file.
 */
export function trialConfig(base: TrainConfig, params: TrialParams, source: string): TrainConfig {
  const options: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(params)) if (!key.startsWith(SPEC_PREFIX)) options[key] = value;
  let spec: unknown;
  if (options.modelSpec !== null && options.modelSpec !== undefined) {
    spec =
      'modelSpec' in params || base.modelSpecContent === undefined
        ? loadModelSpec(String(options.modelSpec))
        : base.modelSpecContent;
  }
  for (const [key, value] of Object.entries(params)) {
    if (key.startsWith(SPEC_PREFIX)) {
      if (spec === undefined)
        throw new UsageError(
          `${source}: '${key}' needs a model spec: pass --model-spec FILE (or set modelSpec in the space's base)`,
        );
      spec = setPath(spec, key.slice(SPEC_PREFIX.length), value, source);
    }
  }
  if ('model' in params && !('modelSpec' in params)) options.modelSpec = null;
  if ('modelSpec' in params && !('model' in params)) options.model = null;
  if (spec !== undefined && options.modelSpec !== null)
    options.modelSpecContent = validateModelSpec(spec, `${source} (trial spec)`);
  else delete options.modelSpecContent;
  return checkTrainConfig(options, source);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
