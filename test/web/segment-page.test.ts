/**
 * The segmentation page as a clinician uses it, end to end in Debian's chromium under `lvseg serve`: a whole
 * cine series dropped, the volumes at the top of the page (EF/EDV/ESV visible at 1280×800 without scrolling),
 * the page responsive while the worker segments, cancel, every download read back and compared with the CLI
 * (`lvseg predict`'s masks, `lvseg volumes --json`), the experts' contours dropped beside the model's numbers,
 * and the backend choice passing over SwiftShader's software WebGPU adapter. One server, two browser launches.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeSummary } from '../../src/reporting/volumes-record.js';
import { writePhantomCine, type PhantomCine } from '../data/cine-phantom.js';
import { CHROMIUM, CLI, ROOT, hasChromium, startServe } from './serve-child.js';
import { writePipelineRun } from './pipeline-run.js';

const SUNNYBROOK = join(ROOT, '..', 'shared', 'data', 'sunnybrook', 'dicom');
const SERIES = join(SUNNYBROOK, 'dicoms', 'SCD0000101');
const CONTOURS = join(SUNNYBROOK, 'contourfiles', 'SC-HF-I-1', 'i-contours');
const OUTER_CONTOURS = join(SUNNYBROOK, 'contourfiles', 'SC-HF-I-1', 'o-contours');
const hasSeries = existsSync(SERIES) && existsSync(CONTOURS) && existsSync(OUTER_CONTOURS);

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'lvseg-segment-page-'));
const runs = join(base, 'runs');
const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Volumes extends VolumeSummary {
  countedSlices: number[];
}

/** The experts' numbers: the page's data-lvseg-experts, and the experts' record of `lvseg volumes --json`. */
interface ExpertVolumes extends Volumes {
  lvMassG: number | null;
  meanWallThicknessMm?: number | null;
  wall?: { meanWallThicknessMm: number } | null;
}

const round2 = (v: number): number => Number(v.toFixed(2));

/** Loads the page with the test model, drops `files`, and waits for the volumes. */
async function segmentCine(page: Page, url: string, files: string[]): Promise<Volumes> {
  await page.goto(`${url}segment/?model=run:pipeline`);
  await page.waitForSelector('body[data-lvseg-model="pipeline (run)"]');
  await page.locator('#images').setInputFiles(files);
  await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 240_000 });
  return JSON.parse((await page.getAttribute('#volumes', 'data-lvseg-volumes'))!) as Volumes;
}

async function downloaded(page: Page, button: string): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return readFileSync((await download.path())!);
}

