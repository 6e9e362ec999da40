/**
 * `lvseg serve`: a local, read-only web app over run directories (fastify). Routes: the dashboard (/), its
 * API (/api/runs, /api/runs/NAME; server-sent events: /api/events for the run list, /api/runs/NAME/events for one run), the runs' files (/runs/…), the
 * segmentation page (/segment/) with the runs' models in its list, the lab page (/lab/: training in the tab),
 * and the bundled models (/models/…).
 * Only GET and HEAD exist; files come only from under RUNS_DIR and lvseg's own assets (see safe-path.ts).
 */
import { createReadStream, existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { UsageError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { BUNDLED_MODELS_DIR, bundledModels, runModels } from './models.js';
import { listRunNames, runFingerprint, viewRun } from './runs.js';
import { fileInside } from './safe-path.js';

/** lvseg's built pages (scripts/build-web.mjs). */
export const WEB_ASSETS_DIR = join(PACKAGE_ROOT, 'dist', 'web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
};

/** How often an event stream looks at its run's files. */
const POLL_MS = 500;
/** Requests carry no body here; anything bigger than this is refused before it is read. */
const BODY_LIMIT_BYTES = 1024;

export interface ServeOptions {
  runsDir: string;
  port?: number;
  /** Interface to bind; 127.0.0.1 unless the user asks for another. */
  host?: string;
  assetsDir?: string;
  modelsDir?: string;
}

function sendFile(reply: FastifyReply, file: string | undefined): FastifyReply {
  if (!file) return reply.code(404).type('text/plain').send('not found');
  return reply
    .type(CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
    .header('x-content-type-options', 'nosniff')
    // Cross-origin isolation: the pages' wasm backend gets SharedArrayBuffer, so threads (SIMD + 2 threads
    // segment a 240-image cine about twice as fast as one thread on a 2-core CPU).
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-embedder-policy', 'require-corp')
    .send(createReadStream(file));
}

/** The app without a listening socket (tests use `inject`). */
export function buildApp(options: ServeOptions): FastifyInstance {
  const { runsDir } = options;
  const assets = options.assetsDir ?? WEB_ASSETS_DIR;
  const modelsDir = options.modelsDir ?? BUNDLED_MODELS_DIR;
  if (!existsSync(join(assets, 'segment', 'index.html'))) {
    throw new UsageError(`lvseg's web pages are not built (${assets} is missing); run 'npm run build' in the lvseg folder`);
  }
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, routerOptions: { maxParamLength: 500 }, requestTimeout: 30_000, return503OnClosing: true });
  const streams = new Set<ServerResponse>();
  const isRun = (name: string): boolean => listRunNames(runsDir).includes(name);
  const views = () => listRunNames(runsDir).map((name) => viewRun(runsDir, name));

  app.get('/', (_req, reply) => sendFile(reply, fileInside(join(assets, 'dashboard'), 'index.html')));
  app.get('/assets/dashboard/*', (req, reply) => sendFile(reply, fileInside(join(assets, 'dashboard'), (req.params as { '*': string })['*'])));
  app.get('/segment', (_req, reply) => reply.redirect('/segment/'));
  app.get('/segment/models.json', (_req, reply) => reply.send([...bundledModels('/models/', modelsDir), ...runModels(runsDir, views())]));
  app.get('/segment/*', (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    return sendFile(reply, fileInside(join(assets, 'segment'), rest === '' ? 'index.html' : rest));
  });
  app.get('/lab', (req, reply) => reply.redirect(`/lab/${req.url.slice('/lab'.length)}`));
  app.get('/lab/*', (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    return sendFile(reply, fileInside(join(assets, 'lab'), rest === '' ? 'index.html' : rest));
  });
  app.get('/models/*', (req, reply) => sendFile(reply, fileInside(modelsDir, (req.params as { '*': string })['*'])));
  app.get('/runs/*', (req, reply) => sendFile(reply, fileInside(runsDir, (req.params as { '*': string })['*'])));

  app.get('/api/runs', (_req, reply) => reply.send(views()));
  app.get('/api/runs/:name', (req, reply) => {
    const { name } = req.params as { name: string };
    return isRun(name) ? reply.send(viewRun(runsDir, name)) : reply.code(404).send({ error: `no run '${name}'` });
  });
  /** Sends `event` with `payload()` now and again whenever `fingerprint()` changes, until the client leaves. */
  const stream = (reply: FastifyReply, event: string, fingerprint: () => string, payload: () => unknown): void => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    streams.add(res);
    let last: string | undefined;
    const send = (): void => {
      const now = fingerprint();
      if (now === last) return;
      last = now;
      res.write(`event: ${event}\ndata: ${JSON.stringify(payload())}\n\n`);
    };
    send();
    const timer = setInterval(send, POLL_MS);
    res.on('close', () => {
      clearInterval(timer);
      streams.delete(res);
    });
  };
  // The run list as it changes: a run that starts after the dashboard opened appears without a reload.
  app.get('/api/events', (_req, reply) => {
    stream(reply, 'runs', () => listRunNames(runsDir).map((n) => `${n}=${runFingerprint(runsDir, n)}`).join('\n'), views);
  });
  app.get('/api/runs/:name/events', (req, reply) => {
    const { name } = req.params as { name: string };
    if (!isRun(name)) return reply.code(404).send({ error: `no run '${name}'` });
    stream(reply, 'run', () => runFingerprint(runsDir, name), () => viewRun(runsDir, name));
  });
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  return app;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether a host name binds only the loopback interface. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/** Starts the app; resolves once it listens, with its URL. */
export async function startServer(options: ServeOptions): Promise<{ url: string; app: FastifyInstance }> {
  const app = buildApp(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 8100, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${port}/`, app };
}
