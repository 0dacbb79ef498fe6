/* ops_reduce.c: reductions (sum, max, argmax, var, ...) and ops along one
   dim (cumsum, softmax). The input is made contiguous and seen as
   [outer, len, inner], reduced over len:
   - inner == 1 (the last dim, or all elements): each row is cut in fixed
     SD_BLOCK blocks, a block is reduced over 32 interleaved lanes, blocks
     are joined pairwise. Threads take (row, block) items, so the bits do
     not depend on the thread count;
   - inner > 1: walk the rows and accumulate into the output vector, rows
     joined in groups of SD_ROWGROUP; threads take chunks of columns.
   var, std, norm, logsumexp and mean are built from the basic reductions
   and elementwise ops. */
#include "ops.h"
#include "ops_simd.h"
#include "parallel.h"
#include <math.h>
#include <stdio.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LANES 32
#define CHUNK 256      /* columns per work item when inner > 1 */
#define PAR_WORK 16384 /* elements per thread below which threads do not pay */
/* Unrolled lane loops keep the lanes of a sum in vector registers (the
   compare-and-select of max/min and exp vectorize better rolled). */
#define UNROLL_LANES _Pragma("GCC unroll 32")
#define ROLLED

const char *const sd_redop_names[] = {
  "sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "var", "std", "norm",
  "logsumexp", "all", "any"};
_Static_assert(LEN(sd_redop_names) == SD_NREDOP, "a name for every reduction");

const char *const sd_dimop_names[] = {"cumsum", "cumprod", "softmax", "log_softmax"};
_Static_assert(LEN(sd_dimop_names) == SD_NDIMOP, "a name for every dim op");

typedef enum { K_SUM, K_PROD, K_MAX, K_MIN } kind;

typedef struct { int64_t outer, len, inner; } plan;

static plan plan_of(const sd_tensor *x, int dim) {
  plan p = {1, sd_numel(x), 1};
  if (dim == SD_NODIM || x->ndim == 0) return p;
  p.len = x->shape[dim];
  for (int i = 0; i < dim; i++) p.outer *= x->shape[i];
  for (int i = dim + 1; i < x->ndim; i++) p.inner *= x->shape[i];
  return p;
}

/* The result shape: dim dropped, or kept with size 1. */
static int out_shape(const sd_tensor *x, int dim, bool keepdim, int64_t *shape) {
  int n = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (dim == SD_NODIM || i == dim) {
      if (keepdim) shape[n++] = 1;
    } else {
      shape[n++] = x->shape[i];
    }
  }
  return n;
}

static int64_t grain(int64_t work_per_item) {
  return work_per_item >= PAR_WORK ? 1 : PAR_WORK / (work_per_item > 0 ? work_per_item : 1);
}

/* --- basic kernels: sum, prod, max, min --- */

/* One step of each kind; max and min propagate NaN (v != v is false for
   integers and folds away). Integer sums wrap. */
#define STEP_SUM(T, a, v) ((T)((a) + (v)))
#define STEP_ISUM(T, a, v) ((T)((uint64_t)(a) + (uint64_t)(v)))
#define STEP_IPROD(T, a, v) ((T)((uint64_t)(a) * (uint64_t)(v)))
#define STEP_PROD(T, a, v) ((T)((a) * (v)))
#define STEP_MAX(T, a, v) (((v) > (a)) | ((v) != (v)) ? (v) : (a))
#define STEP_MIN(T, a, v) (((v) < (a)) | ((v) != (v)) ? (v) : (a))
/* The shift of softmax may miss a NaN: it reaches every output through
   the sum anyway. */
#define STEP_SHIFT(T, a, v) ((v) > (a) ? (v) : (a))

/* acc[0] = the pairwise join of acc[0..LANES), unrolled as the lane loop
   (sums: so the lanes stay in registers; max and min: rolled, as only
   loops if-convert into vector selects). */
#define JOIN_STEP(acc, STEP, T, w, UNROLL) \
  UNROLL for (int j = 0; j < (w); j++) acc[j] = STEP(T, acc[j], acc[j + (w)]);
#define JOIN_LANES(acc, STEP, T, U)                                                   \
  do {                                                                                \
    JOIN_STEP(acc, STEP, T, 16, U) JOIN_STEP(acc, STEP, T, 8, U)                      \
    JOIN_STEP(acc, STEP, T, 4, U) JOIN_STEP(acc, STEP, T, 2, U)                       \
    JOIN_STEP(acc, STEP, T, 1, U)                                                     \
  } while (0)
_Static_assert(LANES == 32, "JOIN_LANES joins 32 lanes");

