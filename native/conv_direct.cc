// Forward convolution as direct loops where both sides have few channels (the gradient of the FCN's
// 31x31/16 upsampling with respect to its input is a 2 -> 2 forward convolution): oneDNN runs that shape
// on its gemm-based convolution (x64:gemm:jit, which im2cols a 31x31 window per output pixel; 0.66 ms at
// best on AVX2 for ~1M multiply-adds), the path whose per-call buffers conv.cc's backward loops avoid.
#include <algorithm>
#include <cstdint>
#include "kernels.h"

namespace lvseg {

void conv2dForwardFewChannels(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu) {
  const int64_t n = d[0], ih = d[1], iw = d[2], ic = d[3], oh = d[4], ow = d[5], oc = d[6], kh = d[7], kw = d[8];
  const int64_t sh = d[9], sw = d[10], pt = d[11], pl = d[12], dh = d[15], dw = d[16];
#pragma omp parallel for collapse(2) schedule(static) if (n * oh * ow * kh * kw * ic * oc > (1 << 20))
  for (int64_t b = 0; b < n; b++) {
    for (int64_t oy = 0; oy < oh; oy++) {
      for (int64_t ox = 0; ox < ow; ox++) {
        float* out = y + ((b * oh + oy) * ow + ox) * oc;
        for (int64_t o = 0; o < oc; o++) out[o] = bias ? bias[o] : 0.f;
        for (int64_t ky = 0; ky < kh; ky++) {
          const int64_t iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= ih) continue;
          for (int64_t kx = 0; kx < kw; kx++) {
            const int64_t ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= iw) continue;
            const float* xv = x + ((b * ih + iy) * iw + ix) * ic;
            const float* wk = w + (ky * kw + kx) * ic * oc;
            for (int64_t c = 0; c < ic; c++) {
              for (int64_t o = 0; o < oc; o++) out[o] += xv[c] * wk[c * oc + o];
            }
          }
        }
        if (relu) {
          for (int64_t o = 0; o < oc; o++) out[o] = std::max(out[o], 0.f);
        }
      }
    }
  }
}

}  // namespace lvseg
