/* test_linalg.c: matmul family against naive f64 loops, LAPACK results by
   reconstruction, cdist exactness, errors, and the OpenBLAS core choice. */
#define UNIT_SEED 1
#include "unit.h"
#include <string.h>
#include "blas.h"
#include "linalg.h"

/* --- helpers --- */

static sd_tensor *mat2(sd_dtype dt, int64_t r, int64_t c) { return unit_rand(dt, 2, (int64_t[]){r, c}); }

/* Element [i][j] of the matrix at batch position b (last two dims). */
static double at(const sd_tensor *t, int64_t b, int64_t i, int64_t j) {
  int nd = t->ndim;
  return sd_get_flat(t, (b * t->shape[nd - 2] + i) * t->shape[nd - 1] + j);
}

/* max |x - ref| over the matrices, with ref = a @ b computed naively in f64
   (a, b 2-d views of any strides). */
static double mm_err(const sd_tensor *a, const sd_tensor *b, const sd_tensor *c) {
  double e = 0;
  for (int64_t i = 0; i < a->shape[0]; i++)
    for (int64_t j = 0; j < b->shape[1]; j++) {
      double s = 0;
      for (int64_t k = 0; k < a->shape[1]; k++) s += at(a, 0, i, k) * at(b, 0, k, j);
      e = fmax(e, fabs(s - at(c, 0, i, j)));
    }
  return e;
}

/* Temporaries released after each test (a checked fixture). */
static sd_tensor *pool[64];
static int npool;
static sd_tensor *tmp(sd_tensor *t) {
  ck_assert_int_lt(npool, 64);
  return pool[npool++] = t;
}
static void pool_drain(void) {
  while (npool > 0) sd_release(pool[--npool]);
}

static void expect_error(void *p, const char *needle) {
  ck_assert_ptr_null(p);
  if (!strstr(sd_errmsg(), needle)) ck_abort_msg("error '%s' lacks '%s'", sd_errmsg(), needle);
}

/* max |a @ b - c| for batches of matrices (batch dims given as counts). */
static double bmm_err(const sd_tensor *a, const sd_tensor *b, const sd_tensor *c, int64_t nbatch,
                      bool ta_batch, bool tb_batch) {
  double e = 0;
  int64_t n = c->shape[c->ndim - 2], m = c->shape[c->ndim - 1], k = a->shape[a->ndim - 1];
  for (int64_t q = 0; q < nbatch; q++)
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < m; j++) {
        double s = 0;
        for (int64_t t = 0; t < k; t++) s += at(a, ta_batch ? q : 0, i, t) * at(b, tb_batch ? q : 0, t, j);
        e = fmax(e, fabs(s - at(c, q, i, j)));
      }
  return e;
}

/* --- products --- */

START_TEST(matmul_transpose_combos) {
  for (int f = 0; f < 2; f++) {
    sd_dtype dt = f ? SD_F64 : SD_F32;
    double tol = f ? 1e-12 : 1e-4;
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        /* a [7, 5] and b [5, 9], each either as is or as the .t() of a stored transpose */
        sd_tensor *as = ta ? mat2(dt, 5, 7) : mat2(dt, 7, 5), *bs = tb ? mat2(dt, 9, 5) : mat2(dt, 5, 9);
        sd_tensor *a = ta ? sd_transpose(as, 0, 1) : sd_alias(as);
        sd_tensor *b = tb ? sd_transpose(bs, 0, 1) : sd_alias(bs);
        sd_tensor *c = sd_matmul(a, b);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(c->shape[0], 7);
        ck_assert_int_eq(c->shape[1], 9);
        ck_assert(c->dtype == dt);
        ck_assert(mm_err(a, b, c) < tol);
        sd_release(c); sd_release(a); sd_release(b); sd_release(as); sd_release(bs);
      }
  }
}
END_TEST