/* n >= 1 contiguous elements at src into *dst: short runs in one pass,
   long ones over LANES interleaved lanes joined pairwise. */
#define LANE_REDUCE(T, STEP, UNROLL, ID)                                      \
  do {                                                                        \
    const T *x_ = (const T *)src;                                             \
    T r_ = x_[0];                                                             \
    if (n < 2 * LANES) {                                                      \
      for (int64_t i = 1; i < n; i++) r_ = STEP(T, r_, x_[i]);                \
    } else {                                                                  \
      T acc[LANES];                                                           \
      int64_t i = ID_START(ID);                                               \
      UNROLL for (int j = 0; j < LANES; j++) acc[j] = ID_VALUE(T, ID, x_[j]);     \
      for (; i + LANES <= n; i += LANES) {                                    \
        UNROLL                                                                \
        for (int j = 0; j < LANES; j++) acc[j] = STEP(T, acc[j], x_[i + j]);  \
      }                                                                       \
      for (int j = 0; i + j < n; j++) acc[j] = STEP(T, acc[j], x_[i + j]);    \
      JOIN_LANES(acc, STEP, T, UNROLL);                                       \
      r_ = acc[0];                                                            \
    }                                                                         \
    *(T *)dst = r_;                                                           \
  } while (0)

/* Lanes start at the identity of the step (sum 0, prod 1: then every
   element goes through the vector loop), or at the first LANES elements
   (max, min). */
#define ID_START(ID) ((ID) == ID_FIRST ? LANES : 0)
#define ID_VALUE(T, ID, first) ((ID) == ID_FIRST ? (first) : (T)(ID))
#define ID_FIRST (-0.5) /* no identity: not a value an integer lane can hold */

/* Columns [0, n) of len rows with row stride `inner` into dst: rows are
   accumulated in groups, each group joined into dst. */
#define COL_REDUCE(T, STEP, UNROLL, ID)                                                      \
  do {                                                                           \
    const T *x_ = (const T *)src;                                                \
    T *o_ = (T *)dst, grp[CHUNK];                                                \
    for (int64_t r0 = 0; r0 < len; r0 += SD_ROWGROUP) {                          \
      int64_t r1 = r0 + SD_ROWGROUP < len ? r0 + SD_ROWGROUP : len;              \
      for (int64_t j = 0; j < n; j++) grp[j] = x_[r0 * inner + j];               \
      for (int64_t r = r0 + 1; r < r1; r++) {                                    \
        const T *row = x_ + r * inner;                                           \
        for (int64_t j = 0; j < n; j++) grp[j] = STEP(T, grp[j], row[j]);        \
      }                                                                          \
      if (r0 == 0) for (int64_t j = 0; j < n; j++) o_[j] = grp[j];               \
      else for (int64_t j = 0; j < n; j++) o_[j] = STEP(T, o_[j], grp[j]);       \
    }                                                                            \
  } while (0)

#define BY_KIND(MACRO, T, ISINT)                                                  \
  switch (k) {                                                                     \
  case K_SUM: if (ISINT) MACRO(T, STEP_ISUM, UNROLL_LANES, 0); else MACRO(T, STEP_SUM, UNROLL_LANES, 0); break; \
  case K_PROD: if (ISINT) MACRO(T, STEP_IPROD, UNROLL_LANES, 1); else MACRO(T, STEP_PROD, UNROLL_LANES, 1); break; \
  case K_MAX: MACRO(T, STEP_MAX, ROLLED, ID_FIRST); break;                         \
  case K_MIN: MACRO(T, STEP_MIN, ROLLED, ID_FIRST); break;                         \
  }

SD_KERNEL static void block_reduce(kind k, sd_dtype dt, const char *src, int64_t n, char *dst) {
  switch (dt) {
  case SD_F32: BY_KIND(LANE_REDUCE, float, 0); break;
  case SD_F64: BY_KIND(LANE_REDUCE, double, 0); break;
  default: BY_KIND(LANE_REDUCE, int64_t, 1); break;
  }
}

SD_KERNEL static void col_reduce(kind k, sd_dtype dt, const char *src, int64_t len,
                                 int64_t inner, int64_t n, char *dst) {
  switch (dt) {
  case SD_F32: BY_KIND(COL_REDUCE, float, 0); break;
  case SD_F64: BY_KIND(COL_REDUCE, double, 0); break;
  default: BY_KIND(COL_REDUCE, int64_t, 1); break;
  }
}

