/* lapack.c: factorisations and solvers on LAPACK (declared in linalg.h).

   Row-major tensors meet column-major LAPACK by one rule: a matrix stored
   row-major, read as column-major, is its transpose. LAPACK overwrites its
   inputs, so each input is copied anyway, into a column-major buffer
   (colmajor()); LAPACK then works on A itself, not on A^T, and needs no
   transpose flags. Results are returned as views of such buffers: the
   logical shape with strides (1, rows) per matrix, as PyTorch returns
   them (call :contiguous() for row-major). Leading dims are a batch,
   looped over. Scratch memory is freed before returning. */
#include "linalg.h"
#include "blas.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* --- buffers --- */

/* An uninitialised [batch..., r, c] tensor laid out column-major per matrix. */
static sd_tensor *colmajor_empty(sd_dtype dt, int nb, const int64_t *batch, int64_t r, int64_t c) {
  int64_t shape[SD_MAXDIM];
  memcpy(shape, batch, (size_t)nb * sizeof *shape);
  shape[nb] = c;
  shape[nb + 1] = r;
  sd_tensor *t = sd_empty(dt, nb + 2, shape);
  if (!t) return NULL;
  sd_tensor *v = sd_transpose(t, nb, nb + 1);
  sd_release(t);
  return v;
}

/* A column-major copy of a (converted to dt). */
static sd_tensor *colmajor(const sd_tensor *a, sd_dtype dt) {
  int nb = a->ndim - 2;
  sd_tensor *w = colmajor_empty(dt, nb, a->shape, a->shape[nb], a->shape[nb + 1]);
  if (w && sd_copy_(w, a) != SD_OK) {
    sd_release(w);
    return NULL;
  }
  return w;
}

static int64_t batch_count(const sd_tensor *t, int nb) {
  int64_t n = 1;
  for (int d = 0; d < nb; d++) n *= t->shape[d];
  return n;
}

/* Matrix i of the batch of a column-major tensor (its batch is contiguous). */
static void *mat(const sd_tensor *t, int64_t i) {
  int nd = t->ndim;
  return (char *)sd_data(t) + i * t->shape[nd - 2] * t->shape[nd - 1] * (int64_t)sd_dtype_size(t->dtype);
}

/* Arguments: float, at least 2-d, square if asked, sizes fit LAPACK's int. */
static sd_status check_matrix(const char *fn, const sd_tensor *a, bool square, int arg) {
  char s[96];
  if (!sd_dtype_is_float(a->dtype))
    return sd_error(SD_EARG, "%s: needs f32 or f64, got %s", fn, sd_dtype_name(a->dtype));
  if (a->ndim < 2)
    return sd_error(SD_ESHAPE, "%s: argument #%d must be a matrix (or a batch), got shape %s", fn,
                    arg, sd_shape_str(a, s, sizeof s));
  int64_t r = a->shape[a->ndim - 2], c = a->shape[a->ndim - 1];
  if (square && r != c)
    return sd_error(SD_ESHAPE, "%s: matrix must be square, got shape %s", fn,
                    sd_shape_str(a, s, sizeof s));
  if (r > INT_MAX / 2 || c > INT_MAX / 2)
    return sd_error(SD_ESHAPE, "%s: shape %s is too large for LAPACK", fn, sd_shape_str(a, s, sizeof s));
  return SD_OK;
}

/* Scratch for LAPACK's work arrays; *lwork from a size query (work[0]). */
typedef struct { void *p; size_t n; } scratch;

static sd_status scratch_get(scratch *s, size_t nbytes) {
  if (nbytes <= s->n) return SD_OK;
  sd_free(s->p, s->n);
  s->n = 0;
  s->p = sd_malloc(nbytes);
  if (!s->p) return SD_EMEM;
  s->n = nbytes;
  return SD_OK;
}

static void scratch_free(scratch *s) { sd_free(s->p, s->n); }

