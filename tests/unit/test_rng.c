/* test_rng.c: Philox against the Random123 known answers, thread-count
   independence, the offset contract of rng.h, and the statistics of each
   distribution (mean/variance, chi-square) on fixed seeds. */
#include "unit.h"
#include <string.h>
#include "rng.h"
#include "parallel.h"

START_TEST(philox_known_answers) {
  /* Random123 tests/kat_vectors, "philox4x32 10": ctr, key -> out */
  static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
     0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
     0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int i = 0; i < 3; i++) {
    uint32_t out[4];
    sd_philox4x32_10(kat[i], kat[i] + 4, out);
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(out[k], kat[i][6 + k]);
  }
}
END_TEST

START_TEST(words_by_index) {
  /* any window of the stream equals the same slice of a long run, and
     word k is word k%4 of the block at counter (k/4, stream) */
  sd_gen g;
  sd_gen_init(&g, 0x0123456789abcdefULL, 5);
  uint32_t all[64], part[13];
  sd_gen_words(&g, 100, 64, all);
  for (int first = 0; first < 50; first += 7) {
    sd_gen_words(&g, 100 + (uint64_t)first, 13, part);
    ck_assert_int_eq(memcmp(part, all + first, sizeof part), 0);
  }
  uint32_t ctr[4] = {25, 0, 5, 0}, key[2] = {0x89abcdef, 0x01234567}, blk[4];
  sd_philox4x32_10(ctr, key, blk);
  ck_assert_int_eq(memcmp(blk, all, sizeof blk), 0);
}
END_TEST

typedef sd_status (*filler)(sd_tensor *t, sd_gen *g);
static sd_status f_unif(sd_tensor *t, sd_gen *g) { return sd_uniform_(t, g, -2, 3); }
static sd_status f_norm(sd_tensor *t, sd_gen *g) { return sd_normal_(t, g, 1, 2); }
static sd_status f_expo(sd_tensor *t, sd_gen *g) { return sd_exponential_(t, g, 2); }
static sd_status f_int(sd_tensor *t, sd_gen *g) { return sd_randint_(t, g, -5, 1000); }
static sd_status f_bern(sd_tensor *t, sd_gen *g) { return sd_bernoulli_(t, g, NULL, 0.3); }
static const filler fillers[] = {f_unif, f_norm, f_expo, f_int, f_bern};
#define NFILL (int)(sizeof fillers / sizeof fillers[0])

static sd_tensor *filled(int which, sd_dtype dt, int64_t n, uint64_t seed, uint64_t stream,
                         uint64_t *offset_after) {
  sd_gen g;
  sd_gen_init(&g, seed, stream);
  sd_tensor *t = sd_empty(dt, 1, &n);
  ck_assert_int_eq(fillers[which](t, &g), SD_OK);
  if (offset_after) *offset_after = g.offset;
  return t;
}

static bool same_bits(const sd_tensor *a, const sd_tensor *b) {
  return sd_numel(a) == sd_numel(b) &&
         memcmp(sd_data(a), sd_data(b), (size_t)sd_numel(a) * sd_dtype_size(a->dtype)) == 0;
}

START_TEST(same_bits_any_thread_count) {
  static const sd_dtype dts[] = {SD_F32, SD_F64};
  int64_t n = 300001; /* odd, several parallel ranges */
  for (int w = 0; w < NFILL; w++)
    for (int d = 0; d < 2; d++) {
      sd_dtype dt = w == 3 ? SD_I64 : dts[d];
      sd_set_num_threads(1);
      sd_tensor *a = filled(w, dt, n, 42, 0, NULL);
      sd_set_num_threads(2);
      sd_tensor *b = filled(w, dt, n, 42, 0, NULL);
      sd_set_num_threads(3);
      sd_tensor *c = filled(w, dt, n, 42, 0, NULL);
      ck_assert_msg(same_bits(a, b) && same_bits(a, c), "filler %d dtype %d", w, d);
      sd_release(a); sd_release(b); sd_release(c);
    }
  sd_set_num_threads(2);
}
END_TEST

