// Retakes docs/lab.png: the lab page (/lab under `lvseg serve`) training the lab's FCN in headless Chromium on
// SwiftShader's WebGPU (the CPU), on the shared Sunnybrook TFRecords, photographed mid-training.
// Usage: node scripts/screenshot-lab.mjs [TFRECORDS_DIR] [QUERY] [EPOCHS_BEFORE_THE_SHOT]
//   default: ../shared/data/sunnybrook/tfrecords, '?model=fcn&epochs=8&steps=40', 4
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.argv[2] ?? join(root, '..', 'shared', 'data', 'sunnybrook', 'tfrecords');
const query = process.argv[3] ?? '?model=fcn&epochs=8&steps=40';
const shotAfter = Number(process.argv[4] ?? 4);
const files = readdirSync(dataDir).filter((f) => /\.tfrecords?(\.gz)?$/.test(f)).map((f) => join(dataDir, f));

const serve = spawn(process.execPath, [join(root, 'bin', 'lvseg.js'), 'serve', mkdtempSync(join(tmpdir(), 'lvseg-lab-shot-')), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve) => {
  let out = '';
  serve.stdout.on('data', (d) => {
    out += d;
    const m = /(http:\/\/\S+\/) /.exec(out);
    if (m) resolve(m[1]);
  });
});
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => console.log(`page: ${m.text()}`));
  page.on('crash', () => console.log('page crashed'));
  globalThis.status = setInterval(() => page.textContent('#status').then((t) => console.log(t)).catch(() => {}), 5000);
  await page.goto(`${url}lab/${query}`);
  await page.waitForSelector('body[data-lvseg-backend]');
  console.log(await page.textContent('#backend'));
  await page.locator('#data').setInputFiles(files);
  await page.waitForSelector('#train:not([disabled])', { timeout: 120_000 });
  console.log(await page.textContent('#data-status'));
  const started = Date.now();
  await page.click('#train');
  for (let seen = 0; seen < shotAfter; ) {
    await page.waitForFunction((n) => document.querySelectorAll('[data-lvseg-epoch]').length > n, seen, { timeout: 0 });
    seen = await page.locator('[data-lvseg-epoch]').count();
    console.log(`${((Date.now() - started) / 1000).toFixed(0)} s:`, await page.locator('[data-lvseg-epoch]').last().getAttribute('data-lvseg-epoch'));
  }
  // mid-step of the next epoch, so the status line and the progress bar show training going on
  await page.waitForTimeout(3000);
  await page.screenshot({ path: join(root, 'docs', 'lab.png') });
  console.log('wrote docs/lab.png');
} finally {
  clearInterval(globalThis.status);
  await browser.close();
  serve.kill('SIGTERM');
}
