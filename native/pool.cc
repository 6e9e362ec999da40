// Max pooling on oneDNN, NHWC. The gradient reruns the forward pass in training mode to get oneDNN's
// argmax workspace: TensorFlow.js hands MaxPoolGrad the input, not a workspace, and a pooling forward
// is cheap next to the convolutions around it.
#include "engine.h"
#include "kernels.h"

namespace lvseg {
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct PoolShape {
  memory::dims src, dst, strides, kernel, padL, padR;
  explicit PoolShape(const int* d)
      : src{d[PoolDim::Batch], d[PoolDim::Channels], d[PoolDim::InHeight], d[PoolDim::InWidth]},
        dst{d[PoolDim::Batch], d[PoolDim::Channels], d[PoolDim::OutHeight], d[PoolDim::OutWidth]},
        strides{d[PoolDim::StrideHeight], d[PoolDim::StrideWidth]},
        kernel{d[PoolDim::FilterHeight], d[PoolDim::FilterWidth]},
        padL{d[PoolDim::PadTop], d[PoolDim::PadLeft]},
        padR{d[PoolDim::PadBottom], d[PoolDim::PadRight]} {}
  memory::desc srcMd() const { return memory::desc(src, dt::f32, tag::nhwc); }
  memory::desc dstMd() const { return memory::desc(dst, dt::f32, tag::nhwc); }
  pooling_forward::primitive_desc forwardPd(prop_kind kind) const {
    pooling_forward::desc desc(kind, algorithm::pooling_max, srcMd(), dstMd(), strides, kernel, padL, padR);
    return pooling_forward::primitive_desc(desc, cpuEngine());
  }
};

// Each entry keeps its execute arguments, as the convolutions' do (see conv.cc).
struct PoolForward {
  pooling_forward prim;
  memory src, dst;
  std::unordered_map<int, memory> args;
};

struct PoolBackward {
  pooling_forward forward;
  pooling_backward prim;
  memory src, dst, workspace, diffDst, diffSrc;
  std::unordered_map<int, memory> forwardArgs, args;
};

std::unique_ptr<PoolForward> makeForward(const int* d) {
  PoolShape s(d);
  auto pd = s.forwardPd(prop_kind::forward_inference);
  auto e = std::make_unique<PoolForward>();
  e->prim = pooling_forward(pd);
  e->src = memory(pd.src_desc(), cpuEngine(), nullptr);
  e->dst = memory(pd.dst_desc(), cpuEngine(), nullptr);
  e->args = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}};
  return e;
}

std::unique_ptr<PoolBackward> makeBackward(const int* d) {
  PoolShape s(d);
  auto& eng = cpuEngine();
  auto fwd = s.forwardPd(prop_kind::forward_training);
  pooling_backward::desc desc(algorithm::pooling_max, s.srcMd(), s.dstMd(), s.strides, s.kernel, s.padL, s.padR);
  pooling_backward::primitive_desc pd(desc, eng, fwd);
  auto e = std::make_unique<PoolBackward>();
  e->forward = pooling_forward(fwd);
  e->prim = pooling_backward(pd);
  e->src = memory(fwd.src_desc(), eng, nullptr);
  e->dst = memory(fwd.dst_desc(), eng);
  e->workspace = memory(fwd.workspace_desc(), eng);
  e->diffDst = memory(pd.diff_dst_desc(), eng, nullptr);
  e->diffSrc = memory(pd.diff_src_desc(), eng, nullptr);
  e->forwardArgs = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}, {DNNL_ARG_WORKSPACE, e->workspace}};
  e->args = {{DNNL_ARG_DIFF_DST, e->diffDst}, {DNNL_ARG_DIFF_SRC, e->diffSrc}, {DNNL_ARG_WORKSPACE, e->workspace}};
  return e;
}

}  // namespace

void maxPoolForward(const float* x, float* y, const int* dims) {
  static Cache<PoolForward> cache;
  PoolForward& e = cached(cache, shapeKey("maxpool", dims, PoolDim::Count), [&] { return makeForward(dims); });
  e.src.set_data_handle(const_cast<float*>(x));
  e.dst.set_data_handle(y);
  auto& st = cpuStream();
  e.prim.execute(st, e.args);
  st.wait();
}

void maxPoolBackward(const float* x, const float* dy, float* dx, const int* dims) {
  static Cache<PoolBackward> cache;
  PoolBackward& e = cached(cache, shapeKey("maxpool-grad", dims, PoolDim::Count), [&] { return makeBackward(dims); });
  auto& st = cpuStream();
  e.src.set_data_handle(const_cast<float*>(x));
  e.diffDst.set_data_handle(const_cast<float*>(dy));
  e.diffSrc.set_data_handle(dx);
  e.forward.execute(st, e.forwardArgs);
  e.prim.execute(st, e.args);
  st.wait();
}

}  // namespace lvseg
