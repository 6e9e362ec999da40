/**
 * The lab in a browser tab: the lab's TFRecords or a PNG dataset in, a trained network out, with live loss and
 * Dice curves and a prediction panel after each epoch. The training is `lvseg train`'s own code from the
 * browser-safe core (the data pipeline, buildModel under withSeededRandom, the sparse cross-entropy, the
 * metrics, fitModel), on the backend the page kit measures as fastest (webgpu or webgl on a hardware adapter,
 * else wasm with lvseg's wasm training kernels, else cpu), with defaults sized to it. Each finished epoch
 * is a table row with a `data-lvseg-epoch` attribute holding JSON {epoch, loss, valLoss, valDice, backend,
 * ms, stepLosses} for automation. `?model=NAME&epochs=N` (and batch, steps, lr, scale, seed, backend)
 * preselect the form.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import uPlot from 'uplot';
import {
  applyScaling,
  buildModel,
  checkModelFitsData,
  concatWeightData,
  diceCoefficient,
  extractContour,
  fitModel,
  formatScaling,
  getLoss,
  LABEL_COLOUR,
  layersModelJson,
  METADATA_FILE,
  MODEL_NAMES,
  parseScaling,
  plainModelMetadata,
  PREDICTION_COLOUR,
  PRESETS,
  registerWasmTrainingKernels,
  renderContourOverlay,
  UsageError,
  WEIGHTS_FILE,
  withSeededRandom,
  type EpochLogs,
  type MetricName,
  type Sample,
  type TrainingCallback,
} from '../../browser.js';
import { labSplit, readLabData, type LabData } from './data.js';
import { $, chooseBackend, describeBackend, download, rememberedBackend, wireBackendMenu } from '../kit.js';

/** What one finished epoch puts in its row's data-lvseg-epoch attribute. */
export interface EpochRecord {
  /** From 1, as the CLI's progress line counts. */
  epoch: number;
  loss: number;
  valLoss: number | null;
  valDice: number | null;
  backend: string;
  /** Wall time of the epoch with its validation, as fitModel measures it. */
  ms: number;
  /** The loss of each step of the epoch. */
  stepLosses: number[];
}

// The training loop gives the event loop a turn once a step with Node's setImmediate, which a tab lacks.
const withImmediate = globalThis as { setImmediate?: (fn: () => void) => unknown };
withImmediate.setImmediate ??= (fn: () => void) => setTimeout(fn, 0);

/** The lab's Task 3 settings (the preset `lvseg train --preset lab-task3` uses) are the form's defaults. */
const LAB = PRESETS['lab-task3']!;
/** `lvseg train`'s default metrics. */
const METRICS: MetricName[] = ['dice', 'accuracy'];

const dataInput = $<HTMLInputElement>('data');
const folderInput = $<HTMLInputElement>('folder');
const drop = $('drop');
const dataStatus = $('data-status');
const modelSelect = $<HTMLSelectElement>('model');
const epochsInput = $<HTMLInputElement>('epochs');
const batchInput = $<HTMLInputElement>('batch');
const stepsInput = $<HTMLInputElement>('steps');
const lrInput = $<HTMLInputElement>('lr');
const scaleSelect = $<HTMLSelectElement>('scale');
const seedInput = $<HTMLInputElement>('seed');
const trainButton = $<HTMLButtonElement>('train');
const stopButton = $<HTMLButtonElement>('stop');
const downloadButton = $<HTMLButtonElement>('download');
const backendText = $('backend');
const statusText = $('status');
const progress = $<HTMLProgressElement>('progress');
const panel = $<HTMLCanvasElement>('panel');
const panelCaption = $('panel-caption');
const epochRows = $<HTMLTableSectionElement>('epochs-table');

let backend = '';
let data: LabData | undefined;
let model: tfl.LayersModel | undefined;
/** How the current model was trained, for its lvseg.json. */
let trained: { scale: string; inputSize: number; training: Record<string, unknown> } | undefined;
let training = false;
let stopRequested = false;

function say(text: string, error = false): void {
  statusText.textContent = text;
  statusText.classList.toggle('error', error);
}

