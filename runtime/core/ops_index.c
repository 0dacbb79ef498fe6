/* ops_index.c: indexing and joining: gather/scatter (index_* ops are
   gathers and scatters with a broadcast index), masks, nonzero, cat/stack,
   one_hot, flip, roll, repeat, triangles and diagonals. */
#include "index.h"
#include "parallel.h"
#include "ops_simd.h"
#include <stdlib.h>
#include <string.h>

/* --- helpers --- */

/* One element of es bytes from s to d. */
static inline void put(char *d, const char *s, size_t es) {
  switch (es) {
  case 1: *d = *s; break;
  case 4: memcpy(d, s, 4); break;
  default: memcpy(d, s, 8); break;
  }
}

/* Walks same-shape operands in row-major order on one thread, calling fn
   for each run along the last dim: the order scatter relies on. Only
   positions b..e-1 along axis a are walked (a < 0: all). */
static void walk_part(int nop, sd_tensor *const *ops, int a, int64_t b, int64_t e, sd_loop_fn fn,
                      void *ctx) {
  const sd_tensor *t = ops[0];
  int nd = t->ndim;
  int64_t shape[SD_MAXDIM], es[4], bs[4], pos[SD_MAXDIM] = {0};
  char *p[4], *q[4];
  if (sd_numel(t) == 0) return;
  for (int d = 0; d < nd; d++) shape[d] = d == a ? e - b : t->shape[d];
  int64_t n = nd ? shape[nd - 1] : 1;
  for (int k = 0; k < nop; k++) {
    es[k] = (int64_t)sd_dtype_size(ops[k]->dtype);
    bs[k] = nd ? ops[k]->stride[nd - 1] * es[k] : 0;
    p[k] = (char *)sd_data(ops[k]) + (a >= 0 ? b * ops[k]->stride[a] * es[k] : 0);
  }
  for (;;) {
    for (int k = 0; k < nop; k++) q[k] = p[k];
    fn(q, bs, n, ctx);
    int d = nd - 2;
    for (; d >= 0; d--) {
      for (int k = 0; k < nop; k++) p[k] += ops[k]->stride[d] * es[k];
      if (++pos[d] < shape[d]) break;
      for (int k = 0; k < nop; k++) p[k] -= ops[k]->stride[d] * es[k] * shape[d];
      pos[d] = 0;
    }
    if (d < 0) return;
  }
}

static void walk(int nop, sd_tensor *const *ops, sd_loop_fn fn, void *ctx) {
  walk_part(nop, ops, -1, 0, 0, fn, ctx);
}

/* idx as a contiguous i64 tensor (i32 is converted). */
static sd_tensor *index_arg(const char *fn, const sd_tensor *idx) {
  if (idx->dtype != SD_I64 && idx->dtype != SD_I32) {
    sd_error(SD_EARG, "%s: argument 'index' must be an i64 or i32 tensor, got %s", fn,
             sd_dtype_name(idx->dtype));
    return NULL;
  }
  sd_tensor *c = sd_to_dtype(idx, SD_I64), *k = c ? sd_contiguous(c) : NULL;
  sd_release(c);
  return k;
}

typedef struct { const int64_t *v; uint64_t size; int bad; } chkctx;

SD_KERNEL static void check_part(int64_t b, int64_t e, void *v) {
  chkctx *c = v;
  const int64_t *x = c->v;
  uint64_t size = c->size;
  int bad = 0;
  for (int64_t i = b; i < e; i++) bad |= (uint64_t)x[i] - 1 >= size; /* below 1 wraps to huge */
  if (bad) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
}

/* The error for the first entry of I outside 1..size, if there is one.
   Scatters check before writing; gathers check as they read and call this
   only to word the message. */
static sd_status index_check(const char *fn, const sd_tensor *I, int dim, int64_t size) {
  const int64_t *v = sd_data(I);
  int64_t n = sd_numel(I);
  chkctx c = {v, (uint64_t)size, 0};
  sd_parallel_for(n, 65536, check_part, &c);
  for (int64_t i = 0; c.bad && i < n; i++)
    if (v[i] < 1 || v[i] > size)
      return sd_error(SD_EARG, "%s: index %lld out of range for dim %d of size %lld", fn,
                      (long long)v[i], dim + 1, (long long)size);
  return SD_OK;
}

/* Size of dim d, treating a 0-d tensor as one element. */
static int64_t dim_size(const sd_tensor *t, int d) { return t->ndim ? t->shape[d] : 1; }

/* t seen with shape (ndim, shape) and t's strides, except stride 0 along
   dim: the base an index along dim is added to. */
static sd_tensor *dim_base(const sd_tensor *t, int dim, int ndim, const int64_t *shape) {
  int64_t st[SD_MAXDIM];
  for (int i = 0; i < ndim; i++) st[i] = i == dim ? 0 : t->stride[i];
  return sd_as_strided(t, ndim, shape, st, t->offset);
}

/* A 1-d (or 0-d) checked index I seen with the given shape: I varies along
   dim, every other dim repeats it. */
static sd_tensor *index_broadcast(const sd_tensor *I, int dim, int ndim, const int64_t *shape) {
  int64_t st[SD_MAXDIM] = {0};
  if (ndim) st[dim] = 1;
  return sd_as_strided(I, ndim, shape, st, I->offset);
}

static sd_status check_1d_index(const char *fn, const sd_tensor *idx) {
  if (idx->ndim > 1)
    return sd_error(SD_EARG, "%s: argument 'index' must be 0-d or 1-d, got %d dims", fn, idx->ndim);
  return SD_OK;
}

static const char *shp(const sd_tensor *t, char *buf) { return sd_shape_str(t, buf, 128); }

/* --- gather --- */

typedef struct { int64_t dbs, size; size_t es; sd_dtype dt; int bad; } gctx;

