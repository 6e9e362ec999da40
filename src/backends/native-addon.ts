import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import type { BinaryOp, OpCode, ReduceOp, UnaryOp } from './onednn/contract.js';

/**
 * The C++ addon on oneDNN (native/, built by `npm run setup` with node-gyp). Every function works in
 * place on Float32Array buffers. The addon checks every argument (kinds, lengths against the dims, op
 * codes) and throws a TypeError or RangeError for a bad one; callers (onednn/) pass consistent ones.
 * Op codes and dims layouts: onednn/contract.ts.
 */
export interface NativeAddon {
  /** Sets the OpenMP thread count (n > 0) and returns the count in effect. */
  setNumThreads(n: number): number;
  /**
   * What the oneDNN convolutions read their inputs in from now on (ConvPrecision: float32, or bfloat16 where
   * the CPU has AVX512_BF16 or AMX); returns the precision in effect.
   */
  setConvPrecision(p: number): number;
  /** oneDNN primitives cached over all kinds (each kind keeps at most 64, least recently used out). */
  cachedPrimitives(): number;
  /** weightsToken: 0, or a number that stands for these exact filter values (see onednn/kernel.ts `valuesToken`). */
  conv2d(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    dims: Int32Array,
    relu: boolean,
    weightsToken: number,
  ): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: Int32Array): void;
  conv2dBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  /** Max pooling and its gradient as direct loops (native/pool_direct.cc); dims as kPoolDims in native/kernels.h. */
  maxPool(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** The ISA oneDNN dispatches to (after ONEDNN_MAX_CPU_ISA) and the one lvseg's own loops were compiled for. */
  cpuInfo(): { onednnIsa: string; compiledIsa: string };
  matMul(
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    c: Float32Array,
    dims: Int32Array,
    relu: boolean,
  ): void;
  adam(
    value: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
    epsilon: number,
    /** Multiplies each weight before the update: 1 − lr·weightDecay for AdamW, 1 for Adam. */
    decay: number,
  ): void;
  sgd(value: Float32Array, g: Float32Array, lr: number): void;
  binary(
    op: OpCode<typeof BinaryOp>,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    scalarA: boolean,
    blocked: boolean,
  ): void;
  unary(op: OpCode<typeof UnaryOp>, x: Float32Array, y: Float32Array, alpha: number): void;
  sumLeading(x: Float32Array, out: Float32Array): void;
  reduceInner(op: OpCode<typeof ReduceOp>, x: Float32Array, out: Float32Array): void;
  /** Mean sparse softmax cross-entropy of logits [rows, classes]; writes (softmax - onehot) / rows to grad. */
  softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, grad: Float32Array): number;
  /** dims: CopyDim; src and dst are views starting at the first element, and may not overlap. */
  copyRows(src: Float32Array, dst: Float32Array, dims: Int32Array): void;
  /** y = (x - m[c]) * a[c] + b[c] over the innermost axis (m, a and b: one value per channel), relu'd with `relu`. */
  channelAffine(
    x: Float32Array,
    m: Float32Array,
    a: Float32Array,
    b: Float32Array,
    y: Float32Array,
    relu?: boolean,
  ): void;
  /**
   * Per channel: sumDy[c] = sum dy, sumDyXc[c] = sum dy * (x - mean[c]); with a mask (x's size), dy counts
   * only where the mask is positive (a following relu's gradient, the mask being the relu's output).
   */
  channelSums(
    x: Float32Array,
    dy: Float32Array,
    mean: Float32Array,
    sumDy: Float32Array,
    sumDyXc: Float32Array,
    mask?: Float32Array | null,
  ): void;
  /**
   * y = a[c] * u + b[c] * (v - m[c]) + d[c] over the innermost axis (m, a, b and d: one value per channel); with
   * a mask, u counts as 0 where the mask is not positive.
   */
  channelMix(
    u: Float32Array,
    v: Float32Array,
    m: Float32Array,
    a: Float32Array,
    b: Float32Array,
    d: Float32Array,
    y: Float32Array,
    mask?: Float32Array | null,
  ): void;
}

