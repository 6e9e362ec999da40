// Convolutions on oneDNN: forward (+bias, +relu), backward data and backward weights, NHWC/HWIO user
// buffers. oneDNN picks the weights layout it runs fastest with (format `any`); the HWIO user weights
// are reordered into it per call, which costs little next to the convolution itself.
// With bf16 precision (setConvPrecision, CPUs with AVX512_BF16 or AMX) the oneDNN convolutions read
// their inputs (activations, weights, gradients) rounded to bfloat16 and accumulate and write float32,
// as mixed-precision training does on TPUs and in PyTorch's autocast: on a 2-core Zen 4 the U-Net's
// 3x3 layers ran 1.85-2.1x faster alone, and its training step's convolutions 96 -> 64 ms (docs/backends.md).
#include "engine.h"
#include "kernels.h"
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace lvseg {
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

// The precision of the oneDNN convolutions' inputs (the direct loops and Winograd stay float32).
ConvPrecision precision = ConvPrecision::F32;

// A layer's precision: bf16 for filters of 3x3 taps or more only. The U-Net's 2x2/2 up-sampling and 1x1
// layers do few products per value moved: in bf16 they gained nothing measurable in the step (88.0 against
// 89.2 ms of native calls, within noise), so they keep float32's precision.
ConvPrecision layerPrecision(const int* d) {
  return d[ConvDim::FilterHeight] * d[ConvDim::FilterWidth] >= 9 ? precision : ConvPrecision::F32;
}

struct ConvShape {
  memory::dims src, weights, bias, dst, strides, dilates, padL, padR;
  // the data type the primitive reads its inputs in
  dt in;
  explicit ConvShape(const int* d, ConvPrecision p)
      : src{d[ConvDim::Batch], d[ConvDim::InChannels], d[ConvDim::InHeight], d[ConvDim::InWidth]},
        weights{d[ConvDim::OutChannels], d[ConvDim::InChannels], d[ConvDim::FilterHeight], d[ConvDim::FilterWidth]},
        bias{d[ConvDim::OutChannels]},
        dst{d[ConvDim::Batch], d[ConvDim::OutChannels], d[ConvDim::OutHeight], d[ConvDim::OutWidth]},
        strides{d[ConvDim::StrideHeight], d[ConvDim::StrideWidth]},
        // oneDNN counts dilation from 0 (none), TensorFlow from 1
        dilates{d[ConvDim::DilationHeight] - 1, d[ConvDim::DilationWidth] - 1},
        padL{d[ConvDim::PadTop], d[ConvDim::PadLeft]},
        padR{d[ConvDim::PadBottom], d[ConvDim::PadRight]},
        in{p == ConvPrecision::Bf16 ? dt::bf16 : dt::f32} {}
  // the user's float32 buffers
  memory::desc srcMd() const { return memory::desc(src, dt::f32, tag::nhwc); }
  memory::desc dstMd() const { return memory::desc(dst, dt::f32, tag::nhwc); }
  memory::desc userWeightsMd() const { return memory::desc(weights, dt::f32, tag::hwio); }
  memory::desc biasMd() const { return memory::desc(bias, dt::f32, tag::x); }
  // what the primitive reads: the input, the weights and the output's gradient in `in`
  memory::desc inSrcMd() const { return memory::desc(src, in, tag::nhwc); }
  memory::desc inDstMd() const { return memory::desc(dst, in, tag::nhwc); }
  memory::desc inWeightsMd() const { return memory::desc(weights, in, tag::any); }
  memory::desc anyWeightsMd() const { return memory::desc(weights, dt::f32, tag::any); }

  convolution_forward::primitive_desc forwardPd(bool withBias, bool relu) const {
    auto desc = withBias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                     inSrcMd(), inWeightsMd(), biasMd(), dstMd(), strides, dilates,
                                                     padL, padR)
                         : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                     inSrcMd(), inWeightsMd(), dstMd(), strides, dilates, padL, padR);
    return convolution_forward::primitive_desc(desc, reluAttr(relu), cpuEngine());
  }
};

// A float32 user buffer (NHWC activations or gradients, HWIO weights or their gradient) and the layout
// and data type a primitive wants it in, with the reorder between the two when they differ: user ->
// primitive for what a primitive reads, primitive -> user for the weight gradient it writes.
struct Layout {
  memory user, prim;
  bool reorders = false;
  reorder copy;

  // NHWC float32 activations the primitive reads as NHWC bfloat16: roundToBf16 instead of a reorder
  bool rounds = false;