START_TEST(matmul_noncontiguous_and_sizes) {
  /* every-other-column slices cannot go to BLAS as they are: copied */
  sd_tensor *as = mat2(SD_F32, 6, 10), *bs = mat2(SD_F32, 10, 8);
  sd_tensor *a = sd_slice(as, 1, 0, 10, 2), *b = sd_slice(bs, 0, 1, 10, 2); /* [6,5], [5,8] */
  sd_tensor *c = sd_mm(a, b);
  ck_assert(mm_err(a, b, c) < 1e-5);
  sd_release(c);
  /* a narrowed block: row stride larger than its columns, passed with ld */
  sd_tensor *n1 = sd_narrow(as, 1, 2, 5), *c2 = sd_mm(n1, b);
  ck_assert(mm_err(n1, b, c2) < 1e-5);
  sd_release(c2); sd_release(n1);
  /* size-1 dims and a broadcast (stride 0) operand */
  sd_tensor *row = mat2(SD_F32, 1, 5), *col = mat2(SD_F32, 5, 1);
  sd_tensor *e = sd_expand(row, 2, (int64_t[]){4, 5});
  sd_tensor *c3 = sd_mm(e, col), *c4 = sd_mm(col, row);
  ck_assert(mm_err(e, col, c3) < 1e-5);
  ck_assert(mm_err(col, row, c4) < 1e-5);
  sd_release(c3); sd_release(c4); sd_release(e); sd_release(row); sd_release(col);
  /* mixed dtypes compute in f64 */
  sd_tensor *b64 = sd_to_dtype(b, SD_F64), *c5 = sd_matmul(a, b64);
  ck_assert(c5->dtype == SD_F64);
  ck_assert(mm_err(a, b64, c5) < 1e-12);
  sd_release(c5); sd_release(b64);
  sd_release(a); sd_release(b); sd_release(as); sd_release(bs);
}
END_TEST

START_TEST(matmul_vectors) {
  sd_tensor *x = unit_rand(SD_F64, 1, (int64_t[]){5}), *y = unit_rand(SD_F64, 1, (int64_t[]){5});
  sd_tensor *d = sd_matmul(x, y);
  ck_assert_int_eq(d->ndim, 0);
  double s = 0;
  for (int i = 0; i < 5; i++) s += sd_get_flat(x, i) * sd_get_flat(y, i);
  ck_assert(fabs(sd_get_flat(d, 0) - s) < 1e-14);
  sd_release(d);
  /* 2-d @ 1-d, 1-d @ 2-d, with a transposed matrix and a strided vector */
  sd_tensor *as = mat2(SD_F64, 5, 4), *a = sd_transpose(as, 0, 1); /* [4, 5] */
  sd_tensor *big = unit_rand(SD_F64, 1, (int64_t[]){10}), *xs = sd_slice(big, 0, 0, 10, 2);
  sd_tensor *mv = sd_matmul(a, xs), *vm = sd_matmul(xs, as);
  ck_assert_int_eq(mv->ndim, 1);
  ck_assert_int_eq(mv->shape[0], 4);
  ck_assert_int_eq(vm->shape[0], 4);
  for (int i = 0; i < 4; i++) {
    double r = 0;
    for (int k = 0; k < 5; k++) r += at(a, 0, i, k) * sd_get_flat(xs, k);
    ck_assert(fabs(sd_get_flat(mv, i) - r) < 1e-12);
    ck_assert(fabs(sd_get_flat(vm, i) - r) < 1e-12); /* xs @ as = a @ xs */
  }
  sd_tensor *o = sd_outer(x, xs);
  ck_assert(fabs(at(o, 0, 2, 3) - sd_get_flat(x, 2) * sd_get_flat(xs, 3)) < 1e-15);
  sd_tensor *dd = sd_dot(x, y);
  ck_assert(sd_get_flat(dd, 0) == sd_get_flat(d = sd_matmul(x, y), 0));
  sd_release(d); sd_release(dd); sd_release(o); sd_release(mv); sd_release(vm); sd_release(xs);
  sd_release(big); sd_release(a); sd_release(as); sd_release(x); sd_release(y);
}
END_TEST

