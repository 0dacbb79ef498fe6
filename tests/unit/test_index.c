/* test_index.c: the indexing, joining and sorting core (index.h) against
   naive f64 reference loops, on contiguous, transposed, broadcast and empty
   inputs, and its errors. */
#include "unit.h"
#include "index.h"
#include <string.h>

/* --- helpers --- */

static uint64_t rng_state = 88172645463325252ull;
static double urand(void) { /* xorshift, deterministic */
  rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}
static int64_t irand(int64_t n) { return (int64_t)(urand() * (double)n); }

static sd_tensor *rand_t(sd_dtype dt, int nd, const int64_t *sh, int64_t levels) {
  sd_tensor *t = sd_empty(dt, nd, sh);
  ck_assert_ptr_nonnull(t);
  for (int64_t i = 0, n = sd_numel(t); i < n; i++)
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), (double)irand(levels) - 3);
  return t;
}

/* 1-based random indices in 1..size, of the given dtype and shape. */
static sd_tensor *rand_idx(sd_dtype dt, int nd, const int64_t *sh, int64_t size) {
  sd_tensor *t = sd_empty(dt, nd, sh);
  ck_assert_ptr_nonnull(t);
  for (int64_t i = 0, n = sd_numel(t); i < n; i++)
    sd_seti_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), 1 + irand(size));
  return t;
}

static double at(const sd_tensor *t, const int64_t *ix) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += ix[d] * t->stride[d];
  return sd_get_ptr(t->dtype, (char *)t->storage->data + off * (int64_t)sd_dtype_size(t->dtype));
}

static int64_t iat(const sd_tensor *t, const int64_t *ix) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += ix[d] * t->stride[d];
  return sd_geti_ptr(t->dtype, (char *)t->storage->data + off * (int64_t)sd_dtype_size(t->dtype));
}

/* Next multi-index in row-major order; false after the last. */
static bool next_ix(const sd_tensor *t, int64_t *ix) {
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (++ix[d] < t->shape[d]) return true;
    ix[d] = 0;
  }
  return false;
}

static bool has(const char *s) { return strstr(sd_errmsg(), s) != NULL; }

static void assert_same(const sd_tensor *a, const sd_tensor *b) {
  ck_assert(sd_same_shape(a, b));
  for (int64_t i = 0, n = sd_numel(a); i < n; i++) {
    double x = sd_get_flat(a, i), y = sd_get_flat(b, i);
    ck_assert_msg(x == y || (x != x && y != y), "element %lld: %g vs %g", (long long)i, x, y);
  }
}

/* --- gather / index_select --- */

START_TEST(gather_matches_reference) {
  int64_t sh[3] = {4, 5, 6};
  sd_tensor *base = rand_t(SD_F32, 3, sh, 100);
  sd_tensor *t = sd_transpose(base, 0, 2); /* [6,5,4], non-contiguous */
  for (int dim = 0; dim < 3; dim++) {
    int64_t ish[3] = {3, 5, 2};
    ish[dim] = 7; /* more picks than the dim has: repeats */
    sd_tensor *idx = rand_idx(dim == 1 ? SD_I32 : SD_I64, 3, ish, t->shape[dim]);
    sd_tensor *out = sd_gather(t, dim, idx);
    ck_assert_ptr_nonnull(out);
    ck_assert(sd_same_shape(out, idx));
    int64_t ix[3] = {0, 0, 0}, src[3];
    do {
      memcpy(src, ix, sizeof src);
      src[dim] = iat(idx, ix) - 1;
      ck_assert(at(out, ix) == at(t, src));
    } while (next_ix(out, ix));
    sd_release(out); sd_release(idx);
  }
  sd_release(t); sd_release(base);
}
END_TEST

/* Along the contiguous last dim (the typed row loop), every element size,
   with a bad index placed mid-run reported, not read. */
START_TEST(gather_last_dim_rows) {
  int64_t sh[2] = {33, 70}, ish[2] = {33, 129};
  const sd_dtype dts[] = {SD_F32, SD_I32, SD_F64, SD_I64, SD_U8};
  for (size_t k = 0; k < sizeof dts / sizeof *dts; k++) {
    sd_tensor *t = rand_t(dts[k], 2, sh, 250), *idx = rand_idx(SD_I64, 2, ish, 70);
    sd_tensor *out = sd_gather(t, 1, idx);
    ck_assert_ptr_nonnull(out);
    for (int64_t r = 0; r < 33; r++)
      for (int64_t j = 0; j < 129; j++)
        ck_assert(at(out, (int64_t[]){r, j}) == at(t, (int64_t[]){r, iat(idx, (int64_t[]){r, j}) - 1}));
    const int64_t bad[] = {71, 0, -5};
    for (int b = 0; b < 3; b++) {
      ((int64_t *)sd_data(idx))[17 * 129 + 60] = bad[b];
      ck_assert_ptr_null(sd_gather(t, -1, idx));
      ck_assert(has("gather: index") && has("out of range for dim 2 of size 70"));
    }
    sd_release(out); sd_release(idx); sd_release(t);
  }
}
END_TEST

START_TEST(index_select_matches_reference) {
  int64_t sh[3] = {3, 4, 5};
  sd_tensor *c = rand_t(SD_F64, 3, sh, 1000);
  sd_tensor *nc = sd_transpose(c, 1, 2);
  sd_tensor *inputs[2] = {c, nc};
  for (int k = 0; k < 2; k++) {
    sd_tensor *t = inputs[k];
    for (int dim = 0; dim < 3; dim++) {
      int64_t n = 6;
      sd_tensor *idx = rand_idx(SD_I64, 1, &n, t->shape[dim]);
      sd_tensor *out = sd_index_select(t, dim, idx);
      ck_assert_ptr_nonnull(out);
      ck_assert_int_eq(out->shape[dim], 6);
      int64_t ix[3] = {0, 0, 0}, src[3];
      do {
        memcpy(src, ix, sizeof src);
        src[dim] = ((int64_t *)sd_data(idx))[ix[dim]] - 1;
        ck_assert(at(out, ix) == at(t, src));
      } while (next_ix(out, ix));
      sd_release(out); sd_release(idx);
    }
  }
  /* a 0-d index keeps the dim with size 1; an empty one gives size 0 */
  sd_tensor *i0 = sd_scalar(SD_I64, 2);
  sd_tensor *o0 = sd_index_select(c, 1, i0);
  ck_assert_int_eq(o0->shape[1], 1);
  ck_assert(sd_get_flat(o0, 0) == at(c, (int64_t[]){0, 1, 0}));
  int64_t zero = 0;
  sd_tensor *ie = sd_empty(SD_I64, 1, &zero);
  sd_tensor *oe = sd_index_select(nc, 2, ie);
  ck_assert_ptr_nonnull(oe);
  ck_assert_int_eq(sd_numel(oe), 0);
  sd_release(oe); sd_release(ie); sd_release(o0); sd_release(i0);
  sd_release(nc); sd_release(c);
}
END_TEST

