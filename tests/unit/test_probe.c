/* test_probe.c: the probe kernels: L-BFGS on known problems (quadratic,
   Rosenbrock), the logistic objective's gradient against central finite
   differences, fits against the optimality condition, bitwise thread
   invariance, and argument errors. */
#include "unit.h"
#include <string.h>
#include "../ml/probe.h"

static uint64_t lcg = 1;
static double urand(void) { /* in [-1, 1) */
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(lcg >> 11) / (double)(1ULL << 52) - 1.0;
}

static void expect_error(sd_status st, const char *needle) {
  ck_assert_int_ne(st, SD_OK);
  if (!strstr(sd_errmsg(), needle)) ck_abort_msg("error '%s' lacks '%s'", sd_errmsg(), needle);
}

/* --- L-BFGS --- */

typedef struct { int n; const double *a, *b; } quad;

/* f = 1/2 sum a_i x_i^2 - b_i x_i: minimum at b_i / a_i */
static sd_status quad_fn(const double *x, double *f, double *g, void *ctx) {
  const quad *q = ctx;
  *f = 0;
  for (int i = 0; i < q->n; i++) {
    *f += 0.5 * q->a[i] * x[i] * x[i] - q->b[i] * x[i];
    g[i] = q->a[i] * x[i] - q->b[i];
  }
  return SD_OK;
}

START_TEST(lbfgs_quadratic) {
  double a[20], b[20], x[20] = {0};
  for (int i = 0; i < 20; i++) a[i] = 1 + i * i, b[i] = urand();
  quad q = {20, a, b};
  sd_lbfgs_opts o;
  sd_lbfgs_defaults(&o);
  o.gtol = 1e-6, o.ftol = 0, o.max_iter = 300;
  sd_lbfgs_result r;
  ck_assert_int_eq(sd_lbfgs(20, x, quad_fn, &q, &o, &r), SD_OK);
  ck_assert_int_eq(r.stop, SD_LBFGS_GTOL);
  ck_assert_int_le(r.n_iter, 150); /* scipy's L-BFGS-B: 112 iterations to 1e-10 */
  for (int i = 0; i < 20; i++) ck_assert_double_eq_tol(x[i], b[i] / a[i], 1e-6);
}
END_TEST

/* extended Rosenbrock: sum 100 (x_2i - x_2i-1^2)^2 + (1 - x_2i-1)^2, minimum at 1 */
static sd_status rosen(const double *x, double *f, double *g, void *ctx) {
  int n = *(const int *)ctx;
  *f = 0;
  for (int i = 0; i < n; i += 2) {
    double t = x[i + 1] - x[i] * x[i], u = 1 - x[i];
    *f += 100 * t * t + u * u;
    g[i] = -400 * t * x[i] - 2 * u;
    g[i + 1] = 200 * t;
  }
  return SD_OK;
}

START_TEST(lbfgs_rosenbrock) {
  for (int n = 2; n <= 10; n += 8) {
    double x[10];
    for (int i = 0; i < n; i++) x[i] = i % 2 ? 1.0 : -1.2;
    sd_lbfgs_opts o;
    sd_lbfgs_defaults(&o);
    o.gtol = 1e-9, o.ftol = 0, o.max_iter = 500;
    sd_lbfgs_result r;
    ck_assert_int_eq(sd_lbfgs(n, x, rosen, &n, &o, &r), SD_OK);
    ck_assert_int_eq(r.stop, SD_LBFGS_GTOL);
    ck_assert_int_lt(r.n_eval, 3 * r.n_iter + 5);
    for (int i = 0; i < n; i++) ck_assert_double_eq_tol(x[i], 1.0, 1e-7);
    ck_assert_double_lt(r.f, 1e-14);
  }
}
END_TEST

START_TEST(lbfgs_stops) {
  int n = 2;
  double x[2] = {-1.2, 1};
  sd_lbfgs_opts o;
  sd_lbfgs_defaults(&o);
  o.max_iter = 3;
  sd_lbfgs_result r;
  ck_assert_int_eq(sd_lbfgs(2, x, rosen, &n, &o, &r), SD_OK);
  ck_assert_int_eq(r.stop, SD_LBFGS_MAXITER);
  ck_assert_int_eq(r.n_iter, 3);
  /* the default ftol stops a run that no longer decreases f */
  sd_lbfgs_defaults(&o);
  o.gtol = 0, o.max_iter = 1000;
  ck_assert_int_eq(sd_lbfgs(2, x, rosen, &n, &o, &r), SD_OK);
  ck_assert_int_eq(r.stop, SD_LBFGS_FTOL);
  ck_assert_double_eq_tol(x[0], 1.0, 1e-3);
  o.m = 0;
  expect_error(sd_lbfgs(2, x, rosen, &n, &o, &r), "lbfgs");
}
END_TEST

