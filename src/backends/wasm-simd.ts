/**
 * lvseg's own wasm SIMD kernels (native/wasm/kernels.c, built by scripts/build-wasm.mjs into
 * wasm-simd-module.ts), instantiated over tfjs-backend-wasm's own memory: they read their inputs and
 * write their outputs where tfjs keeps its tensors, no copies. Used by wasm-winograd.ts and wasm-concat.ts.
 * None where the module cannot run: a threaded backend (its memory is shared; the module imports an
 * unshared one), a browser without wasm SIMD, or a browser main thread that compiles only small modules
 * synchronously; the kernels then hand their work to tfjs's own.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { WASM_SIMD_BASE64 } from './wasm-simd-module.js';

/** The module's exports; every pointer is a byte offset in the backend's heap. */
export interface WasmSimdKernels {
  wino_filter(w: number, u: number, inChannels: number, outChannels: number): void;
  wino_conv(
    x: number,
    u: number,
    bias: number,
    y: number,
    batch: number,
    height: number,
    width: number,
    inChannels: number,
    outChannels: number,
    padTop: number,
    padLeft: number,
    outHeight: number,
    outWidth: number,
    relu: number,
    v: number,
    m: number,
    tilesPerBlock: number,
  ): void;
  copy_rows(dst: number, src: number, rows: number, width: number, dstStride: number): void;
}

/** The backend's emscripten module: its memory, and the allocator scratch comes from. */
export interface WasmHeap {
  asm?: { memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/** The module instantiated over each backend memory (null: it cannot be). */
const instances = new WeakMap<WebAssembly.Memory, WasmSimdKernels | null>();
let compiled: WebAssembly.Module | null | undefined;

/** lvseg's kernels over `backend`'s heap, or null where they cannot run (see above). */
export function wasmSimdKernels(backend: BackendWasm): WasmSimdKernels | null {
  const memory = unsharedHeap(backend);
  if (!memory || compiled === null) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  let instance: WebAssembly.Instance | null = null;
  try {
    compiled ??= new WebAssembly.Module(decodeBase64(WASM_SIMD_BASE64));
    instance = new WebAssembly.Instance(compiled, { env: { memory } });
  } catch {
    compiled = null;
  }
  return remember(memory, instance);
}

/**
 * Instantiates the kernels over `backend`'s heap asynchronously, which a browser's main thread needs for a
 * module of this size (its synchronous compile stops at 4 KB); elsewhere wasmSimdKernels does it on first
 * use. Whether the kernels run there.
 */
export async function prepareWasmSimdKernels(backend: BackendWasm): Promise<boolean> {
  const memory = unsharedHeap(backend);
  if (!memory || compiled === null) return false;
  const known = instances.get(memory);
  if (known !== undefined) return known !== null;
  let instance: WebAssembly.Instance | null = null;
  try {
    compiled ??= await WebAssembly.compile(decodeBase64(WASM_SIMD_BASE64));
    instance = await WebAssembly.instantiate(compiled, { env: { memory } });
  } catch {
    compiled = null;
  }
  return remember(memory, instance) !== null;
}

/** The backend's heap, where the module can import it: not tfjs's threaded build, whose memory is shared. */
function unsharedHeap(backend: BackendWasm): WebAssembly.Memory | undefined {
  const memory = (backend.wasm as unknown as WasmHeap).asm?.memory;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory?.buffer instanceof SharedArrayBuffer;
  return shared ? undefined : memory;
}

/** The kernels of an instance over `memory` (null: it could not be made), kept for the next call. */
function remember(memory: WebAssembly.Memory, instance: WebAssembly.Instance | null): WasmSimdKernels | null {
  const kernels = instance ? (instance.exports as unknown as WasmSimdKernels) : null;
  instances.set(memory, kernels);
  return kernels;
}

/** The byte offset of a tensor's data in the backend's heap. */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
