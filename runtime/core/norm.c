/* norm.c: batch normalisation (x [N, C, ...] normalised per channel) and
   layer normalisation (x normalised over its last dims), forward and fused
   backward.

   Statistics are two-pass (mean, then squared deviations), accumulated in
   f64 in element order. Batch norm splits channels over threads, layer
   norm rows (and, for the weight and bias gradients, columns, each summed
   over rows in order): every sum has one fixed order. */
#include "nn_impl.h"
#include "parallel.h"
#include <math.h>
#include <string.h>

typedef struct {
  int64_t n, c, s;    /* batch norm: x as [n, c, s]; layer norm: [n rows, c columns] */
  bool d, training;
  double eps;
  const char *x, *w, *b, *gout, *mean, *invstd;
  char *out, *gx, *gw, *gb, *omean, *oinvstd;
  double *uvar;       /* batch norm, training: the unbiased variance, for the running one */
} job;

static sd_status same_float(const char *fn, const char *arg, const sd_tensor *t, const sd_tensor *x,
                            int64_t numel) {
  if (!t) return SD_OK;
  if (t->dtype != x->dtype || sd_numel(t) != numel) {
    char s[128];
    return sd_error(SD_ESHAPE, "%s: %s must have %lld elements of dtype %s, got %s %s", fn, arg,
                    (long long)numel, sd_dtype_name(x->dtype), sd_shape_str(t, s, sizeof s),
                    sd_dtype_name(t->dtype));
  }
  return SD_OK;
}

/* --- batch norm --- */

SD_INLINE void bn_channel(const job *j, int64_t c, bool d) {
  int64_t m = j->n * j->s;
  double mean, invstd;
  if (j->training) {
    double s = 0, q = 0;
    for (int64_t n = 0; n < j->n; n++)
      for (int64_t i = 0, o = (n * j->c + c) * j->s; i < j->s; i++) s += ld(j->x, o + i, d);
    mean = s / (double)m;
    for (int64_t n = 0; n < j->n; n++)
      for (int64_t i = 0, o = (n * j->c + c) * j->s; i < j->s; i++) {
        double v = ld(j->x, o + i, d) - mean;
        q += v * v;
      }
    invstd = 1 / sqrt(q / (double)m + j->eps);
    st(j->omean, c, mean, d);
    st(j->oinvstd, c, invstd, d);
    j->uvar[c] = q / (double)(m - 1);
  } else {
    mean = ld(j->mean, c, d);
    invstd = ld(j->invstd, c, d);
  }
  double w = j->w ? ld(j->w, c, d) : 1, b = j->b ? ld(j->b, c, d) : 0;
  for (int64_t n = 0; n < j->n; n++)
    for (int64_t i = 0, o = (n * j->c + c) * j->s; i < j->s; i++)
      st(j->out, o + i, (ld(j->x, o + i, d) - mean) * invstd * w + b, d);
}

static void bn_task(int64_t c0, int64_t c1, void *p) {
  const job *j = p;
  for (int64_t c = c0; c < c1; c++) {
    if (j->d) bn_channel(j, c, true);
    else bn_channel(j, c, false);
  }
}

static int64_t bn_grain(const job *j) {
  int64_t w = j->n * j->s;
  return w >= 8192 ? 1 : 8192 / (w + 1) + 1;
}

/* Element i of a 1-d float tensor of any stride. */
static double vget(const sd_tensor *t, int64_t i) {
  return sd_get_ptr(t->dtype, (char *)sd_data(t) + i * t->stride[0] * (int64_t)sd_dtype_size(t->dtype));
}
static void vset(sd_tensor *t, int64_t i, double v) {
  sd_set_ptr(t->dtype, (char *)sd_data(t) + i * t->stride[0] * (int64_t)sd_dtype_size(t->dtype), v);
}

