/* tensor.c: tensor life cycle, views, strided iteration and copies. */
#include "tensor.h"
#include "autograd.h"
#include "parallel.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- life cycle --- */

static sd_tensor *header_new(sd_dtype dt, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > SD_MAXDIM) {
    sd_error(SD_ESHAPE, "a tensor has at most %d dims, got %d", SD_MAXDIM, ndim);
    return NULL;
  }
  sd_tensor *t = calloc(1, sizeof *t);
  if (!t) { sd_error(SD_EMEM, "out of memory"); return NULL; }
  t->refcount = 1;
  t->dtype = dt;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
  return t;
}

static void contiguous_strides(sd_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) { t->stride[i] = s; s *= t->shape[i]; }
}

sd_tensor *sd_empty(sd_dtype dt, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > SD_MAXDIM) {
    sd_error(SD_ESHAPE, "a tensor has at most %d dims, got %d", SD_MAXDIM, ndim);
    return NULL;
  }
  /* size checks before anything is allocated */
  /* the product of the nonzero sizes bounds the strides even when another
     size is 0, so it is checked too */
  uint64_t n = 1, strides = 1, limit = (uint64_t)1 << 46; /* 64 TiB: no real machine */
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      sd_error(SD_ESHAPE, "negative size %lld in dim %d", (long long)shape[i], i + 1);
      return NULL;
    }
    uint64_t d = shape[i] ? (uint64_t)shape[i] : 1;
    if (strides > limit / d) {
      sd_error(SD_EMEM, "tensor too large (more than 2^46 elements)");
      return NULL;
    }
    strides *= d;
    n *= (uint64_t)shape[i];
  }
  size_t nbytes = (size_t)n * sd_dtype_size(dt);
  sd_storage *s = calloc(1, sizeof *s);
  if (!s) { sd_error(SD_EMEM, "out of memory"); return NULL; }
  s->data = sd_malloc(nbytes);
  if (!s->data) { free(s); return NULL; }
  s->nbytes = nbytes;
  s->refcount = 1;
  sd_tensor *t = header_new(dt, ndim, shape);
  if (!t) { sd_free(s->data, nbytes); free(s); return NULL; }
  t->storage = s;
  contiguous_strides(t);
  return t;
}

static void zero_part(int64_t b, int64_t e, void *p) { memset((char *)p + b, 0, (size_t)(e - b)); }

/* zeroed by threads: one core cannot fill a large tensor at memory speed */
sd_tensor *sd_zeros(sd_dtype dt, int ndim, const int64_t *shape) {
  sd_tensor *t = sd_empty(dt, ndim, shape);
  if (t) sd_parallel_for((int64_t)t->storage->nbytes, 1 << 20, zero_part, t->storage->data);
  return t;
}

sd_tensor *sd_full(sd_dtype dt, int ndim, const int64_t *shape, double v) {
  sd_tensor *t = sd_empty(dt, ndim, shape);
  if (t && sd_fill_(t, v) != SD_OK) { sd_release(t); return NULL; }
  return t;
}

sd_tensor *sd_scalar(sd_dtype dt, double v) { return sd_full(dt, 0, NULL, v); }

sd_tensor *sd_from_external(sd_dtype dt, int ndim, const int64_t *shape, void *data,
                            size_t nbytes, void (*release)(sd_storage *), void *ctx) {
  sd_storage *s = calloc(1, sizeof *s);
  if (!s) { sd_error(SD_EMEM, "out of memory"); return NULL; }
  sd_tensor *t = header_new(dt, ndim, shape);
  if (!t) { free(s); return NULL; }
  s->data = data;
  s->nbytes = nbytes;
  s->refcount = 1;
  s->release = release;
  s->ctx = ctx;
  t->storage = s;
  contiguous_strides(t);
  if ((uint64_t)sd_numel(t) * sd_dtype_size(dt) > nbytes) {
    t->storage = NULL;
    free(t); free(s);
    sd_error(SD_ESHAPE, "external buffer of %zu bytes is too small for the shape", nbytes);
    return NULL;
  }
  return t;
}

