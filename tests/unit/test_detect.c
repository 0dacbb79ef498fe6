/* test_detect.c: the ranking kernels (rank.c) against naive f64 loops:
   pairwise Mann-Whitney AUROC and step-sum AP over distinct thresholds, on
   tied random scores, size-1 classes, strided and broadcast inputs, label
   dtypes, errors, and identical results for 1 and 2 threads. */
#include "unit.h"
#include "parallel.h"
#include "../ml/detect.h"
#include <string.h>

static uint64_t lcg(uint64_t *st) {
  *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
  return *st >> 33;
}

/* n scores in levels steps (0: continuous) and labels with positives where
   lcg % 10 < pos10; the first is positive, the last negative. */
static void make(int64_t n, int levels, int pos10, uint64_t seed, sd_tensor **s, sd_tensor **y) {
  *s = sd_empty(SD_F64, 1, &n);
  *y = sd_empty(SD_I64, 1, &n);
  double *sv = sd_data(*s);
  int64_t *yv = sd_data(*y);
  for (int64_t i = 0; i < n; i++) {
    sv[i] = levels ? (double)(lcg(&seed) % levels) / levels - 0.5 : (double)lcg(&seed) / 4e9 - 0.5;
    yv[i] = (int64_t)(lcg(&seed) % 10) < pos10;
  }
  yv[0] = 1;
  yv[n - 1] = 0;
}

static double naive_auroc(const double *s, const int64_t *y, int64_t n) {
  double u = 0, P = 0, N = 0;
  for (int64_t i = 0; i < n; i++) {
    P += y[i]; N += !y[i];
    for (int64_t j = 0; j < n; j++)
      if (y[i] && !y[j]) u += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
  }
  return u / (P * N);
}

static double naive_ap(const double *s, const int64_t *y, int64_t n) {
  double ap = 0, r0 = 0, P = 0, prev = INFINITY;
  for (int64_t i = 0; i < n; i++) P += y[i];
  for (;;) { /* the next distinct threshold below prev */
    double t = -INFINITY;
    for (int64_t i = 0; i < n; i++) if (s[i] < prev && s[i] > t) t = s[i];
    if (t == -INFINITY) break;
    double tp = 0, fp = 0;
    for (int64_t i = 0; i < n; i++) if (s[i] >= t) { tp += y[i]; fp += !y[i]; }
    ap += (tp / P - r0) * tp / (tp + fp);
    r0 = tp / P;
    prev = t;
  }
  return ap;
}

START_TEST(auroc_ap_match_naive) {
  static const int64_t sizes[] = {2, 3, 17, 256, 1000};
  static const int levels[] = {1, 2, 5, 0};
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 4; b++)
      for (int p = 1; p <= 9; p += 4) {
        sd_tensor *s, *y;
        make(sizes[a], levels[b], p, 11 + a * 7 + b, &s, &y);
        double v, w;
        ck_assert_int_eq(sd_rank_auroc(s, y, &v), SD_OK);
        w = naive_auroc(sd_data(s), sd_data(y), sizes[a]);
        ck_assert_msg(fabs(v - w) < 1e-14, "auroc n=%lld: %.17g vs %.17g", (long long)sizes[a], v, w);
        ck_assert_int_eq(sd_rank_ap(s, y, &v), SD_OK);
        w = naive_ap(sd_data(s), sd_data(y), sizes[a]);
        ck_assert_msg(fabs(v - w) < 1e-12, "ap n=%lld: %.17g vs %.17g", (long long)sizes[a], v, w);
        sd_release(s);
        sd_release(y);
      }
}
END_TEST

