// Max pooling and its gradient as direct loops over NHWC, vectorised across channels. oneDNN 2.6's AVX2
// pooling is slow (an FCN step capped at AVX2 spent 11.9 ms in MaxPoolGrad and 4.3 ms in MaxPool, 1.5 ms
// together on AVX-512), and its gradient needs a forward pass first to fill the argmax workspace; here the
// gradient finds each window's argmax itself, in the one pass that writes dx.
// Ties and NaN as the tfjs cpu kernels: the first strictly greater value in the window (row-major) wins.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>
#include "kernels.h"

namespace lvseg {

namespace {

struct Pool {
  int64_t n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl;
  explicit Pool(const int* d)
      : n(d[0]), ih(d[1]), iw(d[2]), c(d[3]), oh(d[4]), ow(d[5]), kh(d[6]), kw(d[7]), sh(d[8]), sw(d[9]), pt(d[10]),
        pl(d[11]) {}
  // The window of output (oy, ox), clipped to the input: rows [y0, y1), columns [x0, x1).
  void window(int64_t oy, int64_t ox, int64_t& y0, int64_t& y1, int64_t& x0, int64_t& x1) const {
    y0 = std::max<int64_t>(0, oy * sh - pt);
    y1 = std::min(ih, oy * sh - pt + kh);
    x0 = std::max<int64_t>(0, ox * sw - pl);
    x1 = std::min(iw, ox * sw - pl + kw);
  }
};

// best[ch] = max over the window, first strictly greater wins; arg[ch] = its position in the window
// (row-major over the clipped window), or -1 if no value beat -inf. int32 positions keep the select as
// wide as the float compare, so both vectorise together.
inline void windowMax(const float* x, const Pool& p, int64_t b, int64_t oy, int64_t ox, float* best, int32_t* arg) {
  int64_t y0, y1, x0, x1;
  p.window(oy, ox, y0, y1, x0, x1);
  const int64_t c = p.c;
  std::fill(best, best + c, -std::numeric_limits<float>::infinity());
  if (arg) std::fill(arg, arg + c, -1);
  int32_t pos = 0;
  for (int64_t y = y0; y < y1; y++) {
    for (int64_t xx = x0; xx < x1; xx++, pos++) {
      const float* v = x + ((b * p.ih + y) * p.iw + xx) * c;
      if (arg) {
#pragma omp simd
        for (int64_t ch = 0; ch < c; ch++) {
          const bool greater = v[ch] > best[ch];
          best[ch] = greater ? v[ch] : best[ch];
          arg[ch] = greater ? pos : arg[ch];
        }
      } else {
#pragma omp simd
        for (int64_t ch = 0; ch < c; ch++) best[ch] = v[ch] > best[ch] ? v[ch] : best[ch];
      }
    }
  }
}

// The 2x2 stride-2 pool of the FCN and the U-Net, unpadded: four loads and three compares per value, with no
// per-window bookkeeping (the generic loop costs 2-4x more where channels are few, e.g. 16).
bool isPool2x2(const Pool& p) {
  return p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.pt == 0 && p.pl == 0 && p.oh * 2 <= p.ih && p.ow * 2 <= p.iw;
}

void maxPool2x2(const float* x, float* y, const Pool& p) {
  const int64_t c = p.c, rowStride = p.iw * c;
#pragma omp parallel for collapse(2) schedule(static) if (p.n * p.ih * p.iw * c > kParallelMin)
  for (int64_t b = 0; b < p.n; b++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      const float* top = x + ((b * p.ih + oy * 2) * p.iw) * c;
      float* out = y + ((b * p.oh + oy) * p.ow) * c;
      for (int64_t ox = 0; ox < p.ow; ox++) {
        const float* v = top + ox * 2 * c;
        float* o = out + ox * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ch++) {
          float best = -std::numeric_limits<float>::infinity();
          best = v[ch] > best ? v[ch] : best;
          best = v[c + ch] > best ? v[c + ch] : best;
          best = v[rowStride + ch] > best ? v[rowStride + ch] : best;
          best = v[rowStride + c + ch] > best ? v[rowStride + c + ch] : best;
          o[ch] = best;
        }
      }
    }
  }
}

