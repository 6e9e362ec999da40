/**
 * End to end in a real browser (Debian's chromium driven by playwright-core, no browser download): the page
 * served by `lvseg serve` segments a DICOM and a PNG as `lvseg predict` does, through the model's inference
 * pipeline (a test model with resampling, ROI, z-score, test-time flips and post-processing in its lvseg.json,
 * and the bundled lv-sunnybrook on a real Sunnybrook slice), and also works from the plain static folder of
 * `lvseg web build`. One browser launch for the whole file; the dashboard has its own (dashboard.test.ts).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename, extname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseContour, polygonArea } from '../../src/browser.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { encodePngGrey, toGrey8 } from '../../src/imaging/png.js';
import { makeDicom } from '../data/dicom-fixture.js';
import { writePhantomCine } from '../data/cine-phantom.js';
import { CHROMIUM, CLI, ROOT, hasChromium, startServe } from './serve-child.js';
import { tempDir } from '../temp.js';
import { writePipelineRun } from './pipeline-run.js';

// A mid-ventricular slice of validation patient SC-HF-I-05, as DICOM and as PNG, and its expert contour.
const SUNNYBROOK = join(ROOT, '..', 'shared', 'data', 'sunnybrook');
const REAL_DICOM = join(SUNNYBROOK, 'dicom', 'dicoms', 'SCD0000401', '80.dcm');
const REAL_PNG = join(SUNNYBROOK, 'png', 'validation', 'images', 'SC-HF-I-05', 'IM-0001-0080.png');
const REAL_CONTOUR = join(
  SUNNYBROOK,
  'dicom',
  'contourfiles',
  'SC-HF-I-5',
  'i-contours',
  'IM-0001-0080-icontour-manual.txt',
);
const hasSunnybrook = [REAL_DICOM, REAL_PNG, REAL_CONTOUR].every((f) => existsSync(f));
if (!hasChromium)
  console.warn(
    `browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium, or run scripts/setup.sh as root)`,
  );
if (hasChromium && !hasSunnybrook)
  console.warn(`browser test of the bundled model on real data skipped: ${SUNNYBROOK} not found`);

const run = promisify(execFile);
const base = tempDir('lvseg-web-');
const runs = join(base, 'runs');
const inputs = join(base, 'inputs');
const predicted = join(base, 'predicted');
const predictedReal = join(base, 'predicted-real');
const site = join(base, 'site');
const SPACING: [number, number] = [1.4, 1.3];

function writeInputs(): string[] {
  mkdirSync(inputs, { recursive: true });
  const phantom = generatePhantom(3, 64);
  const dicom = join(inputs, 'phantom.dcm');
  // 16-bit stored values well above 255, with a rescale, so 8-bit shortcuts would show.
  writeFileSync(
    dicom,
    makeDicom({
      rows: 64,
      columns: 64,
      bits: 16,
      values: Array.from(phantom.image, (v) => Math.round(v * 150) + 300),
      slope: 1.5,
      intercept: -20,
      spacing: SPACING,
      instanceNumber: 1,
    }),
  );
  const other = generatePhantom(11, 80);
  const png = join(inputs, 'phantom.png');
  writeFileSync(png, encodePngGrey(80, 80, toGrey8(other.image)));
  return [dicom, png];
}

/** A plain static file server, as a user would put the folder of `lvseg web build` behind. */
function staticServer(dir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.json': 'application/json',
    '.wasm': 'application/wasm',
  };
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
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }),
    ),
  );
}

interface PageResult {
  name: string;
  width: number;
  height: number;
  areaPx: number;
  areaMm2: number | null;
  backend: string;
  pipeline: string | null;
}

interface CliImage {
  input: string;
  width: number;
  height: number;
  lvAreaPx: number;
  lvAreaMm2: number | null;
  spacing: [number, number] | null;
}

function cliImages(folder: string): CliImage[] {
  return (JSON.parse(readFileSync(join(folder, 'predictions.json'), 'utf8')) as { images: CliImage[] }).images;
}

