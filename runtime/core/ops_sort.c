/* ops_sort.c: sort, topk, kthvalue, unique and bincount.

   Every value is first mapped to an unsigned 64-bit key whose order is the
   value order (floats by their bits with the sign folded, NaN above +inf,
   -0 as 0; integers with the sign bit flipped), so one stable merge sort of
   (key, position) pairs serves every dtype, and descending order is the
   ascending order of ~key. */
#include "index.h"
#include "parallel.h"
#include <stdlib.h>
#include <string.h>

typedef struct { uint64_t key; int64_t pos; } pair;

static uint64_t key_of(sd_dtype dt, const char *p) {
  if (sd_dtype_is_float(dt)) {
    double v = sd_get_ptr(dt, p);
    if (v != v) return UINT64_MAX;
    if (v == 0) v = 0;
    uint64_t u;
    memcpy(&u, &v, 8);
    return u >> 63 ? ~u : u | (UINT64_C(1) << 63);
  }
  return (uint64_t)sd_geti_ptr(dt, p) ^ (UINT64_C(1) << 63);
}

/* Stable LSD radix sort for long arrays: 11-bit digits, passes where every
   key has the same digit skipped. */
static void radix_pairs(pair *a, pair *tmp, int64_t n) {
  enum { BITS = 11, B = 1 << BITS, PASSES = 6 };
  int64_t h[PASSES][B];
  memset(h, 0, sizeof h);
  for (int64_t i = 0; i < n; i++)
    for (int p = 0; p < PASSES; p++) h[p][(a[i].key >> (p * BITS)) & (B - 1)]++;
  pair *src = a, *dst = tmp;
  for (int p = 0; p < PASSES; p++) {
    int64_t at = 0, *off = h[p];
    if (off[(src[0].key >> (p * BITS)) & (B - 1)] == n) continue;
    for (int d = 0; d < B; d++) { int64_t c = off[d]; off[d] = at; at += c; }
    for (int64_t i = 0; i < n; i++) dst[off[(src[i].key >> (p * BITS)) & (B - 1)]++] = src[i];
    pair *s = src; src = dst; dst = s;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* Stable sort of a[0..n) by key, tmp of n pairs as scratch: radix for long
   arrays; else sorted runs of 16 by insertion, then bottom-up merges. */
static void sort_pairs(pair *a, pair *tmp, int64_t n) {
  const int64_t RUN = 16;
  if (n >= 8192) { radix_pairs(a, tmp, n); return; }
  for (int64_t lo = 0; lo < n; lo += RUN) {
    int64_t hi = lo + RUN < n ? lo + RUN : n;
    for (int64_t i = lo + 1; i < hi; i++) {
      pair x = a[i];
      int64_t j = i;
      for (; j > lo && a[j - 1].key > x.key; j--) a[j] = a[j - 1];
      a[j] = x;
    }
  }
  pair *src = a, *dst = tmp;
  for (int64_t w = RUN; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = src[j].key < src[i].key ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    pair *s = src; src = dst; dst = s;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* The m smallest (key, position) pairs of a row in a[0..m), in order, for a
   small m: one pass keeping a sorted buffer; a later equal key never
   displaces an earlier one, so the result is the stable sort's prefix. */
static void smallest_pairs(pair *a, int64_t m, const uint64_t *keys, int64_t n) {
  int64_t have = 0;
  for (int64_t j = 0; j < n; j++) {
    uint64_t k = keys[j];
    if (have == m && k >= a[m - 1].key) continue;
    int64_t i = have < m ? have++ : m - 1;
    for (; i > 0 && a[i - 1].key > k; i--) a[i] = a[i - 1];
    a[i].key = k;
    a[i].pos = j;
  }
}

/* --- sort, topk, kthvalue: rows along dim of a contiguous tensor --- */

typedef struct {
  const char *src;
  char *vals;
  int64_t *idx;
  int64_t n, inner, start, count; /* output sorted positions start..start+count-1 */
  size_t es;
  sd_dtype dt;
  bool desc;
  int failed;
} rowctx;

static void sort_rows(int64_t b, int64_t e, void *v) {
  rowctx *c = v;
  /* few leading entries of a long row (topk): select instead of sorting */
  bool select = c->start == 0 && c->count <= 32 && c->count * 8 <= c->n;
  pair *a = malloc((size_t)(2 * c->n + 1) * sizeof *a);
  if (!a) { __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); return; }
  uint64_t *keys = (uint64_t *)(a + c->n); /* the scratch half, when selecting */
  for (int64_t r = b; r < e && !sd_interrupt_flag; r++) {
    int64_t o = r / c->inner, in = r % c->inner;
    const char *s = c->src + (size_t)(o * c->n * c->inner + in) * c->es;
    for (int64_t j = 0; j < c->n; j++) {
      uint64_t k = key_of(c->dt, s + (size_t)(j * c->inner) * c->es);
      if (c->desc) k = ~k;
      if (select) keys[j] = k;
      else { a[j].key = k; a[j].pos = j; }
    }
    if (select) smallest_pairs(a, c->count, keys, c->n);
    else sort_pairs(a, a + c->n, c->n);
    for (int64_t q = 0; q < c->count; q++) {
      int64_t j = a[c->start + q].pos, at = (o * c->count + q) * c->inner + in;
      memcpy(c->vals + (size_t)at * c->es, s + (size_t)(j * c->inner) * c->es, c->es);
      c->idx[at] = j + 1;
    }
  }
  free(a);
}

static sd_status sort_run(const char *fn, const sd_tensor *t, int dim, bool desc, int64_t start,
                          int64_t count, sd_tensor **values, sd_tensor **indices) {
  *values = *indices = NULL;
  sd_status st = SD_EMEM;
  sd_tensor *c = sd_contiguous(t);
  if (!c) return SD_EMEM;
  int64_t shape[SD_MAXDIM], n = t->ndim ? t->shape[dim] : 1, outer = 1, inner = 1;
  for (int d = 0; d < t->ndim; d++) {
    shape[d] = d == dim ? count : t->shape[d];
    if (d < dim) outer *= t->shape[d];
    if (d > dim) inner *= t->shape[d];
  }
  int nd = t->ndim == 0 && count != 1 ? 1 : t->ndim;
  if (t->ndim == 0) shape[0] = count;
  *values = sd_empty(t->dtype, nd, shape);
  *indices = *values ? sd_empty(SD_I64, nd, shape) : NULL;
  if (!*indices) goto fail;
  rowctx rc = {sd_data(c), sd_data(*values), sd_data(*indices), n, inner, start, count,
               sd_dtype_size(t->dtype), t->dtype, desc, 0};
  if (n > 0 && count > 0) sd_parallel_for(outer * inner, 32768 / n + 1, sort_rows, &rc);
  if (rc.failed) { sd_error(SD_EMEM, "%s: out of memory", fn); goto fail; }
  if ((st = sd_check_interrupt()) != SD_OK) goto fail; /* Ctrl-C */
  sd_release(c);
  return SD_OK;
fail:
  sd_release(c);
  sd_release(*values);
  sd_release(*indices);
  *values = *indices = NULL;
  return st;
}

sd_status sd_sort(const sd_tensor *t, int dim, bool descending, sd_tensor **values,
                  sd_tensor **indices) {
  *values = *indices = NULL;
  if (sd_norm_dim(t, &dim, "sort")) return SD_EARG;
  return sort_run("sort", t, dim, descending, 0, t->ndim ? t->shape[dim] : 1, values, indices);
}

sd_status sd_topk(const sd_tensor *t, int64_t k, int dim, bool largest, sd_tensor **values,
                  sd_tensor **indices) {
  *values = *indices = NULL;
  if (sd_norm_dim(t, &dim, "topk")) return SD_EARG;
  int64_t n = t->ndim ? t->shape[dim] : 1;
  if (k < 0 || k > n)
    return sd_error(SD_EARG, "topk: k = %lld out of range for dim %d of size %lld", (long long)k,
                    dim + 1, (long long)n);
  return sort_run("topk", t, dim, largest, 0, k, values, indices);
}

sd_status sd_kthvalue(const sd_tensor *t, int64_t k, int dim, bool keepdim, sd_tensor **values,
                      sd_tensor **indices) {
  *values = *indices = NULL;
  if (sd_norm_dim(t, &dim, "kthvalue")) return SD_EARG;
  int64_t n = t->ndim ? t->shape[dim] : 1;
  if (k < 1 || k > n)
    return sd_error(SD_EARG, "kthvalue: k = %lld out of range for dim %d of size %lld",
                    (long long)k, dim + 1, (long long)n);
  sd_status st = sort_run("kthvalue", t, dim, false, k - 1, 1, values, indices);
  if (st != SD_OK || keepdim || t->ndim == 0) return st;
  sd_tensor *v = sd_squeeze(*values, dim), *i = v ? sd_squeeze(*indices, dim) : NULL;
  sd_release(*values);
  sd_release(*indices);
  *values = v;
  *indices = i;
  if (i) return SD_OK;
  sd_release(v);
  *values = NULL;
  return SD_EMEM;
}

/* --- unique --- */

sd_status sd_unique(const sd_tensor *t, bool sorted, sd_tensor **values, sd_tensor **inverse,
                    sd_tensor **counts) {
  sd_tensor *c = sd_contiguous(t), *v = NULL, *inv = NULL, *cnt = NULL;
  int64_t n = c ? sd_numel(c) : 0, ng = 0;
  size_t es = sd_dtype_size(t->dtype);
  pair *a = c ? malloc((size_t)(2 * n + 1) * sizeof *a) : NULL;
  int64_t *group = a ? malloc((size_t)(n + 1) * sizeof *group) : NULL; /* sorted slot -> group */
  if (!group) {
    if (c) sd_error(SD_EMEM, "unique: out of memory");
    goto done;
  }
  const char *p = sd_data(c);
  for (int64_t i = 0; i < n; i++) { a[i].key = key_of(t->dtype, p + (size_t)i * es); a[i].pos = i; }
  sort_pairs(a, a + n, n);
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || a[i].key != a[i - 1].key) ng++;
    group[i] = ng - 1;
  }
  /* the output slot of each group: sorted order, or by first appearance
     (a group's first sorted entry is its first position: the sort is stable) */
  pair *order = a + n;
  int64_t *slot = malloc((size_t)(ng + 1) * sizeof *slot), *first = malloc((size_t)(ng + 1) * sizeof *first);
  if (!slot || !first) { free(slot); free(first); sd_error(SD_EMEM, "unique: out of memory"); goto done; }
  for (int64_t i = 0; i < n; i++)
    if (i == 0 || group[i] != group[i - 1]) first[group[i]] = i;
  for (int64_t g = 0; g < ng; g++) { order[g].key = (uint64_t)a[first[g]].pos; order[g].pos = g; }
  if (!sorted) {
    pair *tmp = malloc((size_t)(ng + 1) * sizeof *tmp);
    if (!tmp) { free(slot); free(first); sd_error(SD_EMEM, "unique: out of memory"); goto done; }
    sort_pairs(order, tmp, ng);
    free(tmp);
  }
  for (int64_t s = 0; s < ng; s++) slot[order[s].pos] = s;
  v = sd_empty(t->dtype, 1, &ng);
  if (v) {
    char *o = sd_data(v);
    for (int64_t g = 0; g < ng; g++) memcpy(o + (size_t)slot[g] * es, p + (size_t)a[first[g]].pos * es, es);
  }
  if (v && inverse) {
    inv = sd_empty(SD_I64, t->ndim, t->shape);
    if (inv) for (int64_t i = 0; i < n; i++) ((int64_t *)sd_data(inv))[a[i].pos] = slot[group[i]] + 1;
  }
  if (v && counts && (!inverse || inv)) {
    cnt = sd_zeros(SD_I64, 1, &ng);
    if (cnt) for (int64_t i = 0; i < n; i++) ((int64_t *)sd_data(cnt))[slot[group[i]]]++;
  }
  free(slot);
  free(first);
done:
  free(group);
  free(a);
  sd_release(c);
  bool ok = v && (!inverse || inv) && (!counts || cnt);
  if (!ok) { sd_release(v); sd_release(inv); sd_release(cnt); v = inv = cnt = NULL; }
  *values = v;
  if (inverse) *inverse = inv;
  if (counts) *counts = cnt;
  return ok ? SD_OK : SD_EMEM;
}

/* --- bincount --- */

sd_tensor *sd_bincount(const sd_tensor *t, const sd_tensor *weights, int64_t minlength) {
  char a[128], b[128];
  if (t->ndim != 1 || sd_dtype_is_float(t->dtype) || t->dtype == SD_BOOL) {
    sd_error(SD_EARG, "bincount: input must be a 1-d integer tensor, got %s %s",
             sd_dtype_name(t->dtype), sd_shape_str(t, a, sizeof a));
    return NULL;
  }
  if (weights && !sd_same_shape(weights, t)) {
    sd_error(SD_ESHAPE, "bincount: weights %s must have the input's shape %s",
             sd_shape_str(weights, a, sizeof a), sd_shape_str(t, b, sizeof b));
    return NULL;
  }
  if (minlength < 0) { sd_error(SD_EARG, "bincount: minlength must not be negative"); return NULL; }
  int64_t n = t->shape[0], len = minlength;
  int64_t es = (int64_t)sd_dtype_size(t->dtype);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = sd_geti_ptr(t->dtype, (const char *)sd_data(t) + i * t->stride[0] * es);
    if (v < 0) {
      sd_error(SD_EARG, "bincount: value %lld at position %lld is negative (bins count values 0, 1, ...)",
               (long long)v, (long long)i + 1);
      return NULL;
    }
    if (v + 1 > len) len = v + 1;
  }
  sd_dtype dt = !weights ? SD_I64 : weights->dtype == SD_F32 ? SD_F32 : SD_F64;
  sd_tensor *out = sd_zeros(dt, 1, &len);
  if (!out) return NULL;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = sd_geti_ptr(t->dtype, (const char *)sd_data(t) + i * t->stride[0] * es);
    if (!weights) ((int64_t *)sd_data(out))[v]++;
    else {
      const char *w = (const char *)sd_data(weights) +
                      i * weights->stride[0] * (int64_t)sd_dtype_size(weights->dtype);
      if (dt == SD_F32) ((float *)sd_data(out))[v] += *(const float *)w;
      else ((double *)sd_data(out))[v] += sd_get_ptr(weights->dtype, w);
    }
  }
  return out;
}