sd_tensor *sd_retain(sd_tensor *t) {
  if (t) t->refcount++;
  return t;
}

static void storage_release(sd_storage *s) {
  if (!s || --s->refcount > 0) return;
  if (s->release) s->release(s);
  else sd_free(s->data, s->nbytes);
  free(s);
}

void sd_release(sd_tensor *t) {
  if (!t || --t->refcount > 0) return;
  storage_release(t->storage);
  sd_release(t->grad);
  sd_node_release(t->grad_fn);
  free(t);
}

void sd_tensor_free_storage(sd_tensor *t) {
  static int64_t zero[SD_MAXDIM];
  sd_tensor *e = sd_empty(t->dtype, 1, zero);
  if (!e) return;
  storage_release(t->storage);
  t->storage = e->storage;
  e->storage->refcount++;
  sd_release(e);
  t->ndim = 1; t->shape[0] = 0; t->stride[0] = 1; t->offset = 0;
  sd_release(t->grad); t->grad = NULL;
}

/* --- facts --- */

int64_t sd_numel(const sd_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

bool sd_is_contiguous(const sd_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s) return false;
    s *= t->shape[i];
  }
  return true;
}

bool sd_same_shape(const sd_tensor *a, const sd_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++) if (a->shape[i] != b->shape[i]) return false;
  return true;
}

const char *sd_shape_str(const sd_tensor *t, char *buf, size_t n) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "[");
  for (int i = 0; i < t->ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)t->shape[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

sd_status sd_norm_dim(const sd_tensor *t, int *dim, const char *fn) {
  int d = *dim, nd = t->ndim ? t->ndim : 1;
  if (d < 0) d += nd;
  if (d < 0 || d >= nd)
    return sd_error(SD_EARG, "%s: dim %d out of range for a %d-d tensor", fn, *dim + 1, t->ndim);
  *dim = d;
  return SD_OK;
}

/* --- element access --- */

double sd_get_ptr(sd_dtype dt, const void *p) {
  switch (dt) {
  case SD_F32: return *(const float *)p;
  case SD_F64: return *(const double *)p;
  case SD_I32: return *(const int32_t *)p;
  case SD_I64: return (double)*(const int64_t *)p;
  case SD_U8: return *(const uint8_t *)p;
  case SD_BOOL: return *(const uint8_t *)p != 0;
  default: return 0;
  }
}

int64_t sd_geti_ptr(sd_dtype dt, const void *p) {
  switch (dt) {
  case SD_I64: return *(const int64_t *)p;
  case SD_I32: return *(const int32_t *)p;
  case SD_U8: return *(const uint8_t *)p;
  case SD_BOOL: return *(const uint8_t *)p != 0;
  default: return (int64_t)sd_get_ptr(dt, p);
  }
}

/* Float to integer conversion truncates toward zero; NaN and out-of-range
   values become 0 rather than undefined behaviour. */
static int64_t to_i64(double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) return 0;
  return (int64_t)v;
}

void sd_set_ptr(sd_dtype dt, void *p, double v) {
  switch (dt) {
  case SD_F32: *(float *)p = (float)v; break;
  case SD_F64: *(double *)p = v; break;
  case SD_I32: *(int32_t *)p = (int32_t)to_i64(v, -2147483648.0, 2147483647.0); break;
  case SD_I64: *(int64_t *)p = to_i64(v, -9223372036854775808.0, 9223372036854774784.0); break;
  case SD_U8: *(uint8_t *)p = (uint8_t)(to_i64(v, -1e18, 1e18) & 0xff); break;
  case SD_BOOL: *(uint8_t *)p = v != 0; break;
  default: break;
  }
}

