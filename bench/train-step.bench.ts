import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { onednnFallbackCounts, setOnednnThreads } from '../src/backends/onednn/index.js';
import { createOptimizer } from '../src/backends/optimizers.js';
import { selectBackend, type BackendName } from '../src/backends/select.js';
import { buildModel } from '../src/models/build.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { sparseCrossEntropy } from '../src/training/losses.js';
import type { Benchmark, Emit } from './main.js';
import { kernelTotals, median } from './stats.js';

/**
 * One training step of the lab's networks (256x256x1, 2 classes, sparse softmax cross-entropy from
 * logits, Adam 1e-3) per backend and batch size, inference images/s, and the PyTorch peer on the same
 * machine in the same run, with ratio = lvseg / PyTorch. Options (after `npm run bench -- train-step`):
 * --backends onednn,wasm  --batches 1,8  --models fcn,dense,unet,unet-bn,unet-small  --size 256 (input side;
 * the lab's fcn and dense are 256 only)  --steps N  --threads N (onednn and PyTorch; default all cores)
 * --profile (per-kernel times of one step on the first backend).
 */
const MODELS = ['fcn', 'dense', 'unet', 'unet-bn', 'unet-small'] as const;
type ModelName = (typeof MODELS)[number];

/** lvseg's own networks, as `lvseg train` builds them; `unet-bn` is `unet` with batch normalization. */
function buildBenchModel(model: ModelName, size: number): tfl.LayersModel {
  switch (model) {
    case 'fcn': return buildModel('fcn');
    case 'dense': return buildModel('dense');
    case 'unet': return buildModel('unet', { inputSize: size });
    case 'unet-bn': return buildModel('unet', { inputSize: size, batchNorm: true });
    case 'unet-small': return buildModel('unet-small', { inputSize: size });
  }
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

interface Batch { x: tf.Tensor4D; y: tf.Tensor3D }

function makeBatch(batch: number, size: number): Batch {
  return tf.tidy(() => ({
    x: tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D,
    y: tf.cast(tf.greater(tf.randomUniform([batch, size, size], 0, 1, 'float32', 2), 0.95), 'int32') as tf.Tensor3D,
  }));
}

/** One step: forward, loss, gradients, Adam update; returns the loss (reading it waits for the step). */
function trainStep(net: tfl.LayersModel, optimizer: tf.Optimizer, { x, y }: Batch): number {
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const cost = optimizer.minimize(() => sparseCrossEntropy(net.apply(x, { training: true }) as tf.Tensor4D, y), true, vars)!;
  const loss = cost.dataSync()[0];
  cost.dispose();
  return loss;
}

async function timeTraining(model: ModelName, size: number, batch: number, steps: number): Promise<{ stepMs: number; tensorsFlat: boolean; loss: number }> {
  const net = buildBenchModel(model, size);
  const optimizer = createOptimizer('adam', 1e-3);
  const data = makeBatch(batch, size);
  const { x, y } = data;
  let loss = 0;
  for (let i = 0; i < 2; i++) loss = trainStep(net, optimizer, data);
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    loss = trainStep(net, optimizer, data);
    times.push(performance.now() - start);
  }
  const stepMs = median(times);
  const tensorsFlat = tf.memory().numTensors === tensorsBefore;
  tf.dispose([x, y]);
  optimizer.dispose();
  net.dispose();
  return { stepMs, tensorsFlat, loss };
}

async function timeInference(model: ModelName, size: number, batch: number, steps: number): Promise<number> {
  const net = buildBenchModel(model, size);
  const { x, y } = makeBatch(batch, size);
  // Nothing is returned from tf.tidy: it would walk a returned typed array value by value.
  tf.tidy(() => { (net.predict(x) as tf.Tensor).dataSync(); });
  const times: number[] = [];
  for (let i = 0; i < Math.max(3, steps); i++) {
    const start = performance.now();
    tf.tidy(() => { (net.predict(x) as tf.Tensor).dataSync(); });
    times.push(performance.now() - start);
  }
  tf.dispose([x, y]);
  net.dispose();
  return batch / (median(times) / 1000);
}

