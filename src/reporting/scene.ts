import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import { encodePngRgba, type RgbaImage } from '../imaging/png.js';

/**
 * A figure as a list of simple shapes in pixel coordinates. Charts, diagrams, panels and grids are laid out
 * once as a Scene; `sceneToSvg` writes it as SVG and `sceneToPng` renders that same SVG with resvg, so the
 * SVG and the PNG never differ. Text is DejaVu Sans Mono at 10·size px: a capital is about 7·size pixels tall
 * and a character advances 6·size (textWidth, textHeight), which is what layouts measure with.
 */
export type Shape =
  | {
      kind: 'rect';
      x: number;
      y: number;
      w: number;
      h: number;
      fill?: string;
      stroke?: string;
      strokeWidth?: number;
      opacity?: number;
    }
  | {
      kind: 'line';
      x1: number;
      y1: number;
      x2: number;
      y2: number;
      stroke: string;
      width?: number;
      dash?: [number, number];
    }
  | {
      kind: 'polyline';
      points: ReadonlyArray<readonly [number, number]>;
      stroke: string;
      width?: number;
      dash?: [number, number];
    }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string }
  | {
      kind: 'text';
      x: number;
      y: number;
      text: string;
      size: number;
      color?: string;
      anchor?: TextAnchor;
      vertical?: boolean;
      bold?: boolean;
    }
  /** Pixels drawn one to one (an MRI tile with its outlines), the top-left corner at (x, y). */
  | { kind: 'image'; x: number; y: number; image: RgbaImage };

export type TextAnchor = 'start' | 'middle' | 'end';

/** Height in pixels of a capital of text at `size` (its box from y to the baseline). */
export function textHeight(size: number): number {
  return 7 * size;
}

/** Width in pixels of `text` at `size`: 6·size a character, less the space after the last. */
export function textWidth(text: string, size: number): number {
  return text.length === 0 ? 0 : (text.length * 6 - 1) * size;
}

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
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ` +
      `${scene.width} ${scene.height}" font-family="${escapeXml(FONT_FAMILY)}">`,
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
      return (
        `<rect x="${num(s.x)}" y="${num(s.y)}" width="${num(s.w)}" height="${num(s.h)}" fill="${s.fill ?? 'none'}"` +
        (s.stroke ? ` stroke="${s.stroke}" stroke-width="${s.strokeWidth ?? 1}"` : '') +
        (s.opacity !== undefined ? ` fill-opacity="${s.opacity}"` : '') +
        '/>'
      );
    case 'line':
      return (
        `<line x1="${num(s.x1)}" y1="${num(s.y1)}" x2="${num(s.x2)}" y2="${num(s.y2)}" stroke="${s.stroke}" ` +
        `stroke-width="${s.width ?? 1}"${dashAttr(s.dash)}/>`
      );
    case 'polyline':
      return (
        `<polyline points="${s.points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}" fill="none" ` +
        `stroke="${s.stroke}" stroke-width="${s.width ?? 1}" stroke-linejoin="round"${dashAttr(s.dash)}/>`
      );
    case 'circle':
      return `<circle cx="${num(s.cx)}" cy="${num(s.cy)}" r="${num(s.r)}" fill="${s.fill}"/>`;
    case 'image':
      return (
        `<image x="${num(s.x)}" y="${num(s.y)}" width="${s.image.width}" height="${s.image.height}" ` +
        `image-rendering="optimizeSpeed" ` +
        `href="data:image/png;base64,${encodePngRgba(s.image).toString('base64')}"/>`
      );
    case 'text': {
      // A monospace font at 10·size px advances 0.6 em and has capitals 0.7 em tall: the baseline sits at y + 7·size.
      const anchor = s.anchor === 'middle' ? 'middle' : s.anchor === 'end' ? 'end' : 'start';
      const common =
        `font-size="${10 * s.size}" fill="${s.color ?? '#000000'}" ` +
        `text-anchor="${anchor}"${s.bold ? ' font-weight="bold"' : ''}`;
      if (s.vertical) {
        const bx = s.x + textHeight(s.size);
        return (
          `<text x="0" y="0" transform="translate(${num(bx)},${num(s.y)}) rotate(-90)" ` +
          `${common}>${escapeXml(s.text)}</text>`
        );
      }
      return `<text x="${num(s.x)}" y="${num(s.y + textHeight(s.size))}" ${common}>${escapeXml(s.text)}</text>`;
    }
  }
}

/**
 * DejaVu Sans Mono (Debian's fonts-dejavu-core, which scripts/setup.sh installs), so figures look the same on
 * every such machine; elsewhere the system's fonts, where the SVG's font list names macOS's and Windows'.
 */
const DEJAVU = ['DejaVuSansMono.ttf', 'DejaVuSansMono-Bold.ttf']
  .map((f) => join('/usr/share/fonts/truetype/dejavu', f))
  .filter((f) => existsSync(f));
const FONTS: ResvgRenderOptions['font'] =
  DEJAVU.length > 0
    ? {
        loadSystemFonts: false,
        fontFiles: DEJAVU,
        defaultFontFamily: 'DejaVu Sans Mono',
        monospaceFamily: 'DejaVu Sans Mono',
      }
    : { loadSystemFonts: true };

function render(scene: Scene): ReturnType<Resvg['render']> {
  // A PNG is opaque: white where the scene sets no background.
  return new Resvg(sceneToSvg(scene), { font: FONTS, background: scene.background ?? '#ffffff' }).render();
}

/** The scene's pixels, as its PNG shows them. */
export function rasterizeScene(scene: Scene): RgbaImage {
  const image = render(scene);
  return { width: image.width, height: image.height, data: new Uint8Array(image.pixels) };
}

export function sceneToPng(scene: Scene): Buffer {
  return render(scene).asPng();
}
