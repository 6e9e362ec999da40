/**
 * The segmentation page: images in, LV contours and areas out, all in this tab. The steps are the browser-safe
 * core's (scaling, segmentImage with the model's inference pipeline from its lvseg.json or run config,
 * measureMask, renderContourOverlay, formatContourText), the ones `lvseg predict` runs, so the page and the
 * CLI give the same masks. Each finished image's result is a row with a
 * `data-lvseg-result` attribute for automation.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  applyScaling, checkModelMetadata, describeSegment, formatContourText, formatScaling, measureMask, METADATA_FILE, parseScaling,
  inferenceModel, PREDICTION_COLOUR, renderContourOverlay, segmentImage, type LabelConvention, type Sample, type Scaling, type SegmentSettings,
} from '../../browser.js';
import { decodeImageFile, seriesOrder, type PageImage } from './decode.js';
import { clearVolumes, droppedVolumes, renderVolumes } from './volumes-view.js';
import { toCsv } from '../../reporting/csv.js';
import type { ListedModel } from '../../server/models.js';


interface ImageResult {
  image: PageImage;
  mask: Uint8Array;
  overlay: ImageData;
  areaPx: number;
  areaMm2: number | null;
  contourText: string;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const imagesInput = $<HTMLInputElement>('images');
const folderInput = $<HTMLInputElement>('folder');
const modelSelect = $<HTMLSelectElement>('model');
const modelFiles = $<HTMLInputElement>('model-files');
const scaleSelect = $<HTMLSelectElement>('scale');
const statusText = $('status');
const backendText = $('backend');
const progress = $<HTMLProgressElement>('progress');
const view = $<HTMLCanvasElement>('view');
const slider = $<HTMLInputElement>('slider');
const current = $('current');
const rows = $<HTMLTableSectionElement>('results');

let backend = '';
let model: tfl.LayersModel | undefined;
let modelName = '';
let pipeline: SegmentSettings | undefined;
/** How the model's training masks were drawn (its lvseg.json): the volumes are measured accordingly. */
let labels: LabelConvention = 'inside';
// Each model choice gets a number; a load that finishes after a newer choice is dropped.
let choice = 0;
let images: PageImage[] = [];
let results: (ImageResult | undefined)[] = [];
let selected = 0;
// Each new segmentation pass gets a number; an older pass stops when it sees a newer one.
let pass = 0;

function say(text: string): void {
  statusText.textContent = text;
}

/** webgpu where the browser has it, else webgl, else wasm: the first that initialises. */
async function chooseBackend(): Promise<string> {
  // The wasm binaries are among the page's own files.
  setWasmPaths(new URL('./', location.href).href);
  const forced = new URLSearchParams(location.search).get('backend');
  const order = forced ? [forced] : ['webgpu', 'webgl', 'wasm'];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // Not available here (no adapter, no GL context); try the next.
    }
  }
  throw new Error(`none of the tfjs backends ${order.join(', ')} starts in this browser`);
}

function currentScale(): Scaling {
  return parseScaling(scaleSelect.value);
}

function setScale(scale: Scaling): void {
  const text = formatScaling(scale);
  if (!Array.from(scaleSelect.options).some((o) => o.value === text)) scaleSelect.add(new Option(text, text));
  scaleSelect.value = text;
}

async function useModel(load: () => Promise<tfl.LayersModel>, name: string, segment: SegmentSettings | undefined, drawn: LabelConvention = 'inside'): Promise<void> {
  const mine = ++choice;
  say(`loading model ${name}…`);
  const saved = await load();
  const next = await inferenceModel(saved);
  if (next !== saved) saved.dispose();
  if (mine !== choice) {
    next.dispose();
    return;
  }
  model?.dispose();
  model = next;
  modelName = name;
  pipeline = segment;
  labels = drawn;
  document.body.dataset.lvsegModel = name;
  say(`model ${name} ready`);
  await segmentAll();
}

async function loadListedModels(): Promise<ListedModel[]> {
  try {
    const response = await fetch('models.json');
    if (!response.ok) return [];
    return (await response.json()) as ListedModel[];
  } catch {
    return [];
  }
}

async function chooseListedModel(listed: ListedModel[]): Promise<void> {
  const entry = listed.find((m) => m.id === modelSelect.value);
  if (!entry) return;
  if (entry.scale) setScale(parseScaling(entry.scale));
  if (entry.problem) say(`model ${entry.label}: ${entry.problem}`);
  await useModel(() => tfl.loadLayersModel(entry.url), entry.label, entry.segment, entry.labels);
}

