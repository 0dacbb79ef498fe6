/* detect_coreset.c: greedy k-center subsampling as PatchCore (Roth et al.
   2022) builds its memory bank: start from a seeded random row, then add
   the row farthest (Euclidean) from the rows chosen so far, m - 1 times.
   Each step updates every row's distance to the chosen set with the new
   centre only (O(n d)), split over threads; the argmax is taken in row
   order (first of equals), so any thread count picks the same rows. */
#include "detect.h"
#include "../core/parallel.h"
#include "../core/rng.h"
#include <math.h>

typedef struct {
  const float *x;
  int64_t d, c;  /* c: the new centre's row */
  double *mind;
} update_job;

static void update_task(int64_t begin, int64_t end, void *ctx) {
  update_job *j = ctx;
  const float *c = j->x + j->c * j->d;
  for (int64_t i = begin; i < end; i++) {
    const float *r = j->x + i * j->d;
    double s = 0;
    for (int64_t k = 0; k < j->d; k++) {
      double t = (double)r[k] - (double)c[k];
      s += t * t;
    }
    if (s < j->mind[i]) j->mind[i] = s;
  }
}

sd_tensor *sd_coreset(const sd_tensor *x, int64_t m, uint64_t seed) {
  char b[64];
  if (x->ndim != 2 || x->shape[0] < 1) {
    sd_error(SD_ESHAPE, "coreset: X must be [n, d] with n >= 1, got %s", sd_shape_str(x, b, sizeof b));
    return NULL;
  }
  int64_t n = x->shape[0];
  if (m < 1 || m > n) {
    sd_error(SD_EARG, "coreset: m = %lld must be in [1, %lld]", (long long)m, (long long)n);
    return NULL;
  }
  sd_tensor *xf = sd_to_dtype(x, SD_F32), *xc = xf ? sd_contiguous(xf) : NULL;
  sd_release(xf);
  double *mind = xc ? sd_malloc((size_t)n * sizeof *mind) : NULL;
  sd_tensor *out = mind ? sd_empty(SD_I64, 1, &m) : NULL;
  if (out) {
    int64_t *o = sd_data(out);
    sd_gen g;
    uint32_t w[2];
    sd_gen_init(&g, seed, 0);
    sd_gen_words(&g, 0, 2, w);
    int64_t c = (int64_t)((((uint64_t)w[0] << 32) | w[1]) % (uint64_t)n);
    for (int64_t i = 0; i < n; i++) mind[i] = INFINITY;
    for (int64_t k = 0; k < m; k++) {
      o[k] = c + 1;
      update_job j = {sd_data(xc), x->shape[1], c, mind};
      sd_parallel_for(n, 1024, update_task, &j);
      int64_t best = 0;
      for (int64_t i = 1; i < n; i++) if (mind[i] > mind[best]) best = i;
      c = best;
    }
  }
  if (mind) sd_free(mind, (size_t)n * sizeof *mind);
  sd_release(xc);
  return out;
}