void sd_seti_ptr(sd_dtype dt, void *p, int64_t v) {
  switch (dt) {
  case SD_I64: *(int64_t *)p = v; break;
  case SD_I32: *(int32_t *)p = (int32_t)v; break;
  case SD_U8: *(uint8_t *)p = (uint8_t)v; break;
  case SD_BOOL: *(uint8_t *)p = v != 0; break;
  default: sd_set_ptr(dt, p, (double)v);
  }
}

double sd_get_flat(const sd_tensor *t, int64_t i) {
  int64_t off = 0;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (i % t->shape[d]) * t->stride[d];
    i /= t->shape[d];
  }
  return sd_get_ptr(t->dtype, (char *)t->storage->data +
                              (t->offset + off) * (int64_t)sd_dtype_size(t->dtype));
}

/* --- views --- */

sd_tensor *sd_as_strided(const sd_tensor *t, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset) {
  sd_tensor *v = header_new(t->dtype, ndim, shape);
  if (!v) return NULL;
  for (int i = 0; i < ndim; i++) v->stride[i] = stride[i];
  v->offset = offset;
  v->storage = t->storage;
  t->storage->refcount++;
  return v;
}

sd_tensor *sd_alias(const sd_tensor *t) {
  return sd_as_strided(t, t->ndim, t->shape, t->stride, t->offset);
}

/* Resolve one -1 in a requested shape against numel. */
static sd_status infer_shape(const char *fn, int64_t numel, int ndim, const int64_t *in,
                             int64_t *out) {
  int neg = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++) {
    out[i] = in[i];
    if (in[i] == -1) {
      if (neg >= 0) return sd_error(SD_ESHAPE, "%s: only one dim can be -1", fn);
      neg = i;
    } else if (in[i] < 0) {
      return sd_error(SD_ESHAPE, "%s: invalid size %lld", fn, (long long)in[i]);
    } else {
      known *= in[i];
    }
  }
  if (neg >= 0) {
    if (known == 0 || numel % known)
      return sd_error(SD_ESHAPE, "%s: cannot infer -1 for %lld elements", fn, (long long)numel);
    out[neg] = numel / known;
  } else if (known != numel) {
    return sd_error(SD_ESHAPE, "%s: shape has %lld elements, tensor has %lld", fn,
                    (long long)known, (long long)numel);
  }
  return SD_OK;
}

/* Strides for viewing t with a new shape without copying, as PyTorch's
   computeStride: chunks of dims that are contiguous among themselves can be
   split or merged. Returns false when no such strides exist. */
static bool view_strides(const sd_tensor *t, int ndim, const int64_t *shape, int64_t *st) {
  int64_t numel = sd_numel(t);
  if (numel == 0) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) { st[i] = s; s *= shape[i] ? shape[i] : 1; }
    return true;
  }
  int vi = ndim - 1;
  int64_t chunk_base = t->ndim ? t->stride[t->ndim - 1] : 1, tensor_n = 1, view_n = 1;
  for (int ti = t->ndim - 1; ti >= 0; ti--) {
    tensor_n *= t->shape[ti];
    if (ti == 0 || (t->shape[ti - 1] != 1 && t->stride[ti - 1] != tensor_n * chunk_base)) {
      while (vi >= 0 && (view_n < tensor_n || shape[vi] == 1)) {
        st[vi] = view_n * chunk_base;
        view_n *= shape[vi];
        vi--;
      }
      if (view_n != tensor_n) return false;
      if (ti > 0) { chunk_base = t->stride[ti - 1]; tensor_n = 1; view_n = 1; }
    }
  }
  while (vi >= 0) { st[vi] = 1; vi--; } /* trailing size-1 dims of a 0-d source */
  return true;
}