/** A model the user dropped: its model.json, the weight files it names, and its lvseg.json when given. */
async function chooseDroppedModel(files: File[]): Promise<void> {
  const json = files.find((f) => f.name.endsWith('.json') && f.name !== METADATA_FILE);
  if (!json) throw new Error('pick the model.json together with its .bin weight files');
  const metaFile = files.find((f) => f.name === METADATA_FILE);
  const meta = metaFile ? checkModelMetadata(JSON.parse(await metaFile.text()), metaFile.name) : undefined;
  if (meta) setScale(parseScaling(meta.scale));
  const weights = files.filter((f) => f.name.endsWith('.bin'));
  modelSelect.add(new Option(`${json.name} (yours)`, 'dropped'));
  modelSelect.value = 'dropped';
  // As the CLI reads a model's lvseg.json (resolveModelSettings): its preprocessing and inference settings are the pipeline.
  const segment = meta ? { preprocessing: meta.preprocessing, inference: meta.inference } : undefined;
  await useModel(() => tfl.loadLayersModel(tf.io.browserFiles([json, ...weights])), json.name, segment, meta?.labels);
}

function resultRecord(r: ImageResult): Record<string, unknown> {
  return {
    name: r.image.name,
    width: r.image.width,
    height: r.image.height,
    areaPx: r.areaPx,
    areaMm2: r.areaMm2,
    spacing: r.image.spacing ?? null,
    backend,
    model: modelName,
    pipeline: pipeline ? describeSegment(pipeline) : null,
  };
}

function areaText(r: ImageResult): string {
  return r.areaMm2 === null ? `${r.areaPx} px` : `${r.areaMm2.toFixed(1)} mm² (${r.areaPx} px)`;
}

function show(index: number): void {
  selected = index;
  slider.value = String(index);
  for (const [i, row] of Array.from(rows.rows).entries()) row.classList.toggle('selected', i === index);
  const r = results[index];
  const image = images[index];
  current.textContent = image ? `${index + 1}/${images.length} ${image.name}${r ? ` · LV ${areaText(r)}` : ''}` : '';
  for (const id of ['dl-mask', 'dl-contour']) $<HTMLButtonElement>(id).disabled = !r;
  if (!r) return;
  view.width = r.image.width;
  view.height = r.image.height;
  view.getContext('2d')!.putImageData(r.overlay, 0, 0);
}

function addRow(index: number, image: PageImage): HTMLTableRowElement {
  const row = rows.insertRow();
  row.insertCell().textContent = String(index + 1);
  row.insertCell().textContent = image.name;
  row.insertCell().textContent = `${image.width}×${image.height}`;
  row.insertCell().textContent = '…';
  row.addEventListener('click', () => show(index));
  return row;
}

async function segmentOne(image: PageImage, scale: Scaling): Promise<ImageResult> {
  // The sample as the CLI's image readers make it (predict-inputs.ts): scaled, unlabelled, with its spacing.
  const sample: Sample = {
    name: image.name, patient: '', image: applyScaling(image.pixels.slice(), scale), label: new Uint8Array(image.height * image.width),
    height: image.height, width: image.width, ...(image.spacing ? { spacing: image.spacing } : {}),
  };
  const { mask } = await segmentImage(model!, sample, pipeline);
  const measures = measureMask(mask, image.height, image.width, image.spacing);
  const rgba = renderContourOverlay(image.pixels, image.height, image.width, [{ points: measures.contour, colour: PREDICTION_COLOUR }]);
  return {
    image,
    mask,
    overlay: new ImageData(Uint8ClampedArray.from(rgba.data), image.width, image.height),
    areaPx: measures.lvAreaPx,
    areaMm2: measures.lvAreaMm2 ?? null,
    contourText: formatContourText(measures.contour),
  };
}

/** Runs the model over every image in order, filling the table and the progress bar as it goes. */
async function segmentAll(): Promise<void> {
  const mine = ++pass;
  rows.replaceChildren();
  results = images.map(() => undefined);
  const tableRows = images.map((image, i) => addRow(i, image));
  slider.max = String(Math.max(0, images.length - 1));
  slider.disabled = images.length < 2;
  progress.max = Math.max(1, images.length);
  progress.value = 0;
  for (const id of ['dl-json', 'dl-csv']) $<HTMLButtonElement>(id).disabled = true;
  clearVolumes($('volumes'));
  if (!model || images.length === 0) {
    say(model ? 'model ready: drop or pick images' : 'choose a model');
    return;
  }
  const scale = currentScale();
  for (let i = 0; i < images.length; i++) {
    if (mine !== pass) return;
    say(`segmenting ${i + 1} of ${images.length} on ${backend}…`);
    const row = tableRows[i]!;
    try {
      const r = await segmentOne(images[i]!, scale);
      if (mine !== pass) return;
      results[i] = r;
      row.cells[3]!.textContent = areaText(r);
      row.dataset.lvsegResult = JSON.stringify(resultRecord(r));
    } catch (err) {
      row.classList.add('error');
      row.cells[3]!.textContent = (err as Error).message;
      row.dataset.lvsegError = (err as Error).message;
    }
    progress.value = i + 1;
    if (i === selected || i === 0) show(selected);
  }
  const done = results.filter((r) => r !== undefined).length;
  say(`${done} of ${images.length} images segmented with ${modelName} on ${backend}, scale ${formatScaling(scale)}; ${pipeline ? describeSegment(pipeline) : 'no pipeline'}`);
  for (const id of ['dl-json', 'dl-csv']) $<HTMLButtonElement>(id).disabled = done === 0;
  show(selected);
  const volumes = await droppedVolumes(results.flatMap((r) => (r?.image.dicom ? [{ dicom: r.image.dicom, mask: r.mask }] : [])), labels);
  if (mine === pass) renderVolumes($('volumes'), volumes);
}

