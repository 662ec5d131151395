/*
 * Convolution kernels for the wasm backend, in 128-bit WebAssembly SIMD.
 *
 * Built by build.mjs beside this file (Debian's clang: --target=wasm32 -msimd128 -O3 -nostdlib)
 * into convWasm.ts. The module imports TensorFlow.js's own wasm memory ("env"."memory") and works
 * on tensors where they lie: every pointer is a byte offset into that memory, every buffer
 * (inputs, outputs, scratch) is allocated by the caller through the backend's malloc. The code
 * keeps no state and uses no memory of its own: no data segment, no stack (build.mjs checks both),
 * so it cannot clobber the backend's heap.
 *
 * Summation order. Each output is a sum accumulated in one float, in exactly the order XNNPACK's
 * indirect GEMM uses for the same convolution (taps row-major, then input channels; the bias, or
 * zero, first), with a separate multiply and add (no fused multiply-add). The results are
 * therefore the ones the previous kernels (XNNPACK convolutions) gave, bit for bit, except that a
 * tap falling in the padding is skipped instead of adding a zero product (which can only turn a
 * -0 into +0).
 *
 * Layouts (NHWC throughout):
 *   x  [n, h, w, ci]      filter [kh, kw, ci, co]      y [n, oh, ow, co]
 */
#include <wasm_simd128.h>

typedef unsigned long size_t;

#define LOAD(p) wasm_v128_load(p)
#define STORE(p, v) wasm_v128_store((p), (v))
#define SPLAT(p) wasm_v128_load32_splat(p)
#define MAC(acc, a, b) ((acc) = wasm_f32x4_add((acc), wasm_f32x4_mul((a), (b))))

/*
 * [a, b, c] -> [b, a, c]: swaps the two outer axes of a tensor whose inner rows are c floats long.
 * NHWC x with a = n, b = h*w gives [h, w, n, ci].
 */
void swap_outer(const float *src, float *dst, int a, int b, int c) {
  for (int i = 0; i < a; i++) {
    const float *s = src + (size_t)i * b * c;
    for (int j = 0; j < b; j++, s += c) {
      float *d = dst + ((size_t)j * a + i) * c;
      int k = 0;
      for (; k + 4 <= c; k += 4) STORE(d + k, LOAD(s + k));
      for (; k < c; k++) d[k] = s[k];
    }
  }
}

/*
 * One (input position, output position) pair of the filter gradient: for every ci in [0, ci_n)
 * and co in [0, co_n),
 *   dw[ci, co] += sum_{j < n} xs[j, ci] * ds[j, co]      (j in order, one accumulator per output)
 * xs: the input at one position for every image (rows of ci_n floats, xj apart), ds: the output
 * gradient at one position for every image (rows of co_n floats, dj apart), dw: [ci_n, co_n].
 */
