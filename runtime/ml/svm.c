/* svm.c: SMO for the SVM dual with a linear term p and per-sample boxes
   C_i (see svm.h), after LIBSVM's Solver (Chang & Lin) with the
   second-order working-set selection of Fan, Chen & Lin (JMLR 2005).

   In LIBSVM's minimisation form f(a) = 1/2 a'Qa - p'a with gradient
   G = Qa - p. With I_up = {t : y_t = +1, a_t < C_t or y_t = -1, a_t > 0}
   and I_low the mirror set, a is optimal when
     m(a) = max_{t in I_up} -y_t G_t  <=  M(a) = min_{t in I_low} -y_t G_t.
   Each step takes i = argmax over I_up, then j in I_low maximising the
   decrease of f along (i, j) under a second-order model, solves the
   two-variable problem exactly and clips it to the boxes. */
#include "svm.h"
#include "../core/parallel.h"
#include <math.h>
#include <string.h>

#define TAU 1e-12 /* LIBSVM's floor on the curvature of a step */

typedef struct {
  const double *X, *y;
  int64_t n, d;
  sd_svm_kernel kernel;
  double gamma;
  /* LRU cache of columns of Q */
  int64_t nslot;
  float *slots;       /* nslot columns of n, in f32 as LIBSVM's Qfloat */
  int64_t *slot_of;   /* [n]: the slot holding column i, or -1 */
  int64_t *owner;     /* [nslot]: the column in a slot, or -1 */
  uint64_t *stamp, clock;
  /* the column being filled, on the active rows act[0..*na) only: the
     cache is emptied whenever the active set grows */
  int64_t col_i;
  float *col;
  const int64_t *act, *na;
} svm_q;

static double kval(const svm_q *q, int64_t a, int64_t b) {
  if (q->kernel == SD_SVM_PRECOMPUTED) return q->X[a * q->n + b];
  const double *xa = q->X + a * q->d, *xb = q->X + b * q->d;
  double s[4] = {0, 0, 0, 0}; /* four sums in a fixed order: vectorisable, same bits */
  int64_t k = 0, d4 = q->d & ~(int64_t)3;
  if (q->kernel == SD_SVM_LINEAR) {
    for (; k < d4; k += 4)
      for (int u = 0; u < 4; u++) s[u] += xa[k + u] * xb[k + u];
    for (; k < q->d; k++) s[0] += xa[k] * xb[k];
    return (s[0] + s[1]) + (s[2] + s[3]);
  }
  for (; k < d4; k += 4)
    for (int u = 0; u < 4; u++) s[u] += (xa[k + u] - xb[k + u]) * (xa[k + u] - xb[k + u]);
  for (; k < q->d; k++) s[0] += (xa[k] - xb[k]) * (xa[k] - xb[k]);
  return exp(-q->gamma * ((s[0] + s[1]) + (s[2] + s[3])));
}

static void col_task(int64_t begin, int64_t end, void *ctx) {
  const svm_q *q = ctx;
  for (int64_t k = begin; k < end; k++) {
    int64_t t = q->act[k];
    q->col[t] = (float)(q->y[t] * q->y[q->col_i] * kval(q, t, q->col_i));
  }
}

/* column i of Q; the most recently used columns stay (nslot >= 2, so the
   column fetched just before survives) */
static const float *qcol(svm_q *q, int64_t i) {
  int64_t s = q->slot_of[i];
  if (s < 0) {
    s = 0;
    for (int64_t k = 1; k < q->nslot; k++)
      if (q->stamp[k] < q->stamp[s]) s = k;
    if (q->owner[s] >= 0) q->slot_of[q->owner[s]] = -1;
    q->owner[s] = i, q->slot_of[i] = s;
    q->col_i = i, q->col = q->slots + s * q->n;
    sd_parallel_for(*q->na, 65536 / (q->d + 1) + 1, col_task, q);
  }
  q->stamp[s] = ++q->clock;
  return q->slots + s * q->n;
}

