/* linalg.c: matrix products on BLAS (matmul and its family) and cdist.
   The LAPACK factorisations are in lapack.c. */
#include "linalg.h"
#include "blas.h"
#include "parallel.h"
#include <limits.h>
#include <math.h>
#include <string.h>

/* --- operands --- */

sd_status sd_linalg_float(const char *fn, const sd_tensor *a, const sd_tensor *b, sd_dtype *dt) {
  if (!sd_dtype_is_float(a->dtype))
    return sd_error(SD_EARG, "%s: needs f32 or f64, got %s", fn, sd_dtype_name(a->dtype));
  if (b && !sd_dtype_is_float(b->dtype))
    return sd_error(SD_EARG, "%s: needs f32 or f64, got %s", fn, sd_dtype_name(b->dtype));
  *dt = b ? sd_dtype_promote(a->dtype, b->dtype) : a->dtype;
  return SD_OK;
}

/* BLAS takes 32-bit sizes. */
static sd_status check_blas_size(const char *fn, int64_t v) {
  if (v <= INT_MAX) return SD_OK;
  return sd_error(SD_ESHAPE, "%s: size %lld is too large for BLAS (at most %d)", fn,
                  (long long)v, INT_MAX);
}

/* How the matrix in the last two dims of t ([r, c], strides (s0, s1)) goes
   to BLAS without a copy: as itself, row-major with leading dimension
   s0, or as its transpose [c, r], row-major with leading dimension s1 and
   the transpose flag. Size-1 dims may have any stride. 0: neither fits. */
static int blas_layout(const sd_tensor *t, int *trans, int64_t *ld) {
  int nd = t->ndim;
  int64_t r = t->shape[nd - 2], c = t->shape[nd - 1], s0 = t->stride[nd - 2], s1 = t->stride[nd - 1];
  int64_t r1 = r > 1 ? r : 1, c1 = c > 1 ? c : 1;
  if ((s1 == 1 || c == 1) && (r == 1 || s0 >= c1)) {
    *trans = 0;
    *ld = r == 1 ? c1 : s0;
  } else if ((s0 == 1 || r == 1) && (c == 1 || s1 >= r1)) {
    *trans = 1;
    *ld = c == 1 ? r1 : s1;
  } else {
    return 0;
  }
  return *ld <= INT_MAX;
}

/* t converted to dt, copied to contiguous if BLAS cannot read it as it is. */
static sd_tensor *blas_operand(const sd_tensor *t, sd_dtype dt) {
  sd_tensor *c = sd_to_dtype(t, dt);
  int trans;
  int64_t ld;
  if (c && !blas_layout(c, &trans, &ld)) {
    sd_tensor *cc = sd_contiguous(c);
    sd_release(c);
    c = cc;
  }
  return c;
}

static void gemm(const sd_blas *bl, sd_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
                 double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                 double beta, void *c, int64_t ldc) {
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if (dt == SD_F32)
    bl->sgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, (float)alpha, a, (int)lda, b,
              (int)ldb, (float)beta, c, (int)ldc);
  else
    bl->dgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb,
              beta, c, (int)ldc);
}

/* y = op(A) x for the stored row-major matrix A [m, n] (op: transpose if ta). */
static void gemv(const sd_blas *bl, sd_dtype dt, int ta, int64_t m, int64_t n, const void *a,
                 int64_t lda, const void *x, int64_t incx, void *y) {
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans;
  if (dt == SD_F32)
    bl->sgemv(CblasRowMajor, TA, (int)m, (int)n, 1.0f, a, (int)lda, x, (int)incx, 0.0f, y, 1);
  else
    bl->dgemv(CblasRowMajor, TA, (int)m, (int)n, 1.0, a, (int)lda, x, (int)incx, 0.0, y, 1);
}

