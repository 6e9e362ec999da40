// Batch normalization over channels-last tensors, as per-channel passes: the forward affine map and the
// two per-channel sums its gradient needs. tfjs's own gradient builds the same from a dozen full-size
// temporaries (a Tile of the scale to the activation's shape among them).
#include <vector>
#include "kernels.h"

namespace lvseg {

void channelAffine(const float* x, const float* m, const float* a, const float* b, float* y, int64_t rows, int64_t channels,
                   bool relu) {
#pragma omp parallel for schedule(static) if (rows * channels > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
    if (relu) {
      // the unary Relu's rule (elementwise.cc): NaN passes through
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) {
        const float v = (xr[c] - m[c]) * a[c] + b[c];
        yr[c] = v <= 0.f ? 0.f : v;
      }
      continue;
    }
#pragma omp simd
    for (int64_t c = 0; c < channels; c++) yr[c] = (xr[c] - m[c]) * a[c] + b[c];
  }
}

void channelSums(const float* x, const float* dy, const float* mean, float* sumDy, float* sumDyXc, int64_t rows,
                 int64_t channels, const float* mask) {
  // Double accumulators, like the cpu backend's JavaScript sums, so long reductions agree with it.
  std::vector<double> total1(channels, 0.0), total2(channels, 0.0);
#pragma omp parallel if (rows * channels > kParallelMin)
  {
    std::vector<double> part1(channels, 0.0), part2(channels, 0.0);
    std::vector<float> masked(mask ? channels : 0);
#pragma omp for schedule(static) nowait
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = x + r * channels;
      const float* dyr = dy + r * channels;
      if (mask) {
        // the relu's gradient on the way: dy where the relu's output is positive (ReluGrad's rule), as a
        // vector select first (a branch per value in the sums below took 10x as long: mispredicted)
        const float* mr = mask + r * channels;
        float* g = masked.data();
#pragma omp simd
        for (int64_t c = 0; c < channels; c++) g[c] = mr[c] > 0.f ? dyr[c] : 0.f;
        dyr = g;
      }
      for (int64_t c = 0; c < channels; c++) {
        part1[c] += dyr[c];
        part2[c] += static_cast<double>(dyr[c]) * (xr[c] - mean[c]);
      }
    }
#pragma omp critical
    for (int64_t c = 0; c < channels; c++) {
      total1[c] += part1[c];
      total2[c] += part2[c];
    }
  }
  for (int64_t c = 0; c < channels; c++) {
    sumDy[c] = static_cast<float>(total1[c]);
    sumDyXc[c] = static_cast<float>(total2[c]);
  }
}

void channelMix(const float* u, const float* v, const float* m, const float* a, const float* b, const float* d, float* y,
                int64_t rows, int64_t channels, const float* mask) {
#pragma omp parallel for schedule(static) if (rows * channels > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* ur = u + r * channels;
    const float* vr = v + r * channels;
    float* yr = y + r * channels;
    if (mask) {
      const float* mr = mask + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) yr[c] = a[c] * (mr[c] > 0.f ? ur[c] : 0.f) + b[c] * (vr[c] - m[c]) + d[c];
      continue;
    }
#pragma omp simd
    for (int64_t c = 0; c < channels; c++) yr[c] = a[c] * ur[c] + b[c] * (vr[c] - m[c]) + d[c];
  }
}

}  // namespace lvseg
