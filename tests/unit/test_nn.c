/* test_nn.c: the nn kernels against naive f64 loops: conv2d forward and
   backward (stride, padding, dilation, groups, several sample chunks),
   pools, batch and layer norm, cross-entropy; same bits for any thread
   count; errors. */
#define UNIT_SEED 7
#include "unit.h"
#include <string.h>
#include "nn.h"
#include "conv_ref.h"

static double get(const sd_tensor *t, int64_t i) { return sd_get_flat(t, i); }

static double max_err(const sd_tensor *a, const double *ref, int64_t n) {
  ck_assert_int_eq(sd_numel(a), n);
  double e = 0;
  for (int64_t i = 0; i < n; i++) e = fmax(e, fabs(get(a, i) - ref[i]));
  return e;
}

/* --- conv2d (conv_ref.h: the reference) --- */

static void conv_check(const conv_case *c, sd_dtype dt, double tol) {
  sd_tensor *x = UNIT_RAND(dt, c->n, c->cin, c->h, c->w);
  sd_tensor *w = UNIT_RAND(dt, c->cout, c->cin / c->a.groups, c->kh, c->kw);
  sd_tensor *b = UNIT_RAND(dt, c->cout);
  sd_tensor *y = sd_conv2d(x, w, b, &c->a);
  ck_assert_msg(y != NULL, "%s", sd_errmsg());
  sd_tensor *g = unit_rand(dt, 4, y->shape);
  int64_t ny = sd_numel(y), nx = sd_numel(x), nw = sd_numel(w);
  double *ry = malloc(ny * 8), *rgx = malloc(nx * 8), *rgw = malloc(nw * 8), *rgb = malloc(c->cout * 8);
  conv_ref(c, x, w, b, g, ry, rgx, rgw, rgb);
  ck_assert_double_le(max_err(y, ry, ny), tol);
  sd_tensor *gx, *gw, *gb;
  ck_assert_int_eq(sd_conv2d_backward(g, x, w, &c->a, &gx, &gw, &gb), SD_OK);
  ck_assert_double_le(max_err(gx, rgx, nx), tol);
  ck_assert_double_le(max_err(gw, rgw, nw), tol * 10);
  ck_assert_double_le(max_err(gb, rgb, c->cout), tol * 10);
  sd_release(gx); sd_release(gw); sd_release(gb);
  /* only the weight gradient: the same numbers */
  ck_assert_int_eq(sd_conv2d_backward(g, x, w, &c->a, NULL, &gw, NULL), SD_OK);
  ck_assert_double_le(max_err(gw, rgw, nw), tol * 10);
  sd_release(gw);
  free(ry); free(rgx); free(rgw); free(rgb);
  sd_release(x); sd_release(w); sd_release(b); sd_release(y); sd_release(g);
}

#define ARGS(s0, s1, p0, p1, d0, d1, gr) {{s0, s1}, {p0, p1}, {d0, d1}, gr}

START_TEST(conv_vs_naive) {
  conv_case cases[] = {
    {2, 3, 7, 6, 4, 3, 3, ARGS(1, 1, 0, 0, 1, 1, 1)},
    {2, 3, 7, 6, 4, 3, 2, ARGS(2, 1, 1, 2, 1, 1, 1)},
    {1, 2, 9, 8, 3, 3, 3, ARGS(1, 2, 2, 1, 2, 3, 1)},
    {3, 4, 5, 5, 6, 2, 2, ARGS(1, 1, 1, 1, 1, 1, 2)},
    {2, 4, 5, 5, 4, 3, 3, ARGS(2, 2, 1, 1, 1, 1, 4)},  /* depthwise */
    {2, 6, 4, 3, 4, 1, 1, ARGS(1, 1, 0, 0, 1, 1, 2)},  /* 1x1 */
    {11, 2, 36, 36, 3, 3, 3, ARGS(1, 1, 0, 0, 1, 1, 1)}, /* one sample per chunk, 11 chunks in 8 runs */
    {40, 2, 9, 9, 3, 3, 3, ARGS(1, 1, 1, 1, 1, 1, 1)},  /* 12 samples per chunk, a short last one */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    conv_check(&cases[i], SD_F64, 1e-12);
    conv_check(&cases[i], SD_F32, 1e-4);
  }
}
END_TEST

