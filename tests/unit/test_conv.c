/* test_conv.c: conv2d's fast paths against a naive f64 loop: chunks of one
   sample (GEMMs in place in the output and gradient), pointwise 1x1
   convolutions (the input is the columns; the input gradient is the GEMM's
   result), Winograd's 3x3 (odd sizes, padding, groups, chunks), strided
   copies; the same bits for 1 and 2 threads on each path. test_nn.c has
   the general cases. */
#define UNIT_SEED 11
#include "unit.h"
#include <string.h>
#include "nn.h"
#include "conv_ref.h"

#define ARGS(s0, s1, p0, p1, d0, d1, gr) {{s0, s1}, {p0, p1}, {d0, d1}, gr}

static void near(const sd_tensor *t, const double *ref, double tol) {
  for (int64_t i = 0, n = sd_numel(t); i < n; i++)
    ck_assert_msg(fabs(sd_get_flat(t, i) - ref[i]) <= tol * (1 + fabs(ref[i])),
                  "element %lld: %.17g, expected %.17g", (long long)i, sd_get_flat(t, i), ref[i]);
}

static bool same_bits(const sd_tensor *a, const sd_tensor *b) {
  return sd_numel(a) == sd_numel(b) &&
         memcmp(sd_data(a), sd_data(b), sd_numel(a) * sd_dtype_size(a->dtype)) == 0;
}

/* Forward and backward against the reference, on 1 and 2 threads, which
   must agree bit for bit. */
static void check(const conv_case *c, sd_dtype dt, double tol) {
  sd_tensor *x = UNIT_RAND(dt, c->n, c->cin, c->h, c->w);
  sd_tensor *w = UNIT_RAND(dt, c->cout, c->cin / c->a.groups, c->kh, c->kw), *b = UNIT_RAND(dt, c->cout);
  sd_tensor *y[2], *gx[2], *gw[2], *gb[2], *g = NULL;
  for (int t = 0; t < 2; t++) {
    sd_set_num_threads(t + 1);
    y[t] = sd_conv2d(x, w, b, &c->a);
    ck_assert_msg(y[t] != NULL, "%s", sd_errmsg());
    if (!g) g = unit_rand(dt, 4, y[t]->shape);
    ck_assert_int_eq(sd_conv2d_backward(g, x, w, &c->a, &gx[t], &gw[t], &gb[t]), SD_OK);
  }
  double *ry = malloc(sd_numel(y[0]) * 8), *rgx = malloc(sd_numel(x) * 8);
  double *rgw = malloc(sd_numel(w) * 8), *rgb = malloc(c->cout * 8);
  conv_ref(c, x, w, b, g, ry, rgx, rgw, rgb);
  near(y[0], ry, tol);
  near(gx[0], rgx, tol);
  near(gw[0], rgw, tol * 10);
  near(gb[0], rgb, tol * 10);
  ck_assert(same_bits(y[0], y[1]));
  ck_assert(same_bits(gx[0], gx[1]));
  ck_assert(same_bits(gw[0], gw[1]));
  ck_assert(same_bits(gb[0], gb[1]));
  /* each gradient alone: the same bits */
  sd_tensor *gx1, *gw1, *gb1;
  ck_assert_int_eq(sd_conv2d_backward(g, x, w, &c->a, &gx1, NULL, NULL), SD_OK);
  ck_assert_int_eq(sd_conv2d_backward(g, x, w, &c->a, NULL, &gw1, NULL), SD_OK);
  ck_assert_int_eq(sd_conv2d_backward(g, x, w, &c->a, NULL, NULL, &gb1), SD_OK);
  ck_assert(same_bits(gx1, gx[0]));
  ck_assert(same_bits(gw1, gw[0]));
  ck_assert(same_bits(gb1, gb[0]));
  sd_release(gx1); sd_release(gw1); sd_release(gb1);
  for (int t = 0; t < 2; t++) { sd_release(y[t]); sd_release(gx[t]); sd_release(gw[t]); sd_release(gb[t]); }
  free(ry); free(rgx); free(rgw); free(rgb);
  sd_release(x); sd_release(w); sd_release(b); sd_release(g);
}

