// Drives every entry point of the native addon with random arguments: consistent ones (the kernel must
// run and stay inside its buffers) and ones with one thing wrong (a wrong kind, a length or dim off, an
// op code out of range, missing arguments, overlapping views), which must give a JavaScript error.
// Run as a child process by native-fuzz.test.ts, so that a crash fails that test instead of killing
// vitest. Every Float32Array handed to the addon sits between guard values; a changed guard is a write
// out of bounds and exits 2. Prints a JSON summary: per entry point, the calls accepted and rejected.
// Usage: node native-fuzz-child.mjs ADDON_PATH SEED CALLS_PER_ENTRY
import { createRequire } from 'node:module';

const [addonPath, seedArg, callsArg] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
const callsPerEntry = Number(callsArg);

let state = Number(seedArg) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (items) => items[Math.floor(random() * items.length)];

// Guarded float arrays: GUARD values on both sides of each array handed out since the last check.
const GUARD = 8;
const GUARD_VALUE = -1234.5;
let guarded = [];
function floats(n) {
  const whole = new Float32Array(n + 2 * GUARD).fill(GUARD_VALUE);
  for (let i = GUARD; i < GUARD + n; i++) whole[i] = random() * 4 - 2;
  guarded.push(whole);
  return whole.subarray(GUARD, GUARD + n);
}
function checkGuards(entry, args) {
  for (const whole of guarded) {
    const n = whole.length - 2 * GUARD;
    for (let i = 0; i < GUARD; i++) {
      if (whole[i] !== GUARD_VALUE || whole[GUARD + n + i] !== GUARD_VALUE) {
        console.error(`${entry} wrote outside its buffers with ${describe(args)}`);
        process.exit(2);
      }
    }
  }
  guarded = [];
}
function describe(args) {
  return JSON.stringify(
    args.map((a) =>
      ArrayBuffer.isView(a)
        ? `${a.constructor.name}(${a.length})${a instanceof Int32Array ? `[${a}]` : ''}`
        : a === undefined
          ? 'undefined'
          : a,
    ),
  );
}
const positive = (a) => {
  for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i]);
  return a;
};
const labels = (n, classes) => Int32Array.from({ length: n }, () => int(-1, classes));

// Valid geometry: a convolution or pooling axis with its output size.
function axis(dilated) {
  const filter = int(1, 4),
    dilation = dilated ? int(1, 2) : 1,
    stride = int(1, 3);
  const effective = (filter - 1) * dilation + 1;
  const padBefore = int(0, effective - 1),
    padAfter = int(0, effective - 1);
  const input = int(Math.max(1, effective - padBefore - padAfter), 9);
  const span = input + padBefore + padAfter - effective;
  const output = Math.floor(span / stride) + 1;
  return { input, output, filter, stride, dilation, padBefore, padAfter };
}

function conv() {
  const h = axis(true),
    w = axis(true);
  const n = int(1, 2),
    ic = pick([1, 1, 2, 3, 5]),
    oc = int(1, 5);
  const dims = Int32Array.from([
    n,
    h.input,
    w.input,
    ic,
    h.output,
    w.output,
    oc,
    h.filter,
    w.filter,
    h.stride,
    w.stride,
    h.padBefore,
    w.padBefore,
    h.padAfter,
    w.padAfter,
    h.dilation,
    w.dilation,
  ]);
  return { dims, x: n * h.input * w.input * ic, w: h.filter * w.filter * ic * oc, y: n * h.output * w.output * oc, oc };
}

function poolGeometry() {
  const h = axis(false),
    w = axis(false);
  const n = int(1, 2),
    c = int(1, 4);
  const dims = Int32Array.from([
    n,
    h.input,
    w.input,
    c,
    h.output,
    w.output,
    h.filter,
    w.filter,
    h.stride,
    w.stride,
    h.padBefore,
    w.padBefore,
    h.padAfter,
    w.padAfter,
  ]);
  return { dims, x: n * h.input * w.input * c, y: n * h.output * w.output * c };
}