/* part[0] = the pairwise join of part[0..nb) */
static void join_pairwise(kind k, sd_dtype dt, char *part, int64_t nb) {
  size_t es = sd_dtype_size(dt);
  for (int64_t w = 1; w < nb; w *= 2)
    for (int64_t i = 0; i + w < nb; i += 2 * w) {
      char *a = part + i * es, *b = part + (i + w) * es;
      char pair[16];
      memcpy(pair, a, es);
      memcpy(pair + es, b, es);
      block_reduce(k, dt, pair, 2, a);
    }
}

typedef struct {
  kind k;
  sd_dtype dt;
  const char *x;
  char *dst; /* partials (inner == 1) or the output (inner > 1) */
  plan p;
  int64_t nb, nchunk;
} redctx;

static void row_items(int64_t b, int64_t e, void *v) {
  const redctx *c = v;
  size_t es = sd_dtype_size(c->dt);
  for (int64_t it = b; it < e; it++) {
    int64_t r = it / c->nb, start = it % c->nb * SD_BLOCK;
    int64_t n = c->p.len - start < SD_BLOCK ? c->p.len - start : SD_BLOCK;
    block_reduce(c->k, c->dt, c->x + (r * c->p.len + start) * (int64_t)es, n, c->dst + it * (int64_t)es);
  }
}

static void col_items(int64_t b, int64_t e, void *v) {
  const redctx *c = v;
  int64_t es = (int64_t)sd_dtype_size(c->dt), inner = c->p.inner;
  for (int64_t it = b; it < e; it++) {
    int64_t o = it / c->nchunk, j0 = it % c->nchunk * CHUNK;
    int64_t n = inner - j0 < CHUNK ? inner - j0 : CHUNK;
    col_reduce(c->k, c->dt, c->x + (o * c->p.len * inner + j0) * es, c->p.len, inner, n,
               c->dst + (o * inner + j0) * es);
  }
}

/* out (contiguous, outer*inner elements of x's dtype) = reduction of the
   contiguous x over plan p, len >= 1. */
static sd_status reduce_into(kind k, const sd_tensor *x, plan p, sd_tensor *out) {
  redctx c = {k, x->dtype, sd_data(x), sd_data(out), p, 0, 0};
  if (p.outer * p.inner == 0) return SD_OK;
  if (p.inner > 1) {
    c.nchunk = (p.inner + CHUNK - 1) / CHUNK;
    sd_parallel_for(p.outer * c.nchunk, grain(p.len * CHUNK), col_items, &c);
    return sd_check_interrupt();
  }
  c.nb = (p.len + SD_BLOCK - 1) / SD_BLOCK;
  sd_tensor *part = NULL;
  if (c.nb > 1) {
    int64_t np = p.outer * c.nb;
    part = sd_empty(x->dtype, 1, &np);
    if (!part) return SD_EMEM;
    c.dst = sd_data(part);
  }
  sd_parallel_for(p.outer * c.nb, grain(p.len < SD_BLOCK ? p.len : SD_BLOCK), row_items, &c);
  if (part) {
    size_t es = sd_dtype_size(x->dtype);
    for (int64_t r = 0; r < p.outer; r++) {
      char *pr = (char *)sd_data(part) + r * c.nb * (int64_t)es;
      join_pairwise(k, x->dtype, pr, c.nb);
      memcpy((char *)sd_data(out) + r * (int64_t)es, pr, es);
    }
    sd_release(part);
  }
  return sd_check_interrupt();
}

/* x converted to dt, contiguous: a new reference. */
static sd_tensor *contiguous_as(const sd_tensor *x, sd_dtype dt) {
  sd_tensor *c = sd_to_dtype(x, dt);
  if (!c) return NULL;
  sd_tensor *r = sd_contiguous(c);
  sd_release(c);
  return r;
}

static sd_tensor *reduce_basic(kind k, const sd_tensor *x, int dim, bool keepdim, const char *fn) {
  int64_t shape[SD_MAXDIM];
  int nd = out_shape(x, dim, keepdim, shape);
  plan p = plan_of(x, dim);
  bool isfloat = sd_dtype_is_float(x->dtype);
  sd_dtype dt = isfloat ? x->dtype : SD_I64;
  sd_dtype odt = k == K_SUM || k == K_PROD ? dt : x->dtype;
  if (p.len == 0 && (k == K_MAX || k == K_MIN) && p.outer * p.inner > 0) {
    sd_error(SD_EARG, "%s: cannot reduce over an empty dim", fn);
    return NULL;
  }
  sd_tensor *xc = contiguous_as(x, dt);
  sd_tensor *out = xc ? sd_empty(dt, nd, shape) : NULL;
  sd_status st = out ? SD_OK : SD_EMEM;
  if (st == SD_OK)
    st = p.len == 0 ? sd_fill_(out, k == K_PROD) : reduce_into(k, xc, p, out);
  sd_release(xc);
  if (st == SD_OK && odt != dt) {
    sd_tensor *o = sd_to_dtype(out, odt);
    sd_release(out);
    out = o;
  }
  if (st != SD_OK) { sd_release(out); return NULL; }
  return out;
}

