/**
 * `npm run bench -- segment`: where the segmentation page's time goes, stage by stage, in CPU milliseconds
 * per image. The page's worker runs the bundled model on tfjs's wasm backend (its choice without a GPU) with
 * `lvseg predict`'s steps; this runs the same library functions in Node on the same backend and kernels, on a
 * real cine series (SCD0000101, 240 DICOM images, in ../shared/data/sunnybrook; `--series DIR` for another),
 * `--images N` of them (default 32) in batches of 4 as the page sends them, each batch one forward pass of
 * its 4 images × 4 TTA flips. CPU time, not wall: on this shared machine wall time swings 2-10× with other work.
 * `scripts/time-segment.mjs` times the page itself in Chromium, end to end.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../src/backends/select.js';
import { applyScaling } from '../src/data/scaling.js';
import { decodeDicom, type DicomSlice } from '../src/data/dicom-decode.js';
import type { Sample } from '../src/data/sample.js';
import { regionMask } from '../src/imaging/mask-metrics.js';
import { formatContourText, measureClasses, measureMask } from '../src/inference/predict-core.js';
import { segmentSamples, ttaInputs } from '../src/inference/segment.js';
import { findModelFile, loadInferenceModel, readModelMetadata } from '../src/models/io.js';
import { predictScores } from '../src/models/predict.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { preprocessSample } from '../src/transforms/preprocess.js';
import type { Benchmark } from './main.js';

const BATCH = 4;

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
}

/** Adds the CPU milliseconds `f` takes to `totals[stage]`, and returns what it returns. */
async function timed<T>(totals: Record<string, number>, stage: string, f: () => T | Promise<T>): Promise<T> {
  const start = process.cpuUsage();
  const out = await f();
  const used = process.cpuUsage(start);
  totals[stage] = (totals[stage] ?? 0) + (used.user + used.system) / 1000;
  return out;
}

async function segmentBatch(
  model: tfl.LayersModel,
  slices: DicomSlice[],
  files: Uint8Array[],
  settings: NonNullable<ReturnType<typeof readModelMetadata>>,
  totals: Record<string, number>,
): Promise<void> {
  const decoded = await timed(totals, 'decode', () => files.map((bytes, i) => decodeDicom(bytes, `image ${i}`)));
  slices.push(...decoded);
  const samples: Sample[] = await timed(totals, 'scale', () =>
    decoded.map((s) => ({
      name: '',
      patient: '',
      image: applyScaling(s.pixels.slice(), 'minmax'),
      label: new Uint8Array(s.rows * s.columns),
      height: s.rows,
      width: s.columns,
      ...(s.spacing ? { spacing: s.spacing } : {}),
    })),
  );
  // The forward pass alone, on the inputs and flips segmentSamples makes; then segmentSamples itself.
  const forward: Record<string, number> = {};
  const prepared = samples.map((s) => preprocessSample(s, settings.preprocessing));
  const { height, width } = prepared[0]!.input;
  const flipped = ttaInputs(
    prepared.map((p) => p.input.image),
    height,
    width,
    settings.inference.tta,
  );
  await timed(forward, 'ms', () => predictScores(model, flipped, height, width));
  totals.forward = (totals.forward ?? 0) + forward.ms!;
  const segmented = await timed(totals, 'pipeline', () => segmentSamples(model, samples, settings));
  totals.pipeline! -= forward.ms!;
  const classes = settings.classes ?? ['background', 'lv'];
  await timed(totals, 'measure', () =>
    segmented.map(({ mask }, i) => {
      const { rows, columns, spacing } = decoded[i]!;
      const lv = classes.length > 2 ? regionMask(mask, [Math.max(1, classes.indexOf('lv'))]) : mask;
      const m = measureMask(lv, rows, columns, spacing);
      const regions = classes.length > 2 ? measureClasses(mask, rows, columns, classes, spacing) : {};
      return [formatContourText(m.contour), ...Object.values(regions).map((c) => formatContourText(c.contour))];
    }),
  );
}

export const benchmark: Benchmark = {
  name: 'segment',
  async run(emit, args) {
    const series = option(
      args,
      'series',
      join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'dicom', 'dicoms', 'SCD0000101'),
    );
    if (!existsSync(series)) {
      emit({ bench: 'segment', skipped: `no DICOM series at ${series}; pass --series DIR` });
      return;
    }
    const count = Number(option(args, 'images', '32'));
    const files = readdirSync(series)
      .filter((f) => f.endsWith('.dcm'))
      .sort()
      .slice(0, count)
      .map((f) => new Uint8Array(readFileSync(join(series, f))));
    await selectBackend('wasm');
    const modelJson = findModelFile('lv-sunnybrook');
    const settings = readModelMetadata(modelJson)!;
    const model = await loadInferenceModel(modelJson);
    // one batch first, untimed: wasm compiles its kernels and V8 its functions
    await segmentBatch(model, [], files.slice(0, BATCH), settings, {});
    const totals: Record<string, number> = {};
    const slices: DicomSlice[] = [];
    for (let i = 0; i < files.length; i += BATCH)
      await segmentBatch(model, slices, files.slice(i, i + BATCH), settings, totals);
    const perImage = Object.fromEntries(
      Object.entries(totals).map(([stage, ms]) => [`${stage}_cpu_ms`, Math.round((ms / files.length) * 10) / 10]),
    );
    const all = Object.values(totals).reduce((a, b) => a + b, 0) / files.length;
    emit({
      bench: 'segment',
      model: 'lv-sunnybrook',
      backend: 'wasm',
      images: files.length,
      batch: `${BATCH} images × 4 flips`,
      ...perImage,
      total_cpu_ms: Math.round(all * 10) / 10,
      statistic: 'CPU ms per image (user + system, this process)',
    });
    model.dispose();
  },
};