/* p: out, index, source base (dim stride 0); the index picks along dim.
   es is a constant at each call, so put() compiles to one move; pointers
   and strides live in locals, which stores through char * cannot alias. */
static inline bool gather_es(char **p, const int64_t *bs, int64_t n, int64_t dbs,
                             uint64_t size, size_t es) {
  char *o = p[0];
  const char *ix = p[1], *s = p[2];
  int64_t so = bs[0], si = bs[1], ss = bs[2];
  bool bad = false;
  for (int64_t i = 0; i < n; i++, o += so, ix += si, s += ss) {
    uint64_t j = (uint64_t)*(const int64_t *)ix - 1; /* below 1 wraps to huge */
    if (j >= size) { bad = true; continue; }
    put(o, s + (int64_t)j * dbs, es);
  }
  return bad;
}

/* The same along contiguous runs of out and index picking within one
   source row (dim is the last dim): typed, so the loop is a load and a
   store (a branch-free select made every load wait for its compare). */
#define GATHER_ROW(T)                                                \
  do {                                                               \
    T *o = (T *)p[0];                                                \
    const int64_t *ix = (const int64_t *)p[1];                       \
    const T *s = (const T *)p[2];                                    \
    uint64_t any = 0;                                                \
    for (int64_t i = 0; i < n; i++) {                                \
      uint64_t j = (uint64_t)ix[i] - 1;                              \
      if (j >= size) { any = 1; continue; }                          \
      o[i] = s[j];                                                   \
    }                                                                \
    bad = any != 0;                                                  \
  } while (0)

static void gather_loop(char **p, const int64_t *bs, int64_t n, void *v) {
  gctx *c = v;
  uint64_t size = (uint64_t)c->size;
  bool bad;
  if (bs[0] == (int64_t)c->es && bs[1] == 8 && bs[2] == 0 && c->dbs == (int64_t)c->es && c->es >= 4) {
    if (c->es == 4) GATHER_ROW(uint32_t);
    else GATHER_ROW(uint64_t);
    if (bad) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
    return;
  }
  switch (c->es) {
  case 1: bad = gather_es(p, bs, n, c->dbs, size, 1); break;
  case 4: bad = gather_es(p, bs, n, c->dbs, size, 4); break;
  default: bad = gather_es(p, bs, n, c->dbs, size, 8); break;
  }
  if (bad) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
}

/* out[i] = t[i with i_dim := I[i]] for an index view I, which is checked
   as it is read (index_check words the error). */
static sd_tensor *gather_run(const char *fn, const sd_tensor *t, int dim, sd_tensor *I) {
  sd_tensor *out = sd_empty(t->dtype, I->ndim, I->shape);
  sd_tensor *base = out ? dim_base(t, dim, I->ndim, I->shape) : NULL;
  if (!base) { sd_release(out); return NULL; }
  gctx c = {t->ndim ? t->stride[dim] * (int64_t)sd_dtype_size(t->dtype) : 0, dim_size(t, dim),
            sd_dtype_size(t->dtype), t->dtype, 0};
  sd_tensor *ops[3] = {out, I, base};
  sd_status st = sd_foreach(3, ops, gather_loop, &c);
  if (st == SD_OK && c.bad) st = index_check(fn, I, dim, c.size);
  sd_release(base);
  if (st != SD_OK) { sd_release(out); return NULL; }
  return out;
}

sd_tensor *sd_gather(const sd_tensor *t, int dim, const sd_tensor *idx) {
  char a[128], b[128];
  if (sd_norm_dim(t, &dim, "gather")) return NULL;
  if (idx->ndim != t->ndim) {
    sd_error(SD_ESHAPE, "gather: index %s and input %s must have the same number of dims",
             shp(idx, a), shp(t, b));
    return NULL;
  }
  for (int d = 0; d < t->ndim; d++)
    if (d != dim && idx->shape[d] > t->shape[d]) {
      sd_error(SD_ESHAPE, "gather: index %s is larger than input %s in dim %d", shp(idx, a),
               shp(t, b), d + 1);
      return NULL;
    }
  sd_tensor *I = index_arg("gather", idx);
  if (!I) return NULL;
  sd_tensor *out = gather_run("gather", t, dim, I);
  sd_release(I);
  return out;
}

/* index_select of a contiguous tensor: whole rows of `inner` elements. */
typedef struct { const char *src; char *dst; const int64_t *idx; int64_t k, n, inner; size_t es; int bad; } selctx;

/* Rows idx[j0..j1) of one outer slice, one row = `row` bytes; false on an
   index outside 1..n. A short loop body keeps many cache misses in flight,
   so single elements (row a constant 1, 4 or 8) get their own copy. */
static inline bool pick_rows(char *d, const char *src, const int64_t *idx, int64_t j0, int64_t j1,
                             uint64_t n, size_t row) {
  for (int64_t j = j0; j < j1; j++, d += row) {
    uint64_t at = (uint64_t)(idx[j] - 1); /* below 1 wraps to huge */
    if (at >= n) return false;
    if (row == 1) *d = src[at];
    else if (row == 4) memcpy(d, src + at * 4, 4);
    else if (row == 8) memcpy(d, src + at * 8, 8);
    else memcpy(d, src + at * row, row);
  }
  return true;
}

static void select_rows(int64_t b, int64_t e, void *v) {
  selctx *c = v;
  size_t row = (size_t)c->inner * c->es;
  uint64_t n = (uint64_t)c->n;
  for (int64_t r = b; r < e;) { /* row r is index j of outer slice o */
    int64_t o = r / c->k, j = r % c->k, end = j + (e - r) < c->k ? j + (e - r) : c->k;
    char *d = c->dst + (size_t)r * row;
    const char *src = c->src + (size_t)o * n * row;
    bool ok;
    switch (row) {
    case 1: ok = pick_rows(d, src, c->idx, j, end, n, 1); break;
    case 4: ok = pick_rows(d, src, c->idx, j, end, n, 4); break;
    case 8: ok = pick_rows(d, src, c->idx, j, end, n, 8); break;
    default: ok = pick_rows(d, src, c->idx, j, end, n, row); break;
    }
    if (!ok) { __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED); return; }
    r += end - j;
  }
}