START_TEST(strided_broadcast_and_dtypes) {
  sd_tensor *s, *y;
  make(64, 4, 5, 3, &s, &y);
  double base, v;
  ck_assert_int_eq(sd_rank_auroc(s, y, &base), SD_OK);
  /* transposed 8x8 views of both: same pairs, same AUROC */
  int64_t sh[2] = {8, 8};
  sd_tensor *s2 = sd_view(s, 2, sh), *y2 = sd_view(y, 2, sh);
  sd_tensor *st = sd_transpose(s2, 0, 1), *yt = sd_transpose(y2, 0, 1);
  ck_assert_int_eq(sd_rank_auroc(st, yt, &v), SD_OK);
  ck_assert(v == base);
  /* f32 scores and bool labels */
  sd_tensor *s32 = sd_to_dtype(s, SD_F32), *yb = sd_to_dtype(y, SD_BOOL);
  ck_assert_int_eq(sd_rank_auroc(s32, yb, &v), SD_OK);
  ck_assert(v == base);
  /* a broadcast (stride 0) score: every pair ties */
  int64_t n = 64;
  sd_tensor *one = sd_scalar(SD_F64, 2.5), *flat = sd_expand(one, 1, &n);
  ck_assert_int_eq(sd_rank_auroc(flat, y, &v), SD_OK);
  ck_assert(v == 0.5);
  sd_tensor *t[] = {s, y, s2, y2, st, yt, s32, yb, one, flat};
  for (int i = 0; i < 10; i++) sd_release(t[i]);
}
END_TEST

START_TEST(curves_and_rates) {
  double sv[] = {.1, .5, .5, .9, .5, .5, .2, .3};
  int64_t yv[] = {0, 0, 1, 1, 0, 1, 0, 1}, n = 8;
  sd_tensor *s = sd_empty(SD_F64, 1, &n), *y = sd_empty(SD_I64, 1, &n);
  memcpy(sd_data(s), sv, sizeof sv);
  memcpy(sd_data(y), yv, sizeof yv);
  sd_tensor *f, *t, *h;
  ck_assert_int_eq(sd_rank_roc(s, y, true, &f, &t, &h), SD_OK);
  ck_assert_int_eq(sd_numel(f), 5);
  const double *fd = sd_data(f), *td = sd_data(t), *hd = sd_data(h);
  ck_assert(fd[2] == 0.5 && td[2] == 0.75 && hd[0] == 1.9 && hd[4] == 0.1);
  sd_release(f); sd_release(t); sd_release(h);
  ck_assert_int_eq(sd_rank_roc(s, y, false, &f, &t, &h), SD_OK);
  ck_assert_int_eq(sd_numel(f), 6);
  sd_release(f); sd_release(t); sd_release(h);
  ck_assert_int_eq(sd_rank_pr(s, y, &f, &t, &h), SD_OK);
  ck_assert_int_eq(sd_numel(f), 6);
  ck_assert_int_eq(sd_numel(h), 5);
  ck_assert(((double *)sd_data(f))[5] == 1 && ((double *)sd_data(t))[5] == 0);
  sd_release(f); sd_release(t); sd_release(h);
  double v;
  ck_assert_int_eq(sd_rank_fpr_at_tpr(s, y, 0.95, SD_RANK_FIRST_GE, &v), SD_OK);
  ck_assert(v == 0.5);
  ck_assert_int_eq(sd_rank_fpr_at_tpr(s, y, 0.3, SD_RANK_QUANTILE, &v), SD_OK);
  ck_assert(v == 0);
  ck_assert_int_eq(sd_rank_tpr_at_fpr(s, y, 0.5, true, &v), SD_OK);
  ck_assert(v == 0.25);
  ck_assert_int_eq(sd_rank_tpr_at_fpr(s, y, 0.5, false, &v), SD_OK);
  ck_assert(v == 1);
  sd_release(s); sd_release(y);
}
END_TEST