static sd_status nan_fn(const double *x, double *f, double *g, void *ctx) {
  (void)x, (void)ctx;
  *f = NAN, g[0] = 0;
  return SD_OK;
}

START_TEST(lbfgs_not_finite) {
  double x[1] = {0};
  sd_lbfgs_opts o;
  sd_lbfgs_result r;
  sd_lbfgs_defaults(&o);
  expect_error(sd_lbfgs(1, x, nan_fn, NULL, &o, &r), "not finite");
}
END_TEST

/* --- logistic regression --- */

/* n x d data with labels 1..K from a noisy linear rule */
static void make_data(sd_dtype dt, int64_t n, int64_t d, int K, sd_tensor **X, sd_tensor **y) {
  *X = sd_empty(dt, 2, (int64_t[]){n, d});
  *y = sd_empty(SD_I64, 1, &n);
  for (int64_t i = 0; i < n; i++) {
    double best = -1e300;
    int64_t arg = 1;
    for (int64_t j = 0; j < d; j++) sd_set_ptr(dt, (char *)sd_data(*X) + (i * d + j) * sd_dtype_size(dt), urand());
    for (int k = 0; k < K; k++) {
      double s = urand();
      for (int64_t j = 0; j < d; j++) s += sd_get_flat(*X, i * d + j) * ((j + k) % 3 - 1);
      if (s > best) best = s, arg = k + 1;
    }
    ((int64_t *)sd_data(*y))[i] = arg;
  }
}

static void check_gradient(int K, bool intercept, bool weights) {
  int64_t n = 300, d = 7, nw = K == 2 ? 1 : K, np = nw * d + (intercept ? nw : 0);
  sd_tensor *X, *y, *sw = NULL;
  make_data(SD_F64, n, d, K, &X, &y);
  if (weights) {
    sw = sd_empty(SD_F64, 1, &n);
    for (int64_t i = 0; i < n; i++) ((double *)sd_data(sw))[i] = 1.5 + urand();
  }
  double w[64], g[64], gp[64], f, fp, fm;
  for (int64_t j = 0; j < np; j++) w[j] = 0.5 * urand();
  ck_assert_int_eq(sd_logistic_objective(X, y, sw, K, 0.03, intercept, w, &f, g), SD_OK);
  for (int64_t j = 0; j < np; j++) {
    double h = 1e-5, keep = w[j];
    w[j] = keep + h;
    ck_assert_int_eq(sd_logistic_objective(X, y, sw, K, 0.03, intercept, w, &fp, gp), SD_OK);
    w[j] = keep - h;
    ck_assert_int_eq(sd_logistic_objective(X, y, sw, K, 0.03, intercept, w, &fm, gp), SD_OK);
    w[j] = keep;
    double fd = (fp - fm) / (2 * h);
    if (fabs(fd - g[j]) > 1e-8 + 1e-6 * fabs(fd))
      ck_abort_msg("K=%d intercept=%d weights=%d: dF/dw[%lld] = %.10g, finite difference %.10g", K,
                   intercept, weights, (long long)j, g[j], fd);
  }
  sd_release(X);
  sd_release(y);
  sd_release(sw);
}

START_TEST(logistic_gradient) {
  for (int K = 2; K <= 4; K += 2)
    for (int b = 0; b < 2; b++)
      for (int s = 0; s < 2; s++) check_gradient(K, b, s);
}
END_TEST

