/* pool.c: 2-d pooling (NCHW or CHW): max with indices, average (with
   PyTorch's count_include_pad and ceil_mode rules) and adaptive average,
   forward and backward. Every (sample, channel) plane is independent, so
   planes are split over threads and each is written by one thread only:
   deterministic without atomics. Tiled windows (kernel = stride, no
   padding or dilation, all inside: 2x2 pooling) take loops without the
   clipping, visiting the same elements in the same order: the same bits. */
#include "nn_impl.h"
#include "parallel.h"
#include <math.h>
#include <string.h>

/* Loops over lanes, vectorized at -O2 too; no option changes a result. */
#if defined(__GNUC__) && !defined(__clang__)
#define SD_VEC __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic", \
                                       "no-trapping-math")))
#else
#define SD_VEC
#endif

typedef struct {
  int64_t planes, h, w, oh, ow;
  sd_pool2d_args a;
  bool d;
  const char *x, *gout;
  char *out, *gx;
  int64_t *idx;
  const int64_t *cidx;
} job;

/* PyTorch's pooling_output_shape: with ceil_mode the last window must
   start inside the input or its left padding. */
static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t span = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  if (span < 0) return 0;
  int64_t o = span / s + 1;
  if (ceil_mode && (o - 1) * s >= in + p) o--;
  return o;
}

static sd_status pool_geom(const char *fn, const sd_tensor *x, const sd_pool2d_args *a, job *j) {
  char xs[128];
  sd_shape_str(x, xs, sizeof xs);
  if (x->ndim != 4 && x->ndim != 3)
    return sd_error(SD_ESHAPE, "%s: input must be [N, C, H, W] or [C, H, W], got %s", fn, xs);
  if (sd_nn_float(fn, "input", x)) return SD_EARG;
  for (int i = 0; i < 2; i++) {
    if (a->kernel[i] < 1 || a->stride[i] < 1 || a->dilation[i] < 1 || a->padding[i] < 0)
      return sd_error(SD_EARG, "%s: kernel, stride and dilation must be >= 1 and padding >= 0", fn);
    if (a->padding[i] * 2 > a->kernel[i])
      return sd_error(SD_EARG, "%s: padding %lld must be at most half the kernel size %lld", fn,
                      (long long)a->padding[i], (long long)a->kernel[i]);
  }
  int nd = x->ndim;
  j->planes = nd == 4 ? x->shape[0] * x->shape[1] : x->shape[0];
  j->h = x->shape[nd - 2];
  j->w = x->shape[nd - 1];
  j->oh = out_size(j->h, a->kernel[0], a->stride[0], a->padding[0], a->dilation[0], a->ceil_mode);
  j->ow = out_size(j->w, a->kernel[1], a->stride[1], a->padding[1], a->dilation[1], a->ceil_mode);
  if (j->oh < 1 || j->ow < 1)
    return sd_error(SD_ESHAPE, "%s: kernel %lldx%lld is too large for input %s (output %lldx%lld)",
                    fn, (long long)a->kernel[0], (long long)a->kernel[1], xs, (long long)j->oh,
                    (long long)j->ow);
  j->a = *a;
  j->d = x->dtype == SD_F64;
  return SD_OK;
}

/* A result of x's leading dims and the pooled size (or x's own shape). */
static sd_tensor *like(const sd_tensor *x, int64_t oh, int64_t ow, bool zero) {
  int64_t shape[4];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->ndim - 2] = oh;
  shape[x->ndim - 1] = ow;
  return zero ? sd_zeros(x->dtype, x->ndim, shape) : sd_empty(x->dtype, x->ndim, shape);
}

/* Windows that tile the input: kernel = stride, no padding or dilation,
   every window inside (and window offsets that fit 32 bits). */
static bool tiled(const job *j) {
  const sd_pool2d_args *a = &j->a;
  return a->kernel[0] == a->stride[0] && a->kernel[1] == a->stride[1] && a->padding[0] == 0 &&
         a->padding[1] == 0 && a->dilation[0] == 1 && a->dilation[1] == 1 &&
         j->oh * a->kernel[0] <= j->h && j->ow * a->kernel[1] <= j->w &&
         a->kernel[0] * j->w < INT32_MAX;
}