START_TEST(seeds_and_streams_differ) {
  for (int w = 0; w < NFILL; w++) {
    sd_tensor *a = filled(w, w == 3 ? SD_I64 : SD_F32, 1000, 7, 0, NULL);
    sd_tensor *b = filled(w, w == 3 ? SD_I64 : SD_F32, 1000, 7, 1, NULL);
    sd_tensor *c = filled(w, w == 3 ? SD_I64 : SD_F32, 1000, 8, 0, NULL);
    sd_tensor *d = filled(w, w == 3 ? SD_I64 : SD_F32, 1000, 7, 0, NULL);
    ck_assert(!same_bits(a, b));
    ck_assert(!same_bits(a, c));
    ck_assert(same_bits(a, d));
    sd_release(a); sd_release(b); sd_release(c); sd_release(d);
  }
}
END_TEST

START_TEST(offset_contract) {
  /* element i uses words offset + w*i: two fills of 10 equal one of 20
     (normal: even sizes, so no pair is split), and offset advances by w*n */
  for (int w = 0; w < NFILL; w++)
    for (int d = 0; d < 2; d++) {
      sd_dtype dt = w == 3 ? (d ? SD_I32 : SD_I64) : (d ? SD_F64 : SD_F32);
      int wpe = dt == SD_F32 && w < 3 ? 1 : 2;
      uint64_t off;
      sd_tensor *whole = filled(w, dt, 20, 3, 9, &off);
      ck_assert_uint_eq(off, (uint64_t)(20 * wpe));
      sd_gen g;
      sd_gen_init(&g, 3, 9);
      int64_t ten = 10;
      sd_tensor *x = sd_empty(dt, 1, &ten), *y = sd_empty(dt, 1, &ten);
      ck_assert_int_eq(fillers[w](x, &g), SD_OK);
      ck_assert_uint_eq(g.offset, (uint64_t)(10 * wpe));
      ck_assert_int_eq(fillers[w](y, &g), SD_OK);
      size_t es = sd_dtype_size(dt);
      ck_assert_int_eq(memcmp(sd_data(whole), sd_data(x), 10 * es), 0);
      ck_assert_int_eq(memcmp((char *)sd_data(whole) + 10 * es, sd_data(y), 10 * es), 0);
      sd_release(whole); sd_release(x); sd_release(y);
    }
}
END_TEST

START_TEST(views_get_logical_order) {
  /* a transposed view is filled as a fresh tensor of its shape would be */
  int64_t sh[2] = {7, 5}, tsh[2] = {5, 7};
  for (int w = 0; w < NFILL; w++) {
    sd_dtype dt = w == 3 ? SD_I64 : SD_F64;
    sd_tensor *base = sd_zeros(dt, 2, sh), *v = sd_transpose(base, 0, 1);
    sd_tensor *ref = sd_empty(dt, 2, tsh);
    sd_gen g1, g2;
    sd_gen_init(&g1, 11, 0);
    sd_gen_init(&g2, 11, 0);
    ck_assert_int_eq(fillers[w](v, &g1), SD_OK);
    ck_assert_int_eq(fillers[w](ref, &g2), SD_OK);
    for (int64_t i = 0; i < 35; i++) ck_assert(sd_get_flat(v, i) == sd_get_flat(ref, i));
    sd_release(base); sd_release(v); sd_release(ref);
  }
}
END_TEST