/** The URL's preselections into the form: ?model=fcn-small&epochs=2&batch=2&steps=3&lr=0.01&scale=1/255&seed=7. */
function prefill(): void {
  for (const name of MODEL_NAMES) modelSelect.add(new Option(name, name));
  modelSelect.value = LAB.model;
  epochsInput.value = String(LAB.epochs);
  batchInput.value = String(LAB.batchSize);
  lrInput.value = String(LAB.lr);
  const params = new URLSearchParams(location.search);
  const model = params.get('model');
  if (model !== null) {
    if (!(MODEL_NAMES as readonly string[]).includes(model))
      say(`unknown network '${model}' in the URL; use one of ${MODEL_NAMES.join(', ')}`, true);
    else modelSelect.value = model;
  }
  const inputs: [string, HTMLInputElement][] = [
    ['epochs', epochsInput],
    ['batch', batchInput],
    ['steps', stepsInput],
    ['lr', lrInput],
    ['seed', seedInput],
  ];
  for (const [key, input] of inputs) {
    const value = params.get(key);
    if (value !== null && value.trim() !== '' && Number.isFinite(Number(value))) input.value = value;
  }
  const scale = params.get('scale');
  if (scale !== null) {
    const text = formatScaling(parseScaling(scale));
    if (!Array.from(scaleSelect.options).some((o) => o.value === text)) scaleSelect.add(new Option(text, text));
    scaleSelect.value = text;
  }
}

/** Without a GPU an epoch of the lab's preset takes minutes: the form starts at a run that ends in minutes. */
const CPU_DEFAULTS = { epochs: 3, steps: 20 };

/** The measured backend (or the URL's, or the menu's); wasm with lvseg's training kernels (wasm lacks
 * Conv2DBackpropFilter). */
async function startBackend(): Promise<string> {
  const forced = new URLSearchParams(location.search).get('backend');
  const choice = await chooseBackend({
    wasmBase: new URL('./', location.href).href,
    forced,
    preferred: rememberedBackend(),
    beforeStart: (name) => {
      if (name === 'wasm') registerWasmTrainingKernels();
    },
    fallback: ['cpu'],
  });
  backendText.textContent = `backend: ${describeBackend(choice)}`;
  const menu = $<HTMLSelectElement>('backend-menu');
  // a new backend mid-page would leave the model on the old one: the page starts again on the new one
  wireBackendMenu(menu, choice.name, () => location.reload());
  menu.disabled = Boolean(forced);
  return choice.name;
}

/** Smaller defaults where no GPU trains, unless the URL set them. */
function sizeDefaults(): void {
  if (backend === 'webgpu' || backend === 'webgl') return;
  const params = new URLSearchParams(location.search);
  if (!params.has('epochs')) epochsInput.value = String(CPU_DEFAULTS.epochs);
  if (!params.has('steps')) stepsInput.value = String(CPU_DEFAULTS.steps);
  say(
    `pick the data · no GPU here (${backend}): the form starts at ${epochsInput.value} epochs of ` +
      `${stepsInput.value || 'all'} steps, a few minutes; the preset's ${LAB.epochs} epochs take hours on the CPU.`,
  );
}

function setNumber(input: HTMLInputElement, what: string, min: number, integer = true): number {
  const value = Number(input.value);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(
      `${what} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, not '${input.value}'`,
    );
  }
  return value;
}

async function takeFiles(files: File[]): Promise<void> {
  if (files.length === 0 || training) return;
  say(`reading ${files.length} files…`);
  trainButton.disabled = true;
  try {
    data = await readLabData(files);
    const { description } = labSplit(data, setNumber(seedInput, 'seed', -Infinity));
    dataStatus.textContent = description;
    say(`ready: ${data.train[0]!.height}×${data.train[0]!.width} slices; press train`);
    trainButton.disabled = false;
  } catch (err) {
    data = undefined;
    say((err as Error).message, true);
  }
}

