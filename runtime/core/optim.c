/* optim.c: fused optimizer updates (see optim.h). The loops read like
   PyTorch's single-tensor updates, one element at a time, so the results
   equal the unfused sequence of in-place ops; threads split the element
   range, which keeps them bitwise independent of the thread count. */
#include "optim.h"
#include "parallel.h"
#include <math.h>

static sd_status check(const char *fn, sd_tensor *const *ts, int n) {
  for (int i = 0; i < n; i++) {
    const sd_tensor *t = ts[i];
    if (!t) continue;
    if (!sd_dtype_is_float(t->dtype) || t->dtype != ts[0]->dtype)
      return sd_error(SD_EARG, "%s: tensors must share a float dtype (got %s and %s)", fn,
                      sd_dtype_name(ts[0]->dtype), sd_dtype_name(t->dtype));
    if (!sd_same_shape(t, ts[0])) {
      char a[64], b[64];
      return sd_error(SD_ESHAPE, "%s: shapes %s and %s differ", fn, sd_shape_str(ts[0], a, sizeof a),
                      sd_shape_str(t, b, sizeof b));
    }
    if (!sd_is_contiguous(t)) return sd_error(SD_EARG, "%s: argument %d is not contiguous", fn, i + 1);
  }
  return SD_OK;
}

/* --- SGD --- */

typedef struct {
  void *p, *g, *buf;
  double lr, momentum, dampening, wd;
  bool nesterov, first;
} sgd_args;

#define SGD_LOOP(T)                                                         \
  do {                                                                      \
    T *p = a->p, *g = a->g, *buf = a->buf;                                  \
    T lr = (T)a->lr, mom = (T)a->momentum, damp = (T)(1 - a->dampening);    \
    T wd = (T)a->wd;                                                        \
    for (int64_t i = b; i < e; i++) {                                       \
      T d = g[i];                                                           \
      if (wd != 0) d = d + wd * p[i];                                       \
      if (buf) {                                                            \
        buf[i] = a->first ? d : buf[i] * mom + damp * d;                    \
        d = a->nesterov ? d + mom * buf[i] : buf[i];                        \
      }                                                                     \
      p[i] = p[i] + (-lr) * d;                                              \
    }                                                                       \
  } while (0)

static void sgd_f32(int64_t b, int64_t e, void *ctx) { sgd_args *a = ctx; SGD_LOOP(float); }
static void sgd_f64(int64_t b, int64_t e, void *ctx) { sgd_args *a = ctx; SGD_LOOP(double); }

sd_status sd_sgd_step_(sd_tensor *p, const sd_tensor *g, sd_tensor *buf, double lr, double momentum,
                       double dampening, double wd, bool nesterov, bool first) {
  sd_tensor *ts[3] = {p, (sd_tensor *)g, momentum != 0 ? buf : NULL};
  if (momentum != 0 && !buf) return sd_error(SD_EARG, "sgd_step_: momentum needs a buffer");
  sd_status st = check("sgd_step_", ts, 3);
  if (st != SD_OK) return st;
  sgd_args a = {sd_data(p), sd_data(g), ts[2] ? sd_data(buf) : NULL, lr, momentum, dampening, wd,
                nesterov, first};
  sd_parallel_for(sd_numel(p), 1 << 15, p->dtype == SD_F32 ? sgd_f32 : sgd_f64, &a);
  sd_bump_version(p);
  if (ts[2]) sd_bump_version(buf);
  return SD_OK;
}

/* --- Adam / AdamW --- */

typedef struct {
  void *p, *g, *m, *v;
  double decay, wd, b1, b2, step_size, bc2_sqrt, eps;
} adam_args;

#define ADAM_LOOP(T)                                                                \
  do {                                                                              \
    T *p = a->p, *g = a->g, *m = a->m, *v = a->v;                                   \
    T decay = (T)a->decay, wd = (T)a->wd, b1 = (T)a->b1, b2 = (T)a->b2;             \
    T c1 = (T)(1 - a->b1), c2 = (T)(1 - a->b2);                                     \
    T step = (T)(-a->step_size), bc2 = (T)a->bc2_sqrt, eps = (T)a->eps;             \
    for (int64_t i = b; i < e; i++) {                                               \
      T pi = p[i] * decay, gi = g[i];                                               \
      if (wd != 0) gi = gi + wd * pi;                                               \
      m[i] = m[i] * b1 + c1 * gi;                                                   \
      v[i] = v[i] * b2 + c2 * gi * gi;                                              \
      T denom = sqrt(v[i]) / bc2 + eps;                                             \
      p[i] = pi + step * m[i] / denom;                                              \
    }                                                                               \
  } while (0)

static void adam_f32(int64_t b, int64_t e, void *ctx) { adam_args *a = ctx; ADAM_LOOP(float); }
static void adam_f64(int64_t b, int64_t e, void *ctx) { adam_args *a = ctx; ADAM_LOOP(double); }

sd_status sd_adam_step_(sd_tensor *p, const sd_tensor *g, sd_tensor *m, sd_tensor *v, int64_t step,
                        double lr, double b1, double b2, double eps, double wd, bool decoupled) {
  sd_tensor *ts[4] = {p, (sd_tensor *)g, m, v};
  sd_status st = check("adam_step_", ts, 4);
  if (st != SD_OK) return st;
  if (step < 1) return sd_error(SD_EARG, "adam_step_: step must be >= 1 (got %lld)", (long long)step);
  adam_args a = {sd_data(p), sd_data(g), sd_data(m), sd_data(v),
                 decoupled ? 1 - lr * wd : 1, decoupled ? 0 : wd, b1, b2,
                 lr / (1 - pow(b1, (double)step)), sqrt(1 - pow(b2, (double)step)), eps};
  sd_parallel_for(sd_numel(p), 1 << 14, p->dtype == SD_F32 ? adam_f32 : adam_f64, &a);
  sd_bump_version(p);
  sd_bump_version(m);
  sd_bump_version(v);
  return SD_OK;
}
