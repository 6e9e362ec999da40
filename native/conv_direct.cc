// Forward convolution as direct loops where oneDNN does poorly: few channels on both sides (the gradient of
// the FCN's 31x31/16 upsampling with respect to its input is a 2 -> 2 forward convolution; oneDNN runs it
// on its gemm-based convolution, x64:gemm:jit, which im2cols a 31x31 window per output pixel: 0.66 ms at
// best on AVX2 for ~1M multiply-adds), and few outputs from many inputs (the FCN's score layer, 3x3,
// 300 -> 2: oneDNN's blocked kernels pad the two channels to a whole block, ~7 GFLOP/s, 0.35-0.45 ms
// under the AVX2 cap; 0.20 ms here).
#include <algorithm>
#include <cstdint>
#include <vector>
#include "kernels.h"

namespace lvseg {

void conv2dForwardDirect(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu) {
  const int64_t n = d[0], ih = d[1], iw = d[2], ic = d[3], oh = d[4], ow = d[5], oc = d[6], kh = d[7], kw = d[8];
  const int64_t sh = d[9], sw = d[10], pt = d[11], pl = d[12], dh = d[15], dw = d[16], taps = kh * kw;
  // Many inputs: the HWIO filter as [OC][KH*KW][IC], so that each output is a simd dot product over
  // contiguous input channels. Few: the HWIO filter as it is, input channel by output channel.
  const bool dot = ic >= 16;
  std::vector<float> wT(dot ? static_cast<size_t>(oc * taps * ic) : 0);
  for (int64_t t = 0; dot && t < taps; t++) {
    for (int64_t c = 0; c < ic; c++) {
      for (int64_t o = 0; o < oc; o++) wT[static_cast<size_t>((o * taps + t) * ic + c)] = w[(t * ic + c) * oc + o];
    }
  }
#pragma omp parallel for collapse(2) schedule(static) if (n * oh * ow * taps * ic * oc > (1 << 20))
  for (int64_t b = 0; b < n; b++) {
    for (int64_t oy = 0; oy < oh; oy++) {
      for (int64_t ox = 0; ox < ow; ox++) {
        float acc[kMaxDirectOutputs];
        for (int64_t o = 0; o < oc; o++) acc[o] = bias ? bias[o] : 0.f;
        for (int64_t ky = 0; ky < kh; ky++) {
          const int64_t iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= ih) continue;
          for (int64_t kx = 0; kx < kw; kx++) {
            const int64_t ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= iw) continue;
            const float* xv = x + ((b * ih + iy) * iw + ix) * ic;
            if (!dot) {
              const float* wk = w + (ky * kw + kx) * ic * oc;
              for (int64_t c = 0; c < ic; c++) {
                for (int64_t o = 0; o < oc; o++) acc[o] += xv[c] * wk[c * oc + o];
              }
              continue;
            }
            for (int64_t o = 0; o < oc; o++) {
              const float* wv = wT.data() + (o * taps + ky * kw + kx) * ic;
              float sum = 0.f;
#pragma omp simd reduction(+ : sum)
              for (int64_t c = 0; c < ic; c++) sum += xv[c] * wv[c];
              acc[o] += sum;
            }
          }
        }
        float* out = y + ((b * oh + oy) * ow + ox) * oc;
        for (int64_t o = 0; o < oc; o++) out[o] = relu ? std::max(acc[o], 0.f) : acc[o];
      }
    }
  }
}

}  // namespace lvseg
