import { dirname, join } from 'node:path';
import { selectBackend } from '../backends/select.js';
import { formatScaling } from '../data/scaling.js';
import { ModelSpecError, UsageError } from '../errors.js';
import { resolveModelJson, resolveModelSettings } from '../inference/run-config.js';
import { exportOnnx } from '../export/onnx.js';
import { checkOutputFile, writeOutputFile } from '../io/output.js';
import { loadInferenceModel, readModelMetadata } from '../models/io.js';
import { METADATA_FILE, type ModelMetadata } from '../models/metadata.js';
import { detectOutputKind } from '../models/predict.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';

/**
 * The class names written into the export: --classes, else the lvseg.json's `classes` list, else
 * background and left ventricle for two classes and class_k for more.
 */
function classNames(given: string, fromFile: unknown, count: number, modelJson: string): string[] {
  const names =
    given !== ''
      ? given.split(',').map((s) => s.trim())
      : Array.isArray(fromFile) && fromFile.every((s) => typeof s === 'string')
        ? (fromFile as string[])
        : count === 2
          ? ['background', 'left ventricle']
          : Array.from({ length: count }, (_, k) => `class_${k}`);
  if (names.length !== count) {
    const from = given !== '' ? '--classes' : `${join(dirname(modelJson), METADATA_FILE)} field 'classes'`;
    throw new UsageError(
      `${from} names ${names.length} classes but ${modelJson} outputs ${count}; pass --classes with ` +
        `${count} comma-separated names`,
    );
  }
  return names;
}

export const command: Command = {
  name: 'export',
  usage: 'export MODEL|RUN|NAME --format onnx --out model.onnx [--overwrite] [--classes A,B]',
  summary:
    'write a saved model as ONNX for onnxruntime (Python, Node, the browser) with its preprocessing in the metadata',
  description:
    'Exports the model as lvseg runs it (batch norms folded into the convolutions) as an ONNX model (opset 13). ' +
    "The ONNX model takes what lvseg's own inference takes: input `image`, float32 [batch, height, width, 1], " +
    'channels last, already scaled and preprocessed; it gives `logits` (or `probabilities`) [batch, height, width, ' +
    'classes]. ' +
    'Its metadata_props hold the scaling, the preprocessing (spacing, ROI, intensity), the inference settings and ' +
    'the ' +
    "class names from the model's lvseg.json. See docs/export.md.",
  options: [
    {
      name: 'format',
      type: 'string',
      value: 'FORMAT',
      description: 'the export format',
      default: 'onnx',
      choices: ['onnx'],
    },
    { name: 'out', type: 'string', value: 'FILE', description: 'output file (.onnx)', default: '' },
    { name: 'overwrite', type: 'boolean', description: 'replace an existing --out file', default: false },
    {
      name: 'classes',
      type: 'string',
      value: 'A,B,…',
      description: "class names, one per output channel; default: the lvseg.json's, else background,left ventricle",
      default: '',
    },
  ],
  async run(args) {
    const [ref, ...extra] = args.positionals;
    if (!ref || extra.length > 0) {
      throw new UsageError(
        "export takes one RUN directory, model.json or bundled model name; e.g. 'lvseg export lv-sunnybrook --format " +
          "onnx --out lv.onnx'",
      );
    }
    const out = String(args.options.out);
    if (out === '') throw new UsageError('export needs --out FILE, e.g. --out model.onnx');
    const output = { flag: '--out', command: 'lvseg export', overwrite: args.options.overwrite as boolean };
    checkOutputFile(out, output);
    const modelJson = resolveModelJson(ref);
    const settings = resolveModelSettings(ref);
    // the weights are read, not computed with: the plain cpu backend is enough
    await selectBackend('cpu');
    const model = await loadInferenceModel(ref);
    try {
      const shape = model.outputs[0]!.shape;
      const count = shape[shape.length - 1];
      if (typeof count !== 'number')
        throw new ModelSpecError(`${modelJson}: the output's class axis has no fixed size`);
      // the whole lvseg.json travels in the metadata; `classes` is read where a model records its class names
      const lvsegJson = readModelMetadata(modelJson) as (ModelMetadata & { classes?: unknown }) | undefined;
      const classes = classNames(String(args.options.classes), lvsegJson?.classes, count, modelJson);
      const [, height, width] = model.inputs[0]!.shape;
      const kind = detectOutputKind(model);
      const metadata: Record<string, string> = {
        layout:
          `input image [batch, ${height}, ${width}, 1] float32 channels last (NHWC); output ${kind} [batch, ` +
          `${height}, ${width}, ${count}] channels last; the mask is the argmax over the last axis`,
        output: kind,
        class_names: JSON.stringify(classes),
        scale: formatScaling(settings.scale),
        preprocessing: JSON.stringify(settings.segment?.preprocessing ?? null),
        inference: JSON.stringify(settings.segment?.inference ?? null),
        labels: settings.labels,
        lvseg_version: VERSION,
        ...(lvsegJson ? { lvseg_json: JSON.stringify(lvsegJson) } : {}),
      };
      const bytes = exportOnnx(model, { metadata });
      await writeOutputFile(out, bytes, output);
      console.log(
        `wrote ${out} (ONNX opset 13, ${(bytes.byteLength / 1e6).toFixed(1)} MB; input image [batch, ${height}, ` +
          `${width}, 1], output ${kind} [batch, ${height}, ${width}, ${count}]: ${classes.join(', ')})`,
      );
    } finally {
      model.dispose();
    }
    return 0;
  },
};
