// The one oneDNN CPU engine and stream shared by every kernel, and the shape-keyed primitive caches.
// Not thread-safe on their own: addon.cc runs one kernel at a time.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>
#include <list>
#include <string>
#include <utility>
#include <unordered_map>
#include <memory>

namespace lvseg {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

// A cache key from the integer arguments that fully determine a primitive.
std::string shapeKey(const char* kind, const int* dims, int n);

// How many primitives each cache (one per kind: conv forward, conv backward data, ...) keeps. A training
// run uses a handful of shapes per kind (the FCN: 6 convolutions, each at the training and the last
// batch's size); a caller that walks through many sizes evicts the least recently used ones instead of
// growing without limit (each entry holds a primitive, its scratchpad and reordered weights).
constexpr size_t kCacheCapacity = 64;

// Cached primitives over all caches (for the bound's test).
int64_t& cachedPrimitiveCount();

// Primitives (and their memory objects and execute arguments) by shapeKey, least recently used first out.
template <typename Entry>
class Cache {
 public:
  // The entry for key, made by make() (returning a std::unique_ptr<Entry>) the first time; a make() that
  // throws leaves the cache as it was.
  template <class F>
  Entry& get(const std::string& key, F&& make) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return *it->second->second;
    }
    std::unique_ptr<Entry> entry = make();
    if (order_.size() >= kCacheCapacity) {
      index_.erase(order_.back().first);
      order_.pop_back();
      cachedPrimitiveCount()--;
    }
    order_.emplace_front(key, std::move(entry));
    index_.emplace(key, order_.begin());
    cachedPrimitiveCount()++;
    return *order_.front().second;
  }

 private:
  using Order = std::list<std::pair<std::string, std::unique_ptr<Entry>>>;
  Order order_;
  std::unordered_map<std::string, typename Order::iterator> index_;
};

template <class T, class F>
T& cached(Cache<T>& cache, const std::string& key, F&& make) {
  return cache.get(key, std::forward<F>(make));
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