/* --- batched matmul ---
   out[q] = alpha a[q] @ b[q] + beta out[q] over the broadcast batch dims;
   out is contiguous, already filled when beta != 0.

   Threads: OpenBLAS runs single-threaded (blas.c) and sonde splits the
   work itself: each matrix product is cut into tiles of C whose bounds
   depend on the shape only, and the tiles (of every batch item) are
   spread over sonde's pool. OpenBLAS's own threading gives different
   bits for different thread counts with some cores (Haswell's sgemm);
   with fixed tiles every call sees the same operands whatever the thread
   count, so results are bitwise identical for any thread count.

   When b has no batch and the batch and row dims of a fold into one
   (x [B, T, d] @ w [d, h]), the whole batch is one product. */

/* Tiles of an [n, m] result with inner size k: up to SD_GEMM_TILES, each
   at least about 2^22 multiply-adds and 256 rows or columns (each tile
   packs its own panels of A and B, so more tiles cost more copying). */
#ifndef SD_GEMM_TILES
#define SD_GEMM_TILES 4
#endif
static void gemm_tiles(int64_t n, int64_t m, int64_t k, int *br, int *bc) {
  double w = (double)n * (double)m * (double)k;
  int t = 1;
  while (t < SD_GEMM_TILES && w >= 0x1p22 * 2 * t) t *= 2;
  *br = *bc = 1;
  while (*br * *bc < t) {
    if (n / *br >= m / *bc && n / *br >= 256) *br *= 2;
    else if (m / *bc >= 256) *bc *= 2;
    else break;
  }
}

typedef struct {
  const sd_blas *bl;
  sd_dtype dt;
  int ta, tb, br, bc, nb;
  int64_t n, m, k, lda, ldb, es;
  double alpha, beta;
  const char *pa, *pb;
  char *pc;
  const int64_t *bshape, *sa, *sb; /* batch shape and strides (0: broadcast) */
} gemm_job;

static void gemm_tasks(int64_t t0, int64_t t1, void *p) {
  const gemm_job *j = p;
  int tiles = j->br * j->bc;
  for (int64_t t = t0; t < t1 && !sd_interrupt_flag; t++) {
    int64_t q = t / tiles, oa = 0, ob = 0, rest = q;
    for (int d = j->nb - 1; d >= 0; d--) {
      int64_t i = rest % j->bshape[d];
      rest /= j->bshape[d];
      oa += i * j->sa[d];
      ob += i * j->sb[d];
    }
    int tile = (int)(t % tiles), r = tile / j->bc, c = tile % j->bc;
    int64_t r0 = j->n * r / j->br, r1 = j->n * (r + 1) / j->br;
    int64_t c0 = j->m * c / j->bc, c1 = j->m * (c + 1) / j->bc;
    /* the stored A is [n, k] (rows at r0 * lda) or A^T [k, n] (rows start at column r0) */
    oa += j->ta ? r0 : r0 * j->lda;
    ob += j->tb ? c0 * j->ldb : c0;
    gemm(j->bl, j->dt, j->ta, j->tb, r1 - r0, c1 - c0, j->k, j->alpha, j->pa + oa * j->es, j->lda,
         j->pb + ob * j->es, j->ldb, j->beta, j->pc + (q * j->n * j->m + r0 * j->m + c0) * j->es,
         j->m);
  }
}