sd_tensor *sd_view(const sd_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  if (ndim > SD_MAXDIM) { sd_error(SD_ESHAPE, "view: at most %d dims", SD_MAXDIM); return NULL; }
  if (infer_shape("view", sd_numel(t), ndim, shape, sh) != SD_OK) return NULL;
  if (!view_strides(t, ndim, sh, st)) {
    sd_error(SD_ESHAPE, "view: the strides of this tensor do not allow the view; "
                        "use reshape (which copies) or contiguous() first");
    return NULL;
  }
  return sd_as_strided(t, ndim, sh, st, t->offset);
}

sd_tensor *sd_reshape(const sd_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  if (ndim > SD_MAXDIM) { sd_error(SD_ESHAPE, "reshape: at most %d dims", SD_MAXDIM); return NULL; }
  if (infer_shape("reshape", sd_numel(t), ndim, shape, sh) != SD_OK) return NULL;
  if (view_strides(t, ndim, sh, st)) return sd_as_strided(t, ndim, sh, st, t->offset);
  sd_tensor *c = sd_contiguous(t);
  if (!c) return NULL;
  sd_tensor *v = sd_view(c, ndim, sh);
  sd_release(c);
  return v;
}

sd_tensor *sd_transpose(const sd_tensor *t, int d0, int d1) {
  if (t->ndim == 0) return sd_alias(t);
  if (sd_norm_dim(t, &d0, "transpose") || sd_norm_dim(t, &d1, "transpose")) return NULL;
  sd_tensor *v = sd_alias(t);
  if (!v) return NULL;
  int64_t a = v->shape[d0]; v->shape[d0] = v->shape[d1]; v->shape[d1] = a;
  a = v->stride[d0]; v->stride[d0] = v->stride[d1]; v->stride[d1] = a;
  return v;
}

sd_tensor *sd_permute(const sd_tensor *t, const int *perm) {
  int seen[SD_MAXDIM] = {0};
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  for (int i = 0; i < t->ndim; i++) {
    int d = perm[i];
    if (sd_norm_dim(t, &d, "permute")) return NULL;
    if (seen[d]++) { sd_error(SD_EARG, "permute: dim %d repeated", d + 1); return NULL; }
    sh[i] = t->shape[d];
    st[i] = t->stride[d];
  }
  return sd_as_strided(t, t->ndim, sh, st, t->offset);
}

sd_tensor *sd_narrow(const sd_tensor *t, int dim, int64_t start, int64_t len) {
  if (sd_norm_dim(t, &dim, "narrow")) return NULL;
  if (t->ndim == 0) { sd_error(SD_EARG, "narrow: cannot narrow a 0-d tensor"); return NULL; }
  if (start < 0 || len < 0 || start + len > t->shape[dim]) {
    sd_error(SD_EARG, "narrow: range [%lld, %lld] out of bounds for dim %d of size %lld",
             (long long)start + 1, (long long)(start + len), dim + 1, (long long)t->shape[dim]);
    return NULL;
  }
  sd_tensor *v = sd_alias(t);
  if (!v) return NULL;
  v->offset += start * t->stride[dim];
  v->shape[dim] = len;
  return v;
}

sd_tensor *sd_slice(const sd_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  if (sd_norm_dim(t, &dim, "slice")) return NULL;
  if (step <= 0) { sd_error(SD_EARG, "slice: step must be positive"); return NULL; }
  if (start < 0) start = 0;
  if (stop > t->shape[dim]) stop = t->shape[dim];
  if (stop < start) stop = start;
  sd_tensor *v = sd_alias(t);
  if (!v) return NULL;
  v->offset += start * t->stride[dim];
  v->shape[dim] = (stop - start + step - 1) / step;
  v->stride[dim] *= step;
  return v;
}