  Layout() = default;
  Layout(const memory::desc& userMd, const memory::desc& primMd, bool primitiveWrites) {
    auto& eng = cpuEngine();
    user = memory(userMd, eng, nullptr);
    if (primMd == userMd) {
      prim = user;
      return;
    }
    prim = memory(primMd, eng);
    const memory::dims& dims = userMd.dims();
    rounds = !primitiveWrites && dims.size() == 4 && userMd == memory::desc(dims, dt::f32, tag::nhwc) &&
             primMd == memory::desc(dims, dt::bf16, tag::nhwc);
    if (rounds) return;
    reorders = true;
    copy = primitiveWrites ? reorder(prim, user) : reorder(user, prim);
  }
  void toPrimitive(stream& st) {
    if (rounds) {
      const auto n = static_cast<int64_t>(user.get_desc().get_size() / sizeof(float));
      roundToBf16(static_cast<const float*>(user.get_data_handle()), static_cast<uint16_t*>(prim.get_data_handle()), n);
    }
    if (reorders) copy.execute(st, user, prim);
  }
  void toUser(stream& st) {
    if (reorders) copy.execute(st, prim, user);
  }
};

// Each entry keeps its execute arguments: the memory objects in them are shared handles, so the
// set_data_handle calls before each run reach the stored copies and no map is built per call.
struct ConvForward {
  convolution_forward prim;
  memory bias, dst;
  Layout src, weights;
  // the token of the weights now in weights.prim (0: none known)
  uint64_t reorderedToken = 0;
  std::unordered_map<int, memory> args;
};

struct ConvBackwardData {
  convolution_backward_data prim;
  memory diffSrc;
  Layout diffDst, weights;
  std::unordered_map<int, memory> args;
};

struct ConvBackwardWeights {
  convolution_backward_weights prim;
  Layout src, diffDst, diffWeights;
  std::unordered_map<int, memory> args;
};

std::unique_ptr<ConvForward> makeForward(const int* d, bool withBias, bool relu) {
  ConvShape s(d, layerPrecision(d));
  auto pd = s.forwardPd(withBias, relu);
  auto e = std::make_unique<ConvForward>();
  auto& eng = cpuEngine();
  e->prim = convolution_forward(pd);
  e->src = Layout(s.srcMd(), pd.src_desc(), false);
  e->dst = memory(pd.dst_desc(), eng, nullptr);
  e->weights = Layout(s.userWeightsMd(), pd.weights_desc(), false);
  e->args = {{DNNL_ARG_SRC, e->src.prim}, {DNNL_ARG_WEIGHTS, e->weights.prim}, {DNNL_ARG_DST, e->dst}};
  if (withBias) {
    e->bias = memory(pd.bias_desc(), eng, nullptr);
    e->args.emplace(DNNL_ARG_BIAS, e->bias);
  }
  return e;
}

std::unique_ptr<ConvBackwardData> makeBackwardData(const int* d) {
  ConvShape s(d, layerPrecision(d));
  auto& eng = cpuEngine();
  auto hint = s.forwardPd(false, false);
  convolution_backward_data::desc desc(algorithm::convolution_direct, s.srcMd(), s.inWeightsMd(), s.inDstMd(),
                                       s.strides, s.dilates, s.padL, s.padR);
  convolution_backward_data::primitive_desc pd(desc, eng, hint);
  auto e = std::make_unique<ConvBackwardData>();
  e->prim = convolution_backward_data(pd);
  e->diffDst = Layout(s.dstMd(), pd.diff_dst_desc(), false);
  e->diffSrc = memory(pd.diff_src_desc(), eng, nullptr);
  e->weights = Layout(s.userWeightsMd(), pd.weights_desc(), false);
  e->args = {{DNNL_ARG_DIFF_DST, e->diffDst.prim}, {DNNL_ARG_WEIGHTS, e->weights.prim}, {DNNL_ARG_DIFF_SRC, e->diffSrc}};
  return e;
}

std::unique_ptr<ConvBackwardWeights> makeBackwardWeights(const int* d) {
  ConvShape s(d, layerPrecision(d));
  auto hint = s.forwardPd(false, false);
  convolution_backward_weights::desc desc(algorithm::convolution_direct, s.inSrcMd(), s.anyWeightsMd(), s.inDstMd(),
                                          s.strides, s.dilates, s.padL, s.padR);
  convolution_backward_weights::primitive_desc pd(desc, cpuEngine(), hint);
  auto e = std::make_unique<ConvBackwardWeights>();
  e->prim = convolution_backward_weights(pd);
  e->src = Layout(s.srcMd(), pd.src_desc(), false);
  e->diffDst = Layout(s.dstMd(), pd.diff_dst_desc(), false);
  e->diffWeights = Layout(s.userWeightsMd(), pd.diff_weights_desc(), true);
  e->args = {{DNNL_ARG_SRC, e->src.prim}, {DNNL_ARG_DIFF_DST, e->diffDst.prim}, {DNNL_ARG_DIFF_WEIGHTS, e->diffWeights.prim}};
  return e;
}