static sd_status gemm_batched(const sd_tensor *a, const sd_tensor *b, sd_tensor *out,
                              double alpha, double beta) {
  const sd_blas *bl = sd_blas_get();
  if (!bl) return SD_EIO;
  gemm_job j = {.bl = bl, .dt = out->dtype, .nb = out->ndim - 2, .alpha = alpha, .beta = beta,
                .pa = sd_data(a), .pb = sd_data(b), .pc = sd_data(out),
                .es = (int64_t)sd_dtype_size(out->dtype)};
  int nb = j.nb;
  j.n = out->shape[nb];
  j.m = out->shape[nb + 1];
  j.k = a->shape[a->ndim - 1];
  blas_layout(a, &j.ta, &j.lda);
  blas_layout(b, &j.tb, &j.ldb);
  int64_t sa[SD_MAXDIM], sb[SD_MAXDIM], nbatch = 1;
  for (int d = 0; d < nb; d++) {
    int da = d - (nb - (a->ndim - 2)), db = d - (nb - (b->ndim - 2));
    sa[d] = da >= 0 && a->shape[da] > 1 ? a->stride[da] : 0;
    sb[d] = db >= 0 && b->shape[db] > 1 ? b->stride[db] : 0;
    nbatch *= out->shape[d];
  }
  /* folding: b shared by every batch item, a's batch dims step by whole blocks */
  int fold = !j.ta && a->ndim - 2 == nb && nbatch * j.n <= INT_MAX;
  int64_t expect = j.lda * j.n;
  for (int d = nb - 1; fold && d >= 0; d--) {
    if (sb[d] != 0 || (out->shape[d] != 1 && sa[d] != expect)) fold = 0;
    else expect *= out->shape[d];
  }
  if (fold) {
    j.n *= nbatch;
    j.nb = nb = 0;
    nbatch = 1;
  }
  j.bshape = out->shape;
  j.sa = sa;
  j.sb = sb;
  gemm_tiles(j.n, j.m, j.k, &j.br, &j.bc);
  int64_t ntasks = nbatch * j.br * j.bc;
  double w = (double)j.n * (double)j.m * (double)j.k / (j.br * j.bc); /* per task */
  int64_t grain = w >= 0x1p20 ? 1 : (int64_t)(0x1p20 / (w + 1)) + 1;
  sd_parallel_for(ntasks, grain, gemm_tasks, &j);
  return sd_check_interrupt();
}

/* t *= s, t contiguous f32 or f64. */
static void scale(sd_tensor *t, double s) {
  int64_t n = sd_numel(t);
  if (s == 1) return;
  if (t->dtype == SD_F32)
    for (float *p = sd_data(t); n-- > 0; p++) *p = (float)(*p * s);
  else
    for (double *p = sd_data(t); n-- > 0; p++) *p *= s;
}

/* a [..., n, k] @ b [..., k, m] -> [batch..., n, m]; c (may be NULL) is
   broadcast into the result first and scaled by beta. */
static sd_tensor *matmul_nd(const char *fn, const sd_tensor *a, const sd_tensor *b,
                            const sd_tensor *c, double beta, double alpha) {
  char s1[96], s2[96];
  sd_dtype dt;
  if (sd_linalg_float(fn, a, b, &dt) != SD_OK) return NULL;
  int64_t n = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1];
  int64_t k2 = b->shape[b->ndim - 2], m = b->shape[b->ndim - 1];
  if (k != k2) {
    sd_error(SD_ESHAPE, "%s: shapes %s and %s cannot be multiplied (%lld columns, %lld rows)",
             fn, sd_shape_str(a, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2), (long long)k,
             (long long)k2);
    return NULL;
  }
  int64_t shape[SD_MAXDIM + 2];
  int nb;
  if (sd_broadcast_shape(a->ndim - 2, a->shape, b->ndim - 2, b->shape, &nb, shape) != SD_OK) {
    sd_error(SD_ESHAPE, "%s: batch dims of %s and %s cannot broadcast", fn,
             sd_shape_str(a, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2));
    return NULL;
  }
  if (nb + 2 > SD_MAXDIM) {
    sd_error(SD_ESHAPE, "%s: result would have more than %d dims", fn, SD_MAXDIM);
    return NULL;
  }
  shape[nb] = n;
  shape[nb + 1] = m;
  if (check_blas_size(fn, n) || check_blas_size(fn, m) || check_blas_size(fn, k)) return NULL;
  int run = n > 0 && m > 0 && k > 0, fill = c && beta != 0;
  sd_tensor *out = fill || run ? sd_empty(dt, nb + 2, shape) : sd_zeros(dt, nb + 2, shape);
  if (!out) return NULL;
  if (fill && sd_copy_(out, c) != SD_OK) goto fail;
  if (!run || sd_numel(out) == 0) { /* k = 0: the product is zero */
    if (fill) scale(out, beta);
    return out;
  }
  if (!fill) beta = 0; /* GEMM does not read C then */
  sd_tensor *A = blas_operand(a, dt), *B = A ? blas_operand(b, dt) : NULL;
  sd_status st = B ? gemm_batched(A, B, out, alpha, beta) : SD_EMEM;
  sd_release(A);
  sd_release(B);
  if (st == SD_OK) return out;