/* The work size LAPACK's query returned in w[0], as an int. */
static sd_lint query_size(sd_dtype dt, const void *w) {
  double v = dt == SD_F32 ? (double)*(const float *)w : *(const double *)w;
  return v < 1 ? 1 : v > INT_MAX ? INT_MAX : (sd_lint)ceil(v);
}

static sd_lint maxi(int64_t a, int64_t b) { return (sd_lint)(a > b ? a : b); }

/* Keeps one triangle of a column-major [n, n] matrix (with the diagonal),
   zeroing the other: LAPACK leaves the input's values there. */
static void keep_triangle(void *a, sd_lint n, size_t es, bool upper) {
  for (sd_lint j = 0; j < n; j++)
    for (sd_lint i = 0; i < n; i++)
      if (upper ? i > j : i < j) memset((char *)a + ((size_t)i + (size_t)j * n) * es, 0, es);
}

/* " (matrix 3 of the batch)" when batched, else "". */
static const char *batch_note(char *buf, size_t n, int64_t nbatch, int64_t i) {
  if (nbatch <= 1) return "";
  snprintf(buf, n, " (matrix %lld of the batch)", (long long)i + 1);
  return buf;
}

/* --- factorisations --- */

sd_tensor *sd_cholesky(const sd_tensor *a, bool upper) {
  if (check_matrix("cholesky", a, true, 1)) return NULL;
  const sd_lapack *L = sd_lapack_get(a->dtype);
  if (!L) return NULL;
  sd_tensor *w = colmajor(a, a->dtype);
  if (!w) return NULL;
  int nb = a->ndim - 2;
  sd_lint n = (sd_lint)a->shape[nb], lda = maxi(n, 1), info = 0;
  int64_t nbatch = batch_count(a, nb);
  for (int64_t i = 0; i < nbatch && n > 0; i++) {
    L->potrf(upper ? "U" : "L", &n, mat(w, i), &lda, &info, 1);
    if (info != 0) {
      char note[64];
      sd_release(w);
      sd_error(SD_EARG, "cholesky: matrix is not positive definite (leading minor %d)%s", info,
               batch_note(note, sizeof note, nbatch, i));
      return NULL;
    }
    keep_triangle(mat(w, i), n, sd_dtype_size(a->dtype), upper);
  }
  return w;
}

/* LU of each matrix of w in place, pivots into ipiv (n per matrix). info > 0
   is a zero pivot: an error for solve/inverse, a zero for det. */
static sd_status lu(const char *fn, const sd_lapack *L, sd_tensor *w, sd_lint *ipiv,
                    int64_t nbatch, bool singular_ok) {
  sd_lint n = (sd_lint)w->shape[w->ndim - 1], lda = maxi(n, 1), info = 0;
  for (int64_t i = 0; i < nbatch && n > 0; i++) {
    L->getrf(&n, &n, mat(w, i), &lda, ipiv + i * n, &info);
    if (info > 0 && !singular_ok) {
      char note[64];
      return sd_error(SD_EARG, "%s: matrix is singular (U[%d,%d] is zero)%s", fn, info, info,
                      batch_note(note, sizeof note, nbatch, i));
    }
  }
  return SD_OK;
}

