import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { testModelMetadata } from '../models/metadata-fixture.js';
import * as core from '../../src/browser.js';
import { decodeDicom } from '../../src/data/dicom.js';
import { resolveInputScale } from '../../src/inference/run-config.js';
import { predictMask, measureMask, formatContourText, segmentImage } from '../../src/inference/predict.js';
import { segmentSamples } from '../../src/inference/segment.js';
import { preprocessSample } from '../../src/transforms/preprocess.js';
import { resizeNearest } from '../../src/imaging/mask.js';
import { buildCine, groupSeries } from '../../src/data/dicom-series.js';
import { measureCine } from '../../src/evaluation/cine-volumes.js';
import { computeVolumes } from '../../src/evaluation/volumes.js';
import { toGrey8 } from '../../src/imaging/png.js';
import { makeDicom } from '../data/dicom-fixture.js';
import { fitModel } from '../../src/training/train.js';
import { decodeLabExample } from '../../src/data/lab-schema.js';
import { buildModel } from '../../src/models/build.js';
import { getLoss } from '../../src/losses/losses.js';
import { tempDir } from '../temp.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the browser-safe core (lvseg/browser)', () => {
  it('bundles for the browser with no node: module among its inputs or in its output', async () => {
    const result = await build({
      entryPoints: [join(ROOT, 'src', 'browser.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('src/browser.ts'))).toBe(true);
    expect(inputs.some((f) => f.includes('dicom-parser'))).toBe(true);
    // The model's inference pipeline (preprocessing, test-time flips, post-processing) is part of it.
    for (const f of ['src/inference/segment.ts', 'src/transforms/preprocess.ts', 'src/inference/postprocess.ts'])
      expect(inputs, f).toContain(f);
    const nodeInputs = inputs.filter(
      (f) => f.startsWith('node:') || /\bsrc\/(io|cli|server)\//.test(f) || f.endsWith('src/paths.ts'),
    );
    expect(nodeInputs).toEqual([]);
    const text = result.outputFiles[0]!.text;
    expect(text).not.toMatch(/(from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
    expect(text).not.toMatch(/require\s*\(\s*["'](fs|path|zlib|os|url|child_process)["']/);
  });

  it('is declared as the package entry lvseg/browser', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    expect(pkg.exports['./browser']!.default).toBe('./dist/src/browser.js');
  });

  it('the page bundles built by setup hold no node: import either', () => {
    for (const bundle of [
      join(ROOT, 'dist', 'web', 'segment', 'segment.js'),
      join(ROOT, 'dist', 'web', 'lab', 'lab.js'),
    ]) {
      if (!existsSync(bundle)) throw new Error(`${bundle} missing: run scripts/setup.sh (npm run build)`);
      expect(readFileSync(bundle, 'utf8'), bundle).not.toMatch(/(from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
    }
  });

  it('exports the very functions the CLI runs, so page and CLI share one implementation', () => {
    expect(core.predictMask).toBe(predictMask);
    expect(core.segmentImage).toBe(segmentImage);
    expect(core.segmentSamples).toBe(segmentSamples);
    expect(core.preprocessSample).toBe(preprocessSample);
    expect(core.measureMask).toBe(measureMask);
    expect(core.formatContourText).toBe(formatContourText);
    expect(core.decodeDicom).toBe(decodeDicom);
    expect(core.resizeNearest).toBe(resizeNearest);
    expect(core.toGrey8).toBe(toGrey8);
    // lvseg volumes: the cine layout, the masks to volumes, the slice rule.
    expect(core.groupSeries).toBe(groupSeries);
    expect(core.buildCine).toBe(buildCine);
    expect(core.measureCine).toBe(measureCine);
    expect(core.computeVolumes).toBe(computeVolumes);
  });

  it("exports the training code lvseg train runs, so the lab page trains with the CLI's loop", () => {
    expect(core.fitModel).toBe(fitModel);
    expect(core.decodeLabExample).toBe(decodeLabExample);
    expect(core.buildModel).toBe(buildModel);
    expect(core.getLoss).toBe(getLoss);
  });

  it('decodes a 16-bit DICOM with its rescale and spacing from bytes alone', () => {
    const bytes = makeDicom({
      rows: 2,
      columns: 3,
      bits: 16,
      values: [0, 1000, 2000, 40000, 65535, 7],
      slope: 2,
      intercept: -5,
      spacing: [1.25, 0.75],
    });
    const slice = core.decodeDicom(bytes, 'x.dcm');
    expect(Array.from(slice.pixels)).toEqual([-5, 1995, 3995, 79995, 131065, 9]);
    expect(slice.spacing).toEqual([1.25, 0.75]);
  });

  it('measures a mask: contour, area in px and in mm² from the spacing', () => {
    const mask = new Uint8Array(16);
    for (const i of [5, 6, 9, 10]) mask[i] = 1;
    const m = core.measureMask(mask, 4, 4, [0.5, 2]);
    expect(m.lvAreaPx).toBe(4);
    expect(m.lvAreaMm2).toBe(4);
    expect(core.measureMask(mask, 4, 4).lvAreaMm2).toBeUndefined();
    expect(Math.abs(core.polygonArea(m.contour))).toBeCloseTo(3.5, 6);
  });
});

describe('model metadata (lvseg.json)', () => {
  it('checks an lvseg.json in the page as the CLI does, and names the file and field when wrong', () => {
    const meta = testModelMetadata('1/255', 256);
    expect(core.checkModelMetadata(meta, 'm/lvseg.json')).toEqual(meta);
    expect(() => core.checkModelMetadata({ ...meta, scale: 3 }, 'm/lvseg.json')).toThrow(
      /m\/lvseg.json: field 'scale'/,
    );
    expect(() => core.checkModelMetadata({ ...meta, input: { height: 256 } }, 'm/lvseg.json')).toThrow(/field 'input'/);
    expect(() => core.checkModelMetadata([], 'm/lvseg.json')).toThrow(/m\/lvseg.json/);
  });

  it('gives the CLI its scaling from lvseg.json beside model.json, before any run config', () => {
    const dir = tempDir('lvseg-meta-');
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'model.json'), '{}');
    writeFileSync(join(dir, 'm', 'lvseg.json'), JSON.stringify(testModelMetadata('minmax')));
    expect(resolveInputScale(join(dir, 'm', 'model.json'), undefined)).toEqual({
      scale: 'minmax',
      origin: join(dir, 'm', 'lvseg.json'),
    });
    expect(resolveInputScale(join(dir, 'm', 'model.json'), '1/255').scale).toBe(1 / 255);
  });
});
