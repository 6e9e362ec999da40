/**
 * The segmentation page's worker: the model runs here, off the page's thread, so the tab stays responsive
 * while a 240-image series is segmented. It chooses its backend (the page kit's measured choice), loads the
 * model, and segments batches of images the page sends, with `lvseg predict`'s steps (scaling, segmentImage
 * through the model's pipeline, measureMask, formatContourText). The page drives the loop one batch at a
 * time, so a cancel takes effect at the next batch. Messages: see WorkerRequest and WorkerReply.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {
  applyScaling,
  formatContourText,
  inferenceModel,
  measureClasses,
  measureMask,
  regionMask,
  registerWasmTrainingKernels,
  segmentImage,
  segmentSamples,
  type Sample,
  type Scaling,
  type SegmentSettings,
} from '../../browser.js';
import { chooseBackend, type BackendChoice } from '../kit.js';

/** One image to segment: its values in the source's units, as decode.ts gives them. */
export interface WorkerImage {
  pixels: Float32Array;
  height: number;
  width: number;
  spacing?: [number, number];
}

/** One class's (or region's) outline and area in a K-class mask, as `lvseg predict` reports them. */
export interface ClassResult {
  /** The label values the region covers (the epicardium: lv and myocardium). */
  values: number[];
  areaPx: number;
  areaMm2: number | null;
  contour: [number, number][];
  contourText: string;
}

/**
 * One image segmented: its mask (class indices: 0/1 for a binary model) with the blood pool's (`lv`) outline and
 * area, and each class's for a model of more than two classes.
 */
export interface Segmented {
  /** Class indices (0/1 for a binary model). */
  mask: Uint8Array;
  areaPx: number;
  areaMm2: number | null;
  contour: [number, number][];
  contourText: string;
  /** A model of more than two classes: each class's (and the epicardium's) outline and area. */
  classes?: Record<string, ClassResult>;
}

/** One image's answer: segmented, or why it failed. */
export type WorkerResult = Segmented | { error: string };

export type WorkerRequest =
  | { type: 'backend'; id: number; wasmBase: string; forced: string | null; preferred: string | null }
  | { type: 'model'; id: number; source: { url: string } | { files: File[] } }
  | {
      type: 'segment';
      id: number;
      images: WorkerImage[];
      scale: Scaling;
      segment?: SegmentSettings;
      /** The model's class names when it has more than two (its lvseg.json). */
      classes?: readonly string[];
    };

export type WorkerReply =
  | { type: 'backend'; id: number; choice?: BackendChoice; error?: string }
  | { type: 'model'; id: number; error?: string }
  | { type: 'segment'; id: number; results: WorkerResult[] };

let model: tfl.LayersModel | undefined;

const post = (reply: WorkerReply, transfer: Transferable[] = []): void =>
  (self as unknown as Worker).postMessage(reply, transfer);

async function loadModel(source: { url: string } | { files: File[] }): Promise<void> {
  const saved =
    'url' in source
      ? await tfl.loadLayersModel(source.url)
      : await tfl.loadLayersModel(
          tf.io.browserFiles(source.files.filter((f) => f.name.endsWith('.json') || f.name.endsWith('.bin'))),
        );
  const next = await inferenceModel(saved);
  if (next !== saved) saved.dispose();
  model?.dispose();
  model = next;
}

function sampleOf(image: WorkerImage, scale: Scaling): Sample {
  // The sample as the CLI's image readers make it (predict-inputs.ts): scaled, unlabelled, with its spacing.
  return {
    name: '',
    patient: '',
    image: applyScaling(image.pixels.slice(), scale),
    label: new Uint8Array(image.height * image.width),
    height: image.height,
    width: image.width,
    ...(image.spacing ? { spacing: image.spacing } : {}),
  };
}

const pointsOf = (contour: readonly (readonly [number, number])[]): [number, number][] =>
  contour.map(([x, y]) => [x, y]);

/** As predictSample: the blood pool's measures from its class (`lv`), and each region's for K classes. */
function measured(image: WorkerImage, mask: Uint8Array, classes?: readonly string[]): WorkerResult {
  const multi = classes !== undefined && classes.length > 2;
  const lv = multi ? regionMask(mask, [Math.max(1, classes.indexOf('lv'))]) : mask;
  const m = measureMask(lv, image.height, image.width, image.spacing);
  const result: WorkerResult = {
    mask,
    areaPx: m.lvAreaPx,
    areaMm2: m.lvAreaMm2 ?? null,
    contour: pointsOf(m.contour),
    contourText: formatContourText(m.contour),
  };
  if (!multi) return result;
  const regions = measureClasses(mask, image.height, image.width, classes, image.spacing);
  result.classes = Object.fromEntries(
    Object.entries(regions).map(([name, c]) => [
      name,
      {
        values: c.values,
        areaPx: c.lvAreaPx,
        areaMm2: c.lvAreaMm2 ?? null,
        contour: pointsOf(c.contour),
        contourText: formatContourText(c.contour),
      },
    ]),
  );
  return result;
}

/** The batch in one pass through the pipeline; image by image when that fails, so each failure is its own. */
async function segmentBatch(
  images: WorkerImage[],
  scale: Scaling,
  segment?: SegmentSettings,
  classes?: readonly string[],
): Promise<WorkerResult[]> {
  if (!model) return images.map(() => ({ error: 'no model loaded' }));
  const samples = images.map((image) => sampleOf(image, scale));
  if (segment && samples.length > 1) {
    try {
      const masks = await segmentSamples(model, samples, segment);
      return masks.map((m, i) => measured(images[i]!, m.mask, classes));
    } catch {
      // one bad image spoils the batch: retried one by one below
    }
  }
  const out: WorkerResult[] = [];
  for (const [i, sample] of samples.entries()) {
    try {
      out.push(measured(images[i]!, (await segmentImage(model, sample, segment)).mask, classes));
    } catch (err) {
      out.push({ error: (err as Error).message });
    }
  }
  return out;
}

async function handle(request: WorkerRequest): Promise<void> {
  if (request.type === 'backend') {
    try {
      post({
        type: 'backend',
        id: request.id,
        choice: await chooseBackend({
          wasmBase: request.wasmBase,
          forced: request.forced,
          preferred: request.preferred,
          // wasm's own Conv2DBackpropInput (the U-Net's Conv2DTranspose) is a scalar loop: a third of a pass
          beforeStart: (name) => {
            if (name === 'wasm') registerWasmTrainingKernels();
          },
          // lvseg's Winograd kernels need the single-threaded build: the page runs a worker per core instead
          wasmThreads: false,
        }),
      });
    } catch (err) {
      post({ type: 'backend', id: request.id, error: (err as Error).message });
    }
  } else if (request.type === 'model') {
    try {
      await loadModel(request.source);
      post({ type: 'model', id: request.id });
    } catch (err) {
      post({ type: 'model', id: request.id, error: (err as Error).message });
    }
  } else {
    const results = await segmentBatch(request.images, request.scale, request.segment, request.classes);
    post(
      { type: 'segment', id: request.id, results },
      results.flatMap((r) => ('mask' in r ? [r.mask.buffer as ArrayBuffer] : [])),
    );
  }
}

// One request at a time, in order: a model change waits for the batch in flight.
let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  queue = queue.then(() => handle(event.data));
};
