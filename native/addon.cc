// The Node-API surface: unpacks typed arrays and calls one kernel each. Shapes, lengths and dtypes are
// validated in TypeScript (src/backends/onednn.ts) before they get here; this file only guards against
// what would crash the process (wrong argument kinds), and turns oneDNN errors into JavaScript errors.
#include <napi.h>
#include <malloc.h>
#include <omp.h>
#include <exception>
#include "entries.h"
#include "kernels.h"

namespace {

float* floats(const Napi::Value& v) { return v.As<Napi::Float32Array>().Data(); }
const float* optionalFloats(const Napi::Value& v) { return v.IsNull() || v.IsUndefined() ? nullptr : floats(v); }
int64_t length(const Napi::Value& v) { return static_cast<int64_t>(v.As<Napi::Float32Array>().ElementLength()); }

const int* intDims(const Napi::CallbackInfo& info, size_t index, size_t count) {
  if (!info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[index].As<Napi::Int32Array>().ElementLength() != count) {
    throw Napi::TypeError::New(info.Env(), "lvseg native: argument " + std::to_string(index) +
                                               " must be an Int32Array of " + std::to_string(count) + " dims");
  }
  return info[index].As<Napi::Int32Array>().Data();
}

void requireFloatArrays(const Napi::CallbackInfo& info, std::initializer_list<size_t> indices, bool nullable = false) {
  for (size_t i : indices) {
    const Napi::Value v = info[i];
    if (nullable && (v.IsNull() || v.IsUndefined())) continue;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(info.Env(), "lvseg native: argument " + std::to_string(i) + " must be a Float32Array");
    }
  }
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  try {
    body();
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  }
  return info.Env().Undefined();
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 3});
  requireFloatArrays(info, {2}, true);
  return guarded(info, [&] {
    lvseg::conv2dForward(floats(info[0]), floats(info[1]), optionalFloats(info[2]), floats(info[3]),
                         intDims(info, 4, lvseg::kConvDims), info[5].ToBoolean());
  });
}

Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 2});
  return guarded(info, [&] {
    lvseg::conv2dBackwardData(floats(info[0]), floats(info[1]), floats(info[2]), intDims(info, 3, lvseg::kConvDims));
  });
}

Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 2});
  return guarded(info, [&] {
    lvseg::conv2dBackwardWeights(floats(info[0]), floats(info[1]), floats(info[2]), intDims(info, 3, lvseg::kConvDims));
  });
}

Napi::Value MatMul(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 3});
  requireFloatArrays(info, {2}, true);
  return guarded(info, [&] {
    lvseg::matMul(floats(info[0]), floats(info[1]), optionalFloats(info[2]), floats(info[3]),
                  intDims(info, 4, lvseg::kMatMulDims), info[5].ToBoolean());
  });
}

float number(const Napi::CallbackInfo& info, size_t i) { return info[i].ToNumber().FloatValue(); }

Napi::Value Adam(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 2, 3});
  lvseg::adamUpdate(floats(info[0]), floats(info[1]), floats(info[2]), floats(info[3]), length(info[0]),
                    number(info, 4), number(info, 5), number(info, 6), number(info, 7), number(info, 8),
                    number(info, 9));
  return info.Env().Undefined();
}

Napi::Value Sgd(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1});
  lvseg::sgdUpdate(floats(info[0]), floats(info[1]), length(info[0]), number(info, 2));
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {1, 2, 3});
  lvseg::binary(static_cast<lvseg::Binary>(info[0].ToNumber().Int32Value()), floats(info[1]), floats(info[2]),
                floats(info[3]), length(info[3]), length(info[2]), info[4].ToBoolean(), info[5].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {1, 2});
  lvseg::unary(static_cast<lvseg::Unary>(info[0].ToNumber().Int32Value()), floats(info[1]), floats(info[2]),
               length(info[2]), number(info, 3));
  return info.Env().Undefined();
}

Napi::Value SumLeading(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1});
  const int64_t inner = length(info[1]);
  lvseg::sumLeading(floats(info[0]), floats(info[1]), length(info[0]) / inner, inner);
  return info.Env().Undefined();
}

Napi::Value ReduceInner(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {1, 2});
  const int64_t outer = length(info[2]);
  lvseg::reduceInner(info[0].ToNumber().Int32Value(), floats(info[1]), floats(info[2]), outer, length(info[1]) / outer);
  return info.Env().Undefined();
}

// softmaxCrossEntropy(logits, labels, grad) -> mean loss; logits and grad [rows, classes], labels Int32Array [rows].
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 2});
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "lvseg native: argument 1 must be an Int32Array of labels");
  }
  const int64_t rows = static_cast<int64_t>(info[1].As<Napi::Int32Array>().ElementLength());
  if (rows == 0 || length(info[0]) % rows != 0 || length(info[2]) != length(info[0])) {
    throw Napi::RangeError::New(info.Env(), "lvseg native: logits, labels and gradient lengths disagree");
  }
  const double loss = lvseg::softmaxCrossEntropy(floats(info[0]), info[1].As<Napi::Int32Array>().Data(), floats(info[2]),
                                                 rows, length(info[0]) / rows);
  return Napi::Number::New(info.Env(), loss);
}

// copyRows(src, dst, [rows, run, srcStride, dstStride]): src and dst are views (subarrays) starting at
// the first element to read and to write; TypeScript checked that every row lies inside both.
Napi::Value CopyRows(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1});
  const int* d = intDims(info, 2, 4);
  lvseg::copyRows(floats(info[0]), floats(info[1]), d[0], d[1], d[2], d[3]);
  return info.Env().Undefined();
}

// channelAffine(x, m, a, b, y): m, a and b hold one value per channel (the innermost axis).
Napi::Value ChannelAffine(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 2, 3, 4});
  const int64_t channels = length(info[1]);
  lvseg::channelAffine(floats(info[0]), floats(info[1]), floats(info[2]), floats(info[3]), floats(info[4]),
                       length(info[0]) / channels, channels);
  return info.Env().Undefined();
}

// channelSums(x, dy, mean, sumDy, sumDyXc): mean, sumDy and sumDyXc hold one value per channel.
Napi::Value ChannelSums(const Napi::CallbackInfo& info) {
  requireFloatArrays(info, {0, 1, 2, 3, 4});
  const int64_t channels = length(info[2]);
  lvseg::channelSums(floats(info[0]), floats(info[1]), floats(info[2]), floats(info[3]), floats(info[4]),
                     length(info[0]) / channels, channels);
  return info.Env().Undefined();
}

// Threads for oneDNN and the elementwise loops (OpenMP); 0 or less leaves OpenMP's default (all cores).
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = info[0].ToNumber().Int32Value();
  if (n > 0) omp_set_num_threads(n);
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Every kernel output is a new Float32Array. glibc serves big blocks with mmap and unmaps them on free,
  // so each step would fault in hundreds of MB of fresh zeroed pages (measured: a 6.5 MB output costs
  // as much as the relu that fills it). Serving every block from the heap, and not trimming it back,
  // lets freed activations be reused. V8's own heap does not go through malloc, so only big buffers see this.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
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
  exports.Set("maxPoolDirect", Napi::Function::New(env, lvseg::entries::MaxPoolDirect));
  exports.Set("maxPoolGradDirect", Napi::Function::New(env, lvseg::entries::MaxPoolGradDirect));
  exports.Set("cpuInfo", Napi::Function::New(env, lvseg::entries::CpuInfo));
  return exports;
}

}  // namespace

NODE_API_MODULE(lvseg_onednn, Init)
