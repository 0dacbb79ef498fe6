/* conv.c: 2-d convolution (NCHW), forward and backward, by im2col and
   GEMM per sample and group.

   A sample's group is unrolled into columns cols [Cin/g * kh * kw, OH * OW]
   (zeros where a window reaches into the padding); then
     out   = W_g cols               (forward)
     gW_g += gout_g colsᵀ           (weight gradient)
     gx    = col2im(W_gᵀ gout_g)    (input gradient, overlaps summed)
   1x1 kernels with unit stride and no padding use the input as its own
   columns. Samples are split over threads, each with one single-threaded
   GEMM at a time (OpenBLAS runs single-threaded under sonde, see blas.h).
   The weight gradient sums over samples in SD_CONV_CHUNKS fixed chunks,
   each accumulated in sample order, then the chunks in order: the same
   bits for any thread count. */
#include "nn_impl.h"
#include "blas.h"
#include "parallel.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SD_CONV_CHUNKS 8

typedef struct {
  int64_t n, cin, h, w, cout, kh, kw, oh, ow, groups, cing, coutg;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t kk, l; /* rows of cols (Cin/g kh kw) and its columns (OH OW) */
  bool direct;   /* 1x1, unit stride, no padding: cols is the input */
} geom;

static sd_status conv_geom(const char *fn, const sd_tensor *x, const sd_tensor *w,
                           const sd_tensor *b, const sd_conv2d_args *a, geom *g) {
  char xs[128], ws[128];
  sd_shape_str(x, xs, sizeof xs);
  sd_shape_str(w, ws, sizeof ws);
  if (x->ndim != 4 && x->ndim != 3)
    return sd_error(SD_ESHAPE, "%s: input must be [N, C, H, W] or [C, H, W], got %s", fn, xs);
  if (w->ndim != 4)
    return sd_error(SD_ESHAPE, "%s: weight must be [Cout, Cin/groups, kh, kw], got %s", fn, ws);
  if (sd_nn_float(fn, "input", x) || sd_nn_float(fn, "weight", w)) return SD_EARG;
  if (x->dtype != w->dtype)
    return sd_error(SD_EARG, "%s: input %s and weight %s must have the same dtype", fn,
                    sd_dtype_name(x->dtype), sd_dtype_name(w->dtype));
  for (int i = 0; i < 2; i++)
    if (a->stride[i] < 1 || a->dilation[i] < 1 || a->padding[i] < 0)
      return sd_error(SD_EARG, "%s: stride and dilation must be >= 1 and padding >= 0, got "
                      "stride (%lld,%lld), padding (%lld,%lld), dilation (%lld,%lld)", fn,
                      (long long)a->stride[0], (long long)a->stride[1], (long long)a->padding[0],
                      (long long)a->padding[1], (long long)a->dilation[0], (long long)a->dilation[1]);
  if (x->shape[x->ndim - 3] == 0)
    return sd_error(SD_ESHAPE, "%s: input %s has no channels", fn, xs);
  if (a->groups < 1) return sd_error(SD_EARG, "%s: groups must be >= 1, got %lld", fn, (long long)a->groups);
  int o = x->ndim - 3;
  *g = (geom){.n = o ? x->shape[0] : 1, .cin = x->shape[o], .h = x->shape[o + 1],
              .w = x->shape[o + 2], .cout = w->shape[0], .kh = w->shape[2], .kw = w->shape[3],
              .groups = a->groups, .sh = a->stride[0], .sw = a->stride[1], .ph = a->padding[0],
              .pw = a->padding[1], .dh = a->dilation[0], .dw = a->dilation[1]};
  if (g->cout % g->groups)
    return sd_error(SD_ESHAPE, "%s: weight %s has %lld output channels, not divisible by %lld groups",
                    fn, ws, (long long)g->cout, (long long)g->groups);
  if (w->shape[1] * g->groups != g->cin)
    return sd_error(SD_ESHAPE, "%s: weight %s expects %lld input channels, input %s has %lld", fn,
                    ws, (long long)(w->shape[1] * g->groups), xs, (long long)g->cin);
  if (b && (b->ndim != 1 || b->shape[0] != g->cout || b->dtype != x->dtype)) {
    char bs[128];
    return sd_error(SD_ESHAPE, "%s: bias must be [%lld] of dtype %s, got %s %s", fn,
                    (long long)g->cout, sd_dtype_name(x->dtype), sd_shape_str(b, bs, sizeof bs),
                    sd_dtype_name(b->dtype));
  }
  int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
  if (g->h + 2 * g->ph < eh || g->w + 2 * g->pw < ew)
    return sd_error(SD_ESHAPE, "%s: kernel %lldx%lld (dilated) is larger than input %lldx%lld "
                    "padded by (%lld,%lld)", fn, (long long)eh, (long long)ew, (long long)g->h,
                    (long long)g->w, (long long)g->ph, (long long)g->pw);
  g->oh = (g->h + 2 * g->ph - eh) / g->sh + 1;
  g->ow = (g->w + 2 * g->pw - ew) / g->sw + 1;
  g->cing = g->cin / g->groups;
  g->coutg = g->cout / g->groups;
  g->kk = g->cing * g->kh * g->kw;
  g->l = g->oh * g->ow;
  g->direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
  if (g->kk > INT_MAX || g->l > INT_MAX || g->coutg > INT_MAX || g->kk * g->l > INT_MAX)
    return sd_error(SD_ESHAPE, "%s: input %s with weight %s is too large for BLAS", fn, xs, ws);
  return SD_OK;
}

