import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { buildModelFromSpec, loadModelSpec, validateModelSpec } from '../../src/models/spec.js';
import { ModelSpecError } from '../../src/errors.js';
import { tempDir } from '../temp.js';

await selectBackend('cpu');

const labFcn = {
  name: 'lab_fcn',
  layers: [
    { type: 'Conv2D', args: { filters: 100, kernel_size: 5, strides: 2, padding: 'same', activation: 'relu' } },
    { type: 'MaxPooling2D', args: { pool_size: 2, strides: 2, padding: 'same' } },
    { type: 'Conv2D', args: { filters: 200, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu' } },
    { type: 'MaxPool2D', args: { poolSize: 2, strides: 2, padding: 'same' } },
    { type: 'Conv2D', args: { filters: 300, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 300, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2D', args: { filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' } },
    { type: 'Conv2DTranspose', args: { filters: 2, kernelSize: 31, strides: 16, padding: 'same' } },
  ],
};

describe('JSON model specs', () => {
  it('the lab FCN written as a spec (Keras snake_case or camelCase args) has 1,862,648 parameters', () => {
    const model = buildModelFromSpec(validateModelSpec(labFcn), { inputSize: 256 });
    expect(model.countParams()).toBe(1_862_648);
    expect(model.outputs[0]!.shape).toEqual([null, 256, 256, 2]);
    model.dispose();
  });

  it('sizes may be products of H and W, so the dense net follows the data size', () => {
    const spec = validateModelSpec({
      layers: [
        { type: 'Flatten' },
        { type: 'Dense', args: { units: 8, activation: 'relu' } },
        { type: 'Dense', args: { units: 'H*W*2' } },
        { type: 'Reshape', args: { targetShape: ['H', 'W', 2] } },
      ],
    });
    const model = buildModelFromSpec(spec, { inputSize: 16 });
    expect(model.outputs[0]!.shape).toEqual([null, 16, 16, 2]);
    expect(model.countParams()).toBe(256 * 8 + 8 + 8 * 512 + 512);
    model.dispose();
  });

  it.each([
    [
      { layers: [{ type: 'Conv2D', args: { filters: -3, kernelSize: 3 } }] },
      /layers\[0\] \(Conv2D\)\.filters: must be a positive integer.*-3/,
    ],
    [
      {
        layers: [
          { type: 'Dense', args: { units: 2 } },
          { type: 'Conv3D', args: {} },
        ],
      },
      /layers\[1\]\.type: unknown layer type 'Conv3D'/,
    ],
    [{ layers: [{ type: 'Conv2D', args: { filters: 3 } }] }, /layers\[0\] \(Conv2D\)\.kernelSize: required/],
    [
      { layers: [{ type: 'Conv2D', args: { filters: 3, kernelSize: 3, padding: 'full' } }] },
      /layers\[0\] \(Conv2D\)\.padding: must be "same" or "valid"/,
    ],
    [
      { layers: [{ type: 'Dropout', args: { rate: 1.5 } }] },
      /layers\[0\] \(Dropout\)\.rate: must be a number in \[0, 1\)/,
    ],
    [
      { layers: [{ type: 'MaxPool2D', args: { pool: 2 } }] },
      /layers\[0\] \(MaxPool2D\)\.pool: not an argument of MaxPool2D/,
    ],
    [{ layers: [] }, /field 'layers': must be a non-empty list/],
    [
      { layers: [{ type: 'Dense', args: { units: 2, activation: 'softmaxx' } }] },
      /layers\[0\] \(Dense\)\.activation: must be one of/,
    ],
  ])('rejects %j with a ModelSpecError naming the layer index and field', (spec, message) => {
    expect(() => validateModelSpec(spec)).toThrow(ModelSpecError);
    expect(() => validateModelSpec(spec)).toThrow(message);
  });

  it('a spec file that is not JSON names the file', () => {
    const dir = tempDir('lvseg-spec-');
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"layers": [');
    expect(() => loadModelSpec(file)).toThrow(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`),
    );
  });
});
