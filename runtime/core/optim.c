/* optim.c: fused optimizer updates (see optim.h). The loops read like
   PyTorch's single-tensor updates, one element at a time, so the results
   equal the unfused sequence of in-place ops. The gradient may have any
   strides (a transposed weight gradient is common): sd_foreach walks the
   operands together, and contiguous runs take the vectorized loop. */
#include "optim.h"
#include "ops_simd.h"

static sd_status check(const char *fn, sd_tensor *const *ts, int n) {
  for (int i = 0; i < n; i++) {
    const sd_tensor *t = ts[i];
    if (!sd_dtype_is_float(t->dtype) || t->dtype != ts[0]->dtype)
      return sd_error(SD_EARG, "%s: tensors must share a float dtype (got %s and %s)", fn,
                      sd_dtype_name(ts[0]->dtype), sd_dtype_name(t->dtype));
    if (!sd_same_shape(t, ts[0])) {
      char a[64], b[64];
      return sd_error(SD_ESHAPE, "%s: shapes %s and %s differ", fn, sd_shape_str(ts[0], a, sizeof a),
                      sd_shape_str(t, b, sizeof b));
    }
    if (i != 1 && !sd_is_contiguous(t)) /* state written in place: no overlap allowed */
      return sd_error(SD_EARG, "%s: argument %d is not contiguous", fn, i + 1);
  }
  return SD_OK;
}

static bool dense(const int64_t *bstride, int nop, int64_t size) {
  for (int i = 0; i < nop; i++)
    if (bstride[i] != size) return false;
  return true;
}

/* --- SGD --- */

typedef struct {
  double lr, momentum, dampening, wd;
  bool nesterov, first, has_buf;
} sgd_args;

/* One element: p, g and buf (when momentum is used) as T. */
#define SGD_ELEM(T, p, g, buf)                                   \
  do {                                                           \
    T d = (g);                                                   \
    if (wd != 0) d = d + wd * (p);                               \
    if (a->has_buf) {                                            \
      (buf) = a->first ? d : (buf) * mom + damp * d;             \
      d = a->nesterov ? d + mom * (buf) : (buf);                 \
    }                                                            \
    (p) = (p) + (-lr) * d;                                       \
  } while (0)

#define SGD_RUN(T)                                                                       \
  const sgd_args *a = ctx;                                                               \
  T lr = (T)a->lr, mom = (T)a->momentum, damp = (T)(1 - a->dampening), wd = (T)a->wd;   \
  int nop = a->has_buf ? 3 : 2;                                                          \
  T dummy = 0;                                                                           \
  if (dense(bs, nop, sizeof(T))) {                                                       \
    T *p = (T *)ptr[0], *g = (T *)ptr[1], *buf = a->has_buf ? (T *)ptr[2] : &dummy;      \
    int64_t bstep = a->has_buf;                                                          \
    for (int64_t i = 0; i < n; i++) SGD_ELEM(T, p[i], g[i], buf[i * bstep]);             \
  } else {                                                                               \
    for (int64_t i = 0; i < n; i++) {                                                    \
      T *p = (T *)(ptr[0] + i * bs[0]), *g = (T *)(ptr[1] + i * bs[1]);                  \
      T *buf = a->has_buf ? (T *)(ptr[2] + i * bs[2]) : &dummy;                          \
      SGD_ELEM(T, *p, *g, *buf);                                                         \
    }                                                                                    \
  }

SD_KERNEL static void sgd_f32(char **ptr, const int64_t *bs, int64_t n, void *ctx) { SGD_RUN(float) }
SD_KERNEL static void sgd_f64(char **ptr, const int64_t *bs, int64_t n, void *ctx) { SGD_RUN(double) }

