import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { composePanel, renderPanel } from '../../src/reporting/panels.js';
import { discSample } from './fake-run.js';

const n = 64;
const s = discSample(n, 6);
const px = (img: { width: number; data: Uint8Array }, x: number, y: number): number[] => [
  ...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3),
];

describe('renderPanel', () => {
  it("keeps the first version's call and encodes a PNG of the composed panel", () => {
    const png = PNG.sync.read(
      renderPanel({ image: s.image, height: n, width: n, label: s.label, prediction: s.prediction }),
    );
    // 64-pixel slices are magnified 3x to 192 so "Predicted Label" fits: 8 + 3·192 + 2·8 + 8 wide.
    expect([png.width, png.height]).toEqual([608, 8 + 26 + 192 + 8]);
  });

  it('shows input, label and prediction tiles in grey: masks white inside, black outside', () => {
    const img = composePanel({ image: s.image, height: n, width: n, label: s.label, prediction: s.prediction });
    const top = 8 + 26,
      tile = 192,
      step = tile + 8;
    const centre = (t: number): number[] => px(img, 8 + t * step + tile / 2, top + tile / 2);
    const corner = (t: number): number[] => px(img, 8 + t * step + 2, top + 2);
    expect(centre(1)).toEqual([255, 255, 255]);
    expect(corner(1)).toEqual([0, 0, 0]);
    // The prediction is shifted 6 pixels right: pixel (n/2 - 12, n/2) is in the label, not the prediction.
    const at = (t: number, x: number, y: number): number[] => px(img, 8 + t * step + x * 3 + 1, top + y * 3 + 1);
    expect(at(1, n / 2 - 12, n / 2)).toEqual([255, 255, 255]);
    expect(at(2, n / 2 - 12, n / 2)).toEqual([0, 0, 0]);
    const g = centre(0);
    expect(g[0]).toBe(g[1]);
    expect(g[1]).toBe(g[2]);
    expect(g[0]!).toBeGreaterThan(corner(0)[0]!);
  });

  it("writes the lab's titles above the tiles, and leaves them out on request", () => {
    const withTitles = composePanel({ image: s.image, height: n, width: n, label: s.label, prediction: s.prediction });
    const without = composePanel(
      { image: s.image, height: n, width: n, label: s.label, prediction: s.prediction },
      { titles: false },
    );
    expect(without.height).toBe(withTitles.height - 26);
    let dark = 0;
    for (let y = 8; y < 8 + 26; y++)
      for (let x = 0; x < withTitles.width; x++) if (px(withTitles, x, y)[0]! < 128) dark++;
    expect(dark).toBeGreaterThan(300);
  });

  it('adds an overlay tile with the label outline in green and the prediction outline in red', () => {
    const img = composePanel(
      { image: s.image, height: n, width: n, label: s.label, prediction: s.prediction },
      { contours: true },
    );
    expect(img.width).toBe(8 + 4 * 192 + 3 * 8 + 8);
    const ox = 8 + 3 * 200,
      oy = 8 + 26;
    let red = 0,
      green = 0;
    for (let y = 0; y < 192; y++) {
      for (let x = 0; x < 192; x++) {
        const [r, g, b] = px(img, ox + x, oy + y);
        if (r === 230 && g === 0 && b === 0) red++;
        if (r === 0 && g === 200 && b === 0) green++;
      }
    }
    // Outlines of discs of radius ~12.8 px magnified 3x: roughly 2π·38 ≈ 240 pixels each.
    expect(red).toBeGreaterThan(150);
    expect(green).toBeGreaterThan(100);
    // The outline pixel at the left edge of the label disc (x = 32 - 12.8 → column 20, magnified) is green.
    const leftEdge = [...Array(192).keys()].find((x) => px(img, ox + x, oy + 96)[1] === 200);
    expect(leftEdge).toBe(20 * 3);
  });

  it('draws a single tile for an image alone and rejects a size mismatch', () => {
    expect(composePanel({ image: s.image, height: n, width: n }).width).toBe(8 + 192 + 8);
    expect(() => composePanel({ image: s.image, height: n, width: n - 1 })).toThrow(/expected 64x63/);
  });
});
