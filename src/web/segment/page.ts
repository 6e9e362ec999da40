/**
 * The segmentation page: images in, LV contours, areas and (for a cine) volumes and EF out, all in this tab.
 * The model runs in workers (worker.ts) on the backend the page kit measures as fastest here, with the steps
 * `lvseg predict` runs (scaling, segmentImage with the model's pipeline from its lvseg.json, measureMask), so
 * the page and the CLI give the same masks; this thread decodes, draws and measures volumes. Each finished
 * image's result is a row with a `data-lvseg-result` attribute, the volumes section has `data-lvseg-volumes`,
 * for automation.
 */
import {
  BINARY_CLASSES,
  checkModelMetadata,
  CONTOUR_FILES,
  describeSegment,
  matchCineContours,
  measureExperts,
  formatScaling,
  METADATA_FILE,
  parseScaling,
  PREDICTION_COLOUR,
  renderContourOverlay,
  type LabelConvention,
  type Scaling,
  type SegmentSettings,
} from '../../browser.js';
import { $, describeBackend, download, rememberedBackend, wireBackendMenu, type BackendChoice } from '../kit.js';
import { decodeImageFile, seriesOrder, type PageImage } from './decode.js';
import { classesText, drawnOutlines, renderLegend, tintClasses } from './classes-view.js';
import { areasCsv, contoursZip, labelMapNifti, maskPng, masksZip, phasesCsv, stem, volumesRecord } from './exports.js';
import { clearVolumes, droppedVolumes, renderVolumes, type DroppedVolumes } from './volumes-view.js';
import type { Segmented, WorkerReply, WorkerRequest } from './worker.js';
import type { ListedModel } from '../../server/models.js';

/** One image's answer as the worker gave it (Segmented), with the image it belongs to. */
export interface ImageResult extends Segmented {
  image: PageImage;
}

/** Images per worker request: big enough to batch the model's passes, small enough for progress and cancel. */
const BATCH = 4;

const imagesInput = $<HTMLInputElement>('images');
const folderInput = $<HTMLInputElement>('folder');
const modelSelect = $<HTMLSelectElement>('model');
const modelFiles = $<HTMLInputElement>('model-files');
const scaleSelect = $<HTMLSelectElement>('scale');
const spacingInput = $<HTMLInputElement>('spacing');
const backendMenu = $<HTMLSelectElement>('backend-menu');
const statusText = $('status');
const backendText = $('backend');
const progress = $<HTMLProgressElement>('progress');
const cancelButton = $<HTMLButtonElement>('cancel');
const view = $<HTMLCanvasElement>('view');
const slider = $<HTMLInputElement>('slider');
const sliceSlider = $<HTMLInputElement>('slice');
const phaseSlider = $<HTMLInputElement>('phase');
const current = $('current');
const rows = $<HTMLTableSectionElement>('results');

let backend = '';
/** Workers at most: each holds its own copy of the model and of a batch's activations. */
const MAX_WORKERS = 4;
/** The workers the batches are shared among: one, or one per tfjs thread group on wasm (see startBackend). */
let workers: Worker[] = [];
let modelName = '';
let pipeline: SegmentSettings | undefined;
/** How the model's training masks were drawn (its lvseg.json): the volumes are measured accordingly. */
let labels: LabelConvention = 'inside';
/** The model's class names by label value (its lvseg.json): more than two shows each class and gives the LV mass. */
let classes: readonly string[] = BINARY_CLASSES;
let modelReady = false;
let images: PageImage[] = [];
let results: (ImageResult | undefined)[] = [];
let found: DroppedVolumes = { kind: 'none' };
/** The experts' contour files the user dropped (name, text): measured against the cine once there is one. */
let expertFiles: { name: string; text: string }[] = [];
let selected = 0;
// Each new segmentation pass gets a number; an older pass stops when it sees a newer one (or a cancel).
let pass = 0;
let requestId = 0;
const pending = new Map<number, (reply: WorkerReply) => void>();

