/* test_conv_pool.c: pooling over tiled windows (kernel = stride, no
   padding: 2x2 pooling), which has its own loops, against a naive loop to
   the bit: max values and 1-based indices (NaN and -inf included), average
   sums in f64 in window order, both backwards; odd sizes that leave rows
   and columns out, f32 and f64, 1 and 2 threads. test_nn.c has the rest. */
#define UNIT_SEED 5
#include "unit.h"
#include <string.h>
#include "nn.h"

/* Random values with a few NaN, -inf and repeated values among them. */
static sd_tensor *rnd(sd_dtype dt, int64_t n, int64_t c, int64_t h, int64_t w) {
  sd_tensor *t = sd_empty(dt, 4, (int64_t[]){n, c, h, w});
  ck_assert_ptr_nonnull(t);
  for (int64_t i = 0, m = sd_numel(t); i < m; i++) {
    double v = unit_urand(), u = unit_urand();
    if (u > 0.97) v = NAN;
    else if (u > 0.94) v = -INFINITY;
    else if (u > 0.90) v = 0.5;
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), v);
  }
  return t;
}

static bool same(double a, double b) { return a == b || (a != a && b != b); }

static void check(sd_dtype dt, int64_t h, int64_t w, int64_t k0, int64_t k1) {
  sd_pool2d_args a = {{k0, k1}, {k0, k1}, {0, 0}, {1, 1}, false, true};
  sd_tensor *x = rnd(dt, 3, 2, h, w), *idx[2], *m[2], *av[2], *gm[2], *ga[2];
  int64_t oh = h / k0, ow = w / k1, planes = 6, no = planes * oh * ow;
  sd_tensor *g = sd_empty(dt, 4, (int64_t[]){3, 2, oh, ow});
  for (int64_t i = 0; i < no; i++) sd_set_ptr(dt, (char *)sd_data(g) + i * (int64_t)sd_dtype_size(dt), unit_urand());
  for (int t = 0; t < 2; t++) {
    sd_set_num_threads(t + 1);
    m[t] = sd_max_pool2d(x, &a, &idx[t]);
    av[t] = sd_avg_pool2d(x, &a);
    ck_assert_msg(m[t] && av[t], "%s", sd_errmsg());
    gm[t] = sd_max_pool2d_backward(g, idx[t], 4, x->shape);
    ga[t] = sd_avg_pool2d_backward(g, &a, 4, x->shape);
    ck_assert_msg(gm[t] && ga[t], "%s", sd_errmsg());
  }
  ck_assert_int_eq(m[0]->shape[2], oh);
  ck_assert_int_eq(m[0]->shape[3], ow);
  double *rga = calloc(planes * h * w, 8), *rgm = calloc(planes * h * w, 8);
  for (int64_t p = 0; p < planes; p++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++) {
        double mx = -INFINITY, s = 0;
        int64_t mi = i * k0 * w + j * k1;
        for (int64_t r = 0; r < k0; r++)
          for (int64_t c = 0; c < k1; c++) {
            int64_t at = (i * k0 + r) * w + j * k1 + c;
            double v = sd_get_flat(x, p * h * w + at);
            if (v > mx || v != v) mx = v, mi = at;
            s += v;
          }
        int64_t o = (p * oh + i) * ow + j;
        double gv = sd_get_flat(g, o);
        ck_assert_msg(same(sd_get_flat(m[0], o), mx), "max %lld", (long long)o);
        ck_assert_int_eq(((int64_t *)sd_data(idx[0]))[o], mi + 1);
        ck_assert_msg(same(sd_get_flat(av[0], o), dt == SD_F32 ? (float)(s / (k0 * k1)) : s / (k0 * k1)),
                      "avg %lld", (long long)o);
        rgm[p * h * w + mi] += gv;
        for (int64_t r = 0; r < k0; r++)
          for (int64_t c = 0; c < k1; c++) rga[p * h * w + (i * k0 + r) * w + j * k1 + c] = gv / (k0 * k1);
      }
  for (int64_t i = 0; i < planes * h * w; i++) {
    double ra = dt == SD_F32 ? (float)rga[i] : rga[i], rm = dt == SD_F32 ? (float)rgm[i] : rgm[i];
    ck_assert_msg(sd_get_flat(ga[0], i) == ra, "avg backward %lld", (long long)i);
    ck_assert_msg(sd_get_flat(gm[0], i) == rm, "max backward %lld", (long long)i);
  }
  size_t es = sd_dtype_size(dt);
  ck_assert_int_eq(memcmp(sd_data(m[0]), sd_data(m[1]), no * es), 0);
  ck_assert_int_eq(memcmp(sd_data(av[0]), sd_data(av[1]), no * es), 0);
  ck_assert_int_eq(memcmp(sd_data(idx[0]), sd_data(idx[1]), no * 8), 0);
  ck_assert_int_eq(memcmp(sd_data(ga[0]), sd_data(ga[1]), planes * h * w * es), 0);
  free(rga); free(rgm);
  for (int t = 0; t < 2; t++) {
    sd_release(m[t]); sd_release(idx[t]); sd_release(av[t]); sd_release(gm[t]); sd_release(ga[t]);
  }
  sd_release(x); sd_release(g);
}

START_TEST(tiled_vs_naive) {
  int64_t sizes[][4] = {{26, 26, 2, 2}, {7, 9, 2, 2}, {9, 10, 3, 3}, {8, 9, 2, 3}, {5, 5, 1, 1},
                        {4, 300, 2, 1}}; /* the last: rows of 300 outputs, two blocks of lanes */
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    check(SD_F32, sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3]);
    check(SD_F64, sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3]);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("conv_pool");
  TCase *tc = tcase_create("conv_pool");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, tiled_vs_naive);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