// A cache key that tells the two precisions' primitives apart.
std::string precisionKey(std::string key, const int* d) {
  return layerPrecision(d) == ConvPrecision::Bf16 ? "bf16:" + key : key;
}

// The dims as 64-bit numbers for the direct loops below.
struct Geometry {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, pt, pl, dh, dw;
  explicit Geometry(const int* d)
      : n(d[ConvDim::Batch]), ih(d[ConvDim::InHeight]), iw(d[ConvDim::InWidth]), ic(d[ConvDim::InChannels]),
        oh(d[ConvDim::OutHeight]), ow(d[ConvDim::OutWidth]), oc(d[ConvDim::OutChannels]), kh(d[ConvDim::FilterHeight]),
        kw(d[ConvDim::FilterWidth]), sh(d[ConvDim::StrideHeight]), sw(d[ConvDim::StrideWidth]), pt(d[ConvDim::PadTop]),
        pl(d[ConvDim::PadLeft]), dh(d[ConvDim::DilationHeight]), dw(d[ConvDim::DilationWidth]) {}
};

}  // namespace

ConvPrecision setConvPrecision(ConvPrecision p) {
  const auto isa = dnnl::get_effective_cpu_isa();
  const bool bf16 = isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  precision = p == ConvPrecision::Bf16 && bf16 ? ConvPrecision::Bf16 : ConvPrecision::F32;
  return precision;
}

// A one-channel input (the FCN's first layer): oneDNN's NHWC kernels handle IC = 1 poorly (12.9 ms for
// the FCN's 1->100 5x5/2 layer on one core). With HWIO weights and one input channel the filter is the
// [KH*KW, OC] matrix, so each output pixel is its input window (gathered once, zeros outside the image)
// times that matrix: direct loops with the output channels in register blocks. Windows of more than
// kMaxTaps taps go through im2col + matmul instead.
constexpr int64_t kMaxTaps = 64;
// Register blocks: kPixelBlock output pixels times kChannelBlock channels of accumulators, enough
// independent FMA chains to hide their latency, few enough to stay in the 16 (AVX2) or 32 registers.
#if defined(__AVX512F__)
constexpr int64_t kChannelBlock = 32;
#else
constexpr int64_t kChannelBlock = 16;
#endif
constexpr int64_t kPixelBlock = 4;

static void conv2dSingleChannelDirect(const float* x, const float* w, const float* bias, float* y, const Geometry& g, bool relu) {
  const int64_t n = g.n, ih = g.ih, iw = g.iw, oh = g.oh, ow = g.ow, oc = g.oc, kh = g.kh, kw = g.kw;
  const int64_t sh = g.sh, sw = g.sw, pt = g.pt, pl = g.pl, dh = g.dh, dw = g.dw, taps = kh * kw;
  // The filter and bias padded to whole channel blocks, so that every block runs the same loop.
  const int64_t ocPad = (oc + kChannelBlock - 1) / kChannelBlock * kChannelBlock;
  std::vector<float> wPad(static_cast<size_t>(taps * ocPad), 0.f), biasPad(static_cast<size_t>(ocPad), 0.f);
  for (int64_t t = 0; t < taps; t++) std::copy(w + t * oc, w + (t + 1) * oc, wPad.begin() + t * ocPad);
  if (bias) std::copy(bias, bias + oc, biasPad.begin());
#pragma omp parallel for collapse(2) schedule(static) if (n * oh * ow * taps * oc > (1 << 18))
  for (int64_t b = 0; b < n; b++) {
    for (int64_t r = 0; r < oh; r++) {
      const float* img = x + b * ih * iw;
      for (int64_t c0 = 0; c0 < ow; c0 += kPixelBlock) {
        // The windows of up to kPixelBlock pixels, tap-major; pixels past the row's end read zeros and are not stored.
        float patch[kMaxTaps][kPixelBlock];
        for (int64_t p = 0; p < kPixelBlock; p++) {
          const int64_t c = c0 + p;
          for (int64_t i = 0; i < kh; i++) {
            const int64_t yy = r * sh - pt + i * dh;
            for (int64_t j = 0; j < kw; j++) {
              const int64_t xx = c * sw - pl + j * dw;
              patch[i * kw + j][p] = (c < ow && yy >= 0 && yy < ih && xx >= 0 && xx < iw) ? img[yy * iw + xx] : 0.f;
            }
          }
        }
        const int64_t pixels = std::min(kPixelBlock, ow - c0);
        float* out = y + ((b * oh + r) * ow + c0) * oc;
        for (int64_t o0 = 0; o0 < ocPad; o0 += kChannelBlock) {
          float acc[kPixelBlock][kChannelBlock];
          for (int64_t p = 0; p < kPixelBlock; p++) {
            for (int64_t k = 0; k < kChannelBlock; k++) acc[p][k] = biasPad[o0 + k];
          }
          for (int64_t t = 0; t < taps; t++) {
            const float* wt = wPad.data() + t * ocPad + o0;
            for (int64_t p = 0; p < kPixelBlock; p++) {
              const float v = patch[t][p];
#pragma omp simd
              for (int64_t k = 0; k < kChannelBlock; k++) acc[p][k] += v * wt[k];
            }
          }
          const int64_t width = std::min(kChannelBlock, oc - o0);
          for (int64_t p = 0; p < pixels; p++) {
            for (int64_t k = 0; k < width; k++) out[p * oc + o0 + k] = relu ? std::max(acc[p][k], 0.f) : acc[p][k];
          }
        }
      }
    }
  }
}

