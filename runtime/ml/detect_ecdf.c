/* detect_ecdf.c: per-feature empirical CDF counts for ECOD: for each x[i,j],
   how many training values of feature j are <= x[i,j] and >= x[i,j], by
   binary search in the training columns sorted ascending. */
#include "detect.h"
#include "../core/parallel.h"

typedef struct {
  const double *s, *x; /* s: n x d sorted by column; x: m x d */
  int64_t n, d;
  int64_t *le, *ge;
} ecdf_job;

static int64_t lower(const double *s, int64_t n, int64_t d, int64_t j, double v, bool or_equal) {
  int64_t lo = 0, hi = n; /* first k with s[k] > v (or_equal) or s[k] >= v */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    double sv = s[mid * d + j];
    if (or_equal ? sv <= v : sv < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

static void ecdf_task(int64_t begin, int64_t end, void *ctx) {
  ecdf_job *e = ctx;
  for (int64_t i = begin; i < end; i++)
    for (int64_t j = 0; j < e->d; j++) {
      double v = e->x[i * e->d + j];
      e->le[i * e->d + j] = lower(e->s, e->n, e->d, j, v, true);
      e->ge[i * e->d + j] = e->n - lower(e->s, e->n, e->d, j, v, false);
    }
}

sd_status sd_ecdf_counts(const sd_tensor *sorted, const sd_tensor *x, sd_tensor **le, sd_tensor **ge) {
  char b1[64], b2[64];
  *le = *ge = NULL;
  if (sorted->ndim != 2 || x->ndim != 2 || sorted->shape[1] != x->shape[1])
    return sd_error(SD_ESHAPE, "ecdf: sorted train [n,d] and x [m,d] expected, got %s and %s",
                    sd_shape_str(sorted, b1, sizeof b1), sd_shape_str(x, b2, sizeof b2));
  sd_tensor *s64 = sd_to_dtype(sorted, SD_F64), *sc = s64 ? sd_contiguous(s64) : NULL;
  sd_tensor *x64 = sd_to_dtype(x, SD_F64), *xc = x64 ? sd_contiguous(x64) : NULL;
  sd_release(s64);
  sd_release(x64);
  sd_status st = SD_EMEM;
  if (sc && xc) {
    *le = sd_empty(SD_I64, 2, x->shape);
    *ge = sd_empty(SD_I64, 2, x->shape);
  }
  if (*le && *ge) {
    ecdf_job e = {sd_data(sc), sd_data(xc), sorted->shape[0], sorted->shape[1], sd_data(*le), sd_data(*ge)};
    sd_parallel_for(x->shape[0], 256, ecdf_task, &e);
    st = SD_OK;
  } else {
    sd_release(*le); sd_release(*ge);
    *le = *ge = NULL;
  }
  sd_release(sc);
  sd_release(xc);
  return st;
}