fail:
  sd_release(out);
  return NULL;
}

/* --- vectors --- */

static sd_status check_dims(const char *fn, const sd_tensor *t, int lo, int hi, int arg) {
  if (t->ndim >= lo && t->ndim <= hi) return SD_OK;
  char s[96];
  if (lo == hi)
    return sd_error(SD_ESHAPE, "%s: argument #%d must be %d-d, got shape %s", fn, arg, lo,
                    sd_shape_str(t, s, sizeof s));
  return sd_error(SD_ESHAPE, "%s: argument #%d must have %d to %d dims, got shape %s", fn, arg,
                  lo, hi, sd_shape_str(t, s, sizeof s));
}

/* Sum of a[i] b[i] in f64, in index order: the same bits for any thread
   count (OpenBLAS's threaded dot would split the sum by threads). */
static double dot_f64(sd_dtype dt, const char *a, int64_t sa, const char *b, int64_t sb, int64_t n) {
  double s = 0;
  if (dt == SD_F32)
    for (int64_t i = 0; i < n; i++)
      s += (double)((const float *)a)[i * sa] * ((const float *)b)[i * sb];
  else
    for (int64_t i = 0; i < n; i++) s += ((const double *)a)[i * sa] * ((const double *)b)[i * sb];
  return s;
}

static sd_tensor *dot(const char *fn, const sd_tensor *a, const sd_tensor *b) {
  sd_dtype dt;
  if (sd_linalg_float(fn, a, b, &dt) != SD_OK) return NULL;
  if (a->shape[0] != b->shape[0]) {
    sd_error(SD_ESHAPE, "%s: vectors of sizes %lld and %lld", fn, (long long)a->shape[0],
             (long long)b->shape[0]);
    return NULL;
  }
  sd_tensor *A = sd_to_dtype(a, dt), *B = A ? sd_to_dtype(b, dt) : NULL, *out = NULL;
  if (B) out = sd_scalar(dt, dot_f64(dt, sd_data(A), A->stride[0], sd_data(B), B->stride[0], A->shape[0]));
  sd_release(A);
  sd_release(B);
  return out;
}

/* a [n, k] @ x [k] (vm = 0) or x [k] @ a [k, n] (vm = 1), by GEMV. */
static sd_tensor *mv(const char *fn, const sd_tensor *a, const sd_tensor *x, int vm) {
  char s1[96], s2[96];
  sd_dtype dt;
  if (sd_linalg_float(fn, a, x, &dt) != SD_OK) return NULL;
  int64_t k = a->shape[vm ? 0 : 1], n = a->shape[vm ? 1 : 0];
  if (x->shape[0] != k) {
    const sd_tensor *l = vm ? x : a, *r = vm ? a : x;
    sd_error(SD_ESHAPE, "%s: shapes %s and %s cannot be multiplied", fn,
             sd_shape_str(l, s1, sizeof s1), sd_shape_str(r, s2, sizeof s2));
    return NULL;
  }
  if (check_blas_size(fn, n) || check_blas_size(fn, k)) return NULL;
  const sd_blas *bl = sd_blas_get();
  if (!bl) return NULL;
  sd_tensor *out = k == 0 ? sd_zeros(dt, 1, &n) : sd_empty(dt, 1, &n);
  if (!out || k == 0 || n == 0) return out;
  sd_tensor *A = blas_operand(a, dt), *X = A ? sd_to_dtype(x, dt) : NULL;
  if (X && X->stride[0] < 1 && k > 1) { /* BLAS wants a positive increment */
    sd_tensor *c = sd_contiguous(X);
    sd_release(X);
    X = c;
  }
  if (!X) {
    sd_release(A);
    sd_release(out);
    return NULL;
  }
  int ta;
  int64_t lda;
  blas_layout(A, &ta, &lda);
  /* the stored matrix is A (ta = 0) or A^T (ta = 1), row-major; A x needs
     op = stored when ta = 0, x^T A = A^T x needs the other one */
  int64_t rows = ta ? A->shape[1] : A->shape[0], cols = ta ? A->shape[0] : A->shape[1];
  gemv(bl, dt, ta ^ vm, rows, cols, sd_data(A), lda, sd_data(X), k > 1 ? X->stride[0] : 1,
       sd_data(out));
  sd_release(A);
  sd_release(X);
  return out;
}

