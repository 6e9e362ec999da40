/*
 * lvseg's wasm SIMD kernels for TensorFlow.js's wasm backend: a Winograd convolution and a row copy.
 *
 * Winograd F(4x4, 3x3) (128-bit wasm SIMD):
 *
 * A 3x3 stride-1 convolution computes each 4x4 output tile from a 6x6 input tile with 36 products per
 * input/output channel pair instead of 144 (4x fewer): the input tile and the filter are transformed
 * (V = Bt d B, U = G g Gt, interpolation points 0, +-1, +-2 and infinity), multiplied position by position
 * as 36 matrix products over the channels, and transformed back (Y = At M A). Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks" (2016). Its rounding error is a few times F(2x2, 3x3)'s,
 * ~1e-5 of the output's range in float32 for 256 channels.
 *
 * The module imports tfjs-backend-wasm's memory and works on its tensors in place: every pointer is an
 * offset in that heap, and the scratch is malloc'd there by the caller. It has no data segment and uses
 * no shadow stack (scripts/build-wasm.mjs checks both), so instantiating it writes nothing to the heap.
 * Layouts: x NHWC, w HWIO (tfjs's), y NHWC; C and K multiples of 4.
 */
#include <stddef.h>
#include <wasm_simd128.h>

typedef v128_t vec;

#define EXPORT(name) __attribute__((export_name(#name)))

/* G (6x3) of F(4x4, 3x3) applied to three values: g0/4, -(g0+g1+g2)/6, -(g0-g1+g2)/6, g0/24 + g1/12 + g2/6,
 * g0/24 - g1/12 + g2/6, g2. */
#define FILTER_1D(a, b, c, o0, o1, o2, o3, o4, o5)                                              \
  do {                                                                                          \
    const vec ac_ = wasm_f32x4_add(a, c);                                                       \
    o0 = wasm_f32x4_mul(a, quarter);                                                            \
    o1 = wasm_f32x4_mul(wasm_f32x4_add(ac_, b), minus_sixth);                                   \
    o2 = wasm_f32x4_mul(wasm_f32x4_sub(ac_, b), minus_sixth);                                   \
    const vec e_ = wasm_f32x4_add(wasm_f32x4_mul(a, twentyfourth), wasm_f32x4_mul(c, sixth));   \
    const vec f_ = wasm_f32x4_mul(b, twelfth);                                                  \
    o3 = wasm_f32x4_add(e_, f_);                                                                \
    o4 = wasm_f32x4_sub(e_, f_);                                                                \
    o5 = c;                                                                                     \
  } while (0)

/* Bt (6x6) of F(4x4, 3x3) applied to six values: 4d0 - 5d2 + d4, (d3 + d4) - 4(d1 + d2),
 * (d4 - d3) + 4(d1 - d2), (d4 - d2) + 2(d3 - d1), (d4 - d2) - 2(d3 - d1), 4d1 - 5d3 + d5. */
#define INPUT_1D(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                       \
  do {                                                                                                 \
    o0 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(d0, four), wasm_f32x4_mul(d2, five)), d4);        \
    o1 = wasm_f32x4_sub(wasm_f32x4_add(d3, d4), wasm_f32x4_mul(wasm_f32x4_add(d1, d2), four));         \
    o2 = wasm_f32x4_add(wasm_f32x4_sub(d4, d3), wasm_f32x4_mul(wasm_f32x4_sub(d1, d2), four));         \
    const vec p_ = wasm_f32x4_sub(d4, d2), q_ = wasm_f32x4_mul(wasm_f32x4_sub(d3, d1), two);           \
    o3 = wasm_f32x4_add(p_, q_);                                                                       \
    o4 = wasm_f32x4_sub(p_, q_);                                                                       \
    o5 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(d1, four), wasm_f32x4_mul(d3, five)), d5);        \
  } while (0)

/* At (4x6) of F(4x4, 3x3) applied to six values: m0 + (m1 + m2) + (m3 + m4), (m1 - m2) + 2(m3 - m4),
 * (m1 + m2) + 4(m3 + m4), (m1 - m2) + 8(m3 - m4) + m5. */
