import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import {
  decodeExample,
  decodeLabExample,
  encodeExample,
  encodeLabExample,
  generatePhantom,
  loadProto,
} from '../../src/data/index.js';
import { EXAMPLE_PROTO_JSON } from '../../src/data/example.js';

describe('tf.train.Example', () => {
  it('round-trips bytes, float and int64 features', () => {
    const bytes = encodeExample({
      name: { kind: 'bytes', value: [new TextEncoder().encode('SC-1/IM-1')] },
      spacing: { kind: 'float', value: [1.25, 0.5] },
      big: { kind: 'int64', value: [256, -3, 2 ** 40] },
    });
    const f = decodeExample(bytes);
    expect(f.name).toEqual({ kind: 'bytes', value: [expect.any(Uint8Array)] });
    expect(new TextDecoder().decode((f.name as { value: Uint8Array[] }).value[0])).toBe('SC-1/IM-1');
    expect(f.spacing).toEqual({ kind: 'float', value: [1.25, 0.5] });
    expect(f.big).toEqual({ kind: 'int64', value: [256, -3, 2 ** 40] });
  });

  it('writes the wire format TensorFlow writes for a one-int64 Example', () => {
    // Example{features{feature{key:"h" value{int64_list{value:7}}}}} as tf.train.Example.SerializeToString()
    const expected = [0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 0x68, 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x07];
    expect(Array.from(encodeExample({ h: { kind: 'int64', value: [7] } }))).toEqual(expected);
  });

  it('declares in code exactly the messages of proto/example.proto and feature.proto it uses', () => {
    const fromFiles = loadProto('example.proto').toJSON() as {
      nested: { tensorflow: { nested: Record<string, unknown> } };
    };
    const inCode = EXAMPLE_PROTO_JSON.nested.tensorflow.nested;
    for (const [name, message] of Object.entries(inCode))
      expect(message, name).toEqual(fromFiles.nested.tensorflow.nested[name]);
    expect(Object.keys(inCode).sort()).toEqual([
      'BytesList',
      'Example',
      'Feature',
      'Features',
      'FloatList',
      'Int64List',
    ]);
  });

  it('turns bytes that are not an Example into a DataError naming the record', () => {
    expect(() => decodeExample(new Uint8Array([0x0a, 0xff, 0xff, 0xff]), 'f.tfrecords record 4')).toThrow(DataError);
    expect(() => decodeExample(new Uint8Array([0x0a, 0xff, 0xff, 0xff]), 'f.tfrecords record 4')).toThrow(
      /^f\.tfrecords record 4: not a valid tf\.train\.Example/,
    );
  });
});

describe("the lab's schema", () => {
  it('round-trips a sample pixel for pixel, with patient and spacing', () => {
    const s = { ...generatePhantom(3, 32), spacing: [1.5, 1.25] as [number, number] };
    const back = decodeLabExample(encodeLabExample(s));
    expect(back.name).toBe(s.name);
    expect(back.patient).toBe(s.patient);
    expect(back.spacing).toEqual([1.5, 1.25]);
    expect(Array.from(back.image)).toEqual(Array.from(s.image));
    expect(Array.from(back.label)).toEqual(Array.from(s.label));
  });

  it('stores negative and large values as int64 and scales on read', () => {
    const image = Float32Array.from([-5, 0, 1024, 70000]);
    const s = { name: 'p/x', patient: 'p', image, label: new Uint8Array(4), height: 2, width: 2 };
    expect(Array.from(decodeLabExample(encodeLabExample(s)).image)).toEqual([-5, 0, 1024, 70000]);
    expect(Array.from(decodeLabExample(encodeLabExample(s), { scale: 1 / 1024 }).image)).toEqual([
      -5 / 1024,
      0,
      1,
      70000 / 1024,
    ]);
  });

  it('takes the patient from the name when the record has none, as in the lab files', () => {
    const bytes = encodeExample({
      height: { kind: 'int64', value: [1] },
      width: { kind: 'int64', value: [1] },
      depth: { kind: 'int64', value: [1] },
      name: { kind: 'bytes', value: [new TextEncoder().encode('SC-HF-I-04/IM-0001-0087')] },
      image_raw: { kind: 'bytes', value: [new Uint8Array(8)] },
      label_raw: { kind: 'bytes', value: [new Uint8Array(1)] },
    });
    expect(decodeLabExample(bytes).patient).toBe('SC-HF-I-04');
  });

  it('names the record whose byte lengths do not match height x width x depth', () => {
    const bytes = encodeExample({
      height: { kind: 'int64', value: [2] },
      width: { kind: 'int64', value: [2] },
      depth: { kind: 'int64', value: [1] },
      name: { kind: 'bytes', value: [new TextEncoder().encode('SC-9/IM-7')] },
      image_raw: { kind: 'bytes', value: [new Uint8Array(24)] },
      label_raw: { kind: 'bytes', value: [new Uint8Array(4)] },
    });
    expect(() => decodeLabExample(bytes, { where: 'v.tfrecords record 2' })).toThrow(
      "v.tfrecords record 2 (name 'SC-9/IM-7'): image_raw has 24 bytes, expected 32 (2x2x1 int64)",
    );
  });

  it('names a missing feature', () => {
    const bytes = encodeExample({ name: { kind: 'bytes', value: [new TextEncoder().encode('n')] } });
    expect(() => decodeLabExample(bytes)).toThrow(/feature 'height' must be one int64/);
  });
});