sd_tensor *sd_index_select(const sd_tensor *t, int dim, const sd_tensor *idx) {
  if (sd_norm_dim(t, &dim, "index_select") || check_1d_index("index_select", idx)) return NULL;
  if (t->ndim == 0 && sd_numel(idx) != 1) {
    sd_error(SD_EARG, "index_select: a 0-d input takes exactly one index, got %lld", (long long)sd_numel(idx));
    return NULL;
  }
  sd_tensor *I = index_arg("index_select", idx);
  if (!I) return NULL;
  int64_t k = sd_numel(I), shape[SD_MAXDIM];
  for (int d = 0; d < t->ndim; d++) shape[d] = d == dim ? k : t->shape[d];
  sd_tensor *out = NULL;
  if (sd_is_contiguous(t) && t->ndim > 0) {
    out = sd_empty(t->dtype, t->ndim, shape);
    if (out) {
      selctx c = {sd_data(t), sd_data(out), sd_data(I), k, t->shape[dim], 1, sd_dtype_size(t->dtype), 0};
      int64_t outer = 1;
      for (int d = 0; d < dim; d++) outer *= t->shape[d];
      for (int d = dim + 1; d < t->ndim; d++) c.inner *= t->shape[d];
      int64_t grain = 65536 / (c.inner + 1) + 1;
      sd_parallel_for(outer * k, grain, select_rows, &c);
      if (c.bad) {
        index_check("index_select", I, dim, t->shape[dim]);
        sd_release(out);
        out = NULL;
      }
    }
  } else if (index_check("index_select", I, dim, dim_size(t, dim)) == SD_OK) {
    /* checked first: gather_run's message would read the broadcast view */
    sd_tensor *v = index_broadcast(I, dim, t->ndim, shape);
    if (v) out = gather_run("index_select", t, dim, v);
    sd_release(v);
  }
  sd_release(I);
  return out;
}

/* --- scatter --- */

static inline void add_elem(sd_dtype dt, char *d, const char *s) {
  switch (dt) {
  case SD_F32: *(float *)d += *(const float *)s; break;
  case SD_F64: *(double *)d += *(const double *)s; break;
  case SD_I32: *(int32_t *)d = (int32_t)((uint32_t)*(int32_t *)d + (uint32_t)*(const int32_t *)s); break;
  case SD_I64: *(int64_t *)d = (int64_t)((uint64_t)*(int64_t *)d + (uint64_t)*(const int64_t *)s); break;
  case SD_U8: *(uint8_t *)d += *(const uint8_t *)s; break;
  default: *(uint8_t *)d = *(uint8_t *)d || *(const uint8_t *)s; break;
  }
}

/* p: destination base (dim stride 0), index, source. */
static inline void scatter_es(char **p, const int64_t *bs, int64_t n, int64_t dbs, size_t es) {
  char *d = p[0];
  const char *ix = p[1], *s = p[2];
  int64_t sd = bs[0], si = bs[1], ss = bs[2];
  for (int64_t i = 0; i < n; i++, d += sd, ix += si, s += ss)
    put(d + (*(const int64_t *)ix - 1) * dbs, s, es);
}

static void scatter_loop(char **p, const int64_t *bs, int64_t n, void *v) {
  const gctx *c = v;
  switch (c->es) {
  case 1: scatter_es(p, bs, n, c->dbs, 1); break;
  case 4: scatter_es(p, bs, n, c->dbs, 4); break;
  default: scatter_es(p, bs, n, c->dbs, 8); break;
  }
}

static inline void scatter_add_dt(char **p, const int64_t *bs, int64_t n, int64_t dbs, sd_dtype dt) {
  char *d = p[0];
  const char *ix = p[1], *s = p[2];
  int64_t sd = bs[0], si = bs[1], ss = bs[2];
  for (int64_t i = 0; i < n; i++, d += sd, ix += si, s += ss)
    add_elem(dt, d + (*(const int64_t *)ix - 1) * dbs, s);
}

/* The same within one contiguous row (dim is the last dim): typed, so
   the loop is a load, an add and a store. */
#define SCATTER_ADD_ROW(T)                                               \
  do {                                                                   \
    T *d = (T *)p[0];                                                    \
    const int64_t *ix = (const int64_t *)p[1];                           \
    const T *s = (const T *)p[2];                                        \
    for (int64_t i = 0; i < n; i++) d[ix[i] - 1] += s[i];                \
  } while (0)

static void scatter_add_loop(char **p, const int64_t *bs, int64_t n, void *v) {
  const gctx *c = v;
  if (bs[0] == 0 && bs[1] == 8 && bs[2] == (int64_t)c->es && c->dbs == (int64_t)c->es &&
      (c->dt == SD_F32 || c->dt == SD_F64)) {
    if (c->dt == SD_F32) SCATTER_ADD_ROW(float);
    else SCATTER_ADD_ROW(double);
    return;
  }
  switch (c->dt) { /* a constant dtype per call: the switch leaves the loop */
  case SD_F32: scatter_add_dt(p, bs, n, c->dbs, SD_F32); break;
  case SD_F64: scatter_add_dt(p, bs, n, c->dbs, SD_F64); break;
  default: scatter_add_dt(p, bs, n, c->dbs, c->dt); break;
  }
}

typedef struct { sd_tensor *const *ops; int axis; sd_loop_fn fn; gctx *c; } scatpart;

static void scatter_part(int64_t b, int64_t e, void *v) {
  const scatpart *sp = v;
  walk_part(3, sp->ops, sp->axis, b, e, sp->fn, sp->c);
}

