// Node-API entry points defined next to their kernels rather than in addon.cc, which registers each with
// one line. Their arguments are validated in TypeScript first; requireFloat32 guards the kinds only.
#pragma once
#include <napi.h>
#include <initializer_list>

namespace lvseg::entries {

// Throws a TypeError unless every listed argument is a Float32Array.
void requireFloat32(const Napi::CallbackInfo& info, std::initializer_list<size_t> indices);
// The Int32Array dims argument at index, of exactly count values.
const int* requireDims(const Napi::CallbackInfo& info, size_t index, size_t count);

// cpu_info.cc: cpuInfo() -> {onednnIsa, compiledIsa}.
Napi::Value CpuInfo(const Napi::CallbackInfo& info);

}  // namespace lvseg::entries
