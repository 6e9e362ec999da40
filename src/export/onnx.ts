/**
 * A TF.js layers model as an ONNX model (opset 13, IR version 8), written with protobufjs from the
 * onnx.proto subset in proto/. The graph is walked from the model's outputs back to its input, one
 * layer at a time, so every network lvseg builds (dense, the FCNs, the U-Nets, JSON specs of the same
 * layers) exports without a per-network path; a layer with no ONNX form is refused by name.
 *
 * Layout: the ONNX model takes and gives what lvseg's own inference does, channels last: input `image`
 * [batch, height, width, 1], output [batch, height, width, classes]. Inside, 4-D values are channels
 * first (NCHW), the layout every ONNX runtime's convolutions expect; the input's transpose is a reshape
 * (one channel) and the output gets one Transpose. Batch is a free dimension (`batch`).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type protobuf from 'protobufjs';
import { loadProto } from '../data/proto.js';
import { ModelSpecError } from '../errors.js';
import { detectOutputKind } from '../models/predict.js';
import { VERSION } from '../version.js';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Written to the model's metadata_props (key → value), e.g. lvseg's preprocessing as JSON. */
  metadata?: Record<string, string>;
  /** The graph's input name (default `image`). */
  inputName?: string;
}

type Shape = (number | null)[];

/** A value of the graph: its ONNX name and its Keras (channels-last) shape; rank-4 values are NCHW in ONNX. */
interface Value {
  name: string;
  shape: Shape;
}

type Attribute =
  | { name: string; type: 'INT'; i: number }
  | { name: string; type: 'INTS'; ints: number[] }
  | { name: string; type: 'FLOAT'; f: number }
  | { name: string; type: 'STRING'; s: Uint8Array };

const int = (name: string, i: number): Attribute => ({ name, type: 'INT', i });
const ints = (name: string, values: number[]): Attribute => ({ name, type: 'INTS', ints: values });
const float = (name: string, f: number): Attribute => ({ name, type: 'FLOAT', f });
const str = (name: string, s: string): Attribute => ({ name, type: 'STRING', s: new TextEncoder().encode(s) });

const FLOAT = 1;
const INT64 = 7;

/** What a TF.js SymbolicTensor and its producing node expose (public fields, typed structurally). */
interface SymbolicLike {
  id: number;
  shape: Shape;
  sourceLayer: tfl.layers.Layer;
  nodeIndex: number;
  tensorIndex: number;
}
interface NodeLike {
  inputTensors: SymbolicLike[];
}

/** The nodes, initializers and names of the graph being written. */
class GraphWriter {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  private readonly used = new Set<string>();

  /** A name not used before in the graph, from `base`. */
  fresh(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  floats(base: string, values: Float32Array, dims: number[]): string {
    const name = this.fresh(base);
    const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: bytes });
    return name;
  }

  int64s(base: string, values: number[]): string {
    const name = this.fresh(base);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], data_type: INT64, raw_data: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds a node and returns its (single) output's name. */
  node(op: string, inputs: string[], base: string, attributes: Attribute[] = [], output?: string): string {
    const out = output ?? this.fresh(base);
    this.nodes.push({
      op_type: op,
      name: this.fresh(`${base}/${op}`),
      input: inputs,
      output: [out],
      attribute: attributes.map((a) => ({ ...a, type: a.type })),
    });
    return out;
  }
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  throw new ModelSpecError(`${what} ${JSON.stringify(v)}: expected a number or a pair`);
}

/**
 * TF's `same` padding of one spatial axis as [before, after] (the odd pixel after, as ONNX's SAME_UPPER),
 * or undefined when the size is not fixed.
 */
function samePads(size: number | null, kernel: number, stride: number, dilation = 1): [number, number] | undefined {
  if (size === null) return undefined;
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Pads (or auto_pad) attributes of a convolution or pooling over a channels-last input `shape`. */
function windowPadding(
  padding: unknown,
  shape: Shape,
  kernel: [number, number],
  strides: [number, number],
  dilation: [number, number],
  layer: string,
): Attribute[] {
  if (padding === 'valid') return [ints('pads', [0, 0, 0, 0])];
  if (padding !== 'same')
    throw new ModelSpecError(
      `layer '${layer}': padding '${String(padding)}' has no ONNX form here; lvseg exports 'same' and 'valid'`,
    );
  const h = samePads(shape[1]!, kernel[0], strides[0], dilation[0]);
  const w = samePads(shape[2]!, kernel[1], strides[1], dilation[1]);
  // SAME_UPPER puts the odd pixel after, as TF's same does; used where the size is only known at run time
  if (!h || !w) return [str('auto_pad', 'SAME_UPPER')];
  return [ints('pads', [h[0], w[0], h[1], w[1]])];
}

/** A channels-last axis of a rank-`rank` Keras value, as the axis of its ONNX form. */
function onnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return a === 0 ? 0 : a === 3 ? 1 : a + 1;
}

