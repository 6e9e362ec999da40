/**
 * `npm run bench -- onnx`: lvseg's inference beside onnxruntime, the runtime users deploy with, on the
 * same model exported by `lvseg export` (src/export/onnx.ts).
 * - Node: the lab FCN (256×256) and the sunnybrook-unet preset's U-Net (128×128, batch norm folded) on
 *   each lvseg backend and in onnxruntime-node (CPU), batch 1 and 8. Each backend's runs alternate with
 *   onnxruntime's, so load from other processes weighs on both; `speedup` is onnxruntime's time over
 *   lvseg's (above 1: lvseg is faster).
 * - Chromium (Debian's, driven by playwright-core): the bundled model on tfjs's wasm backend, the backend
 *   the page falls back to without a GPU, beside onnxruntime-web (wasm, SIMD), both threaded in a
 *   cross-origin isolated page (bench/web/onnx-page.ts).
 * Options: --models fcn,sunnybrook-unet  --backends onednn,wasm  --batches 1,8  --runs N (timed runs per
 * side, default 7)  --threads N (onednn and onnxruntime; default all cores)  --isa avx2 (caps oneDNN;
 * onnxruntime's own kernels have no such cap and are recorded as they are)  --onnxruntime-spinning (its
 * threads spin while they wait, its default; off here, as lvseg's)  --no-browser  --browser-only.
 * `cpu_speedup` compares the CPU time (all threads) of a run instead of its wall time.
 */
import { createServer, type Server } from 'node:http';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onednnAddon, setOnednnThreads } from '../src/backends/onednn/index.js';
import { selectBackend, type BackendName } from '../src/backends/select.js';
import { exportOnnx } from '../src/export/onnx.js';
import { buildModel } from '../src/models/build.js';
import { inferenceModel } from '../src/models/fold.js';
import { resolveModelJson } from '../src/inference/run-config.js';
import { loadInferenceModel } from '../src/models/io.js';
import { getPreset } from '../src/models/presets.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { coreCount, cpuModel, requestedIsa } from './machine.js';
import type { Benchmark, Emit } from './main.js';
import { median } from './stats.js';

export const ONNX_MODELS = ['fcn', 'sunnybrook-unet'] as const;
type OnnxModelName = (typeof ONNX_MODELS)[number];

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

/** The network and its input side: the lab's FCN at 256, the preset's batch-norm U-Net at 128. */
function buildNamed(model: OnnxModelName): { net: tfl.LayersModel; size: number } {
  if (model === 'fcn') return { net: buildModel('fcn'), size: 256 };
  return { net: buildModel('unet', { inputSize: 128, ...getPreset('sunnybrook-unet').recipe!.unet }), size: 128 };
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Seeded images in [0, 1): one batch, channels last. */
function batchData(batch: number, size: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1).dataSync() as Float32Array);
}

type Ort = typeof import('onnxruntime-node');

async function loadOrt(): Promise<Ort | undefined> {
  try {
    return await import('onnxruntime-node');
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds of `runs` lvseg forward passes and as many onnxruntime runs, alternating (after one
 * warm-up each), as medians.
 */
async function alternate(
  lvseg: () => void,
  onnx: () => Promise<void>,
  runs: number,
): Promise<{
  lvsegMs: number;
  onnxMs: number;
  lvsegCpuMs: number;
  onnxCpuMs: number;
  lvsegRuns: number[];
  onnxRuns: number[];
}> {
  lvseg();
  await onnx();
  const a: number[] = [];
  const b: number[] = [];
  const aCpu: number[] = [];
  const bCpu: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  for (let i = 0; i < runs; i++) {
    let cpu = process.cpuUsage();
    let start = performance.now();
    lvseg();
    a.push(performance.now() - start);
    aCpu.push(cpuMs(cpu));
    cpu = process.cpuUsage();
    start = performance.now();
    await onnx();
    b.push(performance.now() - start);
    bCpu.push(cpuMs(cpu));
  }
  return {
    lvsegMs: median(a),
    onnxMs: median(b),
    lvsegCpuMs: median(aCpu),
    onnxCpuMs: median(bCpu),
    lvsegRuns: a.map((v) => round(v)),
    onnxRuns: b.map((v) => round(v)),
  };
}

async function runNode(emit: Emit, args: string[], ort: Ort): Promise<void> {
  const models = option(args, 'models', ONNX_MODELS.join(',')).split(',') as OnnxModelName[];
  const unknown = models.filter((m) => !(ONNX_MODELS as readonly string[]).includes(m));
  if (unknown.length) throw new Error(`onnx bench: unknown model ${unknown.join(', ')}; use ${ONNX_MODELS.join(', ')}`);
  const backends = option(args, 'backends', 'onednn,wasm').split(',') as BackendName[];
  const batches = option(args, 'batches', '1,8').split(',').map(Number);
  const runs = Number(option(args, 'runs', '7'));
  const threadsOption = Number(option(args, 'threads', '0'));
  const threads = threadsOption > 0 ? threadsOption : coreCount();
  const spinning = args.includes('--onnxruntime-spinning');
  const isa = option(args, 'isa', '');
  if (isa) process.env.ONEDNN_MAX_CPU_ISA = isa.toUpperCase();
  if (backends.includes('onednn')) setOnednnThreads(threadsOption);
  for (const model of models) {
    for (const name of backends) {
      const selected = await selectBackend(name);
      const { net: built, size } = buildNamed(model);
      const net = await inferenceModel(built);
      const bytes = exportOnnx(net);
      if (net !== built) built.dispose();
      // Its pool's threads wait passively unless --onnxruntime-spinning, as lvseg's OpenMP threads and the PyTorch
      // peer's do here: threads that spin while they wait take the shared cores from everything else.
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
      });
      const addon = selected.name === 'onednn' ? onednnAddon() : undefined;
      const cpu = {
        model: cpuModel(),
        cores: coreCount(),
        max_cpu_isa: requestedIsa() ?? 'all',
        lvseg_threads: addon ? addon.setNumThreads(0) : 1,
        onednn_isa: addon ? addon.cpuInfo().onednnIsa : 'none',
        onnxruntime_threads: threads,
        onnxruntime_spinning: spinning,
      };
      for (const batch of batches) {
        const data = batchData(batch, size);
        const x = tf.tensor4d(data, [batch, size, size, 1]);
        const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, [batch, size, size, 1]) };
        const t = await alternate(
          () =>
            tf.tidy(() => {
              (net.predict(x) as tf.Tensor).dataSync();
            }),
          async () => {
            await session.run(feeds);
          },
          runs,
        );
        x.dispose();
        emit({
          bench: 'onnx',
          model,
          size,
          batch,
          backend: selected.name,
          lvseg_ms: round(t.lvsegMs),
          onnxruntime_ms: round(t.onnxMs),
          speedup: round(t.onnxMs / t.lvsegMs, 2),
          lvseg_cpu_ms: round(t.lvsegCpuMs),
          onnxruntime_cpu_ms: round(t.onnxCpuMs),
          cpu_speedup: round(t.onnxCpuMs / t.lvsegCpuMs, 2),
          lvseg_images_per_s: round((batch * 1000) / t.lvsegMs),
          onnxruntime_images_per_s: round((batch * 1000) / t.onnxMs),
          runs,
          statistic: 'median',
          lvseg_runs_ms: t.lvsegRuns,
          onnxruntime_runs_ms: t.onnxRuns,
          onnxruntime: `onnxruntime-node ${ort.env.versions.node} cpu`,
          cpu,
        });
      }
      await session.release();
      net.dispose();
    }
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
};

