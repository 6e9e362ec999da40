import * as tfl from '@tensorflow/tfjs-layers';

export interface DenseOptions {
  /** Input height and width (the lab: 256). */
  inputSize?: number;
  /**
   * The lab's Task 1 ends in `Dense(H·W·2, activation='softmax')`: a softmax over the whole flattened
   * output, fed to a from-logits loss, so every logit is ~1/(H·W·2) and the loss sits at ln 2. `true`
   * reproduces that flaw (the `lab-task1` preset); the default outputs logits.
   */
  softmax?: boolean;
  hiddenUnits?: number;
  /** Output channels, one per class (background first); default 2. */
  classes?: number;
}

/** The lab's Task 1 network: Flatten → Dense(64, relu) → Dense(H·W·2) → Reshape(H, W, 2); K in place of 2 for K
 * classes. */
export function buildDense({
  inputSize = 256,
  softmax = false,
  hiddenUnits = 64,
  classes = 2,
}: DenseOptions = {}): tfl.Sequential {
  const model = tfl.sequential({ name: 'dense' });
  model.add(tfl.layers.flatten({ inputShape: [inputSize, inputSize, 1], name: 'flatten' }));
  model.add(tfl.layers.dense({ units: hiddenUnits, activation: 'relu', name: 'hidden' }));
  model.add(
    tfl.layers.dense({
      units: inputSize * inputSize * classes,
      activation: softmax ? 'softmax' : 'linear',
      name: 'output',
    }),
  );
  model.add(tfl.layers.reshape({ targetShape: [inputSize, inputSize, classes], name: 'reshape' }));
  return model;
}
