/* loss.c: the classification losses over class targets, fused:
   cross_entropy (log_softmax, then the weighted nll with label smoothing)
   and nll_loss, with their backward kernels.

   With log-probabilities l = log_softmax(x), class weights w (1 without),
   target t and smoothing e over C classes, row i costs
     nll_i = -w[t] l[t],   smooth_i = -sum_j w[j] l[j],
     loss_i = (1 - e) nll_i + e / C smooth_i,
   a row whose target is ignore_index costing 0. "mean" divides the sum by
   sum_i w[t_i] over the rows not ignored (their count without weights), as
   PyTorch 1.13 does. Rows are split over threads; the reduction sums them
   in order. */
#include "nn_impl.h"
#include "parallel.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sd_reduction_names[] = {"none", "mean", "sum", "batchmean", NULL};

typedef struct {
  int64_t n, c;
  bool d, smooth;
  const char *x, *w, *gout;
  const int64_t *t;
  char *gx;
  double *nll, *wt, *sm; /* per row: nll_i, w[t_i], smooth_i */
  double *ga, *gb;       /* per row in backward: the coefficients alpha_i, beta_i */
  double wsum;           /* sum of the class weights */
} job;

static sd_status check(const char *fn, const sd_tensor *x, const sd_tensor *target,
                       const sd_class_loss_args *a, job *j) {
  char xs[128], ts[128];
  sd_shape_str(x, xs, sizeof xs);
  sd_shape_str(target, ts, sizeof ts);
  if (sd_nn_float(fn, "input", x)) return SD_EARG;
  if (x->ndim != 2 && x->ndim != 1)
    return sd_error(SD_ESHAPE, "%s: input must be [N, C] or [C], got %s", fn, xs);
  if (target->dtype != SD_I64 && target->dtype != SD_I32)
    return sd_error(SD_EARG, "%s: target must hold integer class indices (i64), got %s", fn,
                    sd_dtype_name(target->dtype));
  if (target->ndim != x->ndim - 1 || (x->ndim == 2 && target->shape[0] != x->shape[0]))
    return sd_error(SD_ESHAPE, "%s: target %s does not match input %s (expected [%lld])", fn, ts,
                    xs, (long long)(x->ndim == 2 ? x->shape[0] : 0));
  j->n = x->ndim == 2 ? x->shape[0] : 1;
  j->c = x->shape[x->ndim - 1];
  j->d = x->dtype == SD_F64;
  if (a->weight && (a->weight->ndim != 1 || a->weight->shape[0] != j->c ||
                    !sd_dtype_is_float(a->weight->dtype))) {
    char ws[128];
    return sd_error(SD_ESHAPE, "%s: weight must be a float [%lld] (one per class), got %s", fn,
                    (long long)j->c, sd_shape_str(a->weight, ws, sizeof ws));
  }
  if (a->reduction > SD_REDUCE_SUM)
    return sd_error(SD_EARG, "%s: reduction must be none, mean or sum", fn);
  if (a->label_smoothing < 0 || a->label_smoothing > 1)
    return sd_error(SD_EARG, "%s: label_smoothing must be in [0, 1], got %g", fn, a->label_smoothing);
  return SD_OK;
}

/* Dense operands: targets as i64 (validated), weights in x's dtype. */
typedef struct { sd_tensor *x, *t, *w, *g; double *scratch; } ops;

static void ops_free(ops *o) {
  sd_release(o->x); sd_release(o->t); sd_release(o->w); sd_release(o->g);
  free(o->scratch);
}

static sd_status ops_make(const char *fn, ops *o, job *j, const sd_tensor *x,
                          const sd_tensor *target, const sd_tensor *gout,
                          const sd_class_loss_args *a) {
  *o = (ops){0};
  o->x = sd_contiguous(x);
  o->t = sd_nn_dense(target, SD_I64);
  o->w = a->weight ? sd_nn_dense(a->weight, x->dtype) : NULL;
  o->g = gout ? sd_nn_dense(gout, x->dtype) : NULL;
  o->scratch = malloc(5 * (size_t)(j->n ? j->n : 1) * sizeof(double));
  if (!o->x || !o->t || (a->weight && !o->w) || (gout && !o->g) || !o->scratch) {
    ops_free(o);
    return sd_error(SD_EMEM, "%s: out of memory", fn);
  }
  j->x = sd_data(o->x);
  j->t = sd_data(o->t);
  j->w = o->w ? sd_data(o->w) : NULL;
  j->gout = o->g ? sd_data(o->g) : NULL;
  j->nll = o->scratch;
  j->wt = j->nll + j->n;
  j->sm = j->wt + j->n;
  j->ga = j->sm + j->n;
  j->gb = j->ga + j->n;
  for (int64_t i = 0; i < j->n; i++) {
    int64_t t = j->t[i];
    if (a->has_ignore && t == a->ignore_index) continue;
    if (t < 1 || t > j->c) {
      ops_free(o);
      return sd_error(SD_EARG, "%s: target %lld is out of range for %lld classes (1-based)", fn,
                      (long long)t, (long long)j->c);
    }
  }
  j->wsum = 0;
  for (int64_t k = 0; k < j->c; k++) j->wsum += j->w ? ld(j->w, k, j->d) : 1;
  return SD_OK;
}

