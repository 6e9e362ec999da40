import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  onednnAddon,
  onednnFallbackCounts,
  PRECISIONS,
  setOnednnPrecision,
  setOnednnThreads,
  type ConvPrecisionName,
} from '../src/backends/onednn/index.js';
import { createOptimizer } from '../src/backends/optimizers.js';
import { selectBackend, type BackendName } from '../src/backends/select.js';
import { buildModel } from '../src/models/build.js';
import { inferenceModel } from '../src/models/fold.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { fuseBatchNormTraining } from '../src/training/batch-norm.js';
import { skipInputGradient } from '../src/training/input-conv.js';
import { sparseCrossEntropy } from '../src/losses/losses.js';
import {
  atenCapabilityFor,
  coreCount,
  cpuModel,
  isaAbove,
  peakRssMeter,
  probeDispatch,
  requestedIsa,
  type CpuRecord,
  type Dispatch,
} from './machine.js';
import type { Benchmark, Emit } from './main.js';
import { kernelTotals, median } from './stats.js';

/**
 * One training step of the lab's networks (256x256x1, 2 classes, sparse softmax cross-entropy from
 * logits, Adam 1e-3) per backend and batch size, inference images/s, and the PyTorch peer on the same
 * machine in the same run, with ratio = lvseg / PyTorch. Options (after `npm run bench -- train-step`):
 * --backends onednn,wasm  --batches 1,8  --models fcn,dense,unet,unet-bn,unet-small  --size 256 (input side;
 * the lab's fcn and dense are 256 only)  --steps N  --threads N (onednn and PyTorch; default all cores)
 * --isa avx2 (caps oneDNN for both sides, as ONEDNN_MAX_CPU_ISA=AVX2 does, and PyTorch's own kernels with
 * ATEN_CPU_CAPABILITY)  --profile (per-kernel times of one step on the first backend)  --batch-norm fused,stock
 * (the fused training-mode batch norm lvseg trains with, tfjs's own composition, or both in turn; default fused).
 * Every line records the CPU and the ISA each side dispatched to (checked with ONEDNN_VERBOSE), and the
 * training lines the peak resident memory of a step.
 */
export const MODELS = ['fcn', 'dense', 'unet', 'unet-bn', 'unet-small'] as const;
export type ModelName = (typeof MODELS)[number];

/**
 * lvseg's own networks, as `lvseg train` builds and trains them (training-mode batch norm through the
 * backend's fused kernels, `stockBatchNorm`: tfjs's own composition; no gradient for the input images); `unet-bn`
 * is `unet` with batch normalization.
 */
export function buildBenchModel(model: ModelName, size: number, stockBatchNorm = false): tfl.LayersModel {
  const net = (() => {
    switch (model) {
      case 'fcn':
        return buildModel('fcn');
      case 'dense':
        return buildModel('dense');
      case 'unet':
        return buildModel('unet', { inputSize: size });
      case 'unet-bn':
        return buildModel('unet', { inputSize: size, batchNorm: true });
      case 'unet-small':
        return buildModel('unet-small', { inputSize: size });
    }
  })();
  if (!stockBatchNorm) fuseBatchNormTraining(net);
  skipInputGradient(net);
  return net;
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor3D;
}

export function makeBatch(batch: number, size: number): Batch {
  return tf.tidy(() => ({
    x: tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D,
    y: tf.cast(tf.greater(tf.randomUniform([batch, size, size], 0, 1, 'float32', 2), 0.95), 'int32') as tf.Tensor3D,
  }));
}

/** One step: forward, loss, gradients, Adam update; returns the loss (reading it waits for the step). */
export function trainStep(net: tfl.LayersModel, optimizer: tf.Optimizer, { x, y }: Batch): number {
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const cost = optimizer.minimize(
    () => sparseCrossEntropy(net.apply(x, { training: true }) as tf.Tensor4D, y),
    true,
    vars,
  )!;
  const loss = cost.dataSync()[0];
  cost.dispose();
  return loss;
}