static void conv2dSingleChannel(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu) {
  const Geometry g(d);
  if (g.kh * g.kw <= kMaxTaps) return conv2dSingleChannelDirect(x, w, bias, y, g, relu);
  const int64_t n = g.n, ih = g.ih, iw = g.iw, oh = g.oh, ow = g.ow, oc = g.oc, kh = g.kh, kw = g.kw;
  const int64_t sh = g.sh, sw = g.sw, pt = g.pt, pl = g.pl, dh = g.dh, dw = g.dw;
  static std::vector<float> col;
  const size_t colSize = static_cast<size_t>(n * oh * ow * kh * kw);
  // Keep the buffer between calls, but not one far bigger than this call needs (a big batch once).
  if (col.capacity() > 4 * colSize) std::vector<float>().swap(col);
  col.resize(colSize);
#pragma omp parallel for collapse(2) schedule(static) if (n * oh * ow * kh * kw > (1 << 20))
  for (int64_t b = 0; b < n; b++) {
    for (int64_t r = 0; r < oh; r++) {
      const float* img = x + b * ih * iw;
      float* row = col.data() + ((b * oh + r) * ow) * kh * kw;
      for (int64_t c = 0; c < ow; c++) {
        float* patch = row + c * kh * kw;
        for (int64_t i = 0; i < kh; i++) {
          const int64_t yy = r * sh - pt + i * dh;
          for (int64_t j = 0; j < kw; j++) {
            const int64_t xx = c * sw - pl + j * dw;
            patch[i * kw + j] = (yy >= 0 && yy < ih && xx >= 0 && xx < iw) ? img[yy * iw + xx] : 0.f;
          }
        }
      }
    }
  }
  int mm[MatMulDim::Count] = {};
  mm[MatMulDim::Batch] = 1;
  mm[MatMulDim::M] = static_cast<int>(n * oh * ow);  // addon.cc checked that this fits an int
  mm[MatMulDim::K] = static_cast<int>(kh * kw);
  mm[MatMulDim::N] = static_cast<int>(oc);
  mm[MatMulDim::BatchB] = 1;
  matMul(col.data(), w, bias, y, mm, relu);
}

// Few channels on both sides (the FCN's 31x31/16 upsampling, 2 -> 2): oneDNN falls back to its gemm-based
// convolution there, which reorders and im2cols a 31x31 window per pixel and allocates per-thread buffers
// on every call; direct loops do the ~1M multiply-adds of the FCN's case in less time.
static bool fewChannels(const int* d) { return int64_t{d[ConvDim::InChannels]} * d[ConvDim::OutChannels] <= 16; }

// Few outputs from many inputs (the FCN's score layer, 300 -> 2): conv_direct.cc's loops.
static bool fewOutputs(const int* d) { return d[ConvDim::OutChannels] <= 4 && d[ConvDim::InChannels] >= 16; }

// A 1x1 stride-1 unpadded convolution is the matmul [N*H*W, IC] x [IC, OC] on NHWC data and an HWIO filter.
static bool pointwise(const int* d) {
  return d[ConvDim::FilterHeight] == 1 && d[ConvDim::FilterWidth] == 1 && d[ConvDim::StrideHeight] == 1 &&
         d[ConvDim::StrideWidth] == 1 && d[ConvDim::PadTop] == 0 && d[ConvDim::PadLeft] == 0 && d[ConvDim::PadBottom] == 0 &&
         d[ConvDim::PadRight] == 0;
}