static sd_status bn_check(const char *fn, const sd_tensor *x, const sd_tensor *rm,
                          const sd_tensor *rv, const sd_tensor *w, const sd_tensor *b) {
  char xs[128];
  sd_shape_str(x, xs, sizeof xs);
  if (x->ndim < 2) return sd_error(SD_ESHAPE, "%s: input must be [N, C, ...], got %s", fn, xs);
  if (sd_nn_float(fn, "input", x)) return SD_EARG;
  int64_t c = x->shape[1];
  if (same_float(fn, "weight", w, x, c) || same_float(fn, "bias", b, x, c)) return SD_ESHAPE;
  const sd_tensor *r[2] = {rm, rv};
  for (int i = 0; i < 2; i++) {
    if (!r[i]) continue;
    if (r[i]->ndim != 1 || r[i]->shape[0] != c || !sd_dtype_is_float(r[i]->dtype)) {
      char s[128];
      return sd_error(SD_ESHAPE, "%s: %s must be a float [%lld] for input %s, got %s", fn,
                      i ? "running_var" : "running_mean", (long long)c, xs,
                      sd_shape_str(r[i], s, sizeof s));
    }
  }
  return SD_OK;
}

sd_tensor *sd_batch_norm(const sd_tensor *x, sd_tensor *running_mean, sd_tensor *running_var,
                         const sd_tensor *weight, const sd_tensor *bias, bool training,
                         double momentum, double eps, sd_tensor **mean, sd_tensor **invstd) {
  char xs[128];
  if (bn_check("batch_norm", x, running_mean, running_var, weight, bias) != SD_OK) return NULL;
  if (!training && (!running_mean || !running_var)) {
    sd_error(SD_EARG, "batch_norm: evaluation mode needs running_mean and running_var");
    return NULL;
  }
  if (training && x->shape[1] && sd_numel(x) / x->shape[1] <= 1) {
    sd_error(SD_ESHAPE, "batch_norm: expected more than 1 value per channel when training, got "
             "input %s", sd_shape_str(x, xs, sizeof xs));
    return NULL;
  }
  job j = {.n = x->shape[0], .c = x->shape[1], .d = x->dtype == SD_F64, .training = training, .eps = eps};
  j.s = j.n * j.c != 0 ? sd_numel(x) / (j.n * j.c) : 0;
  sd_tensor *xc = sd_contiguous(x), *out = sd_empty(x->dtype, x->ndim, x->shape);
  sd_tensor *wc = weight ? sd_nn_dense(weight, x->dtype) : NULL;
  sd_tensor *bc = bias ? sd_nn_dense(bias, x->dtype) : NULL;
  sd_tensor *mu = sd_empty(x->dtype, 1, &j.c), *is = sd_empty(x->dtype, 1, &j.c);
  sd_tensor *uvar = training ? sd_empty(SD_F64, 1, &j.c) : NULL;
  if (!xc || !out || (weight && !wc) || (bias && !bc) || !mu || !is || (training && !uvar)) {
    sd_release(xc); sd_release(out); sd_release(wc); sd_release(bc);
    sd_release(mu); sd_release(is); sd_release(uvar);
    return NULL;
  }
  if (!training)
    for (int64_t c = 0; c < j.c; c++) {
      vset(mu, c, vget(running_mean, c));
      vset(is, c, 1 / sqrt(vget(running_var, c) + eps));
    }
  j.x = sd_data(xc);
  j.out = sd_data(out);
  j.w = wc ? sd_data(wc) : NULL;
  j.b = bc ? sd_data(bc) : NULL;
  j.mean = sd_data(mu);
  j.invstd = sd_data(is);
  j.omean = sd_data(mu);
  j.oinvstd = sd_data(is);
  j.uvar = uvar ? sd_data(uvar) : NULL;
  sd_parallel_for(j.c, bn_grain(&j), bn_task, &j);
  if (training) {
    const double *uv = sd_data(uvar);
    for (int64_t c = 0; c < j.c; c++) {
      if (running_mean) vset(running_mean, c, (1 - momentum) * vget(running_mean, c) + momentum * vget(mu, c));
      if (running_var) vset(running_var, c, (1 - momentum) * vget(running_var, c) + momentum * uv[c]);
    }
    if (running_mean) sd_bump_version(running_mean);
    if (running_var) sd_bump_version(running_var);
  }
  sd_release(xc); sd_release(wc); sd_release(bc); sd_release(uvar);
  *mean = mu;
  *invstd = is;
  return out;
}

