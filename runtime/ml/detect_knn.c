/* detect_knn.c: the k nearest rows of a bank for every query row, exact,
   by GEMM. For a block of queries, one BLAS product gives x.b, so the
   squared distance |x|^2 + |b|^2 - 2 x.b of every pair costs one fused
   pass; a bounded max-heap per row keeps the k smallest. The k chosen
   distances are then recomputed directly from the rows (identical rows
   give exactly 0, no cancellation error) and sorted ascending, ties by
   bank position. Only the choice among candidates within rounding of the
   k-th distance can differ from an exact sort. kNN detectors and LOF use it
   instead of cdist + topk, which would sort full rows. */
#include "detect.h"
#include "../core/linalg.h"
#include "../core/parallel.h"
#include <math.h>
#include <string.h>

typedef struct {
  sd_dtype dt;
  const void *x, *b;   /* contiguous rows: query block, bank */
  const double *bn;    /* |b_j|^2 */
  const void *g;       /* x.b for the block, [rows, m] */
  int64_t row0, m, d, k;
  void *dist;          /* [n, k] of dt */
  int64_t *idx;        /* [n, k], 1-based */
} knn_job;

static double val(sd_dtype dt, const void *p, int64_t i) {
  return dt == SD_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static double exact(sd_dtype dt, const void *x, int64_t i, const void *b, int64_t j, int64_t d) {
  double s = 0;
  for (int64_t c = 0; c < d; c++) {
    double t = val(dt, x, i * d + c) - val(dt, b, j * d + c);
    s += t * t;
  }
  return sqrt(s);
}

/* max-heap of (key, index) on the first entry */
static void sift_down(double *key, int64_t *id, int64_t n, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, top = i;
    if (l < n && (key[l] > key[top] || (key[l] == key[top] && id[l] > id[top]))) top = l;
    if (r < n && (key[r] > key[top] || (key[r] == key[top] && id[r] > id[top]))) top = r;
    if (top == i) return;
    double tk = key[i]; key[i] = key[top]; key[top] = tk;
    int64_t ti = id[i]; id[i] = id[top]; id[top] = ti;
    i = top;
  }
}

static void knn_task(int64_t begin, int64_t end, void *ctx) {
  knn_job *j = ctx;
  double key[64];
  int64_t id[64];
  for (int64_t r = begin; r < end; r++) {
    int64_t i = j->row0 + r, n = 0;
    double xn = 0;
    for (int64_t c = 0; c < j->d; c++) { double v = val(j->dt, j->x, r * j->d + c); xn += v * v; }
    const float *g32 = (const float *)j->g + r * j->m;
    const double *g64 = (const double *)j->g + r * j->m;
    for (int64_t q = 0; q < j->m; q++) {
      double d2 = xn + j->bn[q] - 2 * (j->dt == SD_F32 ? (double)g32[q] : g64[q]);
      if (n == j->k && d2 >= key[0]) continue; /* the common case: not among the k */
      if (n < j->k) { /* fill, then heapify once full */
        key[n] = d2; id[n] = q; n++;
        if (n == j->k) for (int64_t h = n / 2 - 1; h >= 0; h--) sift_down(key, id, n, h);
      } else {
        key[0] = d2; id[0] = q;
        sift_down(key, id, n, 0);
      }
    }
    for (int64_t a = 0; a < n; a++) key[a] = exact(j->dt, j->x, r, j->b, id[a], j->d);
    for (int64_t a = 1; a < n; a++) /* insertion sort by (distance, position) */
      for (int64_t c = a; c > 0 && (key[c] < key[c - 1] || (key[c] == key[c - 1] && id[c] < id[c - 1])); c--) {
        double tk = key[c]; key[c] = key[c - 1]; key[c - 1] = tk;
        int64_t ti = id[c]; id[c] = id[c - 1]; id[c - 1] = ti;
      }
    for (int64_t a = 0; a < n; a++) {
      if (j->dt == SD_F32) ((float *)j->dist)[i * j->k + a] = (float)key[a];
      else ((double *)j->dist)[i * j->k + a] = key[a];
      j->idx[i * j->k + a] = id[a] + 1;
    }
  }
}

sd_status sd_knn(const sd_tensor *x, const sd_tensor *bank, int64_t k, sd_tensor **dist, sd_tensor **idx) {
  char b1[64], b2[64];
  *dist = *idx = NULL;
  if (x->ndim != 2 || bank->ndim != 2 || x->shape[1] != bank->shape[1])
    return sd_error(SD_ESHAPE, "knn: queries [n,d] and bank [m,d] expected, got %s and %s",
                    sd_shape_str(x, b1, sizeof b1), sd_shape_str(bank, b2, sizeof b2));
  if (k < 1 || k > bank->shape[0] || k > 64)
    return sd_error(SD_EARG, "knn: k = %lld must be in [1, min(64, %lld bank rows)]", (long long)k,
                    (long long)bank->shape[0]);
  sd_dtype dt = x->dtype == SD_F64 || bank->dtype == SD_F64 ? SD_F64 : SD_F32;
  int64_t n = x->shape[0], m = bank->shape[0], d = x->shape[1], shape[2] = {n, k};
  sd_tensor *xa = sd_to_dtype(x, dt), *xc = xa ? sd_contiguous(xa) : NULL;
  sd_tensor *ba = sd_to_dtype(bank, dt), *bc = ba ? sd_contiguous(ba) : NULL;
  sd_release(xa);
  sd_release(ba);
  sd_tensor *bt = bc ? sd_transpose(bc, 0, 1) : NULL;
  double *bn = sd_malloc((size_t)(m ? m : 1) * sizeof *bn);
  sd_status st = SD_EMEM;
  if (xc && bt && bn) {
    *dist = sd_empty(dt, 2, shape);
    *idx = sd_empty(SD_I64, 2, shape);
  }
  if (*dist && *idx) {
    st = SD_OK;
    for (int64_t q = 0; q < m; q++) {
      double s = 0;
      for (int64_t c = 0; c < d; c++) { double v = val(dt, sd_data(bc), q * d + c); s += v * v; }
      bn[q] = s;
    }
    int64_t block = 256;
    for (int64_t r0 = 0; r0 < n && st == SD_OK; r0 += block) {
      int64_t rows = n - r0 < block ? n - r0 : block;
      sd_tensor *xb = sd_narrow(xc, 0, r0, rows), *g = xb ? sd_mm(xb, bt) : NULL;
      if (!g) { st = SD_EMEM; sd_release(xb); break; }
      knn_job j = {dt, sd_data(xb), sd_data(bc), bn, sd_data(g), r0, m, d, k, sd_data(*dist), sd_data(*idx)};
      sd_parallel_for(rows, 8, knn_task, &j);
      sd_release(g);
      sd_release(xb);
      if (sd_check_interrupt() != SD_OK) st = SD_EINTR;
    }
  }
  if (st != SD_OK) {
    sd_release(*dist); sd_release(*idx);
    *dist = *idx = NULL;
  }
  sd_free(bn, (size_t)(m ? m : 1) * sizeof *bn);
  sd_release(xc); sd_release(bc); sd_release(bt);
  return st;
}