sd_tensor *sd_select(const sd_tensor *t, int dim, int64_t index) {
  if (t->ndim == 0) { sd_error(SD_EARG, "select: cannot index a 0-d tensor"); return NULL; }
  if (sd_norm_dim(t, &dim, "select")) return NULL;
  if (index < 0 || index >= t->shape[dim]) {
    sd_error(SD_EARG, "index %lld out of range for dim %d of size %lld", (long long)index + 1,
             dim + 1, (long long)t->shape[dim]);
    return NULL;
  }
  sd_tensor *v = sd_alias(t);
  if (!v) return NULL;
  v->offset += index * t->stride[dim];
  for (int i = dim; i < t->ndim - 1; i++) {
    v->shape[i] = v->shape[i + 1];
    v->stride[i] = v->stride[i + 1];
  }
  v->ndim--;
  return v;
}

sd_tensor *sd_squeeze(const sd_tensor *t, int dim) {
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  int n = 0;
  if (dim >= 0 || dim < -1) {
    if (t->ndim == 0) return sd_alias(t);
    if (sd_norm_dim(t, &dim, "squeeze")) return NULL;
  }
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1 && (dim == -1 || dim == i)) continue;
    sh[n] = t->shape[i]; st[n] = t->stride[i]; n++;
  }
  return sd_as_strided(t, n, sh, st, t->offset);
}

sd_tensor *sd_unsqueeze(const sd_tensor *t, int dim) {
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  if (dim < 0) dim += t->ndim + 1;
  if (dim < 0 || dim > t->ndim) {
    sd_error(SD_EARG, "unsqueeze: dim %d out of range for a %d-d tensor", dim + 1, t->ndim);
    return NULL;
  }
  if (t->ndim == SD_MAXDIM) { sd_error(SD_ESHAPE, "unsqueeze: at most %d dims", SD_MAXDIM); return NULL; }
  for (int i = 0, j = 0; i <= t->ndim; i++) {
    if (i == dim) {
      sh[i] = 1;
      st[i] = dim < t->ndim ? t->shape[dim] * t->stride[dim] : 1;
    } else { sh[i] = t->shape[j]; st[i] = t->stride[j]; j++; }
  }
  return sd_as_strided(t, t->ndim + 1, sh, st, t->offset);
}

sd_tensor *sd_expand(const sd_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  char buf[128];
  if (ndim < t->ndim || ndim > SD_MAXDIM) {
    sd_error(SD_ESHAPE, "expand: cannot expand %s to %d dims", sd_shape_str(t, buf, sizeof buf), ndim);
    return NULL;
  }
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int64_t want = shape[i];
    if (i < lead) {
      if (want < 0) { sd_error(SD_ESHAPE, "expand: -1 not allowed for a new leading dim"); return NULL; }
      sh[i] = want; st[i] = 0;
      continue;
    }
    int64_t have = t->shape[i - lead];
    if (want == -1 || want == have) { sh[i] = have; st[i] = t->stride[i - lead]; }
    else if (have == 1 && want >= 0) { sh[i] = want; st[i] = 0; }
    else {
      sd_error(SD_ESHAPE, "expand: cannot expand %s: dim %d has size %lld, wanted %lld",
               sd_shape_str(t, buf, sizeof buf), i - lead + 1, (long long)have, (long long)want);
      return NULL;
    }
  }
  return sd_as_strided(t, ndim, sh, st, t->offset);
}

sd_tensor *sd_flatten(const sd_tensor *t, int start, int end) {
  if (t->ndim == 0) { int64_t one = 1; return sd_reshape(t, 1, &one); }
  if (sd_norm_dim(t, &start, "flatten") || sd_norm_dim(t, &end, "flatten")) return NULL;
  if (start > end) { sd_error(SD_EARG, "flatten: start dim after end dim"); return NULL; }
  int64_t sh[SD_MAXDIM];
  int n = 0;
  for (int i = 0; i < start; i++) sh[n++] = t->shape[i];
  int64_t m = 1;
  for (int i = start; i <= end; i++) m *= t->shape[i];
  sh[n++] = m;
  for (int i = end + 1; i < t->ndim; i++) sh[n++] = t->shape[i];
  return sd_reshape(t, n, sh);
}