START_TEST(matmul_batched_broadcast) {
  /* [2,1,3,4] @ [5,4,2] -> [2,5,3,2] */
  sd_tensor *a = unit_rand(SD_F64, 4, (int64_t[]){2, 1, 3, 4}), *b = unit_rand(SD_F64, 3, (int64_t[]){5, 4, 2});
  sd_tensor *c = sd_matmul(a, b);
  ck_assert_int_eq(c->ndim, 4);
  ck_assert_int_eq(c->shape[0], 2);
  ck_assert_int_eq(c->shape[1], 5);
  for (int64_t p = 0; p < 2; p++)
    for (int64_t q = 0; q < 5; q++)
      for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 2; j++) {
          double s = 0;
          for (int64_t k = 0; k < 4; k++) s += at(a, p, i, k) * at(b, q, k, j);
          ck_assert(fabs(s - at(c, p * 5 + q, i, j)) < 1e-12);
        }
  sd_release(c);
  /* folded: [3,4,6] @ [6,2] is one GEMM over 12 rows; also through a transposed b */
  sd_tensor *x = unit_rand(SD_F32, 3, (int64_t[]){3, 4, 6}), *ws = mat2(SD_F32, 2, 6), *w = sd_transpose(ws, 0, 1);
  sd_tensor *y = sd_matmul(x, w);
  ck_assert(bmm_err(x, w, y, 3, true, false) < 1e-5);
  /* not foldable: a transposed batch */
  sd_tensor *xt = sd_transpose(x, 0, 1), *yt = sd_matmul(xt, w); /* [4,3,6] */
  ck_assert(bmm_err(xt, w, yt, 4, true, false) < 1e-5);
  /* a 1-d operand against a batch */
  sd_tensor *v = unit_rand(SD_F32, 1, (int64_t[]){6}), *yv = sd_matmul(x, v); /* [3,4] */
  ck_assert_int_eq(yv->ndim, 2);
  ck_assert(fabs(sd_get_flat(yv, 5) - (at(x, 1, 1, 0) * sd_get_flat(v, 0) + at(x, 1, 1, 1) * sd_get_flat(v, 1) +
    at(x, 1, 1, 2) * sd_get_flat(v, 2) + at(x, 1, 1, 3) * sd_get_flat(v, 3) +
    at(x, 1, 1, 4) * sd_get_flat(v, 4) + at(x, 1, 1, 5) * sd_get_flat(v, 5))) < 1e-5);
  sd_tensor *u = unit_rand(SD_F32, 1, (int64_t[]){4}), *yu = sd_matmul(u, x); /* [3,6] */
  ck_assert_int_eq(yu->shape[0], 3);
  ck_assert_int_eq(yu->shape[1], 6);
  sd_tensor *bm = sd_bmm(x, tmp(unit_rand(SD_F32, 3, (int64_t[]){3, 6, 2})));
  ck_assert_ptr_nonnull(bm);
  sd_release(bm); sd_release(u); sd_release(yu); sd_release(v); sd_release(yv); sd_release(xt);
  sd_release(yt); sd_release(y); sd_release(x); sd_release(w); sd_release(ws); sd_release(a); sd_release(b);
}
END_TEST

START_TEST(matmul_empty) {
  sd_tensor *a = sd_empty(SD_F32, 2, (int64_t[]){3, 0}), *b = sd_empty(SD_F32, 2, (int64_t[]){0, 2});
  sd_tensor *c = sd_matmul(a, b);
  ck_assert_int_eq(sd_numel(c), 6);
  for (int i = 0; i < 6; i++) ck_assert(sd_get_flat(c, i) == 0);
  sd_tensor *e = sd_matmul(b, tmp(sd_empty(SD_F32, 2, (int64_t[]){2, 4}))); /* [0,4] */
  ck_assert_int_eq(e->shape[0], 0);
  sd_tensor *v = sd_empty(SD_F32, 1, (int64_t[]){0}), *d = sd_dot(v, v);
  ck_assert(sd_get_flat(d, 0) == 0);
  sd_tensor *mv = sd_mv(a, v);
  ck_assert(sd_get_flat(mv, 2) == 0);
  sd_release(mv); sd_release(d); sd_release(v); sd_release(e); sd_release(c); sd_release(a); sd_release(b);
}
END_TEST

START_TEST(addmm_scales) {
  sd_tensor *a = mat2(SD_F64, 3, 4), *b = mat2(SD_F64, 4, 2), *bias = unit_rand(SD_F64, 1, (int64_t[]){2});
  sd_tensor *c = sd_addmm(bias, a, b, 0.5, -2), *p = sd_mm(a, b);
  for (int i = 0; i < 6; i++)
    ck_assert(fabs(sd_get_flat(c, i) - (0.5 * sd_get_flat(bias, i % 2) - 2 * sd_get_flat(p, i))) < 1e-12);
  sd_tensor *nan = sd_full(SD_F64, 2, (int64_t[]){3, 2}, NAN), *c0 = sd_addmm(nan, a, b, 0, 1);
  for (int i = 0; i < 6; i++) ck_assert(sd_get_flat(c0, i) == sd_get_flat(p, i));
  sd_tensor *z = sd_empty(SD_F64, 2, (int64_t[]){3, 0}), *zb = sd_empty(SD_F64, 2, (int64_t[]){0, 2});
  sd_tensor *ck = sd_addmm(bias, z, zb, 3, 1); /* k = 0: 3 * bias */
  ck_assert(sd_get_flat(ck, 3) == 3 * sd_get_flat(bias, 1));
  expect_error(sd_addmm(tmp(unit_rand(SD_F64, 1, (int64_t[]){3})), a, b, 1, 1), "does not broadcast");
  sd_release(ck); sd_release(z); sd_release(zb); sd_release(c0); sd_release(nan);
  sd_release(p); sd_release(c); sd_release(a); sd_release(b); sd_release(bias);
}
END_TEST

