import { encodePngRgba, type RgbaImage } from '../imaging/png.js';
import { GLYPH_HEIGHT } from './font.js';
import {
  createImage, downsample2x, drawLine, drawText, fillCircle, fillRect, parseColor, strokeRect,
  type TextAnchor,
} from './raster.js';

/**
 * A figure as a list of simple shapes in pixel coordinates. Charts and diagrams are laid out once as a
 * Scene; `sceneToSvg` and `sceneToPng` then draw the same picture, so the SVG and the PNG never differ.
 * Text sizes are the 5x7 font's magnification: a glyph is 7·size pixels tall and advances 6·size.
 */
export type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill?: string; stroke?: string; strokeWidth?: number; opacity?: number }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width?: number; dash?: [number, number] }
  | { kind: 'polyline'; points: ReadonlyArray<readonly [number, number]>; stroke: string; width?: number; dash?: [number, number] }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string }
  | { kind: 'text'; x: number; y: number; text: string; size: number; color?: string; anchor?: TextAnchor; vertical?: boolean; bold?: boolean };

export interface Scene {
  width: number;
  height: number;
  background?: string;
  shapes: Shape[];
}

const FONT_FAMILY = "'DejaVu Sans Mono', Menlo, Consolas, monospace";

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/** The scene as a standalone SVG document (hand-written markup, no dependencies). */
export function sceneToSvg(scene: Scene): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="${escapeXml(FONT_FAMILY)}">`,
  ];
  if (scene.background) out.push(`<rect width="100%" height="100%" fill="${scene.background}"/>`);
  for (const s of scene.shapes) out.push(shapeToSvg(s));
  out.push('</svg>');
  return out.join('\n');
}

function dashAttr(dash?: [number, number]): string {
  return dash ? ` stroke-dasharray="${dash[0]} ${dash[1]}"` : '';
}

function shapeToSvg(s: Shape): string {
  switch (s.kind) {
    case 'rect':
      return `<rect x="${num(s.x)}" y="${num(s.y)}" width="${num(s.w)}" height="${num(s.h)}" fill="${s.fill ?? 'none'}"` +
        (s.stroke ? ` stroke="${s.stroke}" stroke-width="${s.strokeWidth ?? 1}"` : '') +
        (s.opacity !== undefined ? ` fill-opacity="${s.opacity}"` : '') + '/>';
    case 'line':
      return `<line x1="${num(s.x1)}" y1="${num(s.y1)}" x2="${num(s.x2)}" y2="${num(s.y2)}" stroke="${s.stroke}" stroke-width="${s.width ?? 1}"${dashAttr(s.dash)}/>`;
    case 'polyline':
      return `<polyline points="${s.points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}" fill="none" stroke="${s.stroke}" stroke-width="${s.width ?? 1}" stroke-linejoin="round"${dashAttr(s.dash)}/>`;
    case 'circle':
      return `<circle cx="${num(s.cx)}" cy="${num(s.cy)}" r="${num(s.r)}" fill="${s.fill}"/>`;
    case 'text': {
      // The bitmap font's box is 7·size tall from y; a monospace font at 10·size px has about the
      // same advance (0.6 em) and cap height (0.7 em), so the SVG baseline sits at y + 7·size.
      const anchor = s.anchor === 'middle' ? 'middle' : s.anchor === 'end' ? 'end' : 'start';
      const common = `font-size="${10 * s.size}" fill="${s.color ?? '#000000'}" text-anchor="${anchor}"${s.bold ? ' font-weight="bold"' : ''}`;
      if (s.vertical) {
        const bx = s.x + GLYPH_HEIGHT * s.size;
        return `<text x="0" y="0" transform="translate(${num(bx)},${num(s.y)}) rotate(-90)" ${common}>${escapeXml(s.text)}</text>`;
      }
      return `<text x="${num(s.x)}" y="${num(s.y + GLYPH_HEIGHT * s.size)}" ${common}>${escapeXml(s.text)}</text>`;
    }
  }
}

/**
 * Rasterises the scene to RGBA: drawn at twice the size and averaged down, which smooths the lines
 * without an anti-aliasing rasteriser.
 */
export function rasterizeScene(scene: Scene): RgbaImage {
  const k = 2;
  const img = createImage(scene.width * k, scene.height * k, parseColor(scene.background ?? '#ffffff'));
  for (const s of scene.shapes) {
    switch (s.kind) {
      case 'rect':
        if (s.fill && s.fill !== 'none') fillRect(img, s.x * k, s.y * k, s.w * k, s.h * k, parseColor(s.fill), s.opacity ?? 1);
        if (s.stroke) strokeRect(img, s.x * k, s.y * k, s.w * k, s.h * k, parseColor(s.stroke), Math.max(1, Math.round((s.strokeWidth ?? 1) * k)));
        break;
      case 'line':
        drawLine(img, s.x1 * k, s.y1 * k, s.x2 * k, s.y2 * k, parseColor(s.stroke), (s.width ?? 1) * k, scaleDash(s.dash, k));
        break;
      case 'polyline': {
        let offset = 0;
        for (let i = 1; i < s.points.length; i++) {
          const [ax, ay] = s.points[i - 1]!, [bx, by] = s.points[i]!;
          offset = drawLine(img, ax * k, ay * k, bx * k, by * k, parseColor(s.stroke), (s.width ?? 1) * k, scaleDash(s.dash, k), offset);
        }
        if (s.points.length === 1) fillCircle(img, s.points[0]![0] * k, s.points[0]![1] * k, (s.width ?? 1) * k, parseColor(s.stroke));
        break;
      }
      case 'circle':
        fillCircle(img, s.cx * k, s.cy * k, s.r * k, parseColor(s.fill));
        break;
      case 'text': {
        const color = parseColor(s.color ?? '#000000');
        drawText(img, s.text, s.x * k, s.y * k, color, s.size * k, s.anchor, s.vertical);
        // Bold: the same glyphs once more, one font pixel to the right.
        if (s.bold) drawText(img, s.text, s.x * k + (s.vertical ? 0 : k), s.y * k + (s.vertical ? -k : 0), color, s.size * k, s.anchor, s.vertical);
        break;
      }
    }
  }
  return downsample2x(img);
}

function scaleDash(dash: [number, number] | undefined, k: number): [number, number] | undefined {
  return dash ? [dash[0] * k, dash[1] * k] : undefined;
}

export function sceneToPng(scene: Scene): Buffer {
  return encodePngRgba(rasterizeScene(scene));
}