void conv2dForward(const float* x, const float* w, const float* bias, float* y, const int* dims, bool relu, uint64_t weightsToken) {
  // The U-Net's 1x1 logits (16 -> 2 or 3): conv_direct.cc's per-pixel dot products ran at ~2 GFLOP/s (0.55 ms at
  // batch 1 on 128x128, 2.2 ms at batch 4), oneDNN's matmul does the same in a fraction of that.
  if (pointwise(dims) && (fewOutputs(dims) || fewChannels(dims))) {
    int mm[MatMulDim::Count] = {};
    mm[MatMulDim::Batch] = 1;
    mm[MatMulDim::M] = dims[ConvDim::Batch] * dims[ConvDim::OutHeight] * dims[ConvDim::OutWidth];  // addon.cc: fits an int
    mm[MatMulDim::K] = dims[ConvDim::InChannels];
    mm[MatMulDim::N] = dims[ConvDim::OutChannels];
    mm[MatMulDim::BatchB] = 1;
    return matMul(x, w, bias, y, mm, relu);
  }
  // One input channel before the few-channels test: the U-Net's 1 -> 16 first layer took 3 ms at batch 4
  // on one AVX-512 core in conv_direct.cc's per-pixel loops, ~10x less in the register-blocked ones above.
  if (dims[ConvDim::InChannels] == 1 && dims[ConvDim::OutChannels] > 4) return conv2dSingleChannel(x, w, bias, y, dims, relu);
  if (fewChannels(dims) || fewOutputs(dims)) return conv2dForwardDirect(x, w, bias, y, dims, relu);
  if (dims[ConvDim::InChannels] == 1) return conv2dSingleChannel(x, w, bias, y, dims, relu);
  // bf16 runs oneDNN's direct kernels, 2x float32's rate, faster than Winograd's float32 (F(2x2, 3x3): 2.25x fewer products)
  if (layerPrecision(dims) == ConvPrecision::F32 && winogradApplies(dims)) return conv2dWinograd(x, w, bias, y, dims, relu, weightsToken);
  static Cache<ConvForward> cache;
  const bool withBias = bias != nullptr;
  std::string key = shapeKey(withBias ? (relu ? "fwd+b+relu" : "fwd+b") : (relu ? "fwd+relu" : "fwd"), dims, ConvDim::Count);
  ConvForward& e = cached(cache, precisionKey(key, dims), [&] { return makeForward(dims, withBias, relu); });
  auto& st = cpuStream();
  e.src.user.set_data_handle(const_cast<float*>(x));
  e.src.toPrimitive(st);
  e.dst.set_data_handle(y);
  e.weights.user.set_data_handle(const_cast<float*>(w));
  if (withBias) e.bias.set_data_handle(const_cast<float*>(bias));
  // Inference weights do not change between calls: their reorder (~0.3 ms for a 300×300×3×3 filter) runs once.
  if (weightsToken == 0 || weightsToken != e.reorderedToken) {
    e.weights.toPrimitive(st);
    e.reorderedToken = e.weights.reorders ? weightsToken : 0;
  }
  e.prim.execute(st, e.args);
  st.wait();
}

// dx[n, iy, ix, ic] = sum over the (ky, oy) with oy * SH - PT + ky * DH == iy (and likewise along x) of
// sum_oc dy[n, oy, ox, oc] * w[ky, kx, ic, oc]: a gather, so rows are independent and run in parallel.
static void conv2dBackwardDataGather(const float* dy, const float* w, float* dx, const Geometry& g) {
  const int64_t n = g.n, ih = g.ih, iw = g.iw, ic = g.ic, oh = g.oh, ow = g.ow, oc = g.oc, kh = g.kh, kw = g.kw;
  const int64_t sh = g.sh, sw = g.sw, pt = g.pt, pl = g.pl, dh = g.dh, dw = g.dw;
  // Along x, the (kx, ox) pairs that reach each input column, once for all rows.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> cols(static_cast<size_t>(iw));
  for (int64_t ix = 0; ix < iw; ix++) {
    for (int64_t kx = 0; kx < kw; kx++) {
      const int64_t t = ix + pl - kx * dw;
      if (t >= 0 && t % sw == 0 && t / sw < ow) cols[ix].emplace_back(kx, t / sw);
    }
  }
#pragma omp parallel for collapse(2) schedule(static) if (n * ih * iw * ic * oc > (1 << 16))
  for (int64_t b = 0; b < n; b++) {
    for (int64_t iy = 0; iy < ih; iy++) {
      float* row = dx + (b * ih + iy) * iw * ic;
      std::fill(row, row + iw * ic, 0.f);
      for (int64_t ky = 0; ky < kh; ky++) {
        const int64_t t = iy + pt - ky * dh;
        if (t < 0 || t % sh != 0 || t / sh >= oh) continue;
        const float* dyRow = dy + (b * oh + t / sh) * ow * oc;
        for (int64_t ix = 0; ix < iw; ix++) {
          float* out = row + ix * ic;
          for (const auto& [kx, ox] : cols[ix]) {
            const float* g = dyRow + ox * oc;
            const float* wk = w + ((ky * kw + kx) * ic) * oc;
            for (int64_t c = 0; c < ic; c++) {
              float sum = 0.f;
              for (int64_t o = 0; o < oc; o++) sum += g[o] * wk[c * oc + o];
              out[c] += sum;
            }
          }
        }
      }
    }
  }
}