/* --- the product family --- */

sd_tensor *sd_matmul(const sd_tensor *a, const sd_tensor *b) {
  const char *fn = "matmul";
  if (a->ndim == 0 || b->ndim == 0) {
    sd_error(SD_ESHAPE, "%s: both arguments need at least 1 dim, got %d-d and %d-d", fn, a->ndim,
             b->ndim);
    return NULL;
  }
  if (a->ndim == 1 && b->ndim == 1) return dot(fn, a, b);
  if (a->ndim == 2 && b->ndim == 1) return mv(fn, a, b, 0);
  if (a->ndim == 1 && b->ndim == 2) return mv(fn, b, a, 1);
  /* batched: a 1-d operand becomes a one-row / one-column matrix */
  sd_tensor *A = a->ndim == 1 ? sd_unsqueeze(a, 0) : sd_alias(a);
  sd_tensor *B = b->ndim == 1 ? sd_unsqueeze(b, 1) : sd_alias(b);
  sd_tensor *out = A && B ? matmul_nd(fn, A, B, NULL, 0, 1) : NULL;
  if (out && (a->ndim == 1 || b->ndim == 1)) {
    sd_tensor *sq = sd_squeeze(out, out->ndim - (a->ndim == 1 ? 2 : 1));
    sd_release(out);
    out = sq;
  }
  sd_release(A);
  sd_release(B);
  return out;
}

sd_tensor *sd_mm(const sd_tensor *a, const sd_tensor *b) {
  if (check_dims("mm", a, 2, 2, 1) || check_dims("mm", b, 2, 2, 2)) return NULL;
  return matmul_nd("mm", a, b, NULL, 0, 1);
}

sd_tensor *sd_bmm(const sd_tensor *a, const sd_tensor *b) {
  char s1[96], s2[96];
  if (check_dims("bmm", a, 3, 3, 1) || check_dims("bmm", b, 3, 3, 2)) return NULL;
  if (a->shape[0] != b->shape[0]) {
    sd_error(SD_ESHAPE, "bmm: batch sizes of %s and %s differ", sd_shape_str(a, s1, sizeof s1),
             sd_shape_str(b, s2, sizeof s2));
    return NULL;
  }
  return matmul_nd("bmm", a, b, NULL, 0, 1);
}

sd_tensor *sd_mv(const sd_tensor *a, const sd_tensor *x) {
  if (check_dims("mv", a, 2, 2, 1) || check_dims("mv", x, 1, 1, 2)) return NULL;
  return mv("mv", a, x, 0);
}

sd_tensor *sd_dot(const sd_tensor *a, const sd_tensor *b) {
  if (check_dims("dot", a, 1, 1, 1) || check_dims("dot", b, 1, 1, 2)) return NULL;
  return dot("dot", a, b);
}