/** A static server of `dir` on a free loopback port, cross-origin isolated (COOP + COEP), so both runtimes may use
 * threads. */
function serveIsolated(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` });
    }),
  );
}

const CHROMIUM = '/usr/bin/chromium';
const BUNDLED = 'lv-sunnybrook';

/** The bundled model in Chromium: the page's tfjs wasm backend beside onnxruntime-web on its ONNX export. */
async function runBrowser(emit: Emit, args: string[]): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    emit({
      bench: 'onnx-web',
      skipped: `${CHROMIUM} not found (apt-get install -y chromium, or run scripts/setup.sh as root)`,
    });
    return;
  }
  const batches = option(args, 'batches', '1,8').split(',').map(Number);
  const runs = Number(option(args, 'runs', '7'));
  const dir = mkdtempSync(join(tmpdir(), 'lvseg-onnx-web-'));
  let server: Server | undefined;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
  try {
    await selectBackend('cpu');
    const model = await loadInferenceModel(BUNDLED);
    writeFileSync(join(dir, 'model.onnx'), exportOnnx(model));
    model.dispose();
    const modelDir = join(resolveModelJson(BUNDLED), '..');
    cpSync(modelDir, join(dir, 'model'), { recursive: true });
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(PACKAGE_ROOT, 'bench', 'web', 'onnx-page.ts')],
      outfile: join(dir, 'page.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      logLevel: 'warning',
    });
    for (const [from, names] of [
      [
        'node_modules/@tensorflow/tfjs-backend-wasm/dist',
        ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'],
      ],
      ['node_modules/onnxruntime-web/dist', ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs']],
    ] as const) {
      for (const n of names) cpSync(join(PACKAGE_ROOT, from, n), join(dir, n));
    }
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>lvseg onnx bench</title><script type="module" ' +
        'src="page.js"></script>',
    );
    const served = await serveIsolated(dir);
    server = served.server;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(served.url);
    await page.waitForFunction(() => 'lvsegOnnxBench' in window, undefined, { timeout: 60_000 });
    const result = await page.evaluate(
      ({ batches, runs }) =>
        (
          window as unknown as { lvsegOnnxBench(o: { batches: number[]; runs: number }): Promise<unknown[]> }
        ).lvsegOnnxBench({ batches, runs }),
      { batches, runs },
    );
    for (const record of result as Record<string, unknown>[])
      emit({
        bench: 'onnx-web',
        model: BUNDLED,
        browser: `chromium ${browser.version()}`,
        cores: coreCount(),
        ...record,
      });
    if (errors.length) emit({ bench: 'onnx-web', page_errors: errors });
  } finally {
    await browser.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(emit: Emit, args: string[]): Promise<void> {
  if (!args.includes('--browser-only')) {
    const ort = await loadOrt();
    if (!ort)
      emit({ bench: 'onnx', skipped: 'onnxruntime-node is not installed (npm ci with ONNXRUNTIME_NODE_INSTALL=skip)' });
    else await runNode(emit, args, ort);
  }
  if (!args.includes('--no-browser')) await runBrowser(emit, args);
}

export const benchmark: Benchmark = { name: 'onnx', run };
