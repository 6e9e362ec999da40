/**
 * The live dashboard of `lvseg serve` in a real browser (Debian's chromium through playwright-core), following
 * a run that a fake trainer writes one epoch at a time: each step waits for the page to show the last one, so
 * every curve length is seen and nothing depends on how fast a real training runs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/app.js';
import { startFakeTraining, writeFakeRun } from '../reporting/fake-run.js';
import { CHROMIUM, hasChromium } from './serve-child.js';

if (!hasChromium)
  console.warn(
    `dashboard test skipped: ${CHROMIUM} not found (apt-get install -y chromium, or run scripts/setup.sh as root)`,
  );

const base = mkdtempSync(join(tmpdir(), 'lvseg-dashboard-'));
const runs = join(base, 'runs');
const EPOCHS = 4;

/** What the run page shows: the loss curve's point count, the status line's class and the panel's file. */
async function shown(page: Page): Promise<{ points: string | null; status: string | null; panel: string | null }> {
  return page.evaluate(() => ({
    points: document.querySelector('#chart-loss')?.getAttribute('data-points') ?? null,
    status: document.querySelector('#run-status')?.className ?? null,
    panel: document.querySelector('#panel')?.getAttribute('src')?.replace(/^.*\//, '') ?? null,
  }));
}

/** A finished fake run turned into a 3-class one: per-class val_dice in its history, per-class evaluation. */
function writeThreeClassRun(dir: string): void {
  writeFakeRun(dir, { epochs: 3 });
  const history = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as { epochs: Record<string, number>[] };
  for (const e of history.epochs)
    Object.assign(e, { val_dice_lv: e.val_dice! + 0.05, val_dice_myocardium: e.val_dice! - 0.1 });
  writeFileSync(join(dir, 'history.json'), JSON.stringify(history));
  const evaluation = JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as Record<string, unknown>;
  const c = (meanDice: number) => ({ meanDice, apd: 1.5, hd95: 4, goodContourRate: 0.9, count: 26 });
  evaluation.classes = { lv: c(0.9), myocardium: c(0.8), epicardium: c(0.95) };
  writeFileSync(join(dir, 'evaluation.json'), JSON.stringify(evaluation));
}

describe.skipIf(!hasChromium)('the dashboard of lvseg serve', () => {
  let browser: Browser;
  let server: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    mkdirSync(runs, { recursive: true });
    writeFakeRun(join(runs, 'done'), { epochs: 2 });
    writeThreeClassRun(join(runs, 'three'));
    let app: FastifyInstance;
    [{ url, app }, browser] = await Promise.all([
      startServer({ runsDir: runs, port: 0 }),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      }),
    ]);
    server = app;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it("shows a K-class run's validation Dice per class and its evaluation per class", async () => {
    const page = await browser.newPage();
    await page.goto(`${url}#/run/three`);
    await page.waitForSelector('#chart-class-dice[data-points="3"]');
    const legend = await page.locator('#chart-class-dice .u-legend th').allTextContents();
    expect(legend.map((t) => t.trim())).toEqual(expect.arrayContaining(['val_dice_lv', 'val_dice_myocardium']));
    const rows = await page
      .locator('#class-metrics tr[data-class]')
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    expect(rows).toEqual([
      ['lv', '26', '0.9000', '1.500', '4', '0.9000'],
      ['myocardium', '26', '0.8000', '1.500', '4', '0.9000'],
      ['epicardium', '26', '0.9500', '1.500', '4', '0.9000'],
    ]);
    // a binary run has neither
    await page.goto(`${url}#/run/done`);
    await page.waitForSelector('#chart-dice');
    expect(await page.locator('#chart-class-dice').count()).toBe(0);
    expect(await page.locator('#classes').isHidden()).toBe(true);
    await page.close();
  });

  it('shows a run appear without a reload, its curve and panel grow epoch by epoch, and it finish', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('tr.run[data-run="done"]');
    expect(await page.locator('tr.run[data-run="live"]').count()).toBe(0);
    // The list follows the runs folder by itself (server-sent events): no reload here.
    const live = startFakeTraining(join(runs, 'live'), { epochs: EPOCHS });
    await page.waitForSelector('tr.run[data-run="live"][data-status="training"]');
    await page.click('tr.run[data-run="live"] a');
    await page.waitForSelector('#run-status.training');
    const seen = [await shown(page)];
    for (let e = 1; e <= EPOCHS; e++) {
      live.epoch();
      // Each epoch's curve and panel, before the next epoch is written.
      await page.waitForSelector(`#chart-loss[data-points="${e}"]`);
      await page.waitForSelector(`#panel[src$="/runs/live/panels/epoch-${String(e).padStart(3, '0')}.png"]`);
      seen.push(await shown(page));
    }
    live.finish();
    await page.waitForSelector('#run-status.finished');
    expect(seen).toEqual([
      { points: '0', status: 'training', panel: null },
      ...Array.from({ length: EPOCHS }, (_, i) => ({
        points: String(i + 1),
        status: 'training',
        panel: `epoch-00${i + 1}.png`,
      })),
    ]);
    expect(await page.locator('#run-status').textContent()).toMatch(
      new RegExp(`^finished · ${EPOCHS} of ${EPOCHS} epochs`),
    );
    // Back on the list, the finished run shows as such, again without a reload.
    await page.click('header h1 a');
    await page.waitForSelector('tr.run[data-run="live"][data-status="finished"]');
    await page.close();
  });
});
