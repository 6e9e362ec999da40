import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import type { Sample } from '../../src/data/sample.js';
import { evaluateModel, evaluationDocument } from '../../src/evaluation/evaluate.js';
import {
  challengeSummary,
  perPatientSummaries,
  perPhaseSummaries,
  summarizeGroup,
  type ScoredImage,
} from '../../src/evaluation/summaries.js';
import { thresholdModel } from './tiny-model.js';

const image = (patient: string, dice: number, apd: number, labelAreaPx = 100, phase?: 'ED' | 'ES'): ScoredImage => ({
  patient,
  dice,
  iou: dice / (2 - dice),
  hd95: 2 * apd,
  apd,
  labelAreaPx,
  phase,
});

// Two good contours (APD 1 and 4.9 mm), one bad (APD 5: the rule is strictly below), one without any
// prediction (APD NaN: a failure), one image without an expert contour (outside the protocol).
const set = [
  image('A', 0.9, 1, 100, 'ED'),
  image('A', 0.8, 4.9, 100, 'ES'),
  image('B', 0.5, 5, 100, 'ED'),
  image('B', 0, NaN, 100, 'ES'),
  image('B', 1, 0, 0),
];

describe('the Sunnybrook challenge protocol', () => {
  it('counts good contours (APD < 5 mm) over the expert contours and averages Dice and APD over them only', () => {
    const c = challengeSummary(set, 'mm');
    expect(c).toMatchObject({
      rule: 'APD < 5 mm',
      thresholdMm: 5,
      count: 5,
      contours: 4,
      goodContours: 2,
      distanceCount: 4,
    });
    expect(c.goodContourRate).toBe(0.5);
    expect(c.diceOverGood).toBeCloseTo(0.85, 12);
    expect(c.apdOverGood).toBeCloseTo(2.95, 12);
    // The plain means keep every image: the failures pull them down.
    expect(c.meanDice).toBeCloseTo((0.9 + 0.8 + 0.5 + 0 + 1) / 5, 12);
    expect(c.apd).toBeCloseTo((1 + 4.9 + 5 + 0) / 4, 12);
  });

  it('does not apply the 5 mm rule to distances in pixels', () => {
    const c = summarizeGroup(set, 'px');
    expect(c.contours).toBe(4);
    for (const key of ['goodContours', 'goodContourRate', 'diceOverGood', 'apdOverGood'] as const)
      expect(c[key]).toBeNaN();
    expect(c.meanDice).toBeCloseTo(0.64, 12);
  });

  it('summarises per patient in order of appearance and per phase for the phases present', () => {
    const patients = perPatientSummaries(set, 'mm');
    expect(patients.map((p) => [p.patient, p.count, p.goodContours, p.contours])).toEqual([
      ['A', 2, 2, 2],
      ['B', 3, 0, 2],
    ]);
    expect(patients[0]!.meanDice).toBeCloseTo(0.85, 12);
    const phases = perPhaseSummaries(set, 'mm');
    expect(Object.keys(phases)).toEqual(['ED', 'ES']);
    expect(phases.ED).toMatchObject({ count: 2, goodContours: 1, contours: 2, goodContourRate: 0.5 });
    expect(phases.ES!.diceOverGood).toBeCloseTo(0.8, 12);
    expect(perPhaseSummaries([image('C', 1, 0)], 'mm')).toEqual({});
  });
});

describe('evaluateModel summaries', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  /** A 16×16 slice with a 4×4 LV whose prediction (image > 0.5) is the LV shifted right by `shift` columns. */
  function slice(name: string, shift: number, spacing?: [number, number]): Sample {
    const label = new Uint8Array(256);
    const img = new Float32Array(256);
    for (let r = 2; r < 6; r++) {
      for (let c = 2; c < 6; c++) {
        label[r * 16 + c] = 1;
        img[r * 16 + c + shift] = 1;
      }
    }
    const sample: Sample = { name, patient: name.split('/')[0]!, image: img, label, height: 16, width: 16 };
    if (spacing) sample.spacing = spacing;
    return sample;
  }

  it('labels ED/ES from the names, flags good contours and puts the challenge numbers in the document', async () => {
    const mm: [number, number] = [1.5, 1.5];
    // P/…0020 and P/…0008 share slice location 0: phases 20 (ED) and 8 (ES). An 8-pixel shift (12 mm) fails, 1 pixel
    // (1.5 mm) passes.
    const samples = [slice('P/IM-0001-0020', 0, mm), slice('P/IM-0001-0008', 8, mm), slice('Q/IM-0001-0001', 1, mm)];
    const result = await evaluateModel(thresholdModel(16, 16), samples);
    expect(result.perImage.map((r) => [r.name, r.phase, r.goodContour])).toEqual([
      ['P/IM-0001-0020', 'ED', true],
      ['P/IM-0001-0008', 'ES', false],
      ['Q/IM-0001-0001', 'ED', true],
    ]);
    expect(result.metrics.unit).toBe('mm');
    expect(result.metrics.goodContourRate).toBeCloseTo(2 / 3, 12);
    expect(result.perPatient.map((p) => p.patient)).toEqual(['P', 'Q']);
    expect(result.perPhase.ED!.count).toBe(2);
    expect(result.perPhase.ES!.goodContours).toBe(0);

    const doc = JSON.parse(JSON.stringify(evaluationDocument(result)));
    expect(Object.keys(doc).slice(0, 3)).toEqual(['meanDice', 'apd', 'goodContourRate']);
    expect(doc.meanDice).toBeCloseTo(result.metrics.meanDice, 12);
    expect(doc.challenge.goodContours).toBe(2);
    expect(doc.perImage).toHaveLength(3);
    expect(doc.perPatient[1].patient).toBe('Q');
  });

  it('gives null challenge numbers in JSON where distances are in pixels', async () => {
    const result = await evaluateModel(thresholdModel(16, 16), [
      slice('P/IM-0001-0020', 0),
      slice('synthetic/slice-1', 1),
    ]);
    const doc = JSON.parse(JSON.stringify(evaluationDocument(result)));
    expect(doc.unit).toBe('px');
    expect(doc.goodContourRate).toBeNull();
    expect(doc.challenge.goodContours).toBeNull();
    expect(doc.perImage[0].goodContour).toBeUndefined();
    expect(doc.perImage[1].phase).toBeUndefined();
  });
});