/* t[i with i_dim := I[i]] (+)= src[i] over I's shape, in row-major order,
   so repeated indices give the same result every run. Positions that
   differ in a dim other than dim write to different elements of a
   contiguous t: threads take ranges of the outermost such dim, and each
   element still sees its writes in row-major order. src must have I's
   shape (a view is fine); it is converted to t's dtype. */
static sd_status scatter_run(sd_tensor *t, int dim, sd_tensor *I, const sd_tensor *src, bool add) {
  sd_tensor *s = sd_to_dtype(src, t->dtype);
  if (s && s->storage == t->storage) { /* reading what we write: copy first */
    sd_tensor *c = sd_clone(s);
    sd_release(s);
    s = c;
  }
  sd_tensor *base = s ? dim_base(t, dim, I->ndim, I->shape) : NULL;
  if (!base) { sd_release(s); return SD_EMEM; }
  gctx c = {t->ndim ? t->stride[dim] * (int64_t)sd_dtype_size(t->dtype) : 0, dim_size(t, dim),
            sd_dtype_size(t->dtype), t->dtype, 0};
  sd_tensor *ops[3] = {base, I, s};
  scatpart sp = {ops, -1, add ? scatter_add_loop : scatter_loop, &c};
  for (int d = 0; d < I->ndim && sp.axis < 0 && sd_is_contiguous(t); d++)
    if (d != dim && I->shape[d] > 1) sp.axis = d;
  if (sp.axis < 0) {
    walk(3, ops, sp.fn, &c);
  } else {
    int64_t per = sd_numel(I) / I->shape[sp.axis];
    sd_parallel_for(I->shape[sp.axis], 32768 / (per + 1) + 1, scatter_part, &sp);
  }
  sd_release(base);
  sd_release(s);
  sd_bump_version(t);
  return SD_OK;
}

static sd_status scatter(const char *fn, sd_tensor *t, int dim, const sd_tensor *idx,
                         const sd_tensor *src, bool add) {
  char a[128], b[128];
  if (sd_norm_dim(t, &dim, fn)) return SD_EARG;
  if (idx->ndim != t->ndim)
    return sd_error(SD_ESHAPE, "%s: index %s and self %s must have the same number of dims", fn,
                    shp(idx, a), shp(t, b));
  for (int d = 0; d < t->ndim; d++)
    if (d != dim && idx->shape[d] > t->shape[d])
      return sd_error(SD_ESHAPE, "%s: index %s is larger than self %s in dim %d", fn, shp(idx, a),
                      shp(t, b), d + 1);
  sd_tensor *sv;
  if (src->ndim == 0) {
    sv = sd_expand(src, idx->ndim, idx->shape);
  } else {
    if (src->ndim != idx->ndim)
      return sd_error(SD_ESHAPE, "%s: src %s and index %s must have the same number of dims", fn,
                      shp(src, a), shp(idx, b));
    for (int d = 0; d < idx->ndim; d++)
      if (idx->shape[d] > src->shape[d])
        return sd_error(SD_ESHAPE, "%s: index %s is larger than src %s in dim %d", fn,
                        shp(idx, a), shp(src, b), d + 1);
    sv = sd_as_strided(src, idx->ndim, idx->shape, src->stride, src->offset);
  }
  if (!sv) return SD_EMEM;
  sd_tensor *I = index_arg(fn, idx);
  if (!I || index_check(fn, I, dim, dim_size(t, dim))) { sd_release(I); sd_release(sv); return SD_EARG; }
  sd_status st = scatter_run(t, dim, I, sv, add);
  sd_release(I);
  sd_release(sv);
  return st;
}

sd_status sd_scatter_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src) {
  return scatter("scatter", t, dim, idx, src, false);
}

sd_status sd_scatter_add_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src) {
  return scatter("scatter_add", t, dim, idx, src, true);
}

/* The index_* ops: a 1-d index broadcast over the other dims of src. */
static sd_status index_scatter(const char *fn, sd_tensor *t, int dim, const sd_tensor *idx,
                               const sd_tensor *src, bool add, bool value) {
  char a[128], b[128];
  if (sd_norm_dim(t, &dim, fn) || check_1d_index(fn, idx)) return SD_EARG;
  int64_t k = sd_numel(idx), shape[SD_MAXDIM];
  for (int d = 0; d < t->ndim; d++) shape[d] = d == dim ? k : t->shape[d];
  sd_tensor *sv;
  if (value) {
    sv = sd_expand(src, t->ndim, shape);
  } else {
    bool ok = src->ndim == t->ndim || (t->ndim == 0 && src->ndim == 1 && k == 1);
    for (int d = 0; ok && d < t->ndim; d++) ok = src->shape[d] == shape[d];
    if (!ok || (t->ndim == 0 && k != 1))
      return sd_error(SD_ESHAPE, "%s: source %s does not match self %s with %lld indices in dim %d",
                      fn, shp(src, a), shp(t, b), (long long)k, dim + 1);
    sv = sd_as_strided(src, t->ndim, shape, src->stride, src->offset);
  }
  if (!sv) return SD_EMEM;
  sd_tensor *I = index_arg(fn, idx);
  if (I && index_check(fn, I, dim, dim_size(t, dim))) { sd_release(I); I = NULL; }
  sd_tensor *v = I ? index_broadcast(I, dim, t->ndim, shape) : NULL;
  sd_status st = v ? scatter_run(t, dim, v, sv, add) : SD_EARG;
  sd_release(v);
  sd_release(I);
  sd_release(sv);
  return st;
}

sd_status sd_index_add_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src) {
  return index_scatter("index_add", t, dim, idx, src, true, false);
}

sd_status sd_index_copy_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src) {
  return index_scatter("index_copy", t, dim, idx, src, false, false);
}

sd_status sd_index_fill_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *value) {
  if (sd_numel(value) != 1 || value->ndim > 0)
    return sd_error(SD_EARG, "index_fill: the value must be a number or a 0-d tensor");
  return index_scatter("index_fill", t, dim, idx, value, false, true);
}