sd_tensor *sd_solve(const sd_tensor *a, const sd_tensor *b) {
  char s1[96], s2[96];
  if (check_matrix("solve", a, true, 1)) return NULL;
  if (!sd_dtype_is_float(b->dtype)) {
    sd_error(SD_EARG, "solve: needs f32 or f64, got %s", sd_dtype_name(b->dtype));
    return NULL;
  }
  int na = a->ndim - 2;
  int64_t n = a->shape[na];
  /* torch.linalg.solve: b is a (batch of) vector(s) when 1-d or when its
     shape is a's without the last dim */
  bool vec = b->ndim == 1 || (b->ndim == a->ndim - 1 && memcmp(b->shape, a->shape, (size_t)b->ndim * sizeof(int64_t)) == 0);
  int nbb = vec ? b->ndim - 1 : b->ndim - 2;
  if (nbb < 0 || b->shape[nbb] != n) {
    sd_error(SD_ESHAPE, "solve: shapes %s and %s do not match (A X = B needs B with %lld rows)",
             sd_shape_str(a, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2), (long long)n);
    return NULL;
  }
  int64_t k = vec ? 1 : b->shape[nbb + 1], batch[SD_MAXDIM + 2];
  int nb;
  if (sd_broadcast_shape(na, a->shape, nbb, b->shape, &nb, batch) != SD_OK || nb + 2 > SD_MAXDIM) {
    sd_error(SD_ESHAPE, "solve: batch dims of %s and %s cannot broadcast",
             sd_shape_str(a, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2));
    return NULL;
  }
  if (k > INT_MAX / 2) {
    sd_error(SD_ESHAPE, "solve: too many right-hand sides for LAPACK");
    return NULL;
  }
  sd_dtype dt = sd_dtype_promote(a->dtype, b->dtype);
  const sd_lapack *L = sd_lapack_get(dt);
  if (!L) return NULL;
  /* A and B expanded to the common batch, then copied column-major */
  int64_t sh[SD_MAXDIM];
  memcpy(sh, batch, (size_t)nb * sizeof *sh);
  sh[nb] = n;
  sh[nb + 1] = n;
  sd_tensor *ae = sd_expand(a, nb + 2, sh), *bv = vec ? sd_unsqueeze(b, b->ndim) : sd_alias(b);
  sh[nb + 1] = k;
  sd_tensor *be = bv ? sd_expand(bv, nb + 2, sh) : NULL;
  sd_tensor *wa = ae && be ? colmajor(ae, dt) : NULL, *wb = wa ? colmajor(be, dt) : NULL;
  sd_release(ae);
  sd_release(bv);
  sd_release(be);
  int64_t nbatch = batch_count(wb ? wb : a, nb);
  sd_lint *ipiv = wb ? sd_malloc((size_t)(nbatch * n + 1) * sizeof *ipiv) : NULL;
  sd_status st = ipiv ? lu("solve", L, wa, ipiv, nbatch, false) : SD_EMEM;
  sd_lint ni = (sd_lint)n, nk = (sd_lint)k, ld = maxi(n, 1), info = 0;
  for (int64_t i = 0; st == SD_OK && i < nbatch && n > 0 && k > 0; i++)
    L->getrs("N", &ni, &nk, mat(wa, i), &ld, ipiv + i * n, mat(wb, i), &ld, &info, 1);
  sd_free(ipiv, (size_t)(nbatch * n + 1) * sizeof *ipiv);
  sd_release(wa);
  if (st != SD_OK || !wb) {
    sd_release(wb);
    return NULL;
  }
  if (!vec) return wb;
  sd_tensor *x = sd_squeeze(wb, nb + 1);
  sd_release(wb);
  return x;
}

sd_tensor *sd_inverse(const sd_tensor *a) {
  if (check_matrix("inverse", a, true, 1)) return NULL;
  const sd_lapack *L = sd_lapack_get(a->dtype);
  if (!L) return NULL;
  sd_tensor *w = colmajor(a, a->dtype);
  if (!w) return NULL;
  int nb = a->ndim - 2;
  int64_t nbatch = batch_count(a, nb);
  sd_lint n = (sd_lint)a->shape[nb], lda = maxi(n, 1), info = 0, lwork = -1;
  sd_lint *ipiv = sd_malloc((size_t)(nbatch * n + 1) * sizeof *ipiv);
  sd_status st = ipiv ? lu("inverse", L, w, ipiv, nbatch, false) : SD_EMEM;
  scratch work = {0};
  double q[2];
  if (st == SD_OK && n > 0) {
    L->getri(&n, mat(w, 0), &lda, ipiv, q, &lwork, &info);
    lwork = query_size(a->dtype, q);
    st = scratch_get(&work, (size_t)lwork * sd_dtype_size(a->dtype));
  }
  for (int64_t i = 0; st == SD_OK && i < nbatch && n > 0; i++)
    L->getri(&n, mat(w, i), &lda, ipiv + i * n, work.p, &lwork, &info);
  scratch_free(&work);
  sd_free(ipiv, (size_t)(nbatch * n + 1) * sizeof *ipiv);
  if (st != SD_OK) {
    sd_release(w);
    return NULL;
  }
  return w;
}

