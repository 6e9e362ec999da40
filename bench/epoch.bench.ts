/**
 * The sunnybrook-unet recipe's epoch end to end, as `lvseg train --preset sunnybrook-unet` runs it on the
 * Sunnybrook PNGs (260 training slices, 266 validation slices), and where its milliseconds go: waiting for
 * the next batch (augmentation and batching), the steps, the training metrics, the per-step callbacks,
 * validation, the epoch-end callbacks (checkpoint, best model, panel, history). Beside it the PyTorch peer
 * of the same recipe (bench/peers/torch_epoch.py: same network, augmentation, batch, loss and optimizer),
 * run before and after lvseg in the same bench run; ratio = lvseg / PyTorch, each side's median epoch
 * after its first. Options (after `npm run bench -- epoch`): --epochs N (default 3) --data DIR (a folder
 * with training/ and validation/, default ../shared/data/sunnybrook/png) --precision float32|bfloat16
 * (default: the preset's, bfloat16; the peer runs float32 either way). Skipped with a message when the
 * data are missing; the peer is skipped with a message when /usr/bin/python3 has no torch.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../src/paths.js';
import type { Sample } from '../src/data/sample.js';
import { stackSamples } from '../src/data/pipeline.js';
import { resolveTrainConfig } from '../src/training/config.js';
import type { EpochProfile } from '../src/training/train.js';
import { rngAt } from '../src/transforms/compose.js';
import { trainingTransform } from '../src/transforms/preprocess.js';
import { loadTrainingData, runTraining } from '../src/workflows/train-run.js';
import type { Benchmark } from './main.js';
import { median } from './stats.js';

const PEER = join(PACKAGE_ROOT, 'bench', 'peers', 'torch_epoch.py');
const PYTHON = '/usr/bin/python3';

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
}

function peerAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface PeerResult {
  version: string;
  threads: number;
  epochs_ms: number[];
  cpus_ms: number[];
  parts_ms: Record<string, number>[];
}

/** The slices as the peer reads them: raw float32 images and uint8 labels, row-major, one file each. */
function writePeerData(dir: string, train: readonly Sample[], val: readonly Sample[]): void {
  const { height, width } = train[0]!;
  for (const [name, set] of [
    ['train', train],
    ['val', val],
  ] as const) {
    const batch = stackSamples(set);
    writeFileSync(join(dir, `${name}_images.f32`), batch.images);
    writeFileSync(join(dir, `${name}_labels.u8`), batch.labels);
  }
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ height, width, train: train.length, val: val.length }));
}