async function takeImages(files: File[]): Promise<void> {
  if (files.length === 0) return;
  say(`reading ${files.length} files…`);
  const decoded: PageImage[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      decoded.push(await decodeImageFile(file));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  images = decoded.sort(seriesOrder);
  selected = 0;
  await segmentAll();
  if (problems.length > 0) say(`${statusText.textContent}; skipped: ${problems.join('; ')}`);
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function stem(name: string): string {
  return name.replace(/\.[^./]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'image';
}

function maskBlob(r: ImageResult): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = r.image.width;
  canvas.height = r.image.height;
  const context = canvas.getContext('2d')!;
  const data = context.createImageData(r.image.width, r.image.height);
  for (let i = 0; i < r.mask.length; i++) {
    const v = r.mask[i] !== 0 ? 255 : 0;
    data.data.set([v, v, v, 255], 4 * i);
  }
  context.putImageData(data, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no PNG'))), 'image/png'));
}

function areasCsv(): string {
  const rows = results.filter((r) => r !== undefined).map((r) => [r.image.name, r.image.width, r.image.height, r.areaPx, r.areaMm2, r.image.spacing?.[0], r.image.spacing?.[1]]);
  return toCsv(['name', 'width', 'height', 'areaPx', 'areaMm2', 'rowSpacingMm', 'columnSpacingMm'], rows);
}

function wire(listed: ListedModel[]): void {
  imagesInput.addEventListener('change', () => void takeImages(Array.from(imagesInput.files ?? [])));
  folderInput.addEventListener('change', () => void takeImages(Array.from(folderInput.files ?? [])));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void takeImages(Array.from(e.dataTransfer?.files ?? []));
  });
  modelSelect.addEventListener('change', () => void chooseListedModel(listed).catch((err: Error) => say(`model: ${err.message}`)));
  modelFiles.addEventListener('change', () => void chooseDroppedModel(Array.from(modelFiles.files ?? [])).catch((err: Error) => say(`model: ${err.message}`)));
  scaleSelect.addEventListener('change', () => void segmentAll());
  slider.addEventListener('input', () => show(Number(slider.value)));
  $('dl-mask').addEventListener('click', () => {
    const r = results[selected];
    if (r) void maskBlob(r).then((b) => download(`${stem(r.image.name)}.mask.png`, b));
  });
  $('dl-contour').addEventListener('click', () => {
    const r = results[selected];
    if (r) download(`${stem(r.image.name)}-icontour-auto.txt`, new Blob([r.contourText], { type: 'text/plain' }));
  });
  $('dl-json').addEventListener('click', () => {
    const body = JSON.stringify({ model: modelName, scale: scaleSelect.value, backend, images: results.filter((r) => r).map((r) => resultRecord(r!)) }, null, 2);
    download('lv-areas.json', new Blob([body], { type: 'application/json' }));
  });
  $('dl-csv').addEventListener('click', () => download('lv-areas.csv', new Blob([areasCsv()], { type: 'text/csv' })));
}

async function main(): Promise<void> {
  backend = await chooseBackend();
  backendText.textContent = `backend: ${backend}`;
  const listed = await loadListedModels();
  for (const m of listed) modelSelect.add(new Option(m.label, m.id));
  if (listed.length === 0) modelSelect.add(new Option('(no models listed: pick your own model.json)', ''));
  wire(listed);
  const wanted = new URLSearchParams(location.search).get('model');
  if (wanted && listed.some((m) => m.id === wanted)) modelSelect.value = wanted;
  document.body.dataset.lvsegReady = 'true';
  if (listed.length > 0) await chooseListedModel(listed);
}

main().catch((err: Error) => say(`error: ${err.message}`));