static bool ignored(const sd_class_loss_args *a, int64_t t) {
  return a->has_ignore && t == a->ignore_index;
}

/* --- cross_entropy --- */

typedef struct { job *j; const sd_class_loss_args *a; bool logits; } ctx;

/* Row i's log-sum-exp (0 for log-probabilities, taken as given). */
SD_INLINE double row_lse(const char *x, int64_t c, bool d) {
  double m = -INFINITY, s = 0;
  for (int64_t k = 0; k < c; k++) {
    double v = ld(x, k, d);
    if (v > m) m = v;
  }
  if (isinf(m)) return m;
  for (int64_t k = 0; k < c; k++) s += exp(ld(x, k, d) - m);
  return m + log(s);
}

SD_INLINE void fwd_rows(const ctx *cx, int64_t r0, int64_t r1, bool d) {
  const job *j = cx->j;
  for (int64_t i = r0; i < r1; i++) {
    const char *x = j->x + i * j->c * (d ? 8 : 4);
    int64_t t = j->t[i];
    if (ignored(cx->a, t)) { j->nll[i] = j->wt[i] = j->sm[i] = 0; continue; }
    double lse = cx->logits ? row_lse(x, j->c, d) : 0;
    double wt = j->w ? ld(j->w, t - 1, d) : 1;
    j->wt[i] = wt;
    j->nll[i] = -wt * (ld(x, t - 1, d) - lse);
    double sm = 0;
    if (j->smooth)
      for (int64_t k = 0; k < j->c; k++) sm -= (j->w ? ld(j->w, k, d) : 1) * (ld(x, k, d) - lse);
    j->sm[i] = sm;
  }
}

static void fwd_task(int64_t r0, int64_t r1, void *p) {
  const ctx *cx = p;
  if (cx->j->d) fwd_rows(cx, r0, r1, true);
  else fwd_rows(cx, r0, r1, false);
}

static int64_t grain(int64_t c) { return c >= 4096 ? 1 : 4096 / (c + 1) + 1; }

/* Sums over rows (in order) for the mean's denominators. */
static void totals(const job *j, double *wt, double *nll, double *sm) {
  *wt = *nll = *sm = 0;
  for (int64_t i = 0; i < j->n; i++) { *wt += j->wt[i]; *nll += j->nll[i]; *sm += j->sm[i]; }
}

static sd_tensor *class_loss(const char *fn, const sd_tensor *x, const sd_tensor *target,
                             const sd_class_loss_args *a, bool logits) {
  job j = {0};
  ops o;
  if (check(fn, x, target, a, &j) != SD_OK || ops_make(fn, &o, &j, x, target, NULL, a) != SD_OK)
    return NULL;
  double e = logits ? a->label_smoothing : 0;
  j.smooth = e > 0;
  ctx cx = {&j, a, logits};
  sd_parallel_for(j.n, grain(j.c), fwd_task, &cx);
  sd_tensor *out;
  if (a->reduction == SD_REDUCE_NONE) {
    out = sd_empty(x->dtype, x->ndim - 1, x->shape);
    if (out)
      for (int64_t i = 0; i < j.n; i++)
        st(sd_data(out), i, (1 - e) * j.nll[i] + e / (double)j.c * j.sm[i], j.d);
  } else {
    double wt, nll, sm, v;
    totals(&j, &wt, &nll, &sm);
    if (a->reduction == SD_REDUCE_SUM) v = (1 - e) * nll + e / (double)j.c * sm;
    else v = ((1 - e) * nll + e / (double)j.c * sm) / wt;
    out = sd_scalar(x->dtype, v);
  }
  ops_free(&o);
  return out;
}