#define OUTPUT_1D(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                  \
  do {                                                                                     \
    const vec s12_ = wasm_f32x4_add(m1, m2), d12_ = wasm_f32x4_sub(m1, m2);                \
    const vec s34_ = wasm_f32x4_add(m3, m4), d34_ = wasm_f32x4_sub(m3, m4);                \
    o0 = wasm_f32x4_add(wasm_f32x4_add(m0, s12_), s34_);                                   \
    o1 = wasm_f32x4_add(d12_, wasm_f32x4_mul(d34_, two));                                  \
    o2 = wasm_f32x4_add(s12_, wasm_f32x4_mul(s34_, four));                                 \
    o3 = wasm_f32x4_add(wasm_f32x4_add(d12_, wasm_f32x4_mul(d34_, eight)), m5);            \
  } while (0)

/* Fully unrolled: the tile arrays then live in wasm locals, not on a shadow stack in tfjs's heap. */
#define UNROLL _Pragma("clang loop unroll(full)")

/* K rounded up to a multiple of 8: the packed filter's blocks of output channels. */
#define K8(K) (((K) + 7) & ~7)

/*
 * U = G g Gt (36 positions) for every (c, k) of w[3][3][C][K], packed for the products: position p's block of 8 output
 * channels kb is C rows of 8 floats, u[p * C * K8 + (kb * C + c) * 8 + j] for k = kb * 8 + j, so the
 * product reads it front to back (for K = 4 mod 8 the last block's rows hold 4 and 4 unused).
 */
EXPORT(wino_filter)
void wino_filter(const float *w, float *u, int C, int K) {
  const vec quarter = wasm_f32x4_splat(0.25f), minus_sixth = wasm_f32x4_splat(-1.0f / 6.0f);
  const vec twentyfourth = wasm_f32x4_splat(1.0f / 24.0f), twelfth = wasm_f32x4_splat(1.0f / 12.0f);
  const vec sixth = wasm_f32x4_splat(1.0f / 6.0f);
  const int ck = C * K, pk = C * K8(K);
  for (int c = 0; c < C; c++)
    for (int k = 0; k < K; k += 4) {
      const int i = c * K + k;
      vec g[3][3], t[6][3];
      for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++) g[r][s] = wasm_v128_load(w + (r * 3 + s) * ck + i);
      for (int s = 0; s < 3; s++)
        FILTER_1D(g[0][s], g[1][s], g[2][s], t[0][s], t[1][s], t[2][s], t[3][s], t[4][s], t[5][s]);
      float *to = u + ((k >> 3) * C + c) * 8 + (k & 7);
      for (int a = 0; a < 6; a++) {
        vec o[6];
        FILTER_1D(t[a][0], t[a][1], t[a][2], o[0], o[1], o[2], o[3], o[4], o[5]);
        for (int b = 0; b < 6; b++) wasm_v128_store(to + (a * 6 + b) * pk, o[b]);
      }
    }
}

/* V[36][T][C] (positions vs floats apart) for tile t: the 6x6 input tile at (y0, x0), zeros outside. */
static void input_tile(const float *x, float *v, int t, int vs, int H, int W, int C, int y0, int x0) {
  const int inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= H && x0 + 6 <= W;
  const vec zero = wasm_f32x4_splat(0.0f), two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f);
  const vec five = wasm_f32x4_splat(5.0f);
  for (int c = 0; c < C; c += 4) {
    vec e[6][6];
    UNROLL for (int j = 0; j < 6; j++) {
      vec d[6];
      UNROLL for (int i = 0; i < 6; i++) {
        const int yy = y0 + i, xx = x0 + j;
        const int in = inside || (yy >= 0 && yy < H && xx >= 0 && xx < W);
        d[i] = in ? wasm_v128_load(x + (yy * W + xx) * C + c) : zero;
      }
      INPUT_1D(d[0], d[1], d[2], d[3], d[4], d[5], e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j]);
    }
    float *base = v + (size_t)t * C + c;
    UNROLL for (int i = 0; i < 6; i++) {
      vec o[6];
      INPUT_1D(e[i][0], e[i][1], e[i][2], e[i][3], e[i][4], e[i][5], o[0], o[1], o[2], o[3], o[4], o[5]);
      UNROLL for (int j = 0; j < 6; j++) wasm_v128_store(base + (i * 6 + j) * vs, o[j]);
    }
  }
}