START_TEST(index_select_large_rows_parallel) {
  /* enough rows to take the threaded path; compare 1 and 2 threads */
  int64_t sh[2] = {5000, 40}, n = 20000;
  sd_tensor *t = rand_t(SD_I32, 2, sh, 1 << 20);
  sd_tensor *idx = rand_idx(SD_I64, 1, &n, 5000);
  sd_set_num_threads(1);
  sd_tensor *a = sd_index_select(t, 0, idx);
  sd_set_num_threads(2);
  sd_tensor *b = sd_index_select(t, 0, idx);
  ck_assert_int_eq(memcmp(sd_data(a), sd_data(b), (size_t)sd_numel(a) * 4), 0);
  for (int64_t r = 0; r < n; r += 997)
    ck_assert(sd_get_flat(a, r * 40 + 7) == sd_get_flat(t, (((int64_t *)sd_data(idx))[r] - 1) * 40 + 7));
  sd_release(a); sd_release(b); sd_release(idx); sd_release(t);
  /* single elements along the last dim; the threads' ranges start mid-slice */
  int64_t sh2[2] = {20001, 7}, k = 3;
  sd_tensor *u = rand_t(SD_F32, 2, sh2, 1 << 20), *ui = rand_idx(SD_I32, 1, &k, 7);
  sd_tensor *s = sd_index_select(u, 1, ui);
  ck_assert_ptr_nonnull(s);
  for (int64_t r = 0; r < 20001; r++)
    for (int64_t j = 0; j < 3; j++)
      ck_assert(at(s, (int64_t[]){r, j}) == at(u, (int64_t[]){r, ((int32_t *)sd_data(ui))[j] - 1}));
  sd_release(s); sd_release(ui); sd_release(u);
}
END_TEST

START_TEST(out_of_range_and_bad_index_are_errors) {
  int64_t sh[2] = {3, 4}, two = 2;
  sd_tensor *t = unit_iota(SD_F32, 2, sh);
  sd_tensor *bad = sd_empty(SD_I64, 1, &two);
  ((int64_t *)sd_data(bad))[0] = 1;
  ((int64_t *)sd_data(bad))[1] = 5;
  ck_assert_ptr_null(sd_index_select(t, 1, bad));
  ck_assert(has("index_select") && has("index 5") && has("dim 2 of size 4"));
  ((int64_t *)sd_data(bad))[1] = 0; /* 0 is not a 1-based position */
  ck_assert_ptr_null(sd_index_select(t, 0, bad));
  ck_assert(has("index 0") && has("size 3"));
  ((int64_t *)sd_data(bad))[1] = -1;
  ck_assert_ptr_null(sd_index_select(t, 0, bad));
  ck_assert(has("index -1"));
  sd_tensor *tt = sd_transpose(t, 0, 1); /* the strided path checks as it reads */
  ck_assert_ptr_null(sd_index_select(tt, 0, bad));
  ck_assert(has("index_select: index -1 out of range for dim 1 of size 4"));
  sd_release(tt);
  int64_t gsh[2] = {3, 1};
  sd_tensor *g = sd_full(SD_I64, 2, gsh, 9);
  ck_assert_ptr_null(sd_gather(t, 1, g));
  ck_assert(has("gather: index 9 out of range for dim 2 of size 4"));
  ck_assert_int_ne(sd_scatter_add_(t, 1, g, t), SD_OK);
  ck_assert(has("scatter_add") && has("index 9"));
  ck_assert_int_ne(sd_index_fill_(t, 0, bad, g), SD_OK); /* value not 0-d */
  sd_tensor *f = sd_full(SD_F32, 1, &two, 1);
  ck_assert_ptr_null(sd_index_select(t, 0, f));
  ck_assert(has("argument 'index'") && has("f32"));
  ck_assert_ptr_null(sd_gather(t, 2, g));
  ck_assert(has("dim 3 out of range"));
  const int64_t edge[] = {5, 0, INT64_MIN, INT64_MAX}; /* just past either end, and extremes */
  for (int k = 0; k < 4; k++) {
    sd_tensor *e = sd_full(SD_I64, 2, gsh, 1);
    ((int64_t *)sd_data(e))[2] = edge[k];
    ck_assert_int_ne(sd_scatter_add_(t, 1, e, t), SD_OK);
    ck_assert(has("scatter_add: index") && has("out of range for dim 2 of size 4"));
    ck_assert_int_ne(sd_scatter_(t, 1, e, t), SD_OK);
    ck_assert_ptr_null(sd_gather(t, 1, e));
    sd_release(e);
  }
  /* t untouched by the failed scatters */
  for (int i = 0; i < 12; i++) ck_assert(sd_get_flat(t, i) == i);
  sd_release(f); sd_release(g); sd_release(bad); sd_release(t);
}
END_TEST

/* --- scatter family --- */

