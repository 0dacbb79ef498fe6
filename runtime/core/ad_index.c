/* ad_index.c: differentiable indexing and joining (index.h).

   A gather-like op (index_select, gather, masked_select, the values of
   sort/topk) sends its gradient back by the matching scatter-add into
   zeros of the input's shape; that scatter is recorded too, with the
   gather as its own gradient, so second derivatives work. Index tensors
   and masks are saved; they are never differentiated. */
#include "ad.h"
#include "index.h"
#include <stdlib.h>

enum { K_INDEX_SELECT, K_GATHER, K_MASKED_SELECT };
static const char *const kind_name[] = {"index_select", "gather", "masked_select"};

/* the gather-like forward, raw or recorded */
static sd_tensor *pick(int kind, const sd_tensor *t, int dim, const sd_tensor *idx, bool ad) {
  switch (kind) {
  case K_INDEX_SELECT: return ad ? sd_ad_index_select(t, dim, idx) : sd_index_select(t, dim, idx);
  case K_GATHER: return ad ? sd_ad_gather(t, dim, idx) : sd_gather(t, dim, idx);
  default: return ad ? sd_ad_masked_select(t, idx) : sd_masked_select(t, idx);
  }
}

static sd_status spread_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = pick((int)n->iarg[0], g, (int)n->iarg[1], n->saved[0], true);
  return gin[0] ? SD_OK : SD_EMEM;
}

/* masked_select's inverse: the positions of the (broadcast) mask's true
   elements in the flattened input, as 1-based indices */
static sd_tensor *mask_positions(const sd_tensor *mask, int ndim, const int64_t *shape) {
  sd_tensor *m = sd_expand(mask, ndim, shape);
  sd_tensor *mc = m ? sd_contiguous(m) : NULL;
  int64_t n = mc ? sd_numel(mc) : 0;
  sd_tensor *flat = mc ? sd_view(mc, 1, &n) : NULL;
  sd_tensor *nz = flat ? sd_nonzero(flat) : NULL; /* [count, 1] */
  sd_tensor *pos = nz ? sd_view(nz, 1, (int64_t[]){-1}) : NULL;
  sd_release(m); sd_release(mc); sd_release(flat); sd_release(nz);
  return pos;
}

/* zeros of the source shape with g added where the gather read */
static sd_tensor *spread(int kind, const sd_tensor *g, int ndim, const int64_t *shape, int dim,
                         const sd_tensor *idx) {
  sd_tensor *z = sd_zeros(g->dtype, ndim, shape);
  if (!z) return NULL;
  sd_status st;
  if (kind == K_INDEX_SELECT) st = sd_index_add_(z, dim, idx, g);
  else if (kind == K_GATHER) st = sd_scatter_add_(z, dim, idx, g);
  else {
    int64_t numel = sd_numel(z);
    sd_tensor *pos = mask_positions(idx, ndim, shape);
    sd_tensor *zf = sd_view(z, 1, &numel);
    st = pos && zf ? sd_index_add_(zf, 0, pos, g) : SD_EMEM;
    sd_release(pos);
    sd_release(zf);
  }
  if (st != SD_OK) { sd_release(z); return NULL; }
  if (!sd_needs_grad(1, (sd_tensor *const *)&g)) return z;
  sd_node *n = sd_node_new(kind_name[kind], spread_bw, 1, (sd_tensor *const *)&g);
  if (!n) { sd_release(z); return NULL; }
  n->iarg[0] = kind;
  n->iarg[1] = dim;
  sd_node_save(n, 0, (sd_tensor *)idx);
  sd_node_attach(n, z);
  return z;
}

