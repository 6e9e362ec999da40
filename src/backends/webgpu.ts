/**
 * TensorFlow.js's WebGPU backend in Node, over Dawn (the `webgpu` package, dawn.node). tfjs-backend-webgpu
 * looks for `navigator.gpu` when it is imported, so the GPU is found first and `navigator.gpu` set, then
 * the backend imported. Where no GPU exists, `--backend webgpu` can still run on Mesa's CPU renderer
 * through Dawn's OpenGL backend in compatibility mode (slow; for tests), but `auto` never picks that.
 */
import { tmpdir } from 'node:os';

export const WEBGPU_BACKEND = 'webgpu';

/** What a WebGPU adapter says of itself (GPUAdapterInfo). */
interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface Adapter {
  info?: AdapterInfo;
}
interface Gpu {
  requestAdapter(options?: Record<string, unknown>): Promise<Adapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

export type WebGpuFound = { ok: true; adapter: string; software: boolean } | { ok: false; reason: string };

/** CPU implementations of Vulkan and WebGPU: no faster than the onednn backend, so never `auto`'s pick. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe/i;

function describe(info: AdapterInfo | undefined): string {
  return (
    [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s && s.length > 0).join(' ') ||
    'unnamed adapter'
  );
}

let found: Promise<WebGpuFound> | undefined;

/**
 * Finds a WebGPU adapter once and registers tfjs's webgpu backend over it. A real GPU is taken first; a
 * software one only with `allowSoftware` (an explicit --backend webgpu).
 */
export function registerWebGpuBackend(allowSoftware: boolean): Promise<WebGpuFound> {
  found ??= findAdapter();
  return found.then(async (result) => {
    if (!result.ok) return result;
    if (result.software && !allowSoftware)
      return { ok: false, reason: `the only WebGPU adapter is a CPU renderer (${result.adapter})` };
    await import('@tensorflow/tfjs-backend-webgpu');
    return result;
  });
}

async function findAdapter(): Promise<WebGpuFound> {
  const existing = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
  if (existing) {
    const adapter = await existing.requestAdapter();
    if (adapter) return { ok: true, adapter: describe(adapter.info), software: isSoftware(adapter.info) };
  }
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    return {
      ok: false,
      reason: `the webgpu package (dawn.node) does not load (${String((err as Error).message).split('\n')[0]})`,
    };
  }
  // Mesa's drivers complain on every start without a runtime folder.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter && !isSoftware(adapter.info)) {
    setNavigatorGpu(gpu);
    return { ok: true, adapter: describe(adapter.info), software: false };
  }
  // No GPU: Dawn's OpenGL backend on Mesa's llvmpipe, without a display, offers a compatibility-mode adapter.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gl = dawn.create(['backend=opengl']);
  const compat = await gl.requestAdapter({ featureLevel: 'compatibility' });
  if (!compat)
    return {
      ok: false,
      reason: adapter
        ? `the only WebGPU adapter is a CPU renderer (${describe(adapter.info)})`
        : 'no WebGPU adapter found (no GPU, no Vulkan or OpenGL driver)',
    };
  // tfjs asks for a plain adapter, which the OpenGL backend offers only in compatibility mode.
  setNavigatorGpu({
    ...gl,
    requestAdapter: (options = {}) => gl.requestAdapter({ ...options, featureLevel: 'compatibility' }),
  });
  return { ok: true, adapter: `${describe(compat.info)} (OpenGL, compatibility mode)`, software: true };
}

function isSoftware(info: AdapterInfo | undefined): boolean {
  return Boolean(info?.isFallbackAdapter) || SOFTWARE_ADAPTER.test(describe(info));
}

function setNavigatorGpu(gpu: Gpu): void {
  const navigator = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...navigator, gpu, getPreferredCanvasFormat: () => 'rgba8unorm' },
    configurable: true,
    writable: true,
  });
}
