/* ad_nn.c: differentiable layers. The fused kernels of nn.h record one
   node each whose rule calls the matching backward kernel (first order,
   see ad_nn.h); linear, dropout and leaky_relu are written with sd_ad_
   ops and so have every order. */
#include "ad_nn.h"
#include "index.h"
#include "nn_impl.h"
#include <string.h>

/* Records a node over in[0..nin) on out unless no input requires grad;
   NULL (out released) on OOM. */
static sd_node *record(sd_tensor **out, const char *name, sd_backward_fn bw, int nin,
                       sd_tensor *const *in) {
  if (!*out || !sd_needs_grad(nin, in)) return NULL;
  sd_node *n = sd_node_new(name, bw, nin, in);
  if (!n) { sd_release(*out); *out = NULL; }
  return n;
}

/* --- conv2d: in {x, w, b}, saved {x, w}, iarg = stride, padding, dilation, groups --- */

static sd_conv2d_args conv_args(const sd_node *n) {
  sd_conv2d_args a;
  for (int i = 0; i < 2; i++) {
    a.stride[i] = n->iarg[i];
    a.padding[i] = n->iarg[2 + i];
    a.dilation[i] = n->iarg[4 + i];
  }
  a.groups = n->iarg[6];
  return a;
}

static sd_status conv2d_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  sd_conv2d_args a = conv_args(n);
  return sd_conv2d_backward(g, n->saved[0], n->saved[1], &a, n->need[0] ? &gin[0] : NULL,
                            n->need[1] ? &gin[1] : NULL, n->nin > 2 && n->need[2] ? &gin[2] : NULL);
}

sd_tensor *sd_ad_conv2d(const sd_tensor *x, const sd_tensor *w, const sd_tensor *b,
                        const sd_conv2d_args *a) {
  sd_tensor *out = sd_conv2d(x, w, b, a);
  sd_tensor *in[3] = {(sd_tensor *)x, (sd_tensor *)w, (sd_tensor *)b};
  sd_node *n = record(&out, "conv2d", conv2d_bw, b ? 3 : 2, in);
  if (!n) return out;
  for (int i = 0; i < 2; i++) {
    n->iarg[i] = a->stride[i];
    n->iarg[2 + i] = a->padding[i];
    n->iarg[4 + i] = a->dilation[i];
  }
  n->iarg[6] = a->groups;
  sd_node_save(n, 0, in[0]);
  sd_node_save(n, 1, in[1]);
  sd_node_attach(n, out);
  return out;
}

/* --- pools: the input's shape is the node's in_shape[0] --- */