/* reduce_basic of a temporary, released; NULL passes through. */
static sd_tensor *reduce_owned(kind k, sd_tensor *t, int dim, bool keepdim, const char *fn) {
  sd_tensor *r = t ? reduce_basic(k, t, dim, keepdim, fn) : NULL;
  sd_release(t);
  return r;
}

/* --- argmax / argmin with values --- */

#define BETTER_MAX(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))
#define BETTER_MIN(v, b) ((v) < (b) || ((v) != (v) && (b) == (b)))

/* Row scan: the extreme over lanes, as amax, then the first position
   holding it (a NaN if it is one), looked for a block of LANES at a time
   so both passes vectorize. The value is read back at that position (the
   lanes may have met -0 before 0). */
#define ARG_ROW(T, STEP)                                                     \
  do {                                                                       \
    const T *x_ = (const T *)src;                                            \
    int64_t n = len;                                                         \
    T m;                                                                     \
    {                                                                        \
      char *dst = (char *)&m;                                                \
      LANE_REDUCE(T, STEP, ROLLED, ID_FIRST);                                \
    }                                                                        \
    int64_t i = 0;                                                           \
    if (m == m) {                                                            \
      for (; i + LANES <= n; i += LANES) {                                   \
        int hit = 0;                                                         \
        for (int j = 0; j < LANES; j++) hit |= x_[i + j] == m;               \
        if (hit) break;                                                      \
      }                                                                      \
      while (x_[i] != m) i++;                                                \
    } else {                                                                 \
      while (x_[i] == x_[i]) i++;                                            \
    }                                                                        \
    *(T *)val = x_[i];                                                       \
    *idx = i + 1;                                                            \
  } while (0)

#define ARG_COL(T, BETTER)                                                   \
  do {                                                                       \
    const T *x_ = (const T *)src;                                            \
    T *v_ = (T *)val;                                                        \
    for (int64_t j = 0; j < n; j++) { v_[j] = x_[j]; idx[j] = 1; }           \
    for (int64_t r = 1; r < len; r++)                                        \
      for (int64_t j = 0; j < n; j++) {                                      \
        T v = x_[r * inner + j];                                             \
        if (BETTER(v, v_[j])) { v_[j] = v; idx[j] = r + 1; }                 \
      }                                                                      \
  } while (0)

#define ARG_BY_DTYPE(MACRO, MAX, MIN)                                        \
  switch (dt) {                                                              \
  case SD_F32: if (ismax) MACRO(float, MAX); else MACRO(float, MIN); break;  \
  case SD_F64: if (ismax) MACRO(double, MAX); else MACRO(double, MIN); break; \
  default: if (ismax) MACRO(int64_t, MAX); else MACRO(int64_t, MIN); break;  \
  }

typedef struct { bool ismax; sd_dtype dt; const char *x; char *val; int64_t *idx; plan p; int64_t nchunk; } argctx;

SD_KERNEL static void arg_items(int64_t b, int64_t e, void *v) {
  const argctx *c = v;
  bool ismax = c->ismax;
  sd_dtype dt = c->dt;
  int64_t es = (int64_t)sd_dtype_size(dt), len = c->p.len, inner = c->p.inner;
  for (int64_t it = b; it < e; it++) {
    if (inner == 1) {
      const char *src = c->x + it * len * es;
      char *val = c->val + it * es;
      int64_t *idx = c->idx + it;
      ARG_BY_DTYPE(ARG_ROW, STEP_MAX, STEP_MIN);
    } else {
      int64_t o = it / c->nchunk, j0 = it % c->nchunk * CHUNK;
      int64_t n = inner - j0 < CHUNK ? inner - j0 : CHUNK;
      const char *src = c->x + (o * len * inner + j0) * es;
      char *val = c->val + (o * inner + j0) * es;
      int64_t *idx = c->idx + o * inner + j0;
      ARG_BY_DTYPE(ARG_COL, BETTER_MAX, BETTER_MIN);
    }
  }
}