START_TEST(matmul_errors) {
  sd_tensor *a = mat2(SD_F32, 3, 4), *b = mat2(SD_F32, 5, 2);
  expect_error(sd_matmul(a, b), "matmul: shapes [3,4] and [5,2] cannot be multiplied");
  sd_tensor *i = sd_zeros(SD_I64, 2, (int64_t[]){4, 2});
  expect_error(sd_matmul(a, i), "matmul: needs f32 or f64, got i64");
  sd_tensor *s = sd_scalar(SD_F32, 1);
  expect_error(sd_matmul(s, a), "at least 1 dim");
  expect_error(sd_mm(a, tmp(sd_zeros(SD_F32, 1, (int64_t[]){4}))), "mm: argument #2 must be 2-d");
  sd_tensor *x = sd_zeros(SD_F32, 3, (int64_t[]){2, 3, 4}), *y = sd_zeros(SD_F32, 3, (int64_t[]){3, 4, 2});
  expect_error(sd_matmul(x, y), "batch dims");
  expect_error(sd_bmm(x, y), "bmm: batch sizes");
  expect_error(sd_dot(tmp(sd_zeros(SD_F32, 1, (int64_t[]){3})), tmp(sd_zeros(SD_F32, 1, (int64_t[]){2}))), "sizes 3 and 2");
  sd_release(x); sd_release(y); sd_release(s); sd_release(i); sd_release(a); sd_release(b);
}
END_TEST

/* One thread count or another: the same bits (OpenBLAS splits GEMM and
   GEMV outputs, never a dot product; sonde's own dot is sequential). */
START_TEST(matmul_thread_invariant) {
  sd_tensor *a = mat2(SD_F32, 300, 257), *b = mat2(SD_F32, 257, 190), *x = unit_rand(SD_F32, 1, (int64_t[]){257});
  sd_tensor *at_ = sd_transpose(a, 0, 1);
  sd_set_num_threads(1);
  sd_tensor *c1 = sd_mm(a, b), *v1 = sd_mv(a, x), *w1 = sd_matmul(x, at_), *d1 = sd_cdist(a, a, false);
  sd_set_num_threads(2);
  sd_tensor *c2 = sd_mm(a, b), *v2 = sd_mv(a, x), *w2 = sd_matmul(x, at_), *d2 = sd_cdist(a, a, false);
  ck_assert(memcmp(sd_data(c1), sd_data(c2), 300 * 190 * 4) == 0);
  ck_assert(memcmp(sd_data(v1), sd_data(v2), 300 * 4) == 0);
  ck_assert(memcmp(sd_data(w1), sd_data(w2), 300 * 4) == 0);
  ck_assert(memcmp(sd_data(d1), sd_data(d2), 300 * 300 * 4) == 0);
  sd_release(c1); sd_release(c2); sd_release(v1); sd_release(v2); sd_release(w1); sd_release(w2);
  sd_release(d1); sd_release(d2); sd_release(at_); sd_release(a); sd_release(b); sd_release(x);
}
END_TEST

/* --- LAPACK --- */

/* A symmetric positive definite n x n: M M^T + n I. */
static sd_tensor *spd(sd_dtype dt, int64_t n) {
  sd_tensor *m = mat2(dt, n, n), *mt = sd_transpose(m, 0, 1), *a = sd_mm(m, mt);
  for (int64_t i = 0; i < n; i++) {
    char *p = (char *)sd_data(a) + (i * n + i) * (int64_t)sd_dtype_size(dt);
    sd_set_ptr(dt, p, sd_get_ptr(dt, p) + (double)n);
  }
  sd_release(mt); sd_release(m);
  return a;
}

/* max |x @ y - z| of 2-d views, naive. */
static double prod_err(const sd_tensor *x, const sd_tensor *y, const sd_tensor *z) { return mm_err(x, y, z); }