START_TEST(errors) {
  int64_t n = 4, m = 3;
  sd_tensor *s = sd_zeros(SD_F64, 1, &n), *y = sd_zeros(SD_I64, 1, &n), *y3 = sd_zeros(SD_I64, 1, &m);
  double v;
  ck_assert_int_ne(sd_rank_auroc(s, y3, &v), SD_OK);
  ck_assert_str_eq(sd_errmsg(), "auroc: scores [4] and labels [3] differ in size");
  ck_assert_int_ne(sd_rank_auroc(s, y, &v), SD_OK);
  ck_assert(strstr(sd_errmsg(), "only negatives"));
  ((int64_t *)sd_data(y))[1] = 3;
  ck_assert_int_ne(sd_rank_ap(s, y, &v), SD_OK);
  ck_assert_str_eq(sd_errmsg(), "aupr: labels must be 0 or 1, found 3 at position 2");
  ((int64_t *)sd_data(y))[1] = 1;
  ((double *)sd_data(s))[3] = NAN;
  ck_assert_int_ne(sd_rank_auroc(s, y, &v), SD_OK);
  ck_assert(strstr(sd_errmsg(), "position 4 is NaN"));
  ck_assert_int_ne(sd_rank_fpr_at_tpr(s, y, 2, SD_RANK_FIRST_GE, &v), SD_OK);
  int64_t z = 0;
  sd_tensor *e = sd_zeros(SD_F64, 1, &z);
  ck_assert_int_ne(sd_rank_auroc(e, e, &v), SD_OK);
  ck_assert_str_eq(sd_errmsg(), "auroc: no scores");
  sd_release(s); sd_release(y); sd_release(y3); sd_release(e);
}
END_TEST

START_TEST(threads_do_not_change_results) {
  sd_tensor *s, *y;
  make(50000, 0, 3, 5, &s, &y);
  double v1, v2, a1, a2;
  sd_pool_set_threads(1);
  ck_assert_int_eq(sd_rank_auroc(s, y, &v1), SD_OK);
  ck_assert_int_eq(sd_rank_ap(s, y, &a1), SD_OK);
  sd_pool_set_threads(2);
  ck_assert_int_eq(sd_rank_auroc(s, y, &v2), SD_OK);
  ck_assert_int_eq(sd_rank_ap(s, y, &a2), SD_OK);
  ck_assert(v1 == v2 && a1 == a2);
  sd_release(s); sd_release(y);
}
END_TEST

START_TEST(iforest_c_and_forest) {
  ck_assert(sd_iforest_c(1) == 0 && sd_iforest_c(2) == 1);
  ck_assert(fabs(sd_iforest_c(3) - (2 * (log(2.0) + 0.5772156649015329) - 4.0 / 3)) < 1e-15);
  int64_t sh[2] = {200, 3};
  sd_tensor *x = unit_iota(SD_F32, 2, sh), *r1, *r2;
  sd_pool_set_threads(1);
  sd_tensor *n1 = sd_iforest_fit(x, 10, 64, 9, &r1);
  sd_pool_set_threads(2);
  sd_tensor *n2 = sd_iforest_fit(x, 10, 64, 9, &r2);
  ck_assert_ptr_nonnull(n1);
  ck_assert(sd_same_shape(n1, n2));
  ck_assert(memcmp(sd_data(n1), sd_data(n2), (size_t)sd_numel(n1) * 8) == 0);
  /* every tree: at most 2 psi - 1 nodes, leaves hold psi rows in all */
  const double *nd = sd_data(n1);
  double rows = 0;
  for (int64_t k = 0; k < n1->shape[0]; k++) if (nd[4 * k] < 0) rows += nd[4 * k + 1];
  ck_assert(rows == 10 * 64);
  ck_assert_int_le(n1->shape[0], 10 * 127);
  sd_tensor *s = sd_iforest_score(n1, r1, x, 64);
  ck_assert_ptr_nonnull(s);
  const double *sv = sd_data(s);
  for (int64_t i = 0; i < 200; i++) ck_assert(sv[i] > 0 && sv[i] < 1);
  sd_tensor *none;
  ck_assert_ptr_null(sd_iforest_fit(x, 0, 64, 9, &none));
  int64_t one = 3;
  sd_tensor *v = sd_zeros(SD_F64, 1, &one);
  ck_assert_ptr_null(sd_iforest_fit(v, 10, 64, 9, &none));
  ck_assert_ptr_null(none);
  ck_assert(strstr(sd_errmsg(), "train must be [n, d]"));
  sd_tensor *t[] = {x, r1, r2, n1, n2, s, v};
  for (int i = 0; i < 7; i++) sd_release(t[i]);
}
END_TEST

