// 3x3 stride-1 convolutions with many channels as Winograd F(m x m, 3x3) (Lavin & Gray, 2016): an m x m
// output tile takes (m + 2)^2 multiplications per channel pair instead of 9 m^2, that is 16 instead of 36
// for F(2x2, 3x3) and 36 instead of 144 for F(4x4, 3x3). oneDNN offers Winograd only on AVX-512; on AVX2
// its direct kernels ran the FCN's layers at ~150-190 GFLOP/s, most of the FCN's inference at batch 1.
// A 5x5 (or 6x6) stride-2 convolution is the same thing after a polyphase split: with the input's four
// phases (even/odd rows x even/odd columns) as 4 x ic channels, it is a 3x3 stride-1 convolution whose
// filter holds the 5x5 taps by phase (zeros where a phase has only 2 taps): with 4x4 tiles, 4 x 36
// multiplications per tile and channel pair instead of 16 x 25 (the FCN's conv2, 100 -> 200).
//   V[xi][tile][vc] = (B^T d B)[xi]  the input tiles, (m + 2)^2 windows with a stride of m, zeros outside;
//                                    vc = phase x ic + c (one phase for stride 1)
//   U[xi][vc][oc]   = (G g G^T)[xi]  the filter, made again only when its weights token changes (onednn/kernel.ts)
//   M[xi]           = V[xi] U[xi]    (m + 2)^2 matmuls of [tiles, vc] x [vc, oc] on oneDNN
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
// The transforms of F(M x M, 3x3) as they apply to one column (or row) of a tile, T = M + 2 the input
// tile's side: input r = B^T d, filter u = G g, output o = A^T m. Written out, they are straight-line code
// that vectorises over the channels and shares partial sums.
template <int M>
struct Transforms;

template <>
struct Transforms<2> {
  static constexpr int T = 4;
  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
  static void input(const float (&d)[T], float (&r)[T]) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  // G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
  static void filter(const float (&g)[3], float (&u)[T]) {
    u[0] = g[0];
    u[1] = 0.5f * (g[0] + g[1] + g[2]);
    u[2] = 0.5f * (g[0] - g[1] + g[2]);
    u[3] = g[2];
  }
  // A^T = [1 1 1 0; 0 1 -1 -1]
  static void output(const float (&m)[T], float (&o)[2]) {
    o[0] = m[0] + m[1] + m[2];
    o[1] = m[1] - m[2] - m[3];
  }
};

template <>
struct Transforms<4> {
  static constexpr int T = 6;
  // B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
  static void input(const float (&d)[T], float (&r)[T]) {
    const float a = d[4] - 4.f * d[2], b = d[3] - 4.f * d[1], c = d[4] - d[2], e = 2.f * (d[3] - d[1]);
    r[0] = 4.f * d[0] - 5.f * d[2] + d[4];
    r[1] = a + b;
    r[2] = a - b;
    r[3] = c + e;
    r[4] = c - e;
    r[5] = 4.f * d[1] - 5.f * d[3] + d[5];
  }
  // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
  static void filter(const float (&g)[3], float (&u)[T]) {
    const float outer = g[0] + g[2], far = g[0] / 24.f + g[2] / 6.f;
    u[0] = g[0] / 4.f;
    u[1] = -(outer + g[1]) / 6.f;
    u[2] = -(outer - g[1]) / 6.f;
    u[3] = far + g[1] / 12.f;
    u[4] = far - g[1] / 12.f;
    u[5] = g[2];
  }
  // A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
  static void output(const float (&m)[T], float (&o)[4]) {
    const float a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], e = m[3] - m[4];
    o[0] = m[0] + a + c;
    o[1] = b + 2.f * e;
    o[2] = a + 4.f * c;
    o[3] = b + 8.f * e + m[5];
  }
};

// Transformed filters, most recently used first: every layer of a model keeps its own, found by the
// address of its weights (and the size, which tells the tile). The token says whether the values there
// are still the ones transformed; in training an optimizer updates the weights in place (a new token at
// the same address), and the entry's memory is transformed again rather than allocated afresh. At most
// kFilterBytes in all (a 300 -> 300 filter is 13 MB transformed for 4x4 tiles).
struct Filter {
  const float* w;
  uint64_t token;
  std::vector<float> u;
};
constexpr size_t kFilterBytes = size_t{96} << 20;

