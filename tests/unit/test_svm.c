/* test_svm.c: the SMO solver of svm.c: the KKT conditions at the solution
   on random problems (linear, rbf, random margins p and boxes C_i), tiny
   problems with a known solution, a non-separable one, rows with C_i = 0
   (same solution as without them), max_iter, interrupt, bitwise thread
   invariance and argument errors. References are naive f64 loops. */
#include "unit.h"
#include <string.h>
#include "../ml/svm.h"

static uint64_t lcg = 7;
static double urand(void) { /* in [-1, 1) */
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(lcg >> 11) / (double)(1ULL << 52) - 1.0;
}

static sd_tensor *vec(int64_t n, const double *v) {
  sd_tensor *t = sd_empty(SD_F64, 1, &n);
  memcpy(sd_data(t), v, (size_t)n * sizeof(double));
  return t;
}

/* n x d points, labels from a noisy linear rule (flip: label noise) */
static void make_data(int64_t n, int64_t d, double noise, sd_tensor **X, sd_tensor **y) {
  *X = sd_empty(SD_F64, 2, (int64_t[]){n, d});
  *y = sd_empty(SD_F64, 1, &n);
  double *x = sd_data(*X), *t = sd_data(*y);
  for (int64_t i = 0; i < n; i++) {
    double s = noise * urand();
    for (int64_t k = 0; k < d; k++) x[i * d + k] = urand() * 2, s += x[i * d + k] * (k % 2 ? -1 : 1);
    t[i] = s >= 0 ? 1 : -1;
  }
}

static double kernel(const sd_svm_opts *o, const double *X, int64_t d, int64_t a, int64_t b) {
  double s = 0;
  for (int64_t k = 0; k < d; k++)
    s += o->kernel == SD_SVM_LINEAR ? X[a * d + k] * X[b * d + k]
                                    : (X[a * d + k] - X[b * d + k]) * (X[a * d + k] - X[b * d + k]);
  return o->kernel == SD_SVM_LINEAR ? s : exp(-o->gamma * s);
}

/* the KKT conditions of the dual at alpha, by a naive loop: feasibility,
   m(a) - M(a) <= eps, and at free multipliers y_i f(x_i) = p_i to eps */
static void check_kkt(const sd_tensor *X, const sd_tensor *y, const double *p, const double *C,
                      const sd_svm_opts *o, const sd_tensor *alpha, const sd_svm_result *r) {
  int64_t n = X->shape[0], d = X->shape[1];
  const double *x = sd_data(X), *t = sd_data(y), *a = sd_data(alpha);
  double m = -INFINITY, M = INFINITY, ya = 0, obj = 0;
  for (int64_t i = 0; i < n; i++) {
    ck_assert(a[i] >= 0 && a[i] <= C[i]);
    ya += t[i] * a[i];
    double f = 0;
    for (int64_t j = 0; j < n; j++) f += a[j] * t[j] * kernel(o, x, d, i, j);
    double pi = p ? p[i] : 1, G = t[i] * f - pi, v = -t[i] * G;
    obj += pi * a[i] - 0.5 * a[i] * t[i] * f;
    if (C[i] == 0) continue;
    if (t[i] > 0 ? a[i] < C[i] : a[i] > 0) m = fmax(m, v);
    if (t[i] > 0 ? a[i] > 0 : a[i] < C[i]) M = fmin(M, v);
    if (a[i] > 0 && a[i] < C[i]) ck_assert_double_eq_tol(t[i] * (f + r->b), pi, 2 * o->eps);
  }
  ck_assert_double_eq_tol(ya, 0, 1e-10);
  ck_assert(r->converged);
  /* the solver's G comes from f32 columns (as LIBSVM's): 1e-6 slack */
  ck_assert_double_le(m - M, o->eps + 1e-6);
  ck_assert_double_eq_tol(r->obj, obj, 1e-6 * fmax(1, fabs(obj)));
  ck_assert_double_eq_tol(r->gap, m - M, 1e-6);
}