interface TrainingTime {
  stepMs: number;
  cpuMs: number;
  tensorsFlat: boolean;
  loss: number;
  peakRssMb: number;
  peakRssFirstMb: number;
  peakRssLastMb: number;
}

/**
 * CPU milliseconds (all threads, user + system) that f takes. On a machine shared with other jobs the
 * wall time of a step swings 2-3x with their load; the CPU time it costs (OpenMP threads wait passively,
 * so waiting costs none) moves much less, and is compared beside it.
 */
function cpuMs(f: () => void): number {
  const start = process.cpuUsage();
  f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function timeTraining(
  model: ModelName,
  size: number,
  batch: number,
  steps: number,
  stockBatchNorm: boolean,
): Promise<TrainingTime> {
  const net = buildBenchModel(model, size, stockBatchNorm);
  const optimizer = createOptimizer('adam', 1e-3);
  const data = makeBatch(batch, size);
  const { x, y } = data;
  let loss = 0;
  for (let i = 0; i < 2; i++) loss = trainStep(net, optimizer, data);
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const peaks: number[] = [];
  const rss = peakRssMeter();
  for (let i = 0; i < steps; i++) {
    rss.start();
    const start = performance.now();
    cpuTimes.push(
      cpuMs(() => {
        loss = trainStep(net, optimizer, data);
      }),
    );
    times.push(performance.now() - start);
    peaks.push(rss.peakMb());
  }
  const stepMs = median(times);
  const tensorsFlat = tf.memory().numTensors === tensorsBefore;
  tf.dispose([x, y]);
  optimizer.dispose();
  net.dispose();
  return {
    stepMs,
    cpuMs: median(cpuTimes),
    tensorsFlat,
    loss,
    peakRssMb: median(peaks),
    peakRssFirstMb: peaks[0],
    peakRssLastMb: peaks[peaks.length - 1],
  };
}

/** Images per second of the model's forward pass as `lvseg predict` runs it: its inference form (models/fold.ts). */
async function timeInference(
  model: ModelName,
  size: number,
  batch: number,
  steps: number,
): Promise<{ ips: number; cpuIps: number }> {
  const built = buildBenchModel(model, size);
  const net = await inferenceModel(built);
  if (net !== built) built.dispose();
  const { x, y } = makeBatch(batch, size);
  // Nothing is returned from tf.tidy: it would walk a returned typed array value by value.
  tf.tidy(() => {
    (net.predict(x) as tf.Tensor).dataSync();
  });
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < Math.max(3, steps); i++) {
    const start = performance.now();
    cpuTimes.push(
      cpuMs(() =>
        tf.tidy(() => {
          (net.predict(x) as tf.Tensor).dataSync();
        }),
      ),
    );
    times.push(performance.now() - start);
  }
  tf.dispose([x, y]);
  net.dispose();
  return { ips: batch / (median(times) / 1000), cpuIps: batch / (median(cpuTimes) / 1000) };
}

/** Per-kernel milliseconds of one training step (tf.profile, best of three), largest first. */
async function profileStep(
  model: ModelName,
  size: number,
  batch: number,
  stockBatchNorm: boolean,
): Promise<{ kernel: string; ms: number; calls: number }[]> {
  const net = buildBenchModel(model, size, stockBatchNorm);
  const optimizer = createOptimizer('adam', 1e-3);
  const data = makeBatch(batch, size);
  const { x, y } = data;
  trainStep(net, optimizer, data);
  // Three profiled steps, each kernel's smallest total kept: a step that other processes interrupt
  // charges the pause to whichever kernel was running.
  const totals = new Map<string, { ms: number; calls: number }>();
  for (let run = 0; run < 3; run++) {
    const info = await tf.profile(() => {
      trainStep(net, optimizer, data);
    });
    for (const [name, t] of kernelTotals(info.kernels)) {
      const best = totals.get(name);
      if (!best || t.ms < best.ms) totals.set(name, t);
    }
  }
  tf.dispose([x, y]);
  optimizer.dispose();
  net.dispose();
  return [...totals]
    .map(([kernel, t]) => ({ kernel, ms: Math.round(t.ms * 10) / 10, calls: t.calls }))
    .sort((a, b) => b.ms - a.ms);
}