/** Float32 values of a layer's weights, by their short name (`kernel`, `bias`, `gamma`, `moving_mean`…). */
function weightsOf(layer: tfl.layers.Layer): Map<string, { values: Float32Array; shape: number[] }> {
  const values = layer.getWeights();
  return new Map(
    layer.weights.map((w, i) => [
      w.originalName.split('/').pop()!,
      { values: values[i]!.dataSync() as Float32Array, shape: values[i]!.shape },
    ]),
  );
}

/**
 * `kernel` of shape [a, b, c, d] reordered to [order…] (indices into [a, b, c, d]): Conv2D's
 * [kh, kw, in, out] becomes ONNX's [out, in, kh, kw] with order [3, 2, 0, 1].
 */
function permute4(
  values: Float32Array,
  shape: number[],
  order: [number, number, number, number],
): { values: Float32Array; shape: number[] } {
  const outShape = order.map((o) => shape[o]!);
  const strides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const out = new Float32Array(values.length);
  const s = order.map((o) => strides[o]!);
  let i = 0;
  for (let a = 0; a < outShape[0]!; a++) {
    for (let b = 0; b < outShape[1]!; b++) {
      for (let c = 0; c < outShape[2]!; c++) {
        const base = a * s[0]! + b * s[1]! + c * s[2]!;
        for (let d = 0; d < outShape[3]!; d++) out[i++] = values[base + d * s[3]!]!;
      }
    }
  }
  return { values: out, shape: outShape };
}

