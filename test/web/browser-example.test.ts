/**
 * The lvseg/browser example (examples/browser/segment.mjs, shown in README and docs/api): run in a fresh
 * Node process as a page runs it (the model and the wasm files over HTTP, `lvseg/browser` by package
 * name), it gives the mask `lvseg predict` gives.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { ensureBuilt } from '../cli/run-cli.js';
import { readmeBlock } from '../package/install.js';
import { phantomDicom } from './phantom-dicom.js';

const EXAMPLE = join(PACKAGE_ROOT, 'examples', 'browser', 'segment.mjs');
const RUNNER = join(PACKAGE_ROOT, 'test', 'web', 'example-in-node.mjs');
const REAL_DICOM = join(PACKAGE_ROOT, '..', 'shared', 'data', 'sunnybrook', 'dicom', 'dicoms', 'SCD0000401', '80.dcm');
if (!existsSync(REAL_DICOM))
  console.warn(`the browser example on a real Sunnybrook slice skipped: ${REAL_DICOM} not found`);

interface ExampleResult {
  lvAreaPx: number;
  lvAreaMm2: number | undefined;
  maskLength: number;
  backend: string;
}

const run = promisify(execFile);

async function runExample(dicom: string): Promise<ExampleResult> {
  const { stdout } = await run(process.execPath, [RUNNER, EXAMPLE, PACKAGE_ROOT, 'models/lv-sunnybrook', dicom], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ExampleResult;
}

/** The library's predict (lvseg predict's code) on wasm, in another process: the LV area in px. */
async function predictArea(dicom: string): Promise<number> {
  const code = `const { predict } = await import(${JSON.stringify(join(PACKAGE_ROOT, 'dist', 'src', 'index.js'))});
const [p] = await predict('lv-sunnybrook', [${JSON.stringify(dicom)}], { backend: 'wasm' });
console.log(p.lvAreaPx);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
  });
  return Number(stdout.trim().split('\n').at(-1));
}

describe('the lvseg/browser example', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvseg-browser-example-'));
  const phantom = join(dir, 'phantom.dcm');
  beforeAll(() => {
    ensureBuilt(); // `lvseg/browser` resolves to dist/src/browser.js
    writeFileSync(phantom, phantomDicom());
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the code README shows', () => {
    expect(readmeBlock('browser-example')).toBe(readFileSync(EXAMPLE, 'utf8'));
  });

  it("segments a DICOM on wasm with the model's lvseg.json settings, as lvseg predict does", async () => {
    const result = await runExample(phantom);
    expect(result.backend).toBe('wasm');
    expect(result.maskLength).toBe(256 * 256);
    expect(result.lvAreaPx).toBeGreaterThan(0);
    expect(result.lvAreaPx).toBe(await predictArea(phantom));
    expect(result.lvAreaMm2).toBeCloseTo(result.lvAreaPx * 1.25 * 1.25, 6);
  }, 120_000);

  it.skipIf(!existsSync(REAL_DICOM))(
    "gives lvseg predict's 1961 px on the real slice SCD0000401/80.dcm",
    async () => {
      const result = await runExample(REAL_DICOM);
      expect(result.lvAreaPx).toBe(await predictArea(REAL_DICOM));
      expect(result.lvAreaPx).toBe(1961);
    },
    120_000,
  );
});