sd_tensor *sd_outer(const sd_tensor *a, const sd_tensor *b) {
  if (check_dims("outer", a, 1, 1, 1) || check_dims("outer", b, 1, 1, 2)) return NULL;
  sd_tensor *A = sd_unsqueeze(a, 1), *B = A ? sd_unsqueeze(b, 0) : NULL;
  sd_tensor *out = B ? matmul_nd("outer", A, B, NULL, 0, 1) : NULL;
  sd_release(A);
  sd_release(B);
  return out;
}

sd_tensor *sd_addmm(const sd_tensor *c, const sd_tensor *a, const sd_tensor *b, double beta,
                    double alpha) {
  char s1[96], s2[96];
  if (check_dims("addmm", a, 2, 2, 2) || check_dims("addmm", b, 2, 2, 3)) return NULL;
  int64_t shape[2] = {a->shape[0], b->shape[1]}, bs[SD_MAXDIM];
  int nb;
  if (beta != 0 && (sd_broadcast_shape(c->ndim, c->shape, 2, shape, &nb, bs) != SD_OK || nb != 2 ||
                    bs[0] != shape[0] || bs[1] != shape[1])) {
    sd_error(SD_ESHAPE, "addmm: input of shape %s does not broadcast to the product's [%lld,%lld]",
             sd_shape_str(c, s1, sizeof s1), (long long)shape[0], (long long)shape[1]);
    return NULL;
  }
  (void)s2;
  return matmul_nd("addmm", a, b, c, beta, alpha);
}

/* --- cdist ---
   d2[i][j] = |a_i|^2 + |b_j|^2 - 2 a_i.b_j, the product by one (tiled)
   GEMM. Precision, in working precision u (2^-24 for f32, 2^-53 for f64):
   - both sides are first centred on the mean row of b (distances do not
     change), so that data far from the origin does not lose its digits
     to cancellation; rows are centred in dt, the norms summed in f64;
   - the GEMM's dot product is off by at most about k u |a_i| |b_j| <=
     k u s / 2 with s = |a_i|^2 + |b_j|^2 (k = d + 4 covering centring and
     the final roundings), which can still swamp d2 for close rows. Every
     pair with d2 < CDIST_MARGIN k u s is recomputed directly from the
     original rows as sum (a - b)^2 in f64: identical rows give exactly
     0, and near pairs (the ones kNN cares about) are accurate to f64
     rounding before the final rounding to dt;
   - every pair kept from the GEMM has a relative error in d2 of at most
     1 / CDIST_MARGIN by that worst-case bound (in practice ~ sqrt(k) u);
   - ties: GEMM kernels round differently at different positions in a
     tile, so two bitwise-identical rows of b (or of a) could get distances
     differing in the last bit. Duplicate rows are found by hashing and
     their distances copied from the first copy: identical rows give
     bitwise-identical distances. */
#define CDIST_MARGIN 64

typedef struct {
  sd_dtype dt;
  const char *a, *b;      /* contiguous rows */
  char *out;              /* [n, m] contiguous, holding -2 a.b */
  const double *na, *nb;
  const int64_t *repb;    /* first copy of each row of b */
  int64_t m, d;
  double tol;             /* CDIST_MARGIN k u */
  bool squared;
} cdist_ctx;

static double row_dist2(sd_dtype dt, const char *a, const char *b, int64_t d) {
  double s = 0;
  if (dt == SD_F32)
    for (int64_t t = 0; t < d; t++) {
      double x = (double)((const float *)a)[t] - ((const float *)b)[t];
      s += x * x;
    }
  else
    for (int64_t t = 0; t < d; t++) {
      double x = ((const double *)a)[t] - ((const double *)b)[t];
      s += x * x;
    }
  return s;
}

