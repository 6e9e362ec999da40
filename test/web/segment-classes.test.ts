/**
 * The segmentation page with a model of three classes (background, blood pool, myocardium), end to end in
 * Debian's chromium under `lvseg serve`: each class in its own colour with a legend, the per-class areas and
 * contours `lvseg predict` gives, the LV mass `lvseg volumes --json` gives, and every mask as one NIfTI label map
 * on the grid `lvseg data convert` writes the series as (and, for PNGs, stacked with the typed pixel spacing).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { gunzipSync, unzipSync } from 'fflate';
import { readHeader, readImage } from 'nifti-reader-js';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LV_MYO_CLASSES } from '../../src/data/classes.js';
import { saveModel } from '../../src/models/io.js';
import { writePhantomCine, type PhantomCine } from '../data/cine-phantom.js';
import { testModelMetadata } from '../models/metadata-fixture.js';
import { tempDir } from '../temp.js';
import { CHROMIUM, CLI, hasChromium, startServe } from './serve-child.js';

const run = promisify(execFile);
const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
];
const SLICES = 8;
const PHASES = 16;

/**
 * A run of three classes whose masks are known: a 1×1 convolution scoring background 0, myocardium v - 200 and
 * blood pool 2v - 850 on the raw value v, so the phantoms' values (background 100, wall 300, blood 1000) are
 * their own classes, far from any tie, on every backend.
 */
async function writeClassesRun(dir: string): Promise<void> {
  const input = tfl.input({ shape: [64, 64, 1] });
  const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'classes' });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  // channels by class: background, lv, myocardium
  conv.setWeights([tf.tensor4d([0, 2, 1], [1, 1, 1, 3]), tf.tensor1d([0, -850, -200])]);
  await saveModel(model, join(dir, 'model'), {
    metadata: { ...testModelMetadata('none', 64), classes: LV_MYO_CLASSES },
  });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ name: 'classes', model: 'threshold', scale: 'none', epochs: 0, classes: LV_MYO_CLASSES }),
  );
}

interface PredictedImage {
  input: string;
  mask: string;
  classes: Record<string, { areaPx: number; areaMm2: number | null; contour: string }>;
}

interface PageResult {
  name: string;
  areaPx: number;
  classes: Record<string, { areaPx: number; areaMm2: number | null }>;
}

async function downloaded(page: Page, button: string): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return readFileSync((await download.path())!);
}

/** A NIfTI file's header and voxels, as nifti-reader-js reads them. */
function readNiftiBytes(bytes: Buffer): { header: ReturnType<typeof readHeader>; voxels: Uint8Array } {
  const raw = gunzipSync(new Uint8Array(bytes));
  const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  const header = readHeader(buffer);
  return { header, voxels: new Uint8Array(readImage(header, buffer)) };
}

