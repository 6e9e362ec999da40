// Which instruction set the addon computes with: oneDNN's, chosen at run time (capped by
// ONEDNN_MAX_CPU_ISA), and the one lvseg's own loops were compiled for (-march at build time, which
// ONEDNN_MAX_CPU_ISA does not change). The bench records both in every line.
#include <oneapi/dnnl/dnnl.hpp>
#include "entries.h"

namespace lvseg::entries {

namespace {

const char* onednnIsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

constexpr const char* kCompiledIsa =
#if defined(__AVX512F__)
    "avx512";
#elif defined(__AVX2__)
    "avx2";
#elif defined(__AVX__)
    "avx";
#else
    "sse";
#endif

}  // namespace

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("onednnIsa", onednnIsaName(dnnl::get_effective_cpu_isa()));
  out.Set("compiledIsa", kCompiledIsa);
  return out;
}

}  // namespace lvseg::entries