const PEER = join(PACKAGE_ROOT, 'bench', 'peers', 'torch_step.py');
const PYTHON = '/usr/bin/python3';

interface PeerResult {
  step_ms: number;
  cpu_ms?: number;
  version: string;
  threads: number;
  images_per_s?: number;
  images_per_cpu_s?: number;
  aten_capability?: string;
  peak_rss_mb?: number;
  peak_rss_first_mb?: number;
  peak_rss_last_mb?: number;
}

/**
 * The peer's environment: the same OpenMP wait policy as lvseg's (passive unless set; spinning threads
 * made PyTorch's FCN step 4x slower on this shared 2-core machine, 2.8 s vs 0.63 s) and, under a oneDNN
 * cap, ATEN_CPU_CAPABILITY for its own kernels.
 */
function peerEnv(): NodeJS.ProcessEnv {
  const aten = atenCapabilityFor(requestedIsa());
  return {
    ...process.env,
    OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'passive',
    ...(aten ? { ATEN_CPU_CAPABILITY: aten } : {}),
  };
}

function peerArgs(model: ModelName, size: number, batch: number, threads: number, steps: number): string[] {
  return [
    PEER,
    '--model',
    model,
    '--size',
    String(size),
    '--batch',
    String(batch),
    '--steps',
    String(steps),
    '--threads',
    String(threads),
    '--inference',
  ];
}

function peerAvailable(): boolean {
  return existsSync(PEER) && existsSync(PYTHON);
}