/* M[T][K] = V[T][C] U[C][K] for one of the 36 positions (U packed as wino_filter packs it); T a multiple of
 * 4, K of 4. A 4x8 block of M in eight registers (4x4 for the last 4 of K = 4 mod 8); each step broadcasts
 * one value of four rows of V. */
static void gemm(const float *v, const float *u, float *m, int T, int C, int K) {
  for (int t = 0; t < T; t += 4) {
    const float *a0 = v + t * C, *a1 = a0 + C, *a2 = a1 + C, *a3 = a2 + C;
    int k = 0;
    for (; k + 8 <= K; k += 8) {
      vec c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00;
      vec c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      const float *b = u + k * C;
      for (int c = 0; c < C; c++, b += 8) {
        const vec b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        const vec x0 = wasm_v128_load32_splat(a0 + c), x1 = wasm_v128_load32_splat(a1 + c);
        const vec x2 = wasm_v128_load32_splat(a2 + c), x3 = wasm_v128_load32_splat(a3 + c);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x0, b0));
        c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x0, b1));
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x1, b0));
        c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x1, b1));
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x2, b0));
        c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x2, b1));
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x3, b0));
        c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x3, b1));
      }
      float *o = m + t * K + k;
      wasm_v128_store(o, c00);
      wasm_v128_store(o + 4, c01);
      wasm_v128_store(o + K, c10);
      wasm_v128_store(o + K + 4, c11);
      wasm_v128_store(o + 2 * K, c20);
      wasm_v128_store(o + 2 * K + 4, c21);
      wasm_v128_store(o + 3 * K, c30);
      wasm_v128_store(o + 3 * K + 4, c31);
    }
    if (k < K) {
      vec c0 = wasm_f32x4_splat(0.0f), c1 = c0, c2 = c0, c3 = c0;
      const float *b = u + k * C;
      for (int c = 0; c < C; c++, b += 8) {
        const vec b0 = wasm_v128_load(b);
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_v128_load32_splat(a0 + c), b0));
        c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wasm_v128_load32_splat(a1 + c), b0));
        c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(wasm_v128_load32_splat(a2 + c), b0));
        c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(wasm_v128_load32_splat(a3 + c), b0));
      }
      float *o = m + t * K + k;
      wasm_v128_store(o, c0);
      wasm_v128_store(o + K, c1);
      wasm_v128_store(o + 2 * K, c2);
      wasm_v128_store(o + 3 * K, c3);
    }
  }
}

/* y's 4x4 tile at (y0, x0) = At M A + bias (relu'd when asked) from M, its positions ms floats apart; rows and
 * columns past OH, OW dropped. */