function scaled(samples: readonly Sample[], scale: ReturnType<typeof parseScaling>): Sample[] {
  return samples.map((s) => ({ ...s, image: applyScaling(s.image.slice(), scale) }));
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e'];

/** A live chart of two series over the epochs (the dashboard's look). */
function liveChart(holder: HTMLElement, title: string, labels: [string, string]): uPlot {
  holder.replaceChildren();
  const width = Math.max(320, holder.clientWidth || 480);
  return new uPlot(
    {
      title,
      width,
      height: 240,
      scales: { x: { time: false } },
      // whole epochs on the x axis
      axes: [{ incrs: [1, 2, 5, 10, 20, 50, 100] }, {}],
      series: [{ label: 'epoch' }, ...labels.map((label, i) => ({ label, stroke: COLOURS[i]!, width: 2 }))],
    },
    [[], [], []],
    holder,
  );
}

function drawPanel(sample: Sample, mask: Uint8Array, epoch: number): void {
  const { height, width } = sample;
  const rgba = renderContourOverlay(sample.image, height, width, [
    { points: extractContour(sample.label, height, width), colour: LABEL_COLOUR },
    { points: extractContour(mask, height, width), colour: PREDICTION_COLOUR },
  ]);
  panel.width = width;
  panel.height = height;
  panel.getContext('2d')!.putImageData(new ImageData(Uint8ClampedArray.from(rgba.data), width, height), 0, 0);
  panelCaption.textContent = `epoch ${epoch}, ${sample.name}: Dice ${diceCoefficient(mask, sample.label).toFixed(3)}`;
}

const fixed = (v: number | null, digits = 4): string => (v === null ? '–' : v.toFixed(digits));

function addEpochRow(record: EpochRecord): void {
  const row = epochRows.insertRow();
  for (const text of [
    String(record.epoch),
    fixed(record.loss),
    fixed(record.valLoss),
    fixed(record.valDice),
    (record.ms / 1000).toFixed(1),
  ])
    row.insertCell().textContent = text;
  row.dataset.lvsegEpoch = JSON.stringify(record);
}

/** The page's training callback: progress, curves, panel and the epoch rows (the CLI's progress line, drawn). */
function pageCallback(epochs: number, stepsPerEpoch: number, batchSize: number, valSize: number): TrainingCallback {
  const lossChart = liveChart($('chart-loss'), 'loss', ['loss', 'val_loss']);
  const diceChart = liveChart($('chart-dice'), 'Dice', ['dice', 'val_dice']);
  const series: number[][] = [[], [], [], [], []];
  let epochNow = 0;
  let stepLosses: number[] = [];
  let lastMean = 0;
  progress.max = epochs * stepsPerEpoch;
  progress.value = 0;
  return {
    onEpochBegin: (epoch) => {
      epochNow = epoch;
      stepLosses = [];
      lastMean = 0;
    },
    onBatchEnd: (step, logs) => {
      // fitModel reports running means over the epoch's samples; every batch of its endless stream is full
      const loss = (step + 1) * logs.loss! - step * lastMean;
      lastMean = logs.loss!;
      stepLosses.push(loss);
      progress.value = epochNow * stepsPerEpoch + step + 1;
      say(
        `epoch ${epochNow + 1}/${epochs} · step ${step + 1}/${stepsPerEpoch} (batch ${batchSize}) · loss ` +
          `${logs.loss!.toFixed(4)} · on ${backend}`,
      );
      // the last step's end is where validation starts: say so, or the page looks hung while it runs
      if (step + 1 === stepsPerEpoch && valSize > 0)
        say(`${statusText.textContent} · validating on ${valSize} slice${valSize === 1 ? '' : 's'}…`);
    },
    onEpochEnd: async (epoch, logs: EpochLogs, ctx) => {
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: logs.loss!,
        valLoss: logs.val_loss ?? null,
        valDice: logs.val_dice ?? null,
        backend,
        ms: Math.round(logs.seconds! * 1000),
        stepLosses,
      };
      for (const [k, v] of [epoch + 1, logs.loss, logs.val_loss, logs.dice, logs.val_dice].entries())
        series[k]!.push(v ?? NaN);
      lossChart.setData([series[0]!, series[1]!, series[2]!]);
      diceChart.setData([series[0]!, series[3]!, series[4]!]);
      if (ctx.displaySample) drawPanel(ctx.displaySample, await ctx.predictLabel(ctx.displaySample), epoch + 1);
      addEpochRow(record);
      if (trained) trained.training.epochs = epoch + 1;
      downloadButton.disabled = false;
      if (stopRequested) ctx.stopTraining = `stopped from the page after epoch ${epoch + 1}`;
    },
  };
}

