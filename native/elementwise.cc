// Elementwise kernels, reductions and the fused optimizer updates: simple loops the compiler vectorises,
// spread over all cores with OpenMP (the runtime libdnnl is built with) once a tensor is big enough.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "kernels.h"

namespace lvseg {

namespace {
// The memory-bound loops go parallel from kParallelMin elements (kernels.h). The optimizer update (a
// division and a square root per element) and the softmax (exp, log) are compute-bound, so two threads
// pay off from far fewer elements (measured: Adam over the FCN's weights 4.2 -> 2.2 ms on two cores).
constexpr int64_t kParallelComputeMin = 1 << 16;

// v where keep holds, otherwise +0, as a bit mask: vectorises to a compare and an and.
inline float maskIf(bool keep, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits &= -static_cast<uint32_t>(keep);
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}
}  // namespace

void adamUpdate(float* value, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                float oneMinusAccBeta1, float oneMinusAccBeta2, float epsilon, float decay) {
  // tf.train.adam's lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon) with the bias corrections
  // folded into two constants: one division and one square root per weight instead of three divisions,
  // which bound this loop (measured on the FCN's 1.86M weights: 6.9 ms -> 4.2 ms on one core). The decay
  // in the same pass: as a JavaScript loop of its own it took 14 ms a step for the U-Net's 1.94M weights.
  const float c1 = 1.f - beta1, c2 = 1.f - beta2;
  const float step = lr / oneMinusAccBeta1, vScale = 1.f / std::sqrt(oneMinusAccBeta2);
#pragma omp parallel for simd schedule(static) if (n > kParallelComputeMin)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * beta1 + gi * c1;
    const float vi = v[i] * beta2 + gi * gi * c2;
    m[i] = mi;
    v[i] = vi;
    value[i] = value[i] * decay - step * mi / (std::sqrt(vi) * vScale + epsilon);
  }
}

void sgdUpdate(float* value, const float* g, int64_t n, float lr) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; i++) value[i] -= lr * g[i];
}

template <typename F>
static void binaryLoop(F f, const float* a, const float* b, float* out, int64_t n, int64_t bn, bool scalarA, bool blocked) {
  if (blocked && bn < n) {
    const int64_t inner = n / bn;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (int64_t r = 0; r < bn; r++) {
      const float br = b[r];
      const float* ar = a + r * inner;
      float* outr = out + r * inner;
#pragma omp simd
      for (int64_t j = 0; j < inner; j++) outr[j] = f(ar[j], br);
    }
  } else if (scalarA) {
    const float a0 = a[0];
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) out[i] = f(a0, b[i]);
  } else if (bn == n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  } else if (bn == 1) {
    const float b0 = b[0];
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; i++) out[i] = f(a[i], b0);
  } else {
    // A short period (a bias over 2 channels) repeated into a longer one, so each row is a long simd loop.
    const int64_t repeat = bn < 64 && n % (bn * (256 / bn)) == 0 ? 256 / bn : 1;
    const int64_t period = bn * repeat, rows = n / period;
    float wide[256];
    if (repeat > 1) {
      for (int64_t j = 0; j < period; j++) wide[j] = b[j % bn];
    }
    const float* bp = repeat > 1 ? wide : b;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (int64_t r = 0; r < rows; r++) {
      const float* ar = a + r * period;
      float* outr = out + r * period;
#pragma omp simd
      for (int64_t j = 0; j < period; j++) outr[j] = f(ar[j], bp[j]);
    }
  }
}

void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n, int64_t bn, bool scalarA, bool blocked) {
  switch (op) {
    case BinaryOp::Add: return binaryLoop([](float x, float y) { return x + y; }, a, b, out, n, bn, scalarA, blocked);
    case BinaryOp::Sub: return binaryLoop([](float x, float y) { return x - y; }, a, b, out, n, bn, scalarA, blocked);
    case BinaryOp::Mul: return binaryLoop([](float x, float y) { return x * y; }, a, b, out, n, bn, scalarA, blocked);
    case BinaryOp::Div: return binaryLoop([](float x, float y) { return x / y; }, a, b, out, n, bn, scalarA, blocked);
    case BinaryOp::ReluGrad:
      // Branch-free (a mask, not a select the compiler may leave as a jump): with random signs a branch
      // mispredicts half the time, 10x slower than Add (measured: 9.5 ms vs 1 ms for 1.6M values).
      return binaryLoop([](float dy, float x) { return maskIf(x > 0.f, dy); }, a, b, out, n, bn, scalarA, blocked);
    case BinaryOp::Count: return;  // not an op; addon.cc refuses it
  }
}

template <typename F>
static void unaryLoop(F f, const float* x, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; i++) y[i] = f(x[i]);
}

