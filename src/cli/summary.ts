import { selectBackend } from '../backends/select.js';
import { UsageError } from '../errors.js';
import { buildModel, MODEL_NAMES } from '../models/build.js';
import { PRESETS, getPreset } from '../models/presets.js';
import { buildModelFromSpec, loadModelSpec } from '../models/spec.js';
import { formatSummary, summarizeModel } from '../models/summary.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'summary',
  usage: 'summary (--model NAME | --model-spec FILE | --preset NAME) [--input-size N] [--json]',
  summary: "print a network's layers, output shapes and parameter counts (like Keras model.summary())",
  options: [
    { name: 'model', type: 'string', value: 'NAME', description: 'built-in network', choices: MODEL_NAMES },
    { name: 'model-spec', type: 'string', value: 'FILE', description: 'a JSON model spec' },
    {
      name: 'preset',
      type: 'string',
      value: 'NAME',
      description: "the network of one of the lab's presets",
      choices: Object.keys(PRESETS),
    },
    { name: 'input-size', type: 'number', value: 'N', description: 'input height and width', default: 256 },
    {
      name: 'json',
      type: 'boolean',
      description: 'print {layers, totalParams, trainableParams} as JSON',
      default: false,
    },
  ],
  async run(args) {
    const {
      model: name,
      'model-spec': specFile,
      preset,
      'input-size': inputSize,
      json,
    } = args.options as {
      model?: string;
      'model-spec'?: string;
      preset?: string;
      'input-size': number;
      json: boolean;
    };
    if ([name, specFile, preset].filter((v) => v !== undefined).length !== 1)
      throw new UsageError('pass exactly one of --model NAME, --model-spec FILE, --preset NAME');
    if (!Number.isInteger(inputSize) || inputSize < 1)
      throw new UsageError(`--input-size takes a positive integer, not ${inputSize}`);
    // building a model initialises its weights: the plain cpu backend is enough and starts fastest
    await selectBackend('cpu');
    const model =
      specFile !== undefined
        ? buildModelFromSpec(loadModelSpec(specFile), { inputSize })
        : preset !== undefined
          ? buildModel(getPreset(preset).model, { inputSize, softmax: getPreset(preset).softmax ?? false })
          : buildModel(name!, { inputSize });
    const summary = summarizeModel(model);
    console.log(json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    model.dispose();
    return 0;
  },
};