sd_tensor *sd_unfold(const sd_tensor *t, int dim, int64_t size, int64_t step) {
  int64_t sh[SD_MAXDIM], st[SD_MAXDIM];
  if (t->ndim == 0 || t->ndim == SD_MAXDIM) {
    sd_error(SD_ESHAPE, "unfold: needs a tensor with 1 to %d dims", SD_MAXDIM - 1);
    return NULL;
  }
  if (sd_norm_dim(t, &dim, "unfold")) return NULL;
  if (size < 0 || size > t->shape[dim] || step <= 0) {
    sd_error(SD_EARG, "unfold: size %lld and step %lld invalid for dim %d of size %lld",
             (long long)size, (long long)step, dim + 1, (long long)t->shape[dim]);
    return NULL;
  }
  for (int i = 0; i < t->ndim; i++) { sh[i] = t->shape[i]; st[i] = t->stride[i]; }
  sh[dim] = (t->shape[dim] - size) / step + 1;
  st[dim] = t->stride[dim] * step;
  sh[t->ndim] = size;
  st[t->ndim] = t->stride[dim];
  return sd_as_strided(t, t->ndim + 1, sh, st, t->offset);
}

/* --- broadcasting --- */

sd_status sd_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
                             int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int64_t x = i < n - na ? 1 : a[i - (n - na)];
    int64_t y = i < n - nb ? 1 : b[i - (n - nb)];
    if (x != y && x != 1 && y != 1) return SD_ESHAPE;
    out[i] = x == 1 ? y : x;
  }
  *nout = n;
  return SD_OK;
}

/* --- strided iteration --- */

#define PAR_MIN 32768 /* elements below which threads cost more than they save */

typedef struct {
  int nop, ndim;             /* ndim after coalescing, >= 1 */
  int64_t shape[SD_MAXDIM];
  int64_t bst[4][SD_MAXDIM]; /* byte strides */
  char *base[4];
} iter;

static void iter_run(const iter *it, sd_loop_fn fn, void *ctx, int64_t o0, int64_t o1,
                     int64_t i0, int64_t i1) {
  int nd = it->ndim, in = nd - 1;
  int64_t bs[4];
  for (int k = 0; k < it->nop; k++) bs[k] = it->bst[k][in];
  for (int64_t o = o0; o < o1; o++) {
    char *p[4];
    for (int k = 0; k < it->nop; k++) p[k] = it->base[k];
    int64_t r = o;
    for (int d = in - 1; d >= 0; d--) {
      int64_t idx = r % it->shape[d];
      r /= it->shape[d];
      for (int k = 0; k < it->nop; k++) p[k] += idx * it->bst[k][d];
    }
    for (int k = 0; k < it->nop; k++) p[k] += i0 * bs[k];
    if (sd_interrupt_flag) return; /* Ctrl-C: sd_foreach reports it */
    fn(p, bs, i1 - i0, ctx);
  }
}

struct par_ctx { const iter *it; sd_loop_fn fn; void *ctx; int64_t inner, pieces; };

static void par_outer(int64_t b, int64_t e, void *v) {
  struct par_ctx *c = v;
  iter_run(c->it, c->fn, c->ctx, b, e, 0, c->inner);
}

static void par_pieces(int64_t b, int64_t e, void *v) {
  struct par_ctx *c = v;
  int64_t chunk = (c->inner + c->pieces - 1) / c->pieces;
  for (int64_t j = b; j < e; j++) {
    int64_t o = j / c->pieces, i0 = (j % c->pieces) * chunk;
    int64_t i1 = i0 + chunk < c->inner ? i0 + chunk : c->inner;
    if (i0 < i1) iter_run(c->it, c->fn, c->ctx, o, o + 1, i0, i1);
  }
}