/** Per-kernel milliseconds of one training step (tf.profile, best of three), largest first. */
async function profileStep(model: ModelName, size: number, batch: number): Promise<{ kernel: string; ms: number; calls: number }[]> {
  const net = buildBenchModel(model, size);
  const optimizer = createOptimizer('adam', 1e-3);
  const data = makeBatch(batch, size);
  const { x, y } = data;
  trainStep(net, optimizer, data);
  // Three profiled steps, each kernel's smallest total kept: a step that other processes interrupt
  // charges the pause to whichever kernel was running.
  const totals = new Map<string, { ms: number; calls: number }>();
  for (let run = 0; run < 3; run++) {
    const info = await tf.profile(() => { trainStep(net, optimizer, data); });
    for (const [name, t] of kernelTotals(info.kernels)) {
      const best = totals.get(name);
      if (!best || t.ms < best.ms) totals.set(name, t);
    }
  }
  tf.dispose([x, y]);
  optimizer.dispose();
  net.dispose();
  return [...totals].map(([kernel, t]) => ({ kernel, ms: Math.round(t.ms * 10) / 10, calls: t.calls })).sort((a, b) => b.ms - a.ms);
}

const PEER = join(PACKAGE_ROOT, '..', 'shared', 'peers', 'torch_fcn_step.py');

async function runPeer(model: ModelName, size: number, batch: number, threads: number): Promise<{ step_ms: number; version: string; threads: number } | undefined> {
  // The peer has the lab's two networks at 256x256 only.
  if ((model !== 'fcn' && model !== 'dense') || size !== 256) return undefined;
  if (!existsSync(PEER) || !existsSync('/usr/bin/python3')) return undefined;
  try {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [PEER, '--batch', String(batch), '--model', model, '--steps', '5', '--threads', String(threads)],
      { timeout: 600_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { step_ms: number; version: string; threads: number };
  } catch {
    return undefined;
  }
}

async function run(emit: Emit, args: string[]): Promise<void> {
  const backends = option(args, 'backends', 'onednn,wasm').split(',') as BackendName[];
  const batches = option(args, 'batches', '1,8').split(',').map(Number);
  const models = option(args, 'models', 'fcn,dense').split(',') as ModelName[];
  const unknown = models.filter((m) => !(MODELS as readonly string[]).includes(m));
  if (unknown.length) throw new Error(`train-step bench: unknown model ${unknown.join(', ')}; use ${MODELS.join(', ')}`);
  const size = Number(option(args, 'size', '256'));
  if ((models.includes('fcn') || models.includes('dense')) && size !== 256) throw new Error('train-step bench: the lab\'s fcn and dense take --size 256 only');
  const steps = Number(option(args, 'steps', '5'));
  const threads = Number(option(args, 'threads', '0'));
  if (backends.includes('onednn') || backends.includes('auto')) setOnednnThreads(threads);
  for (const model of models) {
    for (const batch of batches) {
      // The peer runs before and after lvseg and the ratio uses the mean of both, so load from other
      // processes that changes during the run weighs on both sides alike.
      const before = await runPeer(model, size, batch, threads);
      const results: Record<string, unknown>[] = [];
      for (const name of backends) {
        const selected = await selectBackend(name);
        // The pure-JS cpu backend takes minutes per FCN step: one step is all it gets.
        const n = selected.name === 'cpu' ? 1 : steps;
        const r = await timeTraining(model, size, batch, n);
        const ips = await timeInference(model, size, batch, n);
        results.push({
          bench: 'train-step', model, size, backend: selected.name, batch, step_ms: Math.round(r.stepMs * 10) / 10,
          per_image_ms: Math.round((r.stepMs / batch) * 10) / 10, steps: n, statistic: 'median', tensors_flat: r.tensorsFlat,
          loss: r.loss, stepMs: r.stepMs,
        });
        results.push({ bench: 'inference', model, size, backend: selected.name, batch, images_per_s: Math.round(ips * 10) / 10 });
      }
      const after = await runPeer(model, size, batch, threads);
      const peers = [before, after].filter((p) => p !== undefined);
      const peerMs = peers.length ? peers.reduce((sum, p) => sum + p.step_ms, 0) / peers.length : undefined;
      if (peerMs !== undefined) {
        emit({ bench: 'train-step', model, backend: 'pytorch', version: peers[0].version, threads: peers[0].threads, batch,
          step_ms: Math.round(peerMs * 10) / 10, runs_ms: peers.map((p) => p.step_ms) });
      }
      for (const { stepMs, ...record } of results) {
        const ratio = peerMs !== undefined && typeof stepMs === 'number' ? { pytorch_ms: Math.round(peerMs * 10) / 10, ratio: Math.round((stepMs / peerMs) * 100) / 100 } : {};
        emit({ ...record, ...ratio });
      }
    }
  }
  if (args.includes('--profile')) {
    for (const model of models) {
      await selectBackend(backends[0]);
      const kernels = await profileStep(model, size, batches[0]);
      emit({ bench: 'train-step-profile', model, size, backend: backends[0], batch: batches[0], kernels, cpu_fallbacks: onednnFallbackCounts() });
    }
  }
}

export const benchmark: Benchmark = { name: 'train-step', run };
