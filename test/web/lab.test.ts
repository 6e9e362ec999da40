/**
 * The lab page (/lab/ under `lvseg serve`) in a real browser: Debian's chromium driven by playwright-core,
 * with SwiftShader's WebGPU adapter (WebGPU on the CPU), trains a small network on tiny phantom TFRecords in
 * the tab and must match `lvseg train --backend cpu` on the same files, seed and data order; the model it
 * offers for download must load in `lvseg evaluate` and score as it did in the tab.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Download, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLabExample } from '../../src/data/lab-schema.js';
import { generatePhantom } from '../../src/data/synthetic.js';
import { writeTfRecords } from '../../src/data/tfrecord.js';
import { encodePngGrey } from '../../src/imaging/png.js';
import { readHistory, readRunFile } from '../../src/runs/run-dir.js';
import type { RunConfig } from '../../src/training/config.js';
import type { EpochRecord } from '../../src/web/lab/page.js';
import { CHROMIUM, CLI, hasChromium, startServe } from './serve-child.js';
import { tempDir } from '../temp.js';

if (!hasChromium)
  console.warn(
    `lab page tests skipped: ${CHROMIUM} not found (apt-get install -y chromium, or run scripts/setup.sh as root)`,
  );

const run = promisify(execFile);
const base = tempDir('lvseg-lab-');
const data = join(base, 'data');
// The run's settings, for the page (URL) and the CLI (flags) alike: 2 epochs of 3 steps of 2 phantoms of 32×32.
const SETTINGS = { model: 'fcn-small', epochs: 2, batch: 2, steps: 3, lr: 0.01, scale: '1/255', seed: 7 };

/** The lab's TFRecords of synthetic phantoms: training gzip-compressed (as the shared set is), validation plain. */
async function writeData(): Promise<{ train: string; val: string }> {
  mkdirSync(data, { recursive: true });
  const phantoms = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => encodeLabExample(generatePhantom(from + i, 32)));
  const train = join(data, 'train_images.tfrecords.gz');
  const val = join(data, 'val_images.tfrecords');
  await writeTfRecords(train, phantoms(1, 8), { gzip: true });
  await writeTfRecords(val, phantoms(100, 4));
  return { train, val };
}

/** The same kind of phantoms as a PNG dataset folder of 3 patients (images/<CASE>/*.png + masks/endo/<CASE>/*.png). */
function writePngDataset(): string {
  const dir = join(data, 'png');
  for (let seed = 0; seed < 24; seed++) {
    const s = generatePhantom(seed, 32);
    const [patient, slice] = s.name.split('/') as [string, string];
    for (const [sub, values] of [
      ['images', Uint8Array.from(s.image)],
      [join('masks', 'endo'), Uint8Array.from(s.label, (v) => v * 255)],
    ] as const) {
      mkdirSync(join(dir, sub, patient), { recursive: true });
      writeFileSync(join(dir, sub, patient, `${slice}.png`), encodePngGrey(32, 32, values));
    }
  }
  return dir;
}

async function epochRecords(page: Page, count: number): Promise<EpochRecord[]> {
  await page.waitForFunction((n) => document.querySelectorAll('[data-lvseg-epoch]').length >= n, count, {
    timeout: 90_000,
  });
  const raw = await page.$$eval('[data-lvseg-epoch]', (rows) => rows.map((r) => r.getAttribute('data-lvseg-epoch')!));
  return raw.map((r) => JSON.parse(r) as EpochRecord);
}

