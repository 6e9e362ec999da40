// 3x3 stride-1 convolutions with many channels as Winograd F(2x2, 3x3) (Lavin & Gray, 2016): each 2x2
// output tile takes 16 multiplications per channel pair instead of 36. oneDNN offers Winograd only on
// AVX-512; on AVX2 its direct kernels ran the FCN's 16x16 layers (200 -> 300, 300 -> 300) at ~150
// GFLOP/s, which is most of the FCN's inference at batch 1.
//   V[xi][tile][ic] = (B^T d B)[xi]  the input tiles, 4x4 windows with a stride of 2, zeros outside
//   U[xi][ic][oc]   = (G g G^T)[xi]  the filter, made again only when its weights token changes (onednn/kernel.ts)
//   M[xi]           = V[xi] U[xi]    16 matmuls of [tiles, ic] x [ic, oc] on oneDNN
//   y tile          = A^T M A        + bias, relu
// Channels are the innermost dimension everywhere (NHWC), so every transform runs as simd over channels.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <list>
#include <vector>
#include <oneapi/dnnl/dnnl.hpp>
#include "contract.h"
#include "kernels.h"

namespace lvseg {

namespace {
constexpr int kTile = 4;   // input tile side
constexpr int kOut = 2;    // output tile side
constexpr int kXi = 16;    // transformed tile positions

// Transformed filters, most recently used first: every 3x3 layer of a model keeps its own, found by the
// address of its weights. The token says whether the values there are still the ones transformed; in
// training an optimizer updates the weights in place (a new token at the same address), and the entry's
// memory is transformed again rather than allocated afresh. At most kFilterBytes in all (a 300 -> 300
// filter is 5.8 MB transformed).
struct Filter {
  const float* w;
  uint64_t token;
  std::vector<float> u;
};
constexpr size_t kFilterBytes = size_t{64} << 20;
}  // namespace

// Where it pays, measured per layer against oneDNN's direct kernels (docs/backends.md): under AVX2 for
// every layer of at least 64 tiles (1.4-2x faster); on AVX-512, where oneDNN's brgconv is strong at batch 1,
// only for layers of at least ~3M tile x channel products (the FCN's 16x16 layers, any batch of 8).
bool winogradApplies(const int* d) {
  if (d[ConvDim::FilterHeight] != 3 || d[ConvDim::FilterWidth] != 3 || d[ConvDim::StrideHeight] != 1 ||
      d[ConvDim::StrideWidth] != 1 || d[ConvDim::DilationHeight] != 1 || d[ConvDim::DilationWidth] != 1 ||
      d[ConvDim::InChannels] < 64 || d[ConvDim::OutChannels] < 64) {
    return false;
  }
  static const bool avx512 = [] {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
           isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  const int64_t tiles = int64_t{d[ConvDim::Batch]} * ((d[ConvDim::OutHeight] + kOut - 1) / kOut) *
                        ((d[ConvDim::OutWidth] + kOut - 1) / kOut);
  return avx512 ? tiles * d[ConvDim::InChannels] * d[ConvDim::OutChannels] >= (int64_t{3} << 20) : tiles >= 64;
}

namespace {
// U = G g G^T for every (ic, oc), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]; g from HWIO weights.
void transformFilter(const float* w, float* u, int64_t ic, int64_t oc) {
#pragma omp parallel if (ic * oc * 9 > (1 << 16))
  {
    std::vector<float> t(static_cast<size_t>(kTile * 3 * oc));  // G g: 4 rows x 3 columns, per oc
#pragma omp for schedule(static)
    for (int64_t c = 0; c < ic; c++) {
      const auto g = [&](int ky, int kx) { return w + ((ky * 3 + kx) * ic + c) * oc; };
      for (int kx = 0; kx < 3; kx++) {
        const float *g0 = g(0, kx), *g1 = g(1, kx), *g2 = g(2, kx);
        float *t0 = &t[(0 * 3 + kx) * oc], *t1 = &t[(1 * 3 + kx) * oc], *t2 = &t[(2 * 3 + kx) * oc], *t3 = &t[(3 * 3 + kx) * oc];
#pragma omp simd
        for (int64_t o = 0; o < oc; o++) {
          t0[o] = g0[o];
          t1[o] = 0.5f * (g0[o] + g1[o] + g2[o]);
          t2[o] = 0.5f * (g0[o] - g1[o] + g2[o]);
          t3[o] = g2[o];
        }
      }
      for (int i = 0; i < kTile; i++) {
        const float *r0 = &t[(i * 3 + 0) * oc], *r1 = &t[(i * 3 + 1) * oc], *r2 = &t[(i * 3 + 2) * oc];
        float* out[kTile];
        for (int j = 0; j < kTile; j++) out[j] = u + ((static_cast<int64_t>(i * kTile + j) * ic) + c) * oc;
#pragma omp simd
        for (int64_t o = 0; o < oc; o++) {
          out[0][o] = r0[o];
          out[1][o] = 0.5f * (r0[o] + r1[o] + r2[o]);
          out[2][o] = 0.5f * (r0[o] - r1[o] + r2[o]);
          out[3][o] = r2[o];
        }
      }
    }
  }
}

const std::vector<float>& transformedFilter(const float* w, int64_t ic, int64_t oc, uint64_t token) {
  static std::list<Filter> filters;
  static Filter scratch{nullptr, 0, {}};
  const size_t size = static_cast<size_t>(kXi * ic * oc);
  if (token == 0) {
    scratch.u.resize(size);
    transformFilter(w, scratch.u.data(), ic, oc);
    return scratch.u;
  }
  auto it = std::find_if(filters.begin(), filters.end(), [&](const Filter& f) { return f.w == w && f.u.size() == size; });
  if (it != filters.end()) {
    filters.splice(filters.begin(), filters, it);
    Filter& f = filters.front();
    if (f.token != token) {
      transformFilter(w, f.u.data(), ic, oc);
      f.token = token;
    }
    return f.u;
  }
  Filter& f = filters.emplace_front(Filter{w, token, std::vector<float>(size)});
  transformFilter(w, f.u.data(), ic, oc);
  size_t bytes = 0;
  for (auto e = filters.begin(); e != filters.end();) {
    bytes += e->u.size() * sizeof(float);
    e = (bytes > kFilterBytes && e != filters.begin()) ? filters.erase(e) : std::next(e);
  }
  return f.u;
}
}  // namespace

void conv2dWinograd(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu, uint64_t weightsToken) {
  const int64_t n = d[ConvDim::Batch], ih = d[ConvDim::InHeight], iw = d[ConvDim::InWidth], ic = d[ConvDim::InChannels];
  const int64_t oh = d[ConvDim::OutHeight], ow = d[ConvDim::OutWidth], oc = d[ConvDim::OutChannels];
  const int64_t pt = d[ConvDim::PadTop], pl = d[ConvDim::PadLeft];
  const int64_t th = (oh + kOut - 1) / kOut, tw = (ow + kOut - 1) / kOut, tiles = n * th * tw;

  // The filter in the transformed domain, kept while the same weights come back (inference).
  const std::vector<float>& u = transformedFilter(w, ic, oc, weightsToken);

  // Scratch kept between calls (calls are serialised): the transformed input and products, and a row of
  // zeros that stands for the input outside the image.
  static std::vector<float> v, m, zeros;
  v.resize(static_cast<size_t>(kXi * tiles * ic));
  m.resize(static_cast<size_t>(kXi * tiles * oc));
  zeros.resize(static_cast<size_t>(ic), 0.f);

  // V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], per tile, simd over input channels.
#pragma omp parallel for schedule(static) if (tiles * ic * 16 > (1 << 16))
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t b = t / (th * tw), ty = (t / tw) % th, tx = t % tw;
    const float* p[kTile][kTile];
    for (int i = 0; i < kTile; i++) {
      const int64_t yy = ty * kOut - pt + i;
      for (int j = 0; j < kTile; j++) {
        const int64_t xx = tx * kOut - pl + j;
        p[i][j] = (yy >= 0 && yy < ih && xx >= 0 && xx < iw) ? x + ((b * ih + yy) * iw + xx) * ic : zeros.data();
      }
    }
    float* out[kXi];
    for (int k = 0; k < kXi; k++) out[k] = v.data() + (k * tiles + t) * ic;
#pragma omp simd
    for (int64_t c = 0; c < ic; c++) {
      float r[kTile][kTile];  // B^T d
      for (int j = 0; j < kTile; j++) {
        const float d0 = p[0][j][c], d1 = p[1][j][c], d2 = p[2][j][c], d3 = p[3][j][c];
        r[0][j] = d0 - d2;
        r[1][j] = d1 + d2;
        r[2][j] = d2 - d1;
        r[3][j] = d1 - d3;
      }
      for (int i = 0; i < kTile; i++) {
        out[i * kTile + 0][c] = r[i][0] - r[i][2];
        out[i * kTile + 1][c] = r[i][1] + r[i][2];
        out[i * kTile + 2][c] = r[i][2] - r[i][1];
        out[i * kTile + 3][c] = r[i][1] - r[i][3];
      }
    }
  }

  int mm[MatMulDim::Count] = {};
  mm[MatMulDim::Batch] = kXi;
  mm[MatMulDim::M] = static_cast<int>(tiles);
  mm[MatMulDim::K] = static_cast<int>(ic);
  mm[MatMulDim::N] = static_cast<int>(oc);
  mm[MatMulDim::BatchB] = kXi;
  matMul(v.data(), u.data(), nullptr, m.data(), mm, false);

  // y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1], + bias, relu; tiles past the output's edge are cut.
#pragma omp parallel for schedule(static) if (tiles * oc * 16 > (1 << 16))
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t b = t / (th * tw), ty = (t / tw) % th, tx = t % tw;
    const float* in[kXi];
    for (int k = 0; k < kXi; k++) in[k] = m.data() + (k * tiles + t) * oc;
    float* dst[kOut][kOut];
    bool inside[kOut][kOut];
    for (int i = 0; i < kOut; i++) {
      for (int j = 0; j < kOut; j++) {
        const int64_t yy = ty * kOut + i, xx = tx * kOut + j;
        inside[i][j] = yy < oh && xx < ow;
        dst[i][j] = inside[i][j] ? y + ((b * oh + yy) * ow + xx) * oc : nullptr;
      }
    }
    for (int64_t o0 = 0; o0 < oc; o0 += 64) {
      const int64_t o1 = std::min(oc, o0 + 64);
      float res[kOut][kOut][64];
#pragma omp simd
      for (int64_t o = o0; o < o1; o++) {
        float s[kTile][kOut];  // the columns of A^T M
        for (int j = 0; j < kTile; j++) {
          s[j][0] = in[0 * kTile + j][o] + in[1 * kTile + j][o] + in[2 * kTile + j][o];
          s[j][1] = in[1 * kTile + j][o] - in[2 * kTile + j][o] - in[3 * kTile + j][o];
        }
        const float bo = bias ? bias[o] : 0.f;
        for (int i = 0; i < kOut; i++) {
          float v0 = s[0][i] + s[1][i] + s[2][i] + bo;
          float v1 = s[1][i] - s[2][i] - s[3][i] + bo;
          if (relu) {
            v0 = std::max(v0, 0.f);
            v1 = std::max(v1, 0.f);
          }
          res[i][0][o - o0] = v0;
          res[i][1][o - o0] = v1;
        }
      }
      for (int i = 0; i < kOut; i++) {
        for (int j = 0; j < kOut; j++) {
          if (inside[i][j]) std::copy(res[i][j], res[i][j] + (o1 - o0), dst[i][j] + o0);
        }
      }
    }
  }
}

}  // namespace lvseg
