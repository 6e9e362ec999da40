import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/select.js';
import { decodePngGrey } from '../../src/imaging/png.js';
import {
  formatContourText,
  predictMask,
  predictSample,
  renderContourOverlay,
  resizeBilinear,
  resizeNearest,
} from '../../src/inference/predict.js';
import { thresholdModel } from '../evaluation/tiny-model.js';
import { disc } from '../evaluation/shapes.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('resizing', () => {
  it('resizes bilinearly with half-pixel centres', () => {
    // 1×2 → 1×4: centres at −0.25, 0.25, 0.75, 1.25 of the source, clamped at the edges.
    expect(Array.from(resizeBilinear(Float32Array.from([0, 4]), 1, 2, 1, 4))).toEqual([0, 1, 3, 4]);
    expect(Array.from(resizeBilinear(Float32Array.from([0, 2, 4, 6]), 2, 2, 1, 1))).toEqual([3]);
  });

  it('resizes masks by nearest neighbour, keeping classes', () => {
    expect(Array.from(resizeNearest(Uint8Array.from([0, 1]), 1, 2, 1, 4))).toEqual([0, 0, 1, 1]);
    expect(Array.from(resizeNearest(Uint8Array.from([0, 0, 1, 1]), 1, 4, 1, 2))).toEqual([0, 1]);
  });
});

describe('predictMask', () => {
  it('resizes an image of another size in and the mask back', async () => {
    const model = thresholdModel(8, 8);
    const image = new Float32Array(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 8; x < 16; x++) image[y * 16 + x] = 1;
    const { mask, resized } = await predictMask(model, image, 16, 16);
    expect(resized).toBe(true);
    expect(Array.from(mask.slice(0, 16))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});

describe('predictSample', () => {
  it('gives the mask, its contour, LV area in px and mm², and PNGs of the image size', async () => {
    const image = Float32Array.from(disc(32, 16, 16, 6));
    const result = await predictSample(thresholdModel(32, 32), {
      name: 'x',
      patient: 'p',
      image,
      label: disc(32, 16, 16, 5),
      height: 32,
      width: 32,
      spacing: [1.5, 1.5],
    });
    expect(result.lvAreaPx).toBe(Array.from(image).filter((v) => v > 0).length);
    expect(result.lvAreaMm2).toBeCloseTo(result.lvAreaPx * 2.25, 10);
    expect(result.resized).toBe(false);
    const mask = decodePngGrey(result.maskPng);
    expect([mask.width, mask.height]).toEqual([32, 32]);
    expect(mask.data[16 * 32 + 16]).toBe(255);
    expect(mask.data[0]).toBe(0);
    expect(result.contourText.split('\n')[0]).toBe('16.50 10.00');
    expect(result.contourText.trim().split('\n')).toHaveLength(result.contour.length);
  });
});

describe('renderContourOverlay', () => {
  it('draws the contour in colour over the grey image', () => {
    const image = new Float32Array(25).fill(0);
    image[0] = 1;
    const overlay = renderContourOverlay(image, 5, 5, [
      {
        points: [
          [1, 1],
          [3, 1],
          [3, 3],
          [1, 3],
        ],
        colour: [255, 0, 0],
      },
    ]);
    const px = (x: number, y: number) => Array.from(overlay.data.slice((y * 5 + x) * 4, (y * 5 + x) * 4 + 4));
    expect(px(2, 1)).toEqual([255, 0, 0, 255]);
    expect(px(3, 2)).toEqual([255, 0, 0, 255]);
    expect(px(2, 2)).toEqual([0, 0, 0, 255]);
    expect(px(0, 0)).toEqual([255, 255, 255, 255]);
  });

  it('formats contours like the Sunnybrook files', () => {
    expect(
      formatContourText([
        [130, 112.5],
        [130.5, 112.5],
      ]),
    ).toBe('130.00 112.50\n130.50 112.50\n');
  });
});
