#include "engine.h"
#include "kernels.h"

namespace lvseg {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

int64_t& cachedPrimitiveCount() {
  static int64_t count = 0;
  return count;
}

int64_t cachedPrimitives() { return cachedPrimitiveCount(); }

std::string shapeKey(const char* kind, const int* dims, int n) {
  std::string key(kind);
  for (int i = 0; i < n; i++) {
    key += ':';
    key += std::to_string(dims[i]);
  }
  return key;
}

}  // namespace lvseg