/** The page's result for each input equals lvseg predict's within a few pixels; returns the pairs. */
function expectSameAsCli(
  results: PageResult[],
  files: string[],
  cli: CliImage[],
): { page: PageResult; cli: CliImage }[] {
  expect(results.map((r) => r.name).sort()).toEqual(files.map((f) => basename(f)).sort());
  return files.map((file) => {
    const mine = results.find((r) => r.name === basename(file))!;
    const theirs = cli.find((i) => i.input === file)!;
    expect(theirs, file).toBeDefined();
    expect([mine.width, mine.height]).toEqual([theirs.width, theirs.height]);
    expect(theirs.lvAreaPx, file).toBeGreaterThan(30);
    expect(
      Math.abs(mine.areaPx - theirs.lvAreaPx),
      `${file}: page ${mine.areaPx} px, CLI ${theirs.lvAreaPx} px`,
    ).toBeLessThanOrEqual(3);
    expect(['webgpu', 'webgl', 'wasm']).toContain(mine.backend);
    return { page: mine, cli: theirs };
  });
}

async function pageResults(page: Page, count: number): Promise<PageResult[]> {
  await page.waitForFunction((n) => document.querySelectorAll('[data-lvseg-result]').length === n, count, {
    timeout: 90_000,
  });
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
  let files: string[];
  const realFiles = [REAL_DICOM, REAL_PNG];

  beforeAll(async () => {
    mkdirSync(runs, { recursive: true });
    await writePipelineRun(join(runs, 'pipeline'));
    files = writeInputs();
    // The slow starts at once: the server, the browser, and the CLI runs the page is compared with.
    [serve, context] = await Promise.all([
      startServe(runs),
      chromium.launchPersistentContext(join(base, 'chromium-profile'), {
        executablePath: CHROMIUM,
        headless: true,
        acceptDownloads: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
      run(process.execPath, [CLI, 'predict', join(runs, 'pipeline'), ...files, '--out', predicted]),
      hasSunnybrook
        ? run(process.execPath, [CLI, 'predict', 'lv-sunnybrook', ...realFiles, '--out', predictedReal])
        : undefined,
      run(process.execPath, [CLI, 'web', 'build', '--out', site]),
    ]);
  });

  afterAll(async () => {
    await context?.close();
    serve?.child.kill('SIGTERM');
    rmSync(base, { recursive: true, force: true });
  });

  it(
    "segments a DICOM and a PNG through the model's pipeline as lvseg predict does, asking nothing of any other " +
      'server',
    async () => {
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`${serve.url}segment/?model=run:pipeline`);
      await page.waitForSelector('body[data-lvseg-model="pipeline (run)"]');
      await page.locator('input[type=file]').first().setInputFiles(files);
      const results = await pageResults(page, files.length);
      for (const { page: mine } of expectSameAsCli(results, files, cliImages(predicted))) {
        expect(mine.pipeline).toBe(
          'pipeline: resample to 1 mm, centre 64x64 ROI, clip to percentiles 1-99 + z-score, TTA over 4 flips, ' +
            'largest ' +
            'component, holes filled',
        );
      }
      const dicom = results.find((r) => r.name === 'phantom.dcm')!;
      expect(dicom.areaMm2).toBeCloseTo(dicom.areaPx * SPACING[0] * SPACING[1], 6);
      expect(results.find((r) => r.name === 'phantom.png')!.areaMm2).toBeNull();
      // The downloads: the areas of every image as CSV, and the shown image's contour in Sunnybrook's text format.
      const csv = await downloaded(page, '#dl-csv');
      expect(csv.split('\n').filter((l) => l !== '').length).toBe(files.length + 1);
      // The shared CSV writer: a PNG has no mm² and no spacing, so empty cells, never "null" or "NaN".
      expect(csv).toMatch(/^phantom\.png,80,80,\d+,,,$/m);
      const contour = (await downloaded(page, '#dl-contour')).trim().split('\n');
      const cliContour = readFileSync(join(predicted, 'inputs_phantom-icontour-auto.txt'), 'utf8').trim().split('\n');
      for (const line of contour) expect(line).toMatch(/^\d+\.\d\d \d+\.\d\d$/);
      expect(Math.abs(contour.length - cliContour.length)).toBeLessThanOrEqual(6);
      const origin = new URL(serve.url).origin;
      expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual(
        [],
      );
      await page.close();
    },
  );

  it.skipIf(!hasSunnybrook)(
    'segments a real Sunnybrook slice with the bundled lv-sunnybrook as lvseg predict does, DICOM and PNG',
    async () => {
      const page = await context.newPage();
      // wasm: headless Chromium without a GPU emulates webgl in software, which takes ~45 s on this U-Net, wasm ~5 s.
      await page.goto(`${serve.url}segment/?model=bundled:lv-sunnybrook&backend=wasm`);
      await page.waitForSelector('body[data-lvseg-model="lv-sunnybrook"]');
      await page.locator('input[type=file]').first().setInputFiles(realFiles);
      const results = await pageResults(page, realFiles.length);
      const pairs = expectSameAsCli(results, realFiles, cliImages(predictedReal));
      const [dicom, png] = pairs.map((p) => p.page);
      for (const r of [dicom!, png!])
        expect(r.pipeline).toBe(
          'pipeline: resample to 1.367 mm, centre 128x128 ROI, clip to percentiles 1-99 + z-score, ' +
            'largest component, holes filled',
        );
      // mm² from the DICOM's own Pixel Spacing (1.367 mm in this series), as the CLI read it.
      const spacing = pairs[0]!.cli.spacing!;
      expect(spacing[0]).toBeCloseTo(1.367, 2);
      expect(dicom!.areaMm2).toBeCloseTo(dicom!.areaPx * spacing[0] * spacing[1], 6);
      expect(Math.abs(dicom!.areaMm2! - pairs[0]!.cli.lvAreaMm2!)).toBeLessThanOrEqual(3 * spacing[0] * spacing[1]);
      expect(png!.areaMm2).toBeNull();
      // A real segmentation, not merely a consistent one: within 20% of the expert's contour area.
      const expert = Math.abs(polygonArea(parseContour(readFileSync(REAL_CONTOUR, 'utf8'), REAL_CONTOUR)));
      for (const r of [dicom!, png!])
        expect(
          Math.abs(r.areaPx - expert) / expert,
          `${r.name}: ${r.areaPx} px vs expert ${expert.toFixed(0)} px`,
        ).toBeLessThan(0.2);
      await page.close();
    },
  );

  it('measures the LV volumes of a dropped cine with the numbers of lvseg volumes', async () => {
    const cine = writePhantomCine(join(base, 'cine'), { slices: 8, phases: 16, size: 64, pixelMm: 1.9, atrium: true });
    const cliRun = run(process.execPath, [CLI, 'volumes', cine.dir, '--model', join(runs, 'pipeline'), '--json']);
    const page = await context.newPage();
    await page.goto(`${serve.url}segment/?model=run:pipeline`);
    await page.waitForSelector('body[data-lvseg-model="pipeline (run)"]');
    const dicoms = readdirSync(cine.dir).map((f) => join(cine.dir, f));
    await page.locator('input[type=file]').first().setInputFiles(dicoms);
    await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 90_000 });
    const mine = JSON.parse((await page.getAttribute('#volumes', 'data-lvseg-volumes'))!) as {
      edvMl: number;
      esvMl: number;
      efPct: number;
      edPhase: number;
      esPhase: number;
      countedSlices: number[];
    };
    const cli = JSON.parse((await cliRun).stdout) as typeof mine & { segmenter: { labels: string } };
    expect(cli.segmenter.labels).toBe('contour-included');
    // The same code over masks from two tfjs backends (wasm in the page, the CLI's own): the same slices and phases,
    // volumes to 1%.
    expect(mine.countedSlices).toEqual(cli.countedSlices);
    expect(mine.countedSlices).not.toContain(8);
    expect([mine.edPhase, mine.esPhase]).toEqual([cli.edPhase, cli.esPhase]);
    expect(Math.abs(mine.edvMl - cli.edvMl) / cli.edvMl).toBeLessThan(0.01);
    expect(Math.abs(mine.esvMl - cli.esvMl) / cli.esvMl).toBeLessThan(0.01);
    expect(Math.abs(mine.efPct - cli.efPct)).toBeLessThan(0.5);
    expect(await page.locator('#volumes').textContent()).toMatch(/slice 8 left out: its area steps by/);
    await page.close();
  });

  it(
    'works from the plain static folder of lvseg web build, with a model.json and lvseg.json the user ' + 'picks',
    async () => {
      const { server, url } = await staticServer(site);
      const page = await context.newPage();
      try {
        await page.goto(`${url}segment/`);
        await page.waitForSelector('body[data-lvseg-ready]');
        const model = join(runs, 'pipeline', 'model');
        await page
          .locator('#model-files')
          .setInputFiles([join(model, 'model.json'), join(model, 'weights.bin'), join(model, 'lvseg.json')]);
        await page.waitForSelector('body[data-lvseg-model="model.json"]');
        expect(await page.locator('#scale').inputValue()).toBe('none');
        await page.locator('input[type=file]').first().setInputFiles(files);
        const results = await pageResults(page, files.length);
        for (const { page: mine } of expectSameAsCli(results, files, cliImages(predicted)))
          expect(mine.pipeline).toMatch(/centre 64x64 ROI/);
      } finally {
        await page.close();
        server.close();
      }
    },
  );
});