static void filter_grad_pair(const float *xs, const float *ds, float *dw, int n, int ci_n, int co_n, size_t xj, size_t dj) {
  int ci = 0;
  for (; ci + 2 <= ci_n; ci += 2) {
    int co = 0;
    for (; co + 16 <= co_n; co += 16) {
      float *o0 = dw + (size_t)ci * co_n + co;
      float *o1 = o0 + co_n;
      v128_t a00 = LOAD(o0), a01 = LOAD(o0 + 4), a02 = LOAD(o0 + 8), a03 = LOAD(o0 + 12);
      v128_t a10 = LOAD(o1), a11 = LOAD(o1 + 4), a12 = LOAD(o1 + 8), a13 = LOAD(o1 + 12);
      const float *xp = xs + ci;
      const float *dp = ds + co;
      for (int j = 0; j < n; j++, xp += xj, dp += dj) {
        const v128_t d0 = LOAD(dp), d1 = LOAD(dp + 4), d2 = LOAD(dp + 8), d3 = LOAD(dp + 12);
        const v128_t s0 = SPLAT(xp), s1 = SPLAT(xp + 1);
        MAC(a00, s0, d0); MAC(a01, s0, d1); MAC(a02, s0, d2); MAC(a03, s0, d3);
        MAC(a10, s1, d0); MAC(a11, s1, d1); MAC(a12, s1, d2); MAC(a13, s1, d3);
      }
      STORE(o0, a00); STORE(o0 + 4, a01); STORE(o0 + 8, a02); STORE(o0 + 12, a03);
      STORE(o1, a10); STORE(o1 + 4, a11); STORE(o1 + 8, a12); STORE(o1 + 12, a13);
    }
    for (; co + 4 <= co_n; co += 4) {
      float *o0 = dw + (size_t)ci * co_n + co;
      float *o1 = o0 + co_n;
      v128_t a0 = LOAD(o0), a1 = LOAD(o1);
      const float *xp = xs + ci;
      const float *dp = ds + co;
      for (int j = 0; j < n; j++, xp += xj, dp += dj) {
        const v128_t d = LOAD(dp);
        MAC(a0, SPLAT(xp), d);
        MAC(a1, SPLAT(xp + 1), d);
      }
      STORE(o0, a0); STORE(o1, a1);
    }
    for (; co < co_n; co++) {
      float a0 = dw[(size_t)ci * co_n + co], a1 = dw[(size_t)(ci + 1) * co_n + co];
      for (int j = 0; j < n; j++) {
        const float d = ds[(size_t)j * dj + co];
        a0 = a0 + xs[(size_t)j * xj + ci] * d;
        a1 = a1 + xs[(size_t)j * xj + ci + 1] * d;
      }
      dw[(size_t)ci * co_n + co] = a0;
      dw[(size_t)(ci + 1) * co_n + co] = a1;
    }
  }
  for (; ci < ci_n; ci++) {
    int co = 0;
    for (; co + 16 <= co_n; co += 16) {
      float *o0 = dw + (size_t)ci * co_n + co;
      v128_t a0 = LOAD(o0), a1 = LOAD(o0 + 4), a2 = LOAD(o0 + 8), a3 = LOAD(o0 + 12);
      const float *xp = xs + ci;
      const float *dp = ds + co;
      for (int j = 0; j < n; j++, xp += xj, dp += dj) {
        const v128_t s = SPLAT(xp);
        MAC(a0, s, LOAD(dp)); MAC(a1, s, LOAD(dp + 4)); MAC(a2, s, LOAD(dp + 8)); MAC(a3, s, LOAD(dp + 12));
      }
      STORE(o0, a0); STORE(o0 + 4, a1); STORE(o0 + 8, a2); STORE(o0 + 12, a3);
    }
    for (; co + 4 <= co_n; co += 4) {
      float *o0 = dw + (size_t)ci * co_n + co;
      v128_t a0 = LOAD(o0);
      const float *xp = xs + ci;
      const float *dp = ds + co;
      for (int j = 0; j < n; j++, xp += xj, dp += dj) MAC(a0, SPLAT(xp), LOAD(dp));
      STORE(o0, a0);
    }
    for (; co < co_n; co++) {
      float a0 = dw[(size_t)ci * co_n + co];
      for (int j = 0; j < n; j++) a0 = a0 + xs[(size_t)j * xj + ci] * ds[(size_t)j * dj + co];
      dw[(size_t)ci * co_n + co] = a0;
    }
  }
}

/*
 * Gradient of a convolution with respect to its filter:
 *   dw[kh, kw, ci, co] = sum over (oh, ow) row-major, then over images j in order, of
 *                        x[j, oh*sh + kh - pt, ow*sw + kw - pl, ci] * dy[j, oh, ow, co]
 * (terms whose input position falls in the padding are skipped), for the input channels in
 * [ci0, ci1) only: those rows of dw [kh, kw, ci, co] are overwritten, the others left alone (two
 * threads each take a range; every sum is the same whatever the range). swapped = 0: x and dy are NHWC. swapped = 1: their outer axes are swapped
 * (swap_outer), x [h, w, n, ci] and dy [oh, ow, n, co], so that the images of one position lie
 * together.
 */
