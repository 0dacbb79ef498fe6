/* test_reduce.c: reductions, cumsum/cumprod and softmax (ops_reduce.c)
   against naive f64 loops on contiguous, transposed, broadcast, 0-d,
   size-1 and empty inputs; NaN handling, 1-based indices, dtypes, errors,
   and bitwise-identical results for 1 and 2 threads. */
#include "unit.h"
#include "ops.h"
#include "parallel.h"
#include <string.h>

static sd_tensor *spread(sd_dtype dt, int nd, const int64_t *shape, int salt) {
  sd_tensor *t = sd_empty(dt, nd, shape);
  ck_assert_ptr_nonnull(t);
  int64_t n = sd_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v = sd_dtype_is_float(dt) ? ((i * 37 + salt * 11) % 83) / 10.0 - 4.1
                                     : (double)((i * 7 + salt * 3) % 19 - 9);
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), v);
  }
  return t;
}

/* Logical element of t at multi-index idx. */
static double at(const sd_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  return sd_get_ptr(t->dtype, (char *)t->storage->data + off * (int64_t)sd_dtype_size(t->dtype));
}

/* Naive reference of op over dim (or all, SD_NODIM), in f64, for output
   element `flat` of the keepdim-shaped result. */
static double ref(sd_redop op, const sd_tensor *x, int dim, int64_t flat, double arg) {
  int64_t idx[SD_MAXDIM] = {0}, len = 1, vals_n = 0;
  int nd = x->ndim;
  /* decode flat over the keepdim shape */
  for (int d = nd - 1; d >= 0; d--) {
    int64_t size = dim == SD_NODIM || d == dim ? 1 : x->shape[d];
    idx[d] = flat % size;
    flat /= size;
  }
  len = dim == SD_NODIM ? sd_numel(x) : nd ? x->shape[dim] : 1;
  double *v = malloc(sizeof(double) * (size_t)(len ? len : 1));
  for (int64_t r = 0; r < len; r++) {
    int64_t k = r;
    if (dim == SD_NODIM) {
      for (int d = nd - 1; d >= 0; d--) { idx[d] = k % x->shape[d]; k /= x->shape[d]; }
    } else if (nd) {
      idx[dim] = r;
    }
    v[vals_n++] = at(x, idx);
  }
  double s = 0, p = 1, mx = -INFINITY, mn = INFINITY, r = 0;
  int64_t amx = 0, amn = 0;
  bool nan = false, all = true, any = false;
  for (int64_t i = 0; i < len; i++) {
    s += v[i]; p *= v[i];
    if (isnan(v[i])) { if (!nan) { amx = amn = i; } nan = true; }
    if (!nan && v[i] > mx) { mx = v[i]; amx = i; }
    if (!nan && v[i] < mn) { mn = v[i]; amn = i; }
    all = all && v[i] != 0; any = any || v[i] != 0;
  }
  double mean = s / (double)len, ss = 0, lse = 0;
  for (int64_t i = 0; i < len; i++) { ss += (v[i] - mean) * (v[i] - mean); lse += exp(v[i] - mx); }
  switch (op) {
  case SD_SUM: r = s; break;
  case SD_MEAN: r = mean; break;
  case SD_PROD: r = p; break;
  case SD_AMAX: r = nan ? NAN : mx; break;
  case SD_AMIN: r = nan ? NAN : mn; break;
  case SD_ARGMAX: r = (double)amx + 1; break;
  case SD_ARGMIN: r = (double)amn + 1; break;
  case SD_VAR: r = ss / ((double)len - arg); break;
  case SD_STD: r = sqrt(ss / ((double)len - arg)); break;
  case SD_LOGSUMEXP: r = mx + log(lse); break;
  case SD_ALL: r = all; break;
  case SD_ANY: r = any; break;
  case SD_NORM: {
    double acc = 0, m = 0, mi = INFINITY;
    for (int64_t i = 0; i < len; i++) {
      acc += arg == 0 ? (v[i] != 0) : pow(fabs(v[i]), arg);
      m = fmax(m, fabs(v[i]));
      mi = fmin(mi, fabs(v[i]));
    }
    r = isinf(arg) ? (arg > 0 ? m : mi) : arg == 0 ? acc : pow(acc, 1 / arg);
    break;
  }
  default: r = NAN;
  }
  free(v);
  return r;
}

