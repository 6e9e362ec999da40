// Strided row copies: the data movement of Slice, SplitV and Concat on channels-last tensors, where a
// channel-axis slice or concatenation is many short contiguous runs (e.g. 65,536 runs of 16 floats for a
// 256x256 U-Net skip) that cost a JavaScript call each when copied from TypeScript.
#include <cstring>
#include "kernels.h"

namespace lvseg {

void copyRows(const float* src, float* dst, int64_t rows, int64_t run, int64_t srcStride, int64_t dstStride) {
  if (run == srcStride && run == dstStride) {
    std::memcpy(dst, src, static_cast<size_t>(rows * run) * sizeof(float));
    return;
  }
#pragma omp parallel for schedule(static) if (rows * run > kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    std::memcpy(dst + r * dstStride, src + r * srcStride, static_cast<size_t>(run) * sizeof(float));
  }
}

}  // namespace lvseg