sd_status sd_eigh(const sd_tensor *a, sd_tensor **values, sd_tensor **vectors) {
  *values = *vectors = NULL;
  if (check_matrix("eigh", a, true, 1)) return SD_EARG;
  const sd_lapack *L = sd_lapack_get(a->dtype);
  if (!L) return SD_EIO;
  int nb = a->ndim - 2;
  int64_t nbatch = batch_count(a, nb);
  sd_lint n = (sd_lint)a->shape[nb], lda = maxi(n, 1), info = 0, lwork = -1, liwork = -1, iq;
  sd_tensor *w = colmajor(a, a->dtype);
  sd_tensor *ev = w ? sd_empty(a->dtype, nb + 1, a->shape) : NULL;
  sd_status st = ev ? SD_OK : SD_EMEM;
  scratch work = {0}, iwork = {0};
  size_t es = sd_dtype_size(a->dtype);
  double q[2];
  if (st == SD_OK && n > 0) {
    L->syevd("V", "L", &n, mat(w, 0), &lda, sd_data(ev), q, &lwork, &iq, &liwork, &info, 1, 1);
    lwork = query_size(a->dtype, q);
    liwork = iq < 1 ? 1 : iq;
    if (scratch_get(&work, (size_t)lwork * es) || scratch_get(&iwork, (size_t)liwork * sizeof(sd_lint)))
      st = SD_EMEM;
  }
  for (int64_t i = 0; st == SD_OK && i < nbatch && n > 0; i++) {
    L->syevd("V", "L", &n, mat(w, i), &lda, (char *)sd_data(ev) + i * n * (int64_t)es, work.p,
             &lwork, iwork.p, &liwork, &info, 1, 1);
    if (info != 0) {
      char note[64];
      st = sd_error(SD_EARG, "eigh: the algorithm did not converge (LAPACK info %d)%s", info,
                    batch_note(note, sizeof note, nbatch, i));
    }
  }
  scratch_free(&work);
  scratch_free(&iwork);
  if (st != SD_OK) {
    sd_release(w);
    sd_release(ev);
    return st;
  }
  *values = ev;
  *vectors = w;
  return SD_OK;
}

/* Sets each [r, c] matrix of a column-major tensor to the identity's first columns. */
static void fill_eye(sd_tensor *t) {
  int nd = t->ndim;
  int64_t r = t->shape[nd - 2], c = t->shape[nd - 1], nbatch = batch_count(t, nd - 2);
  size_t es = sd_dtype_size(t->dtype);
  memset(sd_data(t), 0, (size_t)(nbatch * r * c) * es);
  for (int64_t i = 0; i < nbatch; i++)
    for (int64_t j = 0; j < r && j < c; j++) sd_set_ptr(t->dtype, (char *)mat(t, i) + (j + j * r) * (int64_t)es, 1);
}