START_TEST(cholesky_reconstructs) {
  for (int f = 0; f < 2; f++) {
    sd_dtype dt = f ? SD_F64 : SD_F32;
    double tol = f ? 1e-10 : 1e-3;
    sd_tensor *a = spd(dt, 6), *l = sd_cholesky(a, false), *lt = sd_transpose(l, 0, 1);
    ck_assert(prod_err(l, lt, a) < tol);
    ck_assert(at(l, 0, 1, 4) == 0); /* strictly upper part zero */
    sd_tensor *u = sd_cholesky(a, true), *ut = sd_transpose(u, 0, 1);
    ck_assert(prod_err(ut, u, a) < tol);
    ck_assert(at(u, 0, 4, 1) == 0);
    sd_release(ut); sd_release(u); sd_release(lt); sd_release(l); sd_release(a);
  }
  /* not positive definite at the 3rd leading minor */
  sd_tensor *b = sd_zeros(SD_F64, 2, (int64_t[]){4, 4});
  double v[16] = {4, 0, 0, 0, 0, 4, 0, 0, 0, 0, -1, 0, 0, 0, 0, 4};
  memcpy(sd_data(b), v, sizeof v);
  expect_error(sd_cholesky(b, false), "cholesky: matrix is not positive definite (leading minor 3)");
  expect_error(sd_cholesky(tmp(sd_zeros(SD_F64, 2, (int64_t[]){2, 3})), false), "must be square");
  expect_error(sd_cholesky(tmp(sd_zeros(SD_I32, 2, (int64_t[]){2, 2})), false), "needs f32 or f64, got i32");
  sd_release(b);
}
END_TEST

START_TEST(solve_and_inverse) {
  sd_tensor *a = mat2(SD_F64, 5, 5), *b = mat2(SD_F64, 5, 3);
  sd_tensor *x = sd_solve(a, b);
  ck_assert_int_eq(x->shape[0], 5);
  ck_assert_int_eq(x->shape[1], 3);
  ck_assert(prod_err(a, x, b) < 1e-10);
  /* a transposed A is solved as itself */
  sd_tensor *at_ = sd_transpose(a, 0, 1), *xt = sd_solve(at_, b);
  ck_assert(prod_err(at_, xt, b) < 1e-10);
  /* vector right-hand side */
  sd_tensor *v = unit_rand(SD_F64, 1, (int64_t[]){5}), *xv = sd_solve(a, v), *av = sd_mv(a, xv);
  ck_assert_int_eq(xv->ndim, 1);
  for (int i = 0; i < 5; i++) ck_assert(fabs(sd_get_flat(av, i) - sd_get_flat(v, i)) < 1e-10);
  /* batch broadcast: A [2, 5, 5] and B [5, 3] */
  sd_tensor *ab = unit_rand(SD_F64, 3, (int64_t[]){2, 5, 5}), *xb = sd_solve(ab, b), *axb = sd_matmul(ab, xb);
  ck_assert_int_eq(xb->ndim, 3);
  for (int64_t q = 0; q < 2; q++)
    for (int64_t i = 0; i < 5; i++)
      for (int64_t j = 0; j < 3; j++) ck_assert(fabs(at(axb, q, i, j) - at(b, 0, i, j)) < 1e-9);
  sd_tensor *inv = sd_inverse(a), *id = sd_mm(a, inv);
  for (int64_t i = 0; i < 5; i++)
    for (int64_t j = 0; j < 5; j++) ck_assert(fabs(at(id, 0, i, j) - (i == j)) < 1e-10);
  /* singular: rows 1 and 2 proportional */
  sd_tensor *s = sd_zeros(SD_F64, 2, (int64_t[]){2, 2});
  double sv[4] = {1, 2, 2, 4};
  memcpy(sd_data(s), sv, sizeof sv);
  expect_error(sd_solve(s, v), "solve: shapes [2,2] and [5] do not match");
  sd_tensor *v2 = unit_rand(SD_F64, 1, (int64_t[]){2});
  expect_error(sd_solve(s, v2), "solve: matrix is singular");
  expect_error(sd_inverse(s), "inverse: matrix is singular");
  sd_tensor *dt = sd_det(s), *da = sd_det(a);
  ck_assert(sd_get_flat(dt, 0) == 0);
  double m4[4] = {1, 2, 3, 4};
  memcpy(sd_data(s), m4, sizeof m4);
  sd_tensor *d2 = sd_det(s), *sg, *la;
  ck_assert(sd_get_flat(d2, 0) == -2);
  ck_assert(sd_slogdet(s, &sg, &la) == SD_OK);
  ck_assert(sd_get_flat(sg, 0) == -1 && fabs(sd_get_flat(la, 0) - log(2)) < 1e-15);
  /* det(A) = det(L) det(U) agrees with the product of the eigenvalues of A A^T's root... simply: det(A^T) = det(A) */
  sd_tensor *dat = sd_det(at_);
  ck_assert(fabs(sd_get_flat(dat, 0) - sd_get_flat(da, 0)) < 1e-12);
  sd_release(dat); sd_release(sg); sd_release(la); sd_release(d2); sd_release(da); sd_release(dt);
  sd_release(v2); sd_release(s); sd_release(id); sd_release(inv); sd_release(axb); sd_release(xb);
  sd_release(ab); sd_release(av); sd_release(xv); sd_release(v); sd_release(xt); sd_release(at_);
  sd_release(x); sd_release(a); sd_release(b);
}
END_TEST