void conv2d_filter_grad(const float *x, const float *dy, float *dw,
                        int n, int h, int w, int ci, int oh, int ow, int co,
                        int kh, int kw, int sh, int sw, int pt, int pl, int swapped, int ci0, int ci1) {
  const size_t rows = (size_t)(ci1 - ci0) * co; /* floats of one tap's range */
  /* Floats between two images at one position, and between two positions. */
  const size_t xj = swapped ? (size_t)ci : (size_t)h * w * ci;
  const size_t dj = swapped ? (size_t)co : (size_t)oh * ow * co;
  const size_t xpos = swapped ? (size_t)n * ci : (size_t)ci;
  const size_t dpos = swapped ? (size_t)n * co : (size_t)co;
  for (int t = 0; t < kh * kw; t++) __builtin_memset(dw + (size_t)t * ci * co + (size_t)ci0 * co, 0, rows * sizeof(float));
  for (int y = 0; y < oh; y++) {
    for (int x0 = 0; x0 < ow; x0++) {
      const float *ds = dy + ((size_t)y * ow + x0) * dpos;
      for (int ky = 0; ky < kh; ky++) {
        const int iy = y * sh + ky - pt;
        if (iy < 0 || iy >= h) continue;
        for (int kx = 0; kx < kw; kx++) {
          const int ix = x0 * sw + kx - pl;
          if (ix < 0 || ix >= w) continue;
          const float *xs = x + ((size_t)iy * w + ix) * xpos;
          filter_grad_pair(xs + ci0, ds, dw + ((size_t)ky * kw + kx) * ci * co + (size_t)ci0 * co, n, ci1 - ci0, co, xj, dj);
        }
      }
    }
  }
}

/* Output pixel p: its image J, and the input row IY and column IX of its first tap (may be outside). */
#define LOCATE(p, J, IY, IX)                  \
  const int J = (int)((p) / plane);           \
  const int IY = (int)((p) % plane) / ow * sh - pt; \
  const int IX = (int)((p) % plane) % ow * sw - pl

/* The input channels at a pixel's tap, or the zeros when the tap falls in the padding. */
static inline const float *input_at(const float *x, const float *zero, int j, int iy, int ix, int h, int w, int ci) {
  if (iy < 0 || iy >= h || ix < 0 || ix >= w) return zero;
  return x + (((size_t)j * h + iy) * w + ix) * ci;
}

/* One output channel of one pixel, in the same order as the vector path. */
static float scalar_output(const float *x, const float *f, float acc, int j, int iy0, int ix0, int o,
                           int h, int w, int ci, int co, int kh, int kw, int dh, int dw, int relu) {
  for (int ky = 0; ky < kh; ky++) {
    for (int kx = 0; kx < kw; kx++) {
      const int iy = iy0 + ky * dh, ix = ix0 + kx * dw;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const float *xs = x + (((size_t)j * h + iy) * w + ix) * ci;
      const float *fp = f + ((size_t)ky * kw + kx) * ci * co + o;
      for (int c = 0; c < ci; c++) acc = acc + xs[c] * fp[(size_t)c * co];
    }
  }
  return relu ? (0.0f < acc ? acc : 0.0f) : acc;
}

/*
 * Convolution (NHWC, any stride, dilation and padding):
 *   y[j, oy, ox, o] = bias[o] (or 0) + sum over taps (ky, kx) row-major, then input channels c,
 *                     of x[j, oy*sh + ky*dh - pt, ox*sw + kx*dw - pl, c] * f[ky, kx, c, o]
 * Output pixels are taken four at a time (all images' pixels in one row-major sequence); a tap of
 * one of them that falls in the padding reads zeros instead, as XNNPACK does, unless it falls in the
 * padding for all four, when it is skipped; so is a tap whose weights for 8 output channels are
 * all zero (adding zero products changes no sum but the sign of a zero one).
 * scratch: ci floats + kh*kw*(co/8) bytes from the caller.
 * bias may be 0 (null). relu != 0: each output becomes 0 < y ? y : 0 (XNNPACK's clamp at 0).
 */