// Without dilation the (kx, ox) pairs that reach one dx row form, for each ox, one run of consecutive
// columns ix = ox * SW - PL + kx, and w[ky, kx, ic, oc] runs with them: so each (ky, oy, ox) adds
// dy[n, oy, ox, :] times a contiguous block of w to a contiguous block of the dx row, a loop the compiler
// vectorizes (the FCN's 31x31/16 upsampling: 2.3 ms as the gather above, ~10x less this way).
static void conv2dBackwardDataRuns(const float* dy, const float* w, float* dx, const Geometry& g) {
  const int64_t n = g.n, ih = g.ih, iw = g.iw, ic = g.ic, oh = g.oh, ow = g.ow, oc = g.oc, kh = g.kh, kw = g.kw;
  const int64_t sh = g.sh, sw = g.sw, pt = g.pt, pl = g.pl;
#pragma omp parallel for collapse(2) schedule(static) if (n * ih * iw * ic * oc > (1 << 16))
  for (int64_t b = 0; b < n; b++) {
    for (int64_t iy = 0; iy < ih; iy++) {
      float* row = dx + (b * ih + iy) * iw * ic;
      std::fill(row, row + iw * ic, 0.f);
      for (int64_t ky = 0; ky < kh; ky++) {
        const int64_t t = iy + pt - ky;
        if (t < 0 || t % sh != 0 || t / sh >= oh) continue;
        const float* dyRow = dy + (b * oh + t / sh) * ow * oc;
        const float* wRow = w + ky * kw * ic * oc;
        for (int64_t ox = 0; ox < ow; ox++) {
          const int64_t x0 = ox * sw - pl;
          const int64_t kx0 = std::max<int64_t>(0, -x0), kx1 = std::min(kw, iw - x0);
          if (kx0 >= kx1) continue;
          const float* gv = dyRow + ox * oc;
          const float* wk = wRow + kx0 * ic * oc;
          float* out = row + (x0 + kx0) * ic;
          const int64_t len = (kx1 - kx0) * ic;
          if (oc == 2) {
            const float g0 = gv[0], g1 = gv[1];
#pragma omp simd
            for (int64_t j = 0; j < len; j++) out[j] += g0 * wk[2 * j] + g1 * wk[2 * j + 1];
          } else {
            for (int64_t j = 0; j < len; j++) {
              float sum = 0.f;
              for (int64_t o = 0; o < oc; o++) sum += gv[o] * wk[j * oc + o];
              out[j] += sum;
            }
          }
        }
      }
    }
  }
}

// A transposed convolution whose kernel is its stride, unpadded (the U-Net's 2x2/2 up-sampling): each dx
// pixel takes exactly one tap, so dx is dy [N*OH*OW, OC] times w as [OC, KH*KW*IC] (the HWIO filter,
// transposed in place), a matmul whose rows are KHxKW blocks of dx. Under the AVX2 cap the U-Net's four
// take 3.0 ms this way at batch 1, 4.0-5.6 ms as oneDNN's backward-data convolution (AVX-512: the same).
static bool tiles(const Geometry& g) {
  return g.kh == g.sh && g.kw == g.sw && g.pt == 0 && g.pl == 0 && g.dh == 1 && g.dw == 1 && g.oh * g.sh == g.ih &&
         g.ow * g.sw == g.iw;
}

// dy rows narrower than kTileStridedMinWidth pixels: one matmul into a scratch buffer, whose rows are
// then copied out as KHxKW blocks. oneDNN runs the strided form below as a batch of small matmuls, one
// per dy row, slower than the copy when those rows are short.
constexpr int64_t kTileStridedMinWidth = 64;

static void conv2dBackwardDataTilesCopied(const float* dy, const float* w, float* dx, const Geometry& g) {
  const int64_t blockRow = g.kw * g.ic, cols = g.kh * blockRow, m = g.n * g.oh * g.ow;
  static std::vector<float> rows;
  const size_t size = static_cast<size_t>(m * cols);
  if (rows.capacity() > 4 * size) std::vector<float>().swap(rows);
  rows.resize(size);
  int mm[MatMulDim::Count] = {};
  mm[MatMulDim::Batch] = 1;
  mm[MatMulDim::M] = static_cast<int>(m);  // the size of dy, which addon.cc checked fits an int
  mm[MatMulDim::K] = static_cast<int>(g.oc);
  mm[MatMulDim::N] = static_cast<int>(cols);
  mm[MatMulDim::TransposeB] = 1;
  mm[MatMulDim::BatchB] = 1;
  matMul(dy, w, nullptr, rows.data(), mm, false);
  const float* r = rows.data();
#pragma omp parallel for collapse(2) schedule(static) if (m * cols > kParallelMin)
  for (int64_t b = 0; b < g.n; b++) {
    for (int64_t y = 0; y < g.oh; y++) {
      for (int64_t ky = 0; ky < g.kh; ky++) {
        float* dst = dx + ((b * g.ih + y * g.sh + ky) * g.iw) * g.ic;
        for (int64_t x = 0; x < g.ow; x++) {
          const float* src = r + ((b * g.oh + y) * g.ow + x) * cols + ky * blockRow;
          std::copy(src, src + blockRow, dst + x * blockRow);
        }
      }
    }
  }
}

