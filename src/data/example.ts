import protobuf from 'protobufjs';
import { DataError } from '../errors.js';

/** One tf.train.Feature: exactly one of TensorFlow's three list kinds. */
export type FeatureValue =
  | { kind: 'bytes'; value: Uint8Array[] }
  | { kind: 'float'; value: number[] }
  | { kind: 'int64'; value: number[] };

/** A tf.train.Example's features by name. */
export type ExampleFeatures = Record<string, FeatureValue>;

/**
 * tf.train.Example as protobufjs reflection JSON: proto/example.proto and proto/feature.proto (TensorFlow's),
 * the messages an Example uses, written here rather than read from proto/ so the lab page can parse
 * TFRecords without a file system. test/data/example.test.ts checks it against the .proto files.
 */
export const EXAMPLE_PROTO_JSON = {
  nested: {
    tensorflow: {
      nested: {
        Example: { fields: { features: { type: 'Features', id: 1 } } },
        BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
        FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
        Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
        Feature: {
          oneofs: { kind: { oneof: ['bytes_list', 'float_list', 'int64_list'] } },
          fields: {
            bytes_list: { type: 'BytesList', id: 1 },
            float_list: { type: 'FloatList', id: 2 },
            int64_list: { type: 'Int64List', id: 3 },
          },
        },
        Features: { fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } } },
      },
    },
  },
};

let exampleType: protobuf.Type | undefined;
function example(): protobuf.Type {
  exampleType ??= protobuf.Root.fromJSON(EXAMPLE_PROTO_JSON).lookupType('tensorflow.Example');
  return exampleType;
}

interface LongLike {
  toNumber(): number;
}

function toNumber(v: number | LongLike | string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

/** Serializes a tf.train.Example (wire-compatible with TensorFlow's). */
export function encodeExample(features: ExampleFeatures): Uint8Array {
  const feature: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(features)) {
    if (f.kind === 'bytes') feature[name] = { bytes_list: { value: f.value } };
    else if (f.kind === 'float') feature[name] = { float_list: { value: f.value } };
    else {
      for (const v of f.value) {
        if (!Number.isSafeInteger(v)) throw new DataError(`feature '${name}': int64 value ${v} is not a safe integer`);
      }
      feature[name] = { int64_list: { value: f.value } };
    }
  }
  const type = example();
  return type.encode(type.fromObject({ features: { feature } })).finish();
}

/**
 * Parses a serialized tf.train.Example. `where` (e.g. `file.tfrecords record 3`) goes into the
 * error when the bytes are not an Example.
 */
export function decodeExample(bytes: Uint8Array, where = 'record'): ExampleFeatures {
  let msg: { features?: { feature?: Record<string, Record<string, { value?: unknown[] } | undefined>> } };
  try {
    msg = example().decode(bytes) as unknown as typeof msg;
  } catch (err) {
    throw new DataError(`${where}: not a valid tf.train.Example (${(err as Error).message})`, { cause: err });
  }
  const out: ExampleFeatures = {};
  for (const [name, f] of Object.entries(msg.features?.feature ?? {})) {
    if (f.bytes_list) out[name] = { kind: 'bytes', value: (f.bytes_list.value ?? []) as Uint8Array[] };
    else if (f.float_list) out[name] = { kind: 'float', value: (f.float_list.value ?? []) as number[] };
    else if (f.int64_list) {
      out[name] = {
        kind: 'int64',
        value: ((f.int64_list.value ?? []) as (number | LongLike | string)[]).map(toNumber),
      };
    }
    // A feature with no kind set (allowed by the schema) carries no value; it is left out.
  }
  return out;
}
