import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { buildModel } from '../../src/models/build.js';
import { summarizeModel, formatSummary } from '../../src/models/summary.js';
import { checkModelFitsData, lastActivation, softmaxLogitsWarning } from '../../src/models/fit.js';
import { ModelSpecError } from '../../src/errors.js';

await selectBackend('cpu');

describe('model parameter counts', () => {
  it('dense (the lab Task 1) has 12,714,048 parameters at 256x256', () => {
    const model = buildModel('dense', { inputSize: 256, softmax: true });
    expect(summarizeModel(model).totalParams).toBe(12_714_048);
    model.dispose();
  });
  it('fcn (the lab Task 2/3) has 1,862,648 parameters at 256x256 and outputs [256, 256, 2]', () => {
    const model = buildModel('fcn', { inputSize: 256 });
    const summary = summarizeModel(model);
    expect(summary.totalParams).toBe(1_862_648);
    expect(summary.trainableParams).toBe(1_862_648);
    expect(summary.layers.map((l) => l.params)).toEqual([2600, 0, 500200, 0, 540300, 810300, 5402, 3846]);
    expect(summary.layers.at(-1)!.outputShape).toEqual([null, 256, 256, 2]);
    expect(formatSummary(summary)).toContain('Total params: 1,862,648');
    model.dispose();
  });
  it('fcn-deep adds one 3x3x300 conv (810,300 parameters)', () => {
    const model = buildModel('fcn-deep', { inputSize: 256 });
    expect(model.countParams()).toBe(1_862_648 + 810_300);
    model.dispose();
  });
  it('unet outputs [H, W, 2] and counts batchnorm parameters as partly non-trainable', () => {
    const model = buildModel('unet', { inputSize: 32, depth: 2, baseFilters: 4, batchNorm: true });
    const s = summarizeModel(model);
    expect(s.layers.at(-1)!.outputShape).toEqual([null, 32, 32, 2]);
    expect(s.totalParams).toBeGreaterThan(s.trainableParams);
    checkModelFitsData(model, 32, 32);
    model.dispose();
  });
});

describe('model checks', () => {
  it('the lab-task1 dense ends in softmax and lvseg warns about it with a logits loss', () => {
    const model = buildModel('dense', { inputSize: 16, softmax: true });
    expect(lastActivation(model)).toBe('softmax');
    expect(softmaxLogitsWarning(model, 'sparse-ce')).toMatch(/softmax.*logits/);
    const plain = buildModel('dense', { inputSize: 16 });
    expect(softmaxLogitsWarning(plain, 'sparse-ce')).toBeUndefined();
    model.dispose();
    plain.dispose();
  });
  it('an fcn built for 256 does not fit 48x48 data, and the error says what it must output', () => {
    const model = buildModel('fcn', { inputSize: 40 });
    expect(() => checkModelFitsData(model, 40, 40)).toThrow(ModelSpecError);
    expect(() => checkModelFitsData(model, 40, 40)).toThrow(/outputs \[48, 48, 2\].*must output \[40, 40, 2\]/);
    model.dispose();
  });
});
