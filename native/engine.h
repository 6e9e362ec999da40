// The one oneDNN CPU engine and stream shared by every kernel, and the shape-keyed primitive caches.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <memory>

namespace lvseg {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

// A cache key from the integer arguments that fully determine a primitive.
std::string shapeKey(const char* kind, const int* dims, int n);

// Primitives (and their memory objects and execute arguments) by shapeKey, built once per shape.
template <typename Entry>
using Cache = std::unordered_map<std::string, std::unique_ptr<Entry>>;

// The entry for key, made by make() (returning a std::unique_ptr<T>) the first time.
template <class T, class F>
T& cached(Cache<T>& cache, const std::string& key, F&& make) {
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return *it->second;
}

// A relu post-op for a primitive's output, or no post-op.
inline dnnl::primitive_attr reluAttr(bool relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  return attr;
}

}  // namespace lvseg