sd_status sd_reduce_indexed(sd_redop op, const sd_tensor *x, int dim, bool keepdim,
                            sd_tensor **values, sd_tensor **indices) {
  const char *fn = op == SD_AMAX ? "max" : op == SD_AMIN ? "min" : sd_redop_names[op];
  int64_t shape[SD_MAXDIM];
  *values = *indices = NULL;
  if (op != SD_AMAX && op != SD_AMIN && op != SD_ARGMAX && op != SD_ARGMIN)
    return sd_error(SD_EARG, "reduce_indexed: op must be amax or amin");
  if (dim != SD_NODIM && sd_norm_dim(x, &dim, fn)) return SD_EARG;
  int nd = out_shape(x, dim, keepdim, shape);
  plan p = plan_of(x, dim);
  if (p.len == 0 && p.outer * p.inner > 0)
    return sd_error(SD_EARG, "%s: cannot reduce over an empty dim", fn);
  sd_dtype dt = sd_dtype_is_float(x->dtype) ? x->dtype : SD_I64;
  sd_tensor *xc = contiguous_as(x, dt);
  sd_tensor *val = xc ? sd_empty(dt, nd, shape) : NULL;
  sd_tensor *idx = val ? sd_empty(SD_I64, nd, shape) : NULL;
  if (!idx) { sd_release(xc); sd_release(val); return SD_EMEM; }
  argctx c = {op == SD_AMAX || op == SD_ARGMAX, dt, sd_data(xc), sd_data(val), sd_data(idx), p, 1};
  int64_t items = p.outer;
  if (p.inner > 1) { c.nchunk = (p.inner + CHUNK - 1) / CHUNK; items *= c.nchunk; }
  if (p.outer * p.inner > 0)
    sd_parallel_for(items, grain(p.len * (p.inner > 1 ? CHUNK : 1)), arg_items, &c);
  sd_release(xc);
  sd_status st = sd_check_interrupt();
  if (st == SD_OK && dt != x->dtype) {
    sd_tensor *v = sd_to_dtype(val, x->dtype);
    sd_release(val);
    val = v;
    if (!v) st = SD_EMEM;
  }
  if (st != SD_OK) { sd_release(val); sd_release(idx); return st; }
  *values = val;
  *indices = idx;
  return SD_OK;
}

/* --- composed reductions --- */

static int64_t reduced_count(const sd_tensor *x, int dim) {
  return dim == SD_NODIM || x->ndim == 0 ? sd_numel(x) : x->shape[dim];
}

/* t op= v for a scalar v, in place. */
static sd_status scalar_(sd_binop op, sd_tensor *t, double v) {
  sd_tensor *s = sd_scalar(t->dtype, v);
  if (!s) return SD_EMEM;
  sd_status st = sd_binary_(op, t, s);
  sd_release(s);
  return st;
}

/* Unary op applied in place to t, which is released on failure. */
static sd_tensor *then_unary(sd_tensor *t, sd_unop op) {
  if (t && sd_unary_(op, t) != SD_OK) { sd_release(t); return NULL; }
  return t;
}

/* binary op of two owned temporaries, both released. */
static sd_tensor *then_binary(sd_binop op, sd_tensor *a, sd_tensor *b) {
  sd_tensor *r = a && b ? sd_binary(op, a, b) : NULL;
  sd_release(a);
  sd_release(b);
  return r;
}

/* A keepdim result seen without the reduced dim(s). */
static sd_tensor *drop_dim(sd_tensor *t, const sd_tensor *x, int dim, bool keepdim) {
  if (!t || keepdim) return t;
  int64_t shape[SD_MAXDIM];
  int nd = out_shape(x, dim, false, shape);
  sd_tensor *r = sd_reshape(t, nd, shape);
  sd_release(t);
  return r;
}

static sd_tensor *mean(const sd_tensor *x, int dim, bool keepdim) {
  sd_tensor *s = reduce_basic(K_SUM, x, dim, keepdim, "mean");
  if (s && scalar_(SD_DIV, s, (double)reduced_count(x, dim)) != SD_OK) { sd_release(s); return NULL; }
  return s;
}

/* The sum of squared deviations from the mean over (count - correction). */
static sd_tensor *var(const sd_tensor *x, int dim, bool keepdim, double correction) {
  sd_tensor *m = mean(x, dim, true);
  sd_tensor *d = m ? sd_binary(SD_SUB, x, m) : NULL;
  sd_release(m);
  d = then_unary(d, SD_SQUARE);
  sd_tensor *s = reduce_owned(K_SUM, d, dim, keepdim, "var");
  double n = (double)reduced_count(x, dim) - correction;
  if (s && scalar_(SD_DIV, s, n > 0 ? n : 0) != SD_OK) { sd_release(s); return NULL; }
  return s;
}