/* --- masks --- */

static sd_status check_mask(const char *fn, const sd_tensor *mask) {
  if (mask->dtype != SD_BOOL)
    return sd_error(SD_EARG, "%s: argument 'mask' must be a bool tensor, got %s", fn,
                    sd_dtype_name(mask->dtype));
  return SD_OK;
}

static void count_loop(char **p, const int64_t *bs, int64_t n, void *v) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; i++) c += *(const uint8_t *)(p[0] + i * bs[0]) != 0;
  *(int64_t *)v += c;
}

typedef struct { char *out; size_t es; } selmask;

static void select_loop(char **p, const int64_t *bs, int64_t n, void *v) {
  selmask *c = v;
  for (int64_t i = 0; i < n; i++)
    if (*(const uint8_t *)(p[1] + i * bs[1])) { put(c->out, p[0] + i * bs[0], c->es); c->out += c->es; }
}

/* masked_select of a contiguous t and mask: blocks of SD_BLOCK elements
   are counted, then each is packed at its offset, so threads can take
   blocks. A block is packed branch-free into a local buffer (writing every
   element, advancing past the selected ones), then copied out. */
typedef struct { const char *x; const uint8_t *m; char *out; int64_t n, *off; size_t es; } packctx;

SD_KERNEL static void count_blocks(int64_t b, int64_t e, void *v) {
  packctx *c = v;
  for (int64_t k = b; k < e; k++) {
    int64_t i1 = (k + 1) * SD_BLOCK < c->n ? (k + 1) * SD_BLOCK : c->n, count = 0;
    for (int64_t i = k * SD_BLOCK; i < i1; i++) count += c->m[i] != 0;
    c->off[k + 1] = count;
  }
}

#define PACK(T)                                                                  \
  do {                                                                           \
    const T *x = (const T *)c->x + i0;                                           \
    T buf[SD_BLOCK];                                                             \
    int64_t j = 0;                                                               \
    for (int64_t i = 0; i < len; i++) { buf[j] = x[i]; j += m[i] != 0; }         \
    memcpy((T *)c->out + c->off[k], buf, (size_t)j * sizeof(T));                 \
  } while (0)

SD_KERNEL static void pack_blocks(int64_t b, int64_t e, void *v) {
  packctx *c = v;
  for (int64_t k = b; k < e; k++) {
    int64_t i0 = k * SD_BLOCK, len = c->n - i0 < SD_BLOCK ? c->n - i0 : SD_BLOCK;
    const uint8_t *m = c->m + i0;
    switch (c->es) {
    case 1: PACK(uint8_t); break;
    case 4: PACK(uint32_t); break;
    default: PACK(uint64_t); break;
    }
  }
}

static sd_tensor *masked_select_dense(const sd_tensor *t, const sd_tensor *mask) {
  int64_t n = sd_numel(t), nb = (n + SD_BLOCK - 1) / SD_BLOCK;
  packctx c = {sd_data(t), sd_data(mask), NULL, n, calloc((size_t)nb + 1, sizeof(int64_t)),
               sd_dtype_size(t->dtype)};
  if (!c.off) { sd_error(SD_EMEM, "masked_select: out of memory"); return NULL; }
  sd_parallel_for(nb, 4, count_blocks, &c);
  for (int64_t k = 0; k < nb; k++) c.off[k + 1] += c.off[k];
  sd_tensor *out = sd_empty(t->dtype, 1, &c.off[nb]);
  if (out) {
    c.out = sd_data(out);
    sd_parallel_for(nb, 4, pack_blocks, &c);
  }
  free(c.off);
  return out;
}

sd_tensor *sd_masked_select(const sd_tensor *t, const sd_tensor *mask) {
  char a[128], b[128];
  int64_t shape[SD_MAXDIM];
  int nd;
  if (check_mask("masked_select", mask)) return NULL;
  if (sd_broadcast_shape(t->ndim, t->shape, mask->ndim, mask->shape, &nd, shape) != SD_OK) {
    sd_error(SD_ESHAPE, "masked_select: mask %s does not broadcast with input %s", shp(mask, a),
             shp(t, b));
    return NULL;
  }
  sd_tensor *te = sd_expand(t, nd, shape), *me = te ? sd_expand(mask, nd, shape) : NULL;
  sd_tensor *out = NULL;
  if (me && sd_is_contiguous(te) && sd_is_contiguous(me)) {
    out = masked_select_dense(te, me);
  } else if (me) {
    int64_t count = 0;
    walk(1, &me, count_loop, &count);
    out = sd_empty(t->dtype, 1, &count);
    if (out) {
      selmask c = {sd_data(out), sd_dtype_size(t->dtype)};
      sd_tensor *ops[2] = {te, me};
      walk(2, ops, select_loop, &c);
    }
  }
  sd_release(me);
  sd_release(te);
  return out;
}

typedef struct { _Alignas(8) char val[8]; size_t es; } fillmask;

static void fill_loop(char **p, const int64_t *bs, int64_t n, void *v) {
  const fillmask *c = v;
  for (int64_t i = 0; i < n; i++)
    if (*(const uint8_t *)(p[1] + i * bs[1])) put(p[0] + i * bs[0], c->val, c->es);
}

sd_status sd_masked_fill_(sd_tensor *t, const sd_tensor *mask, const sd_tensor *value) {
  char a[128], b[128];
  if (check_mask("masked_fill", mask)) return SD_EARG;
  if (sd_numel(value) != 1)
    return sd_error(SD_EARG, "masked_fill: the value must be a number or a one-element tensor");
  sd_tensor *me = sd_expand(mask, t->ndim, t->shape);
  if (!me)
    return sd_error(SD_ESHAPE, "masked_fill: mask %s does not broadcast to %s", shp(mask, a),
                    shp(t, b));
  fillmask c = {{0}, sd_dtype_size(t->dtype)};
  sd_tensor *one = sd_empty(t->dtype, 0, NULL), *v0 = one ? sd_reshape(value, 0, NULL) : NULL;
  sd_status st = v0 ? sd_copy_(one, v0) : SD_EMEM;
  sd_release(v0);
  if (st == SD_OK) {
    memcpy(c.val, sd_data(one), c.es);
    sd_tensor *ops[2] = {t, me};
    st = sd_foreach(2, ops, fill_loop, &c);
    sd_bump_version(t);
  }
  sd_release(one);
  sd_release(me);
  return st;
}

