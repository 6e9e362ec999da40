/*
 * lvseg's wasm SIMD kernels for TensorFlow.js's wasm backend: a Winograd convolution and a row copy.
 *
 * Winograd F(2x2, 3x3) (128-bit wasm SIMD):
 *
 * A 3x3 stride-1 convolution computes each 2x2 output tile from a 4x4 input tile with 16 products per
 * input/output channel pair instead of 36 (2.25x fewer): the input tile and the filter are transformed
 * (V = Bt d B, U = G g Gt), multiplied position by position as 16 matrix products over the channels,
 * and transformed back (Y = At M A). Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks".
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

/* G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] applied to three values. */
#define FILTER_1D(a, b, c, o0, o1, o2, o3)                 \
  do {                                                     \
    vec s_ = wasm_f32x4_add(a, c);                         \
    o0 = a;                                                \
    o1 = wasm_f32x4_mul(half, wasm_f32x4_add(s_, b));      \
    o2 = wasm_f32x4_mul(half, wasm_f32x4_sub(s_, b));      \
    o3 = c;                                                \
  } while (0)

/* Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] applied to four values. */
#define INPUT_1D(a, b, c, d, o0, o1, o2, o3) \
  do {                                       \
    o0 = wasm_f32x4_sub(a, c);               \
    o1 = wasm_f32x4_add(b, c);               \
    o2 = wasm_f32x4_sub(c, b);               \
    o3 = wasm_f32x4_sub(b, d);               \
  } while (0)

/* At = [1 1 1 0; 0 1 -1 -1] applied to four values. */
#define OUTPUT_1D(a, b, c, d, o0, o1)                 \
  do {                                                \
    o0 = wasm_f32x4_add(wasm_f32x4_add(a, b), c);     \
    o1 = wasm_f32x4_sub(wasm_f32x4_sub(b, c), d);     \
  } while (0)

/* K rounded up to a multiple of 8: the packed filter's blocks of output channels. */
#define K8(K) (((K) + 7) & ~7)

/*
 * U = G g Gt for every (c, k) of w[3][3][C][K], packed for the products: position p's block of 8 output
 * channels kb is C rows of 8 floats, u[p * C * K8 + (kb * C + c) * 8 + j] for k = kb * 8 + j, so the
 * product reads it front to back (for K = 4 mod 8 the last block's rows hold 4 and 4 unused).
 */
EXPORT(wino_filter)
void wino_filter(const float *w, float *u, int C, int K) {
  const vec half = wasm_f32x4_splat(0.5f);
  const int ck = C * K, pk = C * K8(K);
  for (int c = 0; c < C; c++)
    for (int k = 0; k < K; k += 4) {
      const int i = c * K + k;
      vec g[3][3], t[4][3];
      for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++) g[r][s] = wasm_v128_load(w + (r * 3 + s) * ck + i);
      for (int s = 0; s < 3; s++) FILTER_1D(g[0][s], g[1][s], g[2][s], t[0][s], t[1][s], t[2][s], t[3][s]);
      float *to = u + ((k >> 3) * C + c) * 8 + (k & 7);
      for (int a = 0; a < 4; a++) {
        vec o0, o1, o2, o3;
        FILTER_1D(t[a][0], t[a][1], t[a][2], o0, o1, o2, o3);
        wasm_v128_store(to + (a * 4 + 0) * pk, o0);
        wasm_v128_store(to + (a * 4 + 1) * pk, o1);
        wasm_v128_store(to + (a * 4 + 2) * pk, o2);
        wasm_v128_store(to + (a * 4 + 3) * pk, o3);
      }
    }
}

/* V[16][T][C] (positions vs floats apart) for tile t: the 4x4 input tile at (y0, x0), zeros outside. */
static void input_tile(const float *x, float *v, int t, int vs, int H, int W, int C, int y0, int x0) {
  const int inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= H && x0 + 4 <= W;
  const vec zero = wasm_f32x4_splat(0.0f);
  for (int c = 0; c < C; c += 4) {
    vec d[4][4], e[4][4];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) {
        const int yy = y0 + i, xx = x0 + j;
        d[i][j] = inside || (yy >= 0 && yy < H && xx >= 0 && xx < W) ? wasm_v128_load(x + (yy * W + xx) * C + c)
                                                                       : zero;
      }
    for (int j = 0; j < 4; j++) INPUT_1D(d[0][j], d[1][j], d[2][j], d[3][j], e[0][j], e[1][j], e[2][j], e[3][j]);
    for (int i = 0; i < 4; i++) {
      vec o0, o1, o2, o3;
      INPUT_1D(e[i][0], e[i][1], e[i][2], e[i][3], o0, o1, o2, o3);
      float *base = v + (size_t)t * C + c;
      wasm_v128_store(base + (i * 4 + 0) * vs, o0);
      wasm_v128_store(base + (i * 4 + 1) * vs, o1);
      wasm_v128_store(base + (i * 4 + 2) * vs, o2);
      wasm_v128_store(base + (i * 4 + 3) * vs, o3);
    }
  }
}

