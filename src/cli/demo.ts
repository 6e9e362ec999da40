import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveTrainConfig } from '../training/config.js';
import { runStamp, runTraining } from '../workflows/train-run.js';
import { runPath, type RunFile, type RunPart } from '../runs/run-dir.js';
import type { ModelSpec } from '../models/spec.js';
import { backendOption, type Command } from './command.js';

/**
 * The demo's network, as a JSON model spec: the lab's FCN pattern (convs, two pools, one transposed
 * conv) but narrower and upsampling 4× instead of 16×, so the small ventricles of 96×96 phantoms are
 * resolved; conv, pool and transposed conv are what the native backend runs fast.
 */
const DEMO_MODEL_SPEC: ModelSpec = {
  name: 'demo_fcn',
  layers: [
    { type: 'Conv2D', args: { filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'MaxPool2D', args: { poolSize: 2, strides: 2, padding: 'same' } },
    { type: 'Conv2D', args: { filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'MaxPool2D', args: { poolSize: 2, strides: 2, padding: 'same' } },
    { type: 'Conv2D', args: { filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 2, kernelSize: 3, padding: 'same' } },
    { type: 'Conv2DTranspose', args: { filters: 2, kernelSize: 8, strides: 4, padding: 'same' } },
  ],
};

/**
 * The demo's settings, a minute or two on the native backend. Phantoms: the small FCN above with
 * ce+dice. Real 256×256 slices: the lab's own FCN and settings (Task 3 reaches val Dice ~0.72 after 6
 * epochs), which learn real ventricles faster than the small network.
 */
const SYNTHETIC = {
  train: 'synthetic:64:1:96', val: 'synthetic:12:5000:96', modelSpec: '(lvseg demo built-in spec)', modelSpecContent: DEMO_MODEL_SPEC,
  epochs: 15, batchSize: 4, lr: 0.003, loss: 'ce+dice',
};
const REAL = { model: 'fcn', epochs: 6, batchSize: 1, lr: 0.001, loss: 'sparse-ce' };

export const command: Command = {
  name: 'demo',
  usage: 'demo [--data DIR] [--out DIR] [--epochs N] [--backend NAME]',
  summary: 'train, evaluate and report a small model end to end (synthetic phantoms, or --data DIR)',
  description: [
    'Without arguments and without a network: generates synthetic cardiac phantoms (96x96), trains a small',
    'FCN on them, evaluates it on phantoms it has not seen, and writes a run directory (model, history,',
    'panels, evaluation, report.html). With --data DIR (a PNG dataset folder such as',
    '../shared/data/sunnybrook/png/training, or any source lvseg train takes) the lab\'s FCN and settings',
    'on real data for 6 epochs, validating on a patient-wise 10% split.',
  ].join('\n'),
  options: [
    { name: 'data', type: 'string', value: 'DIR', description: 'real data to train on instead of synthetic phantoms' },
    { name: 'out', type: 'string', value: 'DIR', description: 'run directory (default: runs/demo-<time>)' },
    { name: 'epochs', type: 'number', value: 'N', description: `epochs (default: ${SYNTHETIC.epochs} on phantoms, ${REAL.epochs} on real data)` },
    backendOption,
  ],
  async run(args) {
    const data = args.options.data as string | undefined;
    const out = (args.options.out as string | undefined) ?? join('runs', `demo-${runStamp()}`);
    const base = data === undefined ? SYNTHETIC : { ...REAL, train: data, val: null };
    const config = resolveTrainConfig({
      ...base,
      epochs: (args.options.epochs as number | undefined) ?? base.epochs,
      metrics: ['dice', 'accuracy'],
      scale: '1/255',
      split: 'patient',
      backend: args.options.backend,
      out,
    });
    console.log(
      data === undefined
        ? `lvseg demo: training a small FCN (${DEMO_MODEL_SPEC.layers.length} layers) on ${config.train} (synthetic phantoms), validating on ${config.val}`
        : `lvseg demo: training the lab's '${config.model}' on ${data}, validating on a patient-wise ${config.valFraction * 100}% split`,
    );
    const result = await runTraining(config);
    const m = result.evaluation?.metrics;
    console.log('');
    console.log(`Backend: ${String(result.config.backend)}; ${result.history.length} epochs; the run directory ${result.runDir} holds:`);
    for (const line of describeRun(result.runDir)) console.log(`  ${line}`);
    if (m) {
      console.log('');
      console.log(`Validation (${result.val.length} images): Dice ${m.dice.toFixed(4)} (lab, pooled), mean per-image Dice ${m.meanDice.toFixed(4)}, IoU ${m.iou.toFixed(4)}, pixel accuracy ${m.accuracy.toFixed(4)}`);
    }
    console.log('');
    console.log(`Open ${runPath(result.runDir, 'report')} in a browser; 'tensorboard --logdir ${runPath(result.runDir, 'logs')}' shows the curves;`);
    console.log(`'lvseg predict ${result.runDir} IMAGE.png --out DIR' segments new images.`);
    return 0;
  },
};

const DESCRIPTIONS: Record<RunFile | RunPart, string> = {
  config: 'the resolved configuration, versions, seed and backend',
  summary: 'the model summary (layers, output shapes, parameters)',
  history: 'per-epoch loss and metrics, seconds and tensors alive',
  evaluation: 'the final model on the validation set (Dice, IoU, HD95, APD, per image)',
  report: 'the report: config, curves, metrics, sample predictions',
  model: 'the final model (TF.js layers format: model.json + weights.bin)',
  best: 'the model with the best validation Dice',
  checkpoints: 'the last checkpoints (model + optimizer state): --resume continues from them',
  panels: 'input | label | prediction after every epoch',
  samples: 'the best and worst validation images',
  logs: 'TensorBoard event files',
};

function describeRun(runDir: string): string[] {
  return (Object.entries(DESCRIPTIONS) as [RunFile | RunPart, string][])
    .map(([part, description]) => [runPath(runDir, part), description] as const)
    .filter(([path]) => existsSync(path))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, description]) => {
      const isDir = statSync(path).isDirectory();
      const count = isDir ? ` (${readdirSync(path).length} files)` : '';
      return `${`${path}${isDir ? '/' : ''}`.padEnd(40)} ${description}${count}`;
    });
}