START_TEST(eigh_decomposes) {
  sd_tensor *a = spd(SD_F64, 7), *w, *v;
  ck_assert(sd_eigh(a, &w, &v) == SD_OK);
  ck_assert_int_eq(w->ndim, 1);
  for (int i = 1; i < 7; i++) ck_assert(sd_get_flat(w, i - 1) <= sd_get_flat(w, i));
  /* A v_j = w_j v_j for each column, and V^T V = I */
  sd_tensor *av = sd_mm(a, v), *vt = sd_transpose(v, 0, 1), *vtv = sd_mm(vt, v);
  for (int64_t i = 0; i < 7; i++)
    for (int64_t j = 0; j < 7; j++) {
      ck_assert(fabs(at(av, 0, i, j) - sd_get_flat(w, j) * at(v, 0, i, j)) < 1e-10);
      ck_assert(fabs(at(vtv, 0, i, j) - (i == j)) < 1e-12);
    }
  sd_release(vtv); sd_release(vt); sd_release(av); sd_release(w); sd_release(v); sd_release(a);
  /* f32 batch */
  sd_tensor *b = unit_rand(SD_F32, 3, (int64_t[]){3, 4, 4}), *bt = sd_transpose(b, 1, 2), *s = sd_matmul(b, bt);
  ck_assert(sd_eigh(s, &w, &v) == SD_OK);
  ck_assert_int_eq(w->shape[0], 3);
  ck_assert_int_eq(w->shape[1], 4);
  ck_assert(sd_get_flat(w, 4) <= sd_get_flat(w, 5));
  sd_release(w); sd_release(v); sd_release(s); sd_release(bt); sd_release(b);
}
END_TEST

/* max |U diag(S) Vh - A| */
static double svd_err(const sd_tensor *a, const sd_tensor *u, const sd_tensor *s, const sd_tensor *vh) {
  double e = 0;
  int64_t k = s->shape[0];
  for (int64_t i = 0; i < a->shape[0]; i++)
    for (int64_t j = 0; j < a->shape[1]; j++) {
      double r = 0;
      for (int64_t t = 0; t < k; t++) r += at(u, 0, i, t) * sd_get_flat(s, t) * at(vh, 0, t, j);
      e = fmax(e, fabs(r - at(a, 0, i, j)));
    }
  return e;
}

START_TEST(svd_reconstructs) {
  int64_t shapes[3][2] = {{6, 4}, {3, 5}, {4, 4}};
  for (int c = 0; c < 3; c++) {
    int64_t m = shapes[c][0], n = shapes[c][1], k = m < n ? m : n;
    sd_tensor *a = mat2(SD_F64, m, n), *u, *s, *vh;
    ck_assert(sd_svd(a, false, &u, &s, &vh) == SD_OK);
    ck_assert_int_eq(u->shape[0], m);
    ck_assert_int_eq(u->shape[1], k);
    ck_assert_int_eq(vh->shape[0], k);
    ck_assert_int_eq(vh->shape[1], n);
    ck_assert(svd_err(a, u, s, vh) < 1e-12);
    for (int t = 1; t < k; t++) ck_assert(sd_get_flat(s, t - 1) >= sd_get_flat(s, t));
    sd_release(u); sd_release(s); sd_release(vh);
    ck_assert(sd_svd(a, true, &u, &s, &vh) == SD_OK);
    ck_assert_int_eq(u->shape[1], m);
    ck_assert_int_eq(vh->shape[0], n);
    sd_tensor *uvt = sd_transpose(u, 0, 1), *uu = sd_mm(uvt, u);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < m; j++) ck_assert(fabs(at(uu, 0, i, j) - (i == j)) < 1e-12);
    sd_release(uu); sd_release(uvt); sd_release(u); sd_release(s); sd_release(vh); sd_release(a);
  }
  sd_tensor *e = sd_zeros(SD_F32, 2, (int64_t[]){3, 0}), *u, *s, *vh;
  ck_assert(sd_svd(e, true, &u, &s, &vh) == SD_OK);
  ck_assert_int_eq(s->shape[0], 0);
  ck_assert(at(u, 0, 2, 2) == 1);
  sd_release(u); sd_release(s); sd_release(vh); sd_release(e);
}
END_TEST

