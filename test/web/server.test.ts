import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testModelMetadata } from '../models/metadata-fixture.js';
import { buildApp, startServer } from '../../src/server/app.js';
import { bundledModelsDir } from '../../src/models/io.js';
import { bundledModels } from '../../src/server/models.js';
import { fileInside } from '../../src/server/safe-path.js';
import { writeStaticSegmentPage } from '../../src/server/static-site.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'lvseg.js');

// A runs folder with a good run, a broken one, a secret beside it and links pointing out of it.
const base = mkdtempSync(join(tmpdir(), 'lvseg-serve-'));
const runs = join(base, 'runs');
const secret = join(base, 'secret.txt');
mkdirSync(join(runs, 'good', 'model'), { recursive: true });
mkdirSync(join(runs, 'good', 'panels'), { recursive: true });
mkdirSync(join(runs, 'broken'), { recursive: true });
mkdirSync(join(base, 'outside-run'), { recursive: true });
writeFileSync(secret, 'not for the web');
writeFileSync(
  join(runs, 'good', 'config.json'),
  JSON.stringify({ name: 'good', model: 'fcn-small', scale: 'minmax', epochs: 2 }),
);
writeFileSync(
  join(runs, 'good', 'history.json'),
  JSON.stringify({
    epochs: [
      { epoch: 0, loss: 0.5, val_dice: 0.3 },
      { epoch: 1, loss: 0.4, val_dice: 0.5 },
    ],
  }),
);
writeFileSync(join(runs, 'good', 'model', 'model.json'), '{}');
writeFileSync(join(runs, 'good', 'panels', 'epoch-001.png'), 'png');
writeFileSync(join(runs, 'broken', 'history.json'), '{"epochs": [ oops');
writeFileSync(join(base, 'outside-run', 'config.json'), '{}');
mkdirSync(join(runs, 'search', 'trial-001'), { recursive: true });
writeFileSync(join(runs, 'search', 'trial-001', 'config.json'), JSON.stringify({ name: 'trial-001', lr: 0.01 }));
symlinkSync(secret, join(runs, 'good', 'leak.txt'));
symlinkSync(join(base, 'outside-run'), join(runs, 'linked-run'));

// A run whose config asks for the inference pipeline (as `lvseg train --preset …` records it), with no lvseg.json.
const PIPELINE = {
  preprocessing: {
    spacing: 1.367,
    roi: { method: 'centre-crop' as const, size: 128 },
    intensity: { method: 'percentile-zscore' as const, low: 1, high: 99 },
  },
  inference: { tta: 'flips' as const, postprocess: { largestComponent: true, fillHoles: true } },
};
mkdirSync(join(runs, 'piped', 'model'), { recursive: true });
writeFileSync(
  join(runs, 'piped', 'config.json'),
  JSON.stringify({
    name: 'piped',
    scale: '1/255',
    epochs: 1,
    preprocessing: PIPELINE.preprocessing,
    tta: true,
    postprocess: true,
  }),
);
writeFileSync(join(runs, 'piped', 'history.json'), JSON.stringify({ epochs: [{ epoch: 0, loss: 0.5 }] }));
writeFileSync(join(runs, 'piped', 'model', 'model.json'), '{}');

const app = buildApp({ runsDir: runs, modelsDir: join(base, 'no-models') });
afterAll(async () => {
  await app.close();
  rmSync(base, { recursive: true, force: true });
});