static void output_tile(const float *m, const float *bias, float *y, int t, int ms, int K, int OH, int OW, int y0,
                        int x0, int relu) {
  const vec zero = wasm_f32x4_splat(0.0f), two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f);
  const vec eight = wasm_f32x4_splat(8.0f);
  const int rows = OH - y0 < 4 ? OH - y0 : 4, cols = OW - x0 < 4 ? OW - x0 : 4;
  for (int k = 0; k < K; k += 4) {
    vec s[4][6];
    for (int j = 0; j < 6; j++) {
      vec q[6];
      for (int i = 0; i < 6; i++) q[i] = wasm_v128_load(m + (i * 6 + j) * ms + t * K + k);
      OUTPUT_1D(q[0], q[1], q[2], q[3], q[4], q[5], s[0][j], s[1][j], s[2][j], s[3][j]);
    }
    const vec b = bias ? wasm_v128_load(bias + k) : zero;
    for (int i = 0; i < 4; i++) {
      vec o0, o1, o2, o3;
      OUTPUT_1D(s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5], o0, o1, o2, o3);
      o0 = wasm_f32x4_add(o0, b);
      o1 = wasm_f32x4_add(o1, b);
      o2 = wasm_f32x4_add(o2, b);
      o3 = wasm_f32x4_add(o3, b);
      if (relu) {
        o0 = wasm_f32x4_pmax(o0, zero);
        o1 = wasm_f32x4_pmax(o1, zero);
        o2 = wasm_f32x4_pmax(o2, zero);
        o3 = wasm_f32x4_pmax(o3, zero);
      }
      float *row = y + ((size_t)(y0 + i) * OW + x0) * K + k;
      if (i < rows) {
        if (cols == 4) {
          wasm_v128_store(row, o0);
          wasm_v128_store(row + K, o1);
          wasm_v128_store(row + 2 * K, o2);
          wasm_v128_store(row + 3 * K, o3);
        } else {
          wasm_v128_store(row, o0);
          if (cols > 1) wasm_v128_store(row + K, o1);
          if (cols > 2) wasm_v128_store(row + 2 * K, o2);
        }
      }
    }
  }
}

/*
 * Floats between the 36 positions of V and of M: a block's size plus one cache line, so the 36 streams of
 * a tile's transform do not all fall in a few L1 sets (a block is a power of two: 4 KB apart they would).
 */
#define POSITION_PAD 16

/**
 * y[N][OH][OW][K] = conv3x3(x[N][H][W][C], the filter given as u = wino_filter(w), 36 * C * K8(K) floats)
 * + bias, with the input padded by padT rows on top and padL columns on the left (more past the end as OH,
 * OW need). bias may be 0 (none); relu != 0 applies max(0, ·). Scratch: v holds 36 * (T*C + 16) floats, m
 * 36 * (T*K + 16), with T (tiles per block, a multiple of 4) chosen by the caller to keep both in cache.
 */
EXPORT(wino_conv)
void wino_conv(const float *x, const float *u, const float *bias, float *y, int N, int H, int W, int C, int K,
               int padT, int padL, int OH, int OW, int relu, float *v, float *m, int T) {
  const int TH = (OH + 3) / 4, TW = (OW + 3) / 4;
  const int tiles = N * TH * TW;
  const int vs = T * C + POSITION_PAD, ms = T * K + POSITION_PAD;
  for (int first = 0; first < tiles; first += T) {
    const int count = tiles - first < T ? tiles - first : T;
    const int padded = (count + 3) & ~3;
    for (int t = 0; t < count; t++) {
      const int id = first + t, n = id / (TH * TW), r = id % (TH * TW);
      input_tile(x + (size_t)n * H * W * C, v, t, vs, H, W, C, 4 * (r / TW) - padT, 4 * (r % TW) - padL);
    }
    for (int t = count; t < padded; t++)
      for (int p = 0; p < 36; p++)
        for (int c = 0; c < C; c += 4) wasm_v128_store(v + p * vs + t * C + c, wasm_f32x4_splat(0.0f));
    for (int p = 0; p < 36; p++) gemm(v + p * vs, u + (size_t)p * C * K8(K), m + p * ms, padded, C, K);
    for (int t = 0; t < count; t++) {
      const int id = first + t, n = id / (TH * TW), r = id % (TH * TW);
      output_tile(m, bias, y + (size_t)n * OH * OW * K, t, ms, K, OH, OW, 4 * (r / TW), 4 * (r % TW), relu);
    }
  }
}

/**
 * dst row r (at dst + r * dstStride) = src row r (width floats, rows packed): one input of a Concat along
 * an axis, its rows placed between the other inputs'. Four bytes an element, so int32 copies alike.
 */
EXPORT(copy_rows)
void copy_rows(float *dst, const float *src, int rows, int width, int dstStride) {
  const int vectors = width & ~3;
  for (int r = 0; r < rows; r++, src += width, dst += dstStride) {
    int i = 0;
    for (; i < vectors; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
    for (; i < width; i++) dst[i] = src[i];
  }
}