function say(text: string): void {
  statusText.textContent = text;
}

function startWorker(): Worker {
  const next = new Worker(new URL('./segment-worker.js', location.href), { type: 'module' });
  next.onmessage = (event: MessageEvent<WorkerReply>) => {
    const reply = event.data;
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  };
  next.onerror = (event) => say(`error in the worker: ${event.message}`);
  return next;
}

function ask<T extends WorkerReply>(worker: Worker, request: WorkerRequest, transfer: Transferable[] = []): Promise<T> {
  return new Promise((resolve) => {
    pending.set(request.id, resolve as (r: WorkerReply) => void);
    worker.postMessage(request, transfer);
  });
}

async function chooseIn(worker: Worker, forced: string | null): Promise<BackendChoice> {
  const reply = await ask<Extract<WorkerReply, { type: 'backend' }>>(worker, {
    type: 'backend',
    id: ++requestId,
    wasmBase: new URL('./', location.href).href,
    forced,
    preferred: rememberedBackend(),
  });
  if (!reply.choice) throw new Error(reply.error ?? 'the worker chose no backend');
  return reply.choice;
}

/**
 * Fresh workers on the measured, remembered or forced backend. On wasm each worker runs single-threaded
 * (lvseg's Winograd kernels need tfjs's single-threaded build, and beat XNNPACK's threads core for core), so
 * the page runs one worker per core, up to four, each on its share of the batches.
 */
async function startBackend(): Promise<BackendChoice> {
  for (const w of workers) w.terminate();
  const forced = new URLSearchParams(location.search).get('backend');
  const first = startWorker();
  workers = [first];
  const choice = await chooseIn(first, forced);
  backend = choice.name;
  if (choice.wasmThreads !== null) {
    const cores = navigator.hardwareConcurrency || 1;
    const extra = Math.min(MAX_WORKERS, Math.max(1, Math.round(cores / choice.wasmThreads))) - 1;
    const more = Array.from({ length: extra }, () => startWorker());
    workers.push(...more);
    await Promise.all(more.map((w) => chooseIn(w, 'wasm')));
  }
  const shared = workers.length > 1 ? ` × ${workers.length} workers` : '';
  backendText.textContent = `backend: ${describeBackend(choice)}`.replace(
    /^(backend: \S+( \([^)]*\))?)/,
    `$1${shared}`,
  );
  document.body.dataset.lvsegBackend = backend;
  document.body.dataset.lvsegWorkers = String(workers.length);
  wireBackendMenu(
    backendMenu,
    backend,
    () => void restartBackend().catch((err: Error) => say(`backend: ${err.message}`)),
  );
  if (forced) backendMenu.disabled = true;
  return choice;
}

let reloadModel: (() => Promise<void>) | undefined;

async function restartBackend(): Promise<void> {
  pass++;
  modelReady = false;
  await startBackend();
  await reloadModel?.();
}

function currentScale(): Scaling {
  return parseScaling(scaleSelect.value);
}

function setScale(scale: Scaling): void {
  const text = formatScaling(scale);
  if (!Array.from(scaleSelect.options).some((o) => o.value === text)) scaleSelect.add(new Option(text, text));
  scaleSelect.value = text;
}