/* Output positions j (0 <= j < n) whose input j*s + off lies in [0, len). */
static void valid_range(int64_t off, int64_t s, int64_t len, int64_t n, int64_t *lo, int64_t *hi) {
  *lo = off >= 0 ? 0 : (-off + s - 1) / s;
  *hi = len - off <= 0 ? 0 : (len - off + s - 1) / s;
  if (*hi > n) *hi = n;
  if (*lo > *hi) *lo = *hi;
}

/* cols [kk, l] from one sample's group x [cing, H, W]. */
static void im2col(const char *x, char *col, const geom *g, size_t es) {
  for (int64_t c = 0; c < g->cing; c++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        int64_t off = kj * g->dw - g->pw, lo, hi;
        valid_range(off, g->sw, g->w, g->ow, &lo, &hi);
        for (int64_t oi = 0; oi < g->oh; oi++, col += g->ow * es) {
          int64_t ih = oi * g->sh - g->ph + ki * g->dh;
          if (ih < 0 || ih >= g->h) { memset(col, 0, g->ow * es); continue; }
          const char *row = x + (c * g->h + ih) * g->w * es;
          memset(col, 0, lo * es);
          if (g->sw == 1) memcpy(col + lo * es, row + (lo + off) * es, (hi - lo) * es);
          else if (es == 4)
            for (int64_t j = lo; j < hi; j++) ((uint32_t *)col)[j] = ((const uint32_t *)row)[j * g->sw + off];
          else
            for (int64_t j = lo; j < hi; j++) ((uint64_t *)col)[j] = ((const uint64_t *)row)[j * g->sw + off];
          memset(col + hi * es, 0, (g->ow - hi) * es);
        }
      }
}

/* x [cing, H, W] += the columns back in place (the adjoint of im2col). */
SD_INLINE void col2im_t(const char *col, char *x, const geom *g, bool d) {
  for (int64_t c = 0; c < g->cing; c++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        int64_t off = kj * g->dw - g->pw, lo, hi;
        valid_range(off, g->sw, g->w, g->ow, &lo, &hi);
        for (int64_t oi = 0; oi < g->oh; oi++, col += g->ow * (d ? 8 : 4)) {
          int64_t ih = oi * g->sh - g->ph + ki * g->dh;
          if (ih < 0 || ih >= g->h) continue;
          char *row = x + (c * g->h + ih) * g->w * (d ? 8 : 4);
          for (int64_t j = lo; j < hi; j++)
            st(row, j * g->sw + off, ld(row, j * g->sw + off, d) + ld(col, j, d), d);
        }
      }
}

static void col2im(const char *col, char *x, const geom *g, bool d) {
  if (d) col2im_t(col, x, g, true);
  else col2im_t(col, x, g, false);
}