/** The activation `name` applied to `input` (rank `rank`), or `input` itself for linear. */
function activation(g: GraphWriter, input: string, name: unknown, rank: number, base: string): string {
  switch (name ?? 'linear') {
    case 'linear':
      return input;
    case 'relu':
      return g.node('Relu', [input], base);
    case 'sigmoid':
      return g.node('Sigmoid', [input], base);
    case 'tanh':
      return g.node('Tanh', [input], base);
    case 'elu':
      return g.node('Elu', [input], base);
    case 'softplus':
      return g.node('Softplus', [input], base);
    // Keras' softmax is over the last (class) axis: the channel axis of the ONNX form
    case 'softmax':
      return g.node('Softmax', [input], base, [int('axis', onnxAxis(-1, rank))]);
    default:
      throw new ModelSpecError(
        `layer '${base}': activation '${String(name)}' has no ONNX form in lvseg export; use relu, sigmoid, tanh, ` +
          `elu, softplus, softmax or linear`,
      );
  }
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/** Writes one layer applied to `inputs`; returns its output's ONNX name. */
function writeLayer(g: GraphWriter, layer: tfl.layers.Layer, inputs: Value[], outShape: Shape): string {
  const cls = layer.getClassName();
  const config = layer.getConfig() as Record<string, unknown>;
  const name = layer.name;
  const [x] = inputs;
  const rank = outShape.length;
  const need4d = (): void => {
    if (x!.shape.length !== 4)
      throw new ModelSpecError(
        `layer '${name}' (${cls}) on a rank-${x!.shape.length} value: lvseg export takes it on [batch, height, ` +
          `width, channels] only`,
      );
  };
  switch (cls) {
    case 'Conv2D':
    case 'Conv2DTranspose': {
      need4d();
      if (config.dataFormat === 'channels_first')
        throw new ModelSpecError(
          `layer '${name}': channels_first convolutions are not exported; lvseg builds channels_last`,
        );
      const kernelSize = pair(config.kernelSize, `layer '${name}' kernelSize`);
      const strides = pair(config.strides ?? 1, `layer '${name}' strides`);
      const dilation = pair(config.dilationRate ?? 1, `layer '${name}' dilationRate`);
      const weights = weightsOf(layer);
      const kernel = weights.get('kernel')!;
      // Conv2D [kh, kw, in, out] → [out, in, kh, kw]; Conv2DTranspose [kh, kw, out, in] → [in, out, kh, kw]
      const w = permute4(kernel.values, kernel.shape, [3, 2, 0, 1]);
      const inputsOfNode = [x!.name, g.floats(`${name}/kernel`, w.values, w.shape)];
      const bias = weights.get('bias');
      if (bias) inputsOfNode.push(g.floats(`${name}/bias`, bias.values, bias.shape));
      const common = [ints('kernel_shape', kernelSize), ints('strides', strides), ints('dilations', dilation)];
      let y: string;
      if (cls === 'Conv2D') {
        y = g.node('Conv', inputsOfNode, name, [
          ...common,
          ...windowPadding(config.padding, x!.shape, kernelSize, strides, dilation, name),
        ]);
      } else {
        if (dilation[0] !== 1 || dilation[1] !== 1)
          throw new ModelSpecError(`layer '${name}': a dilated Conv2DTranspose is not exported`);
        // TF's transposed convolution crops what its forward convolution would pad: k − s in all, the odd pixel
        // after; where k < s the missing rows come after (output_padding).
        const pads: number[] = [0, 0, 0, 0];
        const outputPadding = [0, 0];
        for (const axis of [0, 1]) {
          const k = kernelSize[axis]!,
            s = strides[axis]!;
          if (config.padding === 'same') {
            const total = k - s;
            if (total >= 0) {
              pads[axis] = Math.floor(total / 2);
              pads[axis + 2] = total - Math.floor(total / 2);
            } else {
              outputPadding[axis] = -total;
            }
          } else if (config.padding !== 'valid') {
            throw new ModelSpecError(
              `layer '${name}': padding '${String(config.padding)}' has no ONNX form here; lvseg exports 'same' and ` +
                `'valid'`,
            );
          } else if (k < s) {
            outputPadding[axis] = s - k;
          }
        }
        y = g.node('ConvTranspose', inputsOfNode, name, [
          ...common,
          ints('pads', pads),
          ints('output_padding', outputPadding),
        ]);
      }
      return activation(g, y, config.activation, 4, name);
    }
    case 'Dense': {
      if (x!.shape.length !== 2)
        throw new ModelSpecError(
          `layer '${name}' (Dense) on a rank-${x!.shape.length} value: lvseg export takes Dense after Flatten only`,
        );
      const weights = weightsOf(layer);
      const kernel = weights.get('kernel')!;
      const bias = weights.get('bias');
      const ins = [x!.name, g.floats(`${name}/kernel`, kernel.values, kernel.shape)];
      if (bias) ins.push(g.floats(`${name}/bias`, bias.values, bias.shape));
      return activation(g, g.node('Gemm', ins, name), config.activation, 2, name);
    }
    case 'Flatten': {
      // Keras flattens channels last: back to NHWC first so the element order is the same
      const source =
        x!.shape.length === 4 ? g.node('Transpose', [x!.name], name, [ints('perm', NCHW_TO_NHWC)]) : x!.name;
      return g.node('Flatten', [source], name, [int('axis', 1)]);
    }
    case 'Reshape': {
      const target = (config.targetShape as number[]).map((d) => (d === null ? -1 : d));
      const source =
        x!.shape.length === 4 ? g.node('Transpose', [x!.name], name, [ints('perm', NCHW_TO_NHWC)]) : x!.name;
      // 0 keeps the batch dimension as it is
      const y = g.node('Reshape', [source, g.int64s(`${name}/shape`, [0, ...target])], name);
      return rank === 4 ? g.node('Transpose', [y], name, [ints('perm', NHWC_TO_NCHW)]) : y;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      need4d();
      const pool = pair(config.poolSize, `layer '${name}' poolSize`);
      const strides = pair(config.strides ?? config.poolSize, `layer '${name}' strides`);
      const attributes = [
        ints('kernel_shape', pool),
        ints('strides', strides),
        ...windowPadding(config.padding, x!.shape, pool, strides, [1, 1], name),
      ];
      // TF's average over a same-padded window counts the real pixels only
      if (cls === 'AveragePooling2D') attributes.push(int('count_include_pad', 0));
      return g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x!.name], name, attributes);
    }
    case 'BatchNormalization': {
      const axis = config.axis as number | number[];
      const a = Array.isArray(axis) ? axis[0]! : axis;
      if (a !== -1 && a !== x!.shape.length - 1)
        throw new ModelSpecError(
          `layer '${name}': batch norm over axis ${JSON.stringify(axis)} is not exported; lvseg normalises the ` +
            `channel (last) axis`,
        );
      const weights = weightsOf(layer);
      const mean = weights.get('moving_mean')!;
      const channels = mean.values.length;
      const gamma = weights.get('gamma')?.values ?? new Float32Array(channels).fill(1);
      const beta = weights.get('beta')?.values ?? new Float32Array(channels);
      return g.node(
        'BatchNormalization',
        [
          x!.name,
          g.floats(`${name}/gamma`, gamma, [channels]),
          g.floats(`${name}/beta`, beta, [channels]),
          g.floats(`${name}/moving_mean`, mean.values, [channels]),
          g.floats(`${name}/moving_variance`, weights.get('moving_variance')!.values, [channels]),
        ],
        name,
        [float('epsilon', Number(config.epsilon ?? 1e-3))],
      );
    }
    case 'Activation':
      return activation(g, x!.name, config.activation, rank, name);
    case 'ReLU':
      if (config.maxValue !== null && config.maxValue !== undefined) {
        throw new ModelSpecError(`layer '${name}': ReLU with max_value is not exported; use a plain relu`);
      }
      return g.node('Relu', [x!.name], name);
    case 'Softmax': {
      const axis = config.axis as number | number[];
      const a = Array.isArray(axis) ? axis[0]! : axis;
      return g.node('Softmax', [x!.name], name, [int('axis', onnxAxis(a ?? -1, rank))]);
    }
    case 'Concatenate':
      return g.node(
        'Concat',
        inputs.map((v) => v.name),
        name,
        [int('axis', onnxAxis(Number(config.axis ?? -1), rank))],
      );
    case 'Add':
      return g.node(
        'Sum',
        inputs.map((v) => v.name),
        name,
      );
    case 'Average':
      return g.node(
        'Mean',
        inputs.map((v) => v.name),
        name,
      );
    case 'Maximum':
      return g.node(
        'Max',
        inputs.map((v) => v.name),
        name,
      );
    case 'Multiply':
      return inputs.slice(1).reduce((acc, v) => g.node('Mul', [acc, v.name], name), inputs[0]!.name);
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
      return x!.name; // identity at inference
    case 'UpSampling2D': {
      need4d();
      const size = pair(config.size ?? 2, `layer '${name}' size`);
      const bilinear = config.interpolation === 'bilinear';
      // TF.js resizes with align_corners and half_pixel_centers off: the asymmetric mapping
      const attributes = [
        str('mode', bilinear ? 'linear' : 'nearest'),
        str('coordinate_transformation_mode', 'asymmetric'),
      ];
      if (!bilinear) attributes.push(str('nearest_mode', 'floor'));
      return g.node(
        'Resize',
        [x!.name, '', g.floats(`${name}/scales`, new Float32Array([1, 1, size[0], size[1]]), [4])],
        name,
        attributes,
      );
    }
    case 'Cropping2D': {
      need4d();
      const [[top, bottom], [left, right]] = config.cropping as [[number, number], [number, number]];
      const [, h, w] = x!.shape;
      if (h === null || w === null)
        throw new ModelSpecError(`layer '${name}': Cropping2D needs a fixed input size to export`);
      return g.node(
        'Slice',
        [
          x!.name,
          g.int64s(`${name}/starts`, [top, left]),
          g.int64s(`${name}/ends`, [h! - bottom, w! - right]),
          g.int64s(`${name}/axes`, [2, 3]),
        ],
        name,
      );
    }
    case 'ZeroPadding2D': {
      need4d();
      const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]];
      return g.node('Pad', [x!.name, g.int64s(`${name}/pads`, [0, 0, top, left, 0, 0, bottom, right])], name);
    }
    default:
      throw new ModelSpecError(
        `layer '${name}' (${cls}) has no ONNX form in lvseg export; it exports Conv2D, Conv2DTranspose, Dense, ` +
          `Flatten, Reshape, ` +
          'MaxPooling2D, AveragePooling2D, BatchNormalization, Activation, ReLU, Softmax, Concatenate, Add, Average, ' +
          'Maximum, ' +
          'Multiply, Dropout, UpSampling2D, Cropping2D and ZeroPadding2D (an ensemble: export each member)',
      );
  }
}