// One matmul per filter row ky, written straight into dx through strides: batch (n, y), rows x, columns
// (kx, ic) of dx row y * SH + ky.
struct TileMatMul {
  matmul prim;
  memory a, b, c;
  std::unordered_map<int, memory> args;
};

static std::unique_ptr<TileMatMul> makeTileMatMul(const Geometry& g) {
  const memory::dim batch = g.n * g.oh, m = g.ow, k = g.oc, n = g.kw * g.ic;
  memory::desc aMd({batch, m, k}, dt::f32, memory::dims{m * k, k, 1});
  memory::desc bMd({1, k, n}, dt::f32, memory::dims{k * n, 1, k});
  memory::desc cMd({batch, m, n}, dt::f32, memory::dims{g.sh * g.iw * g.ic, n, 1});
  matmul::primitive_desc pd(matmul::desc(aMd, bMd, cMd), primitive_attr(), cpuEngine());
  auto e = std::make_unique<TileMatMul>();
  e->prim = matmul(pd);
  e->a = memory(aMd, cpuEngine(), nullptr);
  e->b = memory(bMd, cpuEngine(), nullptr);
  e->c = memory(cMd, cpuEngine(), nullptr);
  e->args = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
  return e;
}

static void conv2dBackwardDataTiles(const float* dy, const float* w, float* dx, const int* dims) {
  const Geometry g(dims);
  if (g.ow < kTileStridedMinWidth) return conv2dBackwardDataTilesCopied(dy, w, dx, g);
  static Cache<TileMatMul> cache;
  TileMatMul& e = cached(cache, shapeKey("bwd-data-tiles", dims, ConvDim::Count), [&] { return makeTileMatMul(g); });
  auto& st = cpuStream();
  e.a.set_data_handle(const_cast<float*>(dy));
  for (int64_t ky = 0; ky < g.kh; ky++) {
    e.b.set_data_handle(const_cast<float*>(w + ky * g.kw * g.ic * g.oc));
    e.c.set_data_handle(dx + ky * g.iw * g.ic);
    e.prim.execute(st, e.args);
  }
  st.wait();
}

static void conv2dBackwardDataDirect(const float* dy, const float* w, float* dx, const int* d) {
  const Geometry g(d);
  if (g.dh == 1 && g.dw == 1) return conv2dBackwardDataRuns(dy, w, dx, g);
  conv2dBackwardDataGather(dy, w, dx, g);
}

// dw[ky, kx, ic, oc] = sum over n, oy, ox of x[n, oy * SH - PT + ky * DH, ox * SW - PL + kx * DW, ic] * dy[n, oy, ox, oc].
static void conv2dBackwardWeightsDirect(const float* x, const float* dy, float* dwOut, const int* d) {
  const Geometry g(d);
  const int64_t n = g.n, ih = g.ih, iw = g.iw, ic = g.ic, oh = g.oh, ow = g.ow, oc = g.oc, kh = g.kh, kw = g.kw;
  const int64_t sh = g.sh, sw = g.sw, pt = g.pt, pl = g.pl, dh = g.dh, dw = g.dw;
#pragma omp parallel for collapse(2) schedule(static) if (kh * kw * ic * oc * n * oh * ow > (1 << 16))
  for (int64_t ky = 0; ky < kh; ky++) {
    for (int64_t kx = 0; kx < kw; kx++) {
      float* out = dwOut + (ky * kw + kx) * ic * oc;
      std::fill(out, out + ic * oc, 0.f);
      for (int64_t b = 0; b < n; b++) {
        for (int64_t oy = 0; oy < oh; oy++) {
          const int64_t iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= ih) continue;
          for (int64_t ox = 0; ox < ow; ox++) {
            const int64_t ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= iw) continue;
            const float* xv = x + ((b * ih + iy) * iw + ix) * ic;
            const float* g = dy + ((b * oh + oy) * ow + ox) * oc;
            for (int64_t c = 0; c < ic; c++) {
              for (int64_t o = 0; o < oc; o++) out[c * oc + o] += xv[c] * g[o];
            }
          }
        }
      }
    }
  }
}

