/**
 * The page kit: what the segmentation page, its worker and the lab page share. `$`, `download`, and the
 * backend choice: a GPU backend only when the browser's adapter is real hardware (a software adapter such
 * as SwiftShader or llvmpipe runs lvseg's U-Net 30-100× slower than wasm on the CPU), the user's menu
 * choice remembered in localStorage, `?backend=NAME` forcing one. Works in a window and in a worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { prepareWasmSimdKernels } from '../browser.js';

export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Saves `blob` as `name` through a temporary link. */
export function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Where the user's menu choice is kept, one key for both pages. */
export const BACKEND_STORAGE_KEY = 'lvseg.backend';
/** The menu's choices; 'auto' is the measured choice. */
export const BACKEND_CHOICES = ['auto', 'webgpu', 'webgl', 'wasm'] as const;

/** Renderer and adapter names of software rasterisers: a GPU backend on one is far slower than wasm. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|microsoft basic/i;

/** One candidate backend as the choice saw it. */
export interface BackendCandidate {
  name: string;
  /** The adapter or renderer the browser named, when it named one. */
  device?: string;
  /** Why it was passed over; absent for the chosen one. */
  skipped?: string;
}

export interface BackendChoice {
  /** The tfjs backend now active. */
  name: string;
  /** One line for the page: what was chosen and why. */
  why: string;
  candidates: BackendCandidate[];
  /** The threads wasm runs on (more than one only where the page is cross-origin isolated); null when wasm is not the
   * backend. */
  wasmThreads: number | null;
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

/** What WebGPU offers here: the adapter's name, and whether it is a software (fallback) adapter. */
export async function probeWebGpu(): Promise<BackendCandidate> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return { name: 'webgpu', skipped: 'this browser has no WebGPU' };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { name: 'webgpu', skipped: 'no WebGPU adapter' };
  const info = adapter.info ?? {};
  const device = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => s)
    .join(' ')
    .trim();
  if (adapter.isFallbackAdapter)
    return { name: 'webgpu', device, skipped: `a software (fallback) adapter${device ? `: ${device}` : ''}` };
  if (SOFTWARE_RENDERER.test(device)) return { name: 'webgpu', device, skipped: `a software adapter: ${device}` };
  return { name: 'webgpu', ...(device ? { device } : {}) };
}

/** What WebGL offers here: its unmasked renderer string, and whether that is a software rasteriser. */
export function probeWebGl(): BackendCandidate {
  let gl: WebGL2RenderingContext | null = null;
  try {
    const canvas =
      typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
    gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
  } catch {
    gl = null;
  }
  if (!gl) return { name: 'webgl', skipped: 'no WebGL 2 context' };
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const device = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  if (SOFTWARE_RENDERER.test(device)) return { name: 'webgl', device, skipped: `a software renderer: ${device}` };
  return { name: 'webgl', device };
}

async function start(name: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return true;
  } catch {
    return false;
  }
}

export interface ChooseOptions {
  /** Folder of the tfjs wasm binaries (the page's own folder). */
  wasmBase: string;
  /** `?backend=NAME`: this one or an error. */
  forced?: string | null;
  /** The user's menu choice; 'auto' or absent measures. */
  preferred?: string | null;
  /** Called before a backend starts (the lab registers its wasm training kernels). */
  beforeStart?: (name: string) => void;
  /** The last resort after wasm (the lab trains on cpu where wasm fails). */
  fallback?: string[];
  /**
   * False: wasm single-threaded whatever the cores and isolation. lvseg's wasm SIMD kernels (Winograd,
   * ~3x XNNPACK's convolutions) run only on the single-threaded build, so the segmentation page starts a
   * worker per core instead of threads.
   */
  wasmThreads?: boolean;
}

/**
 * Starts the backend this browser runs fastest: a forced or preferred one when it starts, else webgpu or
 * webgl on a hardware adapter, else wasm (SIMD, and threads when cross-origin isolated).
 */