void conv2d(const float *x, const float *f, const float *bias, float *y, float *scratch,
            int n, int h, int w, int ci, int oh, int ow, int co,
            int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, int relu) {
  const size_t pixels = (size_t)n * oh * ow;
  const v128_t vzero = wasm_f32x4_splat(0.0f);
  const size_t fstride = (size_t)ci * co; /* floats per tap in f */
  const int blocks = co / 8;
  float *zero = scratch;
  unsigned char *used = (unsigned char *)(scratch + ci);
  for (int c = 0; c < ci; c++) zero[c] = 0.0f;
  /* used[tap * blocks + b]: whether block b (8 output channels) of this tap has a non-zero
     weight. A polyphase filter (the input gradient of a strided convolution) has many that do not. */
  for (int t = 0; t < kh * kw; t++) {
    for (int b = 0; b < blocks; b++) {
      const float *fp = f + (size_t)t * fstride + (size_t)b * 8;
      int nonzero = 0;
      for (int c = 0; c < ci && !nonzero; c++, fp += co) {
        nonzero = wasm_v128_any_true(wasm_v128_or(wasm_f32x4_ne(LOAD(fp), vzero), wasm_f32x4_ne(LOAD(fp + 4), vzero)));
      }
      used[t * blocks + b] = (unsigned char)nonzero;
    }
  }
  const size_t plane = (size_t)oh * ow;
  for (size_t p0 = 0; p0 < pixels; p0 += 4) {
    const int mr = pixels - p0 >= 4 ? 4 : (int)(pixels - p0);
    /* The four pixels (a missing one repeats the last: it computes and writes its values again). */
    const size_t q0 = p0, q1 = p0 + (mr > 1 ? 1 : mr - 1), q2 = p0 + (mr > 2 ? 2 : mr - 1), q3 = p0 + (mr > 3 ? 3 : mr - 1);
    LOCATE(q0, j0, r0, c0);
    LOCATE(q1, j1, r1, c1);
    LOCATE(q2, j2, r2, c2);
    LOCATE(q3, j3, r3, c3);
    float *y0 = y + q0 * co, *y1 = y + q1 * co, *y2 = y + q2 * co, *y3 = y + q3 * co;
    int o = 0;
    for (; o + 8 <= co; o += 8) {
      v128_t a0l, a0h;
      if (bias) { a0l = LOAD(bias + o); a0h = LOAD(bias + o + 4); }
      else { a0l = vzero; a0h = vzero; }
      v128_t a1l = a0l, a1h = a0h, a2l = a0l, a2h = a0h, a3l = a0l, a3h = a0h;
      for (int ky = 0; ky < kh; ky++) {
        for (int kx = 0; kx < kw; kx++) {
          if (!used[(ky * kw + kx) * blocks + o / 8]) continue;
          const int dy0 = ky * dh, dx0 = kx * dw;
          const float *x0 = input_at(x, zero, j0, r0 + dy0, c0 + dx0, h, w, ci);
          const float *x1 = input_at(x, zero, j1, r1 + dy0, c1 + dx0, h, w, ci);
          const float *x2 = input_at(x, zero, j2, r2 + dy0, c2 + dx0, h, w, ci);
          const float *x3 = input_at(x, zero, j3, r3 + dy0, c3 + dx0, h, w, ci);
          if (x0 == zero && x1 == zero && x2 == zero && x3 == zero) continue;
          const float *fp = f + ((size_t)ky * kw + kx) * fstride + o;
          for (int c = 0; c < ci; c++, fp += co) {
            const v128_t fl = LOAD(fp), fh = LOAD(fp + 4);
            v128_t s = SPLAT(x0 + c);
            MAC(a0l, s, fl); MAC(a0h, s, fh);
            s = SPLAT(x1 + c);
            MAC(a1l, s, fl); MAC(a1h, s, fh);
            s = SPLAT(x2 + c);
            MAC(a2l, s, fl); MAC(a2h, s, fh);
            s = SPLAT(x3 + c);
            MAC(a3l, s, fl); MAC(a3h, s, fh);
          }
        }
      }
      if (relu) {
        a0l = wasm_f32x4_pmax(vzero, a0l); a0h = wasm_f32x4_pmax(vzero, a0h);
        a1l = wasm_f32x4_pmax(vzero, a1l); a1h = wasm_f32x4_pmax(vzero, a1h);
        a2l = wasm_f32x4_pmax(vzero, a2l); a2h = wasm_f32x4_pmax(vzero, a2h);
        a3l = wasm_f32x4_pmax(vzero, a3l); a3h = wasm_f32x4_pmax(vzero, a3h);
      }
      STORE(y3 + o, a3l); STORE(y3 + o + 4, a3h);
      STORE(y2 + o, a2l); STORE(y2 + o + 4, a2h);
      STORE(y1 + o, a1l); STORE(y1 + o + 4, a1h);
      STORE(y0 + o, a0l); STORE(y0 + o + 4, a0h);
    }
    for (; o < co; o++) {
      const float init = bias ? bias[o] : 0.0f;
      y3[o] = scalar_output(x, f, init, j3, r3, c3, o, h, w, ci, co, kh, kw, dh, dw, relu);
      y2[o] = scalar_output(x, f, init, j2, r2, c2, o, h, w, ci, co, kh, kw, dh, dw, relu);
      y1[o] = scalar_output(x, f, init, j1, r1, c1, o, h, w, ci, co, kh, kw, dh, dw, relu);
      y0[o] = scalar_output(x, f, init, j0, r0, c0, o, h, w, ci, co, kh, kw, dh, dw, relu);
    }
  }
}