static void near(double got, double want, double tol, const char *what) {
  if (isnan(want)) { ck_assert_msg(isnan(got), "%s: got %g, want NaN", what, got); return; }
  ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s: got %.10g, want %.10g", what, got, want);
}

static void check(sd_redop op, const sd_tensor *x, int dim, bool keepdim, double arg, double tol) {
  sd_tensor *r = sd_reduce(op, x, dim, keepdim, arg);
  ck_assert_msg(r != NULL, "%s: %s", sd_redop_names[op], sd_errmsg());
  int want_nd = dim == SD_NODIM ? (keepdim ? x->ndim : 0) : (keepdim || x->ndim == 0 ? x->ndim : x->ndim - 1);
  ck_assert_int_eq(r->ndim, want_nd);
  int64_t n = sd_numel(r);
  for (int64_t i = 0; i < n; i++) near(sd_get_flat(r, i), ref(op, x, dim, i, arg), tol, sd_redop_names[op]);
  sd_release(r);
}

static const sd_redop float_reds[] = {SD_SUM, SD_MEAN, SD_PROD, SD_AMAX, SD_AMIN, SD_ARGMAX,
                                      SD_ARGMIN, SD_VAR, SD_STD, SD_LOGSUMEXP, SD_ALL, SD_ANY};

static void check_all_dims(const sd_tensor *x, double tol) {
  for (size_t k = 0; k < sizeof float_reds / sizeof *float_reds; k++) {
    sd_redop op = float_reds[k];
    double t = op == SD_PROD ? tol * 100 : tol;
    check(op, x, SD_NODIM, false, 1, t);
    check(op, x, SD_NODIM, true, 0, t);
    for (int d = 0; d < (x->ndim ? x->ndim : 1); d++) {
      check(op, x, d, false, 1, t);
      check(op, x, d, true, 1, t);
    }
  }
  double ps[5] = {1, 2, 3, INFINITY, 0};
  for (int k = 0; k < 5; k++) {
    check(SD_NORM, x, SD_NODIM, false, ps[k], tol);
    for (int d = 0; d < x->ndim; d++) check(SD_NORM, x, d, false, ps[k], tol);
  }
}

START_TEST(layouts) {
  sd_dtype dts[2] = {SD_F64, SD_F32};
  for (int k = 0; k < 2; k++) {
    sd_dtype dt = dts[k];
    double tol = dt == SD_F32 ? 1e-5 : 1e-12;
    int64_t s3[3] = {3, 5, 4}, s1[2] = {1, 6}, s4[1] = {4};
    sd_tensor *a = spread(dt, 3, s3, 1);
    sd_tensor *p = sd_permute(a, (int[]){2, 0, 1});  /* non-contiguous */
    sd_tensor *row = spread(dt, 1, s4, 2);
    sd_tensor *b = sd_expand(row, 3, s3);            /* stride 0 */
    sd_tensor *z = sd_scalar(dt, 2.5), *one = spread(dt, 2, s1, 3);
    check_all_dims(a, tol);
    check_all_dims(p, tol);
    check_all_dims(b, tol);
    check_all_dims(z, tol);
    check_all_dims(one, tol);
    sd_release(a); sd_release(p); sd_release(row); sd_release(b); sd_release(z); sd_release(one);
  }
}
END_TEST

START_TEST(long_rows_and_columns) {
  /* beyond one SD_BLOCK, and over a non-last dim with many row groups */
  int64_t s[2] = {3, 3 * SD_BLOCK + 17}, c[2] = {300, 257};
  sd_tensor *x = spread(SD_F32, 2, s, 4), *y = spread(SD_F32, 2, c, 5);
  sd_redop ops[] = {SD_SUM, SD_MEAN, SD_AMAX, SD_ARGMIN, SD_VAR, SD_LOGSUMEXP};
  /* f32 sums of terms in [-4, 4] that cancel: the error is relative to
     the terms, not to the small result, so the bound is loose here */
  for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
    check(ops[k], x, SD_NODIM, false, 1, 2e-4);
    check(ops[k], x, 1, false, 1, 2e-4);
    check(ops[k], x, 0, false, 1, 2e-4);
    check(ops[k], y, 0, true, 1, 2e-4);
  }
  sd_release(x); sd_release(y);
}
END_TEST