START_TEST(knn_matches_brute_force) {
  int64_t sx[2] = {300, 7}, sb[2] = {500, 7};
  sd_tensor *x = sd_empty(SD_F64, 2, sx), *b = sd_empty(SD_F64, 2, sb), *d, *i;
  uint64_t st = 17;
  double *xv = sd_data(x), *bv = sd_data(b);
  for (int64_t k = 0; k < 300 * 7; k++) xv[k] = (double)(lcg(&st) % 1000) / 100;
  for (int64_t k = 0; k < 500 * 7; k++) bv[k] = (double)(lcg(&st) % 1000) / 100;
  memcpy(xv, bv + 7 * 42, 7 * sizeof *xv); /* query 0 is bank row 43 */
  ck_assert_int_eq(sd_knn(x, b, 5, &d, &i), SD_OK);
  const double *dv = sd_data(d);
  const int64_t *iv = sd_data(i);
  ck_assert(dv[0] == 0 && iv[0] == 43);
  for (int64_t r = 0; r < 300; r++) {
    double best[5] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
    for (int64_t q = 0; q < 500; q++) { /* the 5 smallest by insertion */
      double s = 0;
      for (int64_t c = 0; c < 7; c++) s += (xv[r * 7 + c] - bv[q * 7 + c]) * (xv[r * 7 + c] - bv[q * 7 + c]);
      s = sqrt(s);
      for (int a = 0; a < 5; a++) if (s < best[a]) { double t = best[a]; best[a] = s; s = t; }
    }
    for (int a = 0; a < 5; a++) ck_assert_msg(fabs(dv[r * 5 + a] - best[a]) < 1e-12, "row %lld", (long long)r);
  }
  /* ties by position, transposed input, errors */
  sd_tensor *xt = sd_transpose(b, 0, 1), *bad, *bad2;
  ck_assert_int_ne(sd_knn(xt, b, 1, &bad, &bad2), SD_OK);
  ck_assert_int_ne(sd_knn(x, b, 0, &bad, &bad2), SD_OK);
  ck_assert_int_ne(sd_knn(x, b, 65, &bad, &bad2), SD_OK);
  ck_assert_ptr_null(bad);
  sd_release(x); sd_release(b); sd_release(d); sd_release(i); sd_release(xt);
}
END_TEST

START_TEST(coreset_is_farthest_first) {
  int64_t sh[2] = {6, 1};
  double v[6] = {0, 1, 2, 10, 11, -5};
  sd_tensor *x = sd_empty(SD_F64, 2, sh);
  memcpy(sd_data(x), v, sizeof v);
  sd_tensor *c = sd_coreset(x, 6, 3), *c1 = sd_coreset(x, 3, 3);
  ck_assert_ptr_nonnull(c);
  const int64_t *o = sd_data(c), *o1 = sd_data(c1);
  int seen[7] = {0};
  for (int k = 0; k < 6; k++) { ck_assert(o[k] >= 1 && o[k] <= 6); seen[o[k]]++; }
  for (int k = 1; k <= 6; k++) ck_assert_int_eq(seen[k], 1);
  ck_assert(o1[0] == o[0] && o1[1] == o[1] && o1[2] == o[2]); /* prefixes agree */
  /* the second pick is the farthest from the first */
  double far = 0;
  for (int k = 0; k < 6; k++) if (fabs(v[k] - v[o[0] - 1]) > far) far = fabs(v[k] - v[o[0] - 1]);
  ck_assert(fabs(v[o[1] - 1] - v[o[0] - 1]) == far);
  ck_assert_ptr_null(sd_coreset(x, 7, 0));
  ck_assert_ptr_null(sd_coreset(x, 0, 0));
  sd_release(x); sd_release(c); sd_release(c1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("detect");
  TCase *tc = tcase_create("rank");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, auroc_ap_match_naive);
  tcase_add_test(tc, strided_broadcast_and_dtypes);
  tcase_add_test(tc, curves_and_rates);
  tcase_add_test(tc, errors);
  tcase_add_test(tc, threads_do_not_change_results);
  tcase_add_test(tc, iforest_c_and_forest);
  tcase_add_test(tc, knn_matches_brute_force);
  tcase_add_test(tc, coreset_is_farthest_first);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
