import * as tfl from '@tensorflow/tfjs-layers';

export interface FcnOptions {
  /** Input height and width; must be a multiple of 16 (the lab: 256). */
  inputSize?: number;
  /** The lab's parameter-search network adds one more 3×3×300 conv (`fcn-deep`). */
  deep?: boolean;
  /** Scales every hidden filter count (1 = the lab's 100/200/300/300); the demo uses a smaller FCN. */
  widthFactor?: number;
  /** Output channels, one per class (background first); default 2. */
  classes?: number;
}

/**
 * The lab's Task 2/3 FCN exactly: Conv(100,5,s2) → MaxPool 2 → Conv(200,5,s2) → MaxPool 2 →
 * Conv(300,3) → Conv(300,3) [→ Conv(300,3) when deep] → Conv(2,3) → Conv2DTranspose(2, 31, s16, same)
 * (K in place of 2 for K classes).
 * Every conv has relu, as in the lab; the transposed conv outputs the logits.
 */
export function buildFcn({
  inputSize = 256,
  deep = false,
  widthFactor = 1,
  classes = 2,
}: FcnOptions = {}): tfl.Sequential {
  const f = (n: number): number => Math.max(1, Math.round(n * widthFactor));
  const model = tfl.sequential({ name: deep ? 'fcn_deep' : 'fcn' });
  const conv = (filters: number, kernelSize: number, strides: number, name: string, first = false): tfl.layers.Layer =>
    tfl.layers.conv2d({
      ...(first ? { inputShape: [inputSize, inputSize, 1] } : {}),
      filters,
      kernelSize,
      strides,
      padding: 'same',
      activation: 'relu',
      name,
    });
  const pool = (name: string): tfl.layers.Layer =>
    tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name });
  model.add(conv(f(100), 5, 2, 'conv1', true));
  model.add(pool('pool1'));
  model.add(conv(f(200), 5, 2, 'conv2'));
  model.add(pool('pool2'));
  model.add(conv(f(300), 3, 1, 'conv3'));
  model.add(conv(f(300), 3, 1, 'conv4'));
  if (deep) model.add(conv(f(300), 3, 1, 'conv4b'));
  model.add(conv(classes, 3, 1, 'conv5'));
  model.add(
    tfl.layers.conv2dTranspose({ filters: classes, kernelSize: 31, strides: 16, padding: 'same', name: 'upsample' }),
  );
  return model;
}
