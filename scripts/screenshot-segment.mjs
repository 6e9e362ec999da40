// Retakes docs/segment.png: the segmentation page under `lvseg serve` at 1280×800, the bundled lv-sunnybrook model
// on the whole cine of SCD0000101 (SC-HF-I-1, 240 images) from ../shared/data/sunnybrook with the experts'
// contours dropped beside it, in Debian's chromium without GPU flags (the page picks wasm). Run after
// `npm run build`: node scripts/screenshot-segment.mjs
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dicom = join(root, '..', 'shared', 'data', 'sunnybrook', 'dicom');
const series = join(dicom, 'dicoms', 'SCD0000101');
// the endocardial (i) and epicardial (o) contours: the experts' EDV/ESV/EF and LV mass
const contourDirs = ['i-contours', 'o-contours'].map((d) => join(dicom, 'contourfiles', 'SC-HF-I-1', d));
const contours = contourDirs[0];
const out = join(root, 'docs', 'segment.png');

if (!existsSync(series) || !existsSync(contours))
  throw new Error(`${series} not found: this script needs the shared Sunnybrook data`);
const files = readdirSync(series).map((f) => join(series, f));
const runs = mkdtempSync(join(tmpdir(), 'lvseg-shot-'));
const serve = spawn(process.execPath, [join(root, 'bin', 'lvseg.js'), 'serve', runs, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${url}segment/?model=bundled:lv-sunnybrook`);
  await page.waitForSelector('body[data-lvseg-model="lv-sunnybrook"]');
  await page.locator('#images').setInputFiles(files);
  await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 900_000 });
  await page.locator('#contours').setInputFiles(contourDirs.flatMap((d) => readdirSync(d).map((f) => join(d, f))));
  await page.waitForSelector('#volumes[data-lvseg-experts]');
  const volumes = JSON.parse(await page.getAttribute('#volumes', 'data-lvseg-volumes'));
  // a mid-ventricular slice at end-diastole
  await page.locator('#slice').fill(String(Math.ceil(volumes.slices / 2)));
  await page.locator('#phase').fill(String(volumes.edPhase));
  await page.screenshot({ path: out });
  console.log(
    `wrote ${out}: EDV ${volumes.edvMl.toFixed(1)} ESV ${volumes.esvMl.toFixed(1)} EF ` +
      `${volumes.efPct.toFixed(1)} after ${await page.getAttribute('body', 'data-lvseg-seconds')} s on ` +
      `${await page.getAttribute('body', 'data-lvseg-backend')}`,
  );
} finally {
  await browser.close();
  serve.kill('SIGTERM');
  rmSync(runs, { recursive: true, force: true });
}