// The stride a layer runs Winograd with: 1 for 3x3 stride 1, 2 for 5x5 or 6x6 stride 2 (3x3 taps per
// phase); 0 for any other layer.
int winogradStride(const int* d) {
  const int k = d[ConvDim::FilterHeight], s = d[ConvDim::StrideHeight];
  if (d[ConvDim::FilterWidth] != k || d[ConvDim::StrideWidth] != s || d[ConvDim::DilationHeight] != 1 ||
      d[ConvDim::DilationWidth] != 1) {
    return 0;
  }
  return (s == 1 && k == 3) || (s == 2 && (k == 5 || k == 6)) ? s : 0;
}

int64_t tileCount(const int* d, int m) {
  return int64_t{d[ConvDim::Batch]} * ((d[ConvDim::OutHeight] + m - 1) / m) * ((d[ConvDim::OutWidth] + m - 1) / m);
}

bool avx512() {
  static const bool is = [] {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
           isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  return is;
}

// The output tile's side for a layer that runs Winograd: 4x4 where it takes fewer multiplications than 2x2
// (tiles cut at the output's edge count whole): 16x16 takes 16 tiles against 64, 6x6 takes 4 against 9.
// Measured per layer, 4x4 was 10-45% faster than 2x2 under AVX2 and on AVX-512 (docs/backends.md).
int winogradTile(const int* d) { return 36 * tileCount(d, 4) < 16 * tileCount(d, 2) ? 4 : 2; }
}  // namespace

// Where it pays, measured per layer against oneDNN's direct kernels (docs/backends.md): under AVX2 for
// every layer of at least 64 2x2 tiles and 48 input channels (1.3-2.3x faster; a 5x5/2 layer of 16 -> 64
// was slower); on AVX-512, where oneDNN's brgconv is strong on small layers, from 128 channels (phases
// counted) in and out and ~3M tile x channel products (2x2 tiles).
bool winogradApplies(const int* d) {
  const int s = winogradStride(d);
  const int64_t ic = d[ConvDim::InChannels], vcs = int64_t{s} * s * ic, oc = d[ConvDim::OutChannels];
  if (s == 0 || ic < 48 || vcs < 64 || oc < 64) return false;
  const int64_t tiles = tileCount(d, 2);
  return avx512() ? vcs >= 128 && oc >= 128 && tiles * vcs * oc >= (int64_t{3} << 20) : tiles >= 64;
}

namespace {
// U = G g G^T for every (vc, oc); g from HWIO weights of side k, tap (ky, kx) of phase (py, px) being the
// weights' (s ky + py, s kx + px), or zeros past the filter's edge. Simd over output channels.
template <int M>
void transformFilter(const float* w, float* u, int64_t k, int64_t s, int64_t ic, int64_t oc) {
  using W = Transforms<M>;
  constexpr int T = W::T;
  const int64_t vcs = s * s * ic;
#pragma omp parallel if (vcs * oc * 9 > (1 << 16))
  {
    const std::vector<float> zeros(static_cast<size_t>(oc), 0.f);
#pragma omp for schedule(static)
    for (int64_t vc = 0; vc < vcs; vc++) {
      const int64_t phase = vc / ic, c = vc % ic, py = phase / s, px = phase % s;
      const float* g[3][3];
      for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
          const int64_t wy = s * ky + py, wx = s * kx + px;
          g[ky][kx] = wy < k && wx < k ? w + ((wy * k + wx) * ic + c) * oc : zeros.data();
        }
      }
      float* out[T][T];
      for (int i = 0; i < T; i++) {
        for (int j = 0; j < T; j++) out[i][j] = u + ((static_cast<int64_t>(i * T + j) * vcs) + vc) * oc;
      }
#pragma omp simd
      for (int64_t o = 0; o < oc; o++) {
        float t[3][T];  // (G g)^T: G times each column of g
        for (int kx = 0; kx < 3; kx++) {
          const float col[3] = {g[0][kx][o], g[1][kx][o], g[2][kx][o]};
          W::filter(col, t[kx]);
        }
        for (int i = 0; i < T; i++) {
          const float row[3] = {t[0][i], t[1][i], t[2][i]};
          float ui[T];
          W::filter(row, ui);
          for (int j = 0; j < T; j++) out[i][j][o] = ui[j];
        }
      }
    }
  }
}