START_TEST(qr_reconstructs) {
  int64_t shapes[2][2] = {{7, 4}, {3, 5}};
  for (int c = 0; c < 2; c++) {
    int64_t m = shapes[c][0], n = shapes[c][1], k = m < n ? m : n;
    sd_tensor *a = mat2(SD_F64, m, n), *q, *r;
    ck_assert(sd_qr(a, &q, &r) == SD_OK);
    ck_assert_int_eq(q->shape[0], m);
    ck_assert_int_eq(q->shape[1], k);
    ck_assert_int_eq(r->shape[0], k);
    ck_assert_int_eq(r->shape[1], n);
    ck_assert(prod_err(q, r, a) < 1e-12);
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < i; j++) ck_assert(at(r, 0, i, j) == 0);
    sd_tensor *qt = sd_transpose(q, 0, 1), *qq = sd_mm(qt, q);
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < k; j++) ck_assert(fabs(at(qq, 0, i, j) - (i == j)) < 1e-12);
    sd_release(qq); sd_release(qt); sd_release(q); sd_release(r); sd_release(a);
  }
}
END_TEST

START_TEST(lstsq_solves) {
  /* over-determined: the solution satisfies the normal equations A^T (A x - b) = 0 */
  sd_tensor *a = mat2(SD_F64, 8, 3), *b = mat2(SD_F64, 8, 2), *x = sd_lstsq(a, b);
  ck_assert_int_eq(x->shape[0], 3);
  ck_assert_int_eq(x->shape[1], 2);
  sd_tensor *ax = sd_mm(a, x), *at_ = sd_transpose(a, 0, 1);
  for (int64_t i = 0; i < 3; i++)
    for (int64_t j = 0; j < 2; j++) {
      double s = 0;
      for (int64_t t = 0; t < 8; t++) s += at(at_, 0, i, t) * (at(ax, 0, t, j) - at(b, 0, t, j));
      ck_assert(fabs(s) < 1e-12);
    }
  /* under-determined, consistent: exact fit; vector right-hand side */
  sd_tensor *w = mat2(SD_F32, 2, 5), *y = unit_rand(SD_F32, 1, (int64_t[]){2}), *z = sd_lstsq(w, y), *wz = sd_mv(w, z);
  ck_assert_int_eq(z->ndim, 1);
  ck_assert_int_eq(z->shape[0], 5);
  for (int i = 0; i < 2; i++) ck_assert(fabs(sd_get_flat(wz, i) - sd_get_flat(y, i)) < 1e-5);
  expect_error(sd_lstsq(a, y), "lstsq: shapes [8,3] and [2] do not match");
  sd_release(wz); sd_release(z); sd_release(y); sd_release(w); sd_release(at_); sd_release(ax);
  sd_release(x); sd_release(a); sd_release(b);
}
END_TEST

/* --- cdist --- */

