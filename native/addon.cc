// The Node-API surface: checks every argument once per call, then runs one kernel. TypeScript
// (src/backends/onednn/) only calls with consistent arguments, but the addon does not rely on it: a
// wrong kind, a length that disagrees with the dims, a zero divisor, an op code out of range or a
// copy that would leave its buffer is a JavaScript TypeError/RangeError, never a write out of bounds.
// oneDNN errors become JavaScript errors too. One kernel runs at a time (a process-wide lock), so the
// worker threads of one process can share the addon's primitive caches and scratch buffers.
#include <napi.h>
#include <malloc.h>
#include <omp.h>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include "entries.h"
#include "kernels.h"

namespace {

// A float32 or int32 typed array argument: its data and length.
template <typename T>
struct Buffer {
  T* data;
  int64_t length;
};

// The arguments of one call, with the checks that throw a JavaScript error naming the function.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() < count) typeError("expects " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }

  [[noreturn]] void typeError(const std::string& what) const {
    throw Napi::TypeError::New(info_.Env(), std::string("lvseg native ") + fn_ + ": " + what);
  }
  [[noreturn]] void rangeError(const std::string& what) const {
    throw Napi::RangeError::New(info_.Env(), std::string("lvseg native ") + fn_ + ": " + what);
  }
  void require(bool ok, const std::string& what) const {
    if (!ok) rangeError(what);
  }

