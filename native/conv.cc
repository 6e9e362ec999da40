// Convolutions on oneDNN: forward (+bias, +relu), backward data and backward weights, NHWC/HWIO user
// buffers. oneDNN picks the weights layout it runs fastest with (format `any`); the HWIO user weights
// are reordered into it per call, which costs little next to the convolution itself.
#include "engine.h"
#include "kernels.h"
#include <cstdint>
#include <vector>

namespace lvseg {
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct ConvShape {
  memory::dims src, weights, bias, dst, strides, dilates, padL, padR;
  explicit ConvShape(const int* d)
      : src{d[0], d[3], d[1], d[2]},
        weights{d[6], d[3], d[7], d[8]},
        bias{d[6]},
        dst{d[0], d[6], d[4], d[5]},
        strides{d[9], d[10]},
        dilates{d[15] - 1, d[16] - 1},
        padL{d[11], d[12]},
        padR{d[13], d[14]} {}
  memory::desc srcMd() const { return memory::desc(src, dt::f32, tag::nhwc); }
  memory::desc dstMd() const { return memory::desc(dst, dt::f32, tag::nhwc); }
  memory::desc userWeightsMd() const { return memory::desc(weights, dt::f32, tag::hwio); }
  memory::desc anyWeightsMd() const { return memory::desc(weights, dt::f32, tag::any); }
  memory::desc biasMd() const { return memory::desc(bias, dt::f32, tag::x); }

  convolution_forward::primitive_desc forwardPd(bool withBias, bool relu) const {
    auto desc = withBias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                     srcMd(), anyWeightsMd(), biasMd(), dstMd(), strides, dilates,
                                                     padL, padR)
                         : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                     srcMd(), anyWeightsMd(), dstMd(), strides, dilates, padL, padR);
    primitive_attr attr;
    if (relu) {
      post_ops ops;
      ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    return convolution_forward::primitive_desc(desc, attr, cpuEngine());
  }
};

// The HWIO user weights (or their gradient) and the layout a primitive wants them in, with the reorder
// between the two when they differ: user -> primitive for the weights a primitive reads, primitive ->
// user for the weight gradient it writes.
struct WeightsLayout {
  memory user, prim;
  bool reorders = false;
  reorder copy;

  WeightsLayout() = default;
  WeightsLayout(const memory::desc& userMd, const memory::desc& primMd, bool primitiveWrites) {
    auto& eng = cpuEngine();
    user = memory(userMd, eng, nullptr);
    if (primMd == userMd) {
      prim = user;
      return;
    }
    reorders = true;
    prim = memory(primMd, eng);
    copy = primitiveWrites ? reorder(prim, user) : reorder(user, prim);
  }
  void toPrimitive(stream& st) {
    if (reorders) copy.execute(st, user, prim);
  }
  void toUser(stream& st) {
    if (reorders) copy.execute(st, prim, user);
  }
};

struct ConvForward {
  convolution_forward prim;
  memory src, bias, dst;
  WeightsLayout weights;
};

struct ConvBackwardData {
  convolution_backward_data prim;
  memory diffDst, diffSrc;
  WeightsLayout weights;
};

struct ConvBackwardWeights {
  convolution_backward_weights prim;
  memory src, diffDst;
  WeightsLayout diffWeights;
};

template <typename Entry>
using Cache = std::unordered_map<std::string, std::unique_ptr<Entry>>;

std::unique_ptr<ConvForward> makeForward(const int* d, bool withBias, bool relu) {
  ConvShape s(d);
  auto pd = s.forwardPd(withBias, relu);
  auto e = std::make_unique<ConvForward>();
  auto& eng = cpuEngine();
  e->prim = convolution_forward(pd);
  e->src = memory(pd.src_desc(), eng, nullptr);
  e->dst = memory(pd.dst_desc(), eng, nullptr);
  if (withBias) e->bias = memory(pd.bias_desc(), eng, nullptr);
  e->weights = WeightsLayout(s.userWeightsMd(), pd.weights_desc(), false);
  return e;
}

}  // namespace

// A one-channel input (the FCN's first layer) as im2col + matmul: with HWIO weights and one input
// channel the filter is already the [KH*KW, OC] matrix and the NHWC output the [N*OH*OW, OC] result.
// oneDNN's NHWC kernels handle IC = 1 poorly (12.9 ms for the FCN's 1->100 5x5/2 layer on one core).
static void conv2dSingleChannel(const float* x, const float* w, const float* bias, float* y, const int* d, bool relu) {
  const int64_t n = d[0], ih = d[1], iw = d[2], oh = d[4], ow = d[5], oc = d[6], kh = d[7], kw = d[8];
  const int64_t sh = d[9], sw = d[10], pt = d[11], pl = d[12], dh = d[15], dw = d[16];
  static std::vector<float> col;
  col.resize(static_cast<size_t>(n * oh * ow * kh * kw));
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
  const int mm[kMatMulDims] = {1, static_cast<int>(n * oh * ow), static_cast<int>(kh * kw), static_cast<int>(oc), 0, 0, 1};
  matMul(col.data(), w, bias, y, mm, relu);
}

