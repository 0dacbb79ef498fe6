/* test_special.c: lgamma, digamma and polygamma (runtime/core/special.c):
   known values, the recurrences and reflections over a grid, poles,
   NaN and inf, dtypes, strided and empty inputs. */
#include "unit.h"
#include "special.h"

#define PI 3.14159265358979323846
#define EULER 0.57721566490153286061
#define ZETA3 1.20205690315959428540

static double pg(int n, double x) { return sd_polygamma_1(n, x); }
static void near(double got, double want, double rel, const char *what, double x) {
  ck_assert_msg(fabs(got - want) <= rel * fmax(1, fabs(want)), "%s(%.17g) = %.17g, want %.17g", what, x, got, want);
}

START_TEST(known_values) {
  near(pg(-1, 0.5), 0.5 * log(PI), 1e-15, "lgamma", 0.5);
  near(pg(-1, 1), 0, 1e-15, "lgamma", 1);
  near(pg(-1, 10), log(362880.0), 1e-15, "lgamma", 10);
  near(pg(-1, -0.5), log(2 * sqrt(PI)), 1e-15, "lgamma", -0.5);
  near(pg(0, 1), -EULER, 1e-15, "digamma", 1);
  near(pg(0, 0.5), -EULER - 2 * log(2), 1e-15, "digamma", 0.5);
  near(pg(0, 1.4616321449683623), 0, 1e-14, "digamma", 1.4616321449683623); /* its positive root */
  near(pg(1, 1), PI * PI / 6, 1e-15, "trigamma", 1);
  near(pg(1, 0.5), PI * PI / 2, 1e-15, "trigamma", 0.5);
  near(pg(2, 1), -2 * ZETA3, 1e-15, "polygamma2", 1);
  near(pg(3, 1), pow(PI, 4) / 15, 1e-15, "polygamma3", 1);
  near(pg(3, 0.5), pow(PI, 4), 1e-14, "polygamma3", 0.5);
  /* large x: the asymptotic forms */
  near(pg(0, 1e8), log(1e8) - 0.5e-8, 1e-15, "digamma", 1e8);
  near(pg(1, 1e8), 1e-8 + 0.5e-16, 1e-15, "trigamma", 1e8);
}
END_TEST

START_TEST(recurrences_and_reflection) {
  /* f(x + 1) - f(x) against its closed form, to rel of the larger term
     (the difference cancels where the terms are large) */
#define REC(what, n, diff, want)                                                     \
  do {                                                                               \
    double a = pg(n, x + 1), b = pg(n, x), scale = fmax(1, fmax(fabs(a), fabs(b)));  \
    ck_assert_msg(fabs((diff) - (want)) <= 1e-13 * scale, "%s at %.17g: %.17g vs %.17g", \
                  what, x, (double)(diff), (double)(want));                          \
  } while (0)
  for (double x = -7.9; x < 40; x += 0.137) {
    if (fabs(x - round(x)) < 1e-9) continue;
    REC("lgamma", -1, a - b, log(fabs(x)));
    REC("digamma", 0, a - b, 1 / x);
    REC("trigamma", 1, b - a, 1 / (x * x));
    REC("polygamma2", 2, a - b, 2 / (x * x * x));
    REC("polygamma3", 3, b - a, 6 / (x * x * x * x));
    /* reflection: psi(1 - x) - psi(x) = pi cot(pi x) */
    near(pg(0, 1 - x) - pg(0, x), PI / tan(PI * x), 1e-11, "digamma reflection", x);
  }
#undef REC
}
END_TEST

START_TEST(poles_nan_inf) {
  ck_assert(isinf(pg(-1, 0)) && pg(-1, 0) > 0);
  ck_assert(isinf(pg(-1, -3)) && pg(-1, -3) > 0);
  ck_assert(isinf(pg(0, 0.0)) && pg(0, 0.0) < 0);
  ck_assert(isinf(pg(0, -0.0)) && pg(0, -0.0) > 0);
  ck_assert(isnan(pg(0, -2)));
  ck_assert(isinf(pg(1, 0)) && isinf(pg(1, -4)) && isinf(pg(2, -1)));
  for (int n = -1; n <= 4; n++) ck_assert(isnan(pg(n, NAN)));
  ck_assert(pg(-1, INFINITY) == INFINITY && pg(0, INFINITY) == INFINITY);
  ck_assert(pg(1, INFINITY) == 0 && pg(3, INFINITY) == 0);
}
END_TEST

START_TEST(tensors) {
  int64_t sh[2] = {3, 4};
  sd_tensor *i = unit_iota(SD_I64, 2, sh); /* 0 .. 11 */
  sd_tensor *l = sd_polygamma(-1, i);
  ck_assert_int_eq(l->dtype, SD_F32); /* integers give f32, as torch */
  ck_assert(isinf(((float *)sd_data(l))[0]));
  ck_assert_float_eq_tol(((float *)sd_data(l))[5], (float)log(24.0), 1e-6);
  /* a transposed f64 view: the same values as its contiguous copy */
  sd_tensor *d = unit_iota(SD_F64, 2, sh), *t = sd_transpose(d, 0, 1), *tc = sd_contiguous(t);
  sd_tensor *a = sd_polygamma(0, t), *b = sd_polygamma(0, tc);
  ck_assert_int_eq(a->dtype, SD_F64);
  ck_assert_int_eq(a->shape[0], 4);
  ck_assert_mem_eq(sd_data(a), sd_data(b), 12 * sizeof(double));
  /* empty and 0-d */
  int64_t e[1] = {0};
  sd_tensor *z = sd_empty(SD_F32, 1, e), *ze = sd_polygamma(1, z);
  ck_assert_int_eq(sd_numel(ze), 0);
  sd_tensor *s = sd_scalar(SD_F64, 1), *ss = sd_polygamma(1, s);
  ck_assert_int_eq(ss->ndim, 0);
  ck_assert_double_eq_tol(*(double *)sd_data(ss), PI * PI / 6, 1e-15);
  ck_assert_ptr_null(sd_polygamma(-2, s));
  ck_assert_ptr_null(sd_polygamma(101, s));
  sd_tensor *all[] = {i, l, d, t, tc, a, b, z, ze, s, ss};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) sd_release(all[k]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("special");
  TCase *tc = tcase_create("special");
  tcase_add_test(tc, known_values);
  tcase_add_test(tc, recurrences_and_reflection);
  tcase_add_test(tc, poles_nan_inf);
  tcase_add_test(tc, tensors);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