START_TEST(scatter_and_scatter_add_match_reference) {
  int64_t sh[2] = {4, 6};
  for (int dim = 0; dim < 2; dim++) {
    int64_t ts[2] = {sh[1], sh[0]};
    sd_tensor *base = rand_t(SD_F64, 2, ts, 50);
    sd_tensor *t = sd_transpose(base, 0, 1); /* [4,6] non-contiguous destination */
    int64_t is[2] = {dim == 0 ? 9 : 3, dim == 0 ? 6 : 9};
    sd_tensor *idx = rand_idx(SD_I64, 2, is, t->shape[dim]);
    int64_t ssh[2] = {is[0] + 1, is[1] + 2}; /* src larger than index: ignored tail */
    sd_tensor *src = rand_t(SD_F64, 2, ssh, 50);
    sd_tensor *ref = sd_clone(t), *refadd = sd_clone(t), *tadd = sd_clone(t);
    int64_t ix[2] = {0, 0}, d[2];
    do { /* naive, row-major: the last write wins */
      memcpy(d, ix, sizeof d);
      d[dim] = iat(idx, ix) - 1;
      double *r = (double *)sd_data(ref) + d[0] * 6 + d[1];
      double *ra = (double *)sd_data(refadd) + d[0] * 6 + d[1];
      *r = at(src, ix);
      *ra += at(src, ix);
    } while (next_ix(idx, ix));
    ck_assert_int_eq(sd_scatter_(t, dim, idx, src), SD_OK);
    ck_assert_int_eq(sd_scatter_add_(tadd, dim, idx, src), SD_OK);
    assert_same(t, ref);
    assert_same(tadd, refadd);
    sd_release(tadd); sd_release(refadd); sd_release(ref); sd_release(src);
    sd_release(idx); sd_release(t); sd_release(base);
  }
}
END_TEST

/* Contiguous destinations take the threaded path: each element must still
   see its f32 additions in row-major order (bitwise equal to a naive f32
   loop), and the bits must not depend on the thread count. Few distinct
   indices, so most elements receive many additions. */
START_TEST(scatter_add_parallel_is_row_major) {
  int64_t sh[3] = {37, 29, 41};
  for (int dim = 0; dim < 3; dim++) {
    int64_t is[3] = {37, 29, 41};
    is[dim] = 300;
    sd_tensor *idx = rand_idx(SD_I64, 3, is, 3), *src = rand_t(SD_F32, 3, is, 1 << 20);
    for (int64_t i = 0, n = sd_numel(src); i < n; i++) ((float *)sd_data(src))[i] *= 1.37e-3f;
    sd_tensor *ref = rand_t(SD_F32, 3, sh, 7), *ref_set = sd_clone(ref);
    sd_tensor *out[2][2];
    for (int th = 1; th <= 2; th++) {
      sd_set_num_threads(th);
      out[th - 1][0] = sd_clone(ref);
      out[th - 1][1] = sd_clone(ref);
      ck_assert_int_eq(sd_scatter_add_(out[th - 1][0], dim, idx, src), SD_OK);
      ck_assert_int_eq(sd_scatter_(out[th - 1][1], dim, idx, src), SD_OK);
    }
    int64_t ix[3] = {0, 0, 0};
    do {
      int64_t d[3] = {ix[0], ix[1], ix[2]};
      d[dim] = iat(idx, ix) - 1;
      int64_t o = (d[0] * 29 + d[1]) * 41 + d[2], k = (ix[0] * is[1] + ix[1]) * is[2] + ix[2];
      ((float *)sd_data(ref))[o] += ((float *)sd_data(src))[k];
      ((float *)sd_data(ref_set))[o] = ((float *)sd_data(src))[k];
    } while (next_ix(idx, ix));
    for (int th = 0; th < 2; th++) {
      ck_assert_int_eq(memcmp(sd_data(out[th][0]), sd_data(ref), (size_t)sd_numel(ref) * 4), 0);
      ck_assert_int_eq(memcmp(sd_data(out[th][1]), sd_data(ref_set), (size_t)sd_numel(ref) * 4), 0);
      sd_release(out[th][0]); sd_release(out[th][1]);
    }
    sd_release(ref); sd_release(ref_set); sd_release(src); sd_release(idx);
  }
}
END_TEST

START_TEST(scatter_value_and_dtypes) {
  int64_t sh[2] = {2, 3}, ish[2] = {2, 1};
  sd_tensor *t = sd_zeros(SD_I64, 2, sh);
  sd_tensor *idx = sd_empty(SD_I32, 2, ish);
  ((int32_t *)sd_data(idx))[0] = 3;
  ((int32_t *)sd_data(idx))[1] = 1;
  sd_tensor *v = sd_scalar(SD_I64, 0);
  *(int64_t *)sd_data(v) = (int64_t)1 << 60; /* exact, not through a double */
  ck_assert_int_eq(sd_scatter_(t, 1, idx, v), SD_OK);
  ck_assert(((int64_t *)sd_data(t))[2] == (int64_t)1 << 60);
  ck_assert(((int64_t *)sd_data(t))[3] == (int64_t)1 << 60);
  ck_assert(((int64_t *)sd_data(t))[0] == 0);
  /* scatter_add of an f32 source into bool: converted, logical or */
  sd_tensor *b = sd_zeros(SD_BOOL, 2, sh);
  sd_tensor *s = sd_full(SD_F32, 2, ish, 2.5);
  ck_assert_int_eq(sd_scatter_add_(b, 1, idx, s), SD_OK);
  ck_assert(((uint8_t *)sd_data(b))[2] == 1 && ((uint8_t *)sd_data(b))[0] == 0);
  /* gather is the adjoint of scatter_add: <gather(x), y> = <x, scatter_add(0, y)> */
  int64_t xs[2] = {3, 4}, gs[2] = {5, 4};
  sd_tensor *x = rand_t(SD_F64, 2, xs, 20), *gi = rand_idx(SD_I64, 2, gs, 3), *y = rand_t(SD_F64, 2, gs, 20);
  sd_tensor *gx = sd_gather(x, 0, gi), *z = sd_zeros(SD_F64, 2, xs);
  ck_assert_int_eq(sd_scatter_add_(z, 0, gi, y), SD_OK);
  double l = 0, r = 0;
  for (int i = 0; i < 20; i++) l += sd_get_flat(gx, i) * sd_get_flat(y, i);
  for (int i = 0; i < 12; i++) r += sd_get_flat(x, i) * sd_get_flat(z, i);
  ck_assert(fabs(l - r) < 1e-9);
  sd_release(z); sd_release(gx); sd_release(y); sd_release(gi); sd_release(x);
  sd_release(s); sd_release(b); sd_release(v); sd_release(idx); sd_release(t);
}
END_TEST