static int64_t grain(const job *j) {
  int64_t w = j->oh * j->ow * j->a.kernel[0] * j->a.kernel[1] + j->h * j->w;
  return w >= 16384 ? 1 : 16384 / (w + 1) + 1;
}

/* --- max --- */

/* One step of the running max: v replaces m when larger or NaN (PyTorch's
   rule). Branch-free: on real data the comparison is a coin toss. */
SD_INLINE void max_step(double v, int64_t pos, double *m, int64_t *mi) {
  uint64_t take = -(uint64_t)((v > *m) | (v != v)), vb, mb;
  *mi = (int64_t)(((uint64_t)*mi & ~take) | ((uint64_t)pos & take));
  memcpy(&vb, &v, 8); /* the select on bits: a float ternary compiles to a branch */
  memcpy(&mb, m, 8);
  mb = (mb & ~take) | (vb & take);
  memcpy(m, &mb, 8);
}

/* Outputs of one row are independent: the window loops run outside the
   loop over them, so their running maxima advance side by side instead of
   waiting on each other, in blocks of 256. */
SD_INLINE void max_plane(const job *j, int64_t p, bool d) {
  const sd_pool2d_args *a = &j->a;
  const char *x = j->x + p * j->h * j->w * (d ? 8 : 4);
  char *out = j->out + p * j->oh * j->ow * (d ? 8 : 4);
  int64_t *idx = j->idx ? j->idx + p * j->oh * j->ow : NULL;
  double m[256];
  int64_t mi[256];
  for (int64_t oi = 0; oi < j->oh; oi++) {
    int64_t h0 = oi * a->stride[0] - a->padding[0];
    int64_t h1 = h0 + (a->kernel[0] - 1) * a->dilation[0] + 1;
    if (h1 > j->h) h1 = j->h;
    while (h0 < 0) h0 += a->dilation[0];
    for (int64_t b0 = 0; b0 < j->ow; b0 += 256) {
      int64_t nb = j->ow - b0 < 256 ? j->ow - b0 : 256;
      for (int64_t k = 0; k < nb; k++) { /* PyTorch's start: the first position inside */
        int64_t w0 = (b0 + k) * a->stride[1] - a->padding[1];
        while (w0 < 0) w0 += a->dilation[1];
        m[k] = -INFINITY;
        mi[k] = h0 * j->w + w0;
      }
      for (int64_t ih = h0; ih < h1; ih += a->dilation[0])
        for (int64_t kj = 0; kj < a->kernel[1]; kj++) {
          int64_t off = kj * a->dilation[1] - a->padding[1], s = a->stride[1];
          int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s, hi = j->w - off <= 0 ? 0 : (j->w - off + s - 1) / s;
          lo = lo < b0 ? 0 : lo - b0;
          hi = hi - b0 > nb ? nb : hi - b0;
          const int64_t base = ih * j->w + b0 * s + off;
          for (int64_t k = lo; k < hi; k++) max_step(ld(x, base + k * s, d), base + k * s, &m[k], &mi[k]);
        }
      for (int64_t k = 0; k < nb; k++) {
        st(out, oi * j->ow + b0 + k, m[k], d);
        if (idx) idx[oi * j->ow + b0 + k] = mi[k] + 1;
      }
    }
  }
}

/* max_step's rule for a row of n tiled windows of f32 (x at the first
   one's top left): the maxima m and their offsets mo in the window
   (r w + c), with 32-bit selects on the bits, branch-free and vectorized. */
SD_VEC static void max_row_f32(const float *x, int64_t w, int64_t k0, int64_t k1, int64_t n,
                               float *m, uint32_t *mo) {
  for (int64_t k = 0; k < n; k++) m[k] = x[k * k1], mo[k] = 0;
  for (int64_t r = 0; r < k0; r++)
    for (int64_t c = r ? 0 : 1; c < k1; c++) {
      const float *xr = x + r * w + c;
      uint32_t off = (uint32_t)(r * w + c);
      for (int64_t k = 0; k < n; k++) {
        float v = xr[k * k1], mk = m[k];
        uint32_t take = -(uint32_t)((v > mk) | (v != v)), vb, mb;
        memcpy(&vb, &v, 4);
        memcpy(&mb, &mk, 4);
        mb = (mb & ~take) | (vb & take);
        memcpy(&m[k], &mb, 4);
        mo[k] = (mo[k] & ~take) | (off & take);
      }
    }
}

