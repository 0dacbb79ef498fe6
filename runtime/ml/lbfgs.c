/* lbfgs.c: limited-memory BFGS with a strong Wolfe line search.

   The two-loop recursion (Nocedal & Wright, Algorithm 7.4) with the
   initial matrix gamma I, gamma = s'y / y'y of the newest pair; pairs with
   s'y <= eps y'y are skipped so the matrix stays positive definite. The
   line search brackets a step and zooms with safeguarded cubic
   interpolation (Algorithms 3.5 and 3.6). Stopping rules and constants
   follow scipy's L-BFGS-B, so a fit stops where scikit-learn's does. */
#include "probe.h"
#include <float.h>
#include <math.h>
#include <string.h>

#define C1 1e-3 /* sufficient decrease */
#define C2 0.9  /* curvature */

void sd_lbfgs_defaults(sd_lbfgs_opts *o) {
  o->m = 10;
  o->max_iter = 100;
  o->max_ls = 20;
  o->gtol = 1e-5;
  o->ftol = 2.220446049250313e-09;
  o->refine = NULL;
}

const char *sd_lbfgs_stop_name(sd_lbfgs_stop s) {
  switch (s) {
  case SD_LBFGS_GTOL: return "gradient below gtol";
  case SD_LBFGS_FTOL: return "relative decrease below ftol";
  case SD_LBFGS_MAXITER: return "max_iter reached";
  default: return "line search failed";
  }
}

static double dot(int64_t n, const double *a, const double *b) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static double amax(int64_t n, const double *g) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(g[i]));
  return m;
}

/* The line w + a d. Trials go to wt, gt; the best point satisfying
   sufficient decrease so far is kept in wb, gb. */
typedef struct {
  int64_t n;
  sd_lbfgs_fn fn;
  void *ctx;
  const double *w, *d;
  double *wt, *gt, *wb, *gb;
  int n_eval;
} line;

static sd_status trial(line *l, double a, double *f, double *slope) {
  for (int64_t i = 0; i < l->n; i++) l->wt[i] = l->w[i] + a * l->d[i];
  l->n_eval++;
  sd_status st = l->fn(l->wt, f, l->gt, l->ctx);
  *slope = dot(l->n, l->gt, l->d);
  return st;
}

static void keep_best(line *l) {
  memcpy(l->wb, l->wt, (size_t)l->n * sizeof(double));
  memcpy(l->gb, l->gt, (size_t)l->n * sizeof(double));
}

/* A trial step inside the bracket [lo, hi]: the minimiser of the cubic
   through both ends (a quadratic when hi's slope is unknown), kept 10% away
   from the ends, else the midpoint. */
static double interpolate(double alo, double flo, double dlo, double ahi, double fhi,
                          double dhi) {
  double lo = fmin(alo, ahi), hi = fmax(alo, ahi), w = hi - lo, x = NAN;
  if (isfinite(fhi) && isfinite(dhi)) {
    double d1 = dlo + dhi - 3 * (flo - fhi) / (alo - ahi), d2sq = d1 * d1 - dlo * dhi;
    if (d2sq >= 0) {
      double d2 = copysign(sqrt(d2sq), ahi - alo);
      x = ahi - (ahi - alo) * (dhi + d2 - d1) / (dhi - dlo + 2 * d2);
    }
  } else if (isfinite(fhi)) {
    double h = ahi - alo;
    x = alo - dlo * h * h / (2 * (fhi - flo - dlo * h));
  }
  if (!(x >= lo + 0.1 * w && x <= hi - 0.1 * w)) x = 0.5 * (alo + ahi);
  return x;
}

/* A step a > 0 with f(w + a d) <= f0 + C1 a dphi0 and |slope| <= C2 |dphi0|;
   on success the point is in wt, gt, its value in *fa, and *ok = 2. When
   the evaluations run out, the best decreasing point found (*ok = 1), or
   none (*ok = 0). */
static sd_status search(line *l, double f0, double dphi0, double a, int max_ls, double *fa,
                        int *ok) {
  double alo = 0, flo = f0, dlo = dphi0, ahi = 0, fhi = 0, dhi = 0, fbest = f0, f, s;
  int evals = 0, bracketed = 0, best = 0;
  *ok = 0;
  while (evals < max_ls) {
    sd_status st = trial(l, a, &f, &s);
    if (st != SD_OK) return st;
    evals++;
    if (!isfinite(f) || !isfinite(s) || f > f0 + C1 * a * dphi0 || (evals > 1 && f >= flo)) {
      ahi = a, fhi = f, dhi = s, bracketed = 1;
      break;
    }
    keep_best(l), best = 1, fbest = f;
    if (fabs(s) <= -C2 * dphi0) goto accept;
    if (s >= 0) {
      ahi = alo, fhi = flo, dhi = dlo, alo = a, flo = f, dlo = s, bracketed = 1;
      break;
    }
    double next = a + 2 * (a - alo);
    alo = a, flo = f, dlo = s, a = next;
  }
  while (bracketed && evals < max_ls && fabs(ahi - alo) > 4 * DBL_EPSILON * fabs(ahi)) {
    a = interpolate(alo, flo, dlo, ahi, fhi, dhi);
    sd_status st = trial(l, a, &f, &s);
    if (st != SD_OK) return st;
    evals++;
    if (!isfinite(f) || !isfinite(s) || f > f0 + C1 * a * dphi0 || f >= flo) {
      ahi = a, fhi = f, dhi = s;
      continue;
    }
    keep_best(l), best = 1, fbest = f;
    if (fabs(s) <= -C2 * dphi0) goto accept;
    if (s * (ahi - alo) >= 0) ahi = alo, fhi = flo, dhi = dlo;
    alo = a, flo = f, dlo = s;
  }
  if (best) {
    memcpy(l->wt, l->wb, (size_t)l->n * sizeof(double));
    memcpy(l->gt, l->gb, (size_t)l->n * sizeof(double));
    *fa = fbest, *ok = 1;
  }
  return SD_OK;
accept:
  *fa = f, *ok = 2;
  return SD_OK;
}