// Each entry point: a generator of consistent arguments.
const entries = {
  conv2d: () => {
    const g = conv();
    return [
      floats(g.x),
      floats(g.w),
      random() < 0.5 ? floats(g.oc) : null,
      floats(g.y),
      g.dims,
      random() < 0.5,
      random() < 0.5 ? 0 : 1 + Math.floor(random() * 5),
    ];
  },
  conv2dBackwardData: () => {
    const g = conv();
    return [floats(g.y), floats(g.w), floats(g.x), g.dims];
  },
  conv2dBackwardWeights: () => {
    const g = conv();
    return [floats(g.x), floats(g.y), floats(g.w), g.dims];
  },
  maxPool: () => {
    const g = poolGeometry();
    return [floats(g.x), floats(g.y), g.dims];
  },
  maxPoolGrad: () => {
    const g = poolGeometry();
    return [floats(g.x), floats(g.y), floats(g.x), g.dims];
  },
  matMul: () => {
    const batch = int(1, 3),
      m = int(1, 6),
      k = int(1, 6),
      n = int(1, 6),
      batchB = pick([1, batch]);
    const dims = Int32Array.from([batch, m, k, n, int(0, 1), int(0, 1), batchB]);
    return [
      floats(batch * m * k),
      floats(batchB * k * n),
      random() < 0.5 ? floats(n) : null,
      floats(batch * m * n),
      dims,
      random() < 0.5,
    ];
  },
  adam: () => {
    const n = int(0, 300);
    return [floats(n), floats(n), positive(floats(n)), floats(n), 0.01, 0.9, 0.999, 0.1, 0.001, 1e-7, 0.999];
  },
  sgd: () => {
    const n = int(0, 300);
    return [floats(n), floats(n), 0.1];
  },
  binary: () => {
    const bn = int(1, 8),
      n = bn * int(1, 8),
      mode = int(0, 2);
    if (mode === 0) return [int(0, 4), floats(1), floats(n), floats(n), true, false];
    return [int(0, 4), floats(n), floats(mode === 1 ? bn : n), floats(n), false, mode === 1 && random() < 0.5];
  },
  unary: () => {
    const n = int(0, 300);
    return [int(0, 7), floats(n), floats(n), random()];
  },
  sumLeading: () => {
    const inner = int(1, 9);
    return [floats(inner * int(0, 9)), floats(inner)];
  },
  reduceInner: () => {
    const outer = int(1, 9);
    return [int(0, 1), floats(outer * int(1, 9)), floats(outer)];
  },
  softmaxCrossEntropy: () => {
    const rows = int(1, 40),
      classes = int(1, 4);
    return [floats(rows * classes), labels(rows, classes), floats(rows * classes)];
  },
  copyRows: () => {
    const rows = int(0, 8),
      run = int(0, 6),
      srcStride = int(0, 9),
      dstStride = int(run, 9);
    const span = (stride) => (rows === 0 || run === 0 ? 0 : (rows - 1) * stride + run);
    return [
      floats(span(srcStride) + int(0, 3)),
      floats(span(dstStride) + int(0, 3)),
      Int32Array.from([rows, run, srcStride, dstStride]),
    ];
  },
  // the optional last arguments (relu, the relu mask) given a third of the time each way
  channelAffine: () => {
    const c = int(1, 6),
      rows = int(0, 20);
    const args = [floats(rows * c), floats(c), floats(c), floats(c), floats(rows * c)];
    return pick([args, [...args, true], [...args, false]]);
  },
  channelSums: () => {
    const c = int(1, 6),
      rows = int(0, 20);
    const args = [floats(rows * c), floats(rows * c), floats(c), floats(c), floats(c)];
    return pick([args, [...args, floats(rows * c)], [...args, null]]);
  },
  channelMix: () => {
    const c = int(1, 6),
      rows = int(0, 20);
    const args = [floats(rows * c), floats(rows * c), floats(c), floats(c), floats(c), floats(c), floats(rows * c)];
    return pick([args, [...args, floats(rows * c)], [...args, null]]);
  },
  setNumThreads: () => [pick([0, -1, 1, 2])],
  // bfloat16 from here on also runs the convolutions that follow in the other precision
  setConvPrecision: () => [pick([0, 1])],
};