static void random_case(sd_svm_kernel kern, int64_t n, int64_t d, bool random_p, bool random_C) {
  sd_tensor *X, *y, *alpha, *w;
  make_data(n, d, 1.0, &X, &y);
  double p[400], C[400];
  for (int64_t i = 0; i < n; i++) {
    p[i] = random_p ? urand() : 1;
    C[i] = random_C ? (i % 5 == 0 ? 0 : 0.5 + urand() * 0.4) : 1;
  }
  sd_tensor *pt = vec(n, p), *Ct = vec(n, C);
  sd_svm_opts o;
  sd_svm_defaults(&o);
  o.kernel = kern, o.gamma = 0.3;
  sd_svm_result r;
  ck_assert_int_eq(sd_svm_fit(X, y, random_p ? pt : NULL, Ct, &o, &alpha, &w, &r), SD_OK);
  check_kkt(X, y, random_p ? p : NULL, C, &o, alpha, &r);
  if (kern == SD_SVM_LINEAR) { /* w = sum a_i y_i x_i */
    const double *a = sd_data(alpha), *t = sd_data(y), *x = sd_data(X), *W = sd_data(w);
    for (int64_t k = 0; k < d; k++) {
      double s = 0;
      for (int64_t i = 0; i < n; i++) s += a[i] * t[i] * x[i * d + k];
      ck_assert_double_eq_tol(W[k], s, 1e-12);
    }
  } else ck_assert_ptr_null(w);
  if (random_C)
    for (int64_t i = 0; i < n; i += 5) ck_assert(((double *)sd_data(alpha))[i] == 0);
  sd_release(X), sd_release(y), sd_release(pt), sd_release(Ct), sd_release(alpha), sd_release(w);
}

START_TEST(kkt_random) {
  random_case(SD_SVM_LINEAR, 200, 4, false, false);
  random_case(SD_SVM_LINEAR, 300, 10, true, false);
  random_case(SD_SVM_LINEAR, 250, 3, true, true);
  random_case(SD_SVM_RBF, 200, 3, false, false);
  random_case(SD_SVM_RBF, 150, 2, true, true);
}
END_TEST

/* one-dimensional pairs with a known hard-margin solution */
static void pair(double x1, double x2, double C, double p, double a_want, double w_want, double b_want) {
  sd_tensor *Xm = sd_empty(SD_F64, 2, (int64_t[]){2, 1}), *y = vec(2, (double[]){1, -1});
  sd_tensor *Ct = vec(2, (double[]){C, C}), *pt = vec(2, (double[]){p, p});
  ((double *)sd_data(Xm))[0] = x1, ((double *)sd_data(Xm))[1] = x2;
  sd_svm_opts o;
  sd_svm_defaults(&o);
  o.eps = 1e-10;
  sd_tensor *alpha, *w;
  sd_svm_result r;
  ck_assert_int_eq(sd_svm_fit(Xm, y, pt, Ct, &o, &alpha, &w, &r), SD_OK);
  ck_assert_double_eq_tol(((double *)sd_data(alpha))[0], a_want, 1e-12);
  ck_assert_double_eq_tol(((double *)sd_data(alpha))[1], a_want, 1e-12);
  ck_assert_double_eq_tol(((double *)sd_data(w))[0], w_want, 1e-12);
  if (!isnan(b_want)) ck_assert_double_eq_tol(r.b, b_want, 1e-12);
  ck_assert_double_eq_tol(r.obj, 2 * p * a_want - 0.5 * w_want * w_want, 1e-12);
  sd_release(Xm), sd_release(y), sd_release(Ct), sd_release(pt), sd_release(alpha), sd_release(w);
}

START_TEST(known_solutions) {
  pair(1, -1, 10, 1, 0.5, 1, 0);   /* w = 1, b = 0, a = 1/2 */
  pair(2, 0, 10, 1, 0.5, 1, -1);   /* w = 1, b = -1 */
  pair(1, -1, 10, 2, 1, 2, 0);     /* margins 2: w = 2 */
  pair(1, -1, 0.1, 1, 0.1, 0.2, NAN); /* both bounded: a = C */
  pair(1, -1, 10, -1, 0, 0, NAN);  /* negative margins: a = 0 is optimal */
}
END_TEST