sd_tensor *sd_cross_entropy(const sd_tensor *logits, const sd_tensor *target,
                            const sd_class_loss_args *a) {
  return class_loss("cross_entropy", logits, target, a, true);
}

sd_tensor *sd_nll_loss(const sd_tensor *logp, const sd_tensor *target, const sd_class_loss_args *a) {
  return class_loss("nll_loss", logp, target, a, false);
}

/* --- backward ---
   With alpha_i, beta_i the weights of row i's nll and smoothing parts in
   the loss, d loss / d x[i, k] is
     logits: p_k (alpha_i + beta_i W) - alpha_i [k = t] - beta_i w[k]   (W = sum w)
     log-probabilities: -alpha_i [k = t]. */

SD_INLINE void back_rows(const ctx *cx, int64_t r0, int64_t r1, bool d) {
  const job *j = cx->j;
  for (int64_t i = r0; i < r1; i++) {
    const char *x = j->x + i * j->c * (d ? 8 : 4);
    char *gx = j->gx + i * j->c * (d ? 8 : 4);
    double al = j->ga[i], be = j->gb[i];
    int64_t t = j->t[i];
    if (!cx->logits) {
      for (int64_t k = 0; k < j->c; k++) st(gx, k, 0, d);
      if (!ignored(cx->a, t)) st(gx, t - 1, -al, d);
      continue;
    }
    double lse = row_lse(x, j->c, d), s = al + be * j->wsum;
    for (int64_t k = 0; k < j->c; k++)
      st(gx, k, exp(ld(x, k, d) - lse) * s - be * (j->w ? ld(j->w, k, d) : 1), d);
    if (!ignored(cx->a, t)) st(gx, t - 1, ld(gx, t - 1, d) - al, d);
  }
}

static void back_task(int64_t r0, int64_t r1, void *p) {
  const ctx *cx = p;
  if (cx->j->d) back_rows(cx, r0, r1, true);
  else back_rows(cx, r0, r1, false);
}

static sd_tensor *class_loss_backward(const char *fn, const sd_tensor *gout, const sd_tensor *x,
                                      const sd_tensor *target, const sd_class_loss_args *a,
                                      bool logits) {
  job j = {0};
  ops o;
  if (check(fn, x, target, a, &j) != SD_OK) return NULL;
  int64_t want = a->reduction == SD_REDUCE_NONE ? j.n : 1;
  if (sd_numel(gout) != want || !sd_dtype_is_float(gout->dtype)) {
    char gs[128];
    sd_error(SD_ESHAPE, "%s: gradient %s does not match the loss", fn, sd_shape_str(gout, gs, sizeof gs));
    return NULL;
  }
  if (ops_make(fn, &o, &j, x, target, gout, a) != SD_OK) return NULL;
  sd_tensor *gx = sd_empty(x->dtype, x->ndim, x->shape);
  if (!gx) { ops_free(&o); return NULL; }
  double e = logits ? a->label_smoothing : 0, wt = 0;
  for (int64_t i = 0; i < j.n; i++)
    if (!ignored(a, j.t[i])) wt += j.w ? ld(j.w, j.t[i] - 1, j.d) : 1;
  for (int64_t i = 0; i < j.n; i++) {
    double g = ld(j.gout, a->reduction == SD_REDUCE_NONE ? i : 0, j.d);
    if (a->reduction == SD_REDUCE_MEAN) g /= wt;
    bool ig = ignored(a, j.t[i]);
    j.ga[i] = ig ? 0 : g * (1 - e) * (j.w ? ld(j.w, j.t[i] - 1, j.d) : 1);
    j.gb[i] = ig ? 0 : g * e / (double)j.c;
  }
  j.gx = sd_data(gx);
  ctx cx = {&j, a, logits};
  sd_parallel_for(j.n, grain(j.c), back_task, &cx);
  ops_free(&o);
  return gx;
}

sd_tensor *sd_cross_entropy_backward(const sd_tensor *gout, const sd_tensor *logits,
                                     const sd_tensor *target, const sd_class_loss_args *a) {
  return class_loss_backward("cross_entropy_backward", gout, logits, target, a, true);
}

sd_tensor *sd_nll_loss_backward(const sd_tensor *gout, const sd_tensor *logp,
                                const sd_tensor *target, const sd_class_loss_args *a) {
  return class_loss_backward("nll_loss_backward", gout, logp, target, a, false);
}
