import { describe, expect, it } from 'vitest';
import {
  rasterizeScene,
  sceneToSvg,
  textHeight,
  textWidth,
  type Scene,
  type TextAnchor,
} from '../../src/reporting/scene.js';
import type { RgbaImage } from '../../src/imaging/png.js';

/** The bounding box of the dark pixels (text in black on white). */
function ink(img: RgbaImage): { left: number; right: number; top: number; bottom: number; count: number } {
  const box = { left: Infinity, right: -Infinity, top: Infinity, bottom: -Infinity, count: 0 };
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[(y * img.width + x) * 4]! >= 128) continue;
      box.count++;
      box.left = Math.min(box.left, x);
      box.right = Math.max(box.right, x + 1);
      box.top = Math.min(box.top, y);
      box.bottom = Math.max(box.bottom, y + 1);
    }
  }
  return box;
}

const textScene = (text: string, x: number, anchor: TextAnchor = 'start', size = 2): Scene => ({
  width: 240,
  height: 40,
  background: '#ffffff',
  shapes: [{ kind: 'text', x, y: 10, text, size, anchor }],
});

describe('scenes rendered to PNG with a real font', () => {
  it('draws text where textWidth and textHeight say it goes, so layouts measured with them fit', () => {
    const text = 'Dice 0.9123 HD95';
    const box = ink(rasterizeScene(textScene(text, 10)));
    expect(box.left).toBeGreaterThanOrEqual(10);
    expect(box.left).toBeLessThanOrEqual(13);
    expect(Math.abs(box.right - (10 + textWidth(text, 2)))).toBeLessThanOrEqual(4);
    // Capitals from y to y + textHeight, within a pixel or two of anti-aliasing.
    expect(Math.abs(box.top - 10)).toBeLessThanOrEqual(2);
    expect(Math.abs(box.bottom - (10 + textHeight(2)))).toBeLessThanOrEqual(2);
  });

  it('centres and right-aligns text on its anchor', () => {
    const text = 'Predicted Label';
    const middle = ink(rasterizeScene(textScene(text, 120, 'middle')));
    expect(Math.abs((middle.left + middle.right) / 2 - 120)).toBeLessThanOrEqual(2);
    const end = ink(rasterizeScene(textScene(text, 230, 'end')));
    expect(end.right).toBeLessThanOrEqual(230);
    expect(end.right).toBeGreaterThanOrEqual(226);
  });

  it('draws different letters differently, non-ASCII ones included, and a space as nothing', () => {
    const pixels = (text: string): string => Buffer.from(rasterizeScene(textScene(text, 10)).data).toString('base64');
    const looks = ['label', 'lab3l', 'cm2', 'cm²', 'cm?', 'Ii', 'il'].map(pixels);
    expect(new Set(looks).size).toBe(looks.length);
    expect(ink(rasterizeScene(textScene('   ', 10))).count).toBe(0);
    // Bigger text, more ink.
    expect(ink(rasterizeScene(textScene('lvseg', 10, 'start', 2))).count).toBeGreaterThan(
      2 * ink(rasterizeScene(textScene('lvseg', 10, 'start', 1))).count,
    );
  });

  it('draws an image shape pixel for pixel, and embeds it in the SVG as a PNG', () => {
    const image: RgbaImage = {
      width: 3,
      height: 2,
      data: new Uint8Array([
        10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255, 1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255,
      ]),
    };
    const scene: Scene = { width: 8, height: 6, background: '#ffffff', shapes: [{ kind: 'image', x: 2, y: 3, image }] };
    const out = rasterizeScene(scene);
    const at = (x: number, y: number): number[] => [...out.data.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 4)];
    expect([at(2, 3), at(4, 3), at(2, 4), at(4, 4)]).toEqual([
      [10, 20, 30, 255],
      [70, 80, 90, 255],
      [1, 2, 3, 255],
      [7, 8, 9, 255],
    ]);
    expect(at(1, 3)).toEqual([255, 255, 255, 255]);
    expect(sceneToSvg(scene)).toMatch(
      new RegExp(
        '<image x="2" y="3" width="3" height="2" image-rendering="optimizeSpeed" href="data:image' +
          String.raw`\/png;base64,iVBORw0KGgo`,
      ),
    );
  });
});
