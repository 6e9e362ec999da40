import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCli as capture } from './run-cli.js';
import { selectBackend } from '../../src/backends/select.js';
import { encodePngGrey, decodePngGrey } from '../../src/imaging/png.js';
import { saveModel } from '../../src/models/io.js';
import { thresholdModel } from '../evaluation/tiny-model.js';
import { disc } from '../evaluation/shapes.js';
import { outputStem } from '../../src/cli/predict.js';

let dir: string;

beforeAll(async () => {
  await selectBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'lvseg-predict-'));
  await saveModel(thresholdModel(32, 32), join(dir, 'run', 'model'));
  writeFileSync(join(dir, 'run', 'config.json'), JSON.stringify({ scale: '1/255' }));
  mkdirSync(join(dir, 'pngs'));
  // A bright disc of radius 6 on a dark 32×32 image, and a 64×64 one of radius 12 (resized for the model).
  writeFileSync(
    join(dir, 'pngs', 'a.png'),
    encodePngGrey(
      32,
      32,
      disc(32, 16, 16, 6).map((v) => v * 200),
    ),
  );
  writeFileSync(
    join(dir, 'big.png'),
    encodePngGrey(
      64,
      64,
      disc(64, 32, 32, 12).map((v) => v * 200),
    ),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lvseg predict', () => {
  it('writes a mask, an overlay, a contour file per image and a JSON summary with areas', async () => {
    const out = join(dir, 'out');
    const { code, out: stdout } = await capture([
      'predict',
      join(dir, 'run'),
      join(dir, 'pngs'),
      join(dir, 'big.png'),
      'synthetic:2:0:32',
      '--out',
      out,
      '--backend',
      'cpu',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/4 images/);
    const files = readdirSync(out).sort();
    expect(files).toContain('pngs_a.mask.png');
    expect(files).toContain('pngs_a.overlay.png');
    expect(files).toContain('pngs_a-icontour-auto.txt');
    expect(files).toContain('predictions.json');
    const summary = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8'));
    expect(summary.scale).toBe('1/255');
    expect(summary.images).toHaveLength(4);
    const a = summary.images.find((i: { name: string }) => i.name === 'pngs/a');
    expect(a.lvAreaPx).toBe(disc(32, 16, 16, 6).reduce((n, v) => n + v, 0));
    expect(a.lvAreaMm2).toBeNull();
    const big = summary.images.find((i: { name: string }) => i.name.endsWith('/big'));
    expect(big.resized).toBe(true);
    const bigMask = decodePngGrey(readFileSync(join(out, big.mask)));
    expect([bigMask.width, bigMask.height]).toEqual([64, 64]);
    expect(bigMask.data[32 * 64 + 32]).toBe(255);
    // Resized 64 → 32 → 64: the area stays within a ring of the true disc's.
    expect(Math.abs(big.lvAreaPx - disc(64, 32, 32, 12).reduce((n, v) => n + v, 0))).toBeLessThan(60);
    expect(summary.totals.images).toBe(4);
    expect(summary.totals.lvAreaPx).toBe(
      summary.images.reduce((n: number, i: { lvAreaPx: number }) => n + i.lvAreaPx, 0),
    );
    const contour = readFileSync(join(out, 'pngs_a-icontour-auto.txt'), 'utf8').trim().split('\n');
    expect(contour[0]).toMatch(/^\d+\.\d\d \d+\.\d\d$/);
    const overlay = decodePngGrey(readFileSync(join(out, 'pngs_a.overlay.png')));
    expect([overlay.width, overlay.height]).toEqual([32, 32]);
  });

  it('gives areas in mm² with --spacing for images that carry none', async () => {
    const out = join(dir, 'out-mm');
    const { code } = await capture([
      'predict',
      join(dir, 'run'),
      join(dir, 'pngs', 'a.png'),
      '--out',
      out,
      '--spacing',
      '1.5,2',
      '--backend',
      'cpu',
    ]);
    expect(code).toBe(0);
    const [a] = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')).images;
    expect(a.spacing).toEqual([1.5, 2]);
    expect(a.lvAreaMm2).toBeCloseTo(a.lvAreaPx * 3, 9);
  });

  it('needs --out and at least one input', async () => {
    expect((await capture(['predict', join(dir, 'run'), '--out', join(dir, 'x')])).err).toMatch(/at least one INPUT/);
    expect((await capture(['predict', join(dir, 'run'), join(dir, 'big.png')])).err).toMatch(/needs --out DIR/);
  });

  it('makes unique file stems from sample names', () => {
    const taken = new Set<string>();
    expect(outputStem('SC-HF-I-04/IM-0001-0087', taken)).toBe('SC-HF-I-04_IM-0001-0087');
    expect(outputStem('SC-HF-I-04/IM-0001-0087', taken)).toBe('SC-HF-I-04_IM-0001-0087-2');
    expect(outputStem('../x y', taken)).toBe('_x_y');
  });
});
