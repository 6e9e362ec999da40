import type { RgbaImage } from '../imaging/png.js';
import { GLYPH_ADVANCE, GLYPH_WIDTH, glyphRows, textWidth } from './font.js';

/** An opaque colour as [r, g, b], 0–255. */
export type Rgb = readonly [number, number, number];

/** Parses `#rrggbb` (or `#rgb`) into [r, g, b]. */
export function parseColor(hex: string): Rgb {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new RangeError(`colour '${hex}' is not #rgb or #rrggbb`);
  const h = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

export function createImage(width: number, height: number, background: Rgb = [255, 255, 255]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[4 * i] = background[0]; data[4 * i + 1] = background[1]; data[4 * i + 2] = background[2]; data[4 * i + 3] = 255;
  }
  return { width, height, data };
}

/** Blends `color` over one pixel with coverage `alpha` (0–1); pixels outside the image are ignored. */
export function blendPixel(img: RgbaImage, x: number, y: number, color: Rgb, alpha = 1): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 4;
  const d = img.data;
  if (alpha >= 1) {
    d[o] = color[0]; d[o + 1] = color[1]; d[o + 2] = color[2];
  } else if (alpha > 0) {
    d[o] = Math.round(d[o]! + (color[0] - d[o]!) * alpha);
    d[o + 1] = Math.round(d[o + 1]! + (color[1] - d[o + 1]!) * alpha);
    d[o + 2] = Math.round(d[o + 2]! + (color[2] - d[o + 2]!) * alpha);
  }
  d[o + 3] = 255;
}

export function fillRect(img: RgbaImage, x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
  const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(img.width, Math.round(x + w)), y1 = Math.min(img.height, Math.round(y + h));
  for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) blendPixel(img, xx, yy, color, alpha);
}

export function strokeRect(img: RgbaImage, x: number, y: number, w: number, h: number, color: Rgb, width = 1): void {
  fillRect(img, x, y, w, width, color);
  fillRect(img, x, y + h - width, w, width, color);
  fillRect(img, x, y, width, h, color);
  fillRect(img, x + w - width, y, width, h, color);
}

export function fillCircle(img: RgbaImage, cx: number, cy: number, r: number, color: Rgb): void {
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) blendPixel(img, x, y, color);
    }
  }
}

/**
 * A line of `width` pixels, stamped as squares every half pixel along its length. `dash` gives
 * [on, off] lengths; the returned offset lets a polyline continue its dash pattern across segments.
 */
export function drawLine(
  img: RgbaImage, x1: number, y1: number, x2: number, y2: number, color: Rgb, width = 1,
  dash?: readonly [number, number], dashOffset = 0,
): number {
  const len = Math.hypot(x2 - x1, y2 - y1);
  const steps = Math.max(1, Math.ceil(len * 2));
  const k = Math.max(1, Math.round(width));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    if (dash) {
      const along = (dashOffset + t * len) % (dash[0] + dash[1]);
      if (along >= dash[0]) continue;
    }
    const x0 = Math.round(x1 + (x2 - x1) * t - k / 2), y0 = Math.round(y1 + (y2 - y1) * t - k / 2);
    for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) blendPixel(img, x0 + dx, y0 + dy, color);
  }
  return dashOffset + len;
}

export type TextAnchor = 'start' | 'middle' | 'end';

/**
 * Draws `text` with the 5x7 font magnified `scale` times. (x, y) is the anchor point on the top edge
 * of the glyphs; with `vertical` the text runs bottom to top (rotated -90°) and (x, y) anchors its left edge.
 */
export function drawText(
  img: RgbaImage, text: string, x: number, y: number, color: Rgb, scale = 1,
  anchor: TextAnchor = 'start', vertical = false,
): void {
  const w = textWidth(text, scale);
  const shift = anchor === 'middle' ? w / 2 : anchor === 'end' ? w : 0;
  const ox = Math.round(vertical ? x : x - shift);
  const oy = Math.round(vertical ? y + shift : y);
  [...text].forEach((ch, i) => {
    const rows = glyphRows(ch);
    for (let r = 0; r < rows.length; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (!((rows[r]! >> (GLYPH_WIDTH - 1 - c)) & 1)) continue;
        const gx = (i * GLYPH_ADVANCE + c) * scale, gy = r * scale;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            if (vertical) blendPixel(img, ox + gy + dy, oy - gx - dx - 1, color);
            else blendPixel(img, ox + gx + dx, oy + gy + dy, color);
          }
        }
      }
    }
  });
}

/** Halves an image by averaging 2x2 blocks: drawing at twice the size and reducing gives smooth edges. */
export function downsample2x(img: RgbaImage): RgbaImage {
  const width = Math.floor(img.width / 2), height = Math.floor(img.height / 2);
  const data = new Uint8Array(width * height * 4);
  const s = img.data;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = ((2 * y) * img.width + 2 * x) * 4, b = a + img.width * 4;
      for (let c = 0; c < 4; c++) data[(y * width + x) * 4 + c] = (s[a + c]! + s[a + 4 + c]! + s[b + c]! + s[b + 4 + c]! + 2) >> 2;
    }
  }
  return { width, height, data };
}
