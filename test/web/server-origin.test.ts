/**
 * lvseg serve answers only requests addressed to it: a page of another site that resolves its own name to
 * 127.0.0.1 (DNS rebinding) or sends a cross-site request gets 403, and no page may be framed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { contentSecurityPolicy, foreignRequest, startServer } from '../../src/server/app.js';
import { tempDir } from '../temp.js';

let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  const runs = tempDir('lvseg-serve-origin-');
  mkdirSync(join(runs, 'mine'));
  writeFileSync(join(runs, 'mine', 'config.json'), JSON.stringify({ name: 'mine', secret: 'patient data' }));
  const started = await startServer({ runsDir: runs, port: 0 });
  app = started.app;
  port = Number(new URL(started.url).port);
});
afterAll(() => app?.close());

function get(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, setHost: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('lvseg serve and the Host and Origin of a request', () => {
  it('refuses a Host naming another site, on the API and on run files', async () => {
    for (const path of ['/api/runs', '/runs/mine/config.json', '/']) {
      const r = await get(path, { host: `evil.example.com:${port}` });
      expect([path, r.status]).toEqual([path, 403]);
      expect(r.body).not.toMatch(/patient data/);
      expect(r.body).toMatch(/Host "evil\.example\.com:\d+" is not this server/);
    }
    // no Host at all: Node's HTTP/1.1 parser refuses it before lvseg sees it
    expect([400, 403]).toContain((await get('/api/runs', {})).status);
    expect((await get('/api/runs', { host: `127.0.0.1:${port + 1}` })).status).toBe(403);
  });

  it('answers the addresses it listens on, with CSP frame-ancestors as a header', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const r = await get('/runs/mine/config.json', { host });
      expect([host, r.status]).toEqual([host, 200]);
      expect(r.body).toMatch(/patient data/);
      expect(r.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
    expect((await get('/segment/', { host: `127.0.0.1:${port}` })).headers['content-security-policy']).toMatch(
      /^default-src 'self'; script-src 'self' 'wasm-unsafe-eval';/,
    );
  });

  it("refuses a request from another site's page (Origin), and takes the server's own", async () => {
    expect((await get('/api/runs', { host: `127.0.0.1:${port}`, origin: 'http://evil.example.com' })).status).toBe(403);
    expect((await get('/api/runs', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port + 1}` })).status).toBe(
      403,
    );
    expect((await get('/api/runs', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status).toBe(
      200,
    );
  });
});

describe('foreignRequest', () => {
  it('takes IP literals and the bound name on the right port, and nothing else', () => {
    expect(foreignRequest({ host: '[::1]:8100' }, 8100, '127.0.0.1')).toBeUndefined();
    expect(foreignRequest({ host: '10.0.0.5:8100' }, 8100, '0.0.0.0')).toBeUndefined();
    expect(foreignRequest({ host: 'lab.local:8100' }, 8100, 'lab.local')).toBeUndefined();
    expect(foreignRequest({ host: 'lab.local:8100' }, 8100, '127.0.0.1')).toMatch(/is not this server/);
    expect(foreignRequest({ host: 'user@127.0.0.1:8100' }, 8100, '127.0.0.1')).toMatch(/is not this server/);
    expect(foreignRequest({ host: '127.0.0.1:8100', origin: 'https://127.0.0.1:8100' }, 8100, '127.0.0.1')).toMatch(
      /Origin/,
    );
  });

  it('gives the lab page the eval TF.js needs and the dashboard none', () => {
    expect(contentSecurityPolicy('/lab/')).toMatch(/'unsafe-eval'/);
    expect(contentSecurityPolicy('/laboratory')).not.toMatch(/'unsafe-eval'/);
    expect(contentSecurityPolicy('/api/runs')).not.toMatch(/script-src/);
  });
});