export async function chooseBackend(options: ChooseOptions): Promise<BackendChoice> {
  setWasmPaths(options.wasmBase);
  // tfjs caps XNNPACK at half the logical cores (tfjs-backend-wasm's backend.cc): below 4 cores that is one
  // thread, and the threaded binary would only start 8 idle pthread workers; the page runs more workers instead.
  const cores = (globalThis.navigator as { hardwareConcurrency?: number }).hardwareConcurrency ?? 1;
  if (cores < 4 || options.wasmThreads === false) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(cores);
  const threads = (): number | null => (tf.getBackend() === 'wasm' ? getThreadsCount() : null);
  const begin = async (name: string): Promise<boolean> => {
    options.beforeStart?.(name);
    if (!(await start(name))) return false;
    // lvseg's Winograd and Concat kernels (a main thread can only instantiate them asynchronously)
    if (name === 'wasm') await prepareWasmSimdKernels(tf.backend() as BackendWasm);
    return true;
  };
  if (options.forced) {
    if (!(await begin(options.forced)))
      throw new Error(
        `the backend '${options.forced}' of the URL's ?backend= does not start in this browser; use one of webgpu, ` +
          `webgl, wasm`,
      );
    return {
      name: options.forced,
      why: 'forced by ?backend=',
      candidates: [{ name: options.forced }],
      wasmThreads: threads(),
    };
  }
  const preferred = options.preferred && options.preferred !== 'auto' ? options.preferred : undefined;
  if (preferred && (await begin(preferred)))
    return { name: preferred, why: 'your choice', candidates: [{ name: preferred }], wasmThreads: threads() };
  const candidates = [await probeWebGpu(), probeWebGl()];
  for (const c of candidates) {
    if (c.skipped) continue;
    if (await begin(c.name))
      return {
        name: c.name,
        why: `a hardware adapter${c.device ? `: ${c.device}` : ''}`,
        candidates,
        wasmThreads: null,
      };
    c.skipped = 'did not start';
  }
  for (const name of ['wasm', ...(options.fallback ?? [])]) {
    const why = candidates.map((c) => `${c.name}: ${c.skipped}`).join('; ');
    if (await begin(name))
      return { name, why: `no hardware GPU (${why})`, candidates: [...candidates, { name }], wasmThreads: threads() };
  }
  throw new Error(
    `none of the tfjs backends starts in this browser ` +
      `(${candidates.map((c) => `${c.name}: ${c.skipped}`).join('; ')}, wasm did not start)`,
  );
}

/** What the page shows of a choice, e.g. "wasm (SIMD + 2 threads) · no hardware GPU (…)". */
export function describeBackend(choice: BackendChoice): string {
  const isolated = Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated);
  const n = choice.wasmThreads;
  const detail =
    n === null
      ? ''
      : n > 1
        ? ` (SIMD + ${n} threads)`
        : isolated
          ? ' (SIMD, 1 thread)'
          : ' (SIMD, 1 thread: not cross-origin isolated)';
  return `${choice.name}${detail} · ${choice.why}`;
}

/** The user's remembered choice, or null. */
export function rememberedBackend(): string | null {
  try {
    return localStorage.getItem(BACKEND_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Fills a backend menu, shows `active`, and remembers what the user picks, then calls `changed`. */
export function wireBackendMenu(select: HTMLSelectElement, active: string, changed: (name: string) => void): void {
  if (select.options.length === 0)
    for (const name of BACKEND_CHOICES) select.add(new Option(name === 'auto' ? 'auto (fastest found)' : name, name));
  select.value = rememberedBackend() ?? 'auto';
  select.title = `running on ${active}`;
  select.onchange = () => {
    try {
      localStorage.setItem(BACKEND_STORAGE_KEY, select.value);
    } catch {
      // storage refused (private mode): the choice holds for this visit only
    }
    changed(select.value);
  };
}