START_TEST(conv_3d_and_empty) {
  sd_conv2d_args a = ARGS(1, 1, 1, 1, 1, 1, 1);
  sd_tensor *x = UNIT_RAND(SD_F64, 2, 5, 5), *w = UNIT_RAND(SD_F64, 3, 2, 3, 3);
  sd_tensor *x4 = sd_unsqueeze(x, 0);
  sd_tensor *y = sd_conv2d(x, w, NULL, &a), *y4 = sd_conv2d(x4, w, NULL, &a);
  ck_assert_int_eq(y->ndim, 3);
  for (int64_t i = 0; i < sd_numel(y); i++) ck_assert_double_eq(get(y, i), get(y4, i));
  sd_tensor *e = sd_zeros(SD_F64, 4, (int64_t[]){0, 2, 5, 5});
  sd_tensor *ye = sd_conv2d(e, w, NULL, &a), *gx, *gw, *gb;
  ck_assert_int_eq(ye->shape[0], 0);
  ck_assert_int_eq(sd_conv2d_backward(ye, e, w, &a, &gx, &gw, &gb), SD_OK);
  ck_assert_int_eq(sd_numel(gx), 0);
  for (int64_t i = 0; i < sd_numel(gw); i++) ck_assert_double_eq(get(gw, i), 0);
  sd_release(gx); sd_release(gw); sd_release(gb);
  sd_release(x); sd_release(w); sd_release(x4); sd_release(y); sd_release(y4); sd_release(e); sd_release(ye);
}
END_TEST

START_TEST(conv_same_bits_any_threads) {
  sd_conv2d_args a = ARGS(1, 1, 1, 1, 1, 1, 1);
  sd_tensor *x = UNIT_RAND(SD_F32, 64, 8, 20, 20), *w = UNIT_RAND(SD_F32, 16, 8, 3, 3);
  sd_tensor *g = UNIT_RAND(SD_F32, 64, 16, 20, 20), *gw[2], *gb[2], *gx[2];
  for (int t = 0; t < 2; t++) {
    sd_set_num_threads(t ? 2 : 1);
    ck_assert_int_eq(sd_conv2d_backward(g, x, w, &a, &gx[t], &gw[t], &gb[t]), SD_OK);
  }
  ck_assert_int_eq(memcmp(sd_data(gw[0]), sd_data(gw[1]), sd_numel(gw[0]) * 4), 0);
  ck_assert_int_eq(memcmp(sd_data(gb[0]), sd_data(gb[1]), sd_numel(gb[0]) * 4), 0);
  ck_assert_int_eq(memcmp(sd_data(gx[0]), sd_data(gx[1]), sd_numel(gx[0]) * 4), 0);
  for (int t = 0; t < 2; t++) { sd_release(gw[t]); sd_release(gb[t]); sd_release(gx[t]); }
  sd_release(x); sd_release(w); sd_release(g);
}
END_TEST

START_TEST(conv_errors) {
  sd_conv2d_args a = ARGS(1, 1, 0, 0, 1, 1, 1);
  sd_tensor *x = sd_zeros(SD_F32, 4, (int64_t[]){2, 4, 28, 28}), *w = sd_zeros(SD_F32, 4, (int64_t[]){8, 3, 3, 3});
  ck_assert_ptr_null(sd_conv2d(x, w, NULL, &a));
  ck_assert_str_eq(sd_errmsg(), "conv2d: weight [8,3,3,3] expects 3 input channels, input [2,4,28,28] has 4");
  sd_tensor *wd = sd_zeros(SD_F64, 4, (int64_t[]){8, 4, 3, 3});
  ck_assert_ptr_null(sd_conv2d(x, wd, NULL, &a));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "same dtype"));
  a.stride[0] = 0;
  ck_assert_ptr_null(sd_conv2d(x, w, NULL, &a));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "stride"));
  sd_release(x); sd_release(w); sd_release(wd);
}
END_TEST

/* --- pools --- */

