/**
 * End to end in a real browser (Debian's chromium driven by playwright-core, no browser download): the page
 * served by `lvseg serve` segments a DICOM and a PNG as `lvseg predict` does, the dashboard shows a training
 * run appear and its curve grow, and the page also works from the plain static folder of `lvseg web build`.
 * One browser launch for the whole file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { promisify } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testModelMetadata } from '../models/metadata-fixture.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { encodePngGrey, toGrey8 } from '../../src/imaging/png.js';
import { saveModel } from '../../src/models/io.js';
import { makeDicom } from '../data/dicom-fixture.js';
import { writePhantomCine } from '../data/cine-phantom.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'lvseg.js');
const CHROMIUM = '/usr/bin/chromium';
const SHARED_DICOM = join(ROOT, '..', 'shared', 'data', 'sunnybrook', 'dicom', 'dicoms', 'SCD0000301', '20.dcm');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium, or run scripts/setup.sh as root)`);
if (!existsSync(SHARED_DICOM)) console.warn(`browser test: ${SHARED_DICOM} not found; the page is checked on a written DICOM only`);

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'lvseg-web-'));
const runs = join(base, 'runs');
const inputs = join(base, 'inputs');
const predicted = join(base, 'predicted');
const site = join(base, 'site');
const SPACING: [number, number] = [1.4, 1.3];

/**
 * A model whose masks are easy to check and far from empty: the 3×3 mean of the min-max scaled image above
 * 0.4987, as a real Conv2D with fixed weights (channel 0 scores 0, channel 1 scores mean - 0.4987). Not 0.5:
 * the phantoms' flat regions give windows whose mean is exactly 0.5, where the sign of the score depends on
 * the order of the additions, which differs between backends (and their convolution algorithms).
 */
async function writeThresholdRun(dir: string): Promise<void> {
  const input = tfl.input({ shape: [64, 64, 1] });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'threshold' });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  const kernel = new Float32Array(18);
  for (let k = 0; k < 9; k++) kernel[2 * k + 1] = 1 / 9;
  conv.setWeights([tf.tensor4d(kernel, [3, 3, 1, 2]), tf.tensor1d([0, -0.4987])]);
  await saveModel(model, join(dir, 'model'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: 'threshold', model: 'threshold', scale: 'minmax', epochs: 0 }));
}

function writeInputs(): string[] {
  mkdirSync(inputs, { recursive: true });
  const phantom = generatePhantom(3, 64);
  const dicom = join(inputs, 'phantom.dcm');
  // 16-bit stored values well above 255, with a rescale, so 8-bit shortcuts would show.
  writeFileSync(dicom, makeDicom({ rows: 64, columns: 64, bits: 16, values: Array.from(phantom.image, (v) => Math.round(v * 150) + 300), slope: 1.5, intercept: -20, spacing: SPACING, instanceNumber: 1 }));
  const other = generatePhantom(11, 80);
  const png = join(inputs, 'phantom.png');
  writeFileSync(png, encodePngGrey(80, 80, toGrey8(other.image)));
  const files = [dicom, png];
  if (existsSync(SHARED_DICOM)) {
    copyFileSync(SHARED_DICOM, join(inputs, 'sunnybrook.dcm'));
    files.push(join(inputs, 'sunnybrook.dcm'));
  }
  return files;
}

function startServe(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/\S+\/) /.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`lvseg serve exited ${code}: ${err}`)));
  });
}

/** A plain static file server, as a user would put the folder of `lvseg web build` behind. */
function staticServer(dir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (path.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })));
}

interface PageResult {
  name: string;
  width: number;
  height: number;
  areaPx: number;
  areaMm2: number | null;
  backend: string;
}

async function pageResults(page: Page, count: number): Promise<PageResult[]> {
  await page.waitForFunction((n) => document.querySelectorAll('[data-lvseg-result]').length === n, count, { timeout: 90_000 });
  const raw = await page.$$eval('[data-lvseg-result]', (rows) => rows.map((r) => r.getAttribute('data-lvseg-result')!));
  return raw.map((r) => JSON.parse(r) as PageResult);
}

async function downloaded(page: Page, button: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return readFileSync((await download.path())!, 'utf8');
}

