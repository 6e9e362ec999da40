import type { LayersModel } from '@tensorflow/tfjs-layers';
import { sceneToPng, sceneToSvg, textHeight, textWidth, type Scene, type Shape } from './scene.js';

/** One box of the diagram: a layer with the shapes going in and out. */
export interface DiagramNode {
  name: string;
  type: string;
  inputShapes: string[];
  outputShapes: string[];
  /** Indices of the nodes feeding this one. */
  inputs: number[];
}

type TensorShapeLike = ReadonlyArray<number | null>;
type AnyLayer = LayersModel['layers'][number];

/** A shape as Keras prints it: `(None, 256, 256, 1)`. */
export function formatShape(shape: TensorShapeLike): string {
  const dims = shape.map((d) => (d === null || d === undefined ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

function shapesOf(outputShape: TensorShapeLike | TensorShapeLike[]): string[] {
  const list = Array.isArray(outputShape[0]) ? (outputShape as TensorShapeLike[]) : [outputShape as TensorShapeLike];
  return list.map(formatShape);
}

/**
 * The model's layer graph in drawing order, including the input layers that a Sequential model keeps
 * out of `model.layers`. Edges come from each layer's inbound nodes.
 */
export function modelGraph(model: LayersModel): DiagramNode[] {
  const order: AnyLayer[] = [];
  const seen = new Set<AnyLayer>();
  const visit = (layer: AnyLayer): void => {
    if (seen.has(layer)) return;
    seen.add(layer);
    for (const node of layer.inboundNodes) for (const src of node.inboundLayers) visit(src as AnyLayer);
    order.push(layer);
  };
  for (const layer of model.layers) visit(layer);
  const index = new Map(order.map((l, i) => [l, i]));
  return order.map((layer) => {
    const inputs = [
      ...new Set(layer.inboundNodes.flatMap((n) => n.inboundLayers.map((l) => index.get(l as AnyLayer)!))),
    ].filter((i) => i !== undefined);
    const outputShapes = shapesOf(layer.outputShape as TensorShapeLike | TensorShapeLike[]);
    return {
      name: layer.name,
      type: layer.getClassName(),
      inputShapes:
        inputs.length > 0
          ? inputs.flatMap((i) => shapesOf(order[i]!.outputShape as TensorShapeLike | TensorShapeLike[]))
          : outputShapes,
      outputShapes,
      inputs,
    };
  });
}

const TEXT = 1.5;
const ROW_H = textHeight(TEXT) + 10;
const PAD = 6;
const V_GAP = 26;

/**
 * Lays out the graph like Keras's plot_model(show_shapes=True): one box per layer ("name: Type",
 * then input and output shapes), top to bottom by depth; layers at the same depth side by side.
 * Edges that skip rows (U-Net skip connections) run down a lane to the right of the boxes.
 */
export function layoutModelDiagram(model: LayersModel): Scene {
  const nodes = modelGraph(model);
  const depth: number[] = [];
  nodes.forEach((n, i) => {
    depth[i] = n.inputs.length === 0 ? 0 : Math.max(...n.inputs.map((j) => depth[j]! + 1));
  });
  const rows: number[][] = [];
  nodes.forEach((_, i) => {
    const d = depth[i]!;
    rows[d] ??= [];
    rows[d]!.push(i);
  });

  const boxes = nodes.map((n) => {
    const title = `${n.name}: ${n.type}`;
    const inText = n.inputShapes.length > 1 ? `[${n.inputShapes.join(', ')}]` : (n.inputShapes[0] ?? '');
    const outText = n.outputShapes.length > 1 ? `[${n.outputShapes.join(', ')}]` : (n.outputShapes[0] ?? '');
    const titleW = textWidth(title, TEXT) + 2 * PAD;
    const keyW = textWidth('output:', TEXT) + 2 * PAD;
    const valW = Math.max(textWidth(inText, TEXT), textWidth(outText, TEXT)) + 2 * PAD;
    return { title, inText, outText, titleW, keyW, valW, w: titleW + keyW + valW, h: 2 * ROW_H, x: 0, y: 0 };
  });

  const margin = 20;
  const rowWidths = rows.map((r) => r.reduce((s, i) => s + boxes[i]!.w, 0) + (r.length - 1) * 24);
  const contentW = Math.max(...rowWidths);
  let y = margin;
  rows.forEach((r, d) => {
    let x = margin + (contentW - rowWidths[d]!) / 2;
    for (const i of r) {
      boxes[i]!.x = x;
      boxes[i]!.y = y;
      x += boxes[i]!.w + 24;
    }
    y += 2 * ROW_H + V_GAP;
  });
  const height = y - V_GAP + margin;

  const shapes: Shape[] = [];
  let lanes = 0;
  const laneX = (k: number): number => margin + contentW + 18 + k * 12;
  nodes.forEach((n, i) => {
    const b = boxes[i]!;
    for (const j of n.inputs) {
      const a = boxes[j]!;
      if (depth[i]! - depth[j]! === 1) {
        const x1 = a.x + a.w / 2,
          y1 = a.y + a.h,
          x2 = b.x + b.w / 2,
          y2 = b.y;
        shapes.push({
          kind: 'polyline',
          points: [
            [x1, y1],
            [x1, (y1 + y2) / 2],
            [x2, (y1 + y2) / 2],
            [x2, y2 - 5],
          ],
          stroke: '#555555',
          width: 1.5,
        });
        shapes.push(...arrowHead(x2, y2));
      } else {
        const lx = laneX(lanes++);
        const ya = a.y + a.h / 2,
          yb = b.y + b.h / 2;
        shapes.push({
          kind: 'polyline',
          points: [
            [a.x + a.w, ya],
            [lx, ya],
            [lx, yb],
            [b.x + b.w + 5, yb],
          ],
          stroke: '#8a8a8a',
          width: 1.5,
        });
        shapes.push(...arrowHeadLeft(b.x + b.w, yb));
      }
    }
  });
  for (const b of boxes) {
    const fill = '#ffffff';
    shapes.push({ kind: 'rect', x: b.x, y: b.y, w: b.w, h: b.h, fill, stroke: '#000000', strokeWidth: 1 });
    shapes.push({ kind: 'line', x1: b.x + b.titleW, y1: b.y, x2: b.x + b.titleW, y2: b.y + b.h, stroke: '#000000' });
    shapes.push({
      kind: 'line',
      x1: b.x + b.titleW + b.keyW,
      y1: b.y,
      x2: b.x + b.titleW + b.keyW,
      y2: b.y + b.h,
      stroke: '#000000',
    });
    shapes.push({
      kind: 'line',
      x1: b.x + b.titleW,
      y1: b.y + ROW_H,
      x2: b.x + b.w,
      y2: b.y + ROW_H,
      stroke: '#000000',
    });
    const ty = (row: number): number => b.y + row * ROW_H + (ROW_H - textHeight(TEXT)) / 2;
    shapes.push({ kind: 'text', x: b.x + PAD, y: b.y + (b.h - textHeight(TEXT)) / 2, text: b.title, size: TEXT });
    shapes.push({ kind: 'text', x: b.x + b.titleW + PAD, y: ty(0), text: 'input:', size: TEXT });
    shapes.push({ kind: 'text', x: b.x + b.titleW + PAD, y: ty(1), text: 'output:', size: TEXT });
    shapes.push({ kind: 'text', x: b.x + b.titleW + b.keyW + PAD, y: ty(0), text: b.inText, size: TEXT });
    shapes.push({ kind: 'text', x: b.x + b.titleW + b.keyW + PAD, y: ty(1), text: b.outText, size: TEXT });
  }
  const width = Math.ceil(lanes > 0 ? laneX(lanes - 1) + margin : margin * 2 + contentW);
  return { width, height: Math.ceil(height), background: '#ffffff', shapes };
}

function arrowHead(x: number, y: number): Shape[] {
  return [
    {
      kind: 'polyline',
      points: [
        [x - 4, y - 7],
        [x, y - 1],
        [x + 4, y - 7],
      ],
      stroke: '#555555',
      width: 1.5,
    },
  ];
}

function arrowHeadLeft(x: number, y: number): Shape[] {
  return [
    {
      kind: 'polyline',
      points: [
        [x + 7, y - 4],
        [x + 1, y],
        [x + 7, y + 4],
      ],
      stroke: '#8a8a8a',
      width: 1.5,
    },
  ];
}

/** The layer graph with input and output shapes as an SVG document, like Keras's plot_model(show_shapes=True). */
export function renderModelDiagram(model: LayersModel): string {
  return sceneToSvg(layoutModelDiagram(model));
}

/** The same diagram as a PNG. */
export function renderModelDiagramPng(model: LayersModel): Buffer {
  return sceneToPng(layoutModelDiagram(model));
}