START_TEST(empty_inputs) {
  int64_t s[2] = {0, 3};
  sd_tensor *e = sd_empty(SD_F32, 2, s);
  sd_tensor *r = sd_reduce(SD_SUM, e, 0, false, 0);
  ck_assert_int_eq(r->ndim, 1);
  ck_assert_int_eq(r->shape[0], 3);
  ck_assert(sd_get_flat(r, 0) == 0);
  sd_release(r);
  r = sd_reduce(SD_PROD, e, SD_NODIM, false, 0);
  ck_assert(sd_get_flat(r, 0) == 1);
  sd_release(r);
  r = sd_reduce(SD_MEAN, e, 0, false, 0);
  ck_assert(isnan(sd_get_flat(r, 0)));
  sd_release(r);
  r = sd_reduce(SD_ALL, e, SD_NODIM, false, 0);
  ck_assert(r->dtype == SD_BOOL && sd_get_flat(r, 0) == 1);
  sd_release(r);
  r = sd_reduce(SD_SUM, e, 1, false, 0); /* nothing to reduce into: shape [0] */
  ck_assert_int_eq(sd_numel(r), 0);
  sd_release(r);
  r = sd_reduce(SD_AMAX, e, 1, false, 0); /* empty output: fine */
  ck_assert_ptr_nonnull(r);
  sd_release(r);
  ck_assert_ptr_null(sd_reduce(SD_AMAX, e, 0, false, 0));
  ck_assert(strstr(sd_errmsg(), "amax: cannot reduce over an empty dim") != NULL);
  ck_assert_ptr_null(sd_reduce(SD_ARGMAX, e, SD_NODIM, false, 0));
  sd_tensor *sm = sd_dimwise(SD_SOFTMAX, e, 0), *cs = sd_dimwise(SD_CUMSUM, e, 0);
  ck_assert_int_eq(sd_numel(sm), 0);
  ck_assert_int_eq(sd_numel(cs), 0);
  sd_release(sm); sd_release(cs); sd_release(e);
}
END_TEST

START_TEST(nan_and_indices) {
  int64_t s[2] = {2, 4};
  sd_tensor *x = sd_empty(SD_F32, 2, s);
  float v[8] = {1, 7, 7, 2, 3, NAN, 9, NAN};
  memcpy(sd_data(x), v, sizeof v);
  sd_tensor *vals, *idx;
  ck_assert_int_eq(sd_reduce_indexed(SD_AMAX, x, 1, false, &vals, &idx), SD_OK);
  ck_assert_int_eq(idx->dtype, SD_I64);
  ck_assert(sd_get_flat(vals, 0) == 7 && sd_geti_ptr(SD_I64, sd_data(idx)) == 2); /* first of ties, 1-based */
  ck_assert(isnan(sd_get_flat(vals, 1)) && ((int64_t *)sd_data(idx))[1] == 2);  /* first NaN */
  sd_release(vals); sd_release(idx);
  ck_assert_int_eq(sd_reduce_indexed(SD_AMIN, x, 0, true, &vals, &idx), SD_OK);
  ck_assert_int_eq(vals->ndim, 2);
  ck_assert(sd_get_flat(vals, 0) == 1 && ((int64_t *)sd_data(idx))[0] == 1);
  ck_assert(isnan(sd_get_flat(vals, 1)) && ((int64_t *)sd_data(idx))[1] == 2);
  sd_release(vals); sd_release(idx);
  sd_tensor *m = sd_reduce(SD_AMAX, x, SD_NODIM, false, 0);
  ck_assert(m->ndim == 0 && isnan(sd_get_flat(m, 0)));
  sd_release(m);
  sd_tensor *mi = sd_reduce(SD_AMIN, x, SD_NODIM, false, 0);
  ck_assert(isnan(sd_get_flat(mi, 0)));
  sd_release(mi);
  /* NaN in a long row reaches the result through every lane */
  int64_t n = 5000;
  sd_tensor *l = sd_full(SD_F32, 1, &n, 1);
  ((float *)sd_data(l))[4321] = NAN;
  sd_tensor *lm = sd_reduce(SD_AMAX, l, 0, false, 0), *li = sd_reduce(SD_ARGMIN, l, 0, false, 0);
  ck_assert(isnan(sd_get_flat(lm, 0)) && sd_get_flat(li, 0) == 4322);
  sd_release(lm); sd_release(li); sd_release(l); sd_release(x);
}
END_TEST

