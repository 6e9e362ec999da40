import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { readContourFile, rasterizeContour } from '../../src/data/contours.js';
import type { Sample } from '../../src/data/sample.js';
import { openSource } from '../../src/data/source.js';
import { extractContour } from '../../src/imaging/contours.js';
import { evaluateModel } from '../../src/evaluation/evaluate.js';
import { readDicomImage } from '../../src/inference/predict-inputs.js';
import { predictSample } from '../../src/inference/predict.js';
import { meanContourDistance } from '../../src/evaluation/surface-distance.js';
import { thresholdModel } from './tiny-model.js';

const DATA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sunnybrook', 'dicom');
const hasData = existsSync(DATA);
if (!hasData) console.warn(`skipping the Sunnybrook contour tests: ${DATA} is absent`);

describe.skipIf(!hasData)('contours on the Sunnybrook expert contours', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('traces a filled expert contour back to within a quarter pixel of the expert contour', async () => {
    const dir = join(DATA, 'contourfiles', 'SC-HF-I-2', 'i-contours');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .slice(0, 4);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const expert = await readContourFile(join(dir, f));
      // The fill alone: the traced outline can only differ by the pixel grid (measured 0.16–0.26 px).
      const filled = extractContour(rasterizeContour(expert, 256, 256, { boundary: false }), 256, 256);
      expect(meanContourDistance(filled, expert)).toBeLessThan(0.3);
      // The published masks add the pixels the contour passes through: about half a pixel further out.
      const published = extractContour(rasterizeContour(expert, 256, 256), 256, 256);
      const apd = meanContourDistance(published, expert);
      expect(apd).toBeGreaterThan(0.4);
      expect(apd).toBeLessThan(0.6);
    }
  });

  it('evaluates DICOM+contour samples in mm, the pixel values scaled by the spacing', async () => {
    const source = await openSource(DATA, { scale: 'minmax' });
    const samples: Sample[] = [];
    for await (const s of source.samples()) {
      samples.push(s);
      if (samples.length === 4) break;
    }
    const model = thresholdModel(256, 256);
    const mm = await evaluateModel(model, samples);
    const px = await evaluateModel(
      model,
      samples.map(({ spacing: _, ...rest }) => rest),
    );
    expect(mm.metrics.unit).toBe('mm');
    expect(px.metrics.unit).toBe('px');
    const [sr, sc] = samples[0]!.spacing!;
    expect(sr).toBeCloseTo(sc, 9);
    expect(mm.metrics.distanceCount).toBeGreaterThan(0);
    expect(mm.metrics.distanceCount).toBe(px.metrics.distanceCount);
    expect(mm.metrics.hd95).toBeCloseTo(px.metrics.hd95 * sr, 6);
    expect(mm.metrics.apd).toBeCloseTo(px.metrics.apd * sr, 6);
    expect(mm.metrics.meanDice).toBe(px.metrics.meanDice);
    model.dispose();
  });

  it('reads a DICOM file for predict with its spacing, giving areas in mm²', async () => {
    const folder = join(DATA, 'dicoms', 'SCD0000201');
    const file = join(
      folder,
      readdirSync(folder)
        .filter((f) => f.endsWith('.dcm'))
        .sort()[0]!,
    );
    const sample = await readDicomImage(file, 'minmax');
    expect(sample.name).toMatch(/^SCD0000201\//);
    expect(sample.spacing![0]).toBeCloseTo(1.367, 3);
    const result = await predictSample(thresholdModel(sample.height, sample.width), sample);
    expect(result.lvAreaMm2).toBeCloseTo(result.lvAreaPx * sample.spacing![0] * sample.spacing![1], 6);
  });
});