/* M[T][K] = V[T][C] U[C][K] for one of the 16 positions (U packed as wino_filter packs it); T a multiple of
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

/* y's 2x2 tile at (y0, x0) = At M A + bias (relu'd when asked) from M, its positions ms floats apart; rows and
 * columns past OH, OW dropped. */
static void output_tile(const float *m, const float *bias, float *y, int t, int ms, int K, int OH, int OW, int y0,
                        int x0, int relu) {
  const vec zero = wasm_f32x4_splat(0.0f);
  const int rows = OH - y0 < 2 ? OH - y0 : 2, cols = OW - x0 < 2 ? OW - x0 : 2;
  for (int k = 0; k < K; k += 4) {
    vec q[4][4], s[2][4];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) q[i][j] = wasm_v128_load(m + (i * 4 + j) * ms + t * K + k);
    for (int j = 0; j < 4; j++) OUTPUT_1D(q[0][j], q[1][j], q[2][j], q[3][j], s[0][j], s[1][j]);
    const vec b = bias ? wasm_v128_load(bias + k) : zero;
    vec y00, y01, y10, y11;
    OUTPUT_1D(s[0][0], s[0][1], s[0][2], s[0][3], y00, y01);
    OUTPUT_1D(s[1][0], s[1][1], s[1][2], s[1][3], y10, y11);
    y00 = wasm_f32x4_add(y00, b);
    y01 = wasm_f32x4_add(y01, b);
    y10 = wasm_f32x4_add(y10, b);
    y11 = wasm_f32x4_add(y11, b);
    if (relu) {
      y00 = wasm_f32x4_pmax(y00, zero);
      y01 = wasm_f32x4_pmax(y01, zero);
      y10 = wasm_f32x4_pmax(y10, zero);
      y11 = wasm_f32x4_pmax(y11, zero);
    }
    float *row = y + ((size_t)y0 * OW + x0) * K + k;
    wasm_v128_store(row, y00);
    if (cols > 1) wasm_v128_store(row + K, y01);
    if (rows > 1) {
      wasm_v128_store(row + OW * K, y10);
      if (cols > 1) wasm_v128_store(row + OW * K + K, y11);
    }
  }
}

/*
 * Floats between the 16 positions of V and of M: a block's size plus one cache line, so the 16 streams of
 * a tile's transform do not all fall in one L1 set (a block is a power of two: 16 KB apart they would).
 */
#define POSITION_PAD 16

/**
 * y[N][OH][OW][K] = conv3x3(x[N][H][W][C], the filter given as u = wino_filter(w), 16 * C * K8(K) floats)
 * + bias, with the input padded by padT rows on top and padL columns on the left (more past the end as OH,
 * OW need). bias may be 0 (none); relu != 0 applies max(0, ·). Scratch: v holds 16 * (T*C + 16) floats, m
 * 16 * (T*K + 16), with T (tiles per block, a multiple of 4) chosen by the caller to keep both in cache.
 */
EXPORT(wino_conv)
void wino_conv(const float *x, const float *u, const float *bias, float *y, int N, int H, int W, int C, int K,
               int padT, int padL, int OH, int OW, int relu, float *v, float *m, int T) {
  const int TH = (OH + 1) / 2, TW = (OW + 1) / 2;
  const int tiles = N * TH * TW;
  const int vs = T * C + POSITION_PAD, ms = T * K + POSITION_PAD;
  for (int first = 0; first < tiles; first += T) {
    const int count = tiles - first < T ? tiles - first : T;
    const int padded = (count + 3) & ~3;
    for (int t = 0; t < count; t++) {
      const int id = first + t, n = id / (TH * TW), r = id % (TH * TW);
      input_tile(x + (size_t)n * H * W * C, v, t, vs, H, W, C, 2 * (r / TW) - padT, 2 * (r % TW) - padL);
    }
    for (int t = count; t < padded; t++)
      for (int p = 0; p < 16; p++)
        for (int c = 0; c < C; c += 4) wasm_v128_store(v + p * vs + t * C + c, wasm_f32x4_splat(0.0f));
    for (int p = 0; p < 16; p++) gemm(v + p * vs, u + (size_t)p * C * K8(K), m + p * ms, padded, C, K);
    for (int t = 0; t < count; t++) {
      const int id = first + t, n = id / (TH * TW), r = id % (TH * TW);
      output_tile(m, bias, y + (size_t)n * OH * OW * K, t, ms, K, OH, OW, 2 * (r / TW), 2 * (r % TW), relu);
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