/* the objective at w against a naive f64 loop */
START_TEST(logistic_objective_value) {
  int64_t n = 50, d = 3;
  int K = 3;
  sd_tensor *X, *y;
  make_data(SD_F32, n, d, K, &X, &y);
  double w[12], g[12], f, ref = 0, l2 = 0.2;
  for (int j = 0; j < 12; j++) w[j] = urand();
  ck_assert_int_eq(sd_logistic_objective(X, y, NULL, K, l2, true, w, &f, g), SD_OK);
  for (int64_t i = 0; i < n; i++) {
    double z[3], mx = -1e300, s = 0;
    for (int k = 0; k < K; k++) {
      z[k] = w[9 + k];
      for (int64_t j = 0; j < d; j++) z[k] += w[k * d + j] * sd_get_flat(X, i * d + j);
      mx = fmax(mx, z[k]);
    }
    for (int k = 0; k < K; k++) s += exp(z[k] - mx);
    ref += mx + log(s) - z[((int64_t *)sd_data(y))[i] - 1];
  }
  ref /= (double)n;
  for (int j = 0; j < 9; j++) ref += 0.5 * l2 * w[j] * w[j];
  ck_assert_double_eq_tol(f, ref, 1e-6 * fabs(ref));
  sd_release(X);
  sd_release(y);
}
END_TEST

/* At the fit, the gradient vanishes: (1/n) X^T (P - Y) + l2 W = 0. */
START_TEST(logistic_fit_optimal) {
  for (int K = 2; K <= 3; K++) {
    sd_dtype dt = K == 2 ? SD_F64 : SD_F32;
    sd_tensor *X, *y, *coef, *b;
    make_data(dt, 500, 6, K, &X, &y);
    sd_logistic_opts o = {.l2 = 0.01, .tol = 1e-7, .fit_intercept = true, .max_iter = 500};
    sd_lbfgs_result r;
    ck_assert_int_eq(sd_logistic_fit(X, y, NULL, K, &o, &coef, &b, &r), SD_OK);
    ck_assert(r.stop == SD_LBFGS_GTOL || r.stop == SD_LBFGS_FTOL);
    int64_t nw = K == 2 ? 1 : K;
    ck_assert_int_eq(coef->shape[0], nw);
    ck_assert_int_eq(coef->shape[1], 6);
    ck_assert_int_eq(coef->dtype, dt);
    double w[32], g[32], f;
    for (int64_t j = 0; j < nw * 6; j++) w[j] = sd_get_flat(coef, j);
    for (int64_t k = 0; k < nw; k++) w[nw * 6 + k] = sd_get_flat(b, k);
    ck_assert_int_eq(sd_logistic_objective(X, y, NULL, K, 0.01, true, w, &f, g), SD_OK);
    for (int64_t j = 0; j < nw * 7; j++) ck_assert_double_lt(fabs(g[j]), 1e-5); /* at w = 0 it is about 0.1 */
    ck_assert_double_eq_tol(f, r.f, 1e-6);
    sd_release(X), sd_release(y), sd_release(coef), sd_release(b);
  }
}
END_TEST

/* Same bits with 1 and 2 threads, on enough rows for many blocks. */
START_TEST(logistic_threads) {
  sd_tensor *X, *y, *c1, *b1, *c2, *b2;
  make_data(SD_F32, 20000, 40, 4, &X, &y);
  sd_logistic_opts o = {.l2 = 1e-3, .tol = 1e-4, .fit_intercept = true, .max_iter = 30};
  sd_lbfgs_result r1, r2;
  sd_set_num_threads(1);
  ck_assert_int_eq(sd_logistic_fit(X, y, NULL, 4, &o, &c1, &b1, &r1), SD_OK);
  sd_set_num_threads(2);
  ck_assert_int_eq(sd_logistic_fit(X, y, NULL, 4, &o, &c2, &b2, &r2), SD_OK);
  ck_assert_int_eq(r1.n_iter, r2.n_iter);
  ck_assert(memcmp(sd_data(c1), sd_data(c2), 4 * 40 * sizeof(float)) == 0);
  ck_assert(memcmp(sd_data(b1), sd_data(b2), 4 * sizeof(float)) == 0);
  ck_assert(r1.f == r2.f);
  sd_release(X), sd_release(y), sd_release(c1), sd_release(b1), sd_release(c2), sd_release(b2);
}
END_TEST

START_TEST(logistic_no_intercept_and_zero_iter) {
  sd_tensor *X, *y, *coef, *b;
  make_data(SD_F64, 100, 3, 2, &X, &y);
  sd_logistic_opts o = {.l2 = 0.1, .tol = 1e-4, .fit_intercept = false, .max_iter = 0};
  sd_lbfgs_result r;
  ck_assert_int_eq(sd_logistic_fit(X, y, NULL, 2, &o, &coef, &b, &r), SD_OK);
  ck_assert_int_eq(r.stop, SD_LBFGS_MAXITER);
  ck_assert_int_eq(r.n_iter, 0);
  ck_assert_double_eq_tol(r.f, log(2.0), 1e-12); /* at w = 0 */
  ck_assert_double_eq(sd_get_flat(coef, 0), 0);
  sd_release(coef), sd_release(b);
  o.max_iter = 100;
  ck_assert_int_eq(sd_logistic_fit(X, y, NULL, 2, &o, &coef, &b, &r), SD_OK);
  ck_assert_double_eq(sd_get_flat(b, 0), 0); /* not fitted */
  ck_assert_double_ne(sd_get_flat(coef, 0), 0);
  sd_release(X), sd_release(y), sd_release(coef), sd_release(b);
}
END_TEST