START_TEST(zero_d_and_empty) {
  sd_gen g;
  sd_gen_init(&g, 1, 0);
  sd_tensor *s = sd_scalar(SD_F32, 0);
  ck_assert_int_eq(sd_normal_(s, &g, 0, 1), SD_OK);
  ck_assert_uint_eq(g.offset, 2); /* one pair */
  int64_t z = 0;
  sd_tensor *e = sd_empty(SD_F64, 1, &z);
  ck_assert_int_eq(sd_uniform_(e, &g, 0, 1), SD_OK);
  ck_assert_int_eq(sd_randint_(e, &g, 0, 3), SD_OK);
  ck_assert_uint_eq(g.offset, 2);
  sd_tensor *p = sd_randperm(0, &g);
  ck_assert_int_eq(sd_numel(p), 0);
  sd_release(s); sd_release(e); sd_release(p);
}
END_TEST

/* mean and variance in f64 */
static void moments(const sd_tensor *t, double *mean, double *var) {
  int64_t n = sd_numel(t);
  double s = 0, ss = 0;
  for (int64_t i = 0; i < n; i++) s += sd_get_flat(t, i);
  *mean = s / (double)n;
  for (int64_t i = 0; i < n; i++) {
    double d = sd_get_flat(t, i) - *mean;
    ss += d * d;
  }
  *var = ss / (double)(n - 1);
}

START_TEST(statistics) {
  int64_t n = 1000000;
  double m, v;
  for (int d = 0; d < 2; d++) {
    sd_dtype dt = d ? SD_F64 : SD_F32;
    sd_gen g;
    sd_gen_init(&g, 2024, 0);
    sd_tensor *t = sd_empty(dt, 1, &n);
    /* standard errors: mean 1/sqrt(n) = 0.001, variance sqrt(2/n) = 0.0014 */
    ck_assert_int_eq(sd_normal_(t, &g, 0, 1), SD_OK);
    moments(t, &m, &v);
    ck_assert_msg(fabs(m) < 0.005 && fabs(v - 1) < 0.007, "normal %s: mean %g var %g",
                  sd_dtype_name(dt), m, v);
    ck_assert_int_eq(sd_uniform_(t, &g, 0, 1), SD_OK);
    moments(t, &m, &v);
    ck_assert_msg(fabs(m - 0.5) < 0.0015 && fabs(v - 1.0 / 12) < 0.001, "uniform: %g %g", m, v);
    for (int64_t i = 0; i < n; i++) {
      double x = sd_get_flat(t, i);
      ck_assert(x >= 0 && x < 1);
    }
    ck_assert_int_eq(sd_exponential_(t, &g, 4), SD_OK);
    moments(t, &m, &v);
    ck_assert_msg(fabs(m - 0.25) < 0.002 && fabs(v - 0.0625) < 0.002, "exponential: %g %g", m, v);
    ck_assert_int_eq(sd_bernoulli_(t, &g, NULL, 0.3), SD_OK);
    moments(t, &m, &v);
    ck_assert_msg(fabs(m - 0.3) < 0.003, "bernoulli: %g", m);
    sd_release(t);
  }
}
END_TEST

START_TEST(randint_chi_square) {
  int64_t n = 1000000;
  sd_gen g;
  sd_gen_init(&g, 99, 0);
  sd_tensor *t = sd_empty(SD_I64, 1, &n);
  ck_assert_int_eq(sd_randint_(t, &g, -3, 7), SD_OK);
  int64_t count[10] = {0};
  const int64_t *v = sd_data(t);
  for (int64_t i = 0; i < n; i++) {
    ck_assert(v[i] >= -3 && v[i] < 7);
    count[v[i] + 3]++;
  }
  double chi = 0, e = n / 10.0;
  for (int k = 0; k < 10; k++) chi += (count[k] - e) * (count[k] - e) / e;
  ck_assert_msg(chi < 27.88, "chi-square %g with 9 dof (p < 0.001)", chi); /* 27.88: p = 0.001 */
  sd_release(t);
}
END_TEST