static void cdist_rows(int64_t i0, int64_t i1, void *p) {
  cdist_ctx *c = p;
  int64_t es = (int64_t)sd_dtype_size(c->dt);
  for (int64_t i = i0; i < i1; i++) {
    const char *ai = c->a + i * c->d * es;
    char *row = c->out + i * c->m * es;
    for (int64_t j = 0; j < c->m; j++) {
      char *o = row + j * es;
      if (c->repb[j] != j) { /* an earlier, already final, column */
        memcpy(o, row + c->repb[j] * es, (size_t)es);
        continue;
      }
      double s = c->na[i] + c->nb[j];
      double v = s + (c->dt == SD_F32 ? (double)*(float *)o : *(double *)o);
      if (v < c->tol * s) v = row_dist2(c->dt, ai, c->b + j * c->d * es, c->d);
      if (v < 0) v = 0;
      if (!c->squared) v = sqrt(v);
      if (c->dt == SD_F32) *(float *)o = (float)v;
      else *(double *)o = v;
    }
  }
}

typedef struct {
  sd_dtype dt;
  const char *x;       /* rows [n, d] */
  char *xc;            /* out: the rows minus mu, in dt */
  const double *mu;
  int64_t n, d;
  double *norm;        /* out: |xc_i|^2 in f64 */
  uint64_t *hash;      /* out: hash of the bytes of x_i */
} rows_ctx;

static void rows_scan(int64_t i0, int64_t i1, void *p) {
  rows_ctx *c = p;
  int64_t bytes = c->d * (int64_t)sd_dtype_size(c->dt);
  for (int64_t i = i0; i < i1; i++) {
    const char *r = c->x + i * bytes;
    char *rc = c->xc + i * bytes;
    for (int64_t t = 0; t < c->d; t++) {
      if (c->dt == SD_F32)
        ((float *)rc)[t] = ((const float *)r)[t] - (float)c->mu[t];
      else
        ((double *)rc)[t] = ((const double *)r)[t] - c->mu[t];
    }
    c->norm[i] = dot_f64(c->dt, rc, 1, rc, 1, c->d);
    uint64_t h = 0x9e3779b97f4a7c15ULL, w;
    for (int64_t t = 0; t < bytes; t += 4) { /* rows are whole 4-byte words */
      uint32_t v;
      memcpy(&v, r + t, 4);
      w = (h ^ v) * 0xff51afd7ed558ccdULL;
      h = w ^ (w >> 32);
    }
    c->hash[i] = h;
  }
}

/* mu = the mean of the rows, in f64, columns split over threads. */
static void col_means(int64_t t0, int64_t t1, void *p) {
  rows_ctx *c = p;
  double *mu = (double *)c->mu;
  for (int64_t t = t0; t < t1; t++) mu[t] = 0;
  for (int64_t i = 0; i < c->n; i++)
    for (int64_t t = t0; t < t1; t++)
      mu[t] += c->dt == SD_F32 ? (double)((const float *)c->x)[i * c->d + t]
                               : ((const double *)c->x)[i * c->d + t];
  for (int64_t t = t0; t < t1; t++) mu[t] /= (double)c->n;
}

/* rep[i]: the first row bitwise equal to row i, through an open-addressing
   table of the hashes (scratch: slot, 2 n entries at least). */
static void first_copies(const char *x, int64_t n, int64_t bytes, const uint64_t *hash,
                         int64_t *slot, int64_t cap, int64_t *rep) {
  for (int64_t i = 0; i < cap; i++) slot[i] = -1;
  for (int64_t i = 0; i < n; i++) {
    int64_t s = (int64_t)(hash[i] & (uint64_t)(cap - 1));
    rep[i] = i;
    for (; slot[s] >= 0; s = (s + 1) & (cap - 1)) {
      int64_t o = slot[s];
      if (hash[o] == hash[i] && memcmp(x + o * bytes, x + i * bytes, (size_t)bytes) == 0) {
        rep[i] = o;
        break;
      }
    }
    if (rep[i] == i) slot[s] = i;
  }
}