sd_status sd_sgd_step_(sd_tensor *p, const sd_tensor *g, sd_tensor *buf, double lr, double momentum,
                       double dampening, double wd, bool nesterov, bool first) {
  bool has_buf = momentum != 0;
  if (has_buf && !buf) return sd_error(SD_EARG, "sgd_step_: momentum needs a buffer");
  sd_tensor *ts[3] = {p, (sd_tensor *)g, buf};
  sd_status st = check("sgd_step_", ts, has_buf ? 3 : 2);
  if (st != SD_OK) return st;
  sgd_args a = {lr, momentum, dampening, wd, nesterov, first, has_buf};
  st = sd_foreach(has_buf ? 3 : 2, ts, p->dtype == SD_F32 ? sgd_f32 : sgd_f64, &a);
  if (st != SD_OK) return st;
  sd_bump_version(p);
  if (has_buf) sd_bump_version(buf);
  return SD_OK;
}

/* --- Adam / AdamW --- */

typedef struct {
  double decay, wd, b1, b2, step_size, bc2_sqrt, eps;
} adam_args;

#define ADAM_ELEM(T, SQRT, p, g, m, v)                   \
  do {                                                   \
    T pi = (p) * decay, gi = (g);                        \
    if (wd != 0) gi = gi + wd * pi;                      \
    (m) = (m) * b1 + c1 * gi;                            \
    (v) = (v) * b2 + c2 * gi * gi;                       \
    T denom = SQRT(v) / bc2 + eps;                       \
    (p) = pi + step * (m) / denom;                       \
  } while (0)

#define ADAM_RUN(T, SQRT)                                                                      \
  const adam_args *a = ctx;                                                                    \
  T decay = (T)a->decay, wd = (T)a->wd, b1 = (T)a->b1, b2 = (T)a->b2;                          \
  T c1 = (T)(1 - a->b1), c2 = (T)(1 - a->b2);                                                  \
  T step = (T)(-a->step_size), bc2 = (T)a->bc2_sqrt, eps = (T)a->eps;                          \
  if (dense(bs, 4, sizeof(T))) {                                                               \
    T *p = (T *)ptr[0], *g = (T *)ptr[1], *m = (T *)ptr[2], *v = (T *)ptr[3];                  \
    for (int64_t i = 0; i < n; i++) ADAM_ELEM(T, SQRT, p[i], g[i], m[i], v[i]);                \
  } else {                                                                                     \
    for (int64_t i = 0; i < n; i++)                                                            \
      ADAM_ELEM(T, SQRT, *(T *)(ptr[0] + i * bs[0]), *(T *)(ptr[1] + i * bs[1]),               \
                *(T *)(ptr[2] + i * bs[2]), *(T *)(ptr[3] + i * bs[3]));                       \
  }

SD_KERNEL static void adam_f32(char **ptr, const int64_t *bs, int64_t n, void *ctx) { ADAM_RUN(float, sqrtf) }
SD_KERNEL static void adam_f64(char **ptr, const int64_t *bs, int64_t n, void *ctx) { ADAM_RUN(double, sqrt) }

sd_status sd_adam_step_(sd_tensor *p, const sd_tensor *g, sd_tensor *m, sd_tensor *v, int64_t step,
                        double lr, double b1, double b2, double eps, double wd, bool decoupled) {
  sd_tensor *ts[4] = {p, (sd_tensor *)g, m, v};
  sd_status st = check("adam_step_", ts, 4);
  if (st != SD_OK) return st;
  if (step < 1) return sd_error(SD_EARG, "adam_step_: step must be >= 1 (got %lld)", (long long)step);
  adam_args a = {decoupled ? 1 - lr * wd : 1, decoupled ? 0 : wd, b1, b2,
                 lr / (1 - pow(b1, (double)step)), sqrt(1 - pow(b2, (double)step)), eps};
  st = sd_foreach(4, ts, p->dtype == SD_F32 ? adam_f32 : adam_f64, &a);
  if (st != SD_OK) return st;
  sd_bump_version(p);
  sd_bump_version(m);
  sd_bump_version(v);
  return SD_OK;
}