sd_status sd_svd(const sd_tensor *a, bool full, sd_tensor **u, sd_tensor **s, sd_tensor **vh) {
  *u = *s = *vh = NULL;
  if (check_matrix("svd", a, false, 1)) return SD_EARG;
  const sd_lapack *L = sd_lapack_get(a->dtype);
  if (!L) return SD_EIO;
  sd_dtype dt = a->dtype;
  size_t es = sd_dtype_size(dt);
  int nb = a->ndim - 2;
  int64_t nbatch = batch_count(a, nb);
  sd_lint m = (sd_lint)a->shape[nb], n = (sd_lint)a->shape[nb + 1], k = m < n ? m : n;
  sd_lint ucols = full ? m : k, vrows = full ? n : k, info = 0, lwork = -1;
  sd_lint lda = maxi(m, 1), ldu = maxi(m, 1), ldvt = maxi(vrows, 1);
  int64_t sshape[SD_MAXDIM];
  memcpy(sshape, a->shape, (size_t)nb * sizeof *sshape);
  sshape[nb] = k;
  sd_tensor *w = colmajor(a, dt);
  sd_tensor *U = w ? colmajor_empty(dt, nb, a->shape, m, ucols) : NULL;
  sd_tensor *S = U ? sd_empty(dt, nb + 1, sshape) : NULL;
  sd_tensor *V = S ? colmajor_empty(dt, nb, a->shape, vrows, n) : NULL;
  sd_status st = V ? SD_OK : SD_EMEM;
  scratch work = {0}, iwork = {0};
  const char *jobz = full ? "A" : "S";
  double q[2];
  if (st == SD_OK && k == 0) { /* nothing to factor: U and Vh are any orthogonal matrices */
    fill_eye(U);
    fill_eye(V);
  } else if (st == SD_OK && scratch_get(&iwork, (size_t)(8 * k) * sizeof(sd_lint)) == SD_OK) {
    L->gesdd(jobz, &m, &n, mat(w, 0), &lda, sd_data(S), mat(U, 0), &ldu, mat(V, 0), &ldvt, q,
             &lwork, iwork.p, &info, 1);
    lwork = query_size(dt, q);
    st = scratch_get(&work, (size_t)lwork * es);
  } else {
    st = SD_EMEM;
  }
  for (int64_t i = 0; st == SD_OK && k > 0 && i < nbatch; i++) {
    L->gesdd(jobz, &m, &n, mat(w, i), &lda, (char *)sd_data(S) + i * k * (int64_t)es, mat(U, i),
             &ldu, mat(V, i), &ldvt, work.p, &lwork, iwork.p, &info, 1);
    if (info != 0) {
      char note[64];
      st = sd_error(SD_EARG, "svd: the algorithm did not converge (LAPACK info %d)%s", info,
                    batch_note(note, sizeof note, nbatch, i));
    }
  }
  scratch_free(&work);
  scratch_free(&iwork);
  sd_release(w);
  if (st != SD_OK) {
    sd_release(U);
    sd_release(S);
    sd_release(V);
    return st;
  }
  *u = U;
  *s = S;
  *vh = V;
  return SD_OK;
}

sd_status sd_qr(const sd_tensor *a, sd_tensor **q, sd_tensor **r) {
  *q = *r = NULL;
  if (check_matrix("qr", a, false, 1)) return SD_EARG;
  const sd_lapack *L = sd_lapack_get(a->dtype);
  if (!L) return SD_EIO;
  sd_dtype dt = a->dtype;
  size_t es = sd_dtype_size(dt);
  int nb = a->ndim - 2;
  int64_t nbatch = batch_count(a, nb);
  sd_lint m = (sd_lint)a->shape[nb], n = (sd_lint)a->shape[nb + 1], k = m < n ? m : n;
  sd_lint lda = maxi(m, 1), info = 0, lwork = -1, lw2 = -1;
  int64_t rshape[SD_MAXDIM];
  memcpy(rshape, a->shape, (size_t)nb * sizeof *rshape);
  rshape[nb] = k;
  rshape[nb + 1] = n;
  sd_tensor *w = colmajor(a, dt);
  sd_tensor *R = w ? sd_zeros(dt, nb + 2, rshape) : NULL;
  sd_tensor *tau = R ? sd_empty(dt, 1, &(int64_t){k > 0 ? k : 1}) : NULL;
  sd_status st = tau ? SD_OK : SD_EMEM;
  scratch work = {0};
  double qq[2];
  if (st == SD_OK && k > 0) {
    L->geqrf(&m, &n, mat(w, 0), &lda, sd_data(tau), qq, &lwork, &info);
    lwork = query_size(dt, qq);
    L->orgqr(&m, &k, &k, mat(w, 0), &lda, sd_data(tau), qq, &lw2, &info);
    lw2 = query_size(dt, qq);
    if (lw2 > lwork) lwork = lw2;
    st = scratch_get(&work, (size_t)lwork * es);
  }
  for (int64_t i = 0; st == SD_OK && k > 0 && i < nbatch; i++) {
    char *A = mat(w, i), *Ri = (char *)sd_data(R) + i * k * n * (int64_t)es;
    L->geqrf(&m, &n, A, &lda, sd_data(tau), work.p, &lwork, &info);
    /* R: the upper trapezoid of the first k rows, row-major into R */
    for (sd_lint row = 0; row < k; row++)
      for (sd_lint col = row; col < n; col++)
        memcpy(Ri + ((size_t)row * n + col) * es, A + ((size_t)row + (size_t)col * m) * es, es);
    L->orgqr(&m, &k, &k, A, &lda, sd_data(tau), work.p, &lwork, &info);
  }
  scratch_free(&work);
  sd_release(tau);
  sd_tensor *Q = st == SD_OK ? sd_narrow(w, nb + 1, 0, k) : NULL;
  sd_release(w);
  if (!Q) {
    sd_release(R);
    return st == SD_OK ? SD_EMEM : st;
  }
  *q = Q;
  *r = R;
  return SD_OK;
}

