#!/usr/bin/env node
// Makes a bundled model (models/<name>/) from a finished run of the sunnybrook-unet preset: the run's final
// model with float16 weights, and an lvseg.json whose training record says how it was made and what it
// scores on the validation source, through its pipeline and without TTA and post-processing.
//   node scripts/ship-model.mjs RUN models/lv-sunnybrook --val ../shared/data/sunnybrook/png/validation --command "lvseg train …"
// Needs the build (npm run build). Each file is written atomically; lvseg.json gets the numbers last.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { val: { type: 'string' }, command: { type: 'string' } } });
const [run, dest] = positionals;
if (!run || !dest || !values.val || !values.command) {
  console.error('usage: node scripts/ship-model.mjs RUN DEST --val SRC --command "the lvseg train command that made RUN"');
  process.exit(2);
}

const { loadModel, saveModel, readModelMetadata } = await import(join(ROOT, 'dist/src/models/io.js'));
const { writeFileAtomic } = await import(join(ROOT, 'dist/src/io/atomic.js'));
const { selectBackend } = await import(join(ROOT, 'dist/src/backends/select.js'));
const { readRunFile, runPath } = await import(join(ROOT, 'dist/src/runs/run-dir.js'));
await selectBackend('cpu');

const meta = readModelMetadata(join(run, 'model', 'model.json'));
const history = readRunFile(run, 'history').epochs;
const config = readRunFile(run, 'config');
const { data: _paths, ...recipe } = meta.training;
const training = {
  ...recipe,
  data: {
    train: `Sunnybrook Cardiac Data, 2009 LV challenge training set: ${config.trainSize} PNG slices of 15 patients (CC0; Radau et al., MIDAS Journal 2009)`,
    val: `Sunnybrook validation set: ${config.valSize} PNG slices of 15 other patients (unseen in training)`,
  },
  startedAt: config.startedAt,
  command: values.command,
  // from the start of training to the run's final evaluation
  wallSeconds: Math.round((statSync(runPath(run, 'evaluation')).mtimeMs - Date.parse(config.startedAt)) / 1000),
  epochsTrained: history.length,
  source: 'RUN/model',
  epochSeconds: history.map((e) => Math.round(e.seconds)),
  valDicePerEpoch: history.map((e) => Number(e.val_dice.toFixed(4))),
  weights: 'float16 (quantised from the float32 run model)',
};
const model = await loadModel(join(run, 'model'));
await saveModel(model, dest, { metadata: { ...meta, training }, float16: true });
model.dispose();

const evaluate = (...flags) => {
  const out = execFileSync(process.execPath, [join(ROOT, 'bin/lvseg.js'), 'evaluate', dest, '--data', values.val, '--json', ...flags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const m = JSON.parse(out);
  return { meanDice: m.meanDice, dice: m.dice, iou: m.iou, hd95: m.hd95, apd: m.apd, unit: m.unit, count: m.count };
};
training.validation = {
  note: `mean per-image Dice over all ${config.valSize} validation slices (15 unseen patients), full images, this float16 model`,
  pipeline: evaluate(),
  withoutTtaAndPostprocess: evaluate('--no-tta', '--no-postprocess'),
};
await writeFileAtomic(join(dest, 'lvseg.json'), JSON.stringify({ ...meta, training }, null, 2) + '\n');
console.log(`${dest}: mean per-image Dice ${training.validation.pipeline.meanDice.toFixed(4)} through the pipeline, ${training.validation.withoutTtaAndPostprocess.meanDice.toFixed(4)} without TTA and post-processing`);
