/**
 * An ensemble of models with the same input (e.g. the K models of a cross-validation) as one model:
 * the mean of the members' per-pixel softmax. It outputs the log of that mean, so everything that takes
 * a model's output as logits (argmax, softmax, cross-entropy) sees exactly the mean probabilities.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CheckpointError } from '../errors.js';

/** The file that makes a folder an ensemble: `lvseg evaluate|predict FOLDER` load it as one model. */
export const ENSEMBLE_FILE = 'ensemble.json';

export interface EnsembleFile {
  /** The members: a model path (a run directory, a folder with model.json or a model.json), relative to the ensemble
   * folder or absolute; and whether it outputs logits or probabilities. */
  members: { model: string; output: 'logits' | 'probabilities' }[];
  /** The input scaling the members were trained with (as in a run's config.json). */
  scale?: string | number;
  /** Where the ensemble came from (e.g. `lvseg cv`), for people. */
  description?: string;
}

/** Reads and checks an ensemble.json. */
export function readEnsembleFile(file: string): EnsembleFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${file}: not a readable ensemble file (${(err as Error).message})`);
  }
  const members = (json as { members?: unknown }).members;
  if (!Array.isArray(members) || members.length === 0)
    throw new CheckpointError(
      `${file}: 'members' must be a non-empty list of {"model": PATH, "output": "logits"|"probabilities"}`,
    );
  members.forEach((m: { model?: unknown; output?: unknown }, i) => {
    if (typeof m?.model !== 'string' || (m.output !== 'logits' && m.output !== 'probabilities')) {
      throw new CheckpointError(`${file}: members[${i}] must be {"model": PATH, "output": "logits"|"probabilities"}`);
    }
  });
  return json as EnsembleFile;
}

/** The mean of the members' softmax, as log-probabilities (floored so an all-zero class stays finite). */
class EnsembleMean extends tfl.layers.Layer {
  static className = 'LvsegEnsembleMean';
  private readonly probabilities: boolean[];

  constructor(args: { name: string; probabilities: boolean[] }) {
    super({ name: args.name });
    this.probabilities = args.probabilities;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const outputs = Array.isArray(inputs) ? inputs : [inputs];
      const probs = outputs.map((o, i) => (this.probabilities[i] ? o : tf.softmax(o)));
      return tf.log(tf.maximum(tf.div(tf.addN(probs), probs.length), 1e-12));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), probabilities: this.probabilities };
  }
}

/**
 * One model from members that take the same input: each member runs on it, their softmax is averaged.
 * The members are layers of the ensemble: disposing it disposes them.
 */
export function buildEnsemble(
  members: readonly tfl.LayersModel[],
  outputs: readonly EnsembleFile['members'][number]['output'][],
): tfl.LayersModel {
  const shape = members[0]!.inputs[0]!.shape;
  for (const [i, m] of members.entries()) {
    if (
      JSON.stringify(m.inputs[0]!.shape) !== JSON.stringify(shape) ||
      JSON.stringify(m.outputs[0]!.shape) !== JSON.stringify(members[0]!.outputs[0]!.shape)
    ) {
      throw new CheckpointError(
        `ensemble member ${i + 1} takes [${m.inputs[0]!.shape}] -> [${m.outputs[0]!.shape}], member 1 [${shape}] -> ` +
          `[${members[0]!.outputs[0]!.shape}]; members must agree`,
      );
    }
    // layer names must be unique in the ensemble, and every member of a CV has the same model name
    (m as unknown as { name: string }).name = `member_${i + 1}`;
  }
  const input = tfl.input({ shape: shape.slice(1) as number[], name: 'ensemble_input' });
  const memberOutputs = members.map((m) => m.apply(input) as tfl.SymbolicTensor);
  const mean = new EnsembleMean({
    name: 'ensemble_mean',
    probabilities: outputs.map((o) => o === 'probabilities'),
  }).apply(memberOutputs) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: mean, name: 'ensemble' });
}