static void check_all(const conv_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    check(&cases[i], SD_F64, 1e-12);
    check(&cases[i], SD_F32, 1e-4);
  }
}

START_TEST(one_sample_chunks) { /* OH OW >= 1024: GEMMs in place */
  conv_case cases[] = {
    {3, 2, 34, 34, 5, 3, 3, ARGS(1, 1, 0, 0, 1, 1, 1)},
    {2, 3, 33, 35, 4, 3, 3, ARGS(1, 1, 1, 1, 1, 1, 1)},   /* odd sizes, padding */
    {2, 4, 65, 67, 6, 3, 2, ARGS(2, 1, 1, 0, 1, 2, 2)},   /* stride, dilation, groups */
    {1, 3, 40, 41, 3, 5, 5, ARGS(1, 1, 2, 2, 1, 1, 3)},   /* depthwise, one sample */
  };
  check_all(cases, sizeof cases / sizeof *cases);
}
END_TEST

START_TEST(pointwise) { /* 1x1 stride 1: the input is the columns */
  conv_case cases[] = {
    {3, 5, 33, 31, 7, 1, 1, ARGS(1, 1, 0, 0, 1, 1, 1)},   /* one sample per chunk */
    {2, 6, 32, 40, 4, 1, 1, ARGS(1, 1, 0, 0, 3, 2, 2)},   /* groups; dilation does nothing */
    {9, 5, 7, 9, 3, 1, 1, ARGS(1, 1, 0, 0, 1, 1, 1)},     /* several samples per chunk */
    {3, 4, 33, 33, 4, 1, 1, ARGS(2, 2, 0, 0, 1, 1, 1)},   /* strided: the general path */
    {3, 4, 32, 32, 4, 1, 1, ARGS(1, 1, 1, 1, 1, 1, 2)},   /* padded: the general path */
  };
  check_all(cases, sizeof cases / sizeof *cases);
}
END_TEST

START_TEST(winograd) { /* 3x3 stride 1, >= 8 channels per group */
  conv_case cases[] = {
    {3, 8, 11, 13, 8, 3, 3, ARGS(1, 1, 0, 0, 1, 1, 1)},   /* odd output 9x11: half tiles */
    {2, 8, 9, 10, 16, 3, 3, ARGS(1, 1, 1, 1, 1, 1, 1)},   /* padding 1: the input gradient too */
    {2, 9, 7, 8, 10, 3, 3, ARGS(1, 1, 2, 1, 1, 1, 1)},    /* padding 2 and 1 */
    {2, 16, 6, 7, 16, 3, 3, ARGS(1, 1, 1, 1, 1, 1, 2)},   /* groups */
    {2, 8, 34, 33, 8, 3, 3, ARGS(1, 1, 1, 1, 1, 1, 1)},   /* 289 tiles: a chunk per sample */
    {40, 8, 3, 4, 8, 3, 3, ARGS(1, 1, 0, 0, 1, 1, 1)},    /* 1x2 outputs, 40 samples in 2 chunks */
    {3, 8, 6, 6, 8, 3, 3, ARGS(1, 1, 0, 0, 2, 1, 1)},     /* dilated: the general path */
  };
  check_all(cases, sizeof cases / sizeof *cases);
}
END_TEST

START_TEST(short_rows) { /* output rows of 1 to 20 elements: every piece of the row copy */
  for (int64_t wd = 1; wd <= 20; wd++) {
    conv_case c = {5, 2, 6, wd + 2, 3, 3, 3, ARGS(1, 1, 0, 1, 1, 1, 1)};
    check(&c, SD_F32, 1e-4);
    check(&c, SD_F64, 1e-12);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("conv");
  TCase *tc = tcase_create("conv");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, one_sample_chunks);
  tcase_add_test(tc, pointwise);
  tcase_add_test(tc, winograd);
  tcase_add_test(tc, short_rows);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
