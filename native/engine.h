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

template <typename T>
T& cached(std::unordered_map<std::string, std::unique_ptr<T>>& cache, const std::string& key,
          std::unique_ptr<T> (*make)(const int*), const int* dims) {
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  auto entry = make(dims);
  T& ref = *entry;
  cache.emplace(key, std::move(entry));
  return ref;
}

}  // namespace lvseg