static sd_status max_pool2d_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = sd_max_pool2d_backward(g, n->saved[0], n->in_ndim[0], n->in_shape[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_max_pool2d(const sd_tensor *x, const sd_pool2d_args *a, sd_tensor **indices) {
  sd_tensor *in[1] = {(sd_tensor *)x}, *idx = NULL;
  bool rec = sd_needs_grad(1, in);
  sd_tensor *out = sd_max_pool2d(x, a, rec || indices ? &idx : NULL);
  sd_node *n = rec ? record(&out, "max_pool2d", max_pool2d_bw, 1, in) : NULL;
  if (n) {
    sd_node_save(n, 0, idx);
    sd_node_attach(n, out);
  }
  if (indices && out) *indices = idx;
  else sd_release(idx);
  return out;
}

static void pool_store(sd_node *n, const sd_pool2d_args *a) {
  for (int i = 0; i < 2; i++) {
    n->iarg[i] = a->kernel[i];
    n->iarg[2 + i] = a->stride[i];
    n->iarg[4 + i] = a->padding[i];
  }
  n->iarg[6] = a->ceil_mode;
  n->iarg[7] = a->count_include_pad;
}

static sd_status avg_pool2d_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  sd_pool2d_args a = {.ceil_mode = n->iarg[6], .count_include_pad = n->iarg[7]};
  for (int i = 0; i < 2; i++) {
    a.kernel[i] = n->iarg[i];
    a.stride[i] = n->iarg[2 + i];
    a.padding[i] = n->iarg[4 + i];
    a.dilation[i] = 1;
  }
  gin[0] = sd_avg_pool2d_backward(g, &a, n->in_ndim[0], n->in_shape[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_avg_pool2d(const sd_tensor *x, const sd_pool2d_args *a) {
  sd_tensor *out = sd_avg_pool2d(x, a), *in[1] = {(sd_tensor *)x};
  sd_node *n = record(&out, "avg_pool2d", avg_pool2d_bw, 1, in);
  if (!n) return out;
  pool_store(n, a);
  sd_node_attach(n, out);
  return out;
}

static sd_status adaptive_avg_pool2d_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = sd_adaptive_avg_pool2d_backward(g, n->in_ndim[0], n->in_shape[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_adaptive_avg_pool2d(const sd_tensor *x, int64_t oh, int64_t ow) {
  sd_tensor *out = sd_adaptive_avg_pool2d(x, oh, ow), *in[1] = {(sd_tensor *)x};
  sd_node *n = record(&out, "adaptive_avg_pool2d", adaptive_avg_pool2d_bw, 1, in);
  if (n) sd_node_attach(n, out);
  return out;
}

/* --- normalisation: in {x, w, b}, saved {x, w, mean, invstd} --- */

static sd_status batch_norm_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  return sd_batch_norm_backward(g, n->saved[0], n->saved[1], n->saved[2], n->saved[3], n->iarg[0],
                                n->need[0] ? &gin[0] : NULL, n->need[1] ? &gin[1] : NULL,
                                n->need[2] ? &gin[2] : NULL);
}

static sd_status layer_norm_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  return sd_layer_norm_backward(g, n->saved[0], (int)n->iarg[0], n->saved[1], n->saved[2],
                                n->saved[3], n->need[0] ? &gin[0] : NULL,
                                n->need[1] ? &gin[1] : NULL, n->need[2] ? &gin[2] : NULL);
}

static sd_tensor *norm_record(sd_tensor *out, const char *name, sd_backward_fn bw,
                              sd_tensor *const *in, sd_tensor *mean, sd_tensor *invstd,
                              int64_t iarg) {
  sd_node *n = record(&out, name, bw, 3, in);
  if (n) {
    n->iarg[0] = iarg;
    sd_node_save(n, 0, in[0]);
    sd_node_save(n, 1, in[1]);
    sd_node_save(n, 2, mean);
    sd_node_save(n, 3, invstd);
    sd_node_attach(n, out);
  }
  sd_release(mean);
  sd_release(invstd);
  return out;
}

sd_tensor *sd_ad_batch_norm(const sd_tensor *x, sd_tensor *running_mean, sd_tensor *running_var,
                            const sd_tensor *weight, const sd_tensor *bias, bool training,
                            double momentum, double eps) {
  sd_tensor *mean = NULL, *invstd = NULL;
  sd_tensor *out = sd_batch_norm(x, running_mean, running_var, weight, bias, training, momentum,
                                 eps, &mean, &invstd);
  sd_tensor *in[3] = {(sd_tensor *)x, (sd_tensor *)weight, (sd_tensor *)bias};
  return norm_record(out, "batch_norm", batch_norm_bw, in, mean, invstd, training);
}

sd_tensor *sd_ad_layer_norm(const sd_tensor *x, int nnorm, const sd_tensor *weight,
                            const sd_tensor *bias, double eps) {
  sd_tensor *mean = NULL, *invstd = NULL;
  sd_tensor *out = sd_layer_norm(x, nnorm, weight, bias, eps, &mean, &invstd);
  sd_tensor *in[3] = {(sd_tensor *)x, (sd_tensor *)weight, (sd_tensor *)bias};
  return norm_record(out, "layer_norm", layer_norm_bw, in, mean, invstd, nnorm);
}

/* --- embedding: in {weight}, saved {flat indices}; backward = index_add --- */

static sd_status embedding_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  int64_t shape[2] = {-1, n->in_shape[0][1]};
  sd_tensor *gw = sd_zeros(g->dtype, 2, n->in_shape[0]), *g2 = sd_reshape(g, 2, shape);
  sd_status st = gw && g2 ? sd_index_add_(gw, 0, n->saved[0], g2) : SD_EMEM;
  sd_release(g2);
  if (st != SD_OK) { sd_release(gw); return st; }
  gin[0] = gw;
  return SD_OK;
}

sd_tensor *sd_ad_embedding(const sd_tensor *idx, const sd_tensor *weight) {
  char ws[128];
  if (weight->ndim != 2) {
    sd_error(SD_ESHAPE, "embedding: weight must be [num_embeddings, dim], got %s",
             sd_shape_str(weight, ws, sizeof ws));
    return NULL;
  }
  if (idx->dtype != SD_I64 && idx->dtype != SD_I32) {
    sd_error(SD_EARG, "embedding: indices must be integers (1-based), got %s", sd_dtype_name(idx->dtype));
    return NULL;
  }
  if (idx->ndim >= SD_MAXDIM) {
    sd_error(SD_ESHAPE, "embedding: indices have too many dims (%d)", idx->ndim);
    return NULL;
  }
  int64_t n = sd_numel(idx), shape[SD_MAXDIM];
  sd_tensor *flat = sd_reshape(idx, 1, &n);
  sd_tensor *rows = flat ? sd_index_select(weight, 0, flat) : NULL;
  memcpy(shape, idx->shape, sizeof(int64_t) * idx->ndim);
  shape[idx->ndim] = weight->shape[1];
  sd_tensor *out = rows ? sd_view(rows, idx->ndim + 1, shape) : NULL;
  sd_release(rows);
  sd_tensor *in[1] = {(sd_tensor *)weight};
  sd_node *node = record(&out, "embedding", embedding_bw, 1, in);
  if (node) {
    sd_node_save(node, 0, flat);
    sd_node_attach(node, out);
  }
  sd_release(flat);
  return out;
}

/* --- layers from sd_ad_ ops --- */

sd_tensor *sd_ad_linear(const sd_tensor *x, const sd_tensor *w, const sd_tensor *b) {
  char xs[128], ws[128];
  if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1]) {
    sd_shape_str(x, xs, sizeof xs);
    sd_shape_str(w, ws, sizeof ws);
    if (w->ndim != 2) sd_error(SD_ESHAPE, "linear: weight must be [out, in], got %s", ws);
    else sd_error(SD_ESHAPE, "linear: weight %s expects %lld input features, input %s has %lld", ws,
                  (long long)w->shape[1], xs, (long long)(x->ndim ? x->shape[x->ndim - 1] : 0));
    return NULL;
  }
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
    char bs[128];
    sd_error(SD_ESHAPE, "linear: bias must be [%lld] for weight %s, got %s", (long long)w->shape[0],
             sd_shape_str(w, ws, sizeof ws), sd_shape_str(b, bs, sizeof bs));
    return NULL;
  }
  sd_tensor *wt = sd_ad_transpose(w, 0, 1), *out;
  if (!wt) return NULL;
  if (x->ndim == 2 && b) out = sd_ad_addmm(b, x, wt, 1, 1);
  else {
    out = sd_ad_matmul(x, wt);
    if (out && b) {
      sd_tensor *s = sd_ad_binary(SD_ADD, out, b);
      sd_release(out);
      out = s;
    }
  }
  sd_release(wt);
  return out;
}