// The entry for the weights at w transformed into `size` floats (the size tells the tile), and whether
// its values must be transformed (again): new, or the token changed. One list for both tile sizes, so
// kFilterBytes bounds them together. Token 0 (values that may change under us): a scratch entry, always stale.
std::vector<float>& filterEntry(const float* w, size_t size, uint64_t token, bool& stale) {
  static std::list<Filter> filters;
  static Filter scratch{nullptr, 0, {}};
  stale = true;
  if (token == 0) {
    scratch.u.resize(size);
    return scratch.u;
  }
  auto it = std::find_if(filters.begin(), filters.end(), [&](const Filter& f) { return f.w == w && f.u.size() == size; });
  if (it != filters.end()) {
    filters.splice(filters.begin(), filters, it);
    Filter& f = filters.front();
    stale = f.token != token;
    f.token = token;
    return f.u;
  }
  Filter& f = filters.emplace_front(Filter{w, token, std::vector<float>(size)});
  size_t bytes = 0;
  for (auto e = filters.begin(); e != filters.end();) {
    bytes += e->u.size() * sizeof(float);
    e = (bytes > kFilterBytes && e != filters.begin()) ? filters.erase(e) : std::next(e);
  }
  return f.u;
}

// Scratch kept between calls (calls are serialised), shared by both tile sizes: the transformed input V,
// the products M, and a row of zeros that stands for the input outside the image.
std::vector<float> transformedInput, products, zeroRow;

template <int M>
void winograd(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu, uint64_t weightsToken) {
  using W = Transforms<M>;
  constexpr int T = W::T, Xi = T * T;
  const int64_t n = d[ConvDim::Batch], ih = d[ConvDim::InHeight], iw = d[ConvDim::InWidth], ic = d[ConvDim::InChannels];
  const int64_t oh = d[ConvDim::OutHeight], ow = d[ConvDim::OutWidth], oc = d[ConvDim::OutChannels];
  const int64_t pt = d[ConvDim::PadTop], pl = d[ConvDim::PadLeft];
  const int64_t th = (oh + M - 1) / M, tw = (ow + M - 1) / M, tiles = n * th * tw;
  const int64_t s = winogradStride(d), vcs = s * s * ic;

  // The filter in the transformed domain, kept while the same weights come back (inference).
  bool stale;
  std::vector<float>& u = filterEntry(w, static_cast<size_t>(Xi * vcs * oc), weightsToken, stale);
  if (stale) transformFilter<M>(w, u.data(), d[ConvDim::FilterHeight], s, ic, oc);

  std::vector<float>& v = transformedInput;
  std::vector<float>& m = products;
  std::vector<float>& zeros = zeroRow;
  v.resize(static_cast<size_t>(Xi * tiles * vcs));
  m.resize(static_cast<size_t>(Xi * tiles * oc));
  zeros.resize(static_cast<size_t>(ic), 0.f);

  // V = B^T d B per tile and phase, simd over input channels. Row i of a tile in phase py is the
  // input's row s (M ty + i) + py - pt (likewise columns).
#pragma omp parallel for schedule(static) if (tiles * vcs * Xi > (1 << 16))
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t b = t / (th * tw), ty = (t / tw) % th, tx = t % tw;
    for (int64_t phase = 0; phase < s * s; phase++) {
      const int64_t py = phase / s, px = phase % s;
      const float* p[T][T];
      for (int i = 0; i < T; i++) {
        const int64_t yy = s * (ty * M + i) + py - pt;
        for (int j = 0; j < T; j++) {
          const int64_t xx = s * (tx * M + j) + px - pl;
          p[i][j] = (yy >= 0 && yy < ih && xx >= 0 && xx < iw) ? x + ((b * ih + yy) * iw + xx) * ic : zeros.data();
        }
      }
      // 64 channels at a time into `res`, then out row by row: with the 36 rows of F(4x4) written in the
      // same loop, slabs whose size is a multiple of 4 KB (the FCN's conv2) evicted each other's lines
      // from the L1 before they were whole (3.9 ms instead of 0.4).
      for (int64_t c0 = 0; c0 < ic; c0 += 64) {
        const int64_t c1 = std::min(ic, c0 + 64);
        float res[T][T][64];
#pragma omp simd
        for (int64_t c = c0; c < c1; c++) {
          float r[T][T];  // (B^T d)^T: B^T times each column of d
          for (int j = 0; j < T; j++) {
            float col[T];
            for (int i = 0; i < T; i++) col[i] = p[i][j][c];
            W::input(col, r[j]);
          }
          for (int i = 0; i < T; i++) {
            float row[T], vi[T];
            for (int j = 0; j < T; j++) row[j] = r[j][i];
            W::input(row, vi);
            for (int j = 0; j < T; j++) res[i][j][c - c0] = vi[j];
          }
        }
        for (int i = 0; i < T; i++) {
          for (int j = 0; j < T; j++) {
            std::copy(res[i][j], res[i][j] + (c1 - c0), v.data() + ((i * T + j) * tiles + t) * vcs + phase * ic + c0);
          }
        }
      }
    }
  }

  int mm[MatMulDim::Count] = {};
  mm[MatMulDim::Batch] = Xi;
  mm[MatMulDim::M] = static_cast<int>(tiles);
  mm[MatMulDim::K] = static_cast<int>(vcs);
  mm[MatMulDim::N] = static_cast<int>(oc);
  mm[MatMulDim::BatchB] = Xi;
  matMul(v.data(), u.data(), nullptr, m.data(), mm, false);

  // y = A^T M A + bias, relu; tiles past the output's edge are cut. Simd over output channels, 64 at a time.