static void pool_ref(const sd_tensor *x, const sd_pool2d_args *a, int64_t oh, int64_t ow, bool max,
                     double *out, int64_t *idx) {
  int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
  for (int64_t p = 0; p < planes; p++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++) {
        double m = -INFINITY, s = 0;
        int64_t mi = -1, cnt = 0, padded = 0;
        for (int64_t ki = 0; ki < a->kernel[0]; ki++)
          for (int64_t kj = 0; kj < a->kernel[1]; kj++) {
            int64_t ih = i * a->stride[0] - a->padding[0] + ki * a->dilation[0];
            int64_t iw = j * a->stride[1] - a->padding[1] + kj * a->dilation[1];
            if (ih < h + a->padding[0] && iw < w + a->padding[1]) padded++;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            double v = get(x, (p * h + ih) * w + iw);
            if (v > m) { m = v; mi = ih * w + iw; }
            s += v;
            cnt++;
          }
        int64_t o = (p * oh + i) * ow + j;
        if (max) { out[o] = m; idx[o] = mi + 1; }
        else out[o] = s / (double)(a->count_include_pad ? padded : cnt);
      }
}

START_TEST(pools_vs_naive) {
  sd_pool2d_args cases[] = {
    {{2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true},
    {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true},
    {{3, 2}, {1, 2}, {1, 0}, {1, 1}, true, false},
    {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true, true},
    {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false},
  };
  sd_tensor *x = UNIT_RAND(SD_F64, 2, 3, 7, 6);
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    sd_pool2d_args *a = &cases[c];
    sd_tensor *idx, *m = sd_max_pool2d(x, a, &idx), *av = sd_avg_pool2d(x, a);
    ck_assert_msg(m && av, "%s", sd_errmsg());
    int64_t n = sd_numel(m), oh = m->shape[2], ow = m->shape[3];
    double *ref = malloc(n * 8);
    int64_t *ri = malloc(n * 8);
    pool_ref(x, a, oh, ow, true, ref, ri);
    ck_assert_double_eq(max_err(m, ref, n), 0);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(((int64_t *)sd_data(idx))[i], ri[i]);
    pool_ref(x, a, oh, ow, false, ref, ri);
    ck_assert_double_le(max_err(av, ref, n), 1e-12);
    /* avg backward is the adjoint: <avg(x), g> = <x, avg_bw(g)> */
    sd_tensor *g = unit_rand(SD_F64, 4, av->shape);
    sd_tensor *gx = sd_avg_pool2d_backward(g, a, 4, x->shape);
    double l = 0, r = 0;
    for (int64_t i = 0; i < n; i++) l += get(av, i) * get(g, i);
    for (int64_t i = 0; i < sd_numel(x); i++) r += get(x, i) * get(gx, i);
    ck_assert_double_le(fabs(l - r), 1e-12);
    /* max backward puts each gradient at its maximum */
    sd_tensor *gm = sd_max_pool2d_backward(g, idx, 4, x->shape);
    double sg = 0, sm = 0;
    for (int64_t i = 0; i < n; i++) sg += get(g, i);
    for (int64_t i = 0; i < sd_numel(gm); i++) sm += get(gm, i);
    ck_assert_double_le(fabs(sg - sm), 1e-12);
    free(ref); free(ri);
    sd_release(m); sd_release(idx); sd_release(av); sd_release(g); sd_release(gx); sd_release(gm);
  }
  sd_release(x);
}
END_TEST

START_TEST(adaptive_vs_naive) {
  sd_tensor *x = UNIT_RAND(SD_F32, 1, 2, 5, 7), *y = sd_adaptive_avg_pool2d(x, 3, 2);
  for (int64_t p = 0; p < 2; p++)
    for (int64_t i = 0; i < 3; i++)
      for (int64_t j = 0; j < 2; j++) {
        int64_t h0 = i * 5 / 3, h1 = ((i + 1) * 5 + 2) / 3, w0 = j * 7 / 2, w1 = ((j + 1) * 7 + 1) / 2;
        double s = 0;
        for (int64_t a = h0; a < h1; a++)
          for (int64_t b = w0; b < w1; b++) s += get(x, (p * 5 + a) * 7 + b);
        ck_assert_double_le(fabs(get(y, (p * 3 + i) * 2 + j) - s / ((h1 - h0) * (w1 - w0))), 1e-6);
      }
  sd_release(x); sd_release(y);
}
END_TEST