sd_status sd_foreach(int nop, sd_tensor *const *ops, sd_loop_fn fn, void *ctx) {
  iter it;
  const sd_tensor *t0 = ops[0];
  if (nop < 1 || nop > 4) return sd_error(SD_EARG, "sd_foreach: 1 to 4 operands");
  for (int k = 1; k < nop; k++)
    if (!sd_same_shape(t0, ops[k])) return sd_error(SD_ESHAPE, "sd_foreach: shapes differ");
  if (sd_numel(t0) == 0) return SD_OK;
  it.nop = nop;
  it.ndim = 0;
  for (int k = 0; k < nop; k++) it.base[k] = sd_data(ops[k]);
  /* drop size-1 dims, merge dims that are contiguous for every operand */
  for (int d = 0; d < t0->ndim; d++) {
    if (t0->shape[d] == 1) continue;
    int n = it.ndim;
    bool merge = n > 0;
    for (int k = 0; k < nop && merge; k++) {
      int64_t es = (int64_t)sd_dtype_size(ops[k]->dtype);
      if (it.bst[k][n - 1] != ops[k]->stride[d] * es * t0->shape[d]) merge = false;
    }
    if (merge) {
      it.shape[n - 1] *= t0->shape[d];
      for (int k = 0; k < nop; k++)
        it.bst[k][n - 1] = ops[k]->stride[d] * (int64_t)sd_dtype_size(ops[k]->dtype);
    } else {
      it.shape[n] = t0->shape[d];
      for (int k = 0; k < nop; k++)
        it.bst[k][n] = ops[k]->stride[d] * (int64_t)sd_dtype_size(ops[k]->dtype);
      it.ndim++;
    }
  }
  if (it.ndim == 0) { it.ndim = 1; it.shape[0] = 1; for (int k = 0; k < nop; k++) it.bst[k][0] = 0; }
  int64_t inner = it.shape[it.ndim - 1], outer = 1;
  for (int d = 0; d < it.ndim - 1; d++) outer *= it.shape[d];
  struct par_ctx pc = {&it, fn, ctx, inner, 1};
  if (outer * inner < PAR_MIN || sd_get_num_threads() <= 1) {
    iter_run(&it, fn, ctx, 0, outer, 0, inner);
  } else if (outer >= 4 * sd_get_num_threads()) {
    sd_parallel_for(outer, 1, par_outer, &pc);
  } else {
    /* few long runs: cut each run into pieces */
    pc.pieces = 4 * sd_get_num_threads();
    sd_parallel_for(outer * pc.pieces, 1, par_pieces, &pc);
  }
  if (sd_interrupt_flag) return sd_check_interrupt();
  return SD_OK;
}

/* --- copies --- */

typedef struct { sd_dtype src, dst; } conv_ctx;

static void copy_loop(char **p, const int64_t *bs, int64_t n, void *vctx) {
  const conv_ctx *c = vctx;
  char *d = p[0], *s = p[1];
  size_t es = sd_dtype_size(c->dst);
  if (c->src == c->dst) {
    if (bs[0] == (int64_t)es && bs[1] == (int64_t)es) { memcpy(d, s, (size_t)n * es); return; }
    for (int64_t i = 0; i < n; i++, d += bs[0], s += bs[1]) memcpy(d, s, es);
    return;
  }
  if (c->src == SD_F32 && c->dst == SD_F64) {
    for (int64_t i = 0; i < n; i++, d += bs[0], s += bs[1]) *(double *)d = *(float *)s;
    return;
  }
  if (c->src == SD_F64 && c->dst == SD_F32) {
    for (int64_t i = 0; i < n; i++, d += bs[0], s += bs[1]) *(float *)d = (float)*(double *)s;
    return;
  }
  if (sd_dtype_is_float(c->dst) && (c->src == SD_U8 || c->src == SD_BOOL || c->src == SD_I32 ||
                                     c->src == SD_I64)) {
    /* integer and boolean to float: masks and labels, a hot path */
    if (c->dst == SD_F32 && (c->src == SD_U8 || c->src == SD_BOOL) && bs[0] == 4 && bs[1] == 1) {
      float *o = (float *)d;
      const uint8_t *in = (const uint8_t *)s;
      for (int64_t i = 0; i < n; i++) o[i] = (float)in[i];
      return;
    }
    for (int64_t i = 0; i < n; i++, d += bs[0], s += bs[1]) {
      double v = c->src == SD_I64 ? (double)*(int64_t *)s
               : c->src == SD_I32 ? *(int32_t *)s : *(uint8_t *)s;
      if (c->dst == SD_F32) *(float *)d = (float)v;
      else *(double *)d = v;
    }
    return;
  }
  if (!sd_dtype_is_float(c->src) && !sd_dtype_is_float(c->dst)) {
    for (int64_t i = 0; i < n; i++, d += bs[0], s += bs[1])
      sd_seti_ptr(c->dst, d, sd_geti_ptr(c->src, s));
    return;
  }
  for (int64_t i = 0; i < n; i++, d += bs[0], s += bs[1])
    sd_set_ptr(c->dst, d, sd_get_ptr(c->src, s));
}