START_TEST(non_separable) {
  sd_tensor *X, *y, *alpha, *w, *Ct;
  make_data(300, 2, 4.0, &X, &y); /* heavy label noise */
  double C[300];
  for (int i = 0; i < 300; i++) C[i] = 2;
  Ct = vec(300, C);
  sd_svm_opts o;
  sd_svm_defaults(&o);
  sd_svm_result r;
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &alpha, &w, &r), SD_OK);
  check_kkt(X, y, NULL, C, &o, alpha, &r);
  ck_assert_int_gt(r.n_bounded, 10); /* misclassified points sit at a = C */
  sd_release(X), sd_release(y), sd_release(Ct), sd_release(alpha), sd_release(w);
}
END_TEST

/* rows with C_i = 0 take no part: the same w and b as without them */
START_TEST(zero_box_rows) {
  sd_tensor *X, *y, *alpha, *w, *alpha2, *w2;
  make_data(120, 3, 1.0, &X, &y);
  double C[120], C2[60];
  for (int i = 0; i < 120; i++) C[i] = i % 2 ? 0 : 1;
  sd_tensor *Ct = vec(120, C);
  sd_tensor *Xs = sd_empty(SD_F64, 2, (int64_t[]){60, 3}), *ys = sd_empty(SD_F64, 1, (int64_t[]){60});
  for (int i = 0; i < 60; i++) {
    memcpy((double *)sd_data(Xs) + i * 3, (double *)sd_data(X) + 2 * i * 3, 3 * sizeof(double));
    ((double *)sd_data(ys))[i] = ((double *)sd_data(y))[2 * i];
    C2[i] = 1;
  }
  sd_tensor *C2t = vec(60, C2);
  sd_svm_opts o;
  sd_svm_defaults(&o);
  o.eps = 1e-9;
  sd_svm_result r, r2;
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &alpha, &w, &r), SD_OK);
  ck_assert_int_eq(sd_svm_fit(Xs, ys, NULL, C2t, &o, &alpha2, &w2, &r2), SD_OK);
  for (int i = 1; i < 120; i += 2) ck_assert(((double *)sd_data(alpha))[i] == 0);
  for (int k = 0; k < 3; k++)
    ck_assert_double_eq_tol(((double *)sd_data(w))[k], ((double *)sd_data(w2))[k], 1e-7);
  ck_assert_double_eq_tol(r.b, r2.b, 1e-7);
  sd_release(X), sd_release(y), sd_release(Ct), sd_release(alpha), sd_release(w);
  sd_release(Xs), sd_release(ys), sd_release(C2t), sd_release(alpha2), sd_release(w2);
}
END_TEST

/* a tiny cache (2 columns) gives the same bits; a precomputed Gram a solution */
START_TEST(cache_and_precomputed) {
  sd_tensor *X, *y, *a1, *w1, *a2, *w2, *a3, *w3;
  make_data(150, 4, 1.0, &X, &y);
  double C[150];
  for (int i = 0; i < 150; i++) C[i] = 1;
  sd_tensor *Ct = vec(150, C), *G = sd_empty(SD_F64, 2, (int64_t[]){150, 150});
  sd_svm_opts o;
  sd_svm_defaults(&o);
  for (int i = 0; i < 150; i++)
    for (int j = 0; j < 150; j++) ((double *)sd_data(G))[i * 150 + j] = kernel(&o, sd_data(X), 4, i, j);
  sd_svm_result r1, r2, r3;
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &a1, &w1, &r1), SD_OK);
  o.cache_mb = 1e-6;
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &a2, &w2, &r2), SD_OK);
  o.kernel = SD_SVM_PRECOMPUTED;
  ck_assert_int_eq(sd_svm_fit(G, y, NULL, Ct, &o, &a3, &w3, &r3), SD_OK);
  ck_assert_ptr_null(w3);
  ck_assert(memcmp(sd_data(a1), sd_data(a2), 150 * sizeof(double)) == 0);
  o.kernel = SD_SVM_LINEAR; /* the Gram's solution is one of the linear problem */
  check_kkt(X, y, NULL, C, &o, a3, &r3);
  ck_assert_double_eq_tol(r1.obj, r3.obj, 1e-3 * fabs(r1.obj));
  sd_release(X), sd_release(y), sd_release(Ct), sd_release(G);
  sd_release(a1), sd_release(w1), sd_release(a2), sd_release(w2), sd_release(a3), sd_release(w3);
}
END_TEST

