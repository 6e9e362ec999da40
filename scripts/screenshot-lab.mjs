// Retakes docs/lab.png: the lab page (/lab under `lvseg serve`) training in headless Chromium on SwiftShader's
// WebGPU (the CPU), on a few slices of the shared Sunnybrook TFRecords, photographed mid-training. SwiftShader
// needs minutes an epoch even for these (shader compilation, then seconds a step), hence the subset.
// Usage: node scripts/screenshot-lab.mjs [TFRECORDS_DIR] [QUERY] [EPOCHS_BEFORE_THE_SHOT] [TRAIN_SLICES] [VAL_SLICES]
//   default: ../shared/data/sunnybrook/tfrecords '?model=fcn-small&epochs=10&lr=0.003' 3 24 6
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { readTfRecords, writeTfRecords } from '../dist/src/data/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.argv[2] ?? join(root, '..', 'shared', 'data', 'sunnybrook', 'tfrecords');
const query = process.argv[3] ?? '?model=fcn-small&epochs=10&lr=0.003';
const shotAfter = Number(process.argv[4] ?? 3);
const counts = { train: Number(process.argv[5] ?? 24), val: Number(process.argv[6] ?? 6) };
const work = mkdtempSync(join(tmpdir(), 'lvseg-lab-shot-'));

/** The first `count` records of `file`, as a file named like it (so the page tells training from validation). */
async function subset(file, count) {
  const records = [];
  for await (const r of readTfRecords(join(dataDir, file))) if (records.push(r) >= count) break;
  const out = join(work, file);
  await writeTfRecords(out, records, { gzip: file.endsWith('.gz') });
  return out;
}
const names = readdirSync(dataDir).filter((f) => /\.tfrecords?(\.gz)?$/.test(f));
const files = await Promise.all(names.map((f) => subset(f, /(^|[_.-])val/.test(f) ? counts.val : counts.train)));

const serve = spawn(process.execPath, [join(root, 'bin', 'lvseg.js'), 'serve', work, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
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
  args: [
    '--headless',
    '--no-sandbox',
    '--enable-unsafe-webgpu',
    '--use-webgpu-adapter=swiftshader',
    '--disable-background-networking',
    '--no-first-run',
  ],
});
let status;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => m.type() === 'error' && console.log(`page: ${m.text()}`));
  page.on('crash', () => console.log('page crashed'));
  let shown = '';
  status = setInterval(
    () =>
      page
        .textContent('#status')
        .then((t) => {
          if (t === shown) return;
          shown = t;
          console.log(t);
        })
        .catch(() => {}),
    5000,
  );
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
    console.log(
      `${((Date.now() - started) / 1000).toFixed(0)} s:`,
      await page.locator('[data-lvseg-epoch]').last().getAttribute('data-lvseg-epoch'),
    );
  }
  // mid-step of the next epoch, so the status line and the progress bar show training going on
  await page.waitForTimeout(3000);
  await page.screenshot({ path: join(root, 'docs', 'lab.png') });
  console.log('wrote docs/lab.png');
} finally {
  clearInterval(status);
  await browser.close();
  serve.kill('SIGTERM');
}