  Buffer<float> floats(size_t i) const {
    const Napi::Value v = info_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      typeError("argument " + std::to_string(i) + " must be a Float32Array");
    }
    auto a = v.As<Napi::Float32Array>();
    return {a.Data(), static_cast<int64_t>(a.ElementLength())};
  }
  // A Float32Array, or null/undefined for none (data nullptr, length -1).
  Buffer<float> optionalFloats(size_t i) const {
    if (info_[i].IsNull() || info_[i].IsUndefined()) return {nullptr, -1};
    return floats(i);
  }
  Buffer<int32_t> ints(size_t i) const {
    const Napi::Value v = info_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      typeError("argument " + std::to_string(i) + " must be an Int32Array");
    }
    auto a = v.As<Napi::Int32Array>();
    return {a.Data(), static_cast<int64_t>(a.ElementLength())};
  }
  // An Int32Array of exactly `count` dims, none negative.
  const int* dims(size_t i, int count) const {
    const Buffer<int32_t> d = ints(i);
    if (d.length != count) typeError("argument " + std::to_string(i) + " must hold " + std::to_string(count) + " dims");
    for (int k = 0; k < count; k++) require(d.data[k] >= 0, "dim " + std::to_string(k) + " is negative");
    return d.data;
  }
  double number(size_t i) const {
    if (!info_[i].IsNumber()) typeError("argument " + std::to_string(i) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  bool flag(size_t i) const {
    if (!info_[i].IsBoolean()) typeError("argument " + std::to_string(i) + " must be a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }
  // An op code in [0, count).
  int32_t op(size_t i, int32_t count) const {
    const double v = number(i);
    if (!(v >= 0 && v < count) || v != static_cast<int32_t>(v)) {
      std::ostringstream code;
      code << v;
      rangeError("op code " + code.str() + " is not one of 0.." + std::to_string(count - 1));
    }
    return static_cast<int32_t>(v);
  }
  // The product of `factors`, or a RangeError when it overflows 2^53 (no real buffer is that long).
  int64_t product(std::initializer_list<int64_t> factors) const {
    int64_t p = 1;
    for (int64_t f : factors) {
      if (__builtin_mul_overflow(p, f, &p) || p > (int64_t{1} << 53)) rangeError("dims too large");
    }
    return p;
  }
  void length(const char* name, int64_t actual, int64_t expected) const {
    if (actual != expected) {
      rangeError(std::string(name) + " holds " + std::to_string(actual) + " values, the dims say " + std::to_string(expected));
    }
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

// One kernel at a time across every thread of the process: the primitive caches, the shared oneDNN
// stream and the conv scratch buffer are process-wide.
std::mutex& kernelLock() {
  static std::mutex lock;
  return lock;
}

// Runs body under the lock; oneDNN's and the standard library's exceptions become JavaScript errors.
template <typename F>
auto locked(const Napi::CallbackInfo& info, F body) -> decltype(body()) {
  std::lock_guard<std::mutex> hold(kernelLock());
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  }
}

// Output size along one axis, as oneDNN derives it: floor((in + pads - effective filter) / stride) + 1.
void checkAxis(const Args& a, const char* axis, int64_t in, int64_t out, int64_t filter, int64_t stride, int64_t dilation,
               int64_t padBefore, int64_t padAfter) {
  a.require(in >= 1 && out >= 1 && filter >= 1 && stride >= 1 && dilation >= 1,
            std::string(axis) + ": sizes, filter, stride and dilation must be at least 1");
  const int64_t effective = (filter - 1) * dilation + 1;
  // A pad as wide as the filter would give windows without one real value (tfjs never pads so).
  a.require(padBefore < effective && padAfter < effective, std::string(axis) + ": a pad is not smaller than the filter");
  const int64_t span = in + padBefore + padAfter - effective;
  a.require(span >= 0 && span / stride + 1 == out, std::string(axis) + ": the output size does not follow from the input, filter, stride and pads");
}

// The conv dims, checked; the lengths the input, filter and output must have.
struct ConvLengths {
  int64_t x, w, y;
};
ConvLengths checkConv(const Args& a, const int* d) {
  using lvseg::ConvDim;
  a.require(d[ConvDim::Batch] >= 1 && d[ConvDim::InChannels] >= 1 && d[ConvDim::OutChannels] >= 1, "batch and channels must be at least 1");
  checkAxis(a, "height", d[ConvDim::InHeight], d[ConvDim::OutHeight], d[ConvDim::FilterHeight], d[ConvDim::StrideHeight],
            d[ConvDim::DilationHeight], d[ConvDim::PadTop], d[ConvDim::PadBottom]);
  checkAxis(a, "width", d[ConvDim::InWidth], d[ConvDim::OutWidth], d[ConvDim::FilterWidth], d[ConvDim::StrideWidth],
            d[ConvDim::DilationWidth], d[ConvDim::PadLeft], d[ConvDim::PadRight]);
  const ConvLengths l{
      a.product({d[ConvDim::Batch], d[ConvDim::InHeight], d[ConvDim::InWidth], d[ConvDim::InChannels]}),
      a.product({d[ConvDim::FilterHeight], d[ConvDim::FilterWidth], d[ConvDim::InChannels], d[ConvDim::OutChannels]}),
      a.product({d[ConvDim::Batch], d[ConvDim::OutHeight], d[ConvDim::OutWidth], d[ConvDim::OutChannels]})};
  // The one-channel path runs a matmul of N*OH*OW rows by KH*KW, as int dims.
  a.require(a.product({d[ConvDim::Batch], d[ConvDim::OutHeight], d[ConvDim::OutWidth]}) <= std::numeric_limits<int>::max() &&
                a.product({d[ConvDim::FilterHeight], d[ConvDim::FilterWidth]}) <= std::numeric_limits<int>::max(),
            "dims too large");
  return l;
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const Args a(info, "conv2d", 7);
  const auto x = a.floats(0), w = a.floats(1), bias = a.optionalFloats(2), y = a.floats(3);
  const int* d = a.dims(4, lvseg::ConvDim::Count);
  const bool relu = a.flag(5);
  const double weightsToken = a.number(6);
  a.require(weightsToken >= 0 && weightsToken == static_cast<double>(static_cast<uint64_t>(weightsToken)), "weights token must be a whole number >= 0");
  const ConvLengths l = checkConv(a, d);
  a.length("x", x.length, l.x);
  a.length("filter", w.length, l.w);
  a.length("y", y.length, l.y);
  if (bias.data) a.length("bias", bias.length, d[lvseg::ConvDim::OutChannels]);
  locked(info, [&] { lvseg::conv2dForward(x.data, w.data, bias.data, y.data, d, relu, static_cast<uint64_t>(weightsToken)); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  const Args a(info, "conv2dBackwardData", 4);
  const auto dy = a.floats(0), w = a.floats(1), dx = a.floats(2);
  const int* d = a.dims(3, lvseg::ConvDim::Count);
  const ConvLengths l = checkConv(a, d);
  a.length("dy", dy.length, l.y);
  a.length("filter", w.length, l.w);
  a.length("dx", dx.length, l.x);
  locked(info, [&] { lvseg::conv2dBackwardData(dy.data, w.data, dx.data, d); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  const Args a(info, "conv2dBackwardWeights", 4);
  const auto x = a.floats(0), dy = a.floats(1), dw = a.floats(2);
  const int* d = a.dims(3, lvseg::ConvDim::Count);
  const ConvLengths l = checkConv(a, d);
  a.length("x", x.length, l.x);
  a.length("dy", dy.length, l.y);
  a.length("dw", dw.length, l.w);
  locked(info, [&] { lvseg::conv2dBackwardWeights(x.data, dy.data, dw.data, d); });
  return info.Env().Undefined();
}

// The pool dims, checked; the lengths of the input and the output.
std::pair<int64_t, int64_t> checkPool(const Args& a, const int* d) {
  using lvseg::PoolDim;
  a.require(d[PoolDim::Batch] >= 1 && d[PoolDim::Channels] >= 1, "batch and channels must be at least 1");
  checkAxis(a, "height", d[PoolDim::InHeight], d[PoolDim::OutHeight], d[PoolDim::FilterHeight], d[PoolDim::StrideHeight], 1,
            d[PoolDim::PadTop], d[PoolDim::PadBottom]);
  checkAxis(a, "width", d[PoolDim::InWidth], d[PoolDim::OutWidth], d[PoolDim::FilterWidth], d[PoolDim::StrideWidth], 1,
            d[PoolDim::PadLeft], d[PoolDim::PadRight]);
  return {a.product({d[PoolDim::Batch], d[PoolDim::InHeight], d[PoolDim::InWidth], d[PoolDim::Channels]}),
          a.product({d[PoolDim::Batch], d[PoolDim::OutHeight], d[PoolDim::OutWidth], d[PoolDim::Channels]})};
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  const Args a(info, "maxPool", 3);
  const auto x = a.floats(0), y = a.floats(1);
  const int* d = a.dims(2, lvseg::PoolDim::Count);
  const auto [xLength, yLength] = checkPool(a, d);
  a.length("x", x.length, xLength);
  a.length("y", y.length, yLength);
  locked(info, [&] { lvseg::maxPoolDirect(x.data, y.data, d); });
  return info.Env().Undefined();
}

Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const Args a(info, "maxPoolGrad", 4);
  const auto x = a.floats(0), dy = a.floats(1), dx = a.floats(2);
  const int* d = a.dims(3, lvseg::PoolDim::Count);
  const auto [xLength, yLength] = checkPool(a, d);
  a.length("x", x.length, xLength);
  a.length("dy", dy.length, yLength);
  a.length("dx", dx.length, xLength);
  locked(info, [&] { lvseg::maxPoolGradDirect(x.data, dy.data, dx.data, d); });
  return info.Env().Undefined();
}

Napi::Value MatMul(const Napi::CallbackInfo& info) {
  using lvseg::MatMulDim;
  const Args a(info, "matMul", 6);
  const auto lhs = a.floats(0), rhs = a.floats(1), bias = a.optionalFloats(2), c = a.floats(3);
  const int* d = a.dims(4, MatMulDim::Count);
  const bool relu = a.flag(5);
  const int64_t batch = d[MatMulDim::Batch], m = d[MatMulDim::M], k = d[MatMulDim::K], n = d[MatMulDim::N];
  const int64_t batchB = d[MatMulDim::BatchB];
  a.require(batch >= 1 && m >= 1 && k >= 1 && n >= 1, "batch, M, K and N must be at least 1");
  a.require(d[MatMulDim::TransposeA] <= 1 && d[MatMulDim::TransposeB] <= 1, "the transpose flags must be 0 or 1");
  a.require(batchB == 1 || batchB == batch, "b's batch must be 1 or a's");
  a.length("a", lhs.length, a.product({batch, m, k}));
  a.length("b", rhs.length, a.product({batchB, k, n}));
  a.length("c", c.length, a.product({batch, m, n}));
  if (bias.data) a.length("bias", bias.length, n);
  locked(info, [&] { lvseg::matMul(lhs.data, rhs.data, bias.data, c.data, d, relu); });
  return info.Env().Undefined();
}

Napi::Value Adam(const Napi::CallbackInfo& info) {
  const Args a(info, "adam", 11);
  const auto value = a.floats(0), m = a.floats(1), v = a.floats(2), g = a.floats(3);
  a.length("m", m.length, value.length);
  a.length("v", v.length, value.length);
  a.length("gradient", g.length, value.length);
  const float lr = a.number(4), beta1 = a.number(5), beta2 = a.number(6), acc1 = a.number(7), acc2 = a.number(8);
  const float epsilon = a.number(9), decay = a.number(10);
  locked(info, [&] {
    lvseg::adamUpdate(value.data, m.data, v.data, g.data, value.length, lr, beta1, beta2, acc1, acc2, epsilon, decay);
  });
  return info.Env().Undefined();
}

Napi::Value Sgd(const Napi::CallbackInfo& info) {
  const Args a(info, "sgd", 3);
  const auto value = a.floats(0), g = a.floats(1);
  a.length("gradient", g.length, value.length);
  const float lr = a.number(2);
  locked(info, [&] { lvseg::sgdUpdate(value.data, g.data, value.length, lr); });
  return info.Env().Undefined();
}

// binary(op, a, b, out, scalarA, blocked): see kernels.h for how b (and a scalar a) map onto out.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const Args a(info, "binary", 6);
  const auto op = static_cast<lvseg::BinaryOp>(a.op(0, static_cast<int32_t>(lvseg::BinaryOp::Count)));
  const auto lhs = a.floats(1), rhs = a.floats(2), out = a.floats(3);
  const bool scalarA = a.flag(4), blocked = a.flag(5);
  const int64_t n = out.length, bn = rhs.length;
  if (scalarA) {
    a.require(!blocked && lhs.length == 1 && bn == n, "a scalar a needs b as long as out, and no blocked b");
  } else {
    a.length("a", lhs.length, n);
    a.require(bn >= 1 && n % bn == 0, "b's length must divide out's");
  }
  if (n == 0) return info.Env().Undefined();
  locked(info, [&] { lvseg::binary(op, lhs.data, rhs.data, out.data, n, bn, scalarA, blocked); });
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  const Args a(info, "unary", 4);
  const auto op = static_cast<lvseg::UnaryOp>(a.op(0, static_cast<int32_t>(lvseg::UnaryOp::Count)));
  const auto x = a.floats(1), y = a.floats(2);
  a.length("x", x.length, y.length);
  const float alpha = a.number(3);
  locked(info, [&] { lvseg::unary(op, x.data, y.data, y.length, alpha); });
  return info.Env().Undefined();
}

Napi::Value SumLeading(const Napi::CallbackInfo& info) {
  const Args a(info, "sumLeading", 2);
  const auto x = a.floats(0), out = a.floats(1);
  a.require(out.length >= 1 && x.length % out.length == 0, "out's length must be at least 1 and divide x's");
  locked(info, [&] { lvseg::sumLeading(x.data, out.data, x.length / out.length, out.length); });
  return info.Env().Undefined();
}

Napi::Value ReduceInner(const Napi::CallbackInfo& info) {
  const Args a(info, "reduceInner", 3);
  const auto op = static_cast<lvseg::ReduceOp>(a.op(0, static_cast<int32_t>(lvseg::ReduceOp::Count)));
  const auto x = a.floats(1), out = a.floats(2);
  a.require(out.length >= 1 && x.length >= out.length && x.length % out.length == 0,
            "out's length must be at least 1 and divide x's, with at least one value per row");
  locked(info, [&] { lvseg::reduceInner(op, x.data, out.data, out.length, x.length / out.length); });
  return info.Env().Undefined();
}

// softmaxCrossEntropy(logits, labels, grad) -> mean loss; logits and grad [rows, classes], labels Int32Array [rows].
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  const Args a(info, "softmaxCrossEntropy", 3);
  const auto logits = a.floats(0), grad = a.floats(2);
  const auto labels = a.ints(1);
  const int64_t rows = labels.length;
  a.require(rows >= 1 && logits.length >= rows && logits.length % rows == 0 && grad.length == logits.length,
            "logits and gradient must hold the same whole number (at least 1) of values per label");
  const double loss = locked(info, [&] {
    return lvseg::softmaxCrossEntropy(logits.data, labels.data, grad.data, rows, logits.length / rows);
  });
  return Napi::Number::New(info.Env(), loss);
}

// Whether the float ranges [p, p + n) and [q, q + m) share memory.
bool overlaps(const float* p, int64_t n, const float* q, int64_t m) {
  const auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(q);
  return a < b + static_cast<uintptr_t>(m) * sizeof(float) && b < a + static_cast<uintptr_t>(n) * sizeof(float);
}

// copyRows(src, dst, dims): src and dst are views (subarrays) starting at the first element to read and
// to write; every row must lie inside both, and the two may not overlap (the rows are memcpy'd).
Napi::Value CopyRows(const Napi::CallbackInfo& info) {
  using lvseg::CopyDim;
  const Args a(info, "copyRows", 3);
  const auto src = a.floats(0), dst = a.floats(1);
  const int* d = a.dims(2, CopyDim::Count);
  const int64_t rows = d[CopyDim::Rows], run = d[CopyDim::Run], srcStride = d[CopyDim::SrcStride], dstStride = d[CopyDim::DstStride];
  if (rows == 0 || run == 0) return info.Env().Undefined();
  const int64_t srcSpan = a.product({rows - 1, srcStride}) + run, dstSpan = a.product({rows - 1, dstStride}) + run;
  a.require(srcSpan <= src.length, "the rows reach past the end of src");
  a.require(dstSpan <= dst.length, "the rows reach past the end of dst");
  a.require(!overlaps(src.data, srcSpan, dst.data, dstSpan), "src and dst overlap");
  locked(info, [&] { lvseg::copyRows(src.data, dst.data, rows, run, srcStride, dstStride); });
  return info.Env().Undefined();
}

// channelAffine(x, m, a, b, y, relu?): m, a and b hold one value per channel (the innermost axis).
Napi::Value ChannelAffine(const Napi::CallbackInfo& info) {
  const Args a(info, "channelAffine", 5);
  const auto x = a.floats(0), m = a.floats(1), scale = a.floats(2), offset = a.floats(3), y = a.floats(4);
  const bool relu = info.Length() > 5 && !info[5].IsUndefined() && a.flag(5);
  const int64_t channels = m.length;
  a.require(channels >= 1 && x.length % channels == 0, "the channel count must be at least 1 and divide x's length");
  a.length("a", scale.length, channels);
  a.length("b", offset.length, channels);
  a.length("y", y.length, x.length);
  locked(info, [&] { lvseg::channelAffine(x.data, m.data, scale.data, offset.data, y.data, x.length / channels, channels, relu); });
  return info.Env().Undefined();
}

// channelSums(x, dy, mean, sumDy, sumDyXc, mask?): mean, sumDy and sumDyXc hold one value per channel; mask
// (null or absent: none) is x's size.
Napi::Value ChannelSums(const Napi::CallbackInfo& info) {
  const Args a(info, "channelSums", 5);
  const auto x = a.floats(0), dy = a.floats(1), mean = a.floats(2), sumDy = a.floats(3), sumDyXc = a.floats(4);
  const auto mask = a.optionalFloats(5);
  const int64_t channels = mean.length;
  a.require(channels >= 1 && x.length % channels == 0, "the channel count must be at least 1 and divide x's length");
  a.length("dy", dy.length, x.length);
  if (mask.data) a.length("mask", mask.length, x.length);
  a.length("sumDy", sumDy.length, channels);
  a.length("sumDyXc", sumDyXc.length, channels);
  locked(info, [&] {
    lvseg::channelSums(x.data, dy.data, mean.data, sumDy.data, sumDyXc.data, x.length / channels, channels, mask.data);
  });
  return info.Env().Undefined();
}

// channelMix(u, v, m, a, b, d, y, mask?): y = a*u + b*(v - m) + d, with m, a, b and d one value per channel; u
// counts as 0 where mask (null or absent: none, else u's size) is not positive.
Napi::Value ChannelMix(const Napi::CallbackInfo& info) {
  const Args a(info, "channelMix", 7);
  const auto u = a.floats(0), v = a.floats(1), m = a.floats(2), sa = a.floats(3), sb = a.floats(4), sd = a.floats(5), y = a.floats(6);
  const auto mask = a.optionalFloats(7);
  if (mask.data) a.length("mask", mask.length, u.length);
  const int64_t channels = m.length;
  a.require(channels >= 1 && u.length % channels == 0, "the channel count must be at least 1 and divide u's length");
  a.length("v", v.length, u.length);
  a.length("a", sa.length, channels);
  a.length("b", sb.length, channels);
  a.length("d", sd.length, channels);
  a.length("y", y.length, u.length);
  locked(info, [&] { lvseg::channelMix(u.data, v.data, m.data, sa.data, sb.data, sd.data, y.data, u.length / channels, channels, mask.data); });
  return info.Env().Undefined();
}

// Threads for oneDNN and the elementwise loops (OpenMP); 0 or less leaves OpenMP's default (all cores).
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const Args a(info, "setNumThreads", 1);
  const double n = a.number(0);
  a.require(n <= 1024, "at most 1024 threads");
  return locked(info, [&] {
    if (n >= 1) omp_set_num_threads(static_cast<int>(n));
    return Napi::Number::New(info.Env(), omp_get_max_threads());
  });
}

Napi::Value SetConvPrecision(const Napi::CallbackInfo& info) {
  const Args a(info, "setConvPrecision", 1);
  const double p = a.number(0);
  a.require(p == 0 || p == 1, "precision must be 0 (float32) or 1 (bfloat16)");
  return locked(info, [&] {
    const auto now = lvseg::setConvPrecision(static_cast<lvseg::ConvPrecision>(static_cast<int32_t>(p)));
    return Napi::Number::New(info.Env(), static_cast<double>(now));
  });
}

Napi::Value CachedPrimitives(const Napi::CallbackInfo& info) {
  return locked(info, [&] { return Napi::Number::New(info.Env(), static_cast<double>(lvseg::cachedPrimitives())); });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Opt-in (LVSEG_MALLOPT=1; lvseg's CLI sets it), as it changes malloc for the whole host process:
  // serve big blocks from the heap and do not trim it, so freed buffers the pool does not keep (52 MB
  // activations at batch 8, beyond glibc's 32 MB dynamic mmap limit) are reused instead of faulted in
  // fresh. Measured: an FCN step at batch 8 took ~2x as long relative to PyTorch without it.
  static std::once_flag malloptOnce;
  std::call_once(malloptOnce, [] {
    const char* opt = std::getenv("LVSEG_MALLOPT");
    if (opt && std::strcmp(opt, "1") == 0) {
      mallopt(M_MMAP_MAX, 0);
      mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
  });
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("setConvPrecision", Napi::Function::New(env, SetConvPrecision));
  exports.Set("cachedPrimitives", Napi::Function::New(env, CachedPrimitives));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, Conv2dBackwardData));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, Conv2dBackwardWeights));
  exports.Set("matMul", Napi::Function::New(env, MatMul));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("sgd", Napi::Function::New(env, Sgd));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("sumLeading", Napi::Function::New(env, SumLeading));
  exports.Set("reduceInner", Napi::Function::New(env, ReduceInner));
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy));
  exports.Set("copyRows", Napi::Function::New(env, CopyRows));
  exports.Set("channelAffine", Napi::Function::New(env, ChannelAffine));
  exports.Set("channelSums", Napi::Function::New(env, ChannelSums));
  exports.Set("channelMix", Napi::Function::New(env, ChannelMix));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("cpuInfo", Napi::Function::New(env, lvseg::entries::CpuInfo));
  return exports;
}

}  // namespace

NODE_API_MODULE(lvseg_onednn, Init)