void conv2dBackwardData(const float* dy, const float* w, float* dx, const int* dims) {
  if (fewChannels(dims)) return conv2dBackwardDataDirect(dy, w, dx, dims);
  if (tiles(Geometry(dims))) return conv2dBackwardDataTiles(dy, w, dx, dims);
  static Cache<ConvBackwardData> cache;
  ConvBackwardData& e = cached(cache, precisionKey(shapeKey("bwd-data", dims, ConvDim::Count), dims), [&] { return makeBackwardData(dims); });
  auto& st = cpuStream();
  e.diffDst.user.set_data_handle(const_cast<float*>(dy));
  e.diffDst.toPrimitive(st);
  e.diffSrc.set_data_handle(dx);
  e.weights.user.set_data_handle(const_cast<float*>(w));
  e.weights.toPrimitive(st);
  e.prim.execute(st, e.args);
  st.wait();
}

// One input channel (the U-Net's first layer, 1 -> 16): dw[tap, oc] = sum over output pixels of the pixel's
// input window times its dy row, a [taps, pixels] x [pixels, oc] product with the window gathered per pixel.
// Each thread sums its rows in float per row (one output row: at most a few hundred terms) into double
// partial sums. conv2dBackwardWeightsDirect's loops over (ky, kx) took 3-4.5 ms at batch 4 on 128x128.
static void conv2dBackwardWeightsSingleChannel(const float* x, const float* dy, float* dwOut, const Geometry& g) {
  const int64_t n = g.n, ih = g.ih, iw = g.iw, oh = g.oh, ow = g.ow, oc = g.oc, kh = g.kh, kw = g.kw;
  const int64_t sh = g.sh, sw = g.sw, pt = g.pt, pl = g.pl, dh = g.dh, dw = g.dw, taps = kh * kw, size = taps * oc;
  std::vector<double> total(static_cast<size_t>(size), 0.0);
#pragma omp parallel if (n * oh * ow * size > (1 << 20))
  {
    std::vector<double> part(static_cast<size_t>(size), 0.0);
    std::vector<float> row(static_cast<size_t>(size));
    float patch[kMaxTaps];
#pragma omp for collapse(2) schedule(static) nowait
    for (int64_t b = 0; b < n; b++) {
      for (int64_t r = 0; r < oh; r++) {
        std::fill(row.begin(), row.end(), 0.f);
        const float* img = x + b * ih * iw;
        for (int64_t c = 0; c < ow; c++) {
          for (int64_t i = 0; i < kh; i++) {
            const int64_t yy = r * sh - pt + i * dh;
            for (int64_t j = 0; j < kw; j++) {
              const int64_t xx = c * sw - pl + j * dw;
              patch[i * kw + j] = (yy >= 0 && yy < ih && xx >= 0 && xx < iw) ? img[yy * iw + xx] : 0.f;
            }
          }
          const float* gv = dy + ((b * oh + r) * ow + c) * oc;
          for (int64_t t = 0; t < taps; t++) {
            const float v = patch[t];
            float* acc = row.data() + t * oc;
#pragma omp simd
            for (int64_t o = 0; o < oc; o++) acc[o] += v * gv[o];
          }
        }
        for (int64_t k = 0; k < size; k++) part[k] += row[k];
      }
    }
#pragma omp critical
    for (int64_t k = 0; k < size; k++) total[k] += part[k];
  }
  for (int64_t k = 0; k < size; k++) dwOut[k] = static_cast<float>(total[k]);
}

void conv2dBackwardWeights(const float* x, const float* dy, float* dw, const int* dims) {
  if (dims[ConvDim::InChannels] == 1 && dims[ConvDim::FilterHeight] * dims[ConvDim::FilterWidth] <= kMaxTaps)
    return conv2dBackwardWeightsSingleChannel(x, dy, dw, Geometry(dims));
  if (fewChannels(dims)) return conv2dBackwardWeightsDirect(x, dy, dw, dims);
  static Cache<ConvBackwardWeights> cache;
  ConvBackwardWeights& e =
      cached(cache, precisionKey(shapeKey("bwd-weights", dims, ConvDim::Count), dims), [&] { return makeBackwardWeights(dims); });
  auto& st = cpuStream();
  e.src.user.set_data_handle(const_cast<float*>(x));
  e.diffDst.user.set_data_handle(const_cast<float*>(dy));
  e.src.toPrimitive(st);
  e.diffDst.toPrimitive(st);
  e.diffWeights.user.set_data_handle(dw);
  e.prim.execute(st, e.args);
  e.diffWeights.toUser(st);
  st.wait();
}

}  // namespace lvseg
