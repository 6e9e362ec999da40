import { boundaryPixels } from '../imaging/contours.js';
import { resizeNearest } from '../imaging/mask.js';
import { toGrey8, type RgbaImage } from '../imaging/png.js';
import { rasterizeScene, sceneToPng, textHeight, textWidth, type Scene, type Shape } from './scene.js';

/** An opaque colour as [r, g, b], 0–255. */
export type Rgb = readonly [number, number, number];

/** `#rrggbb` of a colour, for a Scene. */
export const hexColor = (c: Rgb): string => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** An opaque image whose pixel (x, y) is `at(x, y)`. */
export function pixelImage(width: number, height: number, at: (x: number, y: number) => Rgb): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = at(x, y),
        o = (y * width + x) * 4;
      data[o] = c[0];
      data[o + 1] = c[1];
      data[o + 2] = c[2];
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** A legend entry (a short bar in `color`, then `text`) at (x, y); returns where the next one starts. */
export function legendEntry(shapes: Shape[], x: number, y: number, color: Rgb, text: string, size: number): number {
  shapes.push({ kind: 'rect', x, y: y + 5, w: 20, h: 4, fill: hexColor(color) });
  shapes.push({ kind: 'text', x: x + 26, y, text, size });
  return x + 26 + textWidth(text, size) + 20;
}

export interface PanelInput {
  image: Float32Array;
  height: number;
  width: number;
  label?: Uint8Array;
  prediction?: Uint8Array;
}

export interface PanelOptions {
  /** Titles above the tiles ("Input Image", "Label", "Predicted Label"), as in the lab. Default true. */
  titles?: boolean;
  /** Adds an "Overlay" tile: the input with the label contour in green and the prediction's in red. Default false. */
  contours?: boolean;
  /** A line of text under the tiles, e.g. "epoch 3 - val_dice 0.8123". */
  caption?: string;
  /** Tiles narrower than this are magnified by a whole factor (nearest neighbour) so titles fit. Default 192. */
  minTileWidth?: number;
}

export const LABEL_COLOR: Rgb = [0, 200, 0];
export const PREDICTION_COLOR: Rgb = [230, 0, 0];
const FONT_SCALE = 2;
const GAP = 8;
const MARGIN = 8;

/**
 * The lab's display figure as one PNG: "Input Image" | "Label" | "Predicted Label" side by side in
 * grey (image by its own min–max, masks 0 black / 1 white), optionally with a contour overlay tile.
 */
export function renderPanel(input: PanelInput, options: PanelOptions = {}): Buffer {
  return sceneToPng(layoutPanel(input, options));
}

/** The panel's pixels, as renderPanel's PNG holds them. */
export function composePanel(input: PanelInput, options: PanelOptions = {}): RgbaImage {
  return rasterizeScene(layoutPanel(input, options));
}