static sd_status pick_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = spread((int)n->iarg[0], g, n->in_ndim[0], n->in_shape[0], (int)n->iarg[1], n->saved[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

static sd_tensor *record_pick(sd_tensor *out, int kind, const sd_tensor *t, int dim,
                              const sd_tensor *idx) {
  if (!out || !sd_needs_grad(1, (sd_tensor *const *)&t)) return out;
  sd_node *n = sd_node_new(kind_name[kind], pick_bw, 1, (sd_tensor *const *)&t);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = kind;
  n->iarg[1] = dim < 0 ? dim + t->ndim : dim;
  sd_node_save(n, 0, (sd_tensor *)idx);
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_index_select(const sd_tensor *t, int dim, const sd_tensor *idx) {
  return record_pick(sd_index_select(t, dim, idx), K_INDEX_SELECT, t, dim, idx);
}

sd_tensor *sd_ad_gather(const sd_tensor *t, int dim, const sd_tensor *idx) {
  return record_pick(sd_gather(t, dim, idx), K_GATHER, t, dim, idx);
}

sd_tensor *sd_ad_masked_select(const sd_tensor *t, const sd_tensor *mask) {
  return record_pick(sd_masked_select(t, mask), K_MASKED_SELECT, t, 0, mask);
}

/* values of sort/topk/kthvalue: a gather of their indices */
sd_tensor *sd_ad_take_along(const sd_tensor *t, int dim, const sd_tensor *values,
                            const sd_tensor *indices) {
  if (!sd_needs_grad(1, (sd_tensor *const *)&t)) return sd_retain((sd_tensor *)values);
  if (values->ndim == t->ndim)
    return record_pick(sd_retain((sd_tensor *)values), K_GATHER, t, dim, indices);
  /* the reduced dim was dropped: record with it, then squeeze it away */
  if (dim < 0) dim += t->ndim;
  sd_tensor *v = sd_unsqueeze(values, dim), *i = sd_unsqueeze(indices, dim);
  sd_tensor *r = v && i ? record_pick(sd_retain(v), K_GATHER, t, dim, i) : NULL;
  sd_tensor *out = r ? sd_ad_squeeze(r, dim) : NULL;
  sd_release(v); sd_release(i); sd_release(r);
  return out;
}

/* --- masked_fill: where(mask, value, t) --- */

sd_tensor *sd_ad_masked_fill(const sd_tensor *t, const sd_tensor *mask, const sd_tensor *value) {
  if (sd_numel(value) != 1) {
    sd_error(SD_EARG, "masked_fill: the value must be a number or a one-element tensor");
    return NULL;
  }
  int64_t one = 1;
  sd_tensor *v1 = sd_reshape(value, 0, &one); /* 0-d */
  sd_tensor *v = v1 ? sd_to_dtype(v1, t->dtype) : NULL;
  sd_release(v1);
  sd_tensor *out = v ? sd_ad_where(mask, v, t) : NULL;
  sd_release(v);
  if (out && !sd_same_shape(out, t)) {
    char a[128], b[128];
    sd_error(SD_ESHAPE, "masked_fill: mask %s does not broadcast to the tensor's shape %s",
             sd_shape_str(mask, a, sizeof a), sd_shape_str(t, b, sizeof b));
    sd_release(out);
    return NULL;
  }
  return out;
}

/* --- cat and stack: the gradient of each piece is its slice of g --- */

static sd_status cat_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  int dim = (int)n->iarg[0];
  bool stack = n->iarg[1];
  int64_t off = 0;
  for (int i = 0; i < n->nin; i++) {
    int64_t len = stack ? 1 : (n->in_ndim[i] ? n->in_shape[i][dim] : 0);
    if (!stack && n->in_ndim[i] == 1 && n->in_shape[i][0] == 0 && (dim != 0 || g->ndim != 1))
      continue; /* a skipped empty 1-d piece */
    if (n->need[i]) {
      gin[i] = stack ? sd_ad_select(g, dim, off) : sd_ad_narrow(g, dim, off, len);
      if (gin[i] && gin[i]->dtype != n->in_dtype[i]) {
        sd_tensor *c = sd_ad_to_dtype(gin[i], n->in_dtype[i]);
        sd_release(gin[i]);
        gin[i] = c;
      }
      if (!gin[i]) return SD_EMEM;
    }
    off += len;
  }
  return SD_OK;
}

static sd_tensor *record_join(sd_tensor *out, int n, sd_tensor *const *ts, int dim, bool stack) {
  if (!out || !sd_dtype_is_float(out->dtype) || !sd_needs_grad(n, ts)) return out;
  sd_node *node = sd_node_new(stack ? "stack" : "cat", cat_bw, n, ts);
  if (!node) { sd_release(out); return NULL; }
  node->iarg[0] = dim < 0 ? dim + (stack ? out->ndim : out->ndim) : dim;
  node->iarg[1] = stack;
  sd_node_attach(node, out);
  return out;
}

sd_tensor *sd_ad_cat(int n, sd_tensor *const *ts, int dim) {
  return record_join(sd_cat(n, ts, dim), n, ts, dim, false);
}

sd_tensor *sd_ad_stack(int n, sd_tensor *const *ts, int dim) {
  return record_join(sd_stack(n, ts, dim), n, ts, dim, true);
}

/* --- flips: their own inverse --- */

static sd_status flip_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  int dims[SD_MAXDIM];
  for (int i = 0; i < n->iarg[0]; i++) dims[i] = (int)n->iarg[1 + i];
  gin[0] = sd_ad_flip(g, (int)n->iarg[0], dims);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_flip(const sd_tensor *t, int ndims, const int *dims) {
  sd_tensor *out = sd_flip(t, ndims, dims);
  if (!out || !sd_needs_grad(1, (sd_tensor *const *)&t)) return out;
  sd_node *n = sd_node_new("flip", flip_bw, 1, (sd_tensor *const *)&t);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = ndims;
  for (int i = 0; i < ndims && i < SD_MAXDIM; i++) n->iarg[1 + i] = dims[i];
  sd_node_attach(n, out);
  return out;
}

/* --- triangles: the same triangle of the gradient --- */

static sd_status tri_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = n->iarg[1] ? sd_ad_triu(g, n->iarg[0]) : sd_ad_tril(g, n->iarg[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

static sd_tensor *record_tri(sd_tensor *out, const sd_tensor *t, int64_t k, bool upper) {
  if (!out || !sd_needs_grad(1, (sd_tensor *const *)&t)) return out;
  sd_node *n = sd_node_new(upper ? "triu" : "tril", tri_bw, 1, (sd_tensor *const *)&t);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = k;
  n->iarg[1] = upper;
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_tril(const sd_tensor *t, int64_t k) { return record_tri(sd_tril(t, k), t, k, false); }
sd_tensor *sd_ad_triu(const sd_tensor *t, int64_t k) { return record_tri(sd_triu(t, k), t, k, true); }

/* --- ops without a gradient rule yet: refused on inputs that need one --- */

sd_status sd_ad_nondiff(const char *fn, int nin, sd_tensor *const *in) {
  if (!sd_needs_grad(nin, in)) return SD_OK;
  return sd_error(SD_EGRAD, "%s: not differentiable; call it on a detach()ed tensor or "
                            "under autograd.no_grad", fn);
}
