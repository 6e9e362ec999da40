import { encodePngRgba, toGrey8, type RgbaImage } from '../imaging/png.js';

export interface PanelInput {
  image: Float32Array;
  height: number;
  width: number;
  label?: Uint8Array;
  prediction?: Uint8Array;
}

/**
 * The lab's display figure as one PNG: input | label | prediction side by side, grey colormap.
 * (First version: no titles yet.)
 */
export function renderPanel(input: PanelInput): Buffer {
  return encodePngRgba(composePanel(input));
}

export function composePanel({ image, height, width, label, prediction }: PanelInput): RgbaImage {
  const tiles: Uint8Array[] = [toGrey8(image)];
  for (const mask of [label, prediction]) if (mask) tiles.push(mask.map((v) => (v > 0 ? 255 : 0)));
  const gap = 4;
  const W = tiles.length * width + (tiles.length - 1) * gap;
  const data = new Uint8Array(W * height * 4).fill(255);
  tiles.forEach((tile, t) => {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = tile[y * width + x]!;
        const o = (y * W + t * (width + gap) + x) * 4;
        data[o] = v; data[o + 1] = v; data[o + 2] = v; data[o + 3] = 255;
      }
    }
  });
  return { width: W, height, data };
}