/* p-norm: p = 2, 1, inf, -inf and 0 (count of nonzeros) take their
   own paths, any other p > 0 is (sum |x|^p)^(1/p). */
static sd_tensor *norm(const sd_tensor *x, int dim, bool keepdim, double p) {
  if (p == 2)
    return then_unary(reduce_owned(K_SUM, sd_unary(SD_SQUARE, x), dim, keepdim, "norm"), SD_SQRT);
  if (p == 0) {
    sd_tensor *zero = sd_scalar(x->dtype, 0);
    sd_tensor *nz = then_binary(SD_NE, sd_retain((sd_tensor *)x), zero);
    sd_tensor *f = nz ? sd_to_dtype(nz, x->dtype) : NULL;
    sd_release(nz);
    return reduce_owned(K_SUM, f, dim, keepdim, "norm");
  }
  sd_tensor *a = sd_unary(SD_ABS, x);
  if (isinf(p)) return reduce_owned(p > 0 ? K_MAX : K_MIN, a, dim, keepdim, "norm");
  if (p == 1) return reduce_owned(K_SUM, a, dim, keepdim, "norm");
  sd_tensor *pw = a ? sd_scalar(x->dtype, p) : NULL;
  sd_tensor *s = reduce_owned(K_SUM, then_binary(SD_POW, a, pw), dim, keepdim, "norm");
  sd_tensor *inv = s ? sd_scalar(x->dtype, 1 / p) : NULL;
  return then_binary(SD_POW, s, inv);
}

static sd_tensor *logsumexp(const sd_tensor *x, int dim, bool keepdim) {
  /* shift by the max, with infinite maxima shifted by 0 so that a row of
     -inf gives -inf and a +inf gives +inf, not NaN */
  sd_tensor *m = reduce_basic(K_MAX, x, dim, true, "logsumexp");
  sd_tensor *inf = m ? sd_unary(SD_ISINF, m) : NULL;
  sd_tensor *zero = inf ? sd_scalar(m->dtype, 0) : NULL;
  sd_tensor *shift = zero ? sd_where(inf, zero, m) : NULL;
  sd_release(m);
  sd_release(inf);
  sd_release(zero);
  sd_tensor *e = shift ? then_unary(sd_binary(SD_SUB, x, shift), SD_EXP) : NULL;
  sd_tensor *s = then_unary(reduce_owned(K_SUM, e, dim, true, "logsumexp"), SD_LOG);
  sd_tensor *r = then_binary(SD_ADD, s, shift);
  return drop_dim(r, x, dim, keepdim);
}

static sd_status need_float(const sd_tensor *x, const char *fn) {
  if (sd_dtype_is_float(x->dtype)) return SD_OK;
  return sd_error(SD_EARG, "%s: input dtype %s is not floating point; convert with :to(\"f32\")",
                  fn, sd_dtype_name(x->dtype));
}

sd_tensor *sd_reduce(sd_redop op, const sd_tensor *x, int dim, bool keepdim, double arg) {
  if ((unsigned)op >= SD_NREDOP) { sd_error(SD_EARG, "reduce: unknown op %d", (int)op); return NULL; }
  const char *fn = sd_redop_names[op];
  if (dim != SD_NODIM && sd_norm_dim(x, &dim, fn)) return NULL;
  switch (op) {
  case SD_SUM: return reduce_basic(K_SUM, x, dim, keepdim, fn);
  case SD_PROD: return reduce_basic(K_PROD, x, dim, keepdim, fn);
  case SD_AMAX: return reduce_basic(K_MAX, x, dim, keepdim, fn);
  case SD_AMIN: return reduce_basic(K_MIN, x, dim, keepdim, fn);
  case SD_ARGMAX: case SD_ARGMIN: {
    sd_tensor *v, *i;
    if (sd_reduce_indexed(op, x, dim, keepdim, &v, &i) != SD_OK) return NULL;
    sd_release(v);
    return i;
  }
  case SD_ALL: case SD_ANY: {
    if (reduced_count(x, dim) == 0) {
      int64_t shape[SD_MAXDIM];
      return sd_full(SD_BOOL, out_shape(x, dim, keepdim, shape), shape, op == SD_ALL);
    }
    sd_tensor *b = sd_to_dtype(x, SD_BOOL);
    return reduce_owned(op == SD_ALL ? K_MIN : K_MAX, b, dim, keepdim, fn);
  }
  default: break;
  }
  if (need_float(x, fn)) return NULL;
  switch (op) {
  case SD_MEAN: return mean(x, dim, keepdim);
  case SD_VAR: return var(x, dim, keepdim, arg);
  case SD_STD: return then_unary(var(x, dim, keepdim, arg), SD_SQRT);
  case SD_LOGSUMEXP: return logsumexp(x, dim, keepdim);
  default: /* SD_NORM */
    if (!(arg >= 0)) {
      sd_error(SD_EARG, "norm: p must be positive, 0 or inf (got %g)", arg);
      return NULL;
    }
    return norm(x, dim, keepdim, arg);
  }
}