START_TEST(max_pool_nan_wins) {
  sd_tensor *x = sd_full(SD_F32, 4, (int64_t[]){1, 1, 2, 2}, 1);
  ((float *)sd_data(x))[2] = NAN;
  sd_pool2d_args a = {{2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true};
  sd_tensor *idx, *m = sd_max_pool2d(x, &a, &idx);
  ck_assert(isnan(get(m, 0)));
  ck_assert_int_eq(((int64_t *)sd_data(idx))[0], 3);
  sd_release(x); sd_release(m); sd_release(idx);
}
END_TEST

/* --- norms --- */

START_TEST(batch_norm_formula) {
  sd_tensor *x = UNIT_RAND(SD_F64, 4, 3, 5), *w = UNIT_RAND(SD_F64, 3), *b = UNIT_RAND(SD_F64, 3);
  sd_tensor *rm = sd_zeros(SD_F32, 1, (int64_t[]){3}), *rv = sd_full(SD_F32, 1, (int64_t[]){3}, 1);
  sd_tensor *mean, *invstd, *y = sd_batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5, &mean, &invstd);
  ck_assert_ptr_nonnull(y);
  for (int64_t c = 0; c < 3; c++) {
    double s = 0, q = 0;
    for (int64_t n = 0; n < 4; n++)
      for (int64_t i = 0; i < 5; i++) s += get(x, (n * 3 + c) * 5 + i);
    double mu = s / 20;
    for (int64_t n = 0; n < 4; n++)
      for (int64_t i = 0; i < 5; i++) q += pow(get(x, (n * 3 + c) * 5 + i) - mu, 2);
    ck_assert_double_le(fabs(get(mean, c) - mu), 1e-12);
    ck_assert_double_le(fabs(get(rm, c) - 0.1 * mu), 1e-7);
    ck_assert_double_le(fabs(get(rv, c) - (0.9 + 0.1 * q / 19)), 1e-6);
    for (int64_t n = 0; n < 4; n++)
      for (int64_t i = 0; i < 5; i++) {
        int64_t k = (n * 3 + c) * 5 + i;
        double want = (get(x, k) - mu) / sqrt(q / 20 + 1e-5) * get(w, c) + get(b, c);
        ck_assert_double_le(fabs(get(y, k) - want), 1e-12);
      }
  }
  /* training backward: the x gradient of a constant gradient is 0 */
  sd_tensor *g = sd_full(SD_F64, 3, x->shape, 2), *gx, *gw, *gb;
  ck_assert_int_eq(sd_batch_norm_backward(g, x, w, mean, invstd, true, &gx, &gw, &gb), SD_OK);
  for (int64_t i = 0; i < sd_numel(gx); i++) ck_assert_double_le(fabs(get(gx, i)), 1e-12);
  for (int64_t c = 0; c < 3; c++) ck_assert_double_le(fabs(get(gb, c) - 40), 1e-12);
  sd_release(g); sd_release(gx); sd_release(gw); sd_release(gb);
  sd_release(x); sd_release(w); sd_release(b); sd_release(rm); sd_release(rv);
  sd_release(mean); sd_release(invstd); sd_release(y);
}
END_TEST