/* max_plane for tiled windows: each window's rows, left to right, from
   its first element (what max_plane's first step from -inf gives), the
   row's outputs side by side in blocks of 256. */
SD_INLINE void max_plane_tiled(const job *j, int64_t p, bool d) {
  int64_t k0 = j->a.kernel[0], k1 = j->a.kernel[1], w = j->w;
  const char *x = j->x + p * j->h * w * (d ? 8 : 4);
  char *out = j->out + p * j->oh * j->ow * (d ? 8 : 4);
  int64_t *idx = j->idx ? j->idx + p * j->oh * j->ow : NULL;
  double m[256];
  int64_t mi[256];
  float mf[256];
  uint32_t mo[256];
  for (int64_t oi = 0; oi < j->oh; oi++)
    for (int64_t b0 = 0; b0 < j->ow; b0 += 256) {
      int64_t nb = j->ow - b0 < 256 ? j->ow - b0 : 256, base = oi * k0 * w + b0 * k1;
      if (!d) { /* f32: the same steps on 32-bit lanes, see max_row_f32 */
        max_row_f32((const float *)x + base, w, k0, k1, nb, mf, mo);
        for (int64_t k = 0; k < nb; k++) {
          ((float *)out)[oi * j->ow + b0 + k] = mf[k];
          if (idx) idx[oi * j->ow + b0 + k] = base + k * k1 + mo[k] + 1;
        }
        continue;
      }
      for (int64_t k = 0; k < nb; k++) {
        m[k] = ld(x, base + k * k1, d);
        mi[k] = base + k * k1;
      }
      for (int64_t r = 0; r < k0; r++)
        for (int64_t c = r ? 0 : 1; c < k1; c++) {
          int64_t at = base + r * w + c;
          for (int64_t k = 0; k < nb; k++) max_step(ld(x, at + k * k1, d), at + k * k1, &m[k], &mi[k]);
        }
      for (int64_t k = 0; k < nb; k++) {
        st(out, oi * j->ow + b0 + k, m[k], d);
        if (idx) idx[oi * j->ow + b0 + k] = mi[k] + 1;
      }
    }
}

static void max_task(int64_t p0, int64_t p1, void *ctx) {
  const job *j = ctx;
  bool t = tiled(j);
  for (int64_t p = p0; p < p1; p++) {
    if (t && j->d) max_plane_tiled(j, p, true);
    else if (t) max_plane_tiled(j, p, false);
    else if (j->d) max_plane(j, p, true);
    else max_plane(j, p, false);
  }
}

sd_tensor *sd_max_pool2d(const sd_tensor *x, const sd_pool2d_args *a, sd_tensor **indices) {
  job j = {0};
  if (pool_geom("max_pool2d", x, a, &j) != SD_OK) return NULL;
  sd_tensor *xc = sd_contiguous(x), *out = like(x, j.oh, j.ow, false), *ix = NULL;
  if (indices && out) {
    ix = sd_empty(SD_I64, out->ndim, out->shape);
  }
  if (!xc || !out || (indices && !ix)) {
    sd_release(xc); sd_release(out); sd_release(ix);
    return NULL;
  }
  j.x = sd_data(xc);
  j.out = sd_data(out);
  j.idx = ix ? sd_data(ix) : NULL;
  sd_parallel_for(j.planes, grain(&j), max_task, &j);
  sd_release(xc);
  if (indices) *indices = ix;
  return out;
}

SD_INLINE void max_back_plane(const job *j, int64_t p, bool d) {
  char *gx = j->gx + p * j->h * j->w * (d ? 8 : 4);
  const char *g = j->gout + p * j->oh * j->ow * (d ? 8 : 4);
  const int64_t *idx = j->cidx + p * j->oh * j->ow;
  for (int64_t i = 0; i < j->oh * j->ow; i++) st(gx, idx[i] - 1, ld(gx, idx[i] - 1, d) + ld(g, i, d), d);
}