SD_INLINE void bn_back_channel(const job *j, int64_t c, bool d) {
  double mean = ld(j->mean, c, d), invstd = ld(j->invstd, c, d);
  double sg = 0, sgx = 0;
  for (int64_t n = 0; n < j->n; n++)
    for (int64_t i = 0, o = (n * j->c + c) * j->s; i < j->s; i++) {
      double g = ld(j->gout, o + i, d);
      sg += g;
      sgx += g * (ld(j->x, o + i, d) - mean) * invstd;
    }
  if (j->gw) st(j->gw, c, sgx, d);
  if (j->gb) st(j->gb, c, sg, d);
  if (!j->gx) return;
  double k = (j->w ? ld(j->w, c, d) : 1) * invstd, m = (double)(j->n * j->s);
  for (int64_t n = 0; n < j->n; n++)
    for (int64_t i = 0, o = (n * j->c + c) * j->s; i < j->s; i++) {
      double g = ld(j->gout, o + i, d);
      if (j->training) g -= sg / m + (ld(j->x, o + i, d) - mean) * invstd * sgx / m;
      st(j->gx, o + i, k * g, d);
    }
}

static void bn_back_task(int64_t c0, int64_t c1, void *p) {
  const job *j = p;
  for (int64_t c = c0; c < c1; c++) {
    if (j->d) bn_back_channel(j, c, true);
    else bn_back_channel(j, c, false);
  }
}

/* Allocates the requested gradients (gx like x; gw, gb [len]) and the
   dense operands; on failure releases everything. */
typedef struct { sd_tensor *xc, *gc, *wc, *mc, *ic, *gx, *gw, *gb; } bufs;

static void bufs_free(bufs *b) {
  sd_release(b->xc); sd_release(b->gc); sd_release(b->wc); sd_release(b->mc); sd_release(b->ic);
  sd_release(b->gx); sd_release(b->gw); sd_release(b->gb);
}

static sd_status bufs_make(bufs *b, job *j, const sd_tensor *gout, const sd_tensor *x,
                           const sd_tensor *w, const sd_tensor *mean, const sd_tensor *invstd,
                           int64_t len, bool want_x, bool want_w, bool want_b) {
  sd_dtype dt = x->dtype;
  *b = (bufs){0};
  b->xc = sd_contiguous(x);
  b->gc = sd_nn_dense(gout, dt);
  b->wc = w ? sd_nn_dense(w, dt) : NULL;
  b->mc = sd_nn_dense(mean, dt);
  b->ic = sd_nn_dense(invstd, dt);
  b->gx = want_x ? sd_empty(dt, x->ndim, x->shape) : NULL;
  b->gw = want_w ? sd_empty(dt, 1, &len) : NULL;
  b->gb = want_b ? sd_empty(dt, 1, &len) : NULL;
  if (!b->xc || !b->gc || (w && !b->wc) || !b->mc || !b->ic || (want_x && !b->gx) ||
      (want_w && !b->gw) || (want_b && !b->gb)) {
    bufs_free(b);
    return SD_EMEM;
  }
  j->d = dt == SD_F64;
  j->x = sd_data(b->xc);
  j->gout = sd_data(b->gc);
  j->w = b->wc ? sd_data(b->wc) : NULL;
  j->mean = sd_data(b->mc);
  j->invstd = sd_data(b->ic);
  j->gx = b->gx ? sd_data(b->gx) : NULL;
  j->gw = b->gw ? sd_data(b->gw) : NULL;
  j->gb = b->gb ? sd_data(b->gb) : NULL;
  return SD_OK;
}

static sd_status grad_shape(const char *fn, const sd_tensor *gout, const sd_tensor *x) {
  if (sd_same_shape(gout, x) && sd_dtype_is_float(gout->dtype)) return SD_OK;
  char g[128], s[128];
  return sd_error(SD_ESHAPE, "%s: gradient %s does not match input %s", fn,
                  sd_shape_str(gout, g, sizeof g), sd_shape_str(x, s, sizeof s));
}

/* Hands the gradients out, gw and gb viewed as shape (when nd > 1). */
static void give(bufs *b, int nd, const int64_t *shape, sd_tensor **gx, sd_tensor **gw,
                 sd_tensor **gb) {
  if (gx) *gx = b->gx;
  if (gw) *gw = b->gw;
  if (gb) *gb = b->gb;
  for (int i = 0; i < 2; i++) {
    sd_tensor **g = i ? gb : gw, *v;
    if (g && *g && nd > 1 && (v = sd_view(*g, nd, shape))) {
      sd_release(*g);
      *g = v;
    }
  }
  b->gx = b->gw = b->gb = NULL;
  bufs_free(b);
}

