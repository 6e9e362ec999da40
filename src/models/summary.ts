import type * as tfl from '@tensorflow/tfjs-layers';

export interface LayerSummary {
  name: string;
  type: string;
  outputShape: (number | null)[];
  params: number;
}

/** The model summary as written to RUN/summary.json. */
export interface ModelSummary {
  name: string;
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
}

/** Each layer's name, type, output shape and parameters, and the totals: what `lvseg summary` prints. */
export function summarizeModel(model: tfl.LayersModel): ModelSummary {
  const layers = model.layers.map((layer) => {
    const out = layer.outputShape;
    const shape = (
      Array.isArray(out[0]) || out[0] === undefined ? ((out[0] as (number | null)[] | undefined) ?? []) : out
    ) as (number | null)[];
    return { name: layer.name, type: layer.getClassName(), outputShape: shape, params: layer.countParams() };
  });
  const trainableParams = model.trainableWeights.reduce(
    (n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1),
    0,
  );
  return { name: model.name, layers, totalParams: model.countParams(), trainableParams };
}

/** The Keras-style table: layer (type), output shape, params, and the totals. */
export function formatSummary(summary: ModelSummary): string {
  const rows = summary.layers.map((l) => [
    `${l.name} (${l.type})`,
    `(${l.outputShape.map((d) => (d === null ? 'None' : d)).join(', ')})`,
    l.params.toLocaleString('en-US'),
  ]);
  const head = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)) + 3);
  const line = (r: string[]): string =>
    r
      .map((v, c) => v.padEnd(widths[c]!))
      .join('')
      .trimEnd();
  const total = widths.reduce((a, b) => a + b, 0);
  const nonTrainable = summary.totalParams - summary.trainableParams;
  return [
    `Model: "${summary.name}"`,
    '_'.repeat(total),
    line(head),
    '='.repeat(total),
    ...rows.flatMap((r, i) => [line(r), i < rows.length - 1 ? '_'.repeat(total) : '='.repeat(total)]),
    `Total params: ${summary.totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${summary.trainableParams.toLocaleString('en-US')}`,
    `Non-trainable params: ${nonTrainable.toLocaleString('en-US')}`,
    '_'.repeat(total),
  ].join('\n');
}
