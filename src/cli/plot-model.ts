import { existsSync } from 'node:fs';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { selectBackend } from '../backends/select.js';
import { UsageError } from '../errors.js';
import { checkOutputFile, writeOutputFile } from '../io/output.js';
import { buildModel, MODEL_NAMES } from '../models/build.js';
import { resolveModelJson } from '../inference/run-config.js';
import { loadLayersModel } from '../models/io.js';
import { buildModelFromSpec, loadModelSpec } from '../models/spec.js';
import { renderModelDiagram, renderModelDiagramPng } from '../reporting/model-diagram.js';
import type { Command } from './command.js';
import { figureFormat } from './plot.js';

export const command: Command = {
  name: 'plot-model',
  usage: 'plot-model --model NAME|--model-spec FILE --out FILE.svg|FILE.png',
  summary: "the layer graph with output shapes, like Keras's plot_model(show_shapes=True)",
  description:
    `Draws one box per layer (name: type, input and output shapes) with the connections between them. --model takes ` +
    `a ` +
    `built-in network (${MODEL_NAMES.join(', ')}) or a saved model (model.json, its folder or a run directory).`,
  options: [
    { name: 'model', type: 'string', value: 'NAME|PATH', description: 'built-in network or saved model', default: '' },
    { name: 'model-spec', type: 'string', value: 'FILE', description: 'JSON model spec', default: '' },
    {
      name: 'input-size',
      type: 'number',
      value: 'N',
      description: 'input height and width for built-in networks and specs',
      default: 256,
    },
    { name: 'out', type: 'string', value: 'FILE', description: 'output file, .svg or .png', default: 'model.svg' },
    { name: 'overwrite', type: 'boolean', description: 'replace an existing --out file', default: false },
  ],
  async run(args) {
    const name = String(args.options.model),
      specFile = String(args.options['model-spec']);
    if ((name === '') === (specFile === ''))
      throw new UsageError('pass exactly one of --model NAME and --model-spec FILE');
    const out = String(args.options.out);
    const format = figureFormat(out);
    const output = { flag: '--out', command: 'lvseg plot-model', overwrite: args.options.overwrite as boolean };
    checkOutputFile(out, output);
    const inputSize = Number(args.options['input-size']);
    if (!Number.isInteger(inputSize) || inputSize < 8)
      throw new UsageError(`--input-size takes a whole number of pixels >= 8, not ${inputSize}`);
    // Building initialises weights; the cpu backend is enough for a drawing.
    await selectBackend('cpu');
    let model: LayersModel;
    if (specFile) model = buildModelFromSpec(loadModelSpec(specFile), { inputSize });
    else if ((MODEL_NAMES as readonly string[]).includes(name)) model = buildModel(name, { inputSize });
    else if (existsSync(name)) model = await loadLayersModel(resolveModelJson(name));
    else
      throw new UsageError(
        `--model ${name}: not a built-in network (${MODEL_NAMES.join(', ')}) nor an existing model path`,
      );
    await writeOutputFile(out, format === 'svg' ? renderModelDiagram(model) : renderModelDiagramPng(model), output);
    console.log(
      `wrote ${out} (${model.layers.length} layers, ${model.countParams().toLocaleString('en-US')} parameters)`,
    );
    model.dispose();
    return 0;
  },
};
