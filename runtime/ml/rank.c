/* rank.c: ranking metrics over (scores, labels). The scores are split by
   label into two arrays of order-preserving u64 keys, radix-sorted (the two
   at once on two threads). AUROC is a merge of the two arrays; every curve
   comes from the counts of positives and negatives at each distinct
   threshold, which a descending merge gives. Counts are integers, so ties
   and ratios are exact until the final division. */
#include "detect.h"
#include "../core/parallel.h"
#include <math.h>
#include <string.h>

/* An order-preserving map of f64 to u64; -0 counts as 0. */
static uint64_t key_of(double x) {
  uint64_t u;
  x += 0.0;
  memcpy(&u, &x, sizeof u);
  return u >> 63 ? ~u : u | 1ULL << 63;
}

static double value_of(uint64_t k) {
  uint64_t u = k >> 63 ? k & ~(1ULL << 63) : ~k;
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* LSD radix sort, 8 bits a pass; passes where every key has the same digit
   are skipped (the high bytes of scores in a narrow range). */
static void radix_sort(uint64_t *a, uint64_t *tmp, int64_t n) {
  static const int npass = 8;
  int64_t count[8][256];
  memset(count, 0, sizeof count);
  for (int64_t i = 0; i < n; i++)
    for (int b = 0; b < npass; b++) count[b][(a[i] >> (8 * b)) & 255]++;
  uint64_t *src = a, *dst = tmp;
  for (int b = 0; b < npass; b++) {
    if (n == 0 || count[b][(src[0] >> (8 * b)) & 255] == n) continue;
    int64_t at = 0;
    for (int d = 0; d < 256; d++) {
      int64_t c = count[b][d];
      count[b][d] = at;
      at += c;
    }
    for (int64_t i = 0; i < n; i++) dst[count[b][(src[i] >> (8 * b)) & 255]++] = src[i];
    uint64_t *t = src; src = dst; dst = t;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* The scores split by label, each part sorted ascending. */
typedef struct {
  uint64_t *key;        /* pos = key[0..P), neg = key[P..P+N) */
  int64_t P, N;
} split;

typedef struct { uint64_t *key, *tmp; int64_t P, N; } sort_job;

static void sort_task(int64_t begin, int64_t end, void *ctx) {
  sort_job *j = ctx;
  for (int64_t part = begin; part < end; part++) {
    if (part == 0) radix_sort(j->key, j->tmp, j->P);
    else radix_sort(j->key + j->P, j->tmp + j->P, j->N);
  }
}

static void split_free(split *sp) {
  sd_free(sp->key, (size_t)(sp->P + sp->N) * sizeof *sp->key);
  sp->key = NULL;
}

/* Checks (s, y), splits and sorts. need_pos / need_neg: the metric is
   undefined without that class. */
static sd_status split_make(const char *fn, const sd_tensor *s, const sd_tensor *y, bool need_pos,
                            bool need_neg, split *sp) {
  char b1[64], b2[64];
  int64_t n = sd_numel(s);
  sp->key = NULL;
  sp->P = sp->N = 0;
  if (n != sd_numel(y))
    return sd_error(SD_ESHAPE, "%s: scores %s and labels %s differ in size", fn,
                    sd_shape_str(s, b1, sizeof b1), sd_shape_str(y, b2, sizeof b2));
  if (n == 0) return sd_error(SD_EARG, "%s: no scores", fn);
  if (s->dtype == SD_BOOL) return sd_error(SD_EARG, "%s: scores must be numbers, not bool", fn);
  sd_tensor *s64 = sd_to_dtype(s, SD_F64), *sc = s64 ? sd_contiguous(s64) : NULL;
  sd_tensor *yc = sd_contiguous(y);
  sd_release(s64);
  uint64_t *key = sd_malloc((size_t)n * sizeof *key), *tmp = sd_malloc((size_t)n * sizeof *tmp);
  sd_status st = SD_OK;
  if (!sc || !yc || !key || !tmp) { st = SD_EMEM; goto done; }
  const double *sv = sd_data(sc);
  const char *yv = sd_data(yc);
  size_t ysz = sd_dtype_size(y->dtype);
  int64_t P = 0, N = 0;
  for (int64_t i = 0; i < n; i++) {
    double l = sd_get_ptr(y->dtype, yv + i * ysz);
    if (l != 0 && l != 1) {
      st = sd_error(SD_EARG, "%s: labels must be 0 or 1, found %g at position %lld", fn, l,
                    (long long)(i + 1));
      goto done;
    }
    if (isnan(sv[i])) {
      st = sd_error(SD_EARG, "%s: score at position %lld is NaN", fn, (long long)(i + 1));
      goto done;
    }
    P += l == 1;
  }
  N = n - P;
  if ((need_pos && P == 0) || (need_neg && N == 0)) {
    st = sd_error(SD_EARG, "%s: labels hold only %s, the metric needs both classes", fn,
                  P == 0 ? "negatives (0)" : "positives (1)");
    goto done;
  }
  int64_t ip = 0, in = P;
  for (int64_t i = 0; i < n; i++)
    key[sd_get_ptr(y->dtype, yv + i * ysz) == 1 ? ip++ : in++] = key_of(sv[i]);
  sort_job j = {key, tmp, P, N};
  sd_parallel_for(2, 1, sort_task, &j);
  sp->key = key;
  sp->P = P;
  sp->N = N;
  key = NULL;
done:
  if (key) sd_free(key, (size_t)n * sizeof *key);
  if (tmp) sd_free(tmp, (size_t)n * sizeof *tmp);
  sd_release(sc);
  sd_release(yc);
  return st;
}

sd_status sd_rank_auroc(const sd_tensor *s, const sd_tensor *y, double *out) {
  split sp;
  sd_status st = split_make("auroc", s, y, true, true, &sp);
  if (st != SD_OK) return st;
  const uint64_t *pos = sp.key, *neg = sp.key + sp.P;
  int64_t u2 = 0, j = 0; /* twice the U statistic: 2 per pair won, 1 per tie */
  for (int64_t i = 0; i < sp.P;) {
    uint64_t v = pos[i];
    int64_t i2 = i;
    while (i2 < sp.P && pos[i2] == v) i2++;
    while (j < sp.N && neg[j] < v) j++;
    int64_t k = j;
    while (k < sp.N && neg[k] == v) k++;
    u2 += (i2 - i) * (2 * j + (k - j));
    i = i2;
  }
  *out = (double)u2 / (2.0 * (double)sp.P * (double)sp.N);
  split_free(&sp);
  return SD_OK;
}

/* Cumulative counts at each distinct threshold, descending: m points
   (thr[k], tps[k], fps[k]), k = 0..m-1. */
typedef struct {
  int64_t m, P, N;
  double *thr;
  int64_t *tps, *fps;
} curve;

static void curve_free(curve *c) {
  sd_free(c->thr, (size_t)c->m * sizeof *c->thr);
  sd_free(c->tps, (size_t)c->m * sizeof *c->tps);
  sd_free(c->fps, (size_t)c->m * sizeof *c->fps);
}

/* The descending merge; with c->thr NULL it only counts the points. */
static int64_t merge(const split *sp, curve *c) {
  const uint64_t *pos = sp->key, *neg = sp->key + sp->P;
  int64_t i = sp->P - 1, j = sp->N - 1, m = 0, tp = 0, fp = 0;
  while (i >= 0 || j >= 0) {
    uint64_t v = i < 0 ? neg[j] : j < 0 ? pos[i] : pos[i] > neg[j] ? pos[i] : neg[j];
    while (i >= 0 && pos[i] == v) i--, tp++;
    while (j >= 0 && neg[j] == v) j--, fp++;
    if (c->thr) {
      c->thr[m] = value_of(v);
      c->tps[m] = tp;
      c->fps[m] = fp;
    }
    m++;
  }
  return m;
}

static sd_status curve_make(const char *fn, const sd_tensor *s, const sd_tensor *y, bool need_pos,
                            bool need_neg, curve *c) {
  split sp;
  memset(c, 0, sizeof *c);
  sd_status st = split_make(fn, s, y, need_pos, need_neg, &sp);
  if (st != SD_OK) return st;
  int64_t m = merge(&sp, c);
  c->thr = sd_malloc((size_t)m * sizeof *c->thr);
  c->tps = sd_malloc((size_t)m * sizeof *c->tps);
  c->fps = sd_malloc((size_t)m * sizeof *c->fps);
  c->m = m;
  c->P = sp.P;
  c->N = sp.N;
  if (!c->thr || !c->tps || !c->fps) {
    split_free(&sp);
    curve_free(c);
    return sd_error(SD_EMEM, "%s: out of memory for %lld thresholds", fn, (long long)m);
  }
  merge(&sp, c);
  split_free(&sp);
  return SD_OK;
}

static double precision_at(const curve *c, int64_t k) {
  return (double)c->tps[k] / (double)(c->tps[k] + c->fps[k]);
}

sd_status sd_rank_ap(const sd_tensor *s, const sd_tensor *y, double *out) {
  curve c;
  sd_status st = curve_make("aupr", s, y, true, false, &c);
  if (st != SD_OK) return st;
  double ap = 0, r0 = 0;
  for (int64_t k = 0; k < c.m; k++) {
    double r = (double)c.tps[k] / (double)c.P;
    ap += (r - r0) * precision_at(&c, k);
    r0 = r;
  }
  *out = ap;
  curve_free(&c);
  return SD_OK;
}

sd_status sd_rank_aupr_trapz(const sd_tensor *s, const sd_tensor *y, double *out) {
  curve c;
  sd_status st = curve_make("aupr_trapz", s, y, true, false, &c);
  if (st != SD_OK) return st;
  double area = 0, r0 = 0, p0 = 1; /* from the end point recall 0, precision 1 */
  for (int64_t k = 0; k < c.m; k++) {
    double r = (double)c.tps[k] / (double)c.P, p = precision_at(&c, k);
    area += (r - r0) * (p + p0) / 2;
    r0 = r;
    p0 = p;
  }
  *out = area;
  curve_free(&c);
  return SD_OK;
}

static sd_tensor *vec(int64_t n) { return sd_empty(SD_F64, 1, &n); }

/* Point k stays unless it is collinear with both neighbours (sklearn's
   drop_intermediate: second differences of fps and tps). */
static bool roc_keep(const curve *c, int64_t k, bool drop) {
  if (!drop || c->m <= 2 || k == 0 || k == c->m - 1) return true;
  return c->fps[k - 1] - 2 * c->fps[k] + c->fps[k + 1] != 0 ||
         c->tps[k - 1] - 2 * c->tps[k] + c->tps[k + 1] != 0;
}

sd_status sd_rank_roc(const sd_tensor *s, const sd_tensor *y, bool drop, sd_tensor **fpr,
                      sd_tensor **tpr, sd_tensor **thr) {
  curve c;
  *fpr = *tpr = *thr = NULL;
  sd_status st = curve_make("roc_curve", s, y, true, true, &c);
  if (st != SD_OK) return st;
  int64_t n = 1;
  for (int64_t k = 0; k < c.m; k++) n += roc_keep(&c, k, drop);
  *fpr = vec(n);
  *tpr = vec(n);
  *thr = vec(n);
  if (!*fpr || !*tpr || !*thr) {
    sd_release(*fpr); sd_release(*tpr); sd_release(*thr);
    *fpr = *tpr = *thr = NULL;
    curve_free(&c);
    return SD_EMEM;
  }
  double *f = sd_data(*fpr), *t = sd_data(*tpr), *h = sd_data(*thr);
  f[0] = t[0] = 0;
  h[0] = s->dtype == SD_F32 ? (double)(float)(c.thr[0] + 1) : c.thr[0] + 1; /* as numpy */
  for (int64_t k = 0, i = 1; k < c.m; k++) {
    if (!roc_keep(&c, k, drop)) continue;
    f[i] = (double)c.fps[k] / (double)c.N;
    t[i] = (double)c.tps[k] / (double)c.P;
    h[i] = c.thr[k];
    i++;
  }
  curve_free(&c);
  return SD_OK;
}

sd_status sd_rank_pr(const sd_tensor *s, const sd_tensor *y, sd_tensor **precision,
                     sd_tensor **recall, sd_tensor **thr) {
  curve c;
  *precision = *recall = *thr = NULL;
  sd_status st = curve_make("pr_curve", s, y, true, false, &c);
  if (st != SD_OK) return st;
  *precision = vec(c.m + 1);
  *recall = vec(c.m + 1);
  *thr = vec(c.m);
  if (!*precision || !*recall || !*thr) {
    sd_release(*precision); sd_release(*recall); sd_release(*thr);
    *precision = *recall = *thr = NULL;
    curve_free(&c);
    return SD_EMEM;
  }
  double *p = sd_data(*precision), *r = sd_data(*recall), *h = sd_data(*thr);
  for (int64_t k = 0; k < c.m; k++) { /* ascending thresholds */
    int64_t i = c.m - 1 - k;
    p[i] = precision_at(&c, k);
    r[i] = (double)c.tps[k] / (double)c.P;
    h[i] = c.thr[k];
  }
  p[c.m] = 1;
  r[c.m] = 0;
  curve_free(&c);
  return SD_OK;
}

static sd_status check_rate(const char *fn, const char *what, double v) {
  if (!(v >= 0 && v <= 1)) return sd_error(SD_EARG, "%s: %s must be in [0, 1], got %g", fn, what, v);
  return SD_OK;
}

/* The quantile rule (ViM / MOS code): thr = the floor(t P)-th largest
   positive score (at least the largest), FPR = #{negatives >= thr} / N. */
static sd_status fpr_quantile(const sd_tensor *s, const sd_tensor *y, double t, double *out) {
  split sp;
  sd_status st = split_make("fpr_at_tpr", s, y, true, true, &sp);
  if (st != SD_OK) return st;
  int64_t k = (int64_t)floor(t * (double)sp.P);
  if (k < 1) k = 1;
  uint64_t thr = sp.key[sp.P - k];
  const uint64_t *neg = sp.key + sp.P;
  int64_t lo = 0, hi = sp.N; /* first negative >= thr */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (neg[mid] < thr) lo = mid + 1; else hi = mid;
  }
  *out = (double)(sp.N - lo) / (double)sp.N;
  split_free(&sp);
  return SD_OK;
}

sd_status sd_rank_fpr_at_tpr(const sd_tensor *s, const sd_tensor *y, double t, sd_rank_rule rule,
                             double *out) {
  if (check_rate("fpr_at_tpr", "tpr", t) != SD_OK) return SD_EARG;
  if (rule == SD_RANK_QUANTILE) return fpr_quantile(s, y, t, out);
  curve c;
  sd_status st = curve_make("fpr_at_tpr", s, y, true, true, &c);
  if (st != SD_OK) return st;
  /* the ROC points: (0, 0), then one per distinct threshold */
  double best = 0, gap = fabs(t);
  bool found = rule == SD_RANK_FIRST_GE && t <= 0;
  for (int64_t k = 0; k < c.m && !found; k++) {
    double tpr = (double)c.tps[k] / (double)c.P, fpr = (double)c.fps[k] / (double)c.N;
    if (rule == SD_RANK_FIRST_GE && tpr >= t) {
      best = fpr;
      found = true;
    } else if (rule == SD_RANK_NEAREST && fabs(tpr - t) < gap) {
      best = fpr;
      gap = fabs(tpr - t);
    }
  }
  *out = best;
  curve_free(&c);
  return SD_OK;
}

sd_status sd_rank_tpr_at_fpr(const sd_tensor *s, const sd_tensor *y, double x, bool strict,
                             double *out) {
  if (check_rate("tpr_at_fpr", "fpr", x) != SD_OK) return SD_EARG;
  curve c;
  sd_status st = curve_make("tpr_at_fpr", s, y, true, true, &c);
  if (st != SD_OK) return st;
  double best = 0; /* the point (0, 0); FPR only grows along the curve */
  for (int64_t k = 0; k < c.m; k++) {
    double fpr = (double)c.fps[k] / (double)c.N;
    if (strict ? fpr >= x : fpr > x) break;
    best = (double)c.tps[k] / (double)c.P;
  }
  *out = best;
  curve_free(&c);
  return SD_OK;
}