async function useModel(
  source: { url: string } | { files: File[] },
  name: string,
  segment: SegmentSettings | undefined,
  drawn: LabelConvention = 'inside',
  names: readonly string[] = BINARY_CLASSES,
): Promise<void> {
  const mine = ++pass;
  modelReady = false;
  reloadModel = () => useModel(source, name, segment, drawn, names);
  say(`loading model ${name}…`);
  const replies = await Promise.all(
    workers.map((w) => ask<Extract<WorkerReply, { type: 'model' }>>(w, { type: 'model', id: ++requestId, source })),
  );
  const failed = replies.find((r) => r.error);
  if (failed) throw new Error(failed.error);
  if (mine !== pass) return;
  modelName = name;
  pipeline = segment;
  labels = drawn;
  classes = names;
  modelReady = true;
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
  await useModel(
    { url: new URL(entry.url, location.href).href },
    entry.label,
    entry.segment,
    entry.labels,
    entry.classes,
  );
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
  // As the CLI reads a model's lvseg.json (resolveModelSettings): its preprocessing and inference settings are the
  // pipeline.
  const segment = meta ? { preprocessing: meta.preprocessing, inference: meta.inference } : undefined;
  await useModel({ files: [json, ...weights] }, json.name, segment, meta?.labels, meta?.classes);
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
    // a model of more than two classes: each class's (and the epicardium's) area; a binary model's record is as it was
    ...(r.classes
      ? {
          classes: Object.fromEntries(
            Object.entries(r.classes).map(([name, c]) => [name, { areaPx: c.areaPx, areaMm2: c.areaMm2 }]),
          ),
        }
      : {}),
  };
}

function areaText(r: ImageResult): string {
  if (r.classes) return classesText(r.classes);
  return r.areaMm2 === null ? `${r.areaPx} px` : `${r.areaMm2.toFixed(1)} mm² (${r.areaPx} px)`;
}

/** Where image `index` sits in the cine, as the CLI numbers it (slice 1 = lowest along the slice normal). */
function cellOf(index: number): { slice: number; phase: number } | undefined {
  if (found.kind !== 'volumes') return undefined;
  const dicom = images[index]?.dicom;
  for (const [slice, row] of found.cine.grid.entries()) {
    const phase = row.indexOf(dicom);
    if (dicom && phase >= 0) return { slice, phase };
  }
  return undefined;
}

function indexOfCell(slice: number, phase: number): number {
  if (found.kind !== 'volumes') return -1;
  const dicom = found.cine.grid[slice]?.[phase];
  return dicom ? images.findIndex((image) => image.dicom === dicom) : -1;
}

/**
 * The image with its contour, drawn when shown (not for every image as it is segmented); for a model of more than
 * two classes, each class tinted in its colour under the outlines `lvseg predict` draws.
 */
function overlayOf(r: ImageResult): ImageData {
  const { image } = r;
  const rgba = renderContourOverlay(
    image.pixels,
    image.height,
    image.width,
    r.classes ? drawnOutlines(r.classes) : [{ points: r.contour, colour: PREDICTION_COLOUR }],
  );
  if (r.classes) tintClasses(rgba, r.mask, r.classes);
  return new ImageData(Uint8ClampedArray.from(rgba.data), image.width, image.height);
}