// The gradient of maxPool2x2 where the windows tile the input exactly: each dx value is written once.
void maxPoolGrad2x2Tiled(const float* x, const float* dy, float* dx, const Pool& p) {
  const int64_t c = p.c, rowStride = p.iw * c;
#pragma omp parallel for collapse(2) schedule(static) if (p.n * p.ih * p.iw * c > kParallelMin)
  for (int64_t b = 0; b < p.n; b++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      const int64_t top = ((b * p.ih + oy * 2) * p.iw) * c;
      const float* g = dy + ((b * p.oh + oy) * p.ow) * c;
      for (int64_t ox = 0; ox < p.ow; ox++) {
        const float* v = x + top + ox * 2 * c;
        float* o = dx + top + ox * 2 * c;
        const float* gv = g + ox * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ch++) {
          float best = -std::numeric_limits<float>::infinity();
          int32_t arg = -1;
          if (v[ch] > best) { best = v[ch]; arg = 0; }
          if (v[c + ch] > best) { best = v[c + ch]; arg = 1; }
          if (v[rowStride + ch] > best) { best = v[rowStride + ch]; arg = 2; }
          if (v[rowStride + c + ch] > best) arg = 3;
          o[ch] = arg == 0 ? gv[ch] : 0.f;
          o[c + ch] = arg == 1 ? gv[ch] : 0.f;
          o[rowStride + ch] = arg == 2 ? gv[ch] : 0.f;
          o[rowStride + c + ch] = arg == 3 ? gv[ch] : 0.f;
        }
      }
    }
  }
}

}  // namespace

void maxPoolDirect(const float* x, float* y, const int* d) {
  const Pool p(d);
  if (isPool2x2(p)) return maxPool2x2(x, y, p);
#pragma omp parallel for collapse(2) schedule(static) if (p.n * p.ih * p.iw * p.c > kParallelMin)
  for (int64_t b = 0; b < p.n; b++) {
    for (int64_t oy = 0; oy < p.oh; oy++) {
      for (int64_t ox = 0; ox < p.ow; ox++) windowMax(x, p, b, oy, ox, y + ((b * p.oh + oy) * p.ow + ox) * p.c, nullptr);
    }
  }
}

void maxPoolGradDirect(const float* x, const float* dy, float* dx, const int* d) {
  const Pool p(d);
  // Windows that neither overlap nor leave gaps (the 2x2/2 pools of the FCN and U-Net on even sizes) write
  // every dx value exactly once; otherwise dx is cleared first and windows add into it.
  const bool tiles = p.sh == p.kh && p.sw == p.kw && p.pt == 0 && p.pl == 0 && p.oh * p.kh == p.ih && p.ow * p.kw == p.iw;
  if (tiles && isPool2x2(p)) return maxPoolGrad2x2Tiled(x, dy, dx, p);
  // Output rows whose windows share no input rows can run in parallel; overlapping rows go one batch
  // entry per thread.
  const bool rowsApart = p.sh >= p.kh;
  const bool parallel = p.n * p.ih * p.iw * p.c > kParallelMin;
  if (!tiles) std::memset(dx, 0, static_cast<size_t>(p.n * p.ih * p.iw * p.c) * sizeof(float));
  auto row = [&](int64_t b, int64_t oy, float* best, int32_t* arg) {
    for (int64_t ox = 0; ox < p.ow; ox++) {
      windowMax(x, p, b, oy, ox, best, arg);
      const float* g = dy + ((b * p.oh + oy) * p.ow + ox) * p.c;
      int64_t y0, y1, x0, x1;
      p.window(oy, ox, y0, y1, x0, x1);
      int32_t pos = 0;
      for (int64_t yy = y0; yy < y1; yy++) {
        for (int64_t xx = x0; xx < x1; xx++, pos++) {
          float* out = dx + ((b * p.ih + yy) * p.iw + xx) * p.c;
          if (tiles) {
#pragma omp simd
            for (int64_t ch = 0; ch < p.c; ch++) out[ch] = arg[ch] == pos ? g[ch] : 0.f;
          } else {
#pragma omp simd
            for (int64_t ch = 0; ch < p.c; ch++) out[ch] += arg[ch] == pos ? g[ch] : 0.f;
          }
        }
      }
    }
  };
  if (rowsApart) {
#pragma omp parallel if (parallel)
    {
      std::vector<float> best(static_cast<size_t>(p.c));
      std::vector<int32_t> arg(static_cast<size_t>(p.c));
#pragma omp for collapse(2) schedule(static)
      for (int64_t b = 0; b < p.n; b++) {
        for (int64_t oy = 0; oy < p.oh; oy++) row(b, oy, best.data(), arg.data());
      }
    }
  } else {
#pragma omp parallel if (parallel && p.n > 1)
    {
      std::vector<float> best(static_cast<size_t>(p.c));
      std::vector<int32_t> arg(static_cast<size_t>(p.c));
#pragma omp for schedule(static)
      for (int64_t b = 0; b < p.n; b++) {
        for (int64_t oy = 0; oy < p.oh; oy++) row(b, oy, best.data(), arg.data());
      }
    }
  }
}

}  // namespace lvseg
