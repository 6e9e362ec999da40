/**
 * The live dashboard of `lvseg serve` in a real browser (Debian's chromium through playwright-core), following
 * a run that a fake trainer writes one epoch at a time: each step waits for the page to show the last one, so
 * every curve length is seen and nothing depends on how fast a real training runs.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

describe.skipIf(!hasChromium)('the dashboard of lvseg serve', () => {
  let browser: Browser;
  let server: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    mkdirSync(runs, { recursive: true });
    writeFakeRun(join(runs, 'done'), { epochs: 2 });
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