START_TEST(logistic_errors) {
  sd_tensor *X, *y, *coef, *b;
  sd_lbfgs_result r;
  sd_logistic_opts o = {.l2 = 0.1, .tol = 1e-4, .fit_intercept = true, .max_iter = 10};
  make_data(SD_F32, 10, 3, 2, &X, &y);
  sd_tensor *v = sd_select(X, 1, 0), *y9 = sd_narrow(y, 0, 0, 9);
  expect_error(sd_logistic_fit(v, y, NULL, 2, &o, &coef, &b, &r), "X must be a 2-d");
  expect_error(sd_logistic_fit(X, y9, NULL, 2, &o, &coef, &b, &r), "y [9] does not match X [10,3]");
  ((int64_t *)sd_data(y))[4] = 3;
  expect_error(sd_logistic_fit(X, y, NULL, 2, &o, &coef, &b, &r), "y[5] = 3");
  ((int64_t *)sd_data(y))[4] = 1;
  ((float *)sd_data(X))[7] = NAN;
  expect_error(sd_logistic_fit(X, y, NULL, 2, &o, &coef, &b, &r), "X[3][2] is NaN");
  ((float *)sd_data(X))[7] = 0;
  expect_error(sd_logistic_fit(X, y, NULL, 1, &o, &coef, &b, &r), "2 classes");
  o.l2 = -1;
  expect_error(sd_logistic_fit(X, y, NULL, 2, &o, &coef, &b, &r), "l2 must be >= 0");
  ck_assert_ptr_null(coef);
  sd_release(v), sd_release(y9), sd_release(X), sd_release(y);
}
END_TEST

/* A transposed (non-contiguous) X gives the same fit as its contiguous copy. */
START_TEST(logistic_strided) {
  sd_tensor *X, *y, *c1, *b1, *c2, *b2;
  make_data(SD_F64, 4, 60, 2, &X, &y); /* X^T: 60 x 4 */
  sd_tensor *Xt = sd_transpose(X, 0, 1), *Xc = sd_contiguous(Xt);
  int64_t n = 60;
  sd_tensor *yy = sd_empty(SD_I64, 1, &n);
  for (int64_t i = 0; i < n; i++) ((int64_t *)sd_data(yy))[i] = 1 + (sd_get_flat(Xc, i * 4) > 0);
  sd_logistic_opts o = {.l2 = 0.1, .tol = 1e-6, .fit_intercept = true, .max_iter = 100};
  sd_lbfgs_result r;
  ck_assert_int_eq(sd_logistic_fit(Xt, yy, NULL, 2, &o, &c1, &b1, &r), SD_OK);
  ck_assert_int_eq(sd_logistic_fit(Xc, yy, NULL, 2, &o, &c2, &b2, &r), SD_OK);
  ck_assert(memcmp(sd_data(c1), sd_data(c2), 4 * sizeof(double)) == 0);
  ck_assert_double_gt(sd_get_flat(c1, 0), 0.5);
  sd_release(X), sd_release(y), sd_release(Xt), sd_release(Xc), sd_release(yy);
  sd_release(c1), sd_release(b1), sd_release(c2), sd_release(b2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("probe");
  TCase *tc = tcase_create("probe");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, lbfgs_quadratic);
  tcase_add_test(tc, lbfgs_rosenbrock);
  tcase_add_test(tc, lbfgs_stops);
  tcase_add_test(tc, lbfgs_not_finite);
  tcase_add_test(tc, logistic_gradient);
  tcase_add_test(tc, logistic_objective_value);
  tcase_add_test(tc, logistic_fit_optimal);
  tcase_add_test(tc, logistic_threads);
  tcase_add_test(tc, logistic_no_intercept_and_zero_iter);
  tcase_add_test(tc, logistic_errors);
  tcase_add_test(tc, logistic_strided);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