sd_tensor *sd_cdist(const sd_tensor *a, const sd_tensor *b, bool squared) {
  char s1[96], s2[96];
  sd_dtype dt;
  if (check_dims("cdist", a, 2, 2, 1) || check_dims("cdist", b, 2, 2, 2) ||
      sd_linalg_float("cdist", a, b, &dt) != SD_OK)
    return NULL;
  int64_t n = a->shape[0], m = b->shape[0], d = a->shape[1], shape[2] = {n, m};
  if (b->shape[1] != d) {
    sd_error(SD_ESHAPE, "cdist: rows of %s and %s have different sizes",
             sd_shape_str(a, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2));
    return NULL;
  }
  if (check_blas_size("cdist", n) || check_blas_size("cdist", m) || check_blas_size("cdist", d))
    return NULL;
  if (n == 0 || m == 0 || d == 0) return sd_zeros(dt, 2, shape);
  /* scratch, one block: norms, hashes, reps (n + m each), table (cap), mu (d) */
  int64_t cap = 16;
  while (cap < 2 * (n > m ? n : m)) cap *= 2;
  size_t nbytes = (size_t)(3 * (n + m) + cap + d) * 8;
  sd_tensor *A = sd_to_dtype(a, dt), *Ac = A ? sd_contiguous(A) : NULL;
  sd_tensor *B = Ac ? sd_to_dtype(b, dt) : NULL, *Bc = B ? sd_contiguous(B) : NULL;
  sd_tensor *Ax = Bc ? sd_empty(dt, 2, a->shape) : NULL, *Bx = Ax ? sd_empty(dt, 2, b->shape) : NULL;
  sd_tensor *Bt = Bx ? sd_transpose(Bx, 0, 1) : NULL, *out = NULL;
  char *scratch = Bt ? sd_malloc(nbytes) : NULL;
  if (scratch) out = sd_empty(dt, 2, shape);
  if (out) {
    double *norm = (double *)scratch;
    uint64_t *hash = (uint64_t *)(norm + n + m);
    int64_t *rep = (int64_t *)(hash + n + m), *slot = rep + n + m;
    double *mu = (double *)(slot + cap);
    int64_t bytes = d * (int64_t)sd_dtype_size(dt);
    rows_ctx ra = {dt, sd_data(Ac), sd_data(Ax), mu, n, d, norm, hash};
    rows_ctx rb = {dt, sd_data(Bc), sd_data(Bx), mu, m, d, norm + n, hash + n};
    sd_parallel_for(d, 8, col_means, &rb);
    sd_parallel_for(n, 64, rows_scan, &ra);
    sd_parallel_for(m, 64, rows_scan, &rb);
    first_copies(sd_data(Ac), n, bytes, hash, slot, cap, rep);
    first_copies(sd_data(Bc), m, bytes, hash + n, slot, cap, rep + n);
    if (gemm_batched(Ax, Bt, out, -2.0, 0.0) == SD_OK) {
      double u = dt == SD_F32 ? 0x1p-24 : 0x1p-53;
      cdist_ctx c = {dt, sd_data(Ac), sd_data(Bc), sd_data(out), norm, norm + n, rep + n, m, d,
                     CDIST_MARGIN * (double)(d + 4) * u, squared};
      sd_parallel_for(n, (1 << 16) / (m + 1) + 1, cdist_rows, &c);
      int64_t rowbytes = m * (int64_t)sd_dtype_size(dt);
      char *o = sd_data(out);
      for (int64_t i = 0; i < n; i++) /* duplicate rows of a: after the parallel pass */
        if (rep[i] != i) memcpy(o + i * rowbytes, o + rep[i] * rowbytes, (size_t)rowbytes);
    } else {
      sd_release(out);
      out = NULL;
    }
  }
  sd_free(scratch, nbytes);
  sd_release(A);
  sd_release(Ac);
  sd_release(B);
  sd_release(Bc);
  sd_release(Ax);
  sd_release(Bx);
  sd_release(Bt);
  return out;
}
