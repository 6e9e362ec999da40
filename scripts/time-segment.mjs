// Times the segmentation page on a whole cine series in Debian's chromium, headless, without GPU flags (or
// with the WebGPU SwiftShader flags: --swiftshader): load → EDV/ESV/EF shown, per backend, and the longest
// wait of a 100 ms timer in the page during the run. Run after `npm run build`:
//   node scripts/time-segment.mjs [SERIES_DIR] [--backend auto|wasm|webgl|webgpu] [--runs N] [--swiftshader]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const series =
  args[0] && !args[0].startsWith('--')
    ? args[0]
    : join(root, '..', 'shared', 'data', 'sunnybrook', 'dicom', 'dicoms', 'SCD0000101');
const backend = flag('--backend', 'auto');
const runs = Number(flag('--runs', '1'));
const gpuArgs = args.includes('--swiftshader')
  ? [
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--use-angle=swiftshader',
      '--use-webgpu-adapter=swiftshader',
    ]
  : [];
const files = readdirSync(series)
  .filter((f) => f.endsWith('.dcm'))
  .map((f) => join(series, f));

const runsDir = mkdtempSync(join(tmpdir(), 'lvseg-time-'));
const serve = spawn(process.execPath, [join(root, 'bin', 'lvseg.js'), 'serve', runsDir, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', ...gpuArgs] });
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
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => console.log(`  page: ${m.text()}`));
    const query = backend === 'auto' ? '' : `&backend=${backend}`;
    await page.goto(`${url}segment/?model=bundled:lv-sunnybrook${query}`);
    await page.waitForSelector('body[data-lvseg-model="lv-sunnybrook"]', { timeout: 120_000 });
    await page.evaluate(() => {
      const w = window;
      w.lvsegMaxWait = 0;
      let last = performance.now();
      w.lvsegTimer = setInterval(() => {
        const now = performance.now();
        w.lvsegMaxWait = Math.max(w.lvsegMaxWait, now - last);
        last = now;
      }, 100);
    });
    const started = Date.now();
    await page.locator('#images').setInputFiles(files);
    await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout: 600_000 });
    const seconds = (Date.now() - started) / 1000;
    const volumes = JSON.parse(await page.getAttribute('#volumes', 'data-lvseg-volumes'));
    const maxWait = await page.evaluate(() => window.lvsegMaxWait);
    const chosen = await page.locator('#backend').textContent();
    console.log(
      `run ${i + 1}: ${files.length} images, EDV/ESV/EF shown after ${seconds.toFixed(1)} s (segmenting ` +
        `${await page.getAttribute('body', 'data-lvseg-seconds')} s); ` +
        `EDV ${volumes.edvMl.toFixed(1)} ESV ${volumes.esvMl.toFixed(1)} EF ${volumes.efPct.toFixed(1)}; longest 100 ` +
        `ms timer wait ${maxWait.toFixed(0)} ms; ${chosen}`,
    );
    await page.close();
  }
} finally {
  await browser.close();
  serve.kill('SIGTERM');
  rmSync(runsDir, { recursive: true, force: true });
}