/*
 * Column sums of [rows, c] into out [c]: per column, the sum tfjs-backend-wasm's plain matMul loop
 * gives for ones [rows, 1] (transposed) times the matrix, in its order, so bit for bit its result:
 * rows in blocks of 48, each block summed from zero in row order, each block's sum added to the
 * total, and then + 0 (the loop adds an absent bias, which can only turn a -0 into +0). 1 * v is
 * v exactly, so no multiply is needed. 16 (then 4) columns at a time in vector lanes, the rest one
 * at a time. What is summed per element (SUM_*): a, (a - mean)^2, or a * b (b is read only for
 * the product; mean, null otherwise, only for the centred square).
 */
#define SUM_BLOCK 48
enum { SUM_PLAIN, SUM_CENTERED_SQUARE, SUM_PRODUCT };

static inline __attribute__((always_inline)) v128_t sum_term(int kind, const float *a, const float *b, v128_t m) {
  if (kind == SUM_PLAIN) return LOAD(a);
  if (kind == SUM_CENTERED_SQUARE) {
    const v128_t d = wasm_f32x4_sub(LOAD(a), m);
    return wasm_f32x4_mul(d, d);
  }
  return wasm_f32x4_mul(LOAD(a), LOAD(b));
}

static inline __attribute__((always_inline)) float sum_term1(int kind, float a, float b, float m) {
  if (kind == SUM_PLAIN) return a;
  if (kind == SUM_CENTERED_SQUARE) return (a - m) * (a - m);
  return a * b;
}

static inline __attribute__((always_inline)) void sums_of(int kind, const float *a, const float *b, const float *mean,
                                                            float *out, int rows, int c) {
  const v128_t vzero = wasm_f32x4_splat(0.0f);
  int j = 0;
  for (; j + 16 <= c; j += 16) {
    const v128_t m0 = mean ? LOAD(mean + j) : vzero, m1 = mean ? LOAD(mean + j + 4) : vzero;
    const v128_t m2 = mean ? LOAD(mean + j + 8) : vzero, m3 = mean ? LOAD(mean + j + 12) : vzero;
    v128_t t0 = vzero, t1 = vzero, t2 = vzero, t3 = vzero;
    for (int k0 = 0; k0 < rows; k0 += SUM_BLOCK) {
      const int k1 = rows - k0 < SUM_BLOCK ? rows : k0 + SUM_BLOCK;
      v128_t s0 = vzero, s1 = vzero, s2 = vzero, s3 = vzero;
      const size_t at = (size_t)k0 * c + j;
      const float *p = a + at, *q = b + at;
      for (int k = k0; k < k1; k++, p += c, q += c) {
        s0 = wasm_f32x4_add(s0, sum_term(kind, p, q, m0));
        s1 = wasm_f32x4_add(s1, sum_term(kind, p + 4, q + 4, m1));
        s2 = wasm_f32x4_add(s2, sum_term(kind, p + 8, q + 8, m2));
        s3 = wasm_f32x4_add(s3, sum_term(kind, p + 12, q + 12, m3));
      }
      t0 = wasm_f32x4_add(wasm_f32x4_add(t0, s0), vzero);
      t1 = wasm_f32x4_add(wasm_f32x4_add(t1, s1), vzero);
      t2 = wasm_f32x4_add(wasm_f32x4_add(t2, s2), vzero);
      t3 = wasm_f32x4_add(wasm_f32x4_add(t3, s3), vzero);
    }
    STORE(out + j, t0); STORE(out + j + 4, t1); STORE(out + j + 8, t2); STORE(out + j + 12, t3);
  }
  for (; j + 4 <= c; j += 4) {
    const v128_t m = mean ? LOAD(mean + j) : vzero;
    v128_t t = vzero;
    for (int k0 = 0; k0 < rows; k0 += SUM_BLOCK) {
      const int k1 = rows - k0 < SUM_BLOCK ? rows : k0 + SUM_BLOCK;
      v128_t s0 = vzero;
      const size_t at = (size_t)k0 * c + j;
      const float *p = a + at, *q = b + at;
      for (int k = k0; k < k1; k++, p += c, q += c) s0 = wasm_f32x4_add(s0, sum_term(kind, p, q, m));
      t = wasm_f32x4_add(wasm_f32x4_add(t, s0), vzero);
    }
    STORE(out + j, t);
  }
  for (; j < c; j++) {
    const float m = mean ? mean[j] : 0.0f;
    float t = 0.0f;
    for (int k0 = 0; k0 < rows; k0 += SUM_BLOCK) {
      const int k1 = rows - k0 < SUM_BLOCK ? rows : k0 + SUM_BLOCK;
      float s0 = 0.0f;
      for (int k = k0; k < k1; k++) {
        const size_t at = (size_t)k * c + j;
        s0 = s0 + sum_term1(kind, a[at], b[at], m);
      }
      t = (t + s0) + 0.0f;
    }
    out[j] = t;
  }
}