START_TEST(index_add_copy_fill_match_reference) {
  int64_t sh[3] = {4, 3, 5};
  for (int dim = 0; dim < 3; dim++) {
    sd_tensor *t0 = rand_t(SD_F64, 3, sh, 30);
    int64_t k = 7, ssh[3] = {4, 3, 5};
    ssh[dim] = k;
    sd_tensor *idx = rand_idx(SD_I64, 1, &k, sh[dim]);
    sd_tensor *sbase = rand_t(SD_F64, 3, (int64_t[]){ssh[2], ssh[1], ssh[0]}, 30);
    sd_tensor *src = sd_permute(sbase, (int[]){2, 1, 0}); /* non-contiguous source */
    sd_tensor *ta = sd_clone(t0), *tc = sd_clone(t0), *tf = sd_clone(t0);
    sd_tensor *ra = sd_clone(t0), *rc = sd_clone(t0), *rf = sd_clone(t0);
    sd_tensor *val = sd_scalar(SD_F64, -7);
    int64_t ix[3] = {0, 0, 0}, d[3];
    do {
      memcpy(d, ix, sizeof d);
      d[dim] = ((int64_t *)sd_data(idx))[ix[dim]] - 1;
      int64_t o = (d[0] * 3 + d[1]) * 5 + d[2];
      ((double *)sd_data(ra))[o] += at(src, ix);
      ((double *)sd_data(rc))[o] = at(src, ix);
      ((double *)sd_data(rf))[o] = -7;
    } while (next_ix(src, ix));
    ck_assert_int_eq(sd_index_add_(ta, dim, idx, src), SD_OK);
    ck_assert_int_eq(sd_index_copy_(tc, dim, idx, src), SD_OK);
    ck_assert_int_eq(sd_index_fill_(tf, dim, idx, val), SD_OK);
    assert_same(ta, ra); assert_same(tc, rc); assert_same(tf, rf);
    /* a source of the wrong shape is refused */
    ck_assert_int_ne(sd_index_add_(ta, dim, idx, t0), SD_OK);
    ck_assert(has("index_add") && has("does not match"));
    sd_release(val); sd_release(rf); sd_release(rc); sd_release(ra);
    sd_release(tf); sd_release(tc); sd_release(ta); sd_release(src); sd_release(sbase);
    sd_release(idx); sd_release(t0);
  }
}
END_TEST

/* --- masks and nonzero --- */

START_TEST(masked_select_and_fill_broadcast) {
  int64_t sh[2] = {3, 4}, msh[1] = {4};
  sd_tensor *base = unit_iota(SD_F32, 2, (int64_t[]){4, 3});
  sd_tensor *t = sd_transpose(base, 0, 1); /* t[i][j] = 3j + i */
  sd_tensor *m = sd_zeros(SD_BOOL, 1, msh);
  ((uint8_t *)sd_data(m))[1] = ((uint8_t *)sd_data(m))[3] = 1;
  sd_tensor *s = sd_masked_select(t, m);
  ck_assert_int_eq(s->ndim, 1);
  ck_assert_int_eq(s->shape[0], 6);
  double want[6] = {3, 9, 4, 10, 5, 11};
  for (int i = 0; i < 6; i++) ck_assert(sd_get_flat(s, i) == want[i]);
  sd_tensor *v = sd_scalar(SD_F64, -1);
  ck_assert_int_eq(sd_masked_fill_(t, m, v), SD_OK);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      ck_assert(at(t, (int64_t[]){i, j}) == (j % 2 ? -1 : 3 * j + i));
  /* errors: non-bool mask, mask that does not broadcast */
  sd_tensor *fm = sd_zeros(SD_F32, 1, msh);
  ck_assert_ptr_null(sd_masked_select(t, fm));
  ck_assert(has("masked_select: argument 'mask' must be a bool tensor"));
  sd_tensor *m3 = sd_zeros(SD_BOOL, 1, (int64_t[]){3});
  ck_assert_int_ne(sd_masked_fill_(t, m3, v), SD_OK);
  ck_assert(has("masked_fill") && has("[3]"));
  /* empty and 0-d */
  sd_tensor *e = sd_zeros(SD_F32, 2, (int64_t[]){0, 4});
  sd_tensor *es = sd_masked_select(e, m);
  ck_assert_int_eq(sd_numel(es), 0);
  sd_tensor *z = sd_scalar(SD_F32, 5), *zm = sd_scalar(SD_BOOL, 1);
  sd_tensor *zs = sd_masked_select(z, zm);
  ck_assert(zs->ndim == 1 && zs->shape[0] == 1 && sd_get_flat(zs, 0) == 5);
  (void)sh;
  sd_release(zs); sd_release(zm); sd_release(z); sd_release(es); sd_release(e);
  sd_release(m3); sd_release(fm); sd_release(v); sd_release(s); sd_release(m);
  sd_release(t); sd_release(base);
}
END_TEST

/* Contiguous inputs are packed in blocks by threads: lengths around the
   block size, every element size, 1 and 2 threads, against a naive loop. */
START_TEST(masked_select_blocks) {
  const int64_t lens[] = {0, 1, 4095, 4096, 4097, 12289, 100000};
  const sd_dtype dts[] = {SD_BOOL, SD_U8, SD_F32, SD_I32, SD_F64, SD_I64};
  for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
    for (size_t di = 0; di < sizeof dts / sizeof *dts; di++) {
      int64_t n = lens[li];
      sd_tensor *t = rand_t(dts[di], 1, &n, 200), *m = sd_empty(SD_BOOL, 1, &n);
      for (int64_t i = 0; i < n; i++) /* runs of trues and falses, and noise */
        ((uint8_t *)sd_data(m))[i] = (i / 5000) % 3 == 1 ? 1 : (i / 5000) % 3 == 2 ? 0 : urand() < 0.4;
      sd_tensor *r[2];
      for (int th = 1; th <= 2; th++) {
        sd_set_num_threads(th);
        r[th - 1] = sd_masked_select(t, m);
        ck_assert_ptr_nonnull(r[th - 1]);
      }
      int64_t k = 0;
      for (int64_t i = 0; i < n; i++)
        if (((uint8_t *)sd_data(m))[i]) {
          ck_assert(k < sd_numel(r[0]) && sd_get_flat(r[0], k) == sd_get_flat(t, i));
          k++;
        }
      ck_assert_int_eq(k, sd_numel(r[0]));
      assert_same(r[0], r[1]);
      sd_release(r[0]); sd_release(r[1]); sd_release(m); sd_release(t);
    }
}
END_TEST