void conv2dForward(const float* x, const float* w, const float* bias, float* y, const int* dims, bool relu) {
  if (dims[3] == 1) return conv2dSingleChannel(x, w, bias, y, dims, relu);
  static Cache<ConvForward> cache;
  const bool withBias = bias != nullptr;
  std::string key = shapeKey(withBias ? (relu ? "fwd+b+relu" : "fwd+b") : (relu ? "fwd+relu" : "fwd"), dims, kConvDims);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, makeForward(dims, withBias, relu)).first;
  ConvForward& e = *it->second;
  auto& st = cpuStream();
  e.src.set_data_handle(const_cast<float*>(x));
  e.dst.set_data_handle(y);
  e.weights.user.set_data_handle(const_cast<float*>(w));
  e.weights.toPrimitive(st);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.src}, {DNNL_ARG_WEIGHTS, e.weights.prim}, {DNNL_ARG_DST, e.dst}};
  if (withBias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args.emplace(DNNL_ARG_BIAS, e.bias);
  }
  e.prim.execute(st, args);
  st.wait();
}

void conv2dBackwardData(const float* dy, const float* w, float* dx, const int* dims) {
  static Cache<ConvBackwardData> cache;
  std::string key = shapeKey("bwd-data", dims, kConvDims);
  auto it = cache.find(key);
  if (it == cache.end()) {
    ConvShape s(dims);
    auto& eng = cpuEngine();
    auto hint = s.forwardPd(false, false);
    convolution_backward_data::desc desc(algorithm::convolution_direct, s.srcMd(), s.anyWeightsMd(), s.dstMd(),
                                         s.strides, s.dilates, s.padL, s.padR);
    convolution_backward_data::primitive_desc pd(desc, eng, hint);
    auto e = std::make_unique<ConvBackwardData>();
    e->prim = convolution_backward_data(pd);
    e->diffDst = memory(pd.diff_dst_desc(), eng, nullptr);
    e->diffSrc = memory(pd.diff_src_desc(), eng, nullptr);
    e->weights = WeightsLayout(s.userWeightsMd(), pd.weights_desc(), false);
    it = cache.emplace(key, std::move(e)).first;
  }
  ConvBackwardData& e = *it->second;
  auto& st = cpuStream();
  e.diffDst.set_data_handle(const_cast<float*>(dy));
  e.diffSrc.set_data_handle(dx);
  e.weights.user.set_data_handle(const_cast<float*>(w));
  e.weights.toPrimitive(st);
  e.prim.execute(st, {{DNNL_ARG_DIFF_DST, e.diffDst}, {DNNL_ARG_WEIGHTS, e.weights.prim}, {DNNL_ARG_DIFF_SRC, e.diffSrc}});
  st.wait();
}

void conv2dBackwardWeights(const float* x, const float* dy, float* dw, const int* dims) {
  static Cache<ConvBackwardWeights> cache;
  std::string key = shapeKey("bwd-weights", dims, kConvDims);
  auto it = cache.find(key);
  if (it == cache.end()) {
    ConvShape s(dims);
    auto& eng = cpuEngine();
    auto hint = s.forwardPd(false, false);
    convolution_backward_weights::desc desc(algorithm::convolution_direct, s.srcMd(), s.anyWeightsMd(), s.dstMd(),
                                            s.strides, s.dilates, s.padL, s.padR);
    convolution_backward_weights::primitive_desc pd(desc, eng, hint);
    auto e = std::make_unique<ConvBackwardWeights>();
    e->prim = convolution_backward_weights(pd);
    e->src = memory(pd.src_desc(), eng, nullptr);
    e->diffDst = memory(pd.diff_dst_desc(), eng, nullptr);
    e->diffWeights = WeightsLayout(s.userWeightsMd(), pd.diff_weights_desc(), true);
    it = cache.emplace(key, std::move(e)).first;
  }
  ConvBackwardWeights& e = *it->second;
  auto& st = cpuStream();
  e.src.set_data_handle(const_cast<float*>(x));
  e.diffDst.set_data_handle(const_cast<float*>(dy));
  e.diffWeights.user.set_data_handle(dw);
  e.prim.execute(st, {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DIFF_DST, e.diffDst}, {DNNL_ARG_DIFF_WEIGHTS, e.diffWeights.prim}});
  e.diffWeights.toUser(st);
  st.wait();
}

}  // namespace lvseg