START_TEST(layer_norm_formula) {
  sd_tensor *x = UNIT_RAND(SD_F32, 3, 2, 4), *mean, *invstd;
  sd_tensor *y = sd_layer_norm(x, 2, NULL, NULL, 0, &mean, &invstd);
  for (int64_t r = 0; r < 3; r++) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < 8; i++) { s += get(y, r * 8 + i); q += pow(get(y, r * 8 + i), 2); }
    ck_assert_double_le(fabs(s), 1e-5);
    ck_assert_double_le(fabs(q / 8 - 1), 1e-5);
  }
  sd_tensor *g = UNIT_RAND(SD_F32, 3, 2, 4), *gx, *gw, *gb;
  sd_tensor *w = sd_full(SD_F32, 2, (int64_t[]){2, 4}, 1);
  ck_assert_int_eq(sd_layer_norm_backward(g, x, 2, w, mean, invstd, &gx, &gw, &gb), SD_OK);
  ck_assert_int_eq(gw->ndim, 2);
  for (int64_t j = 0; j < 8; j++) {
    double s = 0;
    for (int64_t r = 0; r < 3; r++) s += get(g, r * 8 + j);
    ck_assert_double_le(fabs(get(gb, j) - s), 1e-5);
  }
  sd_release(g); sd_release(gx); sd_release(gw); sd_release(gb); sd_release(w);
  sd_release(x); sd_release(y); sd_release(mean); sd_release(invstd);
}
END_TEST

/* --- cross-entropy --- */

START_TEST(cross_entropy_formula_and_gradient) {
  sd_tensor *x = UNIT_RAND(SD_F64, 6, 5), *w = sd_empty(SD_F64, 1, (int64_t[]){5});
  sd_tensor *t = sd_empty(SD_I64, 1, (int64_t[]){6});
  int64_t tv[6] = {1, 5, 3, 2, 5, 4};
  memcpy(sd_data(t), tv, sizeof tv);
  for (int k = 0; k < 5; k++) ((double *)sd_data(w))[k] = 0.5 + k;
  sd_class_loss_args a = {.weight = w, .label_smoothing = 0.15, .reduction = SD_REDUCE_MEAN,
                          .has_ignore = true, .ignore_index = 2};
  double num = 0, den = 0;
  for (int i = 0; i < 6; i++) {
    if (tv[i] == 2) continue;
    double m = -INFINITY, s = 0;
    for (int k = 0; k < 5; k++) m = fmax(m, get(x, i * 5 + k));
    for (int k = 0; k < 5; k++) s += exp(get(x, i * 5 + k) - m);
    double lse = m + log(s), sm = 0, wt = 0.5 + tv[i] - 1;
    for (int k = 0; k < 5; k++) sm -= (0.5 + k) * (get(x, i * 5 + k) - lse);
    num += 0.85 * -wt * (get(x, i * 5 + tv[i] - 1) - lse) + 0.15 / 5 * sm;
    den += wt;
  }
  sd_tensor *l = sd_cross_entropy(x, t, &a);
  ck_assert_double_le(fabs(get(l, 0) - num / den), 1e-12);
  /* the gradient against central differences */
  sd_tensor *one = sd_scalar(SD_F64, 1), *gx = sd_cross_entropy_backward(one, x, t, &a);
  for (int64_t i = 0; i < 30; i++) {
    double *p = (double *)sd_data(x) + i, v = *p;
    *p = v + 1e-6;
    sd_tensor *lp = sd_cross_entropy(x, t, &a);
    *p = v - 1e-6;
    sd_tensor *lm = sd_cross_entropy(x, t, &a);
    *p = v;
    ck_assert_double_le(fabs(get(gx, i) - (get(lp, 0) - get(lm, 0)) / 2e-6), 1e-7);
    sd_release(lp); sd_release(lm);
  }
  t->storage->version++;
  ((int64_t *)sd_data(t))[0] = 6;
  ck_assert_ptr_null(sd_cross_entropy(x, t, &a));
  ck_assert_str_eq(sd_errmsg(), "cross_entropy: target 6 is out of range for 5 classes (1-based)");
  sd_release(one); sd_release(gx); sd_release(l); sd_release(x); sd_release(w); sd_release(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("nn");
  TCase *tc = tcase_create("nn");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, conv_vs_naive);
  tcase_add_test(tc, conv_3d_and_empty);
  tcase_add_test(tc, conv_same_bits_any_threads);
  tcase_add_test(tc, conv_errors);
  tcase_add_test(tc, pools_vs_naive);
  tcase_add_test(tc, adaptive_vs_naive);
  tcase_add_test(tc, max_pool_nan_wins);
  tcase_add_test(tc, batch_norm_formula);
  tcase_add_test(tc, layer_norm_formula);
  tcase_add_test(tc, cross_entropy_formula_and_gradient);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