/* --- cumsum, cumprod --- */

typedef struct { bool prod; sd_dtype dt; const char *x; char *o; plan p; } scanctx;

/* Each item is one line along the dim; floats accumulate in f64 (as
   PyTorch's CPU cumsum), integers in i64, wrapping. */
static void scan_items(int64_t b, int64_t e, void *v) {
  const scanctx *c = v;
  int64_t len = c->p.len, inner = c->p.inner;
  for (int64_t it = b; it < e; it++) {
    int64_t base = it / inner * len * inner + it % inner;
    if (c->dt == SD_F32) {
      const float *x = (const float *)c->x + base;
      float *o = (float *)c->o + base;
      double acc = c->prod;
      for (int64_t r = 0; r < len; r++) {
        acc = c->prod ? acc * x[r * inner] : acc + x[r * inner];
        o[r * inner] = (float)acc;
      }
    } else if (c->dt == SD_F64) {
      const double *x = (const double *)c->x + base;
      double *o = (double *)c->o + base, acc = c->prod;
      for (int64_t r = 0; r < len; r++) {
        acc = c->prod ? acc * x[r * inner] : acc + x[r * inner];
        o[r * inner] = acc;
      }
    } else {
      const int64_t *x = (const int64_t *)c->x + base;
      int64_t *o = (int64_t *)c->o + base;
      uint64_t acc = c->prod;
      for (int64_t r = 0; r < len; r++) {
        acc = c->prod ? acc * (uint64_t)x[r * inner] : acc + (uint64_t)x[r * inner];
        o[r * inner] = (int64_t)acc;
      }
    }
  }
}

/* --- softmax, log_softmax --- */

/* One row of n >= 1: shift by the max, sum the exponentials over lanes. */
#define SOFTMAX_ROW(T, EXP, LOG)                                                   \
  do {                                                                             \
    const T *x = (const T *)src;                                                   \
    T *o = (T *)dst, m, acc[LANES] = {0};                                          \
    int64_t i = 0;                                                                 \
    m = x[0];                                                                      \
    if (n >= 8) {                                                                  \
      T mx[8];                                                                     \
      for (int j = 0; j < 8; j++) mx[j] = x[j];                                    \
      for (i = 8; i + 8 <= n; i += 8)                                              \
        for (int j = 0; j < 8; j++) mx[j] = STEP_SHIFT(T, mx[j], x[i + j]);        \
      for (int j = 0; j < 8; j++) m = STEP_SHIFT(T, m, mx[j]);                     \
    }                                                                              \
    for (; i < n; i++) m = STEP_SHIFT(T, m, x[i]);                                 \
    i = 0;                                                                         \
    if (lg) {                                                                      \
      for (; i + LANES <= n; i += LANES)                                           \
        for (int j = 0; j < LANES; j++) acc[j] += EXP(x[i + j] - m);               \
      for (int j = 0; i + j < n; j++) acc[j] += EXP(x[i + j] - m);                 \
    } else {                                                                       \
      for (; i + LANES <= n; i += LANES)                                           \
        for (int j = 0; j < LANES; j++) {                                          \
          T e = EXP(x[i + j] - m);                                                 \
          o[i + j] = e;                                                            \
          acc[j] += e;                                                             \
        }                                                                          \
      for (int j = 0; i + j < n; j++) {                                            \
        T e = EXP(x[i + j] - m);                                                   \
        o[i + j] = e;                                                              \
        acc[j] += e;                                                               \
      }                                                                            \
    }                                                                              \
    JOIN_LANES(acc, STEP_SUM, T, UNROLL_LANES);                                    \
    if (lg) {                                                                      \
      T ls = LOG(acc[0]);                                                          \
      for (i = 0; i < n; i++) o[i] = (x[i] - m) - ls;                              \
    } else {                                                                       \
      T inv = 1 / acc[0];                                                          \
      for (i = 0; i < n; i++) o[i] *= inv;                                         \
    }                                                                              \
  } while (0)

/* Columns [0, n) of len rows with row stride inner: the same, with the
   max and the sums kept per column while walking the rows. */