START_TEST(nonzero_positions_are_one_based) {
  int64_t sh[3] = {2, 3, 4};
  sd_tensor *t = rand_t(SD_F64, 3, sh, 4); /* values -3..0: a quarter are zero */
  sd_tensor *p = sd_permute(t, (int[]){2, 0, 1});
  sd_tensor *nz = sd_nonzero(p);
  ck_assert_int_eq(nz->ndim, 2);
  ck_assert_int_eq(nz->shape[1], 3);
  int64_t ix[3] = {0, 0, 0}, row = 0;
  do {
    if (at(p, ix) != 0) {
      for (int d = 0; d < 3; d++) ck_assert_int_eq(((int64_t *)sd_data(nz))[row * 3 + d], ix[d] + 1);
      row++;
    }
  } while (next_ix(p, ix));
  ck_assert_int_eq(row, nz->shape[0]);
  sd_tensor *z = sd_zeros(SD_I32, 1, (int64_t[]){5}), *nz0 = sd_nonzero(z);
  ck_assert(nz0->shape[0] == 0 && nz0->shape[1] == 1);
  sd_release(nz0); sd_release(z); sd_release(nz); sd_release(p); sd_release(t);
}
END_TEST

/* --- joining --- */

START_TEST(cat_and_stack) {
  sd_tensor *a = unit_iota(SD_I32, 2, (int64_t[]){2, 3});
  sd_tensor *bb = unit_iota(SD_F32, 2, (int64_t[]){3, 2});
  sd_tensor *b = sd_transpose(bb, 0, 1); /* [2,3] non-contiguous f32 */
  sd_tensor *e = sd_empty(SD_F64, 1, (int64_t[]){0});
  sd_tensor *ts[3] = {a, e, b};
  sd_tensor *c = sd_cat(3, ts, 1);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(c->dtype, SD_F64); /* promoted over all inputs */
  ck_assert(c->shape[0] == 2 && c->shape[1] == 6);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 6; j++)
      ck_assert(at(c, (int64_t[]){i, j}) == (j < 3 ? at(a, (int64_t[]){i, j}) : at(b, (int64_t[]){i, j - 3})));
  sd_tensor *c0 = sd_cat(3, ts, -2);
  ck_assert(c0->shape[0] == 4 && sd_get_flat(c0, 7) == at(b, (int64_t[]){0, 1}));
  sd_tensor *st = sd_stack(2, (sd_tensor *[]){a, b}, 2);
  ck_assert(st->ndim == 3 && st->shape[2] == 2);
  ck_assert(at(st, (int64_t[]){1, 2, 0}) == 5 && at(st, (int64_t[]){1, 2, 1}) == at(b, (int64_t[]){1, 2}));
  sd_tensor *bad = sd_zeros(SD_F32, 2, (int64_t[]){3, 3});
  ck_assert_ptr_null(sd_cat(2, (sd_tensor *[]){a, bad}, 1));
  ck_assert(has("cat: tensor 2 has shape [3,3]"));
  ck_assert_ptr_null(sd_stack(2, (sd_tensor *[]){a, bad}, 0));
  ck_assert(has("stack"));
  int64_t sizes[8];
  ck_assert_int_eq(sd_split_sizes(7, 3, sizes), 3);
  ck_assert(sizes[0] == 3 && sizes[2] == 1);
  ck_assert_int_eq(sd_chunk_sizes(6, 4, sizes), 3); /* like torch: ceil(6/4)=2 each */
  ck_assert_int_eq(sd_chunk_sizes(0, 4, sizes), 1);
  sd_release(bad); sd_release(st); sd_release(c0); sd_release(c);
  sd_release(e); sd_release(b); sd_release(bb); sd_release(a);
}
END_TEST

START_TEST(one_hot_from_one_based_labels) {
  sd_tensor *l = sd_empty(SD_I64, 1, (int64_t[]){4});
  int64_t lv[4] = {2, 1, 3, 2};
  memcpy(sd_data(l), lv, sizeof lv);
  sd_tensor *o = sd_one_hot(l, -1, SD_F32);
  ck_assert(o->shape[0] == 4 && o->shape[1] == 3);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) ck_assert(at(o, (int64_t[]){i, j}) == (j == lv[i] - 1));
  ck_assert_ptr_null(sd_one_hot(l, 2, SD_I64));
  ck_assert(has("one_hot: label 3 out of range 1..2"));
  ((int64_t *)sd_data(l))[0] = 0;
  ck_assert_ptr_null(sd_one_hot(l, 5, SD_I64));
  ck_assert(has("label 0"));
  sd_release(o); sd_release(l);
}
END_TEST

/* --- sorting --- */

/* Reference: stable insertion sort of positions by value, NaN largest. */
static bool before(double a, double b, bool desc) {
  if (a != a) return desc && b == b;
  if (b != b) return !desc;
  return desc ? a > b : a < b;
}

static void check_sorted_row(const sd_tensor *t, const sd_tensor *v, const sd_tensor *ix, int dim,
                             const int64_t *fixed, bool desc, int64_t count) {
  int64_t n = t->shape[dim], pos[128];
  double val[128];
  for (int64_t j = 0; j < n; j++) {
    int64_t k[SD_MAXDIM];
    memcpy(k, fixed, sizeof(int64_t) * (size_t)t->ndim);
    k[dim] = j;
    double x = at(t, k);
    int64_t m = j;
    while (m > 0 && before(x, val[m - 1], desc)) { val[m] = val[m - 1]; pos[m] = pos[m - 1]; m--; }
    val[m] = x;
    pos[m] = j;
  }
  for (int64_t q = 0; q < count; q++) {
    int64_t k[SD_MAXDIM];
    memcpy(k, fixed, sizeof(int64_t) * (size_t)t->ndim);
    k[dim] = q;
    double got = at(v, k);
    ck_assert(got == val[q] || (got != got && val[q] != val[q]));
    ck_assert_int_eq(iat(ix, k), pos[q] + 1);
  }
}