function show(index: number): void {
  selected = index;
  slider.value = String(index);
  for (const [i, row] of Array.from(rows.rows).entries()) row.classList.toggle('selected', i === index);
  const r = results[index];
  const image = images[index];
  const cell = cellOf(index);
  if (cell) {
    sliceSlider.value = String(cell.slice + 1);
    phaseSlider.value = String(cell.phase + 1);
  }
  const where =
    cell && found.kind === 'volumes'
      ? `slice ${cell.slice + 1}/${found.cine.slices.length} · phase ${cell.phase + 1}/${found.cine.phases} · `
      : '';
  current.textContent = image
    ? `${where}${index + 1}/${images.length} ${image.name}${r ? ` · ${r.classes ? '' : 'LV '}${areaText(r)}` : ''}`
    : '';
  current.dataset.slice = cell ? String(cell.slice + 1) : '';
  current.dataset.phase = cell ? String(cell.phase + 1) : '';
  for (const id of ['dl-mask', 'dl-contour']) $<HTMLButtonElement>(id).disabled = !r;
  renderLegend($('legend'), r?.classes);
  if (!r) return;
  view.width = r.image.width;
  view.height = r.image.height;
  view.getContext('2d')!.putImageData(overlayOf(r), 0, 0);
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

/** The pixel spacing typed for images that carry none (PNG, JPEG), as [row, column] mm. */
function typedSpacing(): [number, number] | undefined {
  const mm = Number(spacingInput.value);
  return spacingInput.value.trim() !== '' && Number.isFinite(mm) && mm > 0 ? [mm, mm] : undefined;
}

function setExportsEnabled(on: boolean): void {
  for (const id of ['dl-json', 'dl-csv', 'dl-masks', 'dl-nifti', 'dl-contours'])
    $<HTMLButtonElement>(id).disabled = !on;
  const volumes = on && found.kind === 'volumes';
  for (const id of ['dl-volumes-json', 'dl-volumes-csv']) $<HTMLButtonElement>(id).disabled = !volumes;
}

/** Runs the model over every image in batches, filling the table and the progress bar as it goes. */
async function segmentAll(): Promise<void> {
  const mine = ++pass;
  rows.replaceChildren();
  results = images.map(() => undefined);
  found = { kind: 'none' };
  const tableRows = images.map((image, i) => addRow(i, image));
  slider.max = String(Math.max(0, images.length - 1));
  slider.disabled = images.length < 2;
  progress.max = Math.max(1, images.length);
  progress.value = 0;
  setExportsEnabled(false);
  clearVolumes($('volumes'));
  $('cine-nav').hidden = true;
  if (!modelReady || images.length === 0) {
    say(modelReady ? 'model ready: drop or pick images' : 'choose a model');
    return;
  }
  const scale = currentScale();
  const spacing = typedSpacing();
  const started = performance.now();
  cancelButton.disabled = false;
  let next = 0;
  let finished = 0;
  // each worker takes the next batch when it is free: results come back out of order, each to its own row
  const drive = async (worker: Worker): Promise<void> => {
    while (mine === pass && next < images.length) {
      const first = next;
      next += BATCH;
      const batch = images.slice(first, first + BATCH);
      const reply = await ask<Extract<WorkerReply, { type: 'segment' }>>(worker, {
        type: 'segment',
        id: ++requestId,
        scale,
        ...(pipeline ? { segment: pipeline } : {}),
        ...(classes.length > 2 ? { classes } : {}),
        images: batch.map((image) => {
          const sp = image.spacing ?? spacing;
          return { pixels: image.pixels, height: image.height, width: image.width, ...(sp ? { spacing: sp } : {}) };
        }),
      });
      if (mine !== pass) return;
      reply.results.forEach((answer, k) => {
        const i = first + k;
        const row = tableRows[i]!;
        if ('error' in answer) {
          row.classList.add('error');
          row.cells[3]!.textContent = answer.error;
          row.dataset.lvsegError = answer.error;
          return;
        }
        const r: ImageResult = { image: images[i]!, ...answer };
        results[i] = r;
        row.cells[3]!.textContent = areaText(r);
        row.dataset.lvsegResult = JSON.stringify(resultRecord(r));
      });
      finished += batch.length;
      progress.value = finished;
      say(`segmented ${finished} of ${images.length} on ${backend}…`);
      if (selected >= first && selected < first + batch.length) show(selected);
    }
  };
  say(`segmenting ${images.length} images on ${backend}…`);
  try {
    await Promise.all(workers.map(drive));
  } finally {
    if (mine === pass) cancelButton.disabled = true;
  }
  if (mine !== pass) return;
  const seconds = (performance.now() - started) / 1000;
  const done = results.filter((r) => r !== undefined).length;
  document.body.dataset.lvsegSeconds = seconds.toFixed(2);
  say(
    `${done} of ${images.length} images segmented in ${seconds.toFixed(1)} s with ${modelName} on ${backend}, scale ` +
      `${formatScaling(scale)}; ${pipeline ? describeSegment(pipeline) : 'no pipeline'}`,
  );
  const volumes = await droppedVolumes(
    results.flatMap((r) => (r?.image.dicom ? [{ dicom: r.image.dicom, mask: r.mask }] : [])),
    labels,
    classes,
  );
  if (mine !== pass) return;
  found = volumes;
  addExperts();
  renderVolumes($('volumes'), volumes, { thumbnail, pick: showCell });
  if (volumes.kind === 'volumes') {
    $('cine-nav').hidden = false;
    sliceSlider.max = String(volumes.cine.slices.length);
    phaseSlider.max = String(volumes.cine.phases);
  }
  setExportsEnabled(done > 0);
  show(selected);
}

/** A cell's image with its contour, small, for the ED/ES grid. */
function thumbnail(slice: number, phase: number): HTMLCanvasElement | undefined {
  const r = results[indexOfCell(slice, phase)];
  if (!r) return undefined;
  const canvas = document.createElement('canvas');
  canvas.width = r.image.width;
  canvas.height = r.image.height;
  canvas.getContext('2d')!.putImageData(overlayOf(r), 0, 0);
  return canvas;
}

function showCell(slice: number, phase: number): void {
  const index = indexOfCell(slice, phase);
  if (index >= 0) show(index);
}

/**
 * The dropped expert contours measured on the cine by `lvseg volumes --contours`' rule, into `found`: the
 * i-contours' volumes, and with o-contours among the files the experts' LV mass and wall thickness at their ED.
 */
function addExperts(): void {
  if (found.kind !== 'volumes' || expertFiles.length === 0) return;
  const where = 'the dropped contour files';
  try {
    const inner = matchCineContours(where, expertFiles, found.cine);
    const hasOuter = expertFiles.some((f) => CONTOUR_FILES.o.test(f.name.slice(f.name.lastIndexOf('/') + 1)));
    const outer = hasOuter ? matchCineContours(where, expertFiles, found.cine, 'o') : undefined;
    found.experts = measureExperts(found.cine, inner, undefined, outer);
  } catch (err) {
    delete found.experts;
    say(`contours: ${(err as Error).message}`);
  }
}

async function takeContours(files: File[]): Promise<void> {
  expertFiles = await Promise.all(
    files.map(async (f) => ({ name: f.webkitRelativePath || f.name, text: await f.text() })),
  );
  if (found.kind !== 'volumes') {
    say(
      `${files.length} contour file${files.length === 1 ? '' : 's'} kept: the experts' volumes follow once a cine is ` +
        `segmented`,
    );
    return;
  }
  addExperts();
  renderVolumes($('volumes'), found, { thumbnail, pick: showCell });
}

function cancel(): void {
  pass++;
  cancelButton.disabled = true;
  const done = results.filter((r) => r !== undefined).length;
  say(`cancelled after ${done} of ${images.length} images`);
  document.body.dataset.lvsegCancelled = String(done);
  setExportsEnabled(done > 0);
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
  // As lvseg volumes: a model's 1/255 or 1/1024 is for 0-255 (or lab) images; DICOM pixels are scaled per image to 0-1
  // instead.
  const scale = currentScale();
  if (typeof scale === 'number' && images.length > 0 && images.every((image) => image.dicom)) {
    setScale('minmax');
    say(`DICOM: scale minmax, as lvseg volumes uses (the model's ${formatScaling(scale)} is for 0-255 images)`);
  }
  await segmentAll();
  if (problems.length > 0) say(`${statusText.textContent}; skipped: ${problems.join('; ')}`);
}

const done = (): ImageResult[] => results.filter((r): r is ImageResult => r !== undefined);

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
  modelSelect.addEventListener(
    'change',
    () => void chooseListedModel(listed).catch((err: Error) => say(`model: ${err.message}`)),
  );
  modelFiles.addEventListener(
    'change',
    () =>
      void chooseDroppedModel(Array.from(modelFiles.files ?? [])).catch((err: Error) => say(`model: ${err.message}`)),
  );
  scaleSelect.addEventListener('change', () => void segmentAll());
  spacingInput.addEventListener('change', () => void segmentAll());
  cancelButton.addEventListener('click', cancel);
  const contoursInput = $<HTMLInputElement>('contours');
  contoursInput.addEventListener(
    'change',
    () =>
      void takeContours(Array.from(contoursInput.files ?? [])).catch((err: Error) => say(`contours: ${err.message}`)),
  );
  slider.addEventListener('input', () => show(Number(slider.value)));
  const cineMove = (): void => showCell(Number(sliceSlider.value) - 1, Number(phaseSlider.value) - 1);
  sliceSlider.addEventListener('input', cineMove);
  phaseSlider.addEventListener('input', cineMove);
  $('dl-mask').addEventListener('click', () => {
    const r = results[selected];
    if (r)
      download(
        `${stem(r.image.name)}.mask.png`,
        new Blob([maskPng(r.mask, r.image.height, r.image.width, r.classes !== undefined) as Uint8Array<ArrayBuffer>], {
          type: 'image/png',
        }),
      );
  });
  $('dl-contour').addEventListener('click', () => {
    const r = results[selected];
    if (r) download(`${stem(r.image.name)}-icontour-auto.txt`, new Blob([r.contourText], { type: 'text/plain' }));
  });
  $('dl-masks').addEventListener('click', () =>
    download('lv-masks.zip', new Blob([masksZip(done()) as Uint8Array<ArrayBuffer>], { type: 'application/zip' })),
  );
  $('dl-nifti').addEventListener('click', () => {
    try {
      const map = labelMapNifti(done(), found, classes.length, typedSpacing());
      download('lv-labels.nii.gz', new Blob([map.bytes as Uint8Array<ArrayBuffer>], { type: 'application/gzip' }));
      const grid =
        map.layout === 'cine' ? '(x, y, slice, phase) in the series geometry' : '(the images stacked in page order)';
      say(`label map ${map.geometry.shape.join('×')} ${grid}`);
    } catch (err) {
      say(`label map: ${(err as Error).message}`);
    }
  });
  $('dl-contours').addEventListener('click', () =>
    download(
      'lv-contours.zip',
      new Blob([contoursZip(done()) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
    ),
  );
  $('dl-json').addEventListener('click', () => {
    const body = JSON.stringify(
      { model: modelName, scale: scaleSelect.value, backend, images: done().map(resultRecord) },
      null,
      2,
    );
    download('lv-areas.json', new Blob([body], { type: 'application/json' }));
  });
  $('dl-csv').addEventListener('click', () =>
    download('lv-areas.csv', new Blob([areasCsv(done())], { type: 'text/csv' })),
  );
  $('dl-volumes-json').addEventListener('click', () => {
    if (found.kind !== 'volumes') return;
    const record = volumesRecord(found, { model: modelName, scale: scaleSelect.value, backend, labels });
    download('volumes.json', new Blob([JSON.stringify(record, null, 2) + '\n'], { type: 'application/json' }));
  });
  $('dl-volumes-csv').addEventListener('click', () => {
    if (found.kind === 'volumes') download('phases.csv', new Blob([phasesCsv(found)], { type: 'text/csv' }));
  });
}

async function main(): Promise<void> {
  const listedPromise = loadListedModels();
  await startBackend();
  const listed = await listedPromise;
  for (const m of listed) modelSelect.add(new Option(m.label, m.id));
  if (listed.length === 0) modelSelect.add(new Option('(no models listed: pick your own model.json)', ''));
  wire(listed);
  const wanted = new URLSearchParams(location.search).get('model');
  if (wanted && listed.some((m) => m.id === wanted)) modelSelect.value = wanted;
  document.body.dataset.lvsegReady = 'true';
  if (listed.length > 0) await chooseListedModel(listed);
}

main().catch((err: Error) => say(`error: ${err.message}`));