#pragma omp parallel for schedule(static) if (tiles * oc * Xi > (1 << 16))
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t b = t / (th * tw), ty = (t / tw) % th, tx = t % tw;
    const float* in[T][T];
    for (int i = 0; i < T; i++) {
      for (int j = 0; j < T; j++) in[i][j] = m.data() + ((i * T + j) * tiles + t) * oc;
    }
    float* dst[M][M];
    for (int i = 0; i < M; i++) {
      for (int j = 0; j < M; j++) {
        const int64_t yy = ty * M + i, xx = tx * M + j;
        dst[i][j] = yy < oh && xx < ow ? y + ((b * oh + yy) * ow + xx) * oc : nullptr;
      }
    }
    for (int64_t o0 = 0; o0 < oc; o0 += 64) {
      const int64_t o1 = std::min(oc, o0 + 64);
      float res[M][M][64];
#pragma omp simd
      for (int64_t o = o0; o < o1; o++) {
        float a[T][M];  // (A^T m)^T: A^T times each column of m
        for (int j = 0; j < T; j++) {
          float col[T];
          for (int i = 0; i < T; i++) col[i] = in[i][j][o];
          W::output(col, a[j]);
        }
        const float bo = bias ? bias[o] : 0.f;
        for (int i = 0; i < M; i++) {
          float row[T], yi[M];
          for (int j = 0; j < T; j++) row[j] = a[j][i];
          W::output(row, yi);
          for (int j = 0; j < M; j++) res[i][j][o - o0] = relu ? std::max(yi[j] + bo, 0.f) : yi[j] + bo;
        }
      }
      for (int i = 0; i < M; i++) {
        for (int j = 0; j < M; j++) {
          if (dst[i][j] != nullptr) std::copy(res[i][j], res[i][j] + (o1 - o0), dst[i][j] + o0);
        }
      }
    }
  }
}
}  // namespace

void conv2dWinograd(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu, uint64_t weightsToken) {
  if (winogradTile(d) == 4) return winograd<4>(x, w, bias, y, d, relu, weightsToken);
  winograd<2>(x, w, bias, y, d, relu, weightsToken);
}

}  // namespace lvseg
