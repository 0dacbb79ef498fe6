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
   order, then the runs in order: the same bits for any thread count.

   A chunk of one sample needs no layout change: its block of the output
   (or output gradient) is already [Cout/g, OH OW], so GEMMs read and write
   the tensors in place, and a 1x1 stride-1 unpadded convolution's columns
   are the input itself (no im2col, no col2im). A 3x3 stride-1 undilated
   convolution with enough channels goes by Winograd's F(2x2, 3x3) instead
   (conv_wino.c), 2.25 times fewer multiplications; so does its input
   gradient when the padding is 1. The weight gradient is always im2col's. */
#include "nn_impl.h"
#include "blas.h"
#include "conv_wino.h"
#include "parallel.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SD_CONV_COLS 1024
#define SD_CONV_PARTS 8

/* The row loops here are short copies and adds: vectorized at -O2 too
   (no option changes a result: each element is one copy or one add). */
#if defined(__GNUC__) && !defined(__clang__)
#define SD_VEC __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
/* and compiled for AVX2 too, picked at load time: the same operations in
   the same order, so the same bits */
#define SD_VEC_AVX2 __attribute__((target_clones("avx2", "default"), \
                                   optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define SD_VEC
#define SD_VEC_AVX2
#endif

typedef struct {
  int64_t n, cin, h, w, cout, kh, kw, oh, ow, groups, cing, coutg;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t kk, l;      /* rows of cols (Cin/g kh kw) and one sample's columns (OH OW) */
  int64_t bs, nch;    /* samples per chunk, chunks */
  bool pointwise;     /* 1x1, stride 1, no padding: a sample's columns are its input */
  bool wino;          /* 3x3, stride 1, no dilation, enough channels */
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
  g->pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
  g->wino = g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
            sd_wino_fits(g->cing, g->coutg);
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

/* dst[0, n) = src[0, n) for the short runs of an output row (n bytes, a
   multiple of 4): 16-byte pieces, the last one overlapping the one before,
   where a call to memcpy would cost more than the copy. */
SD_INLINE void copy_run(char *dst, const char *src, int64_t n) {
  if (n >= 16) {
    for (int64_t i = 0; i + 16 < n; i += 16) memcpy(dst + i, src + i, 16);
    memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    memcpy(dst, src, 8);
    memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n > 0) {
    memcpy(dst, src, 4);
    memcpy(dst + n - 4, src + n - 4, 4);
  }
}

/* dst[0, n) = 0, the same way (a padding's few elements). */
SD_INLINE void zero_run(char *dst, int64_t n) {
  static const char zeros[16];
  copy_run(dst, zeros, n < 16 ? n : 0);
  if (n >= 16) memset(dst, 0, n);
}

/* One sample's group x [cing, H, W] into its column block of cols, whose
   rows are cld elements apart: rows of OW, zeros where the window is in
   the padding. */
SD_INLINE void im2col_t(const char *x, char *col, int64_t cld, const geom *g, bool d) {
  typedef uint32_t w4;
  typedef uint64_t w8;
  int64_t es = d ? 8 : 4;
  for (int64_t c = 0; c < g->cing; c++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++, col += cld * es) {
        int64_t off = kj * g->dw - g->pw, lo, hi, s = g->sw, ow = g->ow;
        valid_range(off, s, g->w, ow, &lo, &hi);
        for (int64_t oi = 0; oi < g->oh; oi++) {
          int64_t ih = oi * g->sh - g->ph + ki * g->dh;
          bool in = ih >= 0 && ih < g->h;
          int64_t a = in ? lo : ow, b = in ? hi : ow;
          char *dst = col + oi * ow * es;
          const char *row = x + ((c * g->h + (in ? ih : 0)) * g->w + off) * es;
          zero_run(dst, a * es);
          if (s == 1) copy_run(dst + a * es, row + a * es, (b - a) * es);
          else if (d)
            for (int64_t j = a; j < b; j++) ((w8 *)dst)[j] = ((const w8 *)row)[j * s];
          else
            for (int64_t j = a; j < b; j++) ((w4 *)dst)[j] = ((const w4 *)row)[j * s];
          zero_run(dst + b * es, (ow - b) * es);
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
            if (s == 1)
              for (int64_t j = lo; j < hi; j++) row[j] += src[j];
            else
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

SD_VEC static void col2im(const char *col, int64_t cld, char *x, const geom *g, bool d) {
  if (d) col2im_t(col, cld, x, g, true);
  else col2im_t(col, cld, x, g, false);
}

/* dst [rows, n] (row stride dld) = src (row stride sld), plus bias[r] when
   bias is not NULL; src == dst adds the bias in place. Moves a group's
   rows between the sample layout and the chunk layout. */
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

SD_VEC static void copy_rows(char *dst, int64_t dld, const char *src, int64_t sld, int64_t rows,
                             int64_t n, const char *bias, bool d) {
  if (src == dst && !bias) return;
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
  double *rsum; /* [n, cout]: the sums of gout's rows, for the bias gradient */
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

/* Byte offsets of sample n's group gi: its input block [cing, H, W] (of x
   or gx) and its output block [coutg, L] (of out or gout). */
static int64_t x_at(const job *j, int64_t n, int64_t gi) {
  const geom *g = &j->g;
  return (n * g->cin + gi * g->cing) * g->h * g->w * j->es;
}
static int64_t out_at(const job *j, int64_t n, int64_t gi) {
  const geom *g = &j->g;
  return (n * g->cout + gi * g->coutg) * g->l * j->es;
}

/* The chunk's columns of group gi: the input itself for a pointwise
   convolution of one sample, else unrolled into cols. */
static const char *columns(const job *j, int64_t n0, int64_t nb, int64_t gi, char *cols) {
  const geom *g = &j->g;
  if (g->pointwise && nb == 1) return j->x + x_at(j, n0, gi);
  for (int64_t b = 0; b < nb; b++)
    im2col(j->x + x_at(j, n0 + b, gi), cols + b * g->l * j->es, nb * g->l, g, j->es);
  return cols;
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
      const char *src = columns(j, n0, nb, gi, cols), *bias = j->b ? j->b + gi * g->coutg * es : NULL;
      char *dst = nb == 1 ? j->out + out_at(j, n0, gi) : blk;
      gemm(j->bl, j->d, false, false, g->coutg, ncols, g->kk, j->w + gi * g->coutg * g->kk * es,
           g->kk, src, ncols, 0, dst, ncols);
      for (int64_t b = 0; b < nb; b++)
        copy_rows(j->out + out_at(j, n0 + b, gi), g->l, dst + b * g->l * es, ncols, g->coutg,
                  g->l, bias, j->d);
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
  if (g->wino) {
    sd_wino_shape ws = {g->n, g->cin, g->h, g->w, g->cout, g->ph, g->pw, g->groups};
    if (sd_wino_conv(j.bl, j.d, j.x, j.w, false, j.b, j.out, &ws) != SD_OK) goto fail;
  } else if (sd_numel(out) > 0)
    sd_parallel_for(g->nch, 1, forward_task, &j);
  if (j.failed) { sd_error(SD_EMEM, "conv2d: out of memory for the columns"); goto fail; }
  if (sd_check_interrupt() != SD_OK) goto fail;
  sd_release(xc); sd_release(wc); sd_release(bc);
  return out;
fail:
  sd_release(xc); sd_release(wc); sd_release(bc); sd_release(out);
  return NULL;
}

/* The sums of rows [rows, n] into out: each row summed in 8 interleaved
   lanes (independent adds pipeline), then the lanes in a fixed tree. */
SD_INLINE void row_sums_t(const char *rows, int64_t nrows, int64_t n, double *out, bool d) {
  for (int64_t r = 0; r < nrows; r++) {
    const char *row = rows + r * n * (d ? 8 : 4);
    double l[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; k++) l[k] += ld(row, i + k, d);
    for (; i < n; i++) l[i % 8] += ld(row, i, d);
    out[r] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
  }
}

SD_VEC_AVX2 static void row_sums(const char *rows, int64_t nrows, int64_t n, double *out, bool d) {
  if (d) row_sums_t(rows, nrows, n, out, true);
  else row_sums_t(rows, nrows, n, out, false);
}

/* One run of chunks per task: the run's weight gradient (the first GEMM
   with beta 0, then summed in chunk order), each sample's input gradient
   and its rows' sums for the bias gradient, while its output gradient is
   in cache. */
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
      bool direct = g->pointwise && nb == 1; /* the input gradient is the GEMM's result */
      if (j->gx && !direct)
        memset(j->gx + n0 * g->cin * g->h * g->w * es, 0, nb * g->cin * g->h * g->w * es);
      for (int64_t gi = 0; gi < g->groups; gi++) {
        const char *wg = j->w + gi * g->coutg * g->kk * es, *go = blk;
        if (j->rsum)
          for (int64_t b = 0; b < nb; b++)
            row_sums(j->gout + out_at(j, n0 + b, gi), g->coutg, g->l,
                     j->rsum + (n0 + b) * g->cout + gi * g->coutg, j->d);
        if (nb == 1) go = j->gout + out_at(j, n0, gi);
        else if (gw || j->gx) /* the chunk's output gradient as [Cout/g, B L] */
          for (int64_t b = 0; b < nb; b++)
            copy_rows(blk + b * g->l * es, ncols, j->gout + out_at(j, n0 + b, gi), g->l,
                      g->coutg, g->l, NULL, j->d);
        if (gw)
          gemm(j->bl, j->d, false, true, g->coutg, g->kk, ncols, go, ncols,
               columns(j, n0, nb, gi, cols), ncols, c > c0 ? 1 : 0,
               gw + gi * g->coutg * g->kk * es, g->kk);
        if (j->gx && direct)
          gemm(j->bl, j->d, true, false, g->kk, ncols, g->coutg, wg, g->kk, go, ncols, 0,
               j->gx + x_at(j, n0, gi), ncols);
        else if (j->gx) {
          gemm(j->bl, j->d, true, false, g->kk, ncols, g->coutg, wg, g->kk, go, ncols, 0, cols,
               ncols);
          for (int64_t b = 0; b < nb; b++)
            col2im(cols + b * g->l * es, ncols, j->gx + x_at(j, n0 + b, gi), g, j->d);
        }
      }
    }
  }
  free(cols);
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
  if (j.gx && g->wino && g->ph == 1 && g->pw == 1) {
    /* the input gradient: gout convolved with the flipped weight, padded by
       2 - p; with padding 1 (same-size convolutions) as many tiles as the
       forward, else the extra tiles cost more than Winograd saves */
    sd_wino_shape ws = {g->n, g->cout, g->oh, g->ow, g->cin, 2 - g->ph, 2 - g->pw, g->groups};
    if ((rc = sd_wino_conv(j.bl, j.d, j.gout, j.w, true, NULL, j.gx, &ws)) != SD_OK) goto fail;
    j.gx = NULL;
  }
  if (rb && !(j.rsum = malloc((g->n * g->cout + 1) * sizeof(double)))) {
    rc = sd_error(SD_EMEM, "conv2d_backward: out of memory for the bias gradient's sums");
    goto fail;
  }
  if ((j.gx || j.gwpart || j.rsum) && g->n > 0) sd_parallel_for(nch, 1, backward_task, &j);
  if (j.failed) {
    rc = sd_error(SD_EMEM, "conv2d_backward: out of memory for the columns");
    goto fail;
  }
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
  for (int64_t co = 0; rb && co < g->cout; co++) { /* the bias gradient: samples in order */
    double s = 0;
    for (int64_t n = 0; n < g->n; n++) s += j.rsum[n * g->cout + co];
    st(sd_data(rb), co, s, j.d);
  }
  free(j.rsum);
  sd_release(xc); sd_release(wc); sd_release(gc); sd_release(part);
  if (gx) *gx = rx;
  if (gw) *gw = rw;
  if (gb) *gb = rb;
  return SD_OK;
fail:
  sd_release(xc); sd_release(wc); sd_release(gc); sd_release(part);
  sd_release(rx); sd_release(rw); sd_release(rb);
  free(j.rsum);
  return rc;
}
