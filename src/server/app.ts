/**
 * `lvseg serve`: a local, read-only web app over run directories (fastify). Routes: the dashboard (/), its
 * API (/api/runs, /api/runs/NAME; server-sent events: /api/events for the run list, /api/runs/NAME/events for one run),
 * the runs' files (/runs/…), the
 * segmentation page (/segment/) with the runs' models in its list, the lab page (/lab/: training in the tab),
 * and the bundled models (/models/…).
 * Only GET and HEAD exist; files come only from under RUNS_DIR and lvseg's own assets (see safe-path.ts).
 */
import { createReadStream, existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { extname, join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { UsageError } from '../errors.js';
import { bundledModelsDir } from '../models/io.js';
import { PACKAGE_ROOT } from '../paths.js';
import { bundledModels, runModels } from './models.js';
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

/**
 * Content-Security-Policy per part of the site, sent as a header (a <meta> tag cannot say
 * frame-ancestors): no page of lvseg's may be framed by another site (clickjacking). The pages' own
 * <meta> policies say the same for their static copies (lvseg web build).
 */
const CSP_COMMON = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";
const CSP: [prefix: string, policy: string][] = [
  // worker-src blob: the page's inference worker and the threaded wasm backend's threads
  [
    '/segment',
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; img-src 'self' blob: data:; " +
      "connect-src 'self' blob: data:; style-src 'self' 'unsafe-inline'",
  ],
  // TF.js layers compiles its activation functions with new Function while training
  [
    '/lab',
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval' blob:; worker-src 'self' blob:; img-src " +
      "'self' blob: data:; connect-src 'self' blob: data:; style-src 'self' 'unsafe-inline'",
  ],
  // the dashboard and the runs' own files (report.html: inline style, no script)
  ['', "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'"],
];

/** The CSP header for a request path. */
export function contentSecurityPolicy(url: string): string {
  const policy = CSP.find(([prefix]) => prefix === '' || url === prefix || url.startsWith(`${prefix}/`))![1];
  return `${policy}; ${CSP_COMMON}`;
}

/** Machine names a Host header may carry besides IP literals: this machine's, and the one the server was told to bind.
 * */
function knownHostNames(bindHost: string): Set<string> {
  return new Set(['localhost', hostname().toLowerCase(), bindHost.toLowerCase()]);
}

/**
 * Why a request's Host (and Origin, when the browser sends one) does not name this server, or undefined
 * when it does. A page on another site can make a browser send requests here under its own domain name
 * resolved to 127.0.0.1 (DNS rebinding): its Host is that name, which is refused. An IP literal cannot be
 * rebound, so any is taken; the port must be the one listened on.
 */
export function foreignRequest(
  headers: { host?: string; origin?: string },
  port: number | undefined,
  bindHost: string,
): string | undefined {
  const named = (authority: string | undefined): boolean => {
    if (!authority) return false;
    let url: URL;
    try {
      url = new URL(`http://${authority}`);
    } catch {
      return false;
    }
    if (url.username || url.password || url.pathname !== '/' || (port !== undefined && Number(url.port || 80) !== port))
      return false;
    const name = url.hostname.toLowerCase();
    return isIP(name.replace(/^\[|\]$/g, '')) !== 0 || knownHostNames(bindHost).has(name);
  };
  if (!named(headers.host)) return `Host ${JSON.stringify(headers.host ?? '')} is not this server`;
  const origin = headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'http:' || !named(url.host)) return `Origin ${JSON.stringify(origin)} is not this server`;
  }
  return undefined;
}

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
  return (
    reply
      .type(CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('x-content-type-options', 'nosniff')
      // Cross-origin isolation: the pages' wasm backend gets SharedArrayBuffer, so threads (SIMD + 2 threads
      // segment a 240-image cine about twice as fast as one thread on a 2-core CPU).
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-embedder-policy', 'require-corp')
      .send(createReadStream(file))
  );
}

/** The app without a listening socket (tests use `inject`). */
export function buildApp(options: ServeOptions): FastifyInstance {
  const { runsDir } = options;
  const assets = options.assetsDir ?? WEB_ASSETS_DIR;
  const modelsDir = options.modelsDir ?? bundledModelsDir();
  if (!existsSync(join(assets, 'segment', 'index.html'))) {
    throw new UsageError(
      `lvseg's web pages are not built (${assets} is missing); run 'npm run build' in the lvseg folder`,
    );
  }
  const app = Fastify({
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: 500 },
    requestTimeout: 30_000,
    return503OnClosing: true,
  });
  const bindHost = options.host ?? '127.0.0.1';
  app.addHook('onRequest', async (req, reply) => {
    // the port the request came in on, i.e. the one listened on (none for a request injected in a test)
    const why = foreignRequest({ host: req.headers.host, origin: req.headers.origin }, req.socket.localPort, bindHost);
    if (why)
      return reply
        .code(403)
        .type('text/plain')
        .send(
          `${why}: lvseg serve answers only requests addressed to it (a page of another site may not read your runs)\n`,
        );
    reply.header('content-security-policy', contentSecurityPolicy(req.url));
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
  });
  const streams = new Set<ServerResponse>();
  const isRun = (name: string): boolean => listRunNames(runsDir).includes(name);
  const views = () => listRunNames(runsDir).map((name) => viewRun(runsDir, name));

  app.get('/', (_req, reply) => sendFile(reply, fileInside(join(assets, 'dashboard'), 'index.html')));
  app.get('/assets/dashboard/*', (req, reply) =>
    sendFile(reply, fileInside(join(assets, 'dashboard'), (req.params as { '*': string })['*'])),
  );
  app.get('/segment', (_req, reply) => reply.redirect('/segment/'));
  app.get('/segment/models.json', (_req, reply) =>
    reply.send([...bundledModels('/models/', modelsDir), ...runModels(runsDir, views())]),
  );
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
    stream(
      reply,
      'runs',
      () =>
        listRunNames(runsDir)
          .map((n) => `${n}=${runFingerprint(runsDir, n)}`)
          .join('\n'),
      views,
    );
  });
  app.get('/api/runs/:name/events', (req, reply) => {
    const { name } = req.params as { name: string };
    if (!isRun(name)) return reply.code(404).send({ error: `no run '${name}'` });
    stream(
      reply,
      'run',
      () => runFingerprint(runsDir, name),
      () => viewRun(runsDir, name),
    );
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