sd_tensor *sd_lstsq(const sd_tensor *a, const sd_tensor *b) {
  char s1[96], s2[96];
  if (check_matrix("lstsq", a, false, 1)) return NULL;
  if (!sd_dtype_is_float(b->dtype)) {
    sd_error(SD_EARG, "lstsq: needs f32 or f64, got %s", sd_dtype_name(b->dtype));
    return NULL;
  }
  int nb = a->ndim - 2;
  sd_lint m = (sd_lint)a->shape[nb], n = (sd_lint)a->shape[nb + 1];
  bool vec = b->ndim == a->ndim - 1;
  int64_t k = vec ? 1 : b->shape[b->ndim - 1];
  if ((b->ndim != a->ndim && !vec) || b->shape[nb] != m ||
      memcmp(a->shape, b->shape, (size_t)nb * sizeof(int64_t)) != 0 || k > INT_MAX / 2) {
    sd_error(SD_ESHAPE, "lstsq: shapes %s and %s do not match (B needs %d rows and A's batch)",
             sd_shape_str(a, s1, sizeof s1), sd_shape_str(b, s2, sizeof s2), m);
    return NULL;
  }
  sd_dtype dt = sd_dtype_promote(a->dtype, b->dtype);
  const sd_lapack *L = sd_lapack_get(dt);
  if (!L) return NULL;
  size_t es = sd_dtype_size(dt);
  int64_t nbatch = batch_count(a, nb);
  sd_lint mn = maxi(m, n), nk = (sd_lint)k, lda = maxi(m, 1), ldb = maxi(mn, 1), rank, info = 0;
  sd_lint lwork = -1, iq = 1, kmin = m < n ? m : n;
  /* B goes into a [max(m, n), k] buffer: gelsd writes the [n, k] solution over it */
  sd_tensor *w = colmajor(a, dt), *bv = vec ? sd_unsqueeze(b, b->ndim) : sd_alias(b);
  sd_tensor *wb = w && bv ? colmajor_empty(dt, nb, a->shape, mn, k) : NULL;
  sd_tensor *top = wb ? sd_narrow(wb, nb, 0, m) : NULL;
  sd_tensor *S = top ? sd_empty(dt, 1, &(int64_t){kmin > 0 ? kmin : 1}) : NULL;
  sd_status st = S && sd_fill_(wb, 0) == SD_OK && sd_copy_(top, bv) == SD_OK ? SD_OK : SD_EMEM;
  sd_release(top);
  sd_release(bv);
  scratch work = {0}, iwork = {0};
  union { float f; double d; } rcond;
  if (dt == SD_F32) rcond.f = FLT_EPSILON * (float)mn;
  else rcond.d = DBL_EPSILON * mn;
  double q[2];
  bool run = m > 0 && n > 0 && k > 0;
  if (st == SD_OK && run) {
    L->gelsd(&m, &n, &nk, mat(w, 0), &lda, mat(wb, 0), &ldb, sd_data(S), &rcond, &rank, q, &lwork,
             &iq, &info);
    lwork = query_size(dt, q);
    if (scratch_get(&work, (size_t)lwork * es) || scratch_get(&iwork, (size_t)(iq < 1 ? 1 : iq) * sizeof(sd_lint)))
      st = SD_EMEM;
  }
  for (int64_t i = 0; st == SD_OK && run && i < nbatch; i++) {
    L->gelsd(&m, &n, &nk, mat(w, i), &lda, mat(wb, i), &ldb, sd_data(S), &rcond, &rank, work.p,
             &lwork, iwork.p, &info);
    if (info != 0) {
      char note[64];
      st = sd_error(SD_EARG, "lstsq: the SVD did not converge (LAPACK info %d)%s", info,
                    batch_note(note, sizeof note, nbatch, i));
    }
  }
  scratch_free(&work);
  scratch_free(&iwork);
  sd_release(S);
  sd_release(w);
  sd_tensor *x = st == SD_OK && wb ? sd_narrow(wb, nb, 0, n) : NULL;
  sd_release(wb);
  if (x && vec) {
    sd_tensor *sq = sd_squeeze(x, nb + 1);
    sd_release(x);
    x = sq;
  }
  return x;
}