static bool in_up(double y, double a, double C) { return y > 0 ? a < C : a > 0; }
static bool in_low(double y, double a, double C) { return y > 0 ? a > 0 : a < C; }

/* one SMO step on (i, j): LIBSVM's two-variable solution, clipped */
static void step(const float *Qi, const double *QD, const double *y, const double *G,
                 const double *C, double *a, int64_t i, int64_t j) {
  double Ci = C[i], Cj = C[j];
  if (y[i] != y[j]) {
    double quad = QD[i] + QD[j] + 2 * Qi[j];
    double delta = (-G[i] - G[j]) / (quad > 0 ? quad : TAU), diff = a[i] - a[j];
    a[i] += delta, a[j] += delta;
    if (diff > 0) {
      if (a[j] < 0) a[j] = 0, a[i] = diff;
    } else if (a[i] < 0) a[i] = 0, a[j] = -diff;
    if (diff > Ci - Cj) {
      if (a[i] > Ci) a[i] = Ci, a[j] = Ci - diff;
    } else if (a[j] > Cj) a[j] = Cj, a[i] = Cj + diff;
  } else {
    double quad = QD[i] + QD[j] - 2 * Qi[j];
    double delta = (G[i] - G[j]) / (quad > 0 ? quad : TAU), sum = a[i] + a[j];
    a[i] -= delta, a[j] += delta;
    if (sum > Ci) {
      if (a[i] > Ci) a[i] = Ci, a[j] = sum - Ci;
    } else if (a[j] < 0) a[j] = 0, a[i] = sum;
    if (sum > Cj) {
      if (a[j] > Cj) a[j] = Cj, a[i] = sum - Cj;
    } else if (a[i] < 0) a[i] = 0, a[j] = sum;
  }
}

/* the pair (i, j) over the active rows act[0..na): i the maximal violator
   in I_up, j in I_low with the largest second-order decrease along (i, j);
   *gap = m(a) - M(a) over them. Returns column i of Q (NULL when i < 0). */
static const float *select_pair(svm_q *q, const double *QD, const double *G, const double *A,
                                 const double *Cv, const int64_t *act, int64_t na, int64_t *pi,
                                 int64_t *pj, double *gap) {
  const double *Y = q->y;
  double Gmax = -INFINITY, Gmax2 = -INFINITY, best = INFINITY;
  int64_t i = -1, j = -1;
  for (int64_t k = 0; k < na; k++) {
    int64_t t = act[k];
    if (in_up(Y[t], A[t], Cv[t]) && -Y[t] * G[t] >= Gmax) Gmax = -Y[t] * G[t], i = t;
  }
  const float *Qi = i >= 0 ? qcol(q, i) : NULL;
  for (int64_t k = 0; k < na && Qi; k++) {
    int64_t t = act[k];
    if (!in_low(Y[t], A[t], Cv[t])) continue;
    double yG = Y[t] * G[t], diff = Gmax + yG;
    if (yG > Gmax2) Gmax2 = yG;
    if (diff > 0) {
      double quad = QD[i] + QD[t] - 2 * Y[i] * Y[t] * Qi[t]; /* |phi_i - phi_t|^2 */
      double dec = -diff * diff / (quad > 0 ? quad : TAU);
      if (dec <= best) best = dec, j = t;
    }
  }
  *pi = i, *pj = j, *gap = Gmax + Gmax2;
  return Qi;
}

/* LIBSVM's shrinking: drop from the active set act[0..na) the multipliers
   at a bound whose gradient says they will stay there; returns the new na.
   Only active rows of G are kept up to date; reconstruct() redoes all. */
static int64_t shrink(const double *Y, const double *A, const double *Cv, const double *G,
                      int64_t *act, int64_t na, double Gmax1, double Gmax2) {
  int64_t m = 0;
  for (int64_t k = 0; k < na; k++) {
    int64_t t = act[k];
    bool drop = Cv[t] == 0;
    if (!drop && A[t] >= Cv[t]) drop = Y[t] > 0 ? -G[t] > Gmax1 : -G[t] > Gmax2;
    else if (!drop && A[t] <= 0) drop = Y[t] > 0 ? G[t] > Gmax2 : G[t] > Gmax1;
    if (!drop) act[m++] = t;
  }
  return m;
}

