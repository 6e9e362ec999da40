import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../paths.js';

/** The folder holding the project's .proto files (shipped with the package). */
export const PROTO_DIR = join(PACKAGE_ROOT, 'proto');

const roots = new Map<string, protobuf.Root>();

/**
 * Loads `PROTO_DIR/<file>` with protobufjs, once per process. Imports resolve inside PROTO_DIR,
 * by their path or, for TensorFlow-style paths like `tensorflow/core/example/feature.proto`, by
 * their base name, so the .proto files can keep TensorFlow's import lines.
 * Use: `(await loadProto('example.proto')).lookupType('tensorflow.Example')`.
 */
export function loadProto(file: string): protobuf.Root {
  const cached = roots.get(file);
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (existsSync(target)) return target;
    const direct = join(PROTO_DIR, target);
    return existsSync(direct) ? direct : join(PROTO_DIR, basename(target));
  };
  root.loadSync(file, { keepCase: true });
  root.resolveAll();
  roots.set(file, root);
  return root;
}