function layoutPanel(input: PanelInput, options: PanelOptions): Scene {
  const { image, height, width, label, prediction } = input;
  if (image.length !== height * width) {
    throw new RangeError(`panel image has ${image.length} values, expected ${height}x${width} = ${height * width}`);
  }
  const titles = options.titles ?? true;
  const zoom = Math.max(1, Math.ceil((options.minTileWidth ?? 192) / width));
  const grey = toGrey8(image);
  const tiles: Array<{ title: string; pixels: (x: number, y: number) => Rgb }> = [
    { title: 'Input Image', pixels: greyAt(grey, width, zoom) },
  ];
  if (label) tiles.push({ title: 'Label', pixels: classesAt(label, width, zoom) });
  if (prediction) tiles.push({ title: 'Predicted Label', pixels: classesAt(prediction, width, zoom) });
  if (options.contours && (label || prediction)) {
    const base = greyAt(grey, width, zoom);
    const labelEdge = label ? maskEdgeAt(label, width, height, zoom) : () => false;
    const predEdge = prediction ? maskEdgeAt(prediction, width, height, zoom) : () => false;
    tiles.push({
      title: 'Overlay',
      pixels: (x, y) => (predEdge(x, y) ? PREDICTION_COLOR : labelEdge(x, y) ? LABEL_COLOR : base(x, y)),
    });
  }

  const tileW = width * zoom,
    tileH = height * zoom;
  const titleH = titles ? textHeight(FONT_SCALE) + 12 : 0;
  const captionH = options.caption || options.contours ? textHeight(FONT_SCALE) + 14 : 0;
  const W = MARGIN * 2 + tiles.length * tileW + (tiles.length - 1) * GAP;
  const H = MARGIN * 2 + titleH + tileH + captionH;
  const shapes: Shape[] = [];
  tiles.forEach((tile, t) => {
    const ox = MARGIN + t * (tileW + GAP);
    if (titles) {
      const size = textWidth(tile.title, FONT_SCALE) <= tileW ? FONT_SCALE : 1;
      shapes.push({ kind: 'text', x: ox + tileW / 2, y: MARGIN + 2, text: tile.title, size, anchor: 'middle' });
    }
    shapes.push({ kind: 'image', x: ox, y: MARGIN + titleH, image: pixelImage(tileW, tileH, tile.pixels) });
  });
  const captionY = MARGIN + titleH + tileH + 8;
  let cx = MARGIN;
  if (options.contours && (label || prediction)) {
    if (label) cx = legendEntry(shapes, cx, captionY, LABEL_COLOR, 'label', FONT_SCALE);
    if (prediction) cx = legendEntry(shapes, cx, captionY, PREDICTION_COLOR, 'prediction', FONT_SCALE);
  }
  if (options.caption) {
    shapes.push({
      kind: 'text',
      x: cx,
      y: captionY,
      text: options.caption,
      size: textWidth(options.caption, FONT_SCALE) <= W - cx - MARGIN ? FONT_SCALE : 1,
    });
  }
  return { width: W, height: H, background: '#ffffff', shapes };
}

/** Mask tiles by class: background black, class 1 (the blood pool) white as in the lab, then a colour per class. */
export const CLASS_TILE_COLORS: readonly Rgb[] = [
  [0, 0, 0],
  [255, 255, 255],
  [255, 160, 0],
  [60, 140, 255],
  [230, 80, 230],
  [40, 220, 220],
  [160, 220, 60],
];

function classesAt(mask: Uint8Array, width: number, zoom: number): (x: number, y: number) => Rgb {
  return (x, y) => {
    const v = mask[Math.floor(y / zoom) * width + Math.floor(x / zoom)]!;
    return v === 0 ? CLASS_TILE_COLORS[0]! : CLASS_TILE_COLORS[1 + ((v - 1) % (CLASS_TILE_COLORS.length - 1))]!;
  };
}

function greyAt(grey: Uint8Array, width: number, zoom: number): (x: number, y: number) => Rgb {
  return (x, y) => {
    const v = grey[Math.floor(y / zoom) * width + Math.floor(x / zoom)]!;
    return [v, v, v];
  };
}

/**
 * Whether magnified pixel (x, y) lies on the mask's outline: the boundary pixels of the magnified mask,
 * so the outline stays one pixel wide.
 */
function maskEdgeAt(mask: Uint8Array, width: number, height: number, zoom: number): (x: number, y: number) => boolean {
  const W = width * zoom,
    H = height * zoom;
  // A mask of another length than the image counts as background past the image's pixels, as the tiles draw it.
  const sized =
    mask.length === height * width ? mask : Uint8Array.from({ length: height * width }, (_, i) => mask[i] ?? 0);
  const edge = boundaryPixels(resizeNearest(sized, height, width, H, W), H, W);
  return (x, y) => edge[y * W + x] === 1;
}

/**
 * One image tile with mask outlines: the image in grey (its own min–max), magnified `zoom` times, each
 * mask's outline one pixel wide in its colour (later ones on top). The grids of `lvseg volumes` are made
 * of these.
 */
export function composeOutlineTile(
  input: { image: Float32Array; height: number; width: number },
  outlines: ReadonlyArray<{ mask: Uint8Array; color: Rgb }>,
  zoom = 1,
): RgbaImage {
  const { image, height, width } = input;
  if (image.length !== height * width)
    throw new RangeError(`tile image has ${image.length} values, expected ${height}x${width}`);
  const base = greyAt(toGrey8(image), width, zoom);
  const edges = outlines.map((o) => ({ at: maskEdgeAt(o.mask, width, height, zoom), color: o.color })).reverse();
  return pixelImage(width * zoom, height * zoom, (x, y) => edges.find((e) => e.at(x, y))?.color ?? base(x, y));
}
