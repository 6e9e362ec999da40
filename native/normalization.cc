// Batch normalization over channels-last tensors, as per-channel passes: the forward affine map and the
// two per-channel sums its gradient needs. tfjs's own gradient builds the same from a dozen full-size
// temporaries (a Tile of the scale to the activation's shape among them).
#include <algorithm>
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

// Values summed in float before each block's sums join the double totals: the float loops vectorize, and
// a block's few dozen terms per sum keep float's rounding far below the double totals' needs.
constexpr int64_t kSumBlockRows = 32;
// With channels dividing kSumWidth, kSumWidth consecutive values (64 / channels rows) sum as one vector of
// independent lanes: row by row, 16 channels are one chain of dependent adds per block, ~30 cycles a row.
constexpr int64_t kSumWidth = 64;

namespace {
// Adds rows [begin, end) into s1 (dy, or dy where mask > 0) and s2 (that times x - mean), `width` floats
// each: `width` is the channel count, or kSumWidth holding whole rows (mean repeated to match).
void sumRows(const float* x, const float* dy, const float* mask, const float* mean, float* s1, float* s2, int64_t begin,
             int64_t end, int64_t width) {
  for (int64_t i = begin; i < end; i += width) {
    const float* xr = x + i;
    const float* dyr = dy + i;
    if (mask) {
      const float* mr = mask + i;
      // the relu's gradient on the way, as a vector select (a branch per value took 10x as long: mispredicted)
#pragma omp simd
      for (int64_t c = 0; c < width; c++) {
        const float g = mr[c] > 0.f ? dyr[c] : 0.f;
        s1[c] += g;
        s2[c] += g * (xr[c] - mean[c]);
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < width; c++) {
        s1[c] += dyr[c];
        s2[c] += dyr[c] * (xr[c] - mean[c]);
      }
    }
  }
}
}  // namespace

void channelSums(const float* x, const float* dy, const float* mean, float* sumDy, float* sumDyXc, int64_t rows,
                 int64_t channels, const float* mask) {
  // Double totals, like the cpu backend's JavaScript sums, so long reductions agree with it.
  const bool packed = kSumWidth % channels == 0;
  const int64_t width = packed ? kSumWidth : channels;
  // blocks of whole `width`s: kSumBlockRows rows, or as many values when rows are packed
  const int64_t blockValues = kSumBlockRows * width, values = rows * channels;
  const int64_t blocks = (values + blockValues - 1) / blockValues;
  std::vector<float> means(static_cast<size_t>(width));
  for (int64_t c = 0; c < width; c++) means[c] = mean[c % channels];
  std::vector<double> total1(channels, 0.0), total2(channels, 0.0);
#pragma omp parallel if (values > kParallelMin / 4)
  {
    std::vector<double> part1(width, 0.0), part2(width, 0.0);
    std::vector<float> block1(width), block2(width);
#pragma omp for schedule(static) nowait
    for (int64_t k = 0; k < blocks; k++) {
      std::fill(block1.begin(), block1.end(), 0.f);
      std::fill(block2.begin(), block2.end(), 0.f);
      const int64_t begin = k * blockValues, end = std::min(values, begin + blockValues);
      // a packed block's last partial vector of rows (values not a multiple of kSumWidth) goes row by row
      const int64_t whole = begin + (end - begin) / width * width;
      sumRows(x, dy, mask, means.data(), block1.data(), block2.data(), begin, whole, width);
      sumRows(x, dy, mask, means.data(), block1.data(), block2.data(), whole, end, channels);
      for (int64_t c = 0; c < width; c++) {
        part1[c] += block1[c];
        part2[c] += block2[c];
      }
    }
#pragma omp critical
    for (int64_t c = 0; c < width; c++) {
      total1[c % channels] += part1[c];
      total2[c % channels] += part2[c];
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
