// Retakes docs/segment.png: the segmentation page under `lvseg serve`, the bundled lv-sunnybrook model on the
// short-axis stack of one contoured phase of validation patient SC-HF-I-05 (SCD0000401, unseen in training) from
// ../shared/data/sunnybrook, in Debian's chromium. Run after `npm run build`: node scripts/screenshot-segment.mjs
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const series = join(root, '..', 'shared', 'data', 'sunnybrook', 'dicom', 'dicoms', 'SCD0000401');
// The slices the experts contoured at this phase, base to apex; the 3rd (80.dcm) is shown.
const files = [40, 60, 80, 100, 120, 140, 160, 180, 200].map((n) => join(series, `${n}.dcm`));
const SHOWN = 2;
const out = join(root, 'docs', 'segment.png');

if (!files.every((f) => existsSync(f))) throw new Error(`${series} not found: this script needs the shared Sunnybrook data`);
const runs = mkdtempSync(join(tmpdir(), 'lvseg-shot-'));
const serve = spawn(process.execPath, [join(root, 'bin', 'lvseg.js'), 'serve', runs, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const url = await new Promise((resolve, reject) => {
    let text = '';
    serve.stdout.on('data', (d) => {
      text += d;
      const m = /(http:\/\/\S+\/) /.exec(text);
      if (m) resolve(m[1]);
    });
    serve.on('exit', (code) => reject(new Error(`lvseg serve exited ${code}`)));
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  // wasm: without a GPU, webgl is emulated in software and much slower on this U-Net.
  await page.goto(`${url}segment/?model=bundled:lv-sunnybrook&backend=wasm`);
  await page.waitForSelector('body[data-lvseg-model="lv-sunnybrook"]');
  await page.locator('input[type=file]').first().setInputFiles(files);
  await page.waitForFunction((n) => document.querySelectorAll('[data-lvseg-result]').length === n, files.length, { timeout: 120_000 });
  await page.locator('#results tr').nth(SHOWN).click();
  await page.screenshot({ path: out });
  const shown = JSON.parse(await page.locator('#results tr').nth(SHOWN).getAttribute('data-lvseg-result'));
  console.log(`wrote ${out}: ${shown.name}, LV ${shown.areaPx} px = ${shown.areaMm2.toFixed(1)} mm² on ${shown.backend}`);
} finally {
  await browser.close();
  serve.kill('SIGTERM');
  rmSync(runs, { recursive: true, force: true });
}
