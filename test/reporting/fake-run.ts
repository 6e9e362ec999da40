import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPanel } from '../../src/reporting/panels.js';

/** A disc phantom with a label and a slightly shifted "prediction", for panels in fake runs. */
export function discSample(
  n: number,
  shift: number,
): { image: Float32Array; label: Uint8Array; prediction: Uint8Array } {
  const image = new Float32Array(n * n),
    label = new Uint8Array(n * n),
    prediction = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const d = Math.hypot(x - n / 2, y - n / 2);
      image[y * n + x] = (d < n / 5 ? 180 : 50) + 15 * Math.sin(x / 3) * Math.cos(y / 4);
      label[y * n + x] = d < n / 5 ? 1 : 0;
      prediction[y * n + x] = Math.hypot(x - n / 2 - shift, y - n / 2) < n / 5 ? 1 : 0;
    }
  }
  return { image, label, prediction };
}

export interface FakeRunOptions {
  name?: string;
  epochs?: number;
  lr?: number;
  finalDice?: number;
  withEvaluation?: boolean;
}

function writeConfig(dir: string, epochs: number, lr: number): void {
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      {
        model: 'fcn',
        preset: 'lab-task3',
        epochs,
        batchSize: 1,
        lr,
        loss: 'sparse-ce',
        metrics: ['accuracy', 'dice'],
        seed: 7,
        backend: 'wasm',
        scale: 1 / 255,
        train: 'train.tfrecords',
        val: 'val.tfrecords',
        versions: { lvseg: '0.1.0', tfjs: '4.22.0' },
        startedAt: '2026-11-26T20:00:00Z',
      },
      null,
      2,
    ),
  );
}

/** The first `count` of `epochs` epochs of a plausible learning curve reaching `finalDice`. */
function fakeHistory(count: number, epochs: number, finalDice: number): Record<string, number>[] {
  return Array.from({ length: count }, (_, e) => {
    const t = (e + 1) / epochs;
    return {
      epoch: e,
      loss: 0.5 * Math.exp(-3 * t * finalDice) + 0.02,
      dice: finalDice * (1 - Math.exp(-4 * t)),
      accuracy: 0.95 + 0.04 * t,
      val_loss: 0.55 * Math.exp(-2.6 * t * finalDice) + 0.04,
      val_dice: (finalDice - 0.02) * (1 - Math.exp(-4 * t)),
      val_accuracy: 0.94 + 0.04 * t,
      seconds: 12.5,
      tensors: 42,
    };
  });
}

/** Epoch `e`'s (1-based) panel: the prediction closes in on the label as the epochs go by. */
function writePanel(dir: string, e: number, epochs: number): void {
  const s = discSample(64, epochs - e + 1);
  writeFileSync(
    join(dir, 'panels', `epoch-${String(e).padStart(3, '0')}.png`),
    renderPanel({ ...s, height: 64, width: 64 }),
  );
}

/** Writes a file whole, as lvseg does (temporary file, then rename), so a reader never sees half of it. */
function writeWhole(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** A run being written the way `lvseg train` writes one, one step per call; `epoch()` returns the epochs written. */
export interface FakeTraining {
  dir: string;
  epoch(): number;
  finish(): void;
}

/**
 * Starts a run directory at `dir` as `lvseg train` does (config.json, with the folder appearing whole), then
 * writes history.json and a panel at each `epoch()` and model/model.json at `finish()`: a training run whose
 * pace the caller sets, for tests that follow a run while it trains without waiting on a real one.
 */
export function startFakeTraining(dir: string, options: FakeRunOptions = {}): FakeTraining {
  const epochs = options.epochs ?? 3,
    finalDice = options.finalDice ?? 0.82;
  const hidden = join(dir, '..', `.starting-${Date.now()}`);
  mkdirSync(join(hidden, 'panels'), { recursive: true });
  writeConfig(hidden, epochs, options.lr ?? 0.001);
  renameSync(hidden, dir);
  let done = 0;
  return {
    dir,
    epoch() {
      if (done === epochs) throw new Error(`the fake run ${dir} has all its ${epochs} epochs`);
      done++;
      writePanel(dir, done, epochs);
      writeWhole(join(dir, 'history.json'), JSON.stringify({ epochs: fakeHistory(done, epochs, finalDice) }));
      return done;
    },
    finish() {
      mkdirSync(join(dir, 'model'), { recursive: true });
      writeWhole(join(dir, 'model', 'model.json'), '{}');
    },
  };
}

/**
 * Writes a run directory as `lvseg train` does (config, history, summary, evaluation, sample and
 * panel PNGs) with made-up numbers that follow a plausible learning curve.
 */
export function writeFakeRun(dir: string, options: FakeRunOptions = {}): void {
  const epochs = options.epochs ?? 3,
    finalDice = options.finalDice ?? 0.82;
  mkdirSync(join(dir, 'samples'), { recursive: true });
  mkdirSync(join(dir, 'panels'), { recursive: true });
  writeConfig(dir, epochs, options.lr ?? 0.001);
  writeFileSync(join(dir, 'history.json'), JSON.stringify({ epochs: fakeHistory(epochs, epochs, finalDice) }));
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({
      layers: [
        { name: 'conv2d_1', type: 'Conv2D', outputShape: [null, 128, 128, 100], params: 2600 },
        { name: 'max_pooling2d_1', type: 'MaxPooling2D', outputShape: [null, 64, 64, 100], params: 0 },
        { name: 'conv2d_transpose_1', type: 'Conv2DTranspose', outputShape: [null, 256, 256, 2], params: 192224 },
      ],
      totalParams: 194824,
      trainableParams: 194824,
    }),
  );
  if (options.withEvaluation ?? true) {
    const perImage = Array.from({ length: 26 }, (_, i) => ({
      name: `SC-HF-I-${String(1 + (i % 4)).padStart(2, '0')}-${String(i * 20).padStart(4, '0')}`,
      patient: `SC-HF-I-${1 + (i % 4)}`,
      dice: i === 25 ? null : Math.min(0.97, finalDice + 0.15 * Math.sin(i * 1.7)),
      iou: 0.7,
      hd95: 3.2 + (i % 5),
      apd: 1.5,
      lvAreaPx: 900 + i * 10,
    }));
    // The document lvseg evaluate --json prints: metrics at the top level, then the summaries.
    writeFileSync(
      join(dir, 'evaluation.json'),
      JSON.stringify({
        meanDice: finalDice - 0.01,
        apd: 1.9,
        goodContourRate: 0.92,
        loss: 0.031,
        accuracy: 0.991,
        dice: finalDice,
        iou: 0.71,
        precision: 0.85,
        recall: 0.83,
        hd95: 4.1,
        unit: 'mm',
        challenge: { rule: 'APD < 5 mm', thresholdMm: 5, goodContours: 24, contours: 26 },
        perPhase: {},
        perPatient: [],
        perImage,
      }),
    );
    const ranked = perImage.filter((p) => p.dice !== null).sort((a, b) => b.dice! - a.dice!);
    for (const [tag, p, shift] of [
      ['best-1', ranked[0]!, 1],
      ['best-2', ranked[1]!, 2],
      ['worst-1', ranked[ranked.length - 1]!, 8],
    ] as const) {
      const s = discSample(64, shift);
      writeFileSync(
        join(dir, 'samples', `${tag}-${p.name}.png`),
        renderPanel({ ...s, height: 64, width: 64 }, { contours: true }),
      );
    }
  }
  for (let e = 1; e <= epochs; e++) writePanel(dir, e, epochs);
}
