/* attack.c: the fused L-inf step of PGD (see attack.h). Elementwise, so
   the result does not depend on how the range is split between threads. */
#include "attack.h"
#include "../core/parallel.h"

typedef struct {
  void *adv;
  const void *x, *g;
  double alpha, eps, lo, hi;
  bool clip;
} step_ctx;

static inline double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline double signd(double v) { return (double)((v > 0) - (v < 0)); }

static void step_f32(int64_t begin, int64_t end, void *p) {
  step_ctx *c = p;
  float *a = c->adv;
  const float *x = c->x, *g = c->g;
  float alpha = (float)c->alpha, eps = (float)c->eps, lo = (float)c->lo, hi = (float)c->hi;
  for (int64_t i = begin; i < end; i++) {
    float s = (float)((g[i] > 0) - (g[i] < 0));
    float d = a[i] + alpha * s - x[i];
    d = d < -eps ? -eps : d > eps ? eps : d;
    float v = x[i] + d;
    if (c->clip) v = v < lo ? lo : v > hi ? hi : v;
    a[i] = v;
  }
}

static void step_f64(int64_t begin, int64_t end, void *p) {
  step_ctx *c = p;
  double *a = c->adv;
  const double *x = c->x, *g = c->g;
  for (int64_t i = begin; i < end; i++) {
    double v = x[i] + clampd(a[i] + c->alpha * signd(g[i]) - x[i], -c->eps, c->eps);
    a[i] = c->clip ? clampd(v, c->lo, c->hi) : v;
  }
}

sd_status sd_attack_linf_step(sd_tensor *adv, const sd_tensor *x, const sd_tensor *g,
                              double alpha, double eps, bool clip, double lo, double hi) {
  if (!sd_same_shape(adv, x) || !sd_same_shape(adv, g))
    return sd_error(SD_ESHAPE, "linf_step: adv, x and g must have one shape");
  if (adv->dtype != x->dtype || adv->dtype != g->dtype || (adv->dtype != SD_F32 && adv->dtype != SD_F64))
    return sd_error(SD_EARG, "linf_step: adv, x and g must share one float dtype (f32 or f64)");
  if (!sd_is_contiguous(adv) || !sd_is_contiguous(x) || !sd_is_contiguous(g))
    return sd_error(SD_EARG, "linf_step: adv, x and g must be contiguous");
  if (!(eps >= 0)) return sd_error(SD_EARG, "linf_step: eps must be >= 0, got %g", eps);
  step_ctx c = {sd_data(adv), sd_data(x), sd_data(g), alpha, eps, lo, hi, clip};
  sd_parallel_for(sd_numel(adv), 1 << 14, adv->dtype == SD_F32 ? step_f32 : step_f64, &c);
  return SD_OK;
}