void column_sums(const float *x, float *out, int rows, int c) { sums_of(SUM_PLAIN, x, x, 0, out, rows, c); }

/*
 * BatchNorm in training mode, fused: each function does in one pass what the engine's BatchNorm
 * (core/forward.ts) did in several TensorFlow.js ops, with the same float operations on each
 * element in the same order (no fused multiply-add: WebAssembly SIMD has none), so the results are
 * bit for bit those ops' results. Per-channel vectors (mean, rstd, ...) are [c]; x and the others
 * [rows, c]. The sums are sums_of's; the element-wise passes take columns 4 at a time, a remainder
 * of under 4 one at a time.
 */

/* Column sums, as column_sums, of (x - mean)^2: the variance's numerator. */
void bn_centered_square_sums(const float *x, const float *mean, float *out, int rows, int c) {
  sums_of(SUM_CENTERED_SQUARE, x, x, mean, out, rows, c);
}

/* xhat = (x - mean) * rstd;  y = xhat * gamma + beta. */
void bn_normalize(const float *x, const float *mean, const float *rstd, const float *gamma, const float *beta,
                  float *xhat, float *y, int rows, int c) {
  for (int k = 0; k < rows; k++) {
    const float *xp = x + (size_t)k * c;
    float *hp = xhat + (size_t)k * c;
    float *yp = y + (size_t)k * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      const v128_t h = wasm_f32x4_mul(wasm_f32x4_sub(LOAD(xp + j), LOAD(mean + j)), LOAD(rstd + j));
      STORE(hp + j, h);
      STORE(yp + j, wasm_f32x4_add(wasm_f32x4_mul(h, LOAD(gamma + j)), LOAD(beta + j)));
    }
    for (; j < c; j++) {
      const float h = (xp[j] - mean[j]) * rstd[j];
      hp[j] = h;
      yp[j] = h * gamma[j] + beta[j];
    }
  }
}

/* Column sums, as column_sums, of a * b. */
void column_sums_of_product(const float *a, const float *b, float *out, int rows, int c) {
  sums_of(SUM_PRODUCT, a, b, 0, out, rows, c);
}

/* dx = scale * ((dy - meanDy) - xhat * meanDyXhat): BatchNorm's input gradient. */
void bn_input_gradient(const float *dy, const float *xhat, const float *mean_dy, const float *mean_dy_xhat, const float *scale,
                       float *dx, int rows, int c) {
  for (int k = 0; k < rows; k++) {
    const size_t at = (size_t)k * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      const v128_t a = wasm_f32x4_sub(LOAD(dy + at + j), LOAD(mean_dy + j));
      const v128_t b = wasm_f32x4_mul(LOAD(xhat + at + j), LOAD(mean_dy_xhat + j));
      STORE(dx + at + j, wasm_f32x4_mul(LOAD(scale + j), wasm_f32x4_sub(a, b)));
    }
    for (; j < c; j++) dx[at + j] = scale[j] * ((dy[at + j] - mean_dy[j]) - xhat[at + j] * mean_dy_xhat[j]);
  }
}
