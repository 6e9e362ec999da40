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
import { postprocessMask } from '../src/inference/postprocess.js';
import { formatContourText, measureMask } from '../src/inference/predict-core.js';
import { foregroundProbabilities } from '../src/inference/segment.js';
import { findModelFile, loadInferenceModel, readModelMetadata } from '../src/models/io.js';
import { predictScores } from '../src/models/predict.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { preprocessSample, restoreProbabilities } from '../src/transforms/preprocess.js';
import { flipValues } from '../src/transforms/spatial.js';
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
  const prepared = await timed(totals, 'preprocess', () =>
    samples.map((s) => preprocessSample(s, settings.preprocessing)),
  );
  const { height, width } = prepared[0]!.input;
  const inputs = prepared.map((p) => p.input.image);
  // the forward pass alone, on the flipped inputs foregroundProbabilities makes; then the whole of it again
  const flipped = inputs.flatMap((image) =>
    [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ].map(([h, v]) => flipValues(image, height, width, h!, v!)),
  );
  const forward: Record<string, number> = {};
  await timed(forward, 'ms', () => predictScores(model, flipped, height, width));
  totals.forward = (totals.forward ?? 0) + forward.ms!;
  const probs = await timed(totals, 'tta', () =>
    foregroundProbabilities(model, inputs, height, width, settings.inference.tta),
  );
  totals.tta! -= forward.ms!; // its forward pass, timed above
  for (const [i, p] of prepared.entries()) {
    const raw = await timed(totals, 'restore', () => {
      const foreground = restoreProbabilities(probs[i]!, p.geometry);
      const mask = new Uint8Array(foreground.length);
      for (let k = 0; k < mask.length; k++) mask[k] = foreground[k]! > 0.5 ? 1 : 0;
      return mask;
    });
    const { height: h, width: w } = p.geometry;
    const mask = await timed(totals, 'postprocess', () => postprocessMask(raw, h, w, settings.inference.postprocess));
    await timed(totals, 'measure', () => {
      const m = measureMask(mask, h, w, samples[i]!.spacing);
      return formatContourText(m.contour);
    });
  }
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