function tensorType(shape: Shape): Record<string, unknown> {
  return {
    tensor_type: {
      elem_type: FLOAT,
      shape: {
        dim: shape.map((d, i) =>
          i === 0 || d === null ? { dim_param: i === 0 ? 'batch' : `dim${i}` } : { dim_value: d },
        ),
      },
    },
  };
}

/**
 * The model's ONNX graph and metadata, serialized (an `.onnx` file's bytes). Pass the inference form
 * (models/fold.ts) to get batch norms folded into the convolutions. Input `image` and the output
 * (`logits` or `probabilities`, as detectOutputKind says) are channels last, as in lvseg.
 */
export function exportOnnx(model: tfl.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  if (model.inputs.length !== 1)
    throw new ModelSpecError(
      `model '${model.name}' has ${model.inputs.length} inputs; lvseg export takes one image input`,
    );
  const g = new GraphWriter();
  const input = model.inputs[0] as unknown as SymbolicLike;
  // the graph's own names first, so no layer's name (the U-Net's last conv is `logits`) takes them
  const inputName = g.fresh(options.inputName ?? 'image');
  const kind = detectOutputKind(model);
  const outputNames = model.outputs.map((_, i) => g.fresh(i === 0 ? kind : `output_${i}`));
  const values = new Map<number, Value>();
  // the graph's NCHW form of the image: one channel is a reshape (free), more a transpose
  if (input.shape.length !== 4)
    throw new ModelSpecError(
      `model input has shape [${input.shape.join(', ')}]; lvseg export takes [batch, height, width, channels]`,
    );
  const [, h, w, c] = input.shape;
  values.set(input.id, {
    name:
      c === 1 && h !== null && w !== null
        ? g.node('Reshape', [inputName, g.int64s('image/nchw_shape', [0, 1, h!, w!])], 'image_nchw')
        : g.node('Transpose', [inputName], 'image_nchw', [ints('perm', NHWC_TO_NCHW)]),
    shape: input.shape,
  });

  // Depth-first from each output back to the input: every layer node is written once, after its inputs.
  const valueFor = (t: SymbolicLike): Value => {
    const known = values.get(t.id);
    if (known) return known;
    const stack: SymbolicLike[] = [t];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (values.has(top.id)) {
        stack.pop();
        continue;
      }
      const node = (top.sourceLayer as unknown as { inboundNodes: NodeLike[] }).inboundNodes[top.nodeIndex];
      if (!node || node.inputTensors.length === 0)
        throw new ModelSpecError(
          `model '${model.name}': value from layer '${top.sourceLayer.name}' does not come from the model's input`,
        );
      const pending = node.inputTensors.filter((i) => !values.has(i.id));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      if (top.tensorIndex !== 0)
        throw new ModelSpecError(
          `layer '${top.sourceLayer.name}' has several outputs; lvseg export takes single-output layers`,
        );
      const name = writeLayer(
        g,
        top.sourceLayer,
        node.inputTensors.map((i) => values.get(i.id)!),
        top.shape,
      );
      values.set(top.id, { name, shape: top.shape });
    }
    return values.get(t.id)!;
  };

  const outputs = model.outputs.map((o, i) => {
    const v = valueFor(o as unknown as SymbolicLike);
    const outName = outputNames[i]!;
    if (v.shape.length === 4) g.node('Transpose', [v.name], outName, [ints('perm', NCHW_TO_NHWC)], outName);
    else g.node('Identity', [v.name], outName, [], outName);
    return { name: outName, type: tensorType(v.shape) };
  });

  const root = loadProto('onnx.proto');
  const Model = root.lookupType('onnx.ModelProto') as protobuf.Type;
  const message = Model.fromObject({
    ir_version: ONNX_IR_VERSION,
    producer_name: 'lvseg',
    producer_version: VERSION,
    model_version: 1,
    doc_string:
      `lvseg ${model.name}: input ${inputName} [batch, height, width, 1] float32, channels last; output ` +
      `${outputs[0]!.name} [batch, height, width, classes]`,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: inputName, type: tensorType(input.shape) }],
      output: outputs,
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return Model.encode(message).finish();
}

/** Reads an .onnx file's metadata_props (key → value): what a user's runtime sees. */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const Model = loadProto('onnx.proto').lookupType('onnx.ModelProto');
  const decoded = Model.toObject(Model.decode(bytes)) as { metadata_props?: { key: string; value: string }[] };
  return Object.fromEntries((decoded.metadata_props ?? []).map((p) => [p.key, p.value]));
}