START_TEST(randint_ranges_and_dtypes) {
  int64_t n = 1000;
  sd_gen g;
  sd_gen_init(&g, 5, 0);
  sd_tensor *t = sd_empty(SD_I64, 1, &n);
  ck_assert_int_eq(sd_randint_(t, &g, INT64_MIN, INT64_MAX), SD_OK);
  const int64_t *v = sd_data(t);
  int neg = 0;
  for (int64_t i = 0; i < n; i++) { ck_assert(v[i] < INT64_MAX); neg += v[i] < 0; }
  ck_assert(neg > 400 && neg < 600);
  ck_assert_int_eq(sd_randint_(t, &g, 4, 5), SD_OK);
  for (int64_t i = 0; i < n; i++) ck_assert_int_eq(v[i], 4);
  ck_assert_int_eq(sd_randint_(t, &g, 5, 5), SD_EARG);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "low < high"));
  sd_tensor *u = sd_empty(SD_U8, 1, &n);
  ck_assert_int_eq(sd_randint_(u, &g, 0, 256), SD_OK);
  ck_assert_int_eq(sd_randint_(u, &g, 0, 257), SD_EARG);
  ck_assert_int_eq(sd_randint_(u, &g, -1, 3), SD_EARG);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "does not fit u8"));
  sd_release(t); sd_release(u);
}
END_TEST

START_TEST(argument_errors) {
  int64_t n = 4;
  sd_gen g;
  sd_gen_init(&g, 5, 0);
  sd_tensor *i = sd_empty(SD_I64, 1, &n), *f = sd_empty(SD_F32, 1, &n);
  ck_assert_int_eq(sd_uniform_(i, &g, 0, 1), SD_EARG);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "uniform_: needs a f32 or f64 tensor, got i64"));
  ck_assert_int_eq(sd_normal_(i, &g, 0, 1), SD_EARG);
  ck_assert_int_eq(sd_normal_(f, &g, 0, -1), SD_EARG);
  ck_assert_int_eq(sd_uniform_(f, &g, 1, 1), SD_EARG);
  ck_assert_int_eq(sd_exponential_(f, &g, 0), SD_EARG);
  ck_assert_int_eq(sd_bernoulli_(f, &g, NULL, 1.5), SD_EARG);
  ck_assert_ptr_null(sd_randperm(-1, &g));
  ck_assert_uint_eq(g.offset, 0); /* failed calls draw nothing */
  sd_release(i); sd_release(f);
}
END_TEST

START_TEST(bernoulli_tensor_p) {
  int64_t sh[2] = {1000, 3}, psh[1] = {3};
  sd_tensor *p = sd_empty(SD_F32, 1, psh);
  float *pv = sd_data(p);
  pv[0] = 0; pv[1] = 1; pv[2] = 0.5f;
  sd_tensor *t = sd_empty(SD_BOOL, 2, sh);
  sd_gen g;
  sd_gen_init(&g, 1, 0);
  ck_assert_int_eq(sd_bernoulli_(t, &g, p, 0), SD_OK); /* p broadcasts over rows */
  int64_t ones = 0;
  const uint8_t *v = sd_data(t);
  for (int64_t r = 0; r < 1000; r++) {
    ck_assert_int_eq(v[3 * r], 0);
    ck_assert_int_eq(v[3 * r + 1], 1);
    ones += v[3 * r + 2];
  }
  ck_assert(ones > 430 && ones < 570);
  pv[2] = -0.1f;
  ck_assert_int_eq(sd_bernoulli_(t, &g, p, 0), SD_EARG);
  int64_t bad[1] = {4};
  sd_tensor *q = sd_zeros(SD_F32, 1, bad);
  ck_assert_int_eq(sd_bernoulli_(t, &g, q, 0), SD_ESHAPE);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "[4] do not broadcast to [1000,3]"));
  sd_release(p); sd_release(t); sd_release(q);
}
END_TEST