describe.skipIf(!hasChromium)('lvseg in the browser', () => {
  let context: BrowserContext;
  let serve: { child: ChildProcess; url: string };
  let training: ChildProcess | undefined;
  let files: string[];

  beforeAll(async () => {
    mkdirSync(runs, { recursive: true });
    await writeThresholdRun(join(runs, 'threshold'));
    files = writeInputs();
    // The slow starts at once: the server, the browser, and the CLI runs the page is compared with.
    [serve, context] = await Promise.all([
      startServe(runs),
      chromium.launchPersistentContext(join(base, 'chromium-profile'), {
        executablePath: CHROMIUM,
        headless: true,
        acceptDownloads: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync'],
      }),
      run(process.execPath, [CLI, 'predict', join(runs, 'threshold'), ...files, '--out', predicted]),
      run(process.execPath, [CLI, 'web', 'build', '--out', site]),
    ]);
  });

  afterAll(async () => {
    await context?.close();
    training?.kill('SIGTERM');
    serve?.child.kill('SIGTERM');
  });

  it('segments a DICOM and a PNG in the page as lvseg predict does, asking nothing of any other server', async () => {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${serve.url}segment/?model=run:threshold`);
    await page.waitForSelector('body[data-lvseg-model="threshold (run)"]');
    await page.locator('input[type=file]').first().setInputFiles(files);
    const results = await pageResults(page, files.length);

    const cli = JSON.parse(readFileSync(join(predicted, 'predictions.json'), 'utf8')) as { images: { input: string; lvAreaPx: number; lvAreaMm2: number | null; width: number; height: number }[] };
    for (const file of files) {
      const mine = results.find((r) => r.name === basename(file))!;
      const theirs = cli.images.find((i) => i.input === file)!;
      expect(mine, file).toBeDefined();
      expect([mine.width, mine.height]).toEqual([theirs.width, theirs.height]);
      expect(theirs.lvAreaPx, file).toBeGreaterThan(30);
      expect(Math.abs(mine.areaPx - theirs.lvAreaPx), `${file}: page ${mine.areaPx} px, CLI ${theirs.lvAreaPx} px`).toBeLessThanOrEqual(3);
      expect(['webgpu', 'webgl', 'wasm']).toContain(mine.backend);
    }
    const dicom = results.find((r) => r.name === 'phantom.dcm')!;
    expect(dicom.areaMm2).toBeCloseTo(dicom.areaPx * SPACING[0] * SPACING[1], 6);
    expect(results.find((r) => r.name === 'phantom.png')!.areaMm2).toBeNull();
    if (files.length > 2) expect(results.find((r) => r.name === 'sunnybrook.dcm')!.areaMm2).not.toBeNull();
    // The downloads: the areas of every image as CSV, and the shown image's contour in Sunnybrook's text format.
    const csv = await downloaded(page, '#dl-csv');
    expect(csv.split('\n').filter((l) => l !== '').length).toBe(files.length + 1);
    const contour = (await downloaded(page, '#dl-contour')).trim().split('\n');
    const cliContour = readFileSync(join(predicted, 'inputs_phantom-icontour-auto.txt'), 'utf8').trim().split('\n');
    for (const line of contour) expect(line).toMatch(/^\d+\.\d\d \d+\.\d\d$/);
    expect(Math.abs(contour.length - cliContour.length)).toBeLessThanOrEqual(6);
    const origin = new URL(serve.url).origin;
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
    await page.close();
  });

  it('measures the LV volumes of a dropped cine with the numbers of lvseg volumes', async () => {
    const cine = writePhantomCine(join(base, 'cine'), { slices: 8, phases: 16, size: 64, pixelMm: 1.9, atrium: true });
    const cliRun = run(process.execPath, [CLI, 'volumes', cine.dir, '--model', join(runs, 'threshold'), '--json']);
    const page = await context.newPage();
    await page.goto(`${serve.url}segment/?model=run:threshold`);
    await page.waitForSelector('body[data-lvseg-model="threshold (run)"]');
    const dicoms = readdirSync(cine.dir).map((f) => join(cine.dir, f));
    await page.locator('input[type=file]').first().setInputFiles(dicoms);
    await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 90_000 });
    const mine = JSON.parse((await page.getAttribute('#volumes', 'data-lvseg-volumes'))!) as { edvMl: number; esvMl: number; efPct: number; edPhase: number; esPhase: number; countedSlices: number[] };
    const cli = JSON.parse((await cliRun).stdout) as typeof mine;
    // The same code over masks from two tfjs backends (wasm in the page, the CLI's own): the same slices and phases, volumes to 1%.
    expect(mine.countedSlices).toEqual(cli.countedSlices);
    expect(mine.countedSlices).not.toContain(8);
    expect([mine.edPhase, mine.esPhase]).toEqual([cli.edPhase, cli.esPhase]);
    expect(Math.abs(mine.edvMl - cli.edvMl) / cli.edvMl).toBeLessThan(0.01);
    expect(Math.abs(mine.esvMl - cli.esvMl) / cli.esvMl).toBeLessThan(0.01);
    expect(Math.abs(mine.efPct - cli.efPct)).toBeLessThan(0.5);
    expect(await page.locator('#volumes').textContent()).toMatch(/slice 8 left out: its area steps by/);
    await page.close();
  });

  it('works from the plain static folder of lvseg web build, with a model.json the user picks', async () => {
    const { server, url } = await staticServer(site);
    const page = await context.newPage();
    try {
      await page.goto(url);
      await page.waitForSelector('body[data-lvseg-ready]');
      const model = join(runs, 'threshold', 'model');
      writeFileSync(join(base, 'lvseg.json'), JSON.stringify(testModelMetadata('minmax')));
      await page.locator('#model-files').setInputFiles([join(model, 'model.json'), join(model, 'weights.bin'), join(base, 'lvseg.json')]);
      await page.waitForSelector('body[data-lvseg-model="model.json"]');
      expect(await page.locator('#scale').inputValue()).toBe('minmax');
      await page.locator('input[type=file]').first().setInputFiles(files.slice(0, 2));
      const results = await pageResults(page, 2);
      const viaServe = JSON.parse(readFileSync(join(predicted, 'predictions.json'), 'utf8')) as { images: { input: string; lvAreaPx: number }[] };
      for (const r of results) {
        const theirs = viaServe.images.find((i) => basename(i.input) === r.name)!;
        expect(Math.abs(r.areaPx - theirs.lvAreaPx), r.name).toBeLessThanOrEqual(3);
      }
    } finally {
      await page.close();
      server.close();
    }
  });

  it('shows a training run appear on the dashboard and its curve grow, epoch by epoch', async () => {
    const page = await context.newPage();
    await page.goto(serve.url);
    await page.waitForSelector('tr.run[data-run="threshold"]');
    training = spawn(process.execPath, [CLI, 'train', '--model', 'fcn-small', '--train', 'synthetic:32:1:64', '--val', 'synthetic:8:100:64',
      '--epochs', '4', '--scale', 'minmax', '--no-tensorboard', '--out', join(runs, 'live')], { stdio: 'ignore' });
    const finished = new Promise<number | null>((resolve) => training!.on('exit', resolve));
    await expect.poll(async () => {
      await page.reload();
      return page.locator('tr.run[data-run="live"]').count();
    }, { timeout: 60_000, interval: 500 }).toBe(1);
    await page.goto(`${serve.url}#/run/live`);
    const seen: number[] = [];
    let exit: number | null | undefined;
    void finished.then((code) => (exit = code));
    while (exit === undefined || seen.at(-1) !== 4) {
      const points = await page.locator('#chart-loss').getAttribute('data-points').catch(() => null);
      if (points !== null && Number(points) !== seen.at(-1)) seen.push(Number(points));
      if (exit !== undefined && exit !== 0) break;
      await page.waitForTimeout(150);
    }
    expect(exit).toBe(0);
    expect(seen.at(-1)).toBe(4);
    // The curve was seen part-way, then longer: it grew while the run trained.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    await expect.poll(() => page.locator('#panel').getAttribute('src'), { timeout: 10_000 }).toMatch(/\/runs\/live\/panels\/epoch-004\.png$/);
    await expect.poll(() => page.locator('#run-status').getAttribute('class'), { timeout: 10_000 }).toBe('finished');
    await page.close();
  });
});