async function runPeer(
  model: ModelName,
  size: number,
  batch: number,
  threads: number,
  steps: number,
): Promise<PeerResult | undefined> {
  if (!peerAvailable()) return undefined;
  try {
    const { stdout } = await promisify(execFile)(PYTHON, peerArgs(model, size, batch, threads, steps), {
      timeout: 600_000,
      env: peerEnv(),
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as PeerResult;
  } catch {
    return undefined;
  }
}

/**
 * What each side dispatched to for a model: one step and one inference under ONEDNN_VERBOSE, lvseg in a
 * child process (dispatch-probe.ts) and the peer with --steps 1. Fails the bench when a side ran above
 * the ISA asked for.
 */
async function probeModel(
  model: ModelName,
  size: number,
  threads: number,
  onednn: boolean,
): Promise<{ lvseg?: Dispatch; pytorch?: Dispatch }> {
  const probe = fileURLToPath(new URL('./dispatch-probe.js', import.meta.url));
  const lvseg = onednn
    ? await probeDispatch(process.execPath, [probe, model, String(size), String(threads)], process.env)
    : undefined;
  const pytorch = peerAvailable()
    ? await probeDispatch(PYTHON, peerArgs(model, size, 1, threads, 1), peerEnv())
    : undefined;
  const cap = requestedIsa();
  for (const [side, d] of [
    ['lvseg', lvseg],
    ['pytorch', pytorch],
  ] as const) {
    if (cap && d?.highest && isaAbove(d.highest, cap)) {
      throw new Error(
        `train-step bench: ${side} ran ${d.highest} kernels (${d.impls.join(' ')}) under ONEDNN_MAX_CPU_ISA=${cap}`,
      );
    }
  }
  return { lvseg, pytorch };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

async function run(emit: Emit, args: string[]): Promise<void> {
  const backends = option(args, 'backends', 'onednn,wasm').split(',') as BackendName[];
  const batches = option(args, 'batches', '1,8').split(',').map(Number);
  const models = option(args, 'models', 'fcn,dense').split(',') as ModelName[];
  const unknown = models.filter((m) => !(MODELS as readonly string[]).includes(m));
  if (unknown.length)
    throw new Error(`train-step bench: unknown model ${unknown.join(', ')}; use ${MODELS.join(', ')}`);
  const size = Number(option(args, 'size', '256'));
  if ((models.includes('fcn') || models.includes('dense')) && size !== 256)
    throw new Error("train-step bench: the lab's fcn and dense take --size 256 only");
  const steps = Number(option(args, 'steps', '5'));
  const threads = Number(option(args, 'threads', '0'));
  // --batch-norm fused,stock times both, one after the other, against one PyTorch measurement
  const batchNorms = option(args, 'batch-norm', 'fused').split(',');
  if (batchNorms.some((b) => b !== 'fused' && b !== 'stock'))
    throw new Error('train-step bench: --batch-norm takes fused, stock or both');
  // oneDNN reads its cap when the addon first uses it, after this; the peers inherit it.
  const isaOption = option(args, 'isa', '');
  if (isaOption) process.env.ONEDNN_MAX_CPU_ISA = isaOption.toUpperCase();
  if (backends.includes('onednn') || backends.includes('auto')) setOnednnThreads(threads);
  const precision = option(args, 'precision', 'float32') as ConvPrecisionName;
  if (!PRECISIONS.includes(precision))
    throw new Error(`train-step bench: --precision takes ${PRECISIONS.join(' or ')}`);
  setOnednnPrecision(precision);
  const cap = requestedIsa();
  for (const model of models) {
    const dispatch = await probeModel(model, size, threads, backends.includes('onednn') || backends.includes('auto'));
    for (const batch of batches) {
      // The peer runs before and after lvseg and the ratio uses the mean of both, so load from other
      // processes that changes during the run weighs on both sides alike.
      const before = await runPeer(model, size, batch, threads, steps);
      const results: Record<string, unknown>[] = [];
      for (const name of backends)
        for (const batchNorm of batchNorms) {
          const selected = await selectBackend(name);
          // The pure-JS cpu backend takes minutes per FCN step: one step is all it gets.
          const n = selected.name === 'cpu' ? 1 : steps;
          const cpu = lvsegCpu(selected.name, dispatch.lvseg);
          const r = await timeTraining(model, size, batch, n, batchNorm === 'stock');
          results.push({
            bench: 'train-step',
            model,
            size,
            backend: selected.name,
            ...(batchNorms.length > 1 ? { batch_norm: batchNorm } : {}),
            batch,
            step_ms: round1(r.stepMs),
            per_image_ms: round1(r.stepMs / batch),
            cpu_ms: round1(r.cpuMs),
            steps: n,
            statistic: 'median',
            tensors_flat: r.tensorsFlat,
            peak_rss_mb: round1(r.peakRssMb),
            peak_rss_first_mb: round1(r.peakRssFirstMb),
            peak_rss_last_mb: round1(r.peakRssLastMb),
            loss: r.loss,
            cpu,
            stepMs: r.stepMs,
            cpuMs: r.cpuMs,
          });
          // inference does not depend on the training-mode batch norm: one record
          if (batchNorm !== batchNorms[0]) continue;
          const inf = await timeInference(model, size, batch, n);
          results.push({
            bench: 'inference',
            model,
            size,
            backend: selected.name,
            batch,
            images_per_s: round1(inf.ips),
            images_per_cpu_s: round1(inf.cpuIps),
            cpu,
            ips: inf.ips,
            cpuIps: inf.cpuIps,
          });
        }
      const after = await runPeer(model, size, batch, threads, steps);
      const peers = [before, after].filter((p) => p !== undefined);
      const mean = (f: (p: PeerResult) => number | undefined): number | undefined => {
        const v = peers.map(f).filter((x) => x !== undefined);
        return v.length ? v.reduce((sum, x) => sum + x, 0) / v.length : undefined;
      };
      const peerMs = mean((p) => p.step_ms);
      const peerCpuMs = mean((p) => p.cpu_ms);
      const peerIps = mean((p) => p.images_per_s);
      const peerCpuIps = mean((p) => p.images_per_cpu_s);
      if (peerMs !== undefined) {
        const cpu: CpuRecord = {
          model: cpuModel(),
          cores: coreCount(),
          threads: peers[0].threads,
          onednn_isa: dispatch.pytorch?.isa ?? 'unknown',
          onednn_impls: dispatch.pytorch?.impls,
          aten_capability: peers[0].aten_capability,
          max_cpu_isa: cap ?? 'all',
          omp_wait_policy: peerEnv().OMP_WAIT_POLICY,
        };
        emit({
          bench: 'train-step',
          model,
          size,
          backend: 'pytorch',
          version: peers[0].version,
          batch,
          step_ms: round1(peerMs),
          runs_ms: peers.map((p) => p.step_ms),
          cpu_ms: peerCpuMs,
          statistic: 'median',
          peak_rss_mb: mean((p) => p.peak_rss_mb),
          peak_rss_first_mb: peers[0].peak_rss_first_mb,
          peak_rss_last_mb: peers[peers.length - 1].peak_rss_last_mb,
          cpu,
        });
        if (peerIps !== undefined) {
          emit({
            bench: 'inference',
            model,
            size,
            backend: 'pytorch',
            version: peers[0].version,
            batch,
            images_per_s: round1(peerIps),
            runs_images_per_s: peers.map((p) => p.images_per_s),
            images_per_cpu_s: peerCpuIps,
            cpu,
          });
        }
      }
      const quotient = (a: unknown, b: number | undefined) =>
        typeof a === 'number' && b !== undefined ? Math.round((a / b) * 100) / 100 : undefined;
      for (const { stepMs, cpuMs: ownCpuMs, ips, cpuIps, ...record } of results) {
        // ratio: step time over PyTorch's (below 1 is faster); speedup: images/s over PyTorch's (above 1 is faster);
        // the cpu_ variants compare CPU time instead of wall time.
        const vsPeer =
          record.bench === 'train-step'
            ? {
                pytorch_ms: peerMs && round1(peerMs),
                ratio: quotient(stepMs, peerMs),
                cpu_ratio: quotient(ownCpuMs, peerCpuMs),
              }
            : {
                pytorch_images_per_s: peerIps && round1(peerIps),
                speedup: quotient(ips, peerIps),
                cpu_speedup: quotient(cpuIps, peerCpuIps),
              };
        emit({ ...record, ...vsPeer });
      }
    }
  }
  if (args.includes('--profile')) {
    for (const model of models) {
      await selectBackend(backends[0]);
      const kernels = await profileStep(model, size, batches[0], batchNorms[0] === 'stock');
      emit({
        bench: 'train-step-profile',
        model,
        size,
        backend: backends[0],
        batch: batches[0],
        kernels,
        cpu_fallbacks: onednnFallbackCounts(),
        cpu: lvsegCpu(backends[0], undefined),
      });
    }
  }
}

/**
 * The CPU record of an lvseg line. On onednn: the ISA oneDNN reports (after any cap) and, from the
 * verbose probe, the implementations it ran; `native_isa` is what lvseg's own loops (pooling, elementwise,
 * Adam…) were compiled for, which ONEDNN_MAX_CPU_ISA does not change.
 */
function lvsegCpu(backend: string, dispatch: Dispatch | undefined): CpuRecord {
  const base = { model: cpuModel(), cores: coreCount(), max_cpu_isa: requestedIsa() ?? 'all' };
  const addon = backend === 'onednn' ? onednnAddon() : undefined;
  if (!addon)
    return { ...base, threads: backend === 'wasm' || backend === 'cpu' ? 1 : coreCount(), onednn_isa: 'none' };
  const info = addon.cpuInfo();
  const cap = requestedIsa();
  if (cap && isaAbove(info.onednnIsa, cap)) {
    throw new Error(`train-step bench: oneDNN dispatches to ${info.onednnIsa} although ONEDNN_MAX_CPU_ISA=${cap}`);
  }
  return {
    ...base,
    threads: addon.setNumThreads(0),
    onednn_isa: info.onednnIsa,
    onednn_impls: dispatch?.impls,
    native_isa: info.compiledIsa,
    omp_wait_policy: process.env.OMP_WAIT_POLICY,
  };
}

export const benchmark: Benchmark = { name: 'train-step', run };
