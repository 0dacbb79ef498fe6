/* detect_iforest.c: the isolation forest of Liu, Ting and Zhou (ICDM 2008)
   as scikit-learn's IsolationForest grows it: each tree sees max_samples
   rows drawn without replacement, splits on a random feature that is not
   constant in the node at a threshold uniform in [min, max) (x <= t goes
   left), and stops at one row, at identical rows, or at depth
   ceil(log2 max_samples). score(x) = 2^(-E[h(x)] / c(psi)), where h is the
   depth of x's leaf plus c(leaf size) and c(n) = 2 H(n-1) - 2 (n-1)/n is
   the mean path length of an unsuccessful search in a binary search tree.

   A forest is one f64 tensor of nodes [M, 4]: feature (0-based, -1 for a
   leaf), threshold (leaf: its size), left, right (row numbers in the tensor);
   tree k's root is row roots[k]. Tree k draws from stream k of the seed, and
   trees grow in parallel into their own slots: any thread count gives the
   same forest. */
#include "detect.h"
#include "../core/parallel.h"
#include "../core/rng.h"
#include <math.h>
#include <string.h>

double sd_iforest_c(double n) {
  if (n <= 1) return 0;
  if (n <= 2) return 1;
  return 2 * (log(n - 1) + 0.5772156649015329) - 2 * (n - 1) / n;
}

/* 32-bit words of one generator stream, drawn in blocks. */
typedef struct { sd_gen g; uint32_t buf[256]; int at; } words;

static uint32_t word(words *w) {
  if (w->at == 256) {
    sd_gen_words(&w->g, w->g.offset, 256, w->buf);
    w->g.offset += 256;
    w->at = 0;
  }
  return w->buf[w->at++];
}

static double unit(words *w) { /* uniform in [0, 1), 53 bits */
  uint64_t hi = word(w) >> 5, lo = word(w) >> 6;
  return (double)(hi * 67108864 + lo) / 9007199254740992.0;
}

typedef struct {
  const double *x;      /* n x d, row-major */
  int64_t n, d, psi;
  int limit;
  uint64_t seed;
  double *nodes;        /* per tree: 2 psi - 1 slots of 4 */
  int64_t *count;       /* nodes used by each tree */
  int64_t *scratch;     /* per tree: psi row indices + d feature order */
} grow_job;

/* Grows the subtree over rows idx[0..m) at depth; returns its slot. */
static int64_t grow(grow_job *j, words *w, double *nodes, int64_t *used, int64_t *idx, int64_t m,
                    int depth, int64_t *feat) {
  int64_t me = (*used)++;
  double *nd = nodes + 4 * me;
  nd[0] = -1; nd[1] = (double)m; nd[2] = nd[3] = -1;
  if (depth >= j->limit || m <= 1) return me;
  /* features in random order until one is not constant here */
  for (int64_t f = 0; f < j->d; f++) feat[f] = f;
  for (int64_t left = j->d; left > 0; left--) {
    int64_t k = (int64_t)(unit(w) * (double)left), f = feat[k];
    feat[k] = feat[left - 1];
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < m; i++) {
      double v = j->x[idx[i] * j->d + f];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo)) continue;
    double t = lo + unit(w) * (hi - lo);
    if (t >= hi) t = lo;
    int64_t a = 0, b = m; /* partition: x <= t first */
    while (a < b) {
      if (j->x[idx[a] * j->d + f] <= t) a++;
      else { int64_t s = idx[a]; idx[a] = idx[--b]; idx[b] = s; }
    }
    nd[0] = (double)f;
    nd[1] = t;
    int64_t l = grow(j, w, nodes, used, idx, a, depth + 1, feat);
    int64_t r = grow(j, w, nodes, used, idx + a, m - a, depth + 1, feat);
    nd = nodes + 4 * me;
    nd[2] = (double)l;
    nd[3] = (double)r;
    return me;
  }
  return me; /* every feature constant: a leaf */
}

static void grow_task(int64_t begin, int64_t end, void *ctx) {
  grow_job *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    words w = {.at = 256};
    sd_gen_init(&w.g, j->seed, (uint64_t)t);
    int64_t *idx = j->scratch + t * (j->psi + j->d), *feat = idx + j->psi;
    /* Floyd's sampling: psi distinct rows of n, in psi draws */
    int64_t got = 0;
    for (int64_t c = j->n - j->psi; c < j->n; c++) {
      int64_t r = (int64_t)(unit(&w) * (double)(c + 1)), k = 0;
      while (k < got && idx[k] != r) k++;
      idx[got] = k < got ? c : r; /* r taken already: c, which no draw reached yet */
      got++;
    }
    j->count[t] = 0;
    grow(j, &w, j->nodes + t * 4 * (2 * j->psi - 1), &j->count[t], idx, j->psi, 0, feat);
  }
}