#define SOFTMAX_COL(T, EXP, LOG)                                                   \
  do {                                                                             \
    const T *x = (const T *)src;                                                   \
    T *o = (T *)dst, m[CHUNK], s[CHUNK];                                           \
    for (int64_t j = 0; j < n; j++) { m[j] = x[j]; s[j] = 0; }                     \
    for (int64_t r = 1; r < len; r++)                                              \
      for (int64_t j = 0; j < n; j++) m[j] = STEP_MAX(T, m[j], x[r * inner + j]);  \
    for (int64_t r = 0; r < len; r++) {                                            \
      const T *xr = x + r * inner;                                                 \
      T *orow = o + r * inner;                                                     \
      if (lg)                                                                      \
        for (int64_t j = 0; j < n; j++) s[j] += EXP(xr[j] - m[j]);                 \
      else                                                                         \
        for (int64_t j = 0; j < n; j++) { orow[j] = EXP(xr[j] - m[j]); s[j] += orow[j]; } \
    }                                                                              \
    for (int64_t j = 0; j < n; j++) s[j] = lg ? LOG(s[j]) : 1 / s[j];              \
    for (int64_t r = 0; r < len; r++) {                                            \
      const T *xr = x + r * inner;                                                 \
      T *orow = o + r * inner;                                                     \
      if (lg)                                                                      \
        for (int64_t j = 0; j < n; j++) orow[j] = (xr[j] - m[j]) - s[j];           \
      else                                                                         \
        for (int64_t j = 0; j < n; j++) orow[j] *= s[j];                           \
    }                                                                              \
  } while (0)

SD_KERNEL static void softmax_row(sd_dtype dt, bool lg, const char *src, char *dst, int64_t n) {
  if (dt == SD_F32) SOFTMAX_ROW(float, sd_expf, logf);
  else SOFTMAX_ROW(double, exp, log);
}

SD_KERNEL static void softmax_col(sd_dtype dt, bool lg, const char *src, char *dst, int64_t len,
                                  int64_t inner, int64_t n) {
  if (dt == SD_F32) SOFTMAX_COL(float, sd_expf, logf);
  else SOFTMAX_COL(double, exp, log);
}

typedef struct { bool lg; sd_dtype dt; const char *x; char *o; plan p; int64_t nchunk; } smctx;

static void softmax_items(int64_t b, int64_t e, void *v) {
  const smctx *c = v;
  int64_t es = (int64_t)sd_dtype_size(c->dt), len = c->p.len, inner = c->p.inner;
  for (int64_t it = b; it < e; it++) {
    if (inner == 1) {
      softmax_row(c->dt, c->lg, c->x + it * len * es, c->o + it * len * es, len);
    } else {
      int64_t o = it / c->nchunk, j0 = it % c->nchunk * CHUNK;
      int64_t n = inner - j0 < CHUNK ? inner - j0 : CHUNK, off = (o * len * inner + j0) * es;
      softmax_col(c->dt, c->lg, c->x + off, c->o + off, len, inner, n);
    }
  }
}

sd_tensor *sd_dimwise(sd_dimop op, const sd_tensor *x, int dim) {
  if ((unsigned)op >= SD_NDIMOP) { sd_error(SD_EARG, "dimwise: unknown op %d", (int)op); return NULL; }
  if (sd_norm_dim(x, &dim, sd_dimop_names[op])) return NULL;
  plan p = plan_of(x, dim);
  bool scan = op == SD_CUMSUM || op == SD_CUMPROD;
  sd_dtype dt = sd_dtype_is_float(x->dtype) ? x->dtype : scan ? SD_I64 : SD_F32;
  sd_tensor *xc = contiguous_as(x, dt);
  sd_tensor *out = xc ? sd_empty(dt, x->ndim, x->shape) : NULL;
  if (!out) { sd_release(xc); return NULL; }
  if (sd_numel(x) > 0) {
    if (scan) {
      scanctx c = {op == SD_CUMPROD, dt, sd_data(xc), sd_data(out), p};
      sd_parallel_for(p.outer * p.inner, grain(p.len), scan_items, &c);
    } else {
      smctx c = {op == SD_LOG_SOFTMAX, dt, sd_data(xc), sd_data(out), p, 1};
      int64_t items = p.outer, work = p.len;
      if (p.inner > 1) { c.nchunk = (p.inner + CHUNK - 1) / CHUNK; items *= c.nchunk; work *= CHUNK; }
      sd_parallel_for(items, grain(work), softmax_items, &c);
    }
  }
  sd_release(xc);
  if (sd_check_interrupt() != SD_OK) { sd_release(out); return NULL; }
  return out;
}