static void max_back_task(int64_t p0, int64_t p1, void *ctx) {
  const job *j = ctx;
  for (int64_t p = p0; p < p1; p++) {
    if (j->d) max_back_plane(j, p, true);
    else max_back_plane(j, p, false);
  }
}

/* Checks gout against the pooled shape of an input of shape xshape. */
static sd_status back_geom(const char *fn, const sd_tensor *gout, int ndim, const int64_t *xshape,
                           job *j) {
  char gs[128];
  if ((ndim != 3 && ndim != 4) || gout->ndim != ndim || sd_nn_float(fn, "gradient", gout))
    return sd_error(SD_ESHAPE, "%s: gradient %s does not match a %d-d input", fn,
                    sd_shape_str(gout, gs, sizeof gs), ndim);
  for (int i = 0; i < ndim - 2; i++)
    if (gout->shape[i] != xshape[i])
      return sd_error(SD_ESHAPE, "%s: gradient %s does not match the input's leading dims", fn,
                      sd_shape_str(gout, gs, sizeof gs));
  j->planes = ndim == 4 ? xshape[0] * xshape[1] : xshape[0];
  j->h = xshape[ndim - 2];
  j->w = xshape[ndim - 1];
  j->oh = gout->shape[ndim - 2];
  j->ow = gout->shape[ndim - 1];
  j->d = gout->dtype == SD_F64;
  return SD_OK;
}

sd_tensor *sd_max_pool2d_backward(const sd_tensor *gout, const sd_tensor *indices, int ndim,
                                  const int64_t *xshape) {
  job j = {0};
  if (back_geom("max_pool2d_backward", gout, ndim, xshape, &j) != SD_OK) return NULL;
  if (indices->dtype != SD_I64 || !sd_same_shape(indices, gout)) {
    sd_error(SD_ESHAPE, "max_pool2d_backward: indices must be i64 of the gradient's shape");
    return NULL;
  }
  sd_tensor *gc = sd_contiguous(gout), *ic = sd_contiguous(indices);
  sd_tensor *gx = sd_zeros(gout->dtype, ndim, xshape);
  if (!gc || !ic || !gx) { sd_release(gc); sd_release(ic); sd_release(gx); return NULL; }
  const int64_t *iv = sd_data(ic);
  for (int64_t i = 0, n = sd_numel(ic); i < n; i++)
    if (iv[i] < 1 || iv[i] > j.h * j.w) {
      sd_error(SD_EARG, "max_pool2d_backward: index %lld is out of range 1..%lld",
               (long long)iv[i], (long long)(j.h * j.w));
      sd_release(gc); sd_release(ic); sd_release(gx);
      return NULL;
    }
  j.gout = sd_data(gc);
  j.cidx = iv;
  j.gx = sd_data(gx);
  j.a.kernel[0] = j.a.kernel[1] = 1;
  sd_parallel_for(j.planes, grain(&j), max_back_task, &j);
  sd_release(gc);
  sd_release(ic);
  return gx;
}

/* --- average --- */

/* The window of output (oi, oj), clipped to the input, and its divisor. */
static int64_t avg_window(const job *j, int64_t oi, int64_t oj, int64_t *h0, int64_t *h1,
                          int64_t *w0, int64_t *w1) {
  const sd_pool2d_args *a = &j->a;
  *h0 = oi * a->stride[0] - a->padding[0];
  *w0 = oj * a->stride[1] - a->padding[1];
  *h1 = *h0 + a->kernel[0];
  *w1 = *w0 + a->kernel[1];
  if (*h1 > j->h + a->padding[0]) *h1 = j->h + a->padding[0];
  if (*w1 > j->w + a->padding[1]) *w1 = j->w + a->padding[1];
  int64_t padded = (*h1 - *h0) * (*w1 - *w0);
  if (*h0 < 0) *h0 = 0;
  if (*w0 < 0) *w0 = 0;
  if (*h1 > j->h) *h1 = j->h;
  if (*w1 > j->w) *w1 = j->w;
  if (*h0 >= *h1 || *w0 >= *w1) return 0;
  return a->count_include_pad ? padded : (*h1 - *h0) * (*w1 - *w0);
}