const WRONG_KINDS = [
  undefined,
  null,
  3,
  'x',
  {},
  [1, 2],
  new Float64Array(4),
  new Uint8Array(4),
  new Int32Array(4),
  new Float32Array(0),
];
const BAD_NUMBERS = [-1, -(2 ** 31), 2 ** 31 - 1, 2 ** 30, 0, 1, 7, 65536];

// One thing wrong with consistent arguments (or nothing, a quarter of the time).
function mutate(args) {
  const out = [...args];
  const i = int(0, out.length - 1);
  switch (int(0, 7)) {
    case 0:
    case 1:
      return { args: out, mutation: 'none' };
    case 2:
      out[i] = pick(WRONG_KINDS);
      return { args: out, mutation: `kind of argument ${i}` };
    case 3: {
      const at = out.findIndex((a, k) => k >= i && a instanceof Float32Array);
      if (at < 0) return { args: out, mutation: 'none' };
      out[at] = floats(Math.max(0, out[at].length + pick([-1, 1, -out[at].length, out[at].length, 7])));
      return { args: out, mutation: `length of argument ${at}` };
    }
    case 4: {
      const at = out.findIndex((a) => a instanceof Int32Array);
      if (at < 0 || out[at].length === 0) return { args: out, mutation: 'none' };
      const dims = out[at].slice();
      dims[int(0, dims.length - 1)] = random() < 0.5 ? pick(BAD_NUMBERS) : int(0, 12);
      out[at] = random() < 0.1 ? dims.subarray(1) : dims;
      return { args: out, mutation: `dims of argument ${at}` };
    }
    case 5:
      if (typeof out[0] !== 'number') return { args: out.slice(0, i), mutation: 'missing arguments' };
      out[0] = pick([-1, 5, 7, 8, 2 ** 31, 0.5, NaN, Infinity, 1e10]);
      return { args: out, mutation: 'op code' };
    case 6:
      return { args: out.slice(0, i), mutation: 'missing arguments' };
    default: {
      // Two float arguments as views of one buffer (the second may overlap the first).
      const ats = out.map((a, k) => (a instanceof Float32Array ? k : -1)).filter((k) => k >= 0);
      if (ats.length < 2) return { args: out, mutation: 'none' };
      const [a, b] = [ats[0], ats[1]];
      const buffer = floats(out[a].length + out[b].length);
      const shift = int(0, out[a].length);
      out[a] = buffer.subarray(0, out[a].length);
      out[b] = buffer.subarray(shift, shift + out[b].length);
      return { args: out, mutation: 'shared buffer' };
    }
  }
}

const summary = {};
for (const [entry, generate] of Object.entries(entries)) {
  const stats = { accepted: 0, rejected: 0, validRejected: [] };
  for (let call = 0; call < callsPerEntry; call++) {
    const { args, mutation } = mutate(generate());
    try {
      addon[entry](...args);
      stats.accepted++;
    } catch (err) {
      if (!(err instanceof Error)) {
        console.error(`${entry} threw a non-Error ${String(err)} with ${describe(args)}`);
        process.exit(3);
      }
      stats.rejected++;
      // Consistent arguments must run (oneDNN may still refuse a shape, which the summary shows).
      if (mutation === 'none' && stats.validRejected.length < 5)
        stats.validRejected.push(`${err.message} with ${describe(args)}`);
    }
    checkGuards(entry, args);
  }
  summary[entry] = stats;
}
addon.setNumThreads(2);
console.log(JSON.stringify(summary));