START_TEST(randperm_is_permutation) {
  static const int64_t sizes[] = {1, 2, 3, 255, 256, 257, 10000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int64_t n = sizes[s];
    sd_gen g;
    sd_gen_init(&g, 77, 0);
    sd_tensor *p = sd_randperm(n, &g);
    ck_assert_uint_eq(g.offset, (uint64_t)(2 * n));
    const int64_t *v = sd_data(p);
    char *seen = calloc((size_t)n + 1, 1);
    for (int64_t i = 0; i < n; i++) {
      ck_assert(v[i] >= 1 && v[i] <= n); /* 1-based */
      ck_assert(!seen[v[i]]);
      seen[v[i]] = 1;
    }
    free(seen);
    sd_release(p);
  }
  /* every position uniform: over many draws of n = 4, each value lands at
     position 1 about a quarter of the time */
  sd_gen g;
  sd_gen_init(&g, 3, 0);
  int64_t first[5] = {0};
  for (int k = 0; k < 4000; k++) {
    sd_tensor *p = sd_randperm(4, &g);
    first[((int64_t *)sd_data(p))[0]]++;
    sd_release(p);
  }
  for (int v = 1; v <= 4; v++) ck_assert_msg(first[v] > 880 && first[v] < 1120, "%lld", (long long)first[v]);
}
END_TEST

START_TEST(multinomial_draws) {
  int64_t m = 4, rows = 2, sh[2] = {2, 4};
  sd_tensor *w = sd_empty(SD_F64, 2, sh);
  double *wv = sd_data(w);
  double ws[8] = {1, 0, 3, 6, 0, 0, 5, 0};
  memcpy(wv, ws, sizeof ws);
  sd_gen g;
  sd_gen_init(&g, 8, 0);
  sd_tensor *s = sd_multinomial(w, 100000, true, &g);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(s->shape[0], rows);
  const int64_t *v = sd_data(s);
  int64_t c[5] = {0};
  for (int64_t i = 0; i < 100000; i++) c[v[i]]++;
  ck_assert_int_eq(c[2], 0);
  ck_assert(fabs(c[1] / 1e5 - 0.1) < 0.005 && fabs(c[3] / 1e5 - 0.3) < 0.007 &&
            fabs(c[4] / 1e5 - 0.6) < 0.007);
  for (int64_t i = 100000; i < 200000; i++) ck_assert_int_eq(v[i], 3);
  sd_release(s);
  /* without replacement: distinct, positive-weight categories first */
  sd_tensor *d = sd_multinomial(w, 3, false, &g);
  ck_assert_ptr_null(d); /* row 2 has one positive weight */
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "row 2 has 1 categories"));
  sd_tensor *row = sd_select(w, 0, 0);
  d = sd_multinomial(row, 3, false, &g);
  ck_assert_ptr_nonnull(d);
  const int64_t *dv = sd_data(d);
  ck_assert(dv[0] != 2 && dv[1] != 2 && dv[2] != 2);
  ck_assert(dv[0] != dv[1] && dv[1] != dv[2] && dv[0] != dv[2]);
  sd_release(d);
  ck_assert_ptr_null(sd_multinomial(row, m + 1, false, &g));
  sd_release(row);
  sd_release(w);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rng");
  TCase *tc = tcase_create("rng");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, philox_known_answers);
  tcase_add_test(tc, words_by_index);
  tcase_add_test(tc, same_bits_any_thread_count);
  tcase_add_test(tc, seeds_and_streams_differ);
  tcase_add_test(tc, offset_contract);
  tcase_add_test(tc, views_get_logical_order);
  tcase_add_test(tc, zero_d_and_empty);
  tcase_add_test(tc, statistics);
  tcase_add_test(tc, randint_chi_square);
  tcase_add_test(tc, randint_ranges_and_dtypes);
  tcase_add_test(tc, argument_errors);
  tcase_add_test(tc, bernoulli_tensor_p);
  tcase_add_test(tc, randperm_is_permutation);
  tcase_add_test(tc, multinomial_draws);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
