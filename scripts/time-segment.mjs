// Times the segmentation page on a whole cine series in Debian's chromium, headless, without GPU flags (or
// with the WebGPU SwiftShader flags: --swiftshader): load → EDV/ESV/EF shown, per backend, the longest wait
// of a 100 ms timer in the page during the run, and the CPU seconds chromium spent on it (Linux; on a machine
// that other work keeps busy, CPU seconds / cores is what a quiet one would take). Run after `npm run build`:
//   node scripts/time-segment.mjs [SERIES_DIR] [--backend auto|wasm|webgl|webgpu[,…]] [--runs N]
//     [--images N] [--swiftshader] [--timeout SECONDS]
// Several backends, comma-separated, are timed one after the other (the GPU ones forced: on a software adapter
// they take minutes per image, so give them --images 8, say). --images N takes the series' first N files: the
// time is then until they are segmented, without the volumes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
const backends = flag('--backend', 'auto').split(',');
const runs = Number(flag('--runs', '1'));
const timeout = Number(flag('--timeout', '1200')) * 1000;
const gpuArgs = args.includes('--swiftshader')
  ? [
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--use-angle=swiftshader',
      '--use-webgpu-adapter=swiftshader',
    ]
  : [];
const all = readdirSync(series)
  .filter((f) => f.endsWith('.dcm'))
  .sort()
  .map((f) => join(series, f));
const files = all.slice(0, Number(flag('--images', String(all.length))));
const whole = files.length === all.length;

/** CPU seconds (user + system) of this process's children and their descendants but `except`, from /proc. */
function childCpuSeconds(except) {
  const parent = new Map();
  const ticks = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // fields after the command's closing parenthesis: state ppid … utime (14th field) stime (15th)
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      parent.set(Number(pid), Number(fields[1]));
      ticks.set(Number(pid), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process ended while the list was read
    }
  }
  const ours = (pid) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) {
      if (p === except) return false;
      if (p === process.pid) return pid !== process.pid;
    }
    return false;
  };
  let sum = 0;
  for (const [pid, t] of ticks) if (ours(pid)) sum += t;
  return sum / 100; // USER_HZ
}

/** One run of the page on `backend` ('auto': the page's own choice), printed as one line. */
async function timeRun(url, backend, i) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => console.log(`  page: ${m.text()}`));
  const query = backend === 'auto' ? '' : `&backend=${backend}`;
  await page.goto(`${url}segment/?model=bundled:lv-sunnybrook${query}`);
  await page.waitForSelector('body[data-lvseg-model="lv-sunnybrook"]', { timeout });
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
  const cpuBefore = childCpuSeconds(serve.pid);
  await page.locator('#images').setInputFiles(files);
  await page.waitForSelector('body[data-lvseg-seconds]', { timeout });
  if (whole) await page.waitForSelector('#volumes[data-lvseg-volumes]', { timeout });
  const seconds = (Date.now() - started) / 1000;
  const cpu = childCpuSeconds(serve.pid) - cpuBefore;
  const volumes = whole ? JSON.parse(await page.getAttribute('#volumes', 'data-lvseg-volumes')) : undefined;
  const maxWait = await page.evaluate(() => window.lvsegMaxWait);
  const chosen = await page.locator('#backend').textContent();
  const segmenting = await page.getAttribute('body', 'data-lvseg-seconds');
  const shown = volumes
    ? `EDV/ESV/EF shown after ${seconds.toFixed(1)} s (segmenting ${segmenting} s); ` +
      `EDV ${volumes.edvMl.toFixed(1)} ESV ${volumes.esvMl.toFixed(1)} EF ${volumes.efPct.toFixed(1)}`
    : `segmented after ${seconds.toFixed(1)} s`;
  console.log(
    `${backend} run ${i + 1}: ${files.length} images, ${shown}; longest 100 ms timer wait ${maxWait.toFixed(0)} ms; ` +
      `chromium CPU ${cpu.toFixed(1)} s; ${chosen}`,
  );
  await page.close();
}

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
  for (const backend of backends) {
    for (let i = 0; i < runs; i++) await timeRun(url, backend, i);
  }
} finally {
  await browser.close();
  serve.kill('SIGTERM');
  rmSync(runsDir, { recursive: true, force: true });
}
