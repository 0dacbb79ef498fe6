/* conv.c: 2-d convolution (NCHW), forward and backward, by im2col and
   GEMM over chunks of samples, per group.

   The group of a chunk of B samples is unrolled into columns
   cols [Cin/g * kh * kw, B * OH * OW] (zeros where a window reaches into
   the padding), sample b in the column block b; with G_g the chunk's
   output gradient as [Cout/g, B * OH * OW],
     out   = W_g cols               (forward)
     gW_g += G_g colsᵀ              (weight gradient)
     gx    = col2im(W_gᵀ G_g)       (input gradient, overlaps summed)
   B makes a chunk about SD_CONV_COLS columns wide: one GEMM per chunk is
   much faster than one per small sample. Chunks are split over threads,
   each running single-threaded GEMMs (OpenBLAS runs single-threaded under
   sonde, see blas.h). Chunking depends on the shapes only, and the weight
   gradient sums chunks in at most SD_CONV_PARTS fixed runs, each in chunk
   order, then the runs in order: the same bits for any thread count. */
#include "nn_impl.h"
#include "blas.h"
#include "parallel.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SD_CONV_COLS 1024
#define SD_CONV_PARTS 8

typedef struct {
  int64_t n, cin, h, w, cout, kh, kw, oh, ow, groups, cing, coutg;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t kk, l;      /* rows of cols (Cin/g kh kw) and one sample's columns (OH OW) */
  int64_t bs, nch;    /* samples per chunk, chunks */
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
  g->bs = g->l >= SD_CONV_COLS ? 1 : SD_CONV_COLS / g->l;
  if (g->bs > g->n) g->bs = g->n ? g->n : 1;
  g->nch = (g->n + g->bs - 1) / g->bs;
  if (g->kk > INT_MAX || g->coutg > INT_MAX || g->bs * g->l > INT_MAX ||
      g->kk * g->bs * g->l > INT_MAX)
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

/* One sample's group x [cing, H, W] into its column block of cols, whose
   rows are cld elements apart. Rows are short (OW), so the copies are
   plain loops over 4- or 8-byte words rather than memcpy calls. */
SD_INLINE void im2col_t(const char *x, char *col, int64_t cld, const geom *g, bool d) {
  typedef uint32_t w4;
  typedef uint64_t w8;
  for (int64_t c = 0; c < g->cing; c++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++, col += cld * (d ? 8 : 4)) {
        int64_t off = kj * g->dw - g->pw, lo, hi, s = g->sw, ow = g->ow;
        valid_range(off, s, g->w, ow, &lo, &hi);
        for (int64_t oi = 0; oi < g->oh; oi++) {
          int64_t ih = oi * g->sh - g->ph + ki * g->dh;
          bool in = ih >= 0 && ih < g->h;
          int64_t a = in ? lo : ow, b = in ? hi : ow;
          if (d) {
            w8 *dst = (w8 *)col + oi * ow;
            const w8 *row = (const w8 *)x + (c * g->h + (in ? ih : 0)) * g->w + off;
            for (int64_t j = 0; j < a; j++) dst[j] = 0;
            for (int64_t j = a; j < b; j++) dst[j] = row[j * s];
            for (int64_t j = b; j < ow; j++) dst[j] = 0;
          } else {
            w4 *dst = (w4 *)col + oi * ow;
            const w4 *row = (const w4 *)x + (c * g->h + (in ? ih : 0)) * g->w + off;
            for (int64_t j = 0; j < a; j++) dst[j] = 0;
            if (s == 1)
              for (int64_t j = a; j < b; j++) dst[j] = row[j];
            else
              for (int64_t j = a; j < b; j++) dst[j] = row[j * s];
            for (int64_t j = b; j < ow; j++) dst[j] = 0;
          }
        }
      }
}

static void im2col(const char *x, char *col, int64_t cld, const geom *g, size_t es) {
  if (es == 8) im2col_t(x, col, cld, g, true);
  else im2col_t(x, col, cld, g, false);
}

/* x [cing, H, W] += a column block put back in place (im2col's adjoint). */
SD_INLINE void col2im_t(const char *col, int64_t cld, char *x, const geom *g, bool d) {
  for (int64_t c = 0; c < g->cing; c++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++, col += cld * (d ? 8 : 4)) {
        int64_t off = kj * g->dw - g->pw, lo, hi, s = g->sw;
        valid_range(off, s, g->w, g->ow, &lo, &hi);
        for (int64_t oi = 0; oi < g->oh; oi++) {
          int64_t ih = oi * g->sh - g->ph + ki * g->dh;
          if (ih < 0 || ih >= g->h) continue;
          if (d) {
            const double *src = (const double *)col + oi * g->ow;
            double *row = (double *)x + (c * g->h + ih) * g->w + off;
            for (int64_t j = lo; j < hi; j++) row[j * s] += src[j];
          } else {
            const float *src = (const float *)col + oi * g->ow;
            float *row = (float *)x + (c * g->h + ih) * g->w + off;
            if (s == 1)
              for (int64_t j = lo; j < hi; j++) row[j] += src[j];
            else
              for (int64_t j = lo; j < hi; j++) row[j * s] += src[j];
          }
        }
      }
}

static void col2im(const char *col, int64_t cld, char *x, const geom *g, bool d) {
  if (d) col2im_t(col, cld, x, g, true);
  else col2im_t(col, cld, x, g, false);
}

/* dst [rows, n] (row stride dld) = src (row stride sld), plus bias[r] when
   bias is not NULL: moves a group's rows between the sample layout and the
   chunk layout. */
SD_INLINE void copy_rows_t(char *dst, int64_t dld, const char *src, int64_t sld, int64_t rows,
                           int64_t n, const char *bias, bool d) {
  for (int64_t r = 0; r < rows; r++) {
    double b = bias ? ld(bias, r, d) : 0;
    if (d) {
      double *o = (double *)dst + r * dld;
      const double *i = (const double *)src + r * sld;
      for (int64_t k = 0; k < n; k++) o[k] = i[k] + b;
    } else {
      float *o = (float *)dst + r * dld, fb = (float)b;
      const float *i = (const float *)src + r * sld;
      for (int64_t k = 0; k < n; k++) o[k] = i[k] + fb;
    }
  }
}

static void copy_rows(char *dst, int64_t dld, const char *src, int64_t sld, int64_t rows, int64_t n,
                      const char *bias, bool d) {
  if (d) copy_rows_t(dst, dld, src, sld, rows, n, bias, true);
  else copy_rows_t(dst, dld, src, sld, rows, n, bias, false);
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
  int64_t nparts;
  int failed;
} job;

/* Scratch of one task: the chunk's columns and a [Cout/g, B L] block. */
static char *scratch(job *j, char **blk) {
  const geom *g = &j->g;
  size_t ncols = (size_t)(g->bs * g->l);
  char *p = malloc((g->kk + g->coutg) * ncols * j->es);
  if (!p) __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
  *blk = p ? p + g->kk * ncols * j->es : NULL;
  return p;
}

static void forward_task(int64_t c0, int64_t c1, void *p) {
  job *j = p;
  const geom *g = &j->g;
  size_t es = j->es;
  char *blk, *cols = scratch(j, &blk);
  if (!cols) return;
  for (int64_t c = c0; c < c1 && !sd_interrupt_flag; c++) {
    int64_t n0 = c * g->bs, nb = g->n - n0 < g->bs ? g->n - n0 : g->bs, ncols = nb * g->l;
    for (int64_t gi = 0; gi < g->groups; gi++) {
      for (int64_t b = 0; b < nb; b++)
        im2col(j->x + ((n0 + b) * g->cin + gi * g->cing) * g->h * g->w * es, cols + b * g->l * es,
               ncols, g, es);
      gemm(j->bl, j->d, false, false, g->coutg, ncols, g->kk, j->w + gi * g->coutg * g->kk * es,
           g->kk, cols, ncols, 0, blk, ncols);
      for (int64_t b = 0; b < nb; b++)
        copy_rows(j->out + ((n0 + b) * g->cout + gi * g->coutg) * g->l * es, g->l,
                  blk + b * g->l * es, ncols, g->coutg, g->l,
                  j->b ? j->b + gi * g->coutg * es : NULL, j->d);
    }
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
  if (sd_numel(out) > 0) sd_parallel_for(g->nch, 1, forward_task, &j);
  if (j.failed) { sd_error(SD_EMEM, "conv2d: out of memory for the columns"); goto fail; }
  if (sd_check_interrupt() != SD_OK) goto fail;
  sd_release(xc); sd_release(wc); sd_release(bc);
  return out;
fail:
  sd_release(xc); sd_release(wc); sd_release(bc); sd_release(out);
  return NULL;
}

/* One run of chunks per task: the run's weight gradient (the first GEMM
   with beta 0, then summed in chunk order) and each sample's input gradient. */
static void backward_task(int64_t r0, int64_t r1, void *p) {
  job *j = p;
  const geom *g = &j->g;
  size_t es = j->es;
  char *blk, *cols = scratch(j, &blk);
  if (!cols) return;
  for (int64_t r = r0; r < r1 && !sd_interrupt_flag; r++) {
    int64_t c0 = g->nch * r / j->nparts, c1 = g->nch * (r + 1) / j->nparts;
    char *gw = j->gwpart ? j->gwpart + r * g->cout * g->kk * es : NULL;
    for (int64_t c = c0; c < c1; c++) {
      int64_t n0 = c * g->bs, nb = g->n - n0 < g->bs ? g->n - n0 : g->bs, ncols = nb * g->l;
      if (j->gx) memset(j->gx + n0 * g->cin * g->h * g->w * es, 0, nb * g->cin * g->h * g->w * es);
      for (int64_t gi = 0; gi < g->groups; gi++) {
        for (int64_t b = 0; b < nb; b++) /* the chunk's output gradient as [Cout/g, B L] */
          copy_rows(blk + b * g->l * es, ncols,
                    j->gout + ((n0 + b) * g->cout + gi * g->coutg) * g->l * es, g->l, g->coutg,
                    g->l, NULL, j->d);
        if (gw) {
          for (int64_t b = 0; b < nb; b++)
            im2col(j->x + ((n0 + b) * g->cin + gi * g->cing) * g->h * g->w * es,
                   cols + b * g->l * es, ncols, g, es);
          gemm(j->bl, j->d, false, true, g->coutg, g->kk, ncols, blk, ncols, cols, ncols,
               c > c0 ? 1 : 0, gw + gi * g->coutg * g->kk * es, g->kk);
        }
        if (j->gx) {
          gemm(j->bl, j->d, true, false, g->kk, ncols, g->coutg, j->w + gi * g->coutg * g->kk * es,
               g->kk, blk, ncols, 0, cols, ncols);
          for (int64_t b = 0; b < nb; b++)
            col2im(cols + b * g->l * es, ncols,
                   j->gx + ((n0 + b) * g->cin + gi * g->cing) * g->h * g->w * es, g, j->d);
        }
      }
    }
  }
  free(cols);
}
/* gb[co] = sum over samples and positions of gout: each row summed in 8
   interleaved lanes (independent adds pipeline), lanes then rows in order. */
SD_INLINE double row_sum(const char *row, int64_t n, bool d) {
  double l[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) l[k] += ld(row, i + k, d);
  for (; i < n; i++) l[i % 8] += ld(row, i, d);
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

static void bias_task(int64_t c0, int64_t c1, void *p) {
  job *j = p;
  const geom *g = &j->g;
  for (int64_t co = c0; co < c1; co++) {
    double s = 0;
    for (int64_t n = 0; n < g->n; n++) {
      const char *row = j->gout + (n * g->cout + co) * g->l * j->es;
      s += j->d ? row_sum(row, g->l, true) : row_sum(row, g->l, false);
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
  int64_t nch = g->nch < SD_CONV_PARTS ? g->nch : SD_CONV_PARTS;
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
  j.nparts = nch;
  if ((j.gx || j.gwpart) && g->n > 0) sd_parallel_for(nch, 1, backward_task, &j);
  if (j.failed) { sd_error(SD_EMEM, "conv2d_backward: out of memory for the columns"); goto fail; }
  if ((rc = sd_check_interrupt()) != SD_OK) goto fail;
  if (part) { /* the runs' sums, in order */
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