sd_tensor *sd_iforest_fit(const sd_tensor *x, int64_t n_trees, int64_t max_samples, uint64_t seed,
                          sd_tensor **roots) {
  char b[64];
  *roots = NULL;
  if (x->ndim != 2 || x->shape[0] < 1 || x->shape[1] < 1) {
    sd_error(SD_ESHAPE, "iforest: train must be [n, d] with n, d >= 1, got %s", sd_shape_str(x, b, sizeof b));
    return NULL;
  }
  if (n_trees < 1 || max_samples < 1) {
    sd_error(SD_EARG, "iforest: n_trees and max_samples must be >= 1");
    return NULL;
  }
  int64_t n = x->shape[0], d = x->shape[1], psi = max_samples < n ? max_samples : n;
  sd_tensor *x64 = sd_to_dtype(x, SD_F64), *xc = x64 ? sd_contiguous(x64) : NULL;
  sd_release(x64);
  int64_t slots = 2 * psi - 1;
  size_t nb = (size_t)(n_trees * slots * 4) * sizeof(double), cb = (size_t)n_trees * sizeof(int64_t),
         sb = (size_t)(n_trees * (psi + d)) * sizeof(int64_t);
  grow_job j = {xc ? sd_data(xc) : NULL, n, d, psi, (int)ceil(log2((double)psi)), seed,
                sd_malloc(nb), sd_malloc(cb), sd_malloc(sb)};
  sd_tensor *out = NULL;
  if (xc && j.nodes && j.count && j.scratch) {
    sd_parallel_for(n_trees, 1, grow_task, &j);
    int64_t total = 0;
    for (int64_t t = 0; t < n_trees; t++) total += j.count[t];
    int64_t shape[2] = {total, 4};
    out = sd_empty(SD_F64, 2, shape);
    *roots = sd_empty(SD_I64, 1, &n_trees);
    if (!out || !*roots) {
      sd_release(out); sd_release(*roots);
      out = *roots = NULL;
    } else { /* compact, shifting child rows by the tree's start */
      double *o = sd_data(out);
      int64_t *r = sd_data(*roots), at = 0;
      for (int64_t t = 0; t < n_trees; t++) {
        const double *src = j.nodes + t * 4 * slots;
        r[t] = at;
        for (int64_t k = 0; k < j.count[t]; k++) {
          double *nd = o + 4 * (at + k);
          memcpy(nd, src + 4 * k, 4 * sizeof *nd);
          if (nd[0] >= 0) { nd[2] += (double)at; nd[3] += (double)at; }
        }
        at += j.count[t];
      }
    }
  }
  sd_free(j.nodes, nb); sd_free(j.count, cb); sd_free(j.scratch, sb);
  sd_release(xc);
  return out;
}

typedef struct {
  const double *x, *nodes, *leaf_c; /* leaf_c: c(leaf size) per node */
  const int64_t *roots;
  int64_t d, n_trees;
  double cpsi;
  double *out;
} score_job;

static void score_task(int64_t begin, int64_t end, void *ctx) {
  score_job *j = ctx;
  for (int64_t i = begin; i < end; i++) {
    const double *xi = j->x + i * j->d;
    double h = 0;
    for (int64_t t = 0; t < j->n_trees; t++) {
      const double *nd = j->nodes + 4 * j->roots[t];
      int depth = 0;
      while (nd[0] >= 0) {
        nd = j->nodes + 4 * (int64_t)(xi[(int64_t)nd[0]] <= nd[1] ? nd[2] : nd[3]);
        depth++;
      }
      h += depth + j->leaf_c[(nd - j->nodes) / 4];
    }
    j->out[i] = exp2(-(h / (double)j->n_trees) / j->cpsi);
  }
}

sd_tensor *sd_iforest_score(const sd_tensor *nodes, const sd_tensor *roots, const sd_tensor *x,
                            int64_t psi) {
  char b1[64], b2[64];
  if (nodes->ndim != 2 || nodes->shape[1] != 4 || nodes->dtype != SD_F64 || roots->ndim != 1 ||
      roots->dtype != SD_I64) {
    sd_error(SD_EARG, "iforest: a forest is nodes [M,4] f64 and roots [T] i64, got %s and %s",
             sd_shape_str(nodes, b1, sizeof b1), sd_shape_str(roots, b2, sizeof b2));
    return NULL;
  }
  int64_t m = nodes->shape[0], T = roots->shape[0];
  sd_tensor *nc = sd_contiguous(nodes), *rc = sd_contiguous(roots);
  const double *nd = nc ? sd_data(nc) : NULL;
  int64_t d = 0; /* the features the forest reads: the largest index + 1 */
  for (int64_t k = 0; nd && k < m; k++) {
    double f = nd[4 * k], l = nd[4 * k + 2], r = nd[4 * k + 3];
    if (f >= 0 && (l < 0 || l >= m || r < 0 || r >= m)) { nd = NULL; break; }
    if (f + 1 > d) d = (int64_t)f + 1;
  }
  const int64_t *rv = rc ? sd_data(rc) : NULL;
  for (int64_t t = 0; rv && t < T; t++) if (rv[t] < 0 || rv[t] >= m) rv = NULL;
  sd_tensor *out = NULL, *xc = NULL;
  if (!nc || !rc) goto done;
  if (!nd || !rv) {
    sd_error(SD_EARG, "iforest: the forest's child or root rows are out of range");
    goto done;
  }
  if (x->ndim != 2 || x->shape[1] < d) {
    sd_error(SD_ESHAPE, "iforest: score needs [n, d] with d >= %lld, got %s", (long long)d,
             sd_shape_str(x, b1, sizeof b1));
    goto done;
  }
  sd_tensor *x64 = sd_to_dtype(x, SD_F64);
  xc = x64 ? sd_contiguous(x64) : NULL;
  sd_release(x64);
  double *leaf_c = xc ? sd_malloc((size_t)m * sizeof *leaf_c) : NULL;
  out = leaf_c ? sd_empty(SD_F64, 1, &x->shape[0]) : NULL;
  if (out) {
    for (int64_t k = 0; k < m; k++) leaf_c[k] = nd[4 * k] < 0 ? sd_iforest_c(nd[4 * k + 1]) : 0;
    score_job j = {sd_data(xc), nd, leaf_c, rv, x->shape[1], T, sd_iforest_c((double)psi), sd_data(out)};
    sd_parallel_for(x->shape[0], 64, score_task, &j);
  }
  if (leaf_c) sd_free(leaf_c, (size_t)m * sizeof *leaf_c);
done:
  sd_release(nc); sd_release(rc); sd_release(xc);
  return out;
}
