// The JavaScript <-> C++ contract: the op codes and the positions in each dims array that TypeScript
// passes to the addon. src/backends/onednn/contract.ts declares the same names and numbers, and
// test/backends/native-contract.test.ts parses this file and checks that the two agree, so change both
// together. Keep the syntax below (one `enum class NAME : int32_t { ... };` or `struct NAME { enum : int { ... }; };`
// per entry, members `Name` or `Name = value`, the last one `Count`): the test reads it.
#pragma once
#include <cstdint>

namespace lvseg {

// addon.binary(op, ...): out[i] = a[i] op b[j] (ReluGrad: dy where x > 0, else 0).
enum class BinaryOp : int32_t { Add = 0, Sub = 1, Mul = 2, Div = 3, ReluGrad = 4, Count = 5 };

// addon.unary(op, ...): Step takes its alpha (the value for x <= 0) as the last argument.
enum class UnaryOp : int32_t { Relu = 0, Step = 1, Exp = 2, Log = 3, Neg = 4, Square = 5, Sqrt = 6, Sigmoid = 7, Count = 8 };

// addon.reduceInner(op, ...): the reduction over the innermost axis.
enum class ReduceOp : int32_t { Sum = 0, Max = 1, Count = 2 };

// addon.setConvPrecision(p): what the oneDNN convolutions read their inputs in (they accumulate and write
// float32 either way); Bf16 needs AVX512_BF16 or AMX, and the call returns the precision now in effect.
enum class ConvPrecision : int32_t { F32 = 0, Bf16 = 1, Count = 2 };

// Convolution dims (conv2d, conv2dBackwardData, conv2dBackwardWeights): NHWC input, HWIO filter, NHWC output.
// Strides and dilations (1 = none) are positive, pads are not negative.
struct ConvDim {
  enum : int {
    Batch = 0,
    InHeight = 1,
    InWidth = 2,
    InChannels = 3,
    OutHeight = 4,
    OutWidth = 5,
    OutChannels = 6,
    FilterHeight = 7,
    FilterWidth = 8,
    StrideHeight = 9,
    StrideWidth = 10,
    PadTop = 11,
    PadLeft = 12,
    PadBottom = 13,
    PadRight = 14,
    DilationHeight = 15,
    DilationWidth = 16,
    Count = 17
  };
};

// Max pooling dims (maxPool, maxPoolGrad), NHWC.
struct PoolDim {
  enum : int {
    Batch = 0,
    InHeight = 1,
    InWidth = 2,
    Channels = 3,
    OutHeight = 4,
    OutWidth = 5,
    FilterHeight = 6,
    FilterWidth = 7,
    StrideHeight = 8,
    StrideWidth = 9,
    PadTop = 10,
    PadLeft = 11,
    PadBottom = 12,
    PadRight = 13,
    Count = 14
  };
};

// Matrix multiplication dims: a [Batch, M, K] (or [Batch, K, M] transposed), b [BatchB, K, N] (or
// [BatchB, N, K]); BatchB is Batch, or 1 for one b shared by every batch entry; TransposeA/B are 0 or 1.
struct MatMulDim {
  enum : int { Batch = 0, M = 1, K = 2, N = 3, TransposeA = 4, TransposeB = 5, BatchB = 6, Count = 7 };
};

// Strided row copies (copyRows): Rows runs of Run floats, row r from src + r * SrcStride to dst + r * DstStride.
struct CopyDim {
  enum : int { Rows = 0, Run = 1, SrcStride = 2, DstStride = 3, Count = 4 };
};

}  // namespace lvseg