describe.skipIf(!hasChromium)('the segmentation page on a cine', () => {
  let serve: { child: import('node:child_process').ChildProcess; url: string };
  let browser: Browser;
  let cine: PhantomCine;
  let cineFiles: string[];
  let cliVolumes: Promise<{ stdout: string }>;
  let cliPredict: Promise<unknown>;
  const predicted = join(base, 'predicted');

  beforeAll(async () => {
    await writePipelineRun(join(runs, 'pipeline'));
    cine = writePhantomCine(join(base, 'cine'), { slices: 8, phases: 16, size: 64, pixelMm: 1.9, atrium: true });
    cineFiles = readdirSync(cine.dir).map((f) => join(cine.dir, f));
    // the CLI on the same series and model, while the server and the browser start
    cliVolumes = run(process.execPath, [CLI, 'volumes', cine.dir, '--model', join(runs, 'pipeline'), '--json']);
    cliPredict = run(process.execPath, [CLI, 'predict', join(runs, 'pipeline'), ...cineFiles, '--out', predicted]);
    // awaited in the tests; this only keeps a failure from being reported before then
    for (const p of [cliVolumes, cliPredict]) p.catch(() => undefined);
    [serve, browser] = await Promise.all([
      startServe(runs),
      chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    serve?.child.kill('SIGTERM');
    rmSync(base, { recursive: true, force: true });
  });

  it(
    'shows EF, EDV and ESV at the top at 1280×800, stays responsive while the worker segments, and numbers slices ' +
      'as the CLI does',
    async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${serve.url}segment/?model=run:pipeline`);
      await page.waitForSelector('body[data-lvseg-model="pipeline (run)"]');
      // A 100 ms timer in the page, and the page's long tasks (its own code holding the thread), while the series
      // is segmented. On this shared 2-core machine the OS alone delays a timer by 300-600 ms at times (load 20,
      // no long task at that moment), so the page is held to its own tasks under 300 ms and the timer to 1 s
      // (the model on this thread froze the tab for a minute).
      await page.evaluate(() => {
        const w = window as unknown as { maxWait: number; longest: number };
        w.maxWait = 0;
        w.longest = 0;
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.longest = Math.max(w.longest, e.duration);
        }).observe({ type: 'longtask' });
        let last = performance.now();
        setInterval(() => {
          w.maxWait = Math.max(w.maxWait, performance.now() - last);
          last = performance.now();
        }, 100);
      });
      await page.locator('#images').setInputFiles(cineFiles);
      await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 240_000 });
      const { maxWait, longest } = await page.evaluate(() => {
        const w = window as unknown as { maxWait: number; longest: number };
        return { maxWait: w.maxWait, longest: w.longest };
      });
      console.log(
        `segment page: longest task ${longest.toFixed(0)} ms, longest 100 ms timer wait ${maxWait.toFixed(0)} ms`,
      );
      expect(longest, `the page held its thread for ${longest.toFixed(0)} ms`).toBeLessThan(300);
      expect(maxWait, `the page's 100 ms timer waited ${maxWait.toFixed(0)} ms`).toBeLessThan(1000);
      // tfjs gives wasm half the logical cores as threads (1 here): the page runs a worker per share of the cores
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(await page.textContent('#backend')).toMatch(
        /^backend: wasm \(SIMD[^)]*\)( × \d workers)? · no hardware GPU/,
      );
      if (cores <= 3) expect(await page.getAttribute('body', 'data-lvseg-workers')).toBe(String(cores));
      for (const measure of ['EF', 'EDV', 'ESV']) {
        const box = (await page.locator(`#volumes tr[data-measure="${measure}"]`).boundingBox())!;
        expect(box.y + box.height, `${measure} below the fold`).toBeLessThanOrEqual(800);
      }
      // the ED/ES grid's cells and the sliders use the CLI's numbers: slice 1 is the lowest along the normal
      const volumes = JSON.parse((await page.getAttribute('#volumes', 'data-lvseg-volumes'))!) as Volumes;
      await page.click('#volumes details summary');
      await page.click(`#volumes table.grid td[data-slice="3"][data-phase="${volumes.esPhase}"]`);
      expect([
        await page.getAttribute('#current', 'data-slice'),
        await page.getAttribute('#current', 'data-phase'),
      ]).toEqual(['3', String(volumes.esPhase)]);
      expect(await page.inputValue('#slice')).toBe('3');
      expect(await page.locator('#volumes svg.curve polyline').getAttribute('points')).toMatch(
        /^([\d.]+,[\d.]+ ){15}[\d.]+,[\d.]+$/,
      );
      await page.close();
    },
  );

  it(
    "downloads every mask, contour and volume, equal to lvseg predict's masks and lvseg volumes' " + 'numbers',
    async () => {
      const page = await browser.newPage();
      const mine = await segmentCine(page, serve.url, cineFiles);
      const cli = JSON.parse((await cliVolumes).stdout) as Volumes & {
        phases: { phase: number; volumeMl: number | null }[];
      };
      const record = JSON.parse((await downloaded(page, '#dl-volumes-json')).toString('utf8')) as typeof cli & {
        series: { images: number };
      };
      // The same code over masks from two tfjs backends (wasm in the page, the CLI's own): the same slices and phases,
      // volumes to 1%.
      expect(record.countedSlices).toEqual(cli.countedSlices);
      expect([record.edPhase, record.esPhase]).toEqual([cli.edPhase, cli.esPhase]);
      for (const key of ['edvMl', 'esvMl', 'svMl'] as const)
        expect(Math.abs(record[key] - cli[key]) / cli[key], key).toBeLessThan(0.01);
      expect(Math.abs(record.efPct - cli.efPct)).toBeLessThan(0.5);
      expect(record.series.images).toBe(cineFiles.length);
      // the download is the page's own numbers, rounded as the CLI rounds them
      expect([record.edvMl, record.esvMl, record.efPct]).toEqual([
        round2(mine.edvMl),
        round2(mine.esvMl),
        round2(mine.efPct),
      ]);
      const phases = (await downloaded(page, '#dl-volumes-csv')).toString('utf8').trim().split('\n');
      expect(phases[0]).toBe('phase,trigger_time_ms,volume_ml,ed,es');
      expect(phases.slice(1).map((l) => Number(l.split(',')[2]))).toEqual(record.phases.map((p) => p.volumeMl));

      await cliPredict;
      const cliImages = (
        JSON.parse(readFileSync(join(predicted, 'predictions.json'), 'utf8')) as {
          images: { input: string; mask: string }[];
        }
      ).images;
      const masks = unzipSync(await downloaded(page, '#dl-masks'));
      expect(Object.keys(masks).length).toBe(cineFiles.length);
      for (const image of cliImages) {
        const theirs = PNG.sync.read(readFileSync(join(predicted, image.mask)));
        const ours = PNG.sync.read(Buffer.from(masks[`${basename(image.input, '.dcm')}.mask.png`]!));
        expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
        let differing = 0;
        for (let i = 0; i < theirs.data.length; i += 4) if (ours.data[i]! > 127 !== theirs.data[i]! > 127) differing++;
        expect(differing, image.input).toBeLessThanOrEqual(3);
      }
      // the contours, named as Sunnybrook's files are: series number and instance number
      const contours = unzipSync(await downloaded(page, '#dl-contours'));
      expect(Object.keys(contours).sort()).toEqual(
        readdirSync(cine.dir)
          .map((f) => `IM-0001-${basename(f, '.dcm').padStart(4, '0')}-icontour-auto.txt`)
          .sort(),
      );
      for (const text of Object.values(contours))
        for (const line of new TextDecoder()
          .decode(text)
          .trim()
          .split('\n')
          .filter((l) => l))
          expect(line).toMatch(/^\d+\.\d\d \d+\.\d\d$/);
      const areas = (await downloaded(page, '#dl-csv')).toString('utf8').trim().split('\n');
      expect(areas.length).toBe(cineFiles.length + 1);
      for (const line of areas.slice(1)) expect(line.split(',')[4]).toMatch(/^(\d+(\.\d{1,2})?)?$/);
      await page.close();
    },
  );

  it('cancels a run: the progress stops and nothing more is segmented', async () => {
    const page = await browser.newPage();
    await page.goto(`${serve.url}segment/?model=run:pipeline`);
    await page.waitForSelector('body[data-lvseg-model="pipeline (run)"]');
    await page.locator('#images').setInputFiles(cineFiles);
    await page.waitForFunction(() => document.querySelectorAll('[data-lvseg-result]').length >= 4);
    await page.click('#cancel');
    const cancelled = Number(await page.getAttribute('body', 'data-lvseg-cancelled'));
    await page.waitForTimeout(2000);
    const after = await page.locator('[data-lvseg-result]').count();
    expect(after).toBe(cancelled);
    expect(after).toBeLessThan(cineFiles.length);
    expect(await page.textContent('#status')).toMatch(
      new RegExp(`cancelled after ${cancelled} of ${cineFiles.length} images`),
    );
    expect(await page.getAttribute('#volumes', 'data-lvseg-volumes')).toBeNull();
    expect(await page.isDisabled('#cancel')).toBe(true);
    await page.close();
  });

  it.skipIf(!hasSeries)(
    "shows the experts' EDV/ESV/EF and LV mass of dropped i- and o-contour files equal to lvseg volumes --contours",
    async () => {
      const series = readdirSync(SERIES).map((f) => join(SERIES, f));
      const cli = run(process.execPath, [
        CLI,
        'volumes',
        SERIES,
        '--model',
        join(runs, 'pipeline'),
        '--contours',
        join(CONTOURS, '..'),
        '--json',
      ]);
      cli.catch(() => undefined); // awaited below; this only keeps a failure from being reported before then
      const page = await browser.newPage();
      await segmentCine(page, serve.url, series);
      await page
        .locator('#contours')
        .setInputFiles([CONTOURS, OUTER_CONTOURS].flatMap((dir) => readdirSync(dir).map((f) => join(dir, f))));
      await page.waitForSelector('#volumes[data-lvseg-experts]');
      const mine = JSON.parse((await page.getAttribute('#volumes', 'data-lvseg-experts'))!) as ExpertVolumes;
      const { experts } = JSON.parse((await cli).stdout) as { experts: ExpertVolumes };
      expect([
        round2(mine.edvMl),
        round2(mine.esvMl),
        round2(mine.svMl),
        round2(mine.efPct),
        mine.edPhase,
        mine.esPhase,
      ]).toEqual([experts.edvMl, experts.esvMl, experts.svMl, experts.efPct, experts.edPhase, experts.esPhase]);
      // the experts' column beside the model's
      expect(await page.locator('#volumes tr[data-measure="EF"] td').last().textContent()).toBe(
        `${mine.efPct.toFixed(1)} %`,
      );
      // the experts' LV mass from their o-contours, by the CLI's code over the ED slices with both lines: 117.1 g
      // (docs/volumes.md; the issue's own count says 116.7 g)
      expect(experts.lvMassG).toBe(117.1);
      expect([mine.lvMassG, mine.meanWallThicknessMm]).toEqual([experts.lvMassG, experts.wall!.meanWallThicknessMm]);
      expect(await page.locator('#volumes tr[data-measure="LV mass"] td').allTextContents()).toEqual([
        '— (no myocardium class)',
        '117.1 g',
      ]);
      // the volumes.json download carries the experts' record as lvseg volumes --json has it, mass and wall too
      const record = JSON.parse((await downloaded(page, '#dl-volumes-json')).toString('utf8')) as {
        experts: ExpertVolumes & { dir: string };
      };
      const { dir: _dir, ...theirs } = record.experts;
      const { dir: _cliDir, ...cliExperts } = experts as ExpertVolumes & { dir: string };
      expect(theirs).toEqual(cliExperts);
      await page.close();
    },
  );

  it('runs wasm as one single-threaded worker per core, up to four, on a cross-origin isolated page', async () => {
    const page = await browser.newPage();
    try {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: 8 });
      await page.goto(`${serve.url}segment/?backend=wasm`);
      await page.waitForSelector('body[data-lvseg-backend]');
      // isolated (lvseg serve's COOP/COEP): tfjs could thread XNNPACK here, but lvseg's Winograd needs one thread
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(await page.evaluate(() => navigator.hardwareConcurrency)).toBe(8);
      expect(await page.getAttribute('body', 'data-lvseg-workers')).toBe('4');
      expect(await page.textContent('#backend')).toMatch(/^backend: wasm \(SIMD, 1 thread\) × 4 workers/);
    } finally {
      await page.close();
    }
  });

  it("passes over SwiftShader's software WebGPU adapter for wasm; ?backend= still forces one", async () => {
    const swiftshader = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...BROWSER_ARGS, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
    });
    try {
      const page = await swiftshader.newPage();
      // the adapter is there: the page passes over it, it does not miss it
      await page.goto(`${serve.url}segment/`);
      expect(
        await page.evaluate(async () =>
          Boolean(
            await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter(),
          ),
        ),
      ).toBe(true);
      await page.waitForSelector('body[data-lvseg-backend]');
      expect(await page.getAttribute('body', 'data-lvseg-backend')).toBe('wasm');
      expect(await page.textContent('#backend')).toMatch(
        /no hardware GPU \(webgpu: a software (\(fallback\) )?adapter/,
      );
      await page.goto(`${serve.url}segment/?backend=webgpu`);
      await page.waitForSelector('body[data-lvseg-backend]');
      expect(await page.getAttribute('body', 'data-lvseg-backend')).toBe('webgpu');
      expect(await page.isDisabled('#backend-menu')).toBe(true);
      await page.close();
    } finally {
      await swiftshader.close();
    }
  });
});
