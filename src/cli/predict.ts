import { join } from 'node:path';
import { selectBackend, type BackendName } from '../backends/select.js';
import { formatScaling } from '../data/scaling.js';
import { UsageError } from '../errors.js';
import { predictInputs } from '../evaluation/predict-inputs.js';
import { predictSample } from '../evaluation/predict.js';
import { dicomScalingWarning, resolveInputScale } from '../evaluation/run-config.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadModel, resolveModelJson } from '../models/io.js';
import { backendOption, type Command } from './command.js';
import { predictOnQueue } from './predict-queue.js';

/** A file-name stem from a sample name like `SC-HF-I-04/IM-0001-0087`, unique among `taken`. */
export function outputStem(name: string, taken: Set<string>): string {
  const base = name.replace(/[\\/]+/g, '_').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '') || 'image';
  let stem = base;
  for (let n = 2; taken.has(stem); n++) stem = `${base}-${n}`;
  taken.add(stem);
  return stem;
}

export interface PredictionSummaryEntry {
  name: string;
  patient: string;
  input: string;
  height: number;
  width: number;
  resized: boolean;
  spacing: [number, number] | null;
  lvAreaPx: number;
  lvAreaMm2: number | null;
  contourPoints: number;
  mask: string;
  overlay: string;
  contour: string;
}

export const command: Command = {
  name: 'predict',
  usage: 'predict MODEL INPUT... --out DIR [--scale S] [--backend NAME]',
  summary: 'segment new images: mask PNG, contour overlay, contour text and LV areas per image',
  description:
    'Runs a model (a run directory or a model.json) on PNG files, folders of PNGs, TFRecord files, dataset folders ' +
    'or synthetic:N and writes, per image, <name>.mask.png (LV = 255), <name>.overlay.png (the image with the ' +
    'predicted contour in red and, for labelled inputs, the expert contour in green), <name>-icontour-auto.txt ' +
    '(Sunnybrook-style "x y" per line) and one predictions.json with the LV area in pixels and mm² where the ' +
    'spacing is known. Images of another size than the model input are resized bilinearly in and the mask ' +
    'back by nearest neighbour.',
  options: [
    { name: 'out', type: 'string', value: 'DIR', description: 'folder for the outputs (created)', default: '' },
    { name: 'scale', type: 'string', value: 'S', description: "pixel scaling (1/255, minmax, zscore, none); default: the run's", default: '' },
    backendOption,
    { name: 'queue', type: 'string', value: 'URL', description: "spread the inputs over 'lvseg worker' processes on a Redis queue (redis://HOST:PORT); MODEL and INPUTs must be readable there", default: '' },
    { name: 'queue-name', type: 'string', value: 'NAME', description: 'the queue in Redis (as the workers)', default: 'lvseg' },
  ],
  async run(args) {
    const [modelPath, ...inputs] = args.positionals;
    if (!modelPath || inputs.length === 0) {
      throw new UsageError("predict takes a MODEL and at least one INPUT; e.g. 'lvseg predict runs/fcn slice.png --out predictions'");
    }
    const out = args.options.out as string;
    if (!out) throw new UsageError('predict needs --out DIR for the masks, overlays and contours');
    if (args.options.queue) return predictOnQueue(args, modelPath, inputs, out);

    const backend = await selectBackend(args.options.backend as BackendName);
    if (backend.notice) console.error(backend.notice);
    const modelFile = resolveModelJson(modelPath);
    const { scale, origin } = resolveInputScale(modelPath, args.options.scale as string);
    console.error(`model ${modelFile}; scale ${formatScaling(scale)} (${origin}); backend ${backend.name}`);
    const model = await loadModel(modelPath);

    let warnedDicom = false;
    const taken = new Set<string>();
    const images: PredictionSummaryEntry[] = [];
    for await (const { sample, input } of predictInputs(inputs, scale)) {
      if (!warnedDicom && /\.(dcm|dicom)$/i.test(input)) {
        warnedDicom = true;
        const warning = dicomScalingWarning(scale);
        if (warning) console.error(`warning: ${warning}`);
      }
      const prediction = await predictSample(model, sample);
      const stem = outputStem(sample.name, taken);
      const files = { mask: `${stem}.mask.png`, overlay: `${stem}.overlay.png`, contour: `${stem}-icontour-auto.txt` };
      await writeFileAtomic(join(out, files.mask), prediction.maskPng);
      await writeFileAtomic(join(out, files.overlay), prediction.overlayPng);
      await writeFileAtomic(join(out, files.contour), prediction.contourText);
      images.push({
        name: sample.name,
        patient: sample.patient,
        input,
        height: sample.height,
        width: sample.width,
        resized: prediction.resized,
        spacing: sample.spacing ?? null,
        lvAreaPx: prediction.lvAreaPx,
        lvAreaMm2: prediction.lvAreaMm2 ?? null,
        contourPoints: prediction.contour.length,
        ...files,
      });
      const mm = prediction.lvAreaMm2 === undefined ? '' : `, ${prediction.lvAreaMm2.toFixed(1)} mm²`;
      console.log(`${sample.name}: LV ${prediction.lvAreaPx} px${mm}${prediction.resized ? ' (resized)' : ''} -> ${join(out, files.overlay)}`);
    }
    model.dispose();

    const withSpacing = images.filter((i) => i.lvAreaMm2 !== null);
    const summary = {
      model: modelFile,
      scale: formatScaling(scale),
      backend: backend.name,
      images,
      totals: {
        images: images.length,
        lvAreaPx: images.reduce((n, i) => n + i.lvAreaPx, 0),
        imagesWithSpacing: withSpacing.length,
        lvAreaMm2: withSpacing.length > 0 ? withSpacing.reduce((n, i) => n + i.lvAreaMm2!, 0) : null,
      },
    };
    await writeFileAtomic(join(out, 'predictions.json'), JSON.stringify(summary, null, 2) + '\n');
    console.log(`${images.length} images, LV ${summary.totals.lvAreaPx} px in total; summary: ${join(out, 'predictions.json')}`);
    return 0;
  },
};