sd_status sd_copy_(sd_tensor *dst, const sd_tensor *src) {
  sd_tensor *s = sd_expand(src, dst->ndim, dst->shape);
  if (!s) {
    char a[128], b[128];
    return sd_error(SD_ESHAPE, "copy: source %s does not broadcast to destination %s",
                    sd_shape_str(src, a, sizeof a), sd_shape_str(dst, b, sizeof b));
  }
  conv_ctx c = {src->dtype, dst->dtype};
  sd_tensor *ops[2] = {dst, s};
  sd_status st = SD_OK;
  /* overlapping source and destination: go through a temporary */
  if (s->storage == dst->storage) {
    sd_tensor *tmp = sd_clone(s);
    if (!tmp) { sd_release(s); return SD_EMEM; }
    sd_release(s);
    s = tmp;
    ops[1] = s;
  }
  st = sd_foreach(2, ops, copy_loop, &c);
  sd_release(s);
  sd_bump_version(dst);
  return st;
}

typedef struct { sd_dtype dt; _Alignas(8) char val[8]; } fill_ctx;

static void fill_loop(char **p, const int64_t *bs, int64_t n, void *vctx) {
  const fill_ctx *c = vctx;
  size_t es = sd_dtype_size(c->dt);
  char *d = p[0];
  if (bs[0] == (int64_t)es && es == 4) {
    float v; memcpy(&v, c->val, 4);
    for (int64_t i = 0; i < n; i++) ((float *)d)[i] = v;
    return;
  }
  if (bs[0] == (int64_t)es && es == 8) {
    double v; memcpy(&v, c->val, 8);
    for (int64_t i = 0; i < n; i++) ((double *)d)[i] = v;
    return;
  }
  for (int64_t i = 0; i < n; i++, d += bs[0]) memcpy(d, c->val, es);
}

sd_status sd_fill_(sd_tensor *dst, double v) {
  fill_ctx c = {dst->dtype, {0}};
  sd_set_ptr(dst->dtype, c.val, v);
  sd_bump_version(dst);
  return sd_foreach(1, &dst, fill_loop, &c);
}

sd_tensor *sd_clone(const sd_tensor *t) {
  sd_tensor *c = sd_empty(t->dtype, t->ndim, t->shape);
  if (c && sd_copy_(c, t) != SD_OK) { sd_release(c); return NULL; }
  return c;
}

sd_tensor *sd_contiguous(const sd_tensor *t) {
  if (sd_is_contiguous(t)) return sd_retain((sd_tensor *)t);
  return sd_clone(t);
}

sd_tensor *sd_to_dtype(const sd_tensor *t, sd_dtype dt) {
  if (t->dtype == dt) return sd_retain((sd_tensor *)t);
  sd_tensor *c = sd_empty(dt, t->ndim, t->shape);
  if (c && sd_copy_(c, t) != SD_OK) { sd_release(c); return NULL; }
  return c;
}