/* m(a) and max_{I_low} y_t G_t over the active rows */
static void violations(const double *Y, const double *A, const double *Cv, const double *G,
                       const int64_t *act, int64_t na, double *Gmax1, double *Gmax2) {
  *Gmax1 = *Gmax2 = -INFINITY;
  for (int64_t k = 0; k < na; k++) {
    int64_t t = act[k];
    if (in_up(Y[t], A[t], Cv[t])) *Gmax1 = fmax(*Gmax1, -Y[t] * G[t]);
    if (in_low(Y[t], A[t], Cv[t])) *Gmax2 = fmax(*Gmax2, Y[t] * G[t]);
  }
}

/* G = Qa - p for every row, from the multipliers: through w = sum a_j y_j
   x_j for the linear kernel, else from the columns of the a_j > 0 */
static void reconstruct(svm_q *q, const double *P, const double *A, double *G, double *w) {
  int64_t n = q->n, d = q->d;
  const double *Y = q->y;
  if (q->kernel == SD_SVM_LINEAR) {
    for (int64_t k = 0; k < d; k++) w[k] = 0;
    for (int64_t t = 0; t < n; t++)
      if (A[t] > 0)
        for (int64_t k = 0; k < d; k++) w[k] += A[t] * Y[t] * q->X[t * d + k];
    for (int64_t t = 0; t < n; t++) {
      double s = 0;
      for (int64_t k = 0; k < d; k++) s += q->X[t * d + k] * w[k];
      G[t] = Y[t] * s - (P ? P[t] : 1);
    }
    return;
  }
  for (int64_t t = 0; t < n; t++) G[t] = -(P ? P[t] : 1);
  for (int64_t j = 0; j < n; j++)
    if (A[j] > 0) {
      const float *Qj = qcol(q, j);
      for (int64_t t = 0; t < n; t++) G[t] += A[j] * Qj[t];
    }
}

/* every row active again; the cached columns lack the rows that were not */
static void all_active(svm_q *q, int64_t *act, int64_t *na) {
  for (int64_t t = 0; t < q->n; t++) act[t] = t;
  *na = q->n;
  for (int64_t s = 0; s < q->nslot; s++) {
    if (q->owner[s] >= 0) q->slot_of[q->owner[s]] = -1;
    q->owner[s] = -1, q->stamp[s] = 0;
  }
}

void sd_svm_defaults(sd_svm_opts *o) {
  *o = (sd_svm_opts){.kernel = SD_SVM_LINEAR, .gamma = 1, .eps = 1e-3, .max_iter = 0, .cache_mb = 200,
                      .shrinking = true};
}

static sd_tensor *f64c(const sd_tensor *t) {
  sd_tensor *a = sd_to_dtype(t, SD_F64);
  if (!a) return NULL;
  sd_tensor *c = sd_contiguous(a);
  sd_release(a);
  return c;
}

static sd_status check_args(const sd_tensor *X, const sd_tensor *y, const sd_tensor *p,
                            const sd_tensor *C, const sd_svm_opts *o) {
  char b1[64], b2[64];
  if (X->ndim != 2) return sd_error(SD_ESHAPE, "svm_fit: X must be [n, d], got %s", sd_shape_str(X, b1, 64));
  int64_t n = X->shape[0];
  if (o->kernel == SD_SVM_PRECOMPUTED && X->shape[1] != n)
    return sd_error(SD_ESHAPE, "svm_fit: a precomputed kernel must be [n, n], got %s", sd_shape_str(X, b1, 64));
  const sd_tensor *v[3] = {y, p, C};
  const char *name[3] = {"y", "p", "C"};
  for (int k = 0; k < 3; k++)
    if (v[k] && (v[k]->ndim != 1 || v[k]->shape[0] != n))
      return sd_error(SD_ESHAPE, "svm_fit: %s must be [%lld] for X %s, got %s", name[k], (long long)n,
                      sd_shape_str(X, b1, 64), sd_shape_str(v[k], b2, 64));
  if (n < 2) return sd_error(SD_EARG, "svm_fit: need at least 2 samples, got %lld", (long long)n);
  if (!(o->eps > 0)) return sd_error(SD_EARG, "svm_fit: eps must be > 0, got %g", o->eps);
  if (o->kernel == SD_SVM_RBF && !(o->gamma > 0 && isfinite(o->gamma)))
    return sd_error(SD_EARG, "svm_fit: gamma must be > 0, got %g", o->gamma);
  return SD_OK;
}