SD_INLINE void avg_plane(const job *j, int64_t p, bool d, bool back) {
  size_t es = d ? 8 : 4;
  const char *x = back ? NULL : j->x + p * j->h * j->w * es;
  char *gx = back ? j->gx + p * j->h * j->w * es : NULL;
  const char *g = back ? j->gout + p * j->oh * j->ow * es : NULL;
  char *out = back ? NULL : j->out + p * j->oh * j->ow * es;
  for (int64_t oi = 0; oi < j->oh; oi++)
    for (int64_t oj = 0; oj < j->ow; oj++) {
      int64_t h0, h1, w0, w1, div = avg_window(j, oi, oj, &h0, &h1, &w0, &w1);
      if (back) {
        if (!div) continue;
        double v = ld(g, oi * j->ow + oj, d) / (double)div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) st(gx, ih * j->w + iw, ld(gx, ih * j->w + iw, d) + v, d);
      } else {
        double s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += ld(x, ih * j->w + iw, d);
        st(out, oi * j->ow + oj, div ? s / (double)div : 0, d);
      }
    }
}

/* avg_plane for tiled windows: the window sums in the same order; the
   backward writes 0 + v where avg_plane adds v to the zeros. */
SD_INLINE void avg_plane_tiled(const job *j, int64_t p, bool d, bool back) {
  size_t es = d ? 8 : 4;
  int64_t k0 = j->a.kernel[0], k1 = j->a.kernel[1], w = j->w;
  double div = (double)(k0 * k1);
  const char *x = back ? NULL : j->x + p * j->h * w * es;
  char *gx = back ? j->gx + p * j->h * w * es : NULL;
  const char *g = back ? j->gout + p * j->oh * j->ow * es : NULL;
  char *out = back ? NULL : j->out + p * j->oh * j->ow * es;
  for (int64_t oi = 0; oi < j->oh; oi++)
    for (int64_t oj = 0; oj < j->ow; oj++) {
      int64_t base = oi * k0 * w + oj * k1;
      if (back) {
        double v = 0.0 + ld(g, oi * j->ow + oj, d) / div;
        for (int64_t r = 0; r < k0; r++)
          for (int64_t c = 0; c < k1; c++) st(gx, base + r * w + c, v, d);
      } else {
        double s = 0;
        for (int64_t r = 0; r < k0; r++)
          for (int64_t c = 0; c < k1; c++) s += ld(x, base + r * w + c, d);
        st(out, oi * j->ow + oj, s / div, d);
      }
    }
}

/* Adaptive windows: [floor(i in / out), ceil((i + 1) in / out)). */
SD_INLINE void adaptive_plane(const job *j, int64_t p, bool d, bool back) {
  size_t es = d ? 8 : 4;
  const char *x = back ? NULL : j->x + p * j->h * j->w * es;
  char *gx = back ? j->gx + p * j->h * j->w * es : NULL;
  const char *g = back ? j->gout + p * j->oh * j->ow * es : NULL;
  char *out = back ? NULL : j->out + p * j->oh * j->ow * es;
  for (int64_t oi = 0; oi < j->oh; oi++) {
    int64_t h0 = oi * j->h / j->oh, h1 = ((oi + 1) * j->h + j->oh - 1) / j->oh;
    for (int64_t oj = 0; oj < j->ow; oj++) {
      int64_t w0 = oj * j->w / j->ow, w1 = ((oj + 1) * j->w + j->ow - 1) / j->ow;
      double div = (double)((h1 - h0) * (w1 - w0));
      if (back) {
        double v = ld(g, oi * j->ow + oj, d) / div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) st(gx, ih * j->w + iw, ld(gx, ih * j->w + iw, d) + v, d);
      } else {
        double s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += ld(x, ih * j->w + iw, d);
        st(out, oi * j->ow + oj, s / div, d);
      }
    }
  }
}

typedef struct { job *j; bool adaptive, back; } avg_ctx;

