#!/usr/bin/env node
// Makes a bundled model (models/<name>/) from a finished run of the sunnybrook-unet or sunnybrook-lv-myo
// preset: the run's final model with float16 weights, and an lvseg.json whose training record says how it
// was made and what it scores on the validation source, through its pipeline and without TTA and post-processing.
//   node scripts/ship-model.mjs RUN models/lv-sunnybrook --val ../shared/data/sunnybrook/png/validation --command
// "lvseg train …"
// A model trained on the validation patients too (all 30) cannot be measured on them: then --unseen-run
// names a run of the same recipe trained without them, whose final model gives the validation numbers,
// and the shipped model's own numbers on the same data are kept as `inSample`.
// Needs the build (npm run build). Each file is written atomically; lvseg.json gets the numbers last.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { val: { type: 'string' }, command: { type: 'string' }, 'unseen-run': { type: 'string' } },
});
const [run, dest] = positionals;
if (!run || !dest || !values.val || !values.command) {
  console.error(
    'usage: node scripts/ship-model.mjs RUN DEST --val SRC --command "the lvseg train command that made RUN"',
  );
  process.exit(2);
}

const { loadLayersModel, saveModel, readModelMetadata } = await import(join(ROOT, 'dist/src/models/io.js'));
const { writeFileAtomic } = await import(join(ROOT, 'dist/src/io/atomic.js'));
const { selectBackend } = await import(join(ROOT, 'dist/src/backends/select.js'));
const { readRunFile, runPath } = await import(join(ROOT, 'dist/src/runs/run-dir.js'));
const { openSource } = await import(join(ROOT, 'dist/src/data/source.js'));
await selectBackend('cpu');

const meta = readModelMetadata(join(run, 'model', 'model.json'));
const history = readRunFile(run, 'history').epochs;
const config = readRunFile(run, 'config');
const { data: _paths, ...recipe } = meta.training;
const patientsOf = async (spec) => {
  const names = new Set();
  for await (const sample of (await openSource(spec)).samples()) names.add(sample.patient);
  return [...names].sort();
};
// runs from before trainPatients was recorded: read them from the training source
const trainPatients = config.trainPatients ?? (await patientsOf(config.train));
const valPatients = await patientsOf(values.val);
const seen = valPatients.filter((p) => trainPatients.includes(p));
if (seen.length > 0 && !values['unseen-run']) {
  console.error(
    `${run} was trained on ${seen.length} of the ${valPatients.length} patients of ${values.val}: pass --unseen-run ` +
      `RUN (the same recipe without them) for honest validation numbers`,
  );
  process.exit(2);
}
const training = {
  ...recipe,
  data: {
    train:
      `Sunnybrook Cardiac Data, 2009 LV challenge (CC0; Radau et al., MIDAS Journal 2009): ` +
      `${config.trainSize} PNG slices of ${trainPatients.length} patients`,
    val:
      seen.length > 0
        ? `the same data's validation set (${valPatients.length} patients), seen in training: monitoring only`
        : `Sunnybrook validation set: ${config.valSize} PNG slices of ${valPatients.length} other patients (unseen ` +
          `in training)`,
    trainPatients,
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
const model = await loadLayersModel(join(run, 'model'));
// the preset trains on the published Sunnybrook masks, which include the contour's pixels (runs from
// before the labels option was recorded lack it)
const { training: _recorded, ...usage } = meta;
const shipped = { ...usage, labels: meta.labels ?? 'contour-included', training };
await saveModel(model, dest, { metadata: shipped, float16: true });
model.dispose();

const evaluate = (model, ...flags) => {
  const out = execFileSync(
    process.execPath,
    [join(ROOT, 'bin/lvseg.js'), 'evaluate', model, '--data', values.val, '--json', ...flags],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const m = JSON.parse(out);
  const classes = m.classes
    ? Object.fromEntries(
        Object.entries(m.classes).map(([name, c]) => [name, { meanDice: c.meanDice, apd: c.apd, count: c.count }]),
      )
    : undefined;
  return {
    meanDice: m.meanDice,
    dice: m.dice,
    iou: m.iou,
    hd95: m.hd95,
    apd: m.apd,
    unit: m.unit,
    count: m.count,
    ...(classes ? { classes } : {}),
  };
};
if (seen.length === 0) {
  training.validation = {
    note:
      `mean per-image Dice over all ${config.valSize} validation slices (15 unseen patients), full images, this ` +
      `float16 model`,
    pipeline: evaluate(dest),
    withoutTtaAndPostprocess: evaluate(dest, '--no-tta', '--no-postprocess'),
  };
} else {
  const unseen = join(values['unseen-run'], 'model');
  const unseenConfig = readRunFile(values['unseen-run'], 'config');
  const unseenTrain = unseenConfig.trainPatients ?? (await patientsOf(unseenConfig.train));
  if (valPatients.some((p) => unseenTrain.includes(p))) {
    console.error(
      `${values['unseen-run']} was trained on patients of ${values.val} too; it cannot give unseen numbers`,
    );
    process.exit(2);
  }
  training.validation = {
    note:
      `this model was trained on the validation patients too; these numbers are its recipe's on patients it has ` +
      `never seen: ` +
      `the final model of the same command with --train ${unseenConfig.train} (${unseenTrain.length} patients, ` +
      `started ${unseenConfig.startedAt}), ` +
      `mean per-image Dice over all ${valPatients.length} validation patients' slices, full images, float32`,
    pipeline: evaluate(unseen),
    withoutTtaAndPostprocess: evaluate(unseen, '--no-tta', '--no-postprocess'),
  };
  training.inSample = {
    note: 'this float16 model on the same slices, which it was trained on: not a measure of accuracy on new patients',
    pipeline: evaluate(dest),
  };
}
await writeFileAtomic(join(dest, 'lvseg.json'), JSON.stringify(shipped, null, 2) + '\n');
console.log(
  `${dest}: mean per-image Dice ${training.validation.pipeline.meanDice.toFixed(4)} through the pipeline, ` +
    `${training.validation.withoutTtaAndPostprocess.meanDice.toFixed(4)} without TTA and ` +
    `post-processing${
      seen.length > 0
        ? ` (the recipe on unseen patients); ` + `${training.inSample.pipeline.meanDice.toFixed(4)} in-sample`
        : ''
    }`,
);