sd_status sd_batch_norm_backward(const sd_tensor *gout, const sd_tensor *x, const sd_tensor *weight,
                                 const sd_tensor *mean, const sd_tensor *invstd, bool training,
                                 sd_tensor **gx, sd_tensor **gw, sd_tensor **gb) {
  if (bn_check("batch_norm_backward", x, NULL, NULL, weight, NULL)) return SD_ESHAPE;
  if (grad_shape("batch_norm_backward", gout, x)) return SD_ESHAPE;
  job j = {.n = x->shape[0], .c = x->shape[1], .training = training};
  j.s = j.n * j.c != 0 ? sd_numel(x) / (j.n * j.c) : 0;
  bufs b;
  if (bufs_make(&b, &j, gout, x, weight, mean, invstd, j.c, gx, gw, gb)) return SD_EMEM;
  sd_parallel_for(j.c, bn_grain(&j), bn_back_task, &j);
  give(&b, 0, NULL, gx, gw, gb);
  return SD_OK;
}

/* --- layer norm: x as [n rows, c columns] --- */

static sd_status ln_check(const char *fn, const sd_tensor *x, int nnorm, const sd_tensor *w,
                          const sd_tensor *b, job *j) {
  char xs[128];
  if (nnorm < 1 || nnorm > x->ndim)
    return sd_error(SD_ESHAPE, "%s: cannot normalise the last %d dims of input %s", fn, nnorm,
                    sd_shape_str(x, xs, sizeof xs));
  if (sd_nn_float(fn, "input", x)) return SD_EARG;
  j->c = 1;
  for (int i = x->ndim - nnorm; i < x->ndim; i++) j->c *= x->shape[i];
  j->n = j->c ? sd_numel(x) / j->c : 0;
  const sd_tensor *p[2] = {w, b};
  for (int i = 0; i < 2; i++) {
    if (!p[i]) continue;
    if (p[i]->dtype != x->dtype || p[i]->ndim != nnorm ||
        memcmp(p[i]->shape, x->shape + x->ndim - nnorm, nnorm * sizeof(int64_t))) {
      char s[128];
      return sd_error(SD_ESHAPE, "%s: %s %s %s does not match the last %d dims of input %s", fn,
                      i ? "bias" : "weight", sd_shape_str(p[i], s, sizeof s),
                      sd_dtype_name(p[i]->dtype), nnorm, sd_shape_str(x, xs, sizeof xs));
    }
  }
  j->d = x->dtype == SD_F64;
  return SD_OK;
}

SD_INLINE void ln_row(const job *j, int64_t r, bool d) {
  const char *x = j->x + r * j->c * (d ? 8 : 4);
  char *out = j->out + r * j->c * (d ? 8 : 4);
  double s = 0, q = 0;
  for (int64_t i = 0; i < j->c; i++) s += ld(x, i, d);
  double mean = s / (double)j->c;
  for (int64_t i = 0; i < j->c; i++) {
    double v = ld(x, i, d) - mean;
    q += v * v;
  }
  double invstd = 1 / sqrt(q / (double)j->c + j->eps);
  st(j->omean, r, mean, d);
  st(j->oinvstd, r, invstd, d);
  for (int64_t i = 0; i < j->c; i++)
    st(out, i, (ld(x, i, d) - mean) * invstd * (j->w ? ld(j->w, i, d) : 1) + (j->b ? ld(j->b, i, d) : 0), d);
}

static void ln_task(int64_t r0, int64_t r1, void *p) {
  const job *j = p;
  for (int64_t r = r0; r < r1; r++) {
    if (j->d) ln_row(j, r, true);
    else ln_row(j, r, false);
  }
}

static int64_t ln_grain(int64_t c) { return c >= 4096 ? 1 : 4096 / (c + 1) + 1; }