START_TEST(threads_bitwise) {
  sd_tensor *X, *y, *a1, *w1, *a2, *w2;
  make_data(3000, 40, 1.0, &X, &y);
  sd_tensor *Ct = sd_full(SD_F64, 1, (int64_t[]){3000}, 0.5);
  sd_svm_opts o;
  sd_svm_defaults(&o);
  sd_svm_result r1, r2;
  sd_set_num_threads(1);
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &a1, &w1, &r1), SD_OK);
  sd_set_num_threads(4);
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &a2, &w2, &r2), SD_OK);
  ck_assert(memcmp(sd_data(a1), sd_data(a2), 3000 * sizeof(double)) == 0);
  ck_assert(memcmp(sd_data(w1), sd_data(w2), 40 * sizeof(double)) == 0);
  ck_assert(r1.b == r2.b);
  sd_release(X), sd_release(y), sd_release(Ct), sd_release(a1), sd_release(w1), sd_release(a2), sd_release(w2);
}
END_TEST

START_TEST(stops_and_errors) {
  sd_tensor *X, *y, *alpha, *w;
  make_data(100, 3, 1.0, &X, &y);
  sd_tensor *Ct = sd_full(SD_F64, 1, (int64_t[]){100}, 1), *Cneg = sd_full(SD_F64, 1, (int64_t[]){100}, -1);
  sd_tensor *ones = sd_full(SD_F64, 1, (int64_t[]){100}, 1), *two = sd_full(SD_F64, 1, (int64_t[]){100}, 2);
  sd_tensor *short_y = sd_full(SD_F64, 1, (int64_t[]){99}, 1);
  sd_svm_opts o;
  sd_svm_defaults(&o);
  sd_svm_result r;
  o.max_iter = 3;
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &alpha, &w, &r), SD_OK);
  ck_assert(!r.converged);
  ck_assert_int_eq(r.n_iter, 3);
  sd_release(alpha), sd_release(w);
  o.max_iter = 0;
  sd_interrupt_flag = 1;
  ck_assert_int_eq(sd_svm_fit(X, y, NULL, Ct, &o, &alpha, &w, &r), SD_EINTR);
  ck_assert_ptr_null(alpha);
  struct { sd_tensor *X, *y, *C; const char *msg; } bad[] = {
    {X, ones, Ct, "one class only"},
    {X, two, Ct, "labels must be -1 or +1"},
    {X, y, Cneg, "must be finite and >= 0"},
    {X, short_y, Ct, "y must be [100]"},
    {y, y, Ct, "X must be [n, d]"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    ck_assert_int_ne(sd_svm_fit(bad[k].X, bad[k].y, NULL, bad[k].C, &o, &alpha, &w, &r), SD_OK);
    if (!strstr(sd_errmsg(), bad[k].msg)) ck_abort_msg("error '%s' lacks '%s'", sd_errmsg(), bad[k].msg);
    ck_assert_ptr_null(alpha);
  }
  o.kernel = SD_SVM_PRECOMPUTED;
  ck_assert_int_ne(sd_svm_fit(X, y, NULL, Ct, &o, &alpha, &w, &r), SD_OK);
  ck_assert(strstr(sd_errmsg(), "must be [n, n]"));
  o.kernel = SD_SVM_LINEAR, o.eps = 0;
  ck_assert_int_ne(sd_svm_fit(X, y, NULL, Ct, &o, &alpha, &w, &r), SD_OK);
  ck_assert(strstr(sd_errmsg(), "eps must be > 0"));
  sd_release(X), sd_release(y), sd_release(Ct), sd_release(Cneg), sd_release(ones), sd_release(two), sd_release(short_y);
}
END_TEST

int main(void) {
  Suite *s = suite_create("svm");
  TCase *tc = tcase_create("svm");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, kkt_random);
  tcase_add_test(tc, known_solutions);
  tcase_add_test(tc, non_separable);
  tcase_add_test(tc, zero_box_rows);
  tcase_add_test(tc, cache_and_precomputed);
  tcase_add_test(tc, threads_bitwise);
  tcase_add_test(tc, stops_and_errors);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