/* From the LU factors of each matrix: sign and log|det| (slogdet), or, with
   det set, the determinant itself (a product, exact for small integers)
   into *sign. A zero pivot gives sign 0 and log|det| = -inf. */
static sd_status logdet(const char *fn, const sd_tensor *a, bool det, sd_tensor **sign,
                        sd_tensor **logabs) {
  *sign = *logabs = NULL;
  if (check_matrix(fn, a, true, 1)) return SD_EARG;
  const sd_lapack *L = sd_lapack_get(a->dtype);
  if (!L) return SD_EIO;
  int nb = a->ndim - 2;
  int64_t nbatch = batch_count(a, nb), n = a->shape[nb];
  sd_tensor *w = colmajor(a, a->dtype);
  sd_tensor *sg = w ? sd_empty(a->dtype, nb, a->shape) : NULL;
  sd_tensor *la = sg && !det ? sd_empty(a->dtype, nb, a->shape) : NULL;
  sd_lint *ipiv = sg && (det || la) ? sd_malloc((size_t)(nbatch * n + 1) * sizeof *ipiv) : NULL;
  sd_status st = ipiv ? lu(fn, L, w, ipiv, nbatch, true) : SD_EMEM;
  size_t es = sd_dtype_size(a->dtype);
  for (int64_t i = 0; st == SD_OK && i < nbatch; i++) {
    double s = 1, l = 0, p = 1;
    const char *A = mat(w, i);
    for (int64_t j = 0; j < n; j++) {
      double d = sd_get_ptr(a->dtype, A + (j + j * n) * (int64_t)es);
      if (ipiv[i * n + j] != j + 1) s = -s;
      if (d < 0) s = -s;
      if (d == 0) s = 0;
      l += log(fabs(d));
      p *= fabs(d);
    }
    sd_set_ptr(a->dtype, (char *)sd_data(sg) + i * (int64_t)es, det ? s * p : s);
    if (la) sd_set_ptr(a->dtype, (char *)sd_data(la) + i * (int64_t)es, l);
  }
  sd_free(ipiv, (size_t)(nbatch * n + 1) * sizeof *ipiv);
  sd_release(w);
  if (st != SD_OK) {
    sd_release(sg);
    sd_release(la);
    return st;
  }
  *sign = sg;
  *logabs = la;
  return SD_OK;
}

sd_status sd_slogdet(const sd_tensor *a, sd_tensor **sign, sd_tensor **logabsdet) {
  return logdet("slogdet", a, false, sign, logabsdet);
}

sd_tensor *sd_det(const sd_tensor *a) {
  sd_tensor *d, *unused;
  return logdet("det", a, true, &d, &unused) == SD_OK ? d : NULL;
}