async function runPeer(dir: string, epochs: number): Promise<PeerResult> {
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const { stdout } = await promisify(execFile)(PYTHON, [PEER, dir, '--epochs', String(epochs)], {
    timeout: 1_800_000,
    env,
    cwd: join(PACKAGE_ROOT, 'bench', 'peers'),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as PeerResult;
}

/** The median over the epochs after the first (which pays for warm-up). */
function steadyMedian(values: number[]): number {
  return median(values.length > 1 ? values.slice(1) : values);
}

/** The median of each part over the epochs given. */
function medianParts(parts: Record<string, number>[]): Record<string, number> {
  return Object.fromEntries(Object.keys(parts[0]!).map((k) => [k, Math.round(median(parts.map((p) => p[k]!)))]));
}

export const benchmark: Benchmark = {
  name: 'epoch',
  async run(emit, args) {
    const data = option(args, 'data', join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'png'));
    const epochs = Number(option(args, 'epochs', '3'));
    if (!existsSync(join(data, 'training')) || !existsSync(join(data, 'validation'))) {
      emit({ bench: 'epoch', skipped: `no Sunnybrook PNGs in ${data} (training/ and validation/); pass --data DIR` });
      return;
    }
    const precision = option(args, 'precision', '');
    const flags = {
      preset: 'sunnybrook-unet',
      train: join(data, 'training'),
      val: join(data, 'validation'),
      epochs,
      ...(precision ? { precision } : {}),
    };
    const config = resolveTrainConfig(flags);
    const { train, val } = await loadTrainingData(config);
    const work = mkdtempSync(join(tmpdir(), 'lvseg-epoch-bench-'));
    try {
      const peer = peerAvailable();
      if (!peer)
        emit({
          bench: 'epoch',
          backend: 'pytorch',
          skipped:
            `${PYTHON} cannot import torch and numpy (apt-get install -y python3-torch); the PyTorch peer is ` +
            `left out`,
        });
      if (peer) writePeerData(work, train, val);
      const before = peer ? await runPeer(work, epochs) : undefined;

      // The augmentation and batching of one epoch alone, in this process (part of the epoch's `data`).
      const transform = trainingTransform(config.augment ?? [], config.preprocessing, 'augment');
      const augmentStart = performance.now();
      const drawn = train.map((s, i) => transform(s, rngAt(1, i)));
      const augmentMs = performance.now() - augmentStart;
      const batchStart = performance.now();
      for (let i = 0; i < drawn.length; i += config.batchSize) stackSamples(drawn.slice(i, i + config.batchSize));
      const batchMs = performance.now() - batchStart;

      const profile: EpochProfile[] = [];
      const started = performance.now();
      const run = await runTraining({ ...config, out: join(work, 'run') }, undefined, {
        progress: { stream: { write: () => true }, bar: false },
        warn: () => undefined,
        profile,
      });
      const runMs = performance.now() - started;
      const after = peer ? await runPeer(work, epochs) : undefined;

      const lvsegMs = steadyMedian(profile.map((p) => p.total));
      const lvsegCpuMs = steadyMedian(profile.map((p) => p.cpu));
      const parts = medianParts(
        profile.slice(profile.length > 1 ? 1 : 0).map(({ total: _total, cpu: _cpu, ...p }) => p),
      );
      emit({
        bench: 'epoch',
        recipe: 'sunnybrook-unet',
        backend: run.config.backend,
        precision: run.config.precision,
        batch: config.batchSize,
        train: train.length,
        val: val.length,
        epoch_ms: Math.round(lvsegMs),
        cpu_ms: Math.round(lvsegCpuMs),
        epochs_ms: profile.map((p) => Math.round(p.total)),
        parts_ms: parts,
        augment_alone_ms: Math.round(augmentMs),
        batching_alone_ms: Math.round(batchMs),
        run_ms: Math.round(runMs),
        outside_epochs_ms: Math.round(runMs - profile.reduce((n, p) => n + p.total, 0)),
        cores: availableParallelism(),
      });
      const peers = [before, after].filter((p): p is PeerResult => p !== undefined);
      if (peers.length > 0) {
        const mean = (values: number[]): number => values.reduce((n, v) => n + v, 0) / values.length;
        // the peer runs before and after lvseg: the mean of both evens out load that changed meanwhile
        const peerMs = mean(peers.map((p) => steadyMedian(p.epochs_ms)));
        const peerCpuMs = mean(peers.map((p) => steadyMedian(p.cpus_ms)));
        emit({
          bench: 'epoch',
          recipe: 'sunnybrook-unet',
          backend: 'pytorch',
          version: peers[0]!.version,
          threads: peers[0]!.threads,
          batch: config.batchSize,
          epoch_ms: Math.round(peerMs),
          cpu_ms: Math.round(peerCpuMs),
          runs_ms: peers.map((p) => Math.round(steadyMedian(p.epochs_ms))),
          parts_ms: medianParts(peers.flatMap((p) => (p.parts_ms.length > 1 ? p.parts_ms.slice(1) : p.parts_ms))),
        });
        const round2 = (v: number): number => Math.round(v * 100) / 100;
        emit({
          bench: 'epoch',
          recipe: 'sunnybrook-unet',
          ratio: round2(lvsegMs / peerMs),
          cpu_ratio: round2(lvsegCpuMs / peerCpuMs),
          note: 'lvseg / PyTorch per epoch, same run (wall, CPU time)',
        });
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