describe.skipIf(!hasChromium)('the segmentation page with a model of three classes', () => {
  const base = tempDir('lvseg-segment-classes-');
  const runs = join(base, 'runs');
  const predicted = join(base, 'predicted');
  const converted = join(base, 'cine.nii.gz');
  let serve: { child: import('node:child_process').ChildProcess; url: string };
  let browser: Browser;
  let cine: PhantomCine;
  let cineFiles: string[];
  let cli: Promise<[{ stdout: string }, unknown, unknown]>;
  let page: Page;

  beforeAll(async () => {
    await writeClassesRun(join(runs, 'classes'));
    cine = writePhantomCine(join(base, 'cine'), { slices: SLICES, phases: PHASES, size: 64, pixelMm: 1.9 });
    cineFiles = readdirSync(cine.dir).map((f) => join(cine.dir, f));
    const model = join(runs, 'classes');
    // the CLI on the same series and model, while the server and the browser start
    cli = Promise.all([
      run(process.execPath, [CLI, 'volumes', cine.dir, '--model', model, '--json']),
      run(process.execPath, [CLI, 'predict', model, ...cineFiles, '--out', predicted]),
      run(process.execPath, [CLI, 'data', 'convert', cine.dir, '--out', converted]),
    ]);
    cli.catch(() => undefined); // awaited in the tests; this only keeps a failure from being reported before then
    [serve, browser] = await Promise.all([
      startServe(runs),
      chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${serve.url}segment/?model=run:classes`);
    await page.waitForSelector('body[data-lvseg-model="classes (run)"]');
    await page.locator('#images').setInputFiles(cineFiles);
    await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 240_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    serve?.child.kill('SIGTERM');
  });

  it(
    "shows each class in its colour with a legend, lvseg predict's per-class areas, masks and contours, and " +
      "lvseg volumes' LV mass",
    async () => {
      const [volumesRun] = await cli;
      const listed = (await (await page.request.get(`${serve.url}segment/models.json`)).json()) as {
        id: string;
        classes: string[];
      }[];
      expect(listed.find((m) => m.id === 'run:classes')?.classes).toEqual(LV_MYO_CLASSES);

      // LV mass and wall thickness at the top beside EF, as lvseg volumes --json gives them
      const theirs = JSON.parse(volumesRun.stdout) as {
        lvMassG: number | null;
        wall: { meanWallThicknessMm: number } | null;
        edvMl: number;
        efPct: number;
      };
      const mine = JSON.parse((await page.getAttribute('#volumes', 'data-lvseg-volumes'))!) as typeof theirs & {
        meanWallThicknessMm: number;
      };
      expect(theirs.lvMassG).toBeGreaterThan(20);
      expect(mine.lvMassG).toBe(theirs.lvMassG);
      expect(mine.meanWallThicknessMm).toBe(theirs.wall!.meanWallThicknessMm);
      expect([Number(mine.edvMl.toFixed(2)), Number(mine.efPct.toFixed(2))]).toEqual([theirs.edvMl, theirs.efPct]);
      expect(await page.locator('#volumes tr[data-measure="LV mass"] td').textContent()).toBe(
        `${theirs.lvMassG!.toFixed(1)} g`,
      );
      const box = (await page.locator('#volumes tr[data-measure="LV mass"]').boundingBox())!;
      expect(box.y + box.height, 'LV mass below the fold').toBeLessThanOrEqual(800);
      const record = JSON.parse((await downloaded(page, '#dl-volumes-json')).toString('utf8')) as typeof theirs;
      expect(record.lvMassG).toBe(theirs.lvMassG);

      // per-class areas and masks equal to lvseg predict's
      const predictions = JSON.parse(readFileSync(join(predicted, 'predictions.json'), 'utf8')) as {
        classes: string[];
        images: PredictedImage[];
      };
      expect(predictions.classes).toEqual(LV_MYO_CLASSES);
      const results = new Map(
        (
          await page
            .locator('[data-lvseg-result]')
            .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.lvsegResult!))
        ).map((text) => {
          const r = JSON.parse(text) as PageResult;
          return [r.name, r] as const;
        }),
      );
      expect(results.size).toBe(cineFiles.length);
      const masks = unzipSync(await downloaded(page, '#dl-masks'));
      const contours = unzipSync(await downloaded(page, '#dl-contours'));
      const decoder = new TextDecoder();
      for (const image of predictions.images) {
        const name = basename(image.input);
        const ours = results.get(name)!;
        expect(Object.keys(ours.classes), name).toEqual(['lv', 'myocardium', 'epicardium']);
        for (const [region, c] of Object.entries(image.classes)) {
          expect(ours.classes[region]!.areaPx, `${name} ${region}`).toBe(c.areaPx);
          expect(ours.classes[region]!.areaMm2!).toBeCloseTo(c.areaMm2!, 6);
        }
        expect(ours.areaPx).toBe(image.classes.lv!.areaPx);
        // class indices, as predict writes a K-class model's masks
        const cliMask = PNG.sync.read(readFileSync(join(predicted, image.mask)));
        const pageMask = PNG.sync.read(Buffer.from(masks[`${basename(name, '.dcm')}.mask.png`]!));
        expect(pageMask.data.equals(cliMask.data), name).toBe(true);
        // the epicardium's contour as Sunnybrook names the outer one, the same points as predict's
        const instance = basename(name, '.dcm').padStart(4, '0');
        expect(decoder.decode(contours[`IM-0001-${instance}-ocontour-auto.txt`]!)).toBe(
          readFileSync(join(predicted, image.classes.epicardium!.contour), 'utf8'),
        );
      }
      expect(Object.keys(contours).length).toBe(3 * cineFiles.length);
      const csv = (await downloaded(page, '#dl-csv')).toString('utf8').trim().split('\n');
      expect(csv[0]).toBe(
        'name,width,height,areaPx,areaMm2,rowSpacingMm,columnSpacingMm,lvAreaPx,lvAreaMm2,myocardiumAreaPx,' +
          'myocardiumAreaMm2,epicardiumAreaPx,epicardiumAreaMm2',
      );

      // the legend, and each class tinted in its colour: a middle slice at ED
      const edFile = `${1 + (SLICES - 1 - 4) * PHASES + cine.edPhase}.dcm`;
      await page.evaluate((file) => {
        const rows = Array.from((document.getElementById('results') as HTMLTableSectionElement).rows);
        rows.find((row) => row.cells[1]!.textContent === file)!.click();
      }, edFile);
      const legend = await page
        .locator('#legend li')
        .evaluateAll((items) =>
          items.map((i) => [(i as HTMLElement).dataset.class, (i as HTMLElement).dataset.colour]),
        );
      expect(legend.map(([name]) => name)).toEqual(['lv', 'myocardium', 'epicardium']);
      expect(legend[0]![1]).toBe('rgb(255, 48, 48)');
      expect(legend[2]![1]).toBe('rgb(255, 200, 40)');
      expect(new Set(legend.map(([, colour]) => colour)).size).toBe(3);
      expect(await page.locator('#legend li[data-class="myocardium"]').textContent()).toContain(
        `${results.get(edFile)!.classes.myocardium!.areaMm2!.toFixed(1)} mm²`,
      );
      // a pixel of each class, from predict's mask of that image
      const edMask = PNG.sync.read(
        readFileSync(join(predicted, predictions.images.find((i) => basename(i.input) === edFile)!.mask)),
      );
      const pixelOf = (value: number): number => {
        // one whose neighbours share its class, away from the outlines
        for (let i = 65; i < 64 * 63; i++)
          if ([i, i - 1, i + 1, i - 64, i + 64, i - 2, i + 2].every((j) => edMask.data[4 * j] === value)) return i;
        return -1;
      };
      const shown = await page.evaluate(
        (pixels) => {
          const context = (document.getElementById('view') as HTMLCanvasElement).getContext('2d')!;
          return pixels.map((i) => Array.from(context.getImageData(i % 64, Math.floor(i / 64), 1, 1).data));
        },
        [pixelOf(0), pixelOf(1), pixelOf(2)],
      );
      const [background, lv, myocardium] = shown as [number[], number[], number[]];
      expect(background[0]).toBe(background[1]); // grey
      expect(lv[0]!).toBeGreaterThan(lv[1]! + 40); // red
      expect(myocardium[1]!).toBeGreaterThan(myocardium[0]! + 20); // the myocardium's own colour, not grey or red
    },
  );

  it("downloads all masks as one NIfTI label map on lvseg data convert's grid, equal to the page's masks", async () => {
    await cli;
    const { header, voxels } = readNiftiBytes(await downloaded(page, '#dl-nifti'));
    const convertedCine = readNiftiBytes(readFileSync(converted));
    expect(header.dims.slice(0, 5)).toEqual([4, 64, 64, SLICES, PHASES]);
    expect(header.dims).toEqual(convertedCine.header.dims);
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++) expect(header.affine[r]![c]!).toBeCloseTo(convertedCine.header.affine[r]![c]!, 4);
    expect(header.pixDims.slice(1, 5)).toEqual(convertedCine.header.pixDims.slice(1, 5));
    expect(header.intent_code).toBe(1002);
    expect(header.datatypeCode).toBe(2);
    // slice k at phase t is the page's mask of that image, its blood pool the phantom's
    const masks = unzipSync(await downloaded(page, '#dl-masks'));
    const size = 64 * 64;
    for (let t = 0; t < PHASES; t++)
      for (let k = 0; k < SLICES; k++) {
        const labels = voxels.subarray((t * SLICES + k) * size, (t * SLICES + k + 1) * size);
        const png = PNG.sync.read(Buffer.from(masks[`${1 + (SLICES - 1 - k) * PHASES + t}.mask.png`]!));
        const pageMask = Uint8Array.from({ length: size }, (_, i) => png.data[4 * i]!);
        expect(Buffer.from(labels).equals(Buffer.from(pageMask)), `slice ${k + 1} phase ${t + 1}`).toBe(true);
        const lv = cine.mask(k, t);
        expect(
          labels.every((v, i) => (v === 1) === (lv[i] === 1)),
          `slice ${k + 1} phase ${t + 1}`,
        ).toBe(true);
      }
  });

  it('stacks PNG masks into a label map with the typed pixel spacing', async () => {
    const files = [0, 1, 2].map((n) => {
      const png = new PNG({ width: 64, height: 64 });
      for (let i = 0; i < 64 * 64; i++) {
        const [x, y] = [i % 64, Math.floor(i / 64)];
        const v = (x - 30) ** 2 + (y - 34) ** 2 < (6 + 2 * n) ** 2 ? 250 : 20; // 250: the myocardium class
        png.data.set([v, v, v, 255], 4 * i);
      }
      return { file: `slice-${n}.png`, bytes: PNG.sync.write(png) };
    });
    const own = await browser.newPage();
    await own.goto(`${serve.url}segment/?model=run:classes`);
    await own.waitForSelector('body[data-lvseg-model="classes (run)"]');
    await own.fill('#spacing', '1.5');
    // its change (a new pass over no images) before the images, not in the middle of their pass
    await own.locator('#spacing').blur();
    await own
      .locator('#images')
      .setInputFiles(files.map((f) => ({ name: f.file, mimeType: 'image/png', buffer: f.bytes })));
    await own.waitForFunction(() => /3 of 3 images segmented/.test(document.getElementById('status')!.textContent!));
    const { header, voxels } = readNiftiBytes(await downloaded(own, '#dl-nifti'));
    expect(header.dims.slice(0, 4)).toEqual([3, 64, 64, 3]);
    expect(header.pixDims.slice(1, 4)).toEqual([1.5, 1.5, 1]);
    const counts = [0, 1, 2].map((z) => voxels.subarray(z * 4096, (z + 1) * 4096).filter((v) => v === 2).length);
    const areas = await own
      .locator('[data-lvseg-result]')
      .evaluateAll((rows) =>
        rows.map((r) => (JSON.parse((r as HTMLElement).dataset.lvsegResult!) as PageResult).classes.myocardium!.areaPx),
      );
    expect(counts).toEqual(areas);
    expect(counts[0]).toBeGreaterThan(50);
    expect(counts[2]).toBeGreaterThan(counts[0]!);
    await own.close();
  });
});