namespace {
uint16_t roundToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // NaN: quiet
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}
}  // namespace

void roundToBf16(const float* x, uint16_t* y, int64_t n) {
  // As oneDNN's reorder rounds (to nearest, ties to even; a NaN stays a quiet NaN), 2-4x faster than the
  // reorder on a U-Net activation (1M values: 0.04 against 0.16 ms in cache). GCC leaves the scalar form
  // unvectorized, hence the AVX-512 loop (the bf16 convolutions run on AVX-512 CPUs only).
  int64_t done = 0;
#if defined(__AVX512F__)
  const int64_t whole = n / 16 * 16;
#pragma omp parallel for schedule(static) if (n > kParallelMin / 4)
  for (int64_t i = 0; i < whole; i += 16) {
    const __m512i bits = _mm512_loadu_si512(x + i);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet)));
  }
  done = whole;
#endif
  for (int64_t i = done; i < n; i++) y[i] = roundToBf16(x[i]);
}

void unary(UnaryOp op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
    // NaN stays NaN (NaN <= 0 is false) and -0 becomes +0, as in tfjs; branch-free, as ReluGrad.
    case UnaryOp::Relu: return unaryLoop([](float v) { return maskIf(!(v <= 0.f), v); }, x, y, n);
    case UnaryOp::Step:
      return unaryLoop([alpha](float v) { return std::isnan(v) ? v : (v > 0.f ? 1.f : alpha); }, x, y, n);
    case UnaryOp::Exp: return unaryLoop([](float v) { return std::exp(v); }, x, y, n);
    case UnaryOp::Log: return unaryLoop([](float v) { return std::log(v); }, x, y, n);
    case UnaryOp::Neg: return unaryLoop([](float v) { return -v; }, x, y, n);
    case UnaryOp::Square: return unaryLoop([](float v) { return v * v; }, x, y, n);
    case UnaryOp::Sqrt: return unaryLoop([](float v) { return std::sqrt(v); }, x, y, n);
    case UnaryOp::Sigmoid: return unaryLoop([](float v) { return 1.f / (1.f + std::exp(-v)); }, x, y, n);
    case UnaryOp::Count: return;  // not an op; addon.cc refuses it
  }
}

void sumLeading(const float* x, float* out, int64_t outer, int64_t inner) {
  // Double accumulators, like the cpu backend's JavaScript numbers, so long sums agree with it.
  std::vector<double> total(inner, 0.0);
#pragma omp parallel if (outer * inner > kParallelMin)
  {
    std::vector<double> part(inner, 0.0);
#pragma omp for schedule(static) nowait
    for (int64_t r = 0; r < outer; r++) {
      const float* row = x + r * inner;
      for (int64_t j = 0; j < inner; j++) part[j] += row[j];
    }
#pragma omp critical
    for (int64_t j = 0; j < inner; j++) total[j] += part[j];
  }
  for (int64_t j = 0; j < inner; j++) out[j] = static_cast<float>(total[j]);
}

void reduceInner(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin)
  for (int64_t r = 0; r < outer; r++) {
    const float* row = x + r * inner;
    if (op == ReduceOp::Sum) {
      double s = 0;
      for (int64_t j = 0; j < inner; j++) s += row[j];
      out[r] = static_cast<float>(s);
    } else {
      float m = row[0];
      for (int64_t j = 1; j < inner; j++) m = row[j] > m || std::isnan(row[j]) ? row[j] : m;
      out[r] = m;
    }
  }
}

}  // namespace lvseg

namespace lvseg {

double softmaxCrossEntropy(const float* logits, const int32_t* labels, float* grad, int64_t rows, int64_t classes) {
  double total = 0.0;
  const float invRows = 1.f / static_cast<float>(rows);
#pragma omp parallel for reduction(+ : total) schedule(static) if (rows * classes > kParallelComputeMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* z = logits + r * classes;
    float* g = grad + r * classes;
    float top = z[0];
    for (int64_t c = 1; c < classes; c++) top = std::max(top, z[c]);
    float sum = 0.f;
    for (int64_t c = 0; c < classes; c++) sum += (g[c] = std::exp(z[c] - top));
    const float logSum = std::log(sum), inv = invRows / sum;
    for (int64_t c = 0; c < classes; c++) g[c] *= inv;
    const int32_t label = labels[r];
    if (label >= 0 && label < classes) {
      total += static_cast<double>(logSum - (z[label] - top));
      g[label] -= invRows;
    } else {
      // A label outside [0, classes) has an all-zero one-hot row, as tf.oneHot makes it: no loss, no gradient.
      std::fill(g, g + classes, 0.f);
    }
  }
  return total / static_cast<double>(rows);
}

}  // namespace lvseg
