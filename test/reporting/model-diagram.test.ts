import { beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { selectBackend } from '../../src/backends/select.js';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  formatShape,
  modelGraph,
  renderModelDiagram,
  renderModelDiagramPng,
} from '../../src/reporting/model-diagram.js';

function skipNet(): tfl.LayersModel {
  const input = tfl.input({ shape: [32, 32, 1], name: 'image' });
  const enc = tfl.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'enc' })
    .apply(input) as tfl.SymbolicTensor;
  const pool = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(enc) as tfl.SymbolicTensor;
  const up = tfl.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(pool) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'skip' }).apply([up, enc]) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'logits' }).apply(cat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

describe('model diagram', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('formats shapes as Keras prints them', () => {
    expect(formatShape([null, 256, 256, 1])).toBe('(None, 256, 256, 1)');
    expect(formatShape([null])).toBe('(None,)');
  });

  it("lists a Sequential model's hidden input layer first, then each layer fed by the one before", () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [16, 16, 1],
          filters: 3,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          name: 'c1',
        }),
        tfl.layers.flatten({ name: 'flat' }),
      ],
    });
    const g = modelGraph(model);
    expect(g.map((n) => [n.type, n.inputs])).toEqual([
      ['InputLayer', []],
      ['Conv2D', [0]],
      ['Flatten', [1]],
    ]);
    expect(g[1]).toMatchObject({ name: 'c1', inputShapes: ['(None, 16, 16, 1)'], outputShapes: ['(None, 8, 8, 3)'] });
    expect(g[2]!.outputShapes).toEqual(['(None, 192)']);
  });

  it('keeps both inputs of a concatenation, and draws the skip on a side lane', () => {
    const model = skipNet();
    const g = modelGraph(model);
    const skip = g.find((n) => n.name === 'skip')!;
    expect(skip.inputs.map((i) => g[i]!.name).sort()).toEqual(['enc', 'up']);
    expect(skip.inputShapes.sort()).toEqual(['(None, 32, 32, 4)', '(None, 32, 32, 4)']);
    expect(skip.outputShapes).toEqual(['(None, 32, 32, 8)']);
    const svg = renderModelDiagram(model);
    for (const name of [
      'image: InputLayer',
      'enc: Conv2D',
      'pool: MaxPooling2D',
      'up: UpSampling2D',
      'skip: Concatenate',
      'logits: Conv2D',
    ])
      expect(svg).toContain(`>${name}<`);
    expect(svg).toContain('>[(None, 32, 32, 4), (None, 32, 32, 4)]<');
    // Five adjacent edges with an arrow head each, plus one skip edge and its arrow head.
    expect(svg.match(/<polyline /g)).toHaveLength(12);
  });

  it('rasterises the diagram to a PNG of the layout size', () => {
    const png = PNG.sync.read(renderModelDiagramPng(skipNet()));
    const svg = renderModelDiagram(skipNet());
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    expect([png.width, png.height]).toEqual([Number(w), Number(h)]);
    expect(png.height).toBeGreaterThan(6 * 40);
  });
});