sd_status sd_svm_fit(const sd_tensor *X, const sd_tensor *y, const sd_tensor *p,
                     const sd_tensor *C, const sd_svm_opts *o, sd_tensor **alpha,
                     sd_tensor **w, sd_svm_result *r) {
  *alpha = NULL, *w = NULL;
  memset(r, 0, sizeof *r);
  sd_status st = check_args(X, y, p, C, o);
  if (st != SD_OK) return st;
  int64_t n = X->shape[0], d = X->shape[1];
  sd_tensor *Xc = f64c(X), *yc = f64c(y), *pc = p ? f64c(p) : NULL, *Cc = f64c(C), *a = NULL, *work = NULL;
  if (!Xc || !yc || (p && !pc) || !Cc) goto fail;
  const double *Y = sd_data(yc), *P = pc ? sd_data(pc) : NULL, *Cv = sd_data(Cc);
  bool has[2] = {false, false};
  for (int64_t t = 0; t < n; t++) {
    if (Y[t] != 1 && Y[t] != -1) {
      st = sd_error(SD_EARG, "svm_fit: y[%lld] = %g, labels must be -1 or +1", (long long)t + 1, Y[t]);
      goto fail;
    }
    if (!(Cv[t] >= 0 && isfinite(Cv[t]))) {
      st = sd_error(SD_EARG, "svm_fit: C[%lld] = %g, must be finite and >= 0", (long long)t + 1, Cv[t]);
      goto fail;
    }
    if (P && !isfinite(P[t])) {
      st = sd_error(SD_EARG, "svm_fit: p[%lld] = %g is not finite", (long long)t + 1, P[t]);
      goto fail;
    }
    if (Cv[t] > 0) has[Y[t] > 0] = true;
  }
  if (!has[0] || !has[1]) {
    st = sd_error(SD_EARG, "svm_fit: y holds one class only (among rows with C > 0); need both -1 and +1");
    goto fail;
  }
  /* the column cache and G, QD in one scratch tensor */
  double budget = (o->cache_mb > 0 ? o->cache_mb : 200) * 1048576.0 / (4.0 * (double)n);
  int64_t nslot = budget >= (double)n ? n : budget < 2 ? 2 : (int64_t)budget;
  int64_t nwork = 2 * n + (n + nslot + nslot + n) + d + (nslot * n + 1) / 2;
  a = sd_zeros(SD_F64, 1, &n);
  work = sd_empty(SD_F64, 1, &nwork);
  if (!a || !work) goto fail;
  double *A = sd_data(a), *G = sd_data(work), *QD = G + n;
  svm_q q = {.X = sd_data(Xc), .y = Y, .n = n, .d = d, .kernel = o->kernel, .gamma = o->gamma,
             .nslot = nslot};
  /* G, QD | slot_of, owner, stamp, act (8 bytes each) | w | the f32 columns */
  q.slot_of = (int64_t *)(QD + n);
  q.owner = q.slot_of + n;
  q.stamp = (uint64_t *)(q.owner + nslot);
  for (int64_t t = 0; t < n; t++) q.slot_of[t] = -1, G[t] = P ? -P[t] : -1, QD[t] = kval(&q, t, t);
  for (int64_t s = 0; s < nslot; s++) q.owner[s] = -1, q.stamp[s] = 0;

  int64_t max_iter = o->max_iter > 0 ? o->max_iter : (100 * n > 10000000 ? 100 * n : 10000000), it;
  int64_t *act = (int64_t *)(q.stamp + nslot), na = n, every = n < 1000 ? n : 1000, counter = every;
  double *wr = (double *)(act + n); /* w for reconstruct() */
  q.slots = (float *)(wr + d);
  bool unshrunk = false;
  q.act = act, q.na = &na;
  for (int64_t t = 0; t < n; t++) act[t] = t;
  double gap = 0;
  for (it = 0; it < max_iter; it++) {
    if (it % 1000 == 0 && (st = sd_check_interrupt()) != SD_OK) goto fail;
    if (o->shrinking && --counter == 0) {
      double g1, g2;
      counter = every;
      violations(Y, A, Cv, G, act, na, &g1, &g2);
      if (!unshrunk && g1 + g2 <= 10 * o->eps) { /* near the end: all rows once more */
        unshrunk = true;
        if (na < n) all_active(&q, act, &na), reconstruct(&q, P, A, G, wr);
      }
      na = shrink(Y, A, Cv, G, act, na, g1, g2);
    }
    int64_t i, j;
    const float *Qi = select_pair(&q, QD, G, A, Cv, act, na, &i, &j, &gap);
    if (i < 0 || j < 0 || gap < o->eps) {
      if (na == n) break;
      /* optimal on the active set: check all the rows */
      all_active(&q, act, &na), reconstruct(&q, P, A, G, wr), counter = 1;
      Qi = select_pair(&q, QD, G, A, Cv, act, na, &i, &j, &gap);
      if (i < 0 || j < 0 || gap < o->eps) break;
    }
    const float *Qj = qcol(&q, j);
    double ai = A[i], aj = A[j];
    step(Qi, QD, Y, G, Cv, A, i, j);
    double di = A[i] - ai, dj = A[j] - aj;
    for (int64_t k = 0; k < na; k++) {
      int64_t t = act[k];
      G[t] += Qi[t] * di + Qj[t] * dj;
    }
  }
  if (na < n) all_active(&q, act, &na), reconstruct(&q, P, A, G, wr);
  r->n_iter = it;
  r->converged = it < max_iter;
  r->gap = gap;
  /* b = -rho, LIBSVM's calculate_rho over rows with C > 0 */
  double ub = INFINITY, lb = -INFINITY, sum_free = 0, obj = 0;
  int64_t nfree = 0;
  for (int64_t t = 0; t < n; t++) {
    double yG = Y[t] * G[t];
    obj += 0.5 * A[t] * ((P ? P[t] : 1) - G[t]);
    if (A[t] > 0) r->n_sv++;
    if (Cv[t] == 0) continue;
    if (A[t] >= Cv[t]) {
      r->n_bounded++;
      if (Y[t] < 0) ub = fmin(ub, yG);
      else lb = fmax(lb, yG);
    } else if (A[t] <= 0) {
      if (Y[t] > 0) ub = fmin(ub, yG);
      else lb = fmax(lb, yG);
    } else nfree++, sum_free += yG;
  }
  r->b = -(nfree > 0 ? sum_free / (double)nfree : (ub + lb) / 2);
  r->obj = obj;
  if (o->kernel == SD_SVM_LINEAR) {
    *w = sd_zeros(SD_F64, 1, &d);
    if (!*w) goto fail;
    double *W = sd_data(*w);
    const double *Xd = sd_data(Xc);
    for (int64_t t = 0; t < n; t++)
      if (A[t] > 0)
        for (int64_t k = 0; k < d; k++) W[k] += A[t] * Y[t] * Xd[t * d + k];
  }
  sd_release(Xc), sd_release(yc), sd_release(pc), sd_release(Cc), sd_release(work);
  *alpha = a;
  return SD_OK;
fail:
  if (st == SD_OK) st = SD_EMEM;
  sd_release(Xc), sd_release(yc), sd_release(pc), sd_release(Cc), sd_release(a), sd_release(work);
  sd_release(*w), *w = NULL;
  return st;
}
