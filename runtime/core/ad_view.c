/* ad_view.c: differentiable views and copies, gradient accumulation.

   The gradient of a view goes back through the inverse view: a reshape is
   reshaped back, a permutation permuted back, an expand summed, and a
   region (narrow, select, slice, unfold) embedded into zeros of the input's
   shape, an op whose own gradient is the region again. */
#include "ad.h"
#include <string.h>

static sd_tensor *record(sd_tensor *out, const sd_tensor *in, const char *name,
                         sd_backward_fn bw, const int64_t *iarg, int niarg) {
  if (!out || !sd_needs_grad(1, (sd_tensor *const *)&in)) return out;
  sd_node *n = sd_node_new(name, bw, 1, (sd_tensor *const *)&in);
  if (!n) { sd_release(out); return NULL; }
  if (niarg) memcpy(n->iarg, iarg, (size_t)niarg * sizeof *iarg);
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_add(const sd_tensor *a, const sd_tensor *b, bool differentiable) {
  return differentiable ? sd_ad_binary(SD_ADD, a, b) : sd_binary(SD_ADD, a, b);
}

/* --- sum back to a broadcast shape --- */

static sd_status sum_to_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = sd_ad_expand(g, n->in_ndim[0], n->in_shape[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_sum_to(const sd_tensor *g, int ndim, const int64_t *shape) {
  int lead = g->ndim - ndim;
  bool same = lead == 0;
  for (int d = 0; same && d < ndim; d++) same = shape[d] == g->shape[d];
  if (same) return sd_retain((sd_tensor *)g);
  if (lead < 0) { sd_error(SD_ESHAPE, "sum_to: target has more dims than the gradient"); return NULL; }
  sd_tensor *t = sd_retain((sd_tensor *)g), *u;
  if (lead > 0) { /* leading dims: merge them and sum once */
    int64_t sh[SD_MAXDIM];
    sh[0] = -1;
    memcpy(sh + 1, g->shape + lead, (size_t)ndim * sizeof *sh);
    u = sd_reshape(t, ndim + 1, sh);
    sd_release(t);
    t = u ? sd_reduce(SD_SUM, u, 0, false, 0) : NULL;
    sd_release(u);
  }
  for (int d = 0; t && d < ndim; d++)
    if (shape[d] == 1 && t->shape[d] != 1) {
      u = sd_reduce(SD_SUM, t, d, true, 0);
      sd_release(t);
      t = u;
    }
  return record(t, g, "sum_to", sum_to_bw, NULL, 0);
}

/* --- reshapes --- */

static sd_status reshape_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = sd_ad_reshape(g, n->in_ndim[0], n->in_shape[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_view(const sd_tensor *t, int ndim, const int64_t *shape) {
  return record(sd_view(t, ndim, shape), t, "view", reshape_bw, NULL, 0);
}
sd_tensor *sd_ad_reshape(const sd_tensor *t, int ndim, const int64_t *shape) {
  return record(sd_reshape(t, ndim, shape), t, "reshape", reshape_bw, NULL, 0);
}
sd_tensor *sd_ad_squeeze(const sd_tensor *t, int dim) {
  return record(sd_squeeze(t, dim), t, "squeeze", reshape_bw, NULL, 0);
}
sd_tensor *sd_ad_unsqueeze(const sd_tensor *t, int dim) {
  return record(sd_unsqueeze(t, dim), t, "unsqueeze", reshape_bw, NULL, 0);
}
sd_tensor *sd_ad_flatten(const sd_tensor *t, int start, int end) {
  return record(sd_flatten(t, start, end), t, "flatten", reshape_bw, NULL, 0);
}

/* --- permutations --- */

static sd_status permute_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  int inv[SD_MAXDIM];
  for (int i = 0; i < g->ndim; i++) inv[n->iarg[i]] = i;
  gin[0] = sd_ad_permute(g, inv);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_permute(const sd_tensor *t, const int *perm) {
  int64_t p[SD_MAXDIM];
  for (int i = 0; i < t->ndim; i++) p[i] = perm[i] < 0 ? perm[i] + t->ndim : perm[i];
  return record(sd_permute(t, perm), t, "permute", permute_bw, p, t->ndim);
}

sd_tensor *sd_ad_transpose(const sd_tensor *t, int d0, int d1) {
  int64_t p[SD_MAXDIM];
  sd_tensor *out = sd_transpose(t, d0, d1);
  if (!out) return NULL;
  if (d0 < 0) d0 += t->ndim;
  if (d1 < 0) d1 += t->ndim;
  for (int i = 0; i < t->ndim; i++) p[i] = i;
  if (t->ndim) { p[d0] = d1; p[d1] = d0; }
  return record(out, t, "transpose", permute_bw, p, t->ndim);
}

/* --- expand --- */

static sd_status expand_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = sd_ad_sum_to(g, n->in_ndim[0], n->in_shape[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_expand(const sd_tensor *t, int ndim, const int64_t *shape) {
  return record(sd_expand(t, ndim, shape), t, "expand", expand_bw, NULL, 0);
}

/* --- regions: iarg = {kind, dim, a, b, c} --- */

enum { R_NARROW, R_SELECT, R_SLICE, R_UNFOLD };
static const char *const region_name[] = {"narrow", "select", "slice", "unfold"};

static sd_tensor *region(const int64_t *r, const sd_tensor *x, bool ad) {
  int dim = (int)r[1];
  switch (r[0]) {
  case R_NARROW: return ad ? sd_ad_narrow(x, dim, r[2], r[3]) : sd_narrow(x, dim, r[2], r[3]);
  case R_SELECT: return ad ? sd_ad_select(x, dim, r[2]) : sd_select(x, dim, r[2]);
  case R_SLICE:
    return ad ? sd_ad_slice(x, dim, r[2], r[3], r[4]) : sd_slice(x, dim, r[2], r[3], r[4]);
  default: return ad ? sd_ad_unfold(x, dim, r[2], r[3]) : sd_unfold(x, dim, r[2], r[3]);
  }
}

static sd_status embed_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = region(n->iarg, g, true);
  return gin[0] ? SD_OK : SD_EMEM;
}

/* zeros of the input's shape with g placed where the region was */
static sd_tensor *embed(const sd_node *src, const sd_tensor *g) {
  const int64_t *r = src->iarg;
  sd_tensor *z = sd_zeros(g->dtype, src->in_ndim[0], src->in_shape[0]);
  if (!z) return NULL;
  sd_status st = SD_OK;
  if (r[0] == R_UNFOLD) {
    /* windows may overlap: add them one at a time */
    int dim = (int)r[1], nd = z->ndim;
    int perm[SD_MAXDIM];
    for (int i = 0, j = 0; i < nd; i++) perm[i] = i == dim ? nd - 1 : j++;
    for (int64_t w = 0; st == SD_OK && w < g->shape[dim]; w++) {
      sd_tensor *zw = sd_narrow(z, dim, w * r[3], r[2]);
      sd_tensor *gw = sd_select(g, dim, w);
      sd_tensor *gp = gw ? sd_permute(gw, perm) : NULL;
      st = zw && gp ? sd_binary_(SD_ADD, zw, gp) : SD_EMEM;
      sd_release(zw); sd_release(gw); sd_release(gp);
    }
  } else {
    sd_tensor *v = region(r, z, false);
    st = v ? sd_copy_(v, g) : SD_EMEM;
    sd_release(v);
  }
  if (st != SD_OK) { sd_release(z); return NULL; }
  return record(z, g, region_name[r[0]], embed_bw, r, 5);
}

static sd_status region_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = embed(n, g);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_narrow(const sd_tensor *t, int dim, int64_t start, int64_t len) {
  sd_tensor *out = sd_narrow(t, dim, start, len);
  int64_t r[5] = {R_NARROW, dim < 0 ? dim + t->ndim : dim, start, len, 0};
  return record(out, t, "narrow", region_bw, r, 5);
}

sd_tensor *sd_ad_select(const sd_tensor *t, int dim, int64_t index) {
  sd_tensor *out = sd_select(t, dim, index);
  int64_t r[5] = {R_SELECT, dim < 0 ? dim + t->ndim : dim, index, 0, 0};
  return record(out, t, "select", region_bw, r, 5);
}

sd_tensor *sd_ad_slice(const sd_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  sd_tensor *out = sd_slice(t, dim, start, stop, step);
  int64_t r[5] = {R_SLICE, dim < 0 ? dim + t->ndim : dim, start, stop, step};
  return record(out, t, "slice", region_bw, r, 5);
}

sd_tensor *sd_ad_unfold(const sd_tensor *t, int dim, int64_t size, int64_t step) {
  sd_tensor *out = sd_unfold(t, dim, size, step);
  int64_t r[5] = {R_UNFOLD, dim < 0 ? dim + t->ndim : dim, size, step, 0};
  return record(out, t, "unfold", region_bw, r, 5);
}

/* --- copies --- */

static sd_status identity_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = sd_ad_to_dtype(g, n->in_dtype[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_contiguous(const sd_tensor *t) {
  if (sd_is_contiguous(t)) return sd_retain((sd_tensor *)t);
  return record(sd_contiguous(t), t, "contiguous", identity_bw, NULL, 0);
}

sd_tensor *sd_ad_clone(const sd_tensor *t) {
  return record(sd_clone(t), t, "clone", identity_bw, NULL, 0);
}

sd_tensor *sd_ad_to_dtype(const sd_tensor *t, sd_dtype dt) {
  if (t->dtype == dt) return sd_retain((sd_tensor *)t);
  sd_tensor *out = sd_to_dtype(t, dt);
  if (!sd_dtype_is_float(dt)) return out; /* integer results carry no gradient */
  return record(out, t, "to", identity_bw, NULL, 0);
}