/* C [m, n] = A B (+ beta C), row-major, A [m, k] or stored [k, m] (ta). */
static void gemm(const sd_blas *bl, bool d, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                 const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                 int64_t ldc) {
  enum CBLAS_TRANSPOSE A = ta ? CblasTrans : CblasNoTrans, B = tb ? CblasTrans : CblasNoTrans;
  if (d) bl->dgemm(CblasRowMajor, A, B, (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
  else bl->sgemm(CblasRowMajor, A, B, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, (float)beta, c, (int)ldc);
}

typedef struct {
  geom g;
  const sd_blas *bl;
  bool d;
  size_t es;
  const char *x, *w, *b, *gout;
  char *out, *gx, *gwpart;
  int failed;
} job;

static void forward_task(int64_t n0, int64_t n1, void *p) {
  job *j = p;
  const geom *g = &j->g;
  size_t es = j->es;
  char *cols = g->direct ? NULL : malloc(g->kk * g->l * es);
  if (!g->direct && !cols) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); return; }
  for (int64_t n = n0; n < n1 && !sd_interrupt_flag; n++)
    for (int64_t gi = 0; gi < g->groups; gi++) {
      const char *xg = j->x + (n * g->cin + gi * g->cing) * g->h * g->w * es;
      char *og = j->out + (n * g->cout + gi * g->coutg) * g->l * es;
      if (j->b)
        for (int64_t co = 0; co < g->coutg; co++) {
          double bv = ld(j->b, gi * g->coutg + co, j->d);
          for (int64_t i = 0; i < g->l; i++) st(og, co * g->l + i, bv, j->d);
        }
      if (!g->direct) im2col(xg, cols, g, es);
      gemm(j->bl, j->d, false, false, g->coutg, g->l, g->kk, j->w + gi * g->coutg * g->kk * es,
           g->kk, g->direct ? xg : cols, g->l, j->b ? 1 : 0, og, g->l);
    }
  free(cols);
}

sd_tensor *sd_conv2d(const sd_tensor *x, const sd_tensor *w, const sd_tensor *b,
                     const sd_conv2d_args *a) {
  job j = {0};
  if (conv_geom("conv2d", x, w, b, a, &j.g) != SD_OK) return NULL;
  const geom *g = &j.g;
  j.bl = sd_blas_get();
  if (!j.bl) return NULL;
  int64_t shape[4] = {g->n, g->cout, g->oh, g->ow};
  int o = x->ndim == 4 ? 0 : 1;
  sd_tensor *xc = sd_contiguous(x), *wc = sd_contiguous(w), *bc = b ? sd_contiguous(b) : NULL;
  sd_tensor *out = sd_empty(x->dtype, x->ndim, shape + o);
  if (!xc || !wc || (b && !bc) || !out) goto fail;
  j.d = x->dtype == SD_F64;
  j.es = sd_dtype_size(x->dtype);
  j.x = sd_data(xc);
  j.w = sd_data(wc);
  j.b = bc ? sd_data(bc) : NULL;
  j.out = sd_data(out);
  if (sd_numel(out) > 0) sd_parallel_for(g->n, 1, forward_task, &j);
  if (j.failed) { sd_error(SD_EMEM, "conv2d: out of memory for the columns"); goto fail; }
  if (sd_check_interrupt() != SD_OK) goto fail;
  sd_release(xc); sd_release(wc); sd_release(bc);
  return out;
fail:
  sd_release(xc); sd_release(wc); sd_release(bc); sd_release(out);
  return NULL;
}

/* One chunk of samples per task: the chunk's weight gradient (beta 0 for
   its first sample, then summed) and each sample's input gradient. */
static void backward_task(int64_t c0, int64_t c1, void *p) {
  job *j = p;
  const geom *g = &j->g;
  size_t es = j->es;
  int64_t nch = g->n < SD_CONV_CHUNKS ? g->n : SD_CONV_CHUNKS;
  char *cols = g->direct ? NULL : malloc(g->kk * g->l * es);
  if (!g->direct && !cols) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); return; }
  for (int64_t c = c0; c < c1 && !sd_interrupt_flag; c++) {
    int64_t n0 = g->n * c / nch, n1 = g->n * (c + 1) / nch;
    char *gw = j->gwpart ? j->gwpart + c * g->cout * g->kk * es : NULL;
    for (int64_t n = n0; n < n1; n++) {
      if (j->gx && !g->direct) memset(j->gx + n * g->cin * g->h * g->w * es, 0, g->cin * g->h * g->w * es);
      for (int64_t gi = 0; gi < g->groups; gi++) {
        const char *xg = j->x + (n * g->cin + gi * g->cing) * g->h * g->w * es;
        const char *gog = j->gout + (n * g->cout + gi * g->coutg) * g->l * es;
        const char *wg = j->w + gi * g->coutg * g->kk * es;
        if (gw) {
          if (!g->direct) im2col(xg, cols, g, es);
          gemm(j->bl, j->d, false, true, g->coutg, g->kk, g->l, gog, g->l, g->direct ? xg : cols,
               g->l, n > n0 ? 1 : 0, gw + gi * g->coutg * g->kk * es, g->kk);
        }
        if (j->gx) {
          char *gxg = j->gx + (n * g->cin + gi * g->cing) * g->h * g->w * es;
          gemm(j->bl, j->d, true, false, g->kk, g->l, g->coutg, wg, g->kk, gog, g->l, 0,
               g->direct ? gxg : cols, g->l);
          if (!g->direct) col2im(cols, gxg, g, j->d);
        }
      }
    }
  }
  free(cols);
}