START_TEST(sort_matches_stable_reference) {
  int64_t sh[3] = {5, 37, 4}; /* rows of 37: insertion runs and merges */
  sd_tensor *t = rand_t(SD_F32, 3, sh, 6); /* many ties */
  for (int i = 0; i < 740; i += 11) ((float *)sd_data(t))[i] = NAN;
  ((float *)sd_data(t))[1] = -0.0f;
  sd_tensor *p = sd_transpose(t, 0, 2); /* [4,37,5] */
  for (int dim = 0; dim < 3; dim++)
    for (int desc = 0; desc < 2; desc++) {
      sd_tensor *v, *ix;
      ck_assert_int_eq(sd_sort(p, dim, desc, &v, &ix), SD_OK);
      ck_assert_int_eq(ix->dtype, SD_I64);
      int64_t f[3] = {0, 0, 0};
      sd_tensor *rows = sd_select(p, dim, 0); /* iterate the other dims */
      int64_t r[2] = {0, 0};
      do {
        for (int d = 0, k = 0; d < 3; d++) f[d] = d == dim ? 0 : r[k++];
        check_sorted_row(p, v, ix, dim, f, desc, p->shape[dim]);
      } while (next_ix(rows, r));
      /* gather with the indices reproduces the values */
      sd_tensor *g = sd_gather(p, dim, ix);
      assert_same(g, v);
      sd_release(g); sd_release(rows); sd_release(v); sd_release(ix);
    }
  sd_release(p); sd_release(t);
}
END_TEST

START_TEST(sort_i64_exact_and_thread_independent) {
  sd_tensor *t = sd_empty(SD_I64, 1, (int64_t[]){3});
  int64_t big = ((int64_t)1 << 60) + 1;
  ((int64_t *)sd_data(t))[0] = big;
  ((int64_t *)sd_data(t))[1] = big - 1; /* equal as doubles */
  ((int64_t *)sd_data(t))[2] = INT64_MIN;
  sd_tensor *v, *ix;
  ck_assert_int_eq(sd_sort(t, 0, false, &v, &ix), SD_OK);
  ck_assert(((int64_t *)sd_data(v))[0] == INT64_MIN && ((int64_t *)sd_data(v))[1] == big - 1);
  ck_assert(((int64_t *)sd_data(ix))[2] == 1);
  sd_release(v); sd_release(ix); sd_release(t);
  /* many rows: the threaded path gives the same bits as one thread */
  int64_t sh[2] = {3000, 100};
  sd_tensor *x = rand_t(SD_F64, 2, sh, 37);
  sd_tensor *v1, *i1, *v2, *i2;
  sd_set_num_threads(1);
  ck_assert_int_eq(sd_sort(x, 1, true, &v1, &i1), SD_OK);
  sd_set_num_threads(2);
  ck_assert_int_eq(sd_sort(x, 1, true, &v2, &i2), SD_OK);
  ck_assert_int_eq(memcmp(sd_data(v1), sd_data(v2), 3000 * 100 * 8), 0);
  ck_assert_int_eq(memcmp(sd_data(i1), sd_data(i2), 3000 * 100 * 8), 0);
  check_sorted_row(x, v2, i2, 1, (int64_t[]){2999, 0}, true, 100);
  sd_release(v1); sd_release(i1); sd_release(v2); sd_release(i2); sd_release(x);
}
END_TEST

START_TEST(long_rows_sort_stably) {
  /* long rows take the radix path: check order, stability and values */
  int64_t n = 50000;
  sd_tensor *t = rand_t(SD_F64, 1, &n, 1000);
  for (int64_t i = 0; i < n; i += 97) ((double *)sd_data(t))[i] = NAN;
  ((double *)sd_data(t))[5] = -INFINITY;
  ((double *)sd_data(t))[6] = -0.0;
  for (int desc = 0; desc < 2; desc++) {
    sd_tensor *v, *ix;
    ck_assert_int_eq(sd_sort(t, 0, desc, &v, &ix), SD_OK);
    const double *x = sd_data(t), *y = sd_data(v);
    const int64_t *p = sd_data(ix);
    char *seen = calloc((size_t)n, 1);
    for (int64_t q = 0; q < n; q++) {
      ck_assert(p[q] >= 1 && p[q] <= n && !seen[p[q] - 1]);
      seen[p[q] - 1] = 1;
      ck_assert(y[q] == x[p[q] - 1] || (y[q] != y[q] && x[p[q] - 1] != x[p[q] - 1]));
      if (q == 0) continue;
      ck_assert(!before(y[q], y[q - 1], desc)); /* ordered */
      if (!before(y[q - 1], y[q], desc)) ck_assert(p[q - 1] < p[q]); /* ties: stable */
    }
    ck_assert(desc ? isnan(y[0]) : y[0] == -INFINITY);
    free(seen);
    sd_release(v); sd_release(ix);
  }
  sd_release(t);
}
END_TEST

