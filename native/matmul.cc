// Batched matrix multiplication on oneDNN; transposes are expressed as strides, so nothing is copied.
#include "engine.h"
#include "kernels.h"
#include <cstdint>

namespace lvseg {
using namespace dnnl;
using dt = memory::data_type;

namespace {
// The entry keeps its execute arguments, as the convolutions' do (see conv.cc).
struct MatMulEntry {
  matmul prim;
  memory a, b, bias, c;
  std::unordered_map<int, memory> args;
};

std::unique_ptr<MatMulEntry> makeMatMul(const int* d, bool withBias, bool relu) {
  const memory::dim B = d[MatMulDim::Batch], M = d[MatMulDim::M], K = d[MatMulDim::K], N = d[MatMulDim::N];
  const memory::dim BB = d[MatMulDim::BatchB];
  const bool ta = d[MatMulDim::TransposeA] != 0, tb = d[MatMulDim::TransposeB] != 0;
  memory::desc aMd({B, M, K}, dt::f32, ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
  memory::desc bMd({BB, K, N}, dt::f32, tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
  memory::desc biasMd({1, 1, N}, dt::f32, memory::dims{N, N, 1});
  memory::desc cMd({B, M, N}, dt::f32, memory::dims{M * N, N, 1});
  auto desc = withBias ? matmul::desc(aMd, bMd, biasMd, cMd) : matmul::desc(aMd, bMd, cMd);
  matmul::primitive_desc pd(desc, reluAttr(relu), cpuEngine());
  auto e = std::make_unique<MatMulEntry>();
  e->prim = matmul(pd);
  e->a = memory(aMd, cpuEngine(), nullptr);
  e->b = memory(bMd, cpuEngine(), nullptr);
  e->c = memory(cMd, cpuEngine(), nullptr);
  e->args = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
  if (withBias) {
    e->bias = memory(biasMd, cpuEngine(), nullptr);
    e->args.emplace(DNNL_ARG_BIAS, e->bias);
  }
  return e;
}
}  // namespace

// K == 1 is an outer product (a Dense layer's weight gradient at batch 1); oneDNN's brgemm takes
// ~30x longer on it than this loop, which is bound by writing c.
static void outerProduct(const float* a, const float* b, const float* bias, float* c, const int* d, bool relu) {
  const int64_t batch = d[MatMulDim::Batch], m = d[MatMulDim::M], n = d[MatMulDim::N], batchB = d[MatMulDim::BatchB];
#pragma omp parallel for collapse(2) schedule(static) if (batch * m * n > kParallelMin)
  for (int64_t p = 0; p < batch; p++) {
    for (int64_t i = 0; i < m; i++) {
      const float ai = a[p * m + i];
      const float* bp = b + (batchB == 1 ? 0 : p * n);
      float* ci = c + (p * m + i) * n;
#pragma omp simd
      for (int64_t j = 0; j < n; j++) {
        float v = ai * bp[j] + (bias ? bias[j] : 0.f);
        ci[j] = relu && v < 0.f ? 0.f : v;
      }
    }
  }
}

void matMul(const float* a, const float* b, const float* bias, float* c, const int* d, bool relu) {
  if (d[MatMulDim::K] == 1) return outerProduct(a, b, bias, c, d, relu);
  static Cache<MatMulEntry> cache;
  const bool withBias = bias != nullptr;
  std::string key = shapeKey(withBias ? (relu ? "mm+b+relu" : "mm+b") : (relu ? "mm+relu" : "mm"), d, MatMulDim::Count);
  MatMulEntry& e = cached(cache, key, [&] { return makeMatMul(d, withBias, relu); });
  e.a.set_data_handle(const_cast<float*>(a));
  e.b.set_data_handle(const_cast<float*>(b));
  e.c.set_data_handle(c);
  if (withBias) e.bias.set_data_handle(const_cast<float*>(bias));
  auto& st = cpuStream();
  e.prim.execute(st, e.args);
  st.wait();
}

}  // namespace lvseg
