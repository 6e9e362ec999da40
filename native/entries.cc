// Argument kind checks shared by the entry points in entries.h.
#include "entries.h"
#include <string>

namespace lvseg::entries {

void requireFloat32(const Napi::CallbackInfo& info, std::initializer_list<size_t> indices) {
  for (size_t i : indices) {
    const Napi::Value v = info[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(info.Env(), "lvseg native: argument " + std::to_string(i) + " must be a Float32Array");
    }
  }
}

const int* requireDims(const Napi::CallbackInfo& info, size_t index, size_t count) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() != count) {
    throw Napi::TypeError::New(info.Env(), "lvseg native: argument " + std::to_string(index) + " must be an Int32Array of " +
                                               std::to_string(count) + " dims");
  }
  return v.As<Napi::Int32Array>().Data();
}

}  // namespace lvseg::entries