static void avg_task(int64_t p0, int64_t p1, void *ctx) {
  const avg_ctx *c = ctx;
  const job *j = c->j;
  for (int64_t p = p0; p < p1; p++) {
    if (c->adaptive) {
      if (j->d) adaptive_plane(j, p, true, c->back);
      else adaptive_plane(j, p, false, c->back);
    } else if (tiled(j)) {
      if (j->d) avg_plane_tiled(j, p, true, c->back);
      else avg_plane_tiled(j, p, false, c->back);
    } else {
      if (j->d) avg_plane(j, p, true, c->back);
      else avg_plane(j, p, false, c->back);
    }
  }
}

static sd_tensor *avg_forward(job *j, const sd_tensor *x, bool adaptive) {
  sd_tensor *xc = sd_contiguous(x), *out = like(x, j->oh, j->ow, false);
  if (!xc || !out) { sd_release(xc); sd_release(out); return NULL; }
  j->x = sd_data(xc);
  j->out = sd_data(out);
  avg_ctx c = {j, adaptive, false};
  sd_parallel_for(j->planes, grain(j), avg_task, &c);
  sd_release(xc);
  return out;
}

static sd_tensor *avg_backward(job *j, const sd_tensor *gout, int ndim, const int64_t *xshape,
                               bool adaptive) {
  sd_tensor *gc = sd_contiguous(gout), *gx = sd_zeros(gout->dtype, ndim, xshape);
  if (!gc || !gx) { sd_release(gc); sd_release(gx); return NULL; }
  j->gout = sd_data(gc);
  j->gx = sd_data(gx);
  avg_ctx c = {j, adaptive, true};
  sd_parallel_for(j->planes, grain(j), avg_task, &c);
  sd_release(gc);
  return gx;
}

sd_tensor *sd_avg_pool2d(const sd_tensor *x, const sd_pool2d_args *a) {
  job j = {0};
  if (a->dilation[0] != 1 || a->dilation[1] != 1) {
    sd_error(SD_EARG, "avg_pool2d: dilation is not supported");
    return NULL;
  }
  if (pool_geom("avg_pool2d", x, a, &j) != SD_OK) return NULL;
  return avg_forward(&j, x, false);
}

sd_tensor *sd_avg_pool2d_backward(const sd_tensor *gout, const sd_pool2d_args *a, int ndim,
                                  const int64_t *xshape) {
  job j = {0};
  if (back_geom("avg_pool2d_backward", gout, ndim, xshape, &j) != SD_OK) return NULL;
  j.a = *a;
  return avg_backward(&j, gout, ndim, xshape, false);
}

sd_tensor *sd_adaptive_avg_pool2d(const sd_tensor *x, int64_t oh, int64_t ow) {
  job j = {0};
  char xs[128];
  if (x->ndim != 4 && x->ndim != 3) {
    sd_error(SD_ESHAPE, "adaptive_avg_pool2d: input must be [N, C, H, W] or [C, H, W], got %s",
             sd_shape_str(x, xs, sizeof xs));
    return NULL;
  }
  if (sd_nn_float("adaptive_avg_pool2d", "input", x)) return NULL;
  int nd = x->ndim;
  if (oh < 1 || ow < 1 || x->shape[nd - 2] < 1 || x->shape[nd - 1] < 1) {
    sd_error(SD_ESHAPE, "adaptive_avg_pool2d: output size %lldx%lld for input %s: both must be "
             ">= 1 and the input non-empty", (long long)oh, (long long)ow, sd_shape_str(x, xs, sizeof xs));
    return NULL;
  }
  j.planes = nd == 4 ? x->shape[0] * x->shape[1] : x->shape[0];
  j.h = x->shape[nd - 2];
  j.w = x->shape[nd - 1];
  j.oh = oh;
  j.ow = ow;
  j.a.kernel[0] = j.h / oh + 1;
  j.a.kernel[1] = j.w / ow + 1;
  j.d = x->dtype == SD_F64;
  return avg_forward(&j, x, true);
}

sd_tensor *sd_adaptive_avg_pool2d_backward(const sd_tensor *gout, int ndim, const int64_t *xshape) {
  job j = {0};
  if (back_geom("adaptive_avg_pool2d_backward", gout, ndim, xshape, &j) != SD_OK) return NULL;
  j.a.kernel[0] = j.h / j.oh + 1;
  j.a.kernel[1] = j.w / j.ow + 1;
  return avg_backward(&j, gout, ndim, xshape, true);
}
