/**
 * The JavaScript side of the contract with the C++ addon: op codes and the position of each value in
 * the dims arrays, the same names and numbers as native/contract.h (test/backends/native-contract.test.ts
 * parses the header and checks that they agree). `Count` is one past the last op or position.
 */

/** addon.binary's op: out[i] = a[i] op b[j] (ReluGrad: dy where x > 0, else 0). */
export const BinaryOp = { Add: 0, Sub: 1, Mul: 2, Div: 3, ReluGrad: 4, Count: 5 } as const;

/** addon.unary's op; Step takes its alpha (the value for x <= 0) as the last argument. */
export const UnaryOp = { Relu: 0, Step: 1, Exp: 2, Log: 3, Neg: 4, Square: 5, Sqrt: 6, Sigmoid: 7, Count: 8 } as const;

/** addon.reduceInner's op: the reduction over the innermost axis. */
export const ReduceOp = { Sum: 0, Max: 1, Count: 2 } as const;

/**
 * addon.setConvPrecision's argument and result: what the oneDNN convolutions read their inputs in (they
 * accumulate and write float32 either way); Bf16 needs AVX512_BF16 or AMX.
 */
export const ConvPrecision = { F32: 0, Bf16: 1, Count: 2 } as const;

/** Convolution dims: NHWC input, HWIO filter, NHWC output; strides and dilations (1 = none) positive. */
export const ConvDim = {
  Batch: 0,
  InHeight: 1,
  InWidth: 2,
  InChannels: 3,
  OutHeight: 4,
  OutWidth: 5,
  OutChannels: 6,
  FilterHeight: 7,
  FilterWidth: 8,
  StrideHeight: 9,
  StrideWidth: 10,
  PadTop: 11,
  PadLeft: 12,
  PadBottom: 13,
  PadRight: 14,
  DilationHeight: 15,
  DilationWidth: 16,
  Count: 17,
} as const;

/** Max pooling dims, NHWC. */
export const PoolDim = {
  Batch: 0,
  InHeight: 1,
  InWidth: 2,
  Channels: 3,
  OutHeight: 4,
  OutWidth: 5,
  FilterHeight: 6,
  FilterWidth: 7,
  StrideHeight: 8,
  StrideWidth: 9,
  PadTop: 10,
  PadLeft: 11,
  PadBottom: 12,
  PadRight: 13,
  Count: 14,
} as const;

/** Matrix multiplication dims: a [Batch, M, K], b [BatchB, K, N] (BatchB: Batch, or 1 for one shared b); transposes 0
 * or 1. */
export const MatMulDim = { Batch: 0, M: 1, K: 2, N: 3, TransposeA: 4, TransposeB: 5, BatchB: 6, Count: 7 } as const;

/** Strided row copies: Rows runs of Run floats, row r from src + r * SrcStride to dst + r * DstStride. */
export const CopyDim = { Rows: 0, Run: 1, SrcStride: 2, DstStride: 3, Count: 4 } as const;

/** Every table above by its name in native/contract.h. */
export const CONTRACT = { BinaryOp, UnaryOp, ReduceOp, ConvPrecision, ConvDim, PoolDim, MatMulDim, CopyDim } as const;

type Layout = Readonly<Record<string, number>> & { readonly Count: number };

/** The code of one op of a table (its `Count` excluded). */
export type OpCode<T extends Layout> = T[Exclude<keyof T, 'Count'>];

/** The dims array for `layout` with every named position set. */
export function packDims<T extends Layout>(layout: T, values: Record<Exclude<keyof T, 'Count'>, number>): Int32Array {
  const dims = new Int32Array(layout.Count);
  for (const key of Object.keys(values) as Exclude<keyof T, 'Count'>[]) dims[layout[key]] = values[key];
  return dims;
}