static bool nonzero_at(sd_dtype dt, const char *p) {
  switch (dt) {
  case SD_F32: return *(const float *)p != 0;
  case SD_F64: return *(const double *)p != 0;
  case SD_I32: return *(const int32_t *)p != 0;
  case SD_I64: return *(const int64_t *)p != 0;
  default: return *(const uint8_t *)p != 0;
  }
}

sd_tensor *sd_nonzero(const sd_tensor *t) {
  sd_tensor *c = sd_contiguous(t);
  if (!c) return NULL;
  int64_t n = sd_numel(c), count = 0, pos[SD_MAXDIM] = {0};
  size_t es = sd_dtype_size(c->dtype);
  const char *p = sd_data(c);
  for (int64_t i = 0; i < n; i++) count += nonzero_at(c->dtype, p + i * es);
  int64_t shape[2] = {count, t->ndim};
  sd_tensor *out = sd_empty(SD_I64, 2, shape);
  if (out) {
    int64_t *o = sd_data(out);
    for (int64_t i = 0; i < n; i++) {
      if (nonzero_at(c->dtype, p + i * es))
        for (int d = 0; d < t->ndim; d++) *o++ = pos[d] + 1;
      for (int d = t->ndim - 1; d >= 0 && ++pos[d] == t->shape[d]; d--) pos[d] = 0;
    }
  }
  sd_release(c);
  return out;
}

/* --- joining --- */