/* Rows of many lengths (around the 32 lanes and past SD_BLOCK) with ties,
   NaNs and signed zeros at chosen places: values and 1-based indices of
   max and min over the last dim equal a first-occurrence scan. */
START_TEST(argmax_rows) {
  const int64_t lens[] = {1, 2, 31, 32, 33, 63, 64, 65, 100, 512, 4099};
  for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
    int64_t s[2] = {7, lens[li]}, n = lens[li];
    for (int di = 0; di < 3; di++) {
      sd_dtype dt = di == 0 ? SD_F32 : di == 1 ? SD_F64 : SD_I64;
      sd_tensor *x = sd_empty(dt, 2, s);
      for (int64_t r = 0; r < 7; r++)
        for (int64_t i = 0; i < n; i++) {
          double v = (double)((i * 13 + r * 5) % 11) - 5; /* ties of 5 and -5 */
          if (r == 1) v = 0;
          if (r == 2 && sd_dtype_is_float(dt)) v = i % 3 ? 0.0 : -0.0;
          if (r == 3 && sd_dtype_is_float(dt) && i == n - 1) v = NAN;
          if (r == 4 && sd_dtype_is_float(dt) && (i == n / 2 || i == n - 1)) v = NAN;
          if (r == 5 && i == n / 3) v = 1e9;
          if (r == 6 && sd_dtype_is_float(dt)) v = -INFINITY;
          sd_set_ptr(dt, (char *)sd_data(x) + (r * n + i) * (int64_t)sd_dtype_size(dt), v);
        }
      for (int mx = 0; mx < 2; mx++) {
        sd_tensor *vals, *idx;
        ck_assert_int_eq(sd_reduce_indexed(mx ? SD_AMAX : SD_AMIN, x, 1, false, &vals, &idx), SD_OK);
        for (int64_t r = 0; r < 7; r++) {
          int64_t bi = 0;
          for (int64_t i = 1; i < n; i++) {
            double v = sd_get_flat(x, r * n + i), b = sd_get_flat(x, r * n + bi);
            if ((mx ? v > b : v < b) || (isnan(v) && !isnan(b))) bi = i;
          }
          double want = sd_get_flat(x, r * n + bi), got = sd_get_flat(vals, r);
          ck_assert_msg(((int64_t *)sd_data(idx))[r] == bi + 1, "n %lld dt %d row %lld: index %lld, want %lld",
                        (long long)n, (int)dt, (long long)r, (long long)((int64_t *)sd_data(idx))[r], (long long)bi + 1);
          ck_assert(isnan(want) ? isnan(got) : got == want && signbit(got) == signbit(want));
        }
        sd_release(vals); sd_release(idx);
      }
      sd_release(x);
    }
  }
}
END_TEST

START_TEST(dtypes_and_errors) {
  int64_t s[2] = {3, 4};
  sd_tensor *i = spread(SD_I32, 2, s, 1), *b = spread(SD_BOOL, 2, s, 2);
  sd_tensor *r = sd_reduce(SD_SUM, i, 1, false, 0);
  ck_assert_int_eq(r->dtype, SD_I64);
  for (int k = 0; k < 3; k++) near(sd_get_flat(r, k), ref(SD_SUM, i, 1, k, 0), 0, "int sum");
  sd_release(r);
  r = sd_reduce(SD_AMAX, i, 0, false, 0);
  ck_assert_int_eq(r->dtype, SD_I32);
  sd_release(r);
  r = sd_reduce(SD_SUM, b, SD_NODIM, false, 0);
  ck_assert_int_eq(r->dtype, SD_I64);
  sd_release(r);
  r = sd_reduce(SD_ANY, i, 1, false, 0);
  ck_assert_int_eq(r->dtype, SD_BOOL);
  sd_release(r);
  ck_assert_ptr_null(sd_reduce(SD_MEAN, i, SD_NODIM, false, 0));
  ck_assert(strstr(sd_errmsg(), "mean: input dtype i32 is not floating point") != NULL);
  ck_assert_ptr_null(sd_reduce(SD_SUM, i, 2, false, 0));
  ck_assert(strstr(sd_errmsg(), "out of range") != NULL);
  sd_tensor *f = spread(SD_F32, 2, s, 3);
  ck_assert_ptr_null(sd_reduce(SD_NORM, f, SD_NODIM, false, -1));
  r = sd_reduce(SD_SUM, f, -1, false, 0); /* negative dims count from the end */
  ck_assert_int_eq(r->shape[0], 3);
  sd_release(r);
  /* int64 sums are exact beyond 2^53 */
  int64_t two = 2;
  sd_tensor *big = sd_empty(SD_I64, 1, &two);
  ((int64_t *)sd_data(big))[0] = ((int64_t)1 << 60) + 1;
  ((int64_t *)sd_data(big))[1] = 1;
  r = sd_reduce(SD_SUM, big, SD_NODIM, false, 0);
  ck_assert(*(int64_t *)sd_data(r) == ((int64_t)1 << 60) + 2);
  sd_release(r); sd_release(big);
  /* and so are i64 max/min over the lanes of a long row */
  int64_t hundred = 100;
  sd_tensor *h = sd_zeros(SD_I64, 1, &hundred);
  ((int64_t *)sd_data(h))[70] = ((int64_t)1 << 60) + 1;
  ((int64_t *)sd_data(h))[3] = -((int64_t)1 << 60) - 1;
  r = sd_reduce(SD_AMAX, h, SD_NODIM, false, 0);
  ck_assert(*(int64_t *)sd_data(r) == ((int64_t)1 << 60) + 1);
  sd_release(r);
  r = sd_reduce(SD_AMIN, h, 0, false, 0);
  ck_assert(*(int64_t *)sd_data(r) == -((int64_t)1 << 60) - 1);
  sd_release(r); sd_release(h); sd_release(i); sd_release(b); sd_release(f);
}
END_TEST