describe('lvseg serve: what it serves', () => {
  it("lists the runs, a malformed one as broken with the reason, and offers the finished run's model", async () => {
    const list = (await app.inject('/api/runs')).json() as { name: string; status: string; error?: string }[];
    expect(list.map((r) => r.name)).toEqual(['broken', 'good', 'piped', 'search/trial-001']);
    expect(list[0]!.status).toBe('broken');
    expect(list[0]!.error).toMatch(/history\.json is not valid JSON/);
    expect(list[1]).toMatchObject({
      status: 'finished',
      epochs: 2,
      panels: ['panels/epoch-001.png'],
      model: '/runs/good/model/model.json',
    });
    const models = (await app.inject('/segment/models.json')).json();
    // Each with the scale and pipeline `lvseg predict RUN` would use: none for good, its config's for piped.
    expect(models).toEqual([
      {
        id: 'run:good',
        label: 'good (run)',
        url: '/runs/good/model/model.json',
        scale: 'minmax',
        labels: 'inside',
        classes: ['background', 'lv'],
      },
      {
        id: 'run:piped',
        label: 'piped (run)',
        url: '/runs/piped/model/model.json',
        scale: '1/255',
        segment: PIPELINE,
        labels: 'inside',
        classes: ['background', 'lv'],
      },
    ]);
    expect((await app.inject('/runs/good/config.json')).json()).toMatchObject({ name: 'good' });
    // A parameter search's trials are runs one level down, addressed as SEARCH/TRIAL.
    expect((await app.inject('/api/runs/search%2Ftrial-001')).json()).toMatchObject({
      name: 'search/trial-001',
      config: { lr: 0.01 },
    });
    const page = await app.inject('/segment/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Nothing is uploaded');
    // cross-origin isolated, so the page's wasm backend may use threads
    expect([page.headers['cross-origin-opener-policy'], page.headers['cross-origin-embedder-policy']]).toEqual([
      'same-origin',
      'require-corp',
    ]);
    expect((await app.inject('/segment/segment-worker.js')).headers['cross-origin-embedder-policy']).toBe(
      'require-corp',
    );
    expect((await app.inject('/segment/tfjs-backend-wasm.wasm')).headers['content-type']).toBe('application/wasm');
  });

  it('offers the bundled lv-sunnybrook with the pipeline of its lvseg.json', () => {
    const [entry] = bundledModels('/models/').filter((m) => m.id === 'bundled:lv-sunnybrook');
    const meta = JSON.parse(readFileSync(join(bundledModelsDir(), 'lv-sunnybrook', 'lvseg.json'), 'utf8')) as {
      preprocessing: unknown;
      inference: unknown;
      classes?: string[];
    };
    expect(entry).toEqual({
      id: 'bundled:lv-sunnybrook',
      label: 'lv-sunnybrook',
      url: '/models/lv-sunnybrook/model.json',
      scale: '1/255',
      segment: { preprocessing: meta.preprocessing, inference: meta.inference },
      labels: 'contour-included',
      // the page shows each class, and the LV mass, of a model that segments the wall
      classes: meta.classes ?? ['background', 'lv'],
    });
  });

  it('lists the bundled models of LVSEG_MODELS_DIR, as every command finds them', async () => {
    const elsewhere = join(base, 'models-elsewhere');
    mkdirSync(join(elsewhere, 'lv-other'), { recursive: true });
    writeFileSync(join(elsewhere, 'lv-other', 'model.json'), '{}');
    writeFileSync(join(elsewhere, 'lv-other', 'lvseg.json'), JSON.stringify(testModelMetadata('1/255')));
    const saved = process.env.LVSEG_MODELS_DIR;
    process.env.LVSEG_MODELS_DIR = elsewhere;
    try {
      const served = buildApp({ runsDir: runs });
      try {
        const listed = ((await served.inject('/segment/models.json')).json() as { id: string }[]).map((m) => m.id);
        expect(listed.filter((id) => id.startsWith('bundled:'))).toEqual(['bundled:lv-other']);
        expect((await served.inject('/models/lv-other/model.json')).body).toBe('{}');
      } finally {
        await served.close();
      }
    } finally {
      if (saved === undefined) delete process.env.LVSEG_MODELS_DIR;
      else process.env.LVSEG_MODELS_DIR = saved;
    }
  });

  it('streams the run list as server-sent events, again when a run appears', async () => {
    const { url, app: live } = await startServer({ runsDir: runs, port: 0 });
    try {
      // The handlers only collect (an expect thrown in one would hang the test, not fail it); the asserts follow.
      const { type, messages } = await new Promise<{ type: string | undefined; messages: string[] }>(
        (resolve, reject) => {
          const messages: string[] = [];
          let buffer = '';
          request(`${url}api/events`, (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
                messages.push(buffer.slice(0, end));
                buffer = buffer.slice(end + 2);
                if (messages.length === 1) {
                  mkdirSync(join(runs, 'zz-new'));
                  writeFileSync(join(runs, 'zz-new', 'config.json'), JSON.stringify({ name: 'zz-new', epochs: 3 }));
                }
                if (messages.length === 2) {
                  res.destroy();
                  resolve({ type: res.headers['content-type'], messages });
                }
              }
            });
            res.on('error', reject);
          })
            .on('error', reject)
            .end();
        },
      );
      expect(type).toBe('text/event-stream');
      for (const m of messages) expect(m).toMatch(/^event: runs\ndata: /);
      const lists = messages.map((m) =>
        (JSON.parse(m.slice(m.indexOf('data: ') + 6)) as { name: string }[]).map((r) => r.name),
      );
      expect(lists[0]).not.toContain('zz-new');
      expect(lists[1]).toContain('zz-new');
    } finally {
      rmSync(join(runs, 'zz-new'), { recursive: true, force: true });
      await live.close();
    }
  });

  it('serves the lab page at /lab/, keeping the preselections of /lab?model=…', async () => {
    const redirect = await app.inject('/lab?model=fcn-small&epochs=2');
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/lab/?model=fcn-small&epochs=2');
    const page = await app.inject('/lab/?model=fcn-small');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<script type="module" src="lab.js">');
    for (const file of ['lab.js', 'kit.css', 'lab.css', 'uPlot.min.css', 'tfjs-backend-wasm.wasm'])
      expect((await app.inject(`/lab/${file}`)).statusCode, file).toBe(200);
    expect((await app.inject('/lab/..%2F..%2Fpackage.json')).statusCode).toBe(404);
  });

  it('streams a run as server-sent events', async () => {
    const { url, app: live } = await startServer({ runsDir: runs, port: 0 });
    try {
      const { type, body } = await new Promise<{ type: string | undefined; body: string }>((resolve, reject) => {
        request(`${url}api/runs/good/events`, (res) => {
          res.setEncoding('utf8');
          res.once('data', (chunk: string) => {
            res.destroy();
            resolve({ type: res.headers['content-type'], body: chunk });
          });
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
      expect(type).toBe('text/event-stream');
      expect(body).toMatch(/^event: run\ndata: \{"name":"good"/);
    } finally {
      await live.close();
    }
  });
});

describe('lvseg serve: safety', () => {
  it('refuses path traversal, absolute paths and encoded escapes', async () => {
    for (const path of [
      '/runs/../secret.txt',
      '/runs/%2e%2e/secret.txt',
      '/runs/good/%2e%2e/%2e%2e/secret.txt',
      '/runs/%2Fetc%2Fpasswd',
      '/runs//etc/passwd',
      '/runs/good/..%5C..%5Csecret.txt',
      '/segment/..%2F..%2Fpackage.json',
      '/runs/good/config.json%00.png',
    ]) {
      const res = await app.inject(path);
      expect(res.statusCode, path).toBe(404);
      expect(res.body, path).not.toContain('not for the web');
    }
    expect(fileInside(runs, '../secret.txt')).toBeUndefined();
    expect(fileInside(runs, secret)).toBeUndefined();
  });

  it('follows no symbolic link out of RUNS_DIR, neither to a file nor to a run', async () => {
    const leak = await app.inject('/runs/good/leak.txt');
    expect(leak.statusCode).toBe(404);
    expect(leak.body).not.toContain('not for the web');
    expect((await app.inject('/runs/linked-run/config.json')).statusCode).toBe(404);
    expect((await app.inject('/api/runs/linked-run')).statusCode).toBe(404);
  });

  it('is read-only: no method but GET and HEAD reaches anything, and the run is untouched', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await app.inject({ method, url: '/runs/good/config.json', payload: '{}' });
      expect(res.statusCode, method).toBe(404);
    }
    expect(JSON.parse(readFileSync(join(runs, 'good', 'config.json'), 'utf8')).name).toBe('good');
  });

  it('refuses a huge body and a huge header, and goes on serving', async () => {
    const { url, app: live } = await startServer({ runsDir: runs, port: 0 });
    const send = (options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer }) =>
      new Promise<number | string>((resolve) => {
        const req = request(
          `${url.replace(/\/$/, '')}${options.path}`,
          { method: options.method, headers: options.headers },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        // A server that refuses a body mid-upload may reset the connection before the client reads its answer.
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        req.end(options.body);
      });
    try {
      const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
      expect([413, 'ECONNRESET', 'EPIPE']).toContain(
        await send({ method: 'POST', path: '/api/runs', headers: { 'content-type': 'application/json' }, body: big }),
      );
      expect([431, 'ECONNRESET', 'EPIPE']).toContain(
        await send({ method: 'GET', path: '/api/runs', headers: { 'x-huge': 'a'.repeat(64 * 1024) } }),
      );
      expect([431, 'ECONNRESET', 'EPIPE']).toContain(
        await send({ method: 'GET', path: `/runs/${'a'.repeat(64 * 1024)}` }),
      );
      expect(await send({ method: 'GET', path: '/api/runs' })).toBe(200);
    } finally {
      await live.close();
    }
  });

  it('binds 127.0.0.1 without --host, and warns when --host opens it to the network', async () => {
    const serve = (args: string[]) => {
      const child = spawn(process.execPath, [CLI, 'serve', runs, '--port', '0', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const url = new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /(http:\/\/\S+\/) /.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      return { child, url, stderr: () => err };
    };
    const local = serve([]);
    try {
      const url = new URL(await local.url);
      expect(url.hostname).toBe('127.0.0.1');
      expect(local.stderr()).not.toMatch(/warning/);
      // Another interface of this machine, if it has one, must not answer.
      const other = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal);
      if (other) {
        const refused = await new Promise<string>((resolve) => {
          request(`http://${other.address}:${url.port}/api/runs`, () => resolve('answered'))
            .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
            .end();
        });
        expect(refused).toBe('ECONNREFUSED');
      }
    } finally {
      local.child.kill('SIGTERM');
    }
    const open = serve(['--host', '0.0.0.0']);
    try {
      await open.url;
      expect(open.stderr()).toMatch(
        /warning: listening on 0\.0\.0\.0: anyone who can reach this machine can read the runs/,
      );
    } finally {
      open.child.kill('SIGTERM');
    }
  });
});

describe('lvseg web build', () => {
  it(
    "writes the pages as a static folder at serve's paths (segment/, lab/), with a models.json with each model's " +
      'pipeline',
    () => {
      const out = join(base, 'site');
      const modelsDir = join(base, 'models');
      mkdirSync(join(modelsDir, 'lv-test'), { recursive: true });
      writeFileSync(join(modelsDir, 'lv-test', 'model.json'), '{}');
      writeFileSync(
        join(modelsDir, 'lv-test', 'lvseg.json'),
        JSON.stringify({ ...testModelMetadata('1/255'), ...PIPELINE }),
      );
      expect(writeStaticSegmentPage(out, undefined, modelsDir)).toBe(1);
      for (const f of [
        'index.html',
        'segment/index.html',
        'segment/segment.js',
        'segment/segment-worker.js',
        'segment/kit.css',
        'segment/segment.css',
        'segment/tfjs-backend-wasm-threaded-simd.wasm',
        'models/lv-test/model.json',
        'lab/index.html',
        'lab/lab.js',
        'lab/tfjs-backend-wasm.wasm',
      ]) {
        expect(existsSync(join(out, f)), f).toBe(true);
      }
      // the models' URLs are relative to the page in segment/
      expect(JSON.parse(readFileSync(join(out, 'segment', 'models.json'), 'utf8'))).toEqual([
        {
          id: 'bundled:lv-test',
          label: 'lv-test',
          url: '../models/lv-test/model.json',
          scale: '1/255',
          segment: PIPELINE,
          labels: 'inside',
          classes: ['background', 'lv'],
        },
      ]);
      expect(readFileSync(join(out, '_headers'), 'utf8')).toMatch(
        /Cross-Origin-Opener-Policy: same-origin\n\s+Cross-Origin-Embedder-Policy: require-corp/,
      );
    },
  );
});