START_TEST(topk_and_kthvalue) {
  int64_t sh[2] = {6, 9};
  sd_tensor *t = rand_t(SD_F64, 2, sh, 7);
  sd_tensor *v, *ix, *sv, *si;
  ck_assert_int_eq(sd_topk(t, 4, 1, true, &v, &ix), SD_OK);
  ck_assert_int_eq(sd_sort(t, 1, true, &sv, &si), SD_OK);
  for (int r = 0; r < 6; r++)
    for (int q = 0; q < 4; q++) {
      ck_assert(at(v, (int64_t[]){r, q}) == at(sv, (int64_t[]){r, q}));
      ck_assert(iat(ix, (int64_t[]){r, q}) == iat(si, (int64_t[]){r, q}));
    }
  sd_release(v); sd_release(ix); sd_release(sv); sd_release(si);
  ck_assert_int_eq(sd_topk(t, 2, 0, false, &v, &ix), SD_OK);
  ck_assert_int_eq(sd_sort(t, 0, false, &sv, &si), SD_OK);
  ck_assert(v->shape[0] == 2 && at(v, (int64_t[]){1, 3}) == at(sv, (int64_t[]){1, 3}));
  sd_release(v); sd_release(ix);
  ck_assert_int_eq(sd_kthvalue(t, 3, 0, false, &v, &ix), SD_OK);
  ck_assert(v->ndim == 1 && v->shape[0] == 9);
  for (int c = 0; c < 9; c++) {
    ck_assert(at(v, (int64_t[]){c}) == at(sv, (int64_t[]){2, c}));
    ck_assert(iat(ix, (int64_t[]){c}) == iat(si, (int64_t[]){2, c}));
  }
  sd_release(v); sd_release(ix); sd_release(sv); sd_release(si);
  /* few of a long row: the selection path equals the stable sort's prefix */
  sd_tensor *w = rand_t(SD_F32, 2, (int64_t[]){5, 64}, 9);
  for (int largest = 0; largest < 2; largest++) {
    ck_assert_int_eq(sd_topk(w, 5, 1, largest, &v, &ix), SD_OK);
    ck_assert_int_eq(sd_sort(w, 1, largest, &sv, &si), SD_OK);
    for (int r = 0; r < 5; r++)
      for (int q = 0; q < 5; q++) {
        ck_assert(at(v, (int64_t[]){r, q}) == at(sv, (int64_t[]){r, q}));
        ck_assert(iat(ix, (int64_t[]){r, q}) == iat(si, (int64_t[]){r, q}));
      }
    sd_release(v); sd_release(ix); sd_release(sv); sd_release(si);
  }
  sd_release(w);
  ck_assert_int_ne(sd_topk(t, 10, 1, true, &v, &ix), SD_OK);
  ck_assert(has("topk: k = 10 out of range for dim 2 of size 9"));
  ck_assert_int_ne(sd_kthvalue(t, 0, 1, true, &v, &ix), SD_OK);
  ck_assert(v == NULL && ix == NULL);
  sd_release(t);
}
END_TEST

START_TEST(sort_edge_shapes) {
  sd_tensor *e = sd_empty(SD_F32, 2, (int64_t[]){0, 3}), *v, *ix;
  ck_assert_int_eq(sd_sort(e, 0, false, &v, &ix), SD_OK);
  ck_assert_int_eq(sd_numel(v), 0);
  sd_release(v); sd_release(ix);
  ck_assert_int_eq(sd_sort(e, 1, false, &v, &ix), SD_OK);
  sd_release(v); sd_release(ix);
  sd_tensor *s = sd_scalar(SD_F32, 4);
  ck_assert_int_eq(sd_sort(s, 0, false, &v, &ix), SD_OK);
  ck_assert(v->ndim == 0 && sd_get_flat(v, 0) == 4 && sd_get_flat(ix, 0) == 1);
  sd_release(v); sd_release(ix);
  ck_assert_int_eq(sd_topk(e, 0, 1, true, &v, &ix), SD_OK);
  ck_assert(v->shape[0] == 0 && v->shape[1] == 0);
  sd_release(v); sd_release(ix); sd_release(s); sd_release(e);
}
END_TEST

START_TEST(unique_values_inverse_counts) {
  double x[9] = {3, 1, NAN, 3, -0.0, 0, 7, NAN, 1};
  sd_tensor *t = sd_empty(SD_F64, 2, (int64_t[]){3, 3});
  memcpy(sd_data(t), x, sizeof x);
  for (int sorted = 0; sorted < 2; sorted++) {
    sd_tensor *v, *inv, *cnt;
    ck_assert_int_eq(sd_unique(t, sorted, &v, &inv, &cnt), SD_OK);
    ck_assert_int_eq(v->shape[0], 5); /* 3 1 nan 0 7 */
    ck_assert(sd_same_shape(inv, t));
    double sum = 0;
    for (int i = 0; i < 9; i++) { /* values[inverse[i]] == x[i] */
      double got = sd_get_flat(v, ((int64_t *)sd_data(inv))[i] - 1);
      ck_assert(got == x[i] || (got != got && x[i] != x[i]));
    }
    for (int g = 0; g < 5; g++) sum += sd_get_flat(cnt, g);
    ck_assert(sum == 9);
    if (sorted) {
      ck_assert(sd_get_flat(v, 0) == 0 && sd_get_flat(v, 3) == 7 && isnan(sd_get_flat(v, 4)));
      ck_assert(sd_get_flat(cnt, 0) == 2 && sd_get_flat(cnt, 4) == 2);
    } else {
      ck_assert(sd_get_flat(v, 0) == 3 && sd_get_flat(v, 1) == 1 && isnan(sd_get_flat(v, 2)));
    }
    sd_release(v); sd_release(inv); sd_release(cnt);
  }
  sd_tensor *e = sd_empty(SD_I64, 1, (int64_t[]){0}), *v;
  ck_assert_int_eq(sd_unique(e, true, &v, NULL, NULL), SD_OK);
  ck_assert_int_eq(sd_numel(v), 0);
  sd_release(v); sd_release(e); sd_release(t);
}
END_TEST

START_TEST(bincount_counts_values) {
  sd_tensor *t = sd_empty(SD_I32, 1, (int64_t[]){6});
  int32_t tv[6] = {1, 3, 1, 0, 3, 3};
  memcpy(sd_data(t), tv, sizeof tv);
  sd_tensor *c = sd_bincount(t, NULL, 0);
  ck_assert(c->dtype == SD_I64 && c->shape[0] == 4);
  int64_t want[4] = {1, 2, 0, 3};
  ck_assert_int_eq(memcmp(sd_data(c), want, sizeof want), 0);
  sd_tensor *w = unit_iota(SD_F32, 1, (int64_t[]){6});
  sd_tensor *cw = sd_bincount(t, w, 6);
  ck_assert(cw->dtype == SD_F32 && cw->shape[0] == 6);
  ck_assert(sd_get_flat(cw, 1) == 0 + 2 && sd_get_flat(cw, 3) == 1 + 4 + 5);
  ((int32_t *)sd_data(t))[2] = -2;
  ck_assert_ptr_null(sd_bincount(t, NULL, 0));
  ck_assert(has("bincount: value -2 at position 3 is negative"));
  sd_tensor *e = sd_empty(SD_I64, 1, (int64_t[]){0}), *ce = sd_bincount(e, NULL, 3);
  ck_assert(ce->shape[0] == 3 && sd_get_flat(ce, 2) == 0);
  sd_release(ce); sd_release(e); sd_release(cw); sd_release(w); sd_release(c); sd_release(t);
}
END_TEST

