// The coarse kernels the addon exports. Every pointer is a float32 buffer of the TensorFlow.js cpu
// backend (NHWC activations, HWIO filters); addon.cc has checked every length against the dims and
// every op code against its range before any of these runs.
#pragma once
#include <cstdint>
#include "contract.h"

namespace lvseg {

// Below this many elements a thread team costs more than it saves in the memory-bound loops (elementwise,
// copies, batch normalization, the outer product): on a busy machine one descheduled OpenMP thread stalls
// the whole team (measured: a 1.6M-element relu 0.4 ms on one thread, 3-29 ms on two while other
// processes compete for the cores).
constexpr int64_t kParallelMin = 1 << 22;

// dims: ConvDim::Count values, laid out as contract.h says.
// weightsToken: 0, or a number that stands for these exact weight values (the caller gives a new one
// whenever the values may have changed); with one, the weights are reordered into oneDNN's layout once,
// not per call.
void conv2dForward(const float* x, const float* w, const float* bias, float* y, const int* dims, bool relu,
                   uint64_t weightsToken = 0);
// The precision of the oneDNN convolutions from now on (contract.h): Bf16 where the CPU has it, else F32; returns it.
ConvPrecision setConvPrecision(ConvPrecision p);
void conv2dBackwardData(const float* dy, const float* w, float* dx, const int* dims);
void conv2dBackwardWeights(const float* x, const float* dy, float* dw, const int* dims);
// conv_direct.cc: the forward pass as direct loops, for input x output channels <= 16 or at most
// kMaxDirectOutputs outputs (conv.cc's fewChannels and fewOutputs).
constexpr int64_t kMaxDirectOutputs = 16;
void conv2dForwardDirect(const float* x, const float* w, const float* bias, float* y, const int* dims, bool relu);
// 3x3 stride 1 (or 5x5 stride 2, split into phases), at least 64 channels in and out: Winograd F(4x4, 3x3)
// or F(2x2, 3x3) (conv_winograd.cc).
bool winogradApplies(const int* dims);
void conv2dWinograd(const float* x, const float* w, const float* bias, float* y, const int* dims, bool relu, uint64_t weightsToken);

// dims: PoolDim::Count values (contract.h); pool_direct.cc (direct loops: oneDNN's pooling was slower on AVX2, see there).
void maxPoolDirect(const float* x, float* y, const int* dims);
void maxPoolGradDirect(const float* x, const float* dy, float* dx, const int* dims);

// dims: MatMulDim::Count values (contract.h).
void matMul(const float* a, const float* b, const float* bias, float* c, const int* dims, bool relu);

// Elementwise and reductions, all cores.
// `decay` multiplies each weight before the update (AdamW's decoupled weight decay, 1 for plain Adam).
void adamUpdate(float* value, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                float oneMinusAccBeta1, float oneMinusAccBeta2, float epsilon, float decay);
// y = x rounded to bfloat16 (to nearest, ties to even), the inputs of the bf16 convolutions.
void roundToBf16(const float* x, uint16_t* y, int64_t n);
void sgdUpdate(float* value, const float* g, int64_t n, float lr);
// out[i] = a[i] op b[j]: with `blocked` false b repeats with period bn (bn == n: same shape; 1: scalar;
// C: a last-axis vector), with `blocked` true each b[j] covers n / bn consecutive outputs (b is [..., 1]).
// scalarA: a is one value, b has n.
void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n, int64_t bn, bool scalarA, bool blocked);
void unary(UnaryOp op, const float* x, float* y, int64_t n, float alpha);
// Sums over all leading axes, keeping the innermost `inner` values: out[j] = sum_i x[i*inner + j].
void sumLeading(const float* x, float* out, int64_t outer, int64_t inner);
// Reduction over the innermost axis: out[i] = reduce_j x[i*inner + j].
void reduceInner(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner);

// Sparse softmax cross-entropy over rows of `classes` logits, averaged over the rows; writes its gradient
// (softmax - onehot(label)) / rows to grad and returns the loss.
double softmaxCrossEntropy(const float* logits, const int32_t* labels, float* grad, int64_t rows, int64_t classes);

// Strided copy: rows x run floats, row r from src + r * srcStride to dst + r * dstStride (Slice, SplitV, Concat).
void copyRows(const float* src, float* dst, int64_t rows, int64_t run, int64_t srcStride, int64_t dstStride);

// Cached oneDNN primitives over all kinds (engine.h's Cache), for tests of the bound.
int64_t cachedPrimitives();

// Batch normalization on [rows, channels]: y = (x - m[c]) * a[c] + b[c] (then relu'd with `relu`); and per
// channel the sums of dy and of dy * (x - mean[c]) (the scale, offset, mean and variance gradients all derive
// from these two). A batch norm followed by a relu trains as one kernel each way: `mask`, where given, is the
// relu's output, and dy counts only where it is positive (the relu's gradient, without a pass of its own).
void channelAffine(const float* x, const float* m, const float* a, const float* b, float* y, int64_t rows, int64_t channels,
                   bool relu = false);
void channelSums(const float* x, const float* dy, const float* mean, float* sumDy, float* sumDyXc, int64_t rows,
                 int64_t channels, const float* mask = nullptr);
// y = a[c]*u + b[c]*(v - m[c]) + d[c] over the innermost axis: the input gradient of training-mode batch norm
// (u taken as 0 where a mask is given and not positive, as in channelSums).
void channelMix(const float* u, const float* v, const float* m, const float* a, const float* b, const float* d, float* y,
                int64_t rows, int64_t channels, const float* mask = nullptr);

}  // namespace lvseg