START_TEST(scans_and_softmax) {
  int64_t s[3] = {2, 5, 3};
  sd_dtype dts[2] = {SD_F32, SD_F64};
  for (int k = 0; k < 2; k++) {
    sd_tensor *x0 = spread(dts[k], 3, s, 1), *x = sd_transpose(x0, 0, 2); /* [3,5,2] */
    double tol = dts[k] == SD_F32 ? 2e-6 : 1e-13;
    for (int d = 0; d < 3; d++) {
      sd_tensor *cs = sd_dimwise(SD_CUMSUM, x, d), *cp = sd_dimwise(SD_CUMPROD, x, d);
      sd_tensor *sm = sd_dimwise(SD_SOFTMAX, x, d), *ls = sd_dimwise(SD_LOG_SOFTMAX, x, d);
      int64_t idx[3];
      for (idx[0] = 0; idx[0] < 3; idx[0]++)
        for (idx[1] = 0; idx[1] < 5; idx[1]++)
          for (idx[2] = 0; idx[2] < 2; idx[2]++) {
            int64_t j[3] = {idx[0], idx[1], idx[2]}, flat = (idx[0] * 5 + idx[1]) * 2 + idx[2];
            double sum = 0, prod = 1, mx = -INFINITY, z = 0;
            for (j[d] = 0; j[d] < x->shape[d]; j[d]++) mx = fmax(mx, at(x, j));
            for (j[d] = 0; j[d] < x->shape[d]; j[d]++) z += exp(at(x, j) - mx);
            for (j[d] = 0; j[d] <= idx[d]; j[d]++) { sum += at(x, j); prod *= at(x, j); }
            near(sd_get_flat(cs, flat), sum, tol, "cumsum");
            near(sd_get_flat(cp, flat), prod, tol, "cumprod");
            near(sd_get_flat(sm, flat), exp(at(x, idx) - mx) / z, tol, "softmax");
            near(sd_get_flat(ls, flat), at(x, idx) - mx - log(z), tol, "log_softmax");
          }
      sd_release(cs); sd_release(cp); sd_release(sm); sd_release(ls);
    }
    sd_release(x0); sd_release(x);
  }
  /* stable for large values; integers: cumsum i64, softmax f32 */
  int64_t n = 3;
  sd_tensor *big = sd_empty(SD_F32, 1, &n);
  float v[3] = {1000, 1001, 1002};
  memcpy(sd_data(big), v, sizeof v);
  sd_tensor *sm = sd_dimwise(SD_LOG_SOFTMAX, big, 0);
  near(sd_get_flat(sm, 2), -log(1 + exp(-1.0) + exp(-2.0)), 1e-6, "stable log_softmax");
  sd_tensor *lse = sd_reduce(SD_LOGSUMEXP, big, 0, false, 0);
  near(sd_get_flat(lse, 0), 1002 + log(1 + exp(-1.0) + exp(-2.0)), 1e-6, "stable logsumexp");
  sd_tensor *ni = sd_full(SD_F32, 1, &n, -INFINITY), *nl = sd_reduce(SD_LOGSUMEXP, ni, 0, false, 0);
  ck_assert(sd_get_flat(nl, 0) == -INFINITY);
  sd_tensor *it = spread(SD_I32, 1, &n, 1), *ic = sd_dimwise(SD_CUMSUM, it, 0), *is = sd_dimwise(SD_SOFTMAX, it, 0);
  ck_assert_int_eq(ic->dtype, SD_I64);
  ck_assert_int_eq(is->dtype, SD_F32);
  sd_release(big); sd_release(sm); sd_release(lse); sd_release(ni); sd_release(nl);
  sd_release(it); sd_release(ic); sd_release(is);
}
END_TEST