/* gb[co] = sum over samples and positions of gout, in order. */
static void bias_task(int64_t c0, int64_t c1, void *p) {
  job *j = p;
  const geom *g = &j->g;
  for (int64_t co = c0; co < c1; co++) {
    double s = 0;
    for (int64_t n = 0; n < g->n; n++) {
      const char *row = j->gout + (n * g->cout + co) * g->l * j->es;
      for (int64_t i = 0; i < g->l; i++) s += ld(row, i, j->d);
    }
    st(j->gwpart, co, s, j->d);
  }
}

sd_status sd_conv2d_backward(const sd_tensor *gout, const sd_tensor *x, const sd_tensor *w,
                             const sd_conv2d_args *a, sd_tensor **gx, sd_tensor **gw,
                             sd_tensor **gb) {
  job j = {0};
  if (conv_geom("conv2d_backward", x, w, NULL, a, &j.g) != SD_OK) return SD_ESHAPE;
  const geom *g = &j.g;
  int64_t oshape[4] = {g->n, g->cout, g->oh, g->ow};
  int o = x->ndim == 4 ? 0 : 1;
  if (gout->ndim != x->ndim || memcmp(gout->shape, oshape + o, x->ndim * sizeof(int64_t))) {
    char s[128];
    return sd_error(SD_ESHAPE, "conv2d_backward: gradient %s does not match the output shape",
                    sd_shape_str(gout, s, sizeof s));
  }
  j.bl = sd_blas_get();
  if (!j.bl) return SD_EIO;
  sd_dtype dt = x->dtype;
  sd_status rc = SD_EMEM;
  int64_t nch = g->n < SD_CONV_CHUNKS ? g->n : SD_CONV_CHUNKS;
  int64_t wsize = g->cout * g->kk;
  sd_tensor *xc = sd_contiguous(x), *wc = sd_contiguous(w), *gc = sd_nn_dense(gout, dt);
  sd_tensor *rx = gx ? sd_empty(dt, x->ndim, x->shape) : NULL;
  sd_tensor *rw = gw ? sd_zeros(dt, 4, w->shape) : NULL;
  sd_tensor *rb = gb ? sd_empty(dt, 1, &g->cout) : NULL;
  sd_tensor *part = gw && nch > 1 ? sd_empty(dt, 1, (int64_t[]){nch * wsize}) : NULL;
  if (!xc || !wc || !gc || (gx && !rx) || (gw && !rw) || (gb && !rb) || (gw && nch > 1 && !part))
    goto fail;
  j.d = dt == SD_F64;
  j.es = sd_dtype_size(dt);
  j.x = sd_data(xc);
  j.w = sd_data(wc);
  j.gout = sd_data(gc);
  j.gx = rx ? sd_data(rx) : NULL;
  j.gwpart = !gw || nch == 0 ? NULL : nch > 1 ? sd_data(part) : sd_data(rw);
  if ((j.gx || j.gwpart) && nch > 0) sd_parallel_for(nch, 1, backward_task, &j);
  if (j.failed) { sd_error(SD_EMEM, "conv2d_backward: out of memory for the columns"); goto fail; }
  if ((rc = sd_check_interrupt()) != SD_OK) goto fail;
  if (part) { /* the chunks' sums, in chunk order */
    char *dst = sd_data(rw);
    const char *src = sd_data(part);
    for (int64_t i = 0; i < wsize; i++) {
      double s = 0;
      for (int64_t c = 0; c < nch; c++) s += ld(src, c * wsize + i, j.d);
      st(dst, i, s, j.d);
    }
  }
  if (rb) {
    j.gwpart = sd_data(rb);
    sd_parallel_for(g->cout, 16, bias_task, &j);
  }
  sd_release(xc); sd_release(wc); sd_release(gc); sd_release(part);
  if (gx) *gx = rx;
  if (gw) *gw = rw;
  if (gb) *gb = rb;
  return SD_OK;
fail:
  sd_release(xc); sd_release(wc); sd_release(gc); sd_release(part);
  sd_release(rx); sd_release(rw); sd_release(rb);
  return rc;
}