export const ADDON_PATH = join(PACKAGE_ROOT, 'build', 'Release', 'lvseg_onednn.node');
/** The instruction-set extensions the addon was compiled for (-march=native), written by scripts/native-isa.sh. */
export const ADDON_ISA_PATH = join(PACKAGE_ROOT, 'build', 'Release', 'lvseg_onednn.isa');
export const NATIVE_ADVICE = 'apt-get install libdnnl-dev g++ make && npm run setup';

export type AddonLoad = { addon: NativeAddon; reason?: undefined } | { addon?: undefined; reason: string };

let loaded: AddonLoad | undefined;

// The compiler's macro names whose /proc/cpuinfo flag is not the name in lower case (underscores aside).
const CPUINFO_NAMES: Record<string, string> = { BMI: 'bmi1', LZCNT: 'abm', SSE3: 'pni' };

const cpuFlags = (text: string): Set<string> =>
  new Set(
    (/^flags\s*:(.*)$/m.exec(text)?.[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((f) => f.replace(/_/g, '')),
  );

/**
 * The instruction-set extensions the addon was compiled for that this CPU lacks. `record` is the file
 * scripts/native-isa.sh wrote at build time (a `macros:` line, the compiler's names such as AVX512F and
 * SSE4_2, and the build CPU's `flags:` line), `cpuinfo` the text of /proc/cpuinfo here. Only extensions
 * that the build CPU's flags show are compared (a VM may hide one, e.g. abm, that the compiler sees).
 */
export function missingIsa(record: string, cpuinfo: string): string[] {
  const macros = (/^macros:(.*)$/m.exec(record)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const built = cpuFlags(record),
    here = cpuFlags(cpuinfo);
  const flag = (macro: string) => (CPUINFO_NAMES[macro] ?? macro.toLowerCase()).replace(/_/g, '');
  return macros.filter((m) => built.has(flag(m)) && !here.has(flag(m))).map((m) => m.toLowerCase());
}

/**
 * Why the addon cannot run on this CPU, or undefined when it can. It is compiled with -march=native, so
 * a build carried to a CPU without one of its extensions (a container image moved to an older host)
 * would die of an illegal instruction at its first vector loop; this check runs before it is loaded.
 */
function isaMismatch(): string | undefined {
  if (!existsSync(ADDON_ISA_PATH))
    return `the native oneDNN addon was built without its CPU record (${ADDON_ISA_PATH} is missing)`;
  if (!existsSync('/proc/cpuinfo')) return undefined;
  const missing = missingIsa(readFileSync(ADDON_ISA_PATH, 'utf8'), readFileSync('/proc/cpuinfo', 'utf8'));
  if (missing.length === 0) return undefined;
  return (
    `the native oneDNN addon was built for a CPU with ${missing.join(', ')}, which this one lacks; rebuild it ` + `here`
  );
}

/** Loads the addon once; `reason` says in one line why it is not available. */
export function loadNativeAddon(): AddonLoad {
  if (loaded) return loaded;
  if (process.env.LVSEG_NO_NATIVE === '1') {
    loaded = { reason: 'LVSEG_NO_NATIVE=1 is set' };
  } else if (!existsSync(ADDON_PATH)) {
    loaded = { reason: `the native oneDNN addon is not built (${ADDON_PATH} is missing)` };
  } else {
    loaded = loadBuiltAddon();
  }
  return loaded;
}

function loadBuiltAddon(): AddonLoad {
  const mismatch = isaMismatch();
  if (mismatch) return { reason: mismatch };
  try {
    // OpenMP reads this when the addon loads it. Spinning threads (its default) make every parallel
    // region wait for a descheduled thread when other processes share the cores: measured on 2 busy
    // cores, an FCN step took 0.8-2.2 s spinning and 0.35-0.6 s passive. Set it to override.
    process.env.OMP_WAIT_POLICY ??= 'passive';
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    return { reason: `the native oneDNN addon does not load (${first})` };
  }
}
