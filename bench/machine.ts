/**
 * What a benchmark line ran on: the CPU, the instruction set each side dispatched to, the threads, and
 * the resident memory of a step. Any ISA level can be studied on one machine by capping oneDNN with
 * ONEDNN_MAX_CPU_ISA (lvseg's addon and PyTorch link the same libdnnl) and PyTorch's own kernels with
 * ATEN_CPU_CAPABILITY; `probeDispatch` runs a step under ONEDNN_VERBOSE to check what really ran.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { promisify } from 'node:util';

/** oneDNN's ISA names (ONEDNN_MAX_CPU_ISA values, lower case) from lowest to highest. */
const ISA_ORDER = [
  'sse41',
  'avx',
  'avx2',
  'avx2_vnni',
  'avx512_core',
  'avx512_core_vnni',
  'avx512_core_bf16',
  'avx512_core_amx',
];

/**
 * The ISA level of a oneDNN implementation name (`jit:avx2`, `brgconv:avx512_core`, `jit_1x1:avx512_core`),
 * or undefined for names that carry none (`gemm:jit`, `jit:uni`, `simple:any`).
 */
export function implIsa(impl: string): string | undefined {
  const m = new RegExp(
    String.raw`(avx512_core_amx|avx512_core_bf16|avx512_core_vnni|avx512_core|avx512_common|avx512_mic\w*|` +
      String.raw`avx2_vnni|avx2|avx|sse41)\b`,
  ).exec(impl);
  if (!m) return undefined;
  return m[1] === 'avx512_common' || m[1].startsWith('avx512_mic') ? 'avx512_core' : m[1];
}

/** Whether ISA a is above b in oneDNN's order (unknown names compare as equal). */
export function isaAbove(a: string, b: string): boolean {
  const i = ISA_ORDER.indexOf(a.toLowerCase()),
    j = ISA_ORDER.indexOf(b.toLowerCase());
  return i >= 0 && j >= 0 && i > j;
}

/** The cap asked for with ONEDNN_MAX_CPU_ISA (lower case; 'all' and unset mean none). */
export function requestedIsa(): string | undefined {
  const v = process.env.ONEDNN_MAX_CPU_ISA ?? process.env.DNNL_MAX_CPU_ISA;
  return v && v.toLowerCase() !== 'all' ? v.toLowerCase() : undefined;
}

/**
 * ATEN_CPU_CAPABILITY for the PyTorch peer under a oneDNN cap, so that its own kernels (pooling,
 * elementwise, Adam) are held to the same level: avx2 for AVX2, default below it; undefined above it, or
 * when the caller set ATEN_CPU_CAPABILITY.
 */
export function atenCapabilityFor(isa: string | undefined): string | undefined {
  if (process.env.ATEN_CPU_CAPABILITY) return process.env.ATEN_CPU_CAPABILITY;
  if (!isa) return undefined;
  if (isa.startsWith('avx2')) return 'avx2';
  return isaAbove(isa, 'avx2') ? undefined : 'default';
}

export interface CpuRecord {
  model: string;
  cores: number;
  threads: number;
  /** The ISA oneDNN dispatches to (its own report), after any cap. */
  onednn_isa: string;
  [key: string]: unknown;
}

export function cpuModel(): string {
  return cpus()[0]?.model.trim() ?? 'unknown';
}

export function coreCount(): number {
  return availableParallelism();
}

/** What a ONEDNN_VERBOSE run reports: the ISA line and the implementations of the compute primitives. */
export interface Dispatch {
  /** oneDNN's `cpu,isa:` info line, e.g. "Intel AVX2". */
  isa?: string;
  /** Distinct implementations of convolutions, pooling, matmul and inner products, e.g. "jit:avx2". */
  impls: string[];
  /** The highest ISA among impls. */
  highest?: string;
}

/** Parses oneDNN's verbose lines out of a process's stdout. */
export function parseDispatch(stdout: string): Dispatch {
  let isa: string | undefined;
  const impls = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (line.startsWith('onednn_verbose,info,cpu,isa:')) isa = line.slice('onednn_verbose,info,cpu,isa:'.length).trim();
    const f = line.split(',');
    if (
      f[0] === 'onednn_verbose' &&
      f[1] === 'exec' &&
      /^(convolution|deconvolution|pooling|pooling_v2|matmul|inner_product)$/.test(f[3])
    )
      impls.add(f[4]);
  }
  let highest: string | undefined;
  for (const impl of impls) {
    const level = implIsa(impl);
    if (level && (!highest || isaAbove(level, highest))) highest = level;
  }
  return { isa, impls: [...impls].sort(), highest };
}

/** Runs a command with ONEDNN_VERBOSE=1 and reports what oneDNN dispatched to; undefined if it fails. */
export async function probeDispatch(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Dispatch | undefined> {
  try {
    const { stdout } = await promisify(execFile)(file, args, {
      env: { ...env, ONEDNN_VERBOSE: '1' },
      timeout: 600_000,
      maxBuffer: 256 << 20,
    });
    return parseDispatch(stdout);
  } catch {
    return undefined;
  }
}

/**
 * Peak resident memory of one step: the kernel's high-water mark (VmHWM) is reset before the step
 * (writing 5 to /proc/self/clear_refs) and read after it. Where the reset is not allowed, the process's
 * peak so far.
 */
export function peakRssMeter(): { start(): void; peakMb(): number } {
  let resets = true;
  return {
    start() {
      if (!resets) return;
      try {
        writeFileSync('/proc/self/clear_refs', '5');
      } catch {
        resets = false;
      }
    },
    peakMb() {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
        if (m) return Number(m[1]) / 1024;
      } catch {
        // not Linux: fall through
      }
      return process.resourceUsage().maxRSS / 1024;
    },
  };
}