describe.skipIf(!hasChromium)('the lab page: training in a browser tab', () => {
  let browser: Browser;
  let serve: { child: ChildProcess; url: string };
  let files: { train: string; val: string };
  let cli: Promise<unknown>;
  let png: string;
  let cliPng: Promise<unknown>;

  beforeAll(async () => {
    files = await writeData();
    const flags = [
      '--model',
      SETTINGS.model,
      '--epochs',
      SETTINGS.epochs,
      '--batch-size',
      SETTINGS.batch,
      '--steps-per-epoch',
      SETTINGS.steps,
      '--lr',
      SETTINGS.lr,
      '--scale',
      SETTINGS.scale,
      '--seed',
      SETTINGS.seed,
    ].map(String);
    png = writePngDataset();
    // The reference runs start at once and train while the browser starts.
    cli = run(process.execPath, [
      CLI,
      'train',
      '--backend',
      'cpu',
      '--train',
      files.train,
      '--val',
      files.val,
      ...flags,
      '--no-tensorboard',
      '--out',
      join(base, 'runs', 'node'),
    ]);
    // Without --val: a tenth of the patients held out by the seed, as the page does without a validation file.
    cliPng = run(process.execPath, [
      CLI,
      'train',
      '--backend',
      'cpu',
      '--train',
      png,
      ...flags,
      '--epochs',
      '1',
      '--no-tensorboard',
      '--out',
      join(base, 'runs', 'png'),
    ]);
    [serve, browser] = await Promise.all([
      startServe(mkdtempSync(join(base, 'served-'))),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        // WebGPU on a localhost page, on SwiftShader's Vulkan: a GPU adapter on the CPU.
        args: [
          '--headless',
          '--no-sandbox',
          '--enable-unsafe-webgpu',
          '--use-webgpu-adapter=swiftshader',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    serve?.child.kill('SIGTERM');
  });

  it(
    'trains on webgpu in the tab to the losses of lvseg train on cpu, epoch for epoch, and offers a model lvseg ' +
      'evaluate loads',
    async () => {
      const context = await browser.newContext({ acceptDownloads: true });
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      // forced: on SwiftShader's adapter the page would choose wasm by itself (the next test)
      const query = new URLSearchParams(
        Object.entries({ ...SETTINGS, backend: 'webgpu' }).map(([k, v]) => [k, String(v)]),
      );
      await page.goto(`${serve.url}lab?${query}`);
      await page.waitForSelector('body[data-lvseg-backend]');
      expect(await page.getAttribute('body', 'data-lvseg-backend')).toBe('webgpu');
      expect(await page.locator('#model').inputValue()).toBe(SETTINGS.model);
      expect(await page.locator('#epochs').inputValue()).toBe(String(SETTINGS.epochs));

      await page.locator('#data').setInputFiles([files.train, files.val]);
      await page.waitForSelector('#train:not([disabled])');
      expect(await page.textContent('#data-status')).toContain(
        '8 training slices from train_images.tfrecords.gz; 4 validation slices from val_images.tfrecords',
      );
      await page.click('#train');
      const tab = await epochRecords(page, SETTINGS.epochs);
      await cli;
      const node = readHistory(join(base, 'runs', 'node')).epochs;

      expect(tab.map((e) => e.epoch)).toEqual([1, 2]);
      expect(tab.every((e) => e.backend === 'webgpu' && e.ms > 0 && e.stepLosses.length === SETTINGS.steps)).toBe(true);
      for (const e of tab) expect(e.stepLosses.reduce((a, b) => a + b, 0) / SETTINGS.steps).toBeCloseTo(e.loss, 6);
      for (const [i, e] of tab.entries()) {
        const reference = node[i]!;
        expect(e.loss, `epoch ${i + 1} loss: tab ${e.loss}, node ${reference.loss}`).toBeCloseTo(reference.loss!, 4);
        expect(e.valLoss!, `epoch ${i + 1} val loss`).toBeCloseTo(reference.val_loss!, 4);
        expect(e.valDice!, `epoch ${i + 1} val Dice`).toBeCloseTo(reference.val_dice!, 3);
      }
      // Trained: the loss fell from the first step to the last.
      expect(tab.at(-1)!.stepLosses.at(-1)!).toBeLessThan(tab[0]!.stepLosses[0]!);
      await page.waitForSelector('body[data-lvseg-trained]');

      const downloads: Download[] = [];
      page.on('download', (d) => downloads.push(d));
      await page.click('#download');
      await expect.poll(() => downloads.length, { timeout: 20_000 }).toBe(3);
      const model = join(base, 'downloaded');
      for (const d of downloads) await d.saveAs(join(model, d.suggestedFilename()));
      expect(downloads.map((d) => d.suggestedFilename()).sort()).toEqual(['lvseg.json', 'model.json', 'weights.bin']);
      const { stdout } = await run(process.execPath, [
        CLI,
        'evaluate',
        model,
        '--data',
        files.val,
        '--json',
        '--batch-size',
        String(SETTINGS.batch),
      ]);
      const evaluation = JSON.parse(stdout) as { scale: string; dice: number; count: number };
      // lvseg.json gave the scale; the weights are the tab's: the same Dice on the validation set.
      expect(evaluation.scale).toBe(SETTINGS.scale);
      expect(evaluation.count).toBe(4);
      expect(evaluation.dice).toBeCloseTo(tab.at(-1)!.valDice!, 3);
      const origin = new URL(serve.url).origin;
      expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual(
        [],
      );
      await context.close();
    },
  );

  it(
    "passes over SwiftShader's software WebGPU adapter for wasm, sizes its defaults to it, and remembers a backend " +
      'picked from the menu',
    async () => {
      const page = await browser.newPage();
      await page.goto(`${serve.url}lab/`);
      await page.waitForSelector('body[data-lvseg-backend]');
      expect(await page.getAttribute('body', 'data-lvseg-backend')).toBe('wasm');
      expect(await page.textContent('#backend')).toMatch(
        /wasm .*no hardware GPU \(webgpu: a software (\(fallback\) )?adapter/,
      );
      // minutes of training on the CPU, not the preset's hours
      expect([await page.inputValue('#epochs'), await page.inputValue('#steps')]).toEqual(['3', '20']);
      expect(await page.textContent('#status')).toMatch(/no GPU here \(wasm\)/);
      // the menu's choice holds after a reload (the page starts again on it)
      await Promise.all([page.waitForEvent('load'), page.selectOption('#backend-menu', 'webgpu')]);
      await page.waitForSelector('body[data-lvseg-backend]');
      expect(await page.getAttribute('body', 'data-lvseg-backend')).toBe('webgpu');
      expect(await page.textContent('#backend')).toMatch(/webgpu · your choice/);
      expect(await page.inputValue('#backend-menu')).toBe('webgpu');
      await page.evaluate(() => localStorage.removeItem('lvseg.backend'));
      await page.close();
    },
  );

  // webgl is left out: on SwiftShader's GL it takes 40 s here and its first epoch's loss is 0.017 off cpu's.
  it.each(['wasm'])(
    "trains on %s when asked (a fallback after webgpu, with lvseg's wasm training kernels) to the same first epoch",
    async (backend) => {
      const page = await browser.newPage();
      const query = new URLSearchParams(
        Object.entries({ ...SETTINGS, epochs: 1, backend }).map(([k, v]) => [k, String(v)]),
      );
      await page.goto(`${serve.url}lab/?${query}`);
      await page.waitForSelector('body[data-lvseg-backend]');
      expect(await page.getAttribute('body', 'data-lvseg-backend')).toBe(backend);
      await page.locator('#data').setInputFiles([files.train, files.val]);
      await page.waitForSelector('#train:not([disabled])');
      await page.click('#train');
      const [first] = await epochRecords(page, 1);
      await cli;
      const reference = readHistory(join(base, 'runs', 'node')).epochs[0]!;
      expect(first!.backend).toBe(backend);
      expect(first!.loss).toBeCloseTo(reference.loss!, 4);
      expect(first!.valLoss!).toBeCloseTo(reference.val_loss!, 4);
      await page.close();
    },
  );

  it(
    'reads a PNG dataset folder, holds out patients as lvseg train does, and trains to the same first ' + 'epoch',
    async () => {
      const page = await browser.newPage();
      const query = new URLSearchParams(
        Object.entries({ ...SETTINGS, epochs: 1, backend: 'wasm' }).map(([k, v]) => [k, String(v)]),
      );
      await page.goto(`${serve.url}lab/?${query}`);
      await page.waitForSelector('body[data-lvseg-backend]');
      await page.locator('#folder').setInputFiles(png);
      await page.waitForSelector('#train:not([disabled])');
      await cliPng;
      const config = readRunFile<'config', RunConfig>(join(base, 'runs', 'png'), 'config')!;
      expect(await page.textContent('#data-status')).toContain(
        `${config.trainSize} training and ${config.valSize} validation slices from png/`,
      );
      await page.click('#train');
      const [first] = await epochRecords(page, 1);
      const reference = readHistory(join(base, 'runs', 'png')).epochs[0]!;
      expect(first!.loss).toBeCloseTo(reference.loss!, 4);
      expect(first!.valLoss!).toBeCloseTo(reference.val_loss!, 4);
      await page.close();
    },
  );
});