sd_tensor *sd_layer_norm(const sd_tensor *x, int nnorm, const sd_tensor *weight,
                         const sd_tensor *bias, double eps, sd_tensor **mean, sd_tensor **invstd) {
  job j = {.eps = eps};
  if (ln_check("layer_norm", x, nnorm, weight, bias, &j) != SD_OK) return NULL;
  sd_tensor *xc = sd_contiguous(x), *out = sd_empty(x->dtype, x->ndim, x->shape);
  sd_tensor *wc = weight ? sd_contiguous(weight) : NULL, *bc = bias ? sd_contiguous(bias) : NULL;
  sd_tensor *mu = sd_empty(x->dtype, 1, &j.n), *is = sd_empty(x->dtype, 1, &j.n);
  if (!xc || !out || (weight && !wc) || (bias && !bc) || !mu || !is) {
    sd_release(xc); sd_release(out); sd_release(wc); sd_release(bc); sd_release(mu); sd_release(is);
    return NULL;
  }
  j.x = sd_data(xc);
  j.out = sd_data(out);
  j.w = wc ? sd_data(wc) : NULL;
  j.b = bc ? sd_data(bc) : NULL;
  j.omean = sd_data(mu);
  j.oinvstd = sd_data(is);
  sd_parallel_for(j.n, ln_grain(j.c), ln_task, &j);
  sd_release(xc); sd_release(wc); sd_release(bc);
  *mean = mu;
  *invstd = is;
  return out;
}

SD_INLINE void ln_back_row(const job *j, int64_t r, bool d) {
  size_t es = d ? 8 : 4;
  const char *x = j->x + r * j->c * es, *g = j->gout + r * j->c * es;
  char *gx = j->gx + r * j->c * es;
  double mean = ld(j->mean, r, d), invstd = ld(j->invstd, r, d), a = 0, b = 0;
  for (int64_t i = 0; i < j->c; i++) {
    double gh = ld(g, i, d) * (j->w ? ld(j->w, i, d) : 1);
    a += gh;
    b += gh * (ld(x, i, d) - mean) * invstd;
  }
  double n = (double)j->c;
  for (int64_t i = 0; i < j->c; i++) {
    double gh = ld(g, i, d) * (j->w ? ld(j->w, i, d) : 1);
    st(gx, i, invstd * (gh - a / n - (ld(x, i, d) - mean) * invstd * b / n), d);
  }
}

static void ln_back_task(int64_t r0, int64_t r1, void *p) {
  const job *j = p;
  for (int64_t r = r0; r < r1; r++) {
    if (j->d) ln_back_row(j, r, true);
    else ln_back_row(j, r, false);
  }
}

/* gw, gb over columns [c0, c1): each column summed over rows in order. */
SD_INLINE void ln_param_cols(const job *j, int64_t c0, int64_t c1, bool d) {
  double sw[256], sb[256];
  for (int64_t k0 = c0; k0 < c1; k0 += 256) {
    int64_t k1 = k0 + 256 < c1 ? k0 + 256 : c1;
    memset(sw, 0, sizeof sw);
    memset(sb, 0, sizeof sb);
    for (int64_t r = 0; r < j->n; r++) {
      double mean = ld(j->mean, r, d), invstd = ld(j->invstd, r, d);
      for (int64_t i = k0; i < k1; i++) {
        double g = ld(j->gout, r * j->c + i, d);
        sw[i - k0] += g * (ld(j->x, r * j->c + i, d) - mean) * invstd;
        sb[i - k0] += g;
      }
    }
    for (int64_t i = k0; i < k1; i++) {
      if (j->gw) st(j->gw, i, sw[i - k0], d);
      if (j->gb) st(j->gb, i, sb[i - k0], d);
    }
  }
}

static void ln_param_task(int64_t c0, int64_t c1, void *p) {
  const job *j = p;
  if (j->d) ln_param_cols(j, c0, c1, true);
  else ln_param_cols(j, c0, c1, false);
}

sd_status sd_layer_norm_backward(const sd_tensor *gout, const sd_tensor *x, int nnorm,
                                 const sd_tensor *weight, const sd_tensor *mean,
                                 const sd_tensor *invstd, sd_tensor **gx, sd_tensor **gw,
                                 sd_tensor **gb) {
  job j = {0};
  if (ln_check("layer_norm_backward", x, nnorm, weight, NULL, &j) != SD_OK) return SD_ESHAPE;
  if (grad_shape("layer_norm_backward", gout, x)) return SD_ESHAPE;
  bufs b;
  if (bufs_make(&b, &j, gout, x, weight, mean, invstd, j.c, gx, gw, gb)) return SD_EMEM;
  if (gx) sd_parallel_for(j.n, ln_grain(j.c), ln_back_task, &j);
  if (gw || gb) sd_parallel_for(j.c, 256, ln_param_task, &j);
  give(&b, nnorm, x->shape + x->ndim - nnorm, gx, gw, gb); /* the normalised dims' shape */
  return SD_OK;
}