/* Same bits for 1 and 2 threads. */
static void same_bits(sd_tensor *a, sd_tensor *b) {
  ck_assert(sd_same_shape(a, b));
  ck_assert(memcmp(sd_data(a), sd_data(b), (size_t)sd_numel(a) * sd_dtype_size(a->dtype)) == 0);
}

START_TEST(thread_count_invariance) {
  int64_t s[2] = {700, 3001}, n = 3000017;
  sd_tensor *x = sd_empty(SD_F32, 2, s), *l = sd_empty(SD_F32, 1, &n);
  for (int64_t i = 0; i < sd_numel(x); i++) ((float *)sd_data(x))[i] = sinf((float)i * 0.37f) * 1e3f + 1e-3f * (float)i;
  for (int64_t i = 0; i < n; i++) ((float *)sd_data(l))[i] = cosf((float)i * 0.11f) + 1e-7f * (float)i;
  sd_tensor *r1[7], *r2[7];
  for (int t = 1; t <= 2; t++) {
    sd_set_num_threads(t);
    sd_tensor **r = t == 1 ? r1 : r2;
    r[0] = sd_reduce(SD_SUM, x, SD_NODIM, false, 0);
    r[1] = sd_reduce(SD_SUM, x, 1, false, 0);
    r[2] = sd_reduce(SD_SUM, x, 0, false, 0);
    r[3] = sd_reduce(SD_SUM, l, SD_NODIM, false, 0);
    r[4] = sd_dimwise(SD_SOFTMAX, x, 1);
    r[5] = sd_reduce(SD_VAR, x, 0, false, 1);
    r[6] = sd_dimwise(SD_LOG_SOFTMAX, x, 0);
  }
  for (int k = 0; k < 7; k++) { same_bits(r1[k], r2[k]); sd_release(r1[k]); sd_release(r2[k]); }
  /* and the long f32 sum is accurate: blocked lanes, not a running sum */
  double want = 0;
  for (int64_t i = 0; i < n; i++) want += ((float *)sd_data(l))[i];
  sd_tensor *r = sd_reduce(SD_SUM, l, SD_NODIM, false, 0);
  ck_assert_msg(fabs(sd_get_flat(r, 0) - want) <= 1e-5 * fabs(want) + 1e-2, "sum %.9g vs %.9g", sd_get_flat(r, 0), want);
  sd_release(r); sd_release(x); sd_release(l);
}
END_TEST

START_TEST(names_cover_enums) {
  for (int i = 0; i < SD_NREDOP; i++) ck_assert_ptr_nonnull(sd_redop_names[i]);
  for (int i = 0; i < SD_NDIMOP; i++) ck_assert_ptr_nonnull(sd_dimop_names[i]);
  ck_assert_str_eq(sd_redop_names[SD_ANY], "any");
  ck_assert_str_eq(sd_dimop_names[SD_LOG_SOFTMAX], "log_softmax");
}
END_TEST

int main(void) {
  Suite *s = suite_create("reduce");
  TCase *tc = tcase_create("reduce");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, layouts);
  tcase_add_test(tc, long_rows_and_columns);
  tcase_add_test(tc, empty_inputs);
  tcase_add_test(tc, nan_and_indices);
  tcase_add_test(tc, argmax_rows);
  tcase_add_test(tc, dtypes_and_errors);
  tcase_add_test(tc, scans_and_softmax);
  tcase_add_test(tc, thread_count_invariance);
  tcase_add_test(tc, names_cover_enums);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