START_TEST(cdist_exact) {
  for (int f = 0; f < 2; f++) {
    sd_dtype dt = f ? SD_F64 : SD_F32;
    int64_t n = 40, m = 37, d = 70;
    sd_tensor *a = mat2(dt, n, d), *b = mat2(dt, m, d);
    /* offset far from the origin: the GEMM form cancels badly here */
    for (int64_t i = 0; i < n * d; i++) {
      char *p = (char *)sd_data(a) + i * (int64_t)sd_dtype_size(dt);
      sd_set_ptr(dt, p, sd_get_ptr(dt, p) + 30);
    }
    for (int64_t i = 0; i < m * d; i++) {
      char *p = (char *)sd_data(b) + i * (int64_t)sd_dtype_size(dt);
      sd_set_ptr(dt, p, sd_get_ptr(dt, p) + 30);
    }
    /* b's rows 5 and 36 (different tiles) are copies of a's row 3 */
    memcpy((char *)sd_data(b) + 5 * d * sd_dtype_size(dt), (char *)sd_data(a) + 3 * d * sd_dtype_size(dt), d * sd_dtype_size(dt));
    memcpy((char *)sd_data(b) + 36 * d * sd_dtype_size(dt), (char *)sd_data(a) + 3 * d * sd_dtype_size(dt), d * sd_dtype_size(dt));
    sd_tensor *c = sd_cdist(a, b, false), *c2 = sd_cdist(a, b, true);
    ck_assert(c->dtype == dt);
    ck_assert(at(c, 0, 3, 5) == 0 && at(c, 0, 3, 36) == 0);
    double rel = 0;
    for (int64_t i = 0; i < n; i++) {
      ck_assert(at(c, 0, i, 5) == at(c, 0, i, 36)); /* ties stay ties */
      for (int64_t j = 0; j < m; j++) {
        double s = 0;
        for (int64_t t = 0; t < d; t++) {
          double x = at(a, 0, i, t) - at(b, 0, j, t);
          s += x * x;
        }
        if (s > 0) rel = fmax(rel, fabs(at(c, 0, i, j) - sqrt(s)) / sqrt(s));
        if (s > 0) rel = fmax(rel, fabs(at(c2, 0, i, j) - s) / s);
      }
    }
    ck_assert_msg(rel < (f ? 1e-12 : 1e-5), "relative error %g", rel);
    sd_release(c2); sd_release(c); sd_release(a); sd_release(b);
  }
  /* a against itself: an exact zero diagonal */
  sd_tensor *x = mat2(SD_F32, 50, 33), *xx = sd_cdist(x, x, false);
  for (int64_t i = 0; i < 50; i++) ck_assert(at(xx, 0, i, i) == 0);
  sd_tensor *e = sd_cdist(tmp(sd_zeros(SD_F32, 2, (int64_t[]){0, 33})), x, false);
  expect_error(sd_cdist(x, tmp(sd_zeros(SD_F32, 2, (int64_t[]){4, 5})), false), "cdist: rows of [50,33] and [4,5]");
  ck_assert_int_eq(e->shape[0], 0);
  ck_assert_int_eq(e->shape[1], 50);
  sd_release(e); sd_release(xx); sd_release(x);
}
END_TEST

/* --- OpenBLAS loading and the core choice (each test runs in a fresh fork,
   so OpenBLAS loads again under the environment set here) --- */

START_TEST(core_user_respected) {
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  sd_blas_info info;
  ck_assert(sd_blas_info_get(&info) == SD_OK);
  ck_assert_str_eq(info.source, "user");
  ck_assert_str_eq(info.core, "Haswell");
  ck_assert(strstr(info.config, "OpenBLAS") != NULL);
}
END_TEST

START_TEST(core_chosen_by_sonde) {
  unsetenv("OPENBLAS_CORETYPE");
  sd_set_num_threads(2);
  sd_blas_info info;
  ck_assert(sd_blas_info_get(&info) == SD_OK);
  ck_assert_int_eq(info.threads, 1); /* sonde's pool runs the tiles */
  if (strcmp(info.cpu_core, "generic") == 0) {
    ck_assert_str_eq(info.source, "auto");
  } else {
    ck_assert_str_eq(info.source, "sonde");
    ck_assert_str_eq(info.core, info.cpu_core);
  }
  ck_assert_ptr_null(getenv("OPENBLAS_CORETYPE")); /* children decide for themselves */
}
END_TEST

int main(void) {
  Suite *s = suite_create("linalg");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, NULL, pool_drain);
  tcase_add_test(tc, matmul_transpose_combos);
  tcase_add_test(tc, matmul_noncontiguous_and_sizes);
  tcase_add_test(tc, matmul_vectors);
  tcase_add_test(tc, matmul_batched_broadcast);
  tcase_add_test(tc, matmul_empty);
  tcase_add_test(tc, addmm_scales);
  tcase_add_test(tc, matmul_errors);
  tcase_add_test(tc, matmul_thread_invariant);
  tcase_add_test(tc, cholesky_reconstructs);
  tcase_add_test(tc, solve_and_inverse);
  tcase_add_test(tc, eigh_decomposes);
  tcase_add_test(tc, svd_reconstructs);
  tcase_add_test(tc, qr_reconstructs);
  tcase_add_test(tc, lstsq_solves);
  tcase_add_test(tc, cdist_exact);
  tcase_add_test(tc, core_user_respected);
  tcase_add_test(tc, core_chosen_by_sonde);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