/* --- rearranging --- */

START_TEST(flip_roll_repeat_match_reference) {
  int64_t sh[3] = {3, 4, 5};
  sd_tensor *b = unit_iota(SD_F64, 3, sh);
  sd_tensor *t = sd_transpose(b, 0, 1); /* [4,3,5] */
  sd_tensor *f = sd_flip(t, 2, (int[]){0, -1});
  int64_t ix[3] = {0, 0, 0};
  do {
    ck_assert(at(f, ix) == at(t, (int64_t[]){3 - ix[0], ix[1], 4 - ix[2]}));
  } while (next_ix(f, ix));
  ck_assert_ptr_null(sd_flip(t, 2, (int[]){1, 1}));
  ck_assert(has("flip: dim 2 given twice"));
  sd_tensor *r = sd_roll(t, 2, (int64_t[]){1, -7}, (int[]){0, 2});
  do {
    ck_assert(at(r, ix) == at(t, (int64_t[]){(ix[0] + 3) % 4, ix[1], (ix[2] + 7) % 5}));
  } while (next_ix(r, ix));
  sd_tensor *rf = sd_roll(t, 0, (int64_t[]){2}, NULL);
  for (int64_t i = 0; i < 60; i++) ck_assert(sd_get_flat(rf, i) == sd_get_flat(t, (i + 58) % 60));
  sd_tensor *rp = sd_repeat(t, 4, (int64_t[]){2, 1, 3, 2});
  ck_assert(rp->ndim == 4 && rp->shape[0] == 2 && rp->shape[2] == 9 && rp->shape[3] == 10);
  int64_t j[4] = {0, 0, 0, 0};
  do {
    ck_assert(at(rp, j) == at(t, (int64_t[]){j[1] % 4, j[2] % 3, j[3] % 5}));
  } while (next_ix(rp, j));
  ck_assert_ptr_null(sd_repeat(t, 2, (int64_t[]){1, 1}));
  sd_tensor *r0 = sd_repeat(t, 3, (int64_t[]){1, 0, 1});
  ck_assert_int_eq(sd_numel(r0), 0);
  sd_release(r0); sd_release(rp); sd_release(rf); sd_release(r); sd_release(f);
  sd_release(t); sd_release(b);
}
END_TEST

START_TEST(triangles_and_diagonals) {
  int64_t sh[3] = {2, 3, 4};
  sd_tensor *t = rand_t(SD_I32, 3, sh, 9);
  for (int64_t k = -3; k <= 4; k++) {
    sd_tensor *lo = sd_tril(t, k), *up = sd_triu(t, k);
    int64_t ix[3] = {0, 0, 0};
    do {
      double v = at(t, ix);
      ck_assert(at(lo, ix) == (ix[2] - ix[1] <= k ? v : 0));
      ck_assert(at(up, ix) == (ix[2] - ix[1] >= k ? v : 0));
    } while (next_ix(t, ix));
    sd_tensor *dg = sd_diagonal(t, k, 1, 2);
    ck_assert_ptr_eq(dg->storage, t->storage); /* a view */
    int64_t len = dg->shape[1];
    ck_assert_int_eq(len, k >= 0 ? (3 < 4 - k ? 3 : 4 - k > 0 ? 4 - k : 0) : (3 + k > 0 ? 3 + k : 0));
    for (int64_t b = 0; b < 2; b++)
      for (int64_t i = 0; i < len; i++)
        ck_assert(at(dg, (int64_t[]){b, i}) == at(t, (int64_t[]){b, k >= 0 ? i : i - k, k >= 0 ? i + k : i}));
    sd_release(dg); sd_release(lo); sd_release(up);
  }
  sd_tensor *v = unit_iota(SD_F32, 1, (int64_t[]){3});
  sd_tensor *m = sd_diag(v, -1);
  ck_assert(m->shape[0] == 4 && at(m, (int64_t[]){2, 1}) == 1 && at(m, (int64_t[]){1, 1}) == 0);
  sd_tensor *back = sd_diag(m, -1);
  assert_same(back, v);
  ck_assert_ptr_null(sd_tril(v, 0));
  ck_assert(has("tril") && has("2 dims"));
  sd_release(back); sd_release(m); sd_release(v); sd_release(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("index");
  TCase *tc = tcase_create("index");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, gather_matches_reference);
  tcase_add_test(tc, gather_last_dim_rows);
  tcase_add_test(tc, index_select_matches_reference);
  tcase_add_test(tc, index_select_large_rows_parallel);
  tcase_add_test(tc, out_of_range_and_bad_index_are_errors);
  tcase_add_test(tc, scatter_and_scatter_add_match_reference);
  tcase_add_test(tc, scatter_add_parallel_is_row_major);
  tcase_add_test(tc, scatter_value_and_dtypes);
  tcase_add_test(tc, index_add_copy_fill_match_reference);
  tcase_add_test(tc, masked_select_and_fill_broadcast);
  tcase_add_test(tc, masked_select_blocks);
  tcase_add_test(tc, nonzero_positions_are_one_based);
  tcase_add_test(tc, cat_and_stack);
  tcase_add_test(tc, one_hot_from_one_based_labels);
  tcase_add_test(tc, sort_matches_stable_reference);
  tcase_add_test(tc, sort_i64_exact_and_thread_independent);
  tcase_add_test(tc, long_rows_sort_stably);
  tcase_add_test(tc, topk_and_kthvalue);
  tcase_add_test(tc, sort_edge_shapes);
  tcase_add_test(tc, unique_values_inverse_counts);
  tcase_add_test(tc, bincount_counts_values);
  tcase_add_test(tc, flip_roll_repeat_match_reference);
  tcase_add_test(tc, triangles_and_diagonals);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