/* f and g at w again, after the objective was refined */
static sd_status reevaluate(line *l, const double *w, double *f, double *g) {
  l->n_eval++;
  sd_status st = l->fn(w, f, g, l->ctx);
  if (st == SD_OK && !isfinite(*f))
    st = sd_error(SD_EARG, "lbfgs: the refined objective is not finite");
  return st;
}

sd_status sd_lbfgs(int64_t n, double *w, sd_lbfgs_fn fn, void *ctx, const sd_lbfgs_opts *o,
                   sd_lbfgs_result *r) {
  if (n < 1 || o->m < 1 || o->max_ls < 1 || o->max_iter < 0)
    return sd_error(SD_EARG, "lbfgs: bad size %lld or options", (long long)n);
  int m = o->m;
  size_t vec = (size_t)n * sizeof(double);
  double *buf = sd_malloc(vec * (6 + 2 * (size_t)m) + 2 * (size_t)m * sizeof(double));
  if (!buf) return SD_EMEM;
  double *g = buf, *d = g + n, *wt = d + n, *gt = wt + n, *wb = gt + n, *gb = wb + n;
  double *S = gb + n, *Y = S + (int64_t)m * n, *rho = Y + (int64_t)m * n, *alpha = rho + m;
  line l = {n, fn, ctx, w, d, wt, gt, wb, gb, 1};
  int hist = 0, head = 0; /* pairs kept; the next slot to write */
  double f;
  sd_status st = fn(w, &f, g, ctx);
  memset(r, 0, sizeof *r);
  if (st == SD_OK && !isfinite(f))
    st = sd_error(SD_EARG, "lbfgs: the objective is not finite at the starting point");
  while (st == SD_OK) {
    r->gmax = amax(n, g);
    if (r->gmax <= o->gtol) { r->stop = SD_LBFGS_GTOL; break; }
    if (r->n_iter >= o->max_iter) { r->stop = SD_LBFGS_MAXITER; break; }
    /* d = -H g by the two-loop recursion */
    for (int64_t i = 0; i < n; i++) d[i] = -g[i];
    for (int j = 0; j < hist; j++) {
      int k = (head - 1 - j + m) % m;
      alpha[k] = rho[k] * dot(n, S + (int64_t)k * n, d);
      for (int64_t i = 0; i < n; i++) d[i] -= alpha[k] * Y[(int64_t)k * n + i];
    }
    if (hist > 0) {
      const double *s = S + (int64_t)((head - 1 + m) % m) * n, *y = Y + (s - S);
      double gamma = dot(n, s, y) / dot(n, y, y);
      for (int64_t i = 0; i < n; i++) d[i] *= gamma;
    }
    for (int j = hist - 1; j >= 0; j--) {
      int k = (head - 1 - j + m) % m;
      double beta = rho[k] * dot(n, Y + (int64_t)k * n, d);
      for (int64_t i = 0; i < n; i++) d[i] += (alpha[k] - beta) * S[(int64_t)k * n + i];
    }
    double dphi0 = dot(n, g, d);
    if (hist > 0 && !(dphi0 < 0)) { /* not a descent direction: restart from -g */
      hist = 0;
      continue;
    }
    double a0 = hist > 0 ? 1.0 : 1.0 / sqrt(dot(n, g, g)), fnew;
    int ok;
    st = search(&l, f, dphi0, a0, o->max_ls, &fnew, &ok);
    if (st != SD_OK) break;
    if (ok == 0) {
      if (o->refine && o->refine(ctx)) { st = reevaluate(&l, w, &f, g); continue; }
      if (hist > 0) { hist = 0; continue; } /* retry once along -g */
      r->stop = SD_LBFGS_LINESEARCH;
      break;
    }
    double *s = S + (int64_t)head * n, *y = Y + (int64_t)head * n;
    for (int64_t i = 0; i < n; i++) s[i] = wt[i] - w[i], y[i] = gt[i] - g[i];
    double sy = dot(n, s, y), yy = dot(n, y, y);
    if (sy > DBL_EPSILON * yy) {
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      if (hist < m) hist++;
    }
    memcpy(w, wt, vec);
    memcpy(g, gt, vec);
    double fold = f;
    f = fnew;
    r->n_iter++;
    if ((fold - f) / fmax(fmax(fabs(fold), fabs(f)), 1.0) <= o->ftol) {
      if (o->refine && o->refine(ctx)) { st = reevaluate(&l, w, &f, g); continue; }
      r->gmax = amax(n, g);
      r->stop = SD_LBFGS_FTOL;
      break;
    }
  }
  r->f = f;
  r->n_eval = l.n_eval;
  sd_free(buf, vec * (6 + 2 * (size_t)m) + 2 * (size_t)m * sizeof(double));
  return st;
}