static bool skipped_in_cat(const sd_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

sd_tensor *sd_cat(int n, sd_tensor *const *ts, int dim) {
  char a[128], b[128];
  if (n < 1) { sd_error(SD_EARG, "cat: expects at least one tensor"); return NULL; }
  const sd_tensor *ref = NULL;
  sd_dtype dt = ts[0]->dtype;
  for (int i = 0; i < n; i++) {
    dt = sd_dtype_promote(dt, ts[i]->dtype);
    if (ts[i]->ndim == 0) {
      sd_error(SD_ESHAPE, "cat: tensor %d is 0-d and cannot be concatenated", i + 1);
      return NULL;
    }
    if (!ref && !skipped_in_cat(ts[i])) ref = ts[i];
  }
  if (!ref) { int64_t zero = 0; return sd_empty(dt, 1, &zero); }
  if (sd_norm_dim(ref, &dim, "cat")) return NULL;
  int64_t shape[SD_MAXDIM], total = 0;
  for (int i = 0; i < n; i++) {
    const sd_tensor *t = ts[i];
    if (skipped_in_cat(t)) continue;
    bool ok = t->ndim == ref->ndim;
    for (int d = 0; ok && d < t->ndim; d++) ok = d == dim || t->shape[d] == ref->shape[d];
    if (!ok) {
      sd_error(SD_ESHAPE, "cat: tensor %d has shape %s, tensor 1 has %s (sizes must match except in dim %d)",
               i + 1, shp(t, a), shp(ref, b), dim + 1);
      return NULL;
    }
    total += t->shape[dim];
  }
  for (int d = 0; d < ref->ndim; d++) shape[d] = d == dim ? total : ref->shape[d];
  sd_tensor *out = sd_empty(dt, ref->ndim, shape);
  int64_t at = 0;
  for (int i = 0; out && i < n; i++) {
    if (skipped_in_cat(ts[i])) continue;
    sd_tensor *part = sd_narrow(out, dim, at, ts[i]->shape[dim]);
    sd_status st = part ? sd_copy_(part, ts[i]) : SD_EMEM;
    sd_release(part);
    if (st != SD_OK) { sd_release(out); return NULL; }
    at += ts[i]->shape[dim];
  }
  return out;
}

sd_tensor *sd_stack(int n, sd_tensor *const *ts, int dim) {
  char a[128], b[128];
  if (n < 1) { sd_error(SD_EARG, "stack: expects at least one tensor"); return NULL; }
  int nd = ts[0]->ndim;
  if (dim < 0) dim += nd + 1;
  if (dim < 0 || dim > nd) {
    sd_error(SD_EARG, "stack: dim %d out of range for %d-d tensors", dim + 1, nd);
    return NULL;
  }
  for (int i = 1; i < n; i++)
    if (!sd_same_shape(ts[i], ts[0])) {
      sd_error(SD_ESHAPE, "stack: tensor %d has shape %s, tensor 1 has %s (all must match)", i + 1,
               shp(ts[i], a), shp(ts[0], b));
      return NULL;
    }
  sd_tensor **us = calloc((size_t)n, sizeof *us);
  if (!us) { sd_error(SD_EMEM, "out of memory"); return NULL; }
  sd_tensor *out = NULL;
  int i = 0;
  for (; i < n; i++) if (!(us[i] = sd_unsqueeze(ts[i], dim))) break;
  if (i == n) out = sd_cat(n, us, dim);
  while (i-- > 0) sd_release(us[i]);
  free(us);
  return out;
}

int64_t sd_split_sizes(int64_t len, int64_t size, int64_t *sizes) {
  int64_t n = 0;
  for (int64_t at = 0; at < len; at += size) sizes[n++] = len - at < size ? len - at : size;
  if (n == 0) sizes[n++] = 0;
  return n;
}

int64_t sd_chunk_sizes(int64_t len, int64_t n, int64_t *sizes) {
  return sd_split_sizes(len, len ? (len + n - 1) / n : 1, sizes);
}

sd_tensor *sd_one_hot(const sd_tensor *labels, int64_t num_classes, sd_dtype dt) {
  if (sd_dtype_is_float(labels->dtype) || labels->dtype == SD_BOOL) {
    sd_error(SD_EARG, "one_hot: labels must be an integer tensor, got %s", sd_dtype_name(labels->dtype));
    return NULL;
  }
  if (labels->ndim == SD_MAXDIM) { sd_error(SD_ESHAPE, "one_hot: labels have too many dims"); return NULL; }
  sd_tensor *c = sd_to_dtype(labels, SD_I64), *l = c ? sd_contiguous(c) : NULL;
  sd_release(c);
  if (!l) return NULL;
  const int64_t *v = sd_data(l);
  int64_t n = sd_numel(l);
  if (num_classes < 0) {
    if (n == 0) {
      sd_release(l);
      sd_error(SD_EARG, "one_hot: cannot infer the number of classes from empty labels");
      return NULL;
    }
    num_classes = 0;
    for (int64_t i = 0; i < n; i++) if (v[i] > num_classes) num_classes = v[i];
  }
  for (int64_t i = 0; i < n; i++)
    if (v[i] < 1 || v[i] > num_classes) {
      sd_error(SD_EARG, "one_hot: label %lld out of range 1..%lld", (long long)v[i],
               (long long)num_classes);
      sd_release(l);
      return NULL;
    }
  int64_t shape[SD_MAXDIM];
  memcpy(shape, labels->shape, sizeof(int64_t) * (size_t)labels->ndim);
  shape[labels->ndim] = num_classes;
  sd_tensor *out = sd_zeros(dt, labels->ndim + 1, shape);
  if (out) {
    char *o = sd_data(out);
    size_t es = sd_dtype_size(dt);
    for (int64_t i = 0; i < n; i++) sd_set_ptr(dt, o + (size_t)(i * num_classes + v[i] - 1) * es, 1);
  }
  sd_release(l);
  return out;
}

/* --- rearranging --- */

/* dims normalised in place, each at most once. */
static sd_status norm_dims(const char *fn, const sd_tensor *t, int n, int *dims) {
  int seen[SD_MAXDIM] = {0};
  for (int i = 0; i < n; i++) {
    if (sd_norm_dim(t, &dims[i], fn)) return SD_EARG;
    if (seen[dims[i]]++) return sd_error(SD_EARG, "%s: dim %d given twice", fn, dims[i] + 1);
  }
  return SD_OK;
}

sd_tensor *sd_flip(const sd_tensor *t, int ndims, const int *dims) {
  int d[SD_MAXDIM];
  if (ndims > SD_MAXDIM) { sd_error(SD_EARG, "flip: too many dims"); return NULL; }
  memcpy(d, dims, sizeof(int) * (size_t)ndims);
  if (norm_dims("flip", t, ndims, d)) return NULL;
  if (t->ndim == 0) return sd_clone(t);
  /* a view walking the flipped dims backwards, then a copy of it */
  sd_tensor *v = sd_alias(t);
  if (!v) return NULL;
  for (int i = 0; i < ndims; i++) {
    if (t->shape[d[i]] == 0) continue;
    v->offset += (t->shape[d[i]] - 1) * v->stride[d[i]];
    v->stride[d[i]] = -v->stride[d[i]];
  }
  sd_tensor *out = sd_clone(v);
  sd_release(v);
  return out;
}

/* dst[...] = src for same dtype and shape, which must not overlap. */
static void copy_run(char **p, const int64_t *bs, int64_t n, void *v) {
  size_t es = *(const size_t *)v;
  if (bs[0] == (int64_t)es && bs[1] == (int64_t)es) { memcpy(p[0], p[1], (size_t)n * es); return; }
  for (int64_t i = 0; i < n; i++) put(p[0] + i * bs[0], p[1] + i * bs[1], es);
}

static sd_status copy_disjoint(sd_tensor *dst, sd_tensor *src) {
  size_t es = sd_dtype_size(dst->dtype);
  sd_tensor *ops[2] = {dst, src};
  return sd_foreach(2, ops, copy_run, &es);
}

/* out = t rolled by s along dim: two block copies. */
static sd_tensor *roll1(const sd_tensor *t, int64_t s, int dim) {
  int64_t n = t->shape[dim];
  sd_tensor *out = sd_empty(t->dtype, t->ndim, t->shape);
  if (!out || n == 0) return out;
  s = ((s % n) + n) % n;
  sd_tensor *a = sd_narrow(t, dim, n - s, s), *b = sd_narrow(out, dim, 0, s);
  sd_tensor *c = sd_narrow(t, dim, 0, n - s), *e = sd_narrow(out, dim, s, n - s);
  sd_status st = a && b && c && e ? copy_disjoint(b, a) : SD_EMEM;
  if (st == SD_OK) st = copy_disjoint(e, c);
  sd_release(a); sd_release(b); sd_release(c); sd_release(e);
  if (st != SD_OK) { sd_release(out); return NULL; }
  return out;
}

sd_tensor *sd_roll(const sd_tensor *t, int ndims, const int64_t *shifts, const int *dims) {
  int d[SD_MAXDIM];
  if (ndims == 0) {
    int64_t flat = sd_numel(t);
    sd_tensor *f = sd_reshape(t, 1, &flat), *r = f ? roll1(f, shifts[0], 0) : NULL;
    sd_tensor *out = r ? sd_view(r, t->ndim, t->shape) : NULL;
    sd_release(f);
    sd_release(r);
    return out;
  }
  if (ndims > SD_MAXDIM) { sd_error(SD_EARG, "roll: too many dims"); return NULL; }
  if (t->ndim == 0) { sd_error(SD_EARG, "roll: cannot roll a 0-d tensor along a dim"); return NULL; }
  memcpy(d, dims, sizeof(int) * (size_t)ndims);
  for (int i = 0; i < ndims; i++) if (sd_norm_dim(t, &d[i], "roll")) return NULL;
  sd_tensor *cur = sd_retain((sd_tensor *)t);
  for (int i = 0; cur && i < ndims; i++) {
    sd_tensor *next = roll1(cur, shifts[i], d[i]);
    sd_release(cur);
    cur = next;
  }
  return cur;
}

sd_tensor *sd_repeat(const sd_tensor *t, int nreps, const int64_t *reps) {
  if (nreps < t->ndim || nreps > SD_MAXDIM) {
    sd_error(SD_EARG, "repeat: %d repeat counts for a %d-d tensor (need %d to %d)", nreps,
             t->ndim, t->ndim, SD_MAXDIM);
    return NULL;
  }
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM], out_sh[SD_MAXDIM];
  int lead = nreps - t->ndim;
  for (int i = 0; i < nreps; i++) {
    if (reps[i] < 0) { sd_error(SD_EARG, "repeat: count %lld is negative", (long long)reps[i]); return NULL; }
    sh[i] = i < lead ? 1 : t->shape[i - lead];
    st[i] = i < lead ? 0 : t->stride[i - lead];
    out_sh[i] = sh[i] * reps[i];
  }
  sd_tensor *src = sd_as_strided(t, nreps, sh, st, t->offset);
  sd_tensor *out = src ? sd_empty(t->dtype, nreps, out_sh) : NULL;
  if (!out || sd_numel(out) == 0) { sd_release(src); return out; }
  /* block 0 from t; then along each dim, copies of what is filled so far */
  sd_tensor *filled = sd_as_strided(out, nreps, sh, out->stride, 0);
  sd_status s = filled ? copy_disjoint(filled, src) : SD_EMEM;
  for (int d = 0; s == SD_OK && d < nreps; d++) {
    for (int64_t j = 1; s == SD_OK && j < reps[d]; j++) {
      sd_tensor *to = sd_as_strided(out, nreps, filled->shape, filled->stride,
                                    j * sh[d] * out->stride[d]);
      s = to ? copy_disjoint(to, filled) : SD_EMEM;
      sd_release(to);
    }
    filled->shape[d] = out_sh[d];
  }
  sd_release(filled);
  sd_release(src);
  if (s != SD_OK) { sd_release(out); return NULL; }
  return out;
}