sd_tensor *sd_ad_dropout(const sd_tensor *x, double p, sd_gen *g) {
  if (!(p >= 0 && p <= 1)) {
    sd_error(SD_EARG, "dropout: probability must be in [0, 1], got %g", p);
    return NULL;
  }
  if (sd_nn_float("dropout", "input", x)) return NULL;
  if (p == 0) return sd_retain((sd_tensor *)x);
  sd_tensor *mask = sd_empty(x->dtype, x->ndim, x->shape);
  sd_tensor *scale = sd_scalar(x->dtype, p == 1 ? 0 : 1 / (1 - p)), *out = NULL;
  if (mask && scale && sd_bernoulli_(mask, g, NULL, 1 - p) == SD_OK &&
      sd_binary_(SD_MUL, mask, scale) == SD_OK)
    out = sd_ad_binary(SD_MUL, x, mask);
  sd_release(mask);
  sd_release(scale);
  return out;
}

sd_tensor *sd_ad_leaky_relu(const sd_tensor *x, double slope) {
  if (sd_nn_float("leaky_relu", "input", x)) return NULL;
  sd_tensor *zero = sd_scalar(x->dtype, 0), *s = sd_scalar(x->dtype, slope);
  sd_tensor *pos = zero ? sd_binary(SD_GT, x, zero) : NULL;
  sd_tensor *neg = s ? sd_ad_binary(SD_MUL, x, s) : NULL;
  sd_tensor *out = pos && neg ? sd_ad_where(pos, x, neg) : NULL;
  sd_release(zero); sd_release(s); sd_release(pos); sd_release(neg);
  return out;
}