async function train(): Promise<void> {
  if (!data || training) return;
  const name = modelSelect.value;
  const epochs = setNumber(epochsInput, 'epochs', 1);
  const batchSize = setNumber(batchInput, 'batch size', 1);
  const steps = setNumber(stepsInput, 'steps per epoch', 0);
  const lr = setNumber(lrInput, 'learning rate', Number.MIN_VALUE, false);
  const seed = setNumber(seedInput, 'seed', -Infinity);
  const scale = parseScaling(scaleSelect.value);
  const split = labSplit(data, seed);
  dataStatus.textContent = split.description;
  const trainSet = scaled(split.train, scale);
  const valSet = scaled(split.val, scale);
  if (batchSize > trainSet.length)
    throw new UsageError(`batch size ${batchSize} is larger than the training set (${trainSet.length} samples)`);
  const inputSize = trainSet[0]!.height;
  const stepsPerEpoch = steps > 0 ? steps : Math.ceil(trainSet.length / batchSize);

  training = true;
  stopRequested = false;
  trainButton.disabled = true;
  stopButton.disabled = false;
  downloadButton.disabled = true;
  epochRows.replaceChildren();
  const started = new Date().toISOString();
  model?.dispose();
  model = undefined;
  trained = undefined;
  // createOptimizer's choice on every backend but the native one: tf.train.adam (no weight decay).
  const optimizer = tf.train.adam(lr);
  try {
    // As `lvseg train` builds it: the seed fixes the initial weights.
    model = withSeededRandom(seed, () => buildModel(name, { inputSize, softmax: false }));
    checkModelFitsData(model, inputSize, inputSize, name);
    // What lvseg.json will say of the model; `epochs` counts up as they finish (the model can be taken at any epoch's
    // end).
    trained = {
      scale: formatScaling(scale),
      inputSize,
      training: {
        model: name,
        epochs: 0,
        batchSize,
        stepsPerEpoch,
        lr,
        loss: LAB.loss,
        seed,
        backend,
        data: split.description,
        trainSize: trainSet.length,
        valSize: valSet.length,
        startedAt: started,
        where: 'lvseg lab page',
        tfjs: tf.version_core,
      },
    };
    const result = await fitModel({
      model,
      optimizer,
      train: trainSet,
      val: valSet,
      epochs,
      batchSize,
      stepsPerEpoch,
      shuffleBuffer: LAB.shuffleBuffer,
      seed,
      loss: getLoss(LAB.loss),
      metrics: METRICS,
      callbacks: [pageCallback(epochs, stepsPerEpoch, batchSize, valSet.length)],
      learningRate: lr,
      displaySample: valSet[0] ?? trainSet[0],
    });
    const last = result.history.at(-1);
    say(
      `${result.stopped ?? 'trained'}: ${result.history.length} epochs on ` +
        `${backend}${last?.val_dice !== undefined ? `, val Dice ${last.val_dice.toFixed(4)}` : ''}; download the ` +
        `model to ` +
        `use it with lvseg evaluate / predict`,
    );
    document.body.dataset.lvsegTrained = String(result.history.length);
  } finally {
    optimizer.dispose();
    training = false;
    trainButton.disabled = false;
    stopButton.disabled = true;
  }
}

/** model.json, weights.bin and lvseg.json, the files `lvseg train` writes to RUN/model/: put them in one folder. */
async function downloadModel(): Promise<void> {
  if (!model || !trained) return;
  const { scale, inputSize, training: facts } = trained;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = (
        artifacts.weightData ? concatWeightData(artifacts.weightData) : new Uint8Array(0)
      ) as Uint8Array<ArrayBuffer>;
      download(
        'model.json',
        new Blob([JSON.stringify(layersModelJson(artifacts, artifacts.weightSpecs ?? []))], {
          type: 'application/json',
        }),
      );
      download(WEIGHTS_FILE, new Blob([weights], { type: 'application/octet-stream' }));
      download(
        METADATA_FILE,
        new Blob([JSON.stringify(plainModelMetadata(inputSize, scale, facts), null, 2) + '\n'], {
          type: 'application/json',
        }),
      );
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  say(
    `downloaded model.json, ${WEIGHTS_FILE} and ${METADATA_FILE}: put them in one folder, then: lvseg evaluate ` +
      `FOLDER --data VAL.tfrecords`,
  );
}

function wire(): void {
  const picked = (input: HTMLInputElement) => () => void takeFiles(Array.from(input.files ?? []));
  dataInput.addEventListener('change', picked(dataInput));
  folderInput.addEventListener('change', picked(folderInput));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void takeFiles(Array.from(e.dataTransfer?.files ?? []));
  });
  trainButton.addEventListener('click', () => train().catch((err: Error) => say(err.message, true)));
  stopButton.addEventListener('click', () => {
    stopRequested = true;
    stopButton.disabled = true;
    say(`${statusText.textContent} · stopping after this epoch`);
  });
  downloadButton.addEventListener('click', () => downloadModel().catch((err: Error) => say(err.message, true)));
}

async function start(): Promise<void> {
  prefill();
  wire();
  backend = await startBackend();
  sizeDefaults();
  document.body.dataset.lvsegBackend = backend;
}

start().catch((err: Error) => say(err.message, true));