static sd_tensor *triangle(const char *fn, const sd_tensor *t, int64_t k, bool lower) {
  if (t->ndim < 2) {
    sd_error(SD_EARG, "%s: expects a tensor with at least 2 dims, got %d", fn, t->ndim);
    return NULL;
  }
  sd_tensor *out = sd_empty(t->dtype, t->ndim, t->shape);
  if (!out) return NULL;
  if (sd_copy_(out, t) != SD_OK) { sd_release(out); return NULL; }
  int64_t R = t->shape[t->ndim - 2], C = t->shape[t->ndim - 1], rows = C ? sd_numel(t) / C : 0;
  size_t es = sd_dtype_size(t->dtype);
  char *p = sd_data(out);
  for (int64_t r = 0; r < rows; r++) {
    int64_t i = r % R, a, b; /* zero columns a..b-1 of this row */
    if (lower) { a = i + k + 1; b = C; }
    else { a = 0; b = i + k; }
    a = a < 0 ? 0 : a > C ? C : a;
    b = b < 0 ? 0 : b > C ? C : b;
    if (a < b) memset(p + (size_t)(r * C + a) * es, 0, (size_t)(b - a) * es);
  }
  return out;
}

sd_tensor *sd_tril(const sd_tensor *t, int64_t k) { return triangle("tril", t, k, true); }
sd_tensor *sd_triu(const sd_tensor *t, int64_t k) { return triangle("triu", t, k, false); }

sd_tensor *sd_diagonal(const sd_tensor *t, int64_t k, int d1, int d2) {
  if (t->ndim < 2) {
    sd_error(SD_EARG, "diagonal: expects a tensor with at least 2 dims, got %d", t->ndim);
    return NULL;
  }
  if (sd_norm_dim(t, &d1, "diagonal") || sd_norm_dim(t, &d2, "diagonal")) return NULL;
  if (d1 == d2) { sd_error(SD_EARG, "diagonal: dims must differ, both are %d", d1 + 1); return NULL; }
  int64_t s1 = t->shape[d1], s2 = t->shape[d2], len, off = t->offset;
  len = k >= 0 ? (s1 < s2 - k ? s1 : s2 - k) : (s1 + k < s2 ? s1 + k : s2);
  if (len <= 0) len = 0;
  else off += k >= 0 ? k * t->stride[d2] : -k * t->stride[d1];
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  int n = 0;
  for (int d = 0; d < t->ndim; d++)
    if (d != d1 && d != d2) { sh[n] = t->shape[d]; st[n] = t->stride[d]; n++; }
  sh[n] = len;
  st[n] = t->stride[d1] + t->stride[d2];
  return sd_as_strided(t, n + 1, sh, st, off);
}

sd_tensor *sd_diag(const sd_tensor *t, int64_t k) {
  if (t->ndim == 2) {
    sd_tensor *v = sd_diagonal(t, k, 0, 1), *out = v ? sd_clone(v) : NULL;
    sd_release(v);
    return out;
  }
  if (t->ndim != 1) {
    sd_error(SD_EARG, "diag: expects a 1-d or 2-d tensor, got %d dims", t->ndim);
    return NULL;
  }
  int64_t m = t->shape[0] + (k < 0 ? -k : k), sh[2] = {m, m};
  sd_tensor *out = sd_zeros(t->dtype, 2, sh);
  sd_tensor *v = out ? sd_diagonal(out, k, 0, 1) : NULL;
  sd_status st = v ? sd_copy_(v, t) : SD_EMEM;
  sd_release(v);
  if (st != SD_OK) { sd_release(out); return NULL; }
  return out;
}
