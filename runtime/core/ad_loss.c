/* ad_loss.c: differentiable losses. cross_entropy and nll_loss record one
   node over the fused kernels of loss.c (first order, gradient to the
   input only); the regression and divergence losses are written with
   sd_ad_ ops, so they have every order and reach both arguments. Their
   two arguments must have the same shape: a silent broadcast of a [N] target
   against a [N, 1] prediction is a classic bug, so it is refused. */
#include "ad_nn.h"
#include "nn_impl.h"

/* --- cross_entropy and nll_loss: in {x}, saved {x, target, weight} --- */

static sd_class_loss_args class_args(const sd_node *n) {
  return (sd_class_loss_args){.weight = n->saved[2], .label_smoothing = n->farg[0],
                              .reduction = (sd_reduction)n->iarg[0], .has_ignore = n->iarg[1],
                              .ignore_index = n->iarg[2]};
}

static sd_status cross_entropy_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  sd_class_loss_args a = class_args(n);
  gin[0] = sd_cross_entropy_backward(g, n->saved[0], n->saved[1], &a);
  return gin[0] ? SD_OK : SD_EMEM;
}

static sd_status nll_loss_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  sd_class_loss_args a = class_args(n);
  gin[0] = sd_nll_loss_backward(g, n->saved[0], n->saved[1], &a);
  return gin[0] ? SD_OK : SD_EMEM;
}

static sd_tensor *class_record(sd_tensor *out, const char *name, sd_backward_fn bw,
                               const sd_tensor *x, const sd_tensor *target,
                               const sd_class_loss_args *a) {
  sd_tensor *in[1] = {(sd_tensor *)x};
  if (!out || !sd_needs_grad(1, in)) return out;
  sd_node *n = sd_node_new(name, bw, 1, in);
  if (!n) { sd_release(out); return NULL; }
  sd_node_save(n, 0, in[0]);
  sd_node_save(n, 1, (sd_tensor *)target);
  sd_node_save(n, 2, (sd_tensor *)a->weight);
  n->farg[0] = a->label_smoothing;
  n->iarg[0] = a->reduction;
  n->iarg[1] = a->has_ignore;
  n->iarg[2] = a->ignore_index;
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_cross_entropy(const sd_tensor *logits, const sd_tensor *target,
                               const sd_class_loss_args *a) {
  return class_record(sd_cross_entropy(logits, target, a), "cross_entropy", cross_entropy_bw,
                      logits, target, a);
}

sd_tensor *sd_ad_nll_loss(const sd_tensor *logp, const sd_tensor *target,
                          const sd_class_loss_args *a) {
  return class_record(sd_nll_loss(logp, target, a), "nll_loss", nll_loss_bw, logp, target, a);
}

/* --- composite losses: temporaries in an arena, released together --- */

typedef struct { sd_tensor *v[16]; int n; } arena;

static sd_tensor *keep(arena *a, sd_tensor *t) {
  if (t && a->n < 16) a->v[a->n++] = t;
  else if (t) { sd_release(t); t = NULL; sd_error(SD_EMEM, "loss: arena full"); }
  return t;
}
static void arena_free(arena *a) { for (int i = 0; i < a->n; i++) sd_release(a->v[i]); }
static sd_tensor *B(arena *a, sd_binop op, const sd_tensor *x, const sd_tensor *y) {
  return x && y ? keep(a, sd_ad_binary(op, x, y)) : NULL;
}
static sd_tensor *U(arena *a, sd_unop op, const sd_tensor *x) {
  return x ? keep(a, sd_ad_unary(op, x)) : NULL;
}
static sd_tensor *C(arena *a, const sd_tensor *like, double v) {
  return keep(a, sd_scalar(like->dtype, v));
}

static sd_status pair_check(const char *fn, const sd_tensor *x, const sd_tensor *y, sd_reduction r) {
  char xs[128], ys[128];
  if (sd_nn_float(fn, "input", x) || sd_nn_float(fn, "target", y)) return SD_EARG;
  if (!sd_same_shape(x, y))
    return sd_error(SD_ESHAPE, "%s: input %s and target %s must have the same shape", fn,
                    sd_shape_str(x, xs, sizeof xs), sd_shape_str(y, ys, sizeof ys));
  if (r > SD_REDUCE_BATCHMEAN) return sd_error(SD_EARG, "%s: unknown reduction", fn);
  return SD_OK;
}

/* l reduced (a new reference; the arena keeps l). batchmean: sum / size of dim 0. */
static sd_tensor *reduce(arena *a, sd_tensor *l, sd_reduction r) {
  if (!l) return NULL;
  switch (r) {
  case SD_REDUCE_NONE: return sd_retain(l);
  case SD_REDUCE_MEAN: return sd_ad_reduce(SD_MEAN, l, SD_NODIM, false, 0);
  case SD_REDUCE_SUM: return sd_ad_reduce(SD_SUM, l, SD_NODIM, false, 0);
  default: {
    sd_tensor *s = keep(a, sd_ad_reduce(SD_SUM, l, SD_NODIM, false, 0));
    sd_tensor *q = s ? C(a, s, (double)(l->ndim ? l->shape[0] : 1)) : NULL;
    return s && q ? sd_ad_binary(SD_DIV, s, q) : NULL;
  }
  }
}

static sd_tensor *finish(arena *a, sd_tensor *l, sd_reduction r) {
  sd_tensor *out = reduce(a, l, r);
  arena_free(a);
  return out;
}

sd_tensor *sd_ad_mse_loss(const sd_tensor *x, const sd_tensor *y, sd_reduction r) {
  if (pair_check("mse_loss", x, y, r)) return NULL;
  arena A = {0}, *a = &A;
  return finish(a, U(a, SD_SQUARE, B(a, SD_SUB, x, y)), r);
}

sd_tensor *sd_ad_l1_loss(const sd_tensor *x, const sd_tensor *y, sd_reduction r) {
  if (pair_check("l1_loss", x, y, r)) return NULL;
  arena A = {0}, *a = &A;
  return finish(a, U(a, SD_ABS, B(a, SD_SUB, x, y)), r);
}

/* |d| < beta ? d²/(2 beta) : |d| - beta/2 (plain |d| for beta 0) */
sd_tensor *sd_ad_smooth_l1_loss(const sd_tensor *x, const sd_tensor *y, double beta, sd_reduction r) {
  if (pair_check("smooth_l1_loss", x, y, r)) return NULL;
  if (beta < 0) { sd_error(SD_EARG, "smooth_l1_loss: beta must be >= 0, got %g", beta); return NULL; }
  if (beta == 0) return sd_ad_l1_loss(x, y, r);
  arena A = {0}, *a = &A;
  sd_tensor *d = B(a, SD_SUB, x, y), *ad = U(a, SD_ABS, d);
  sd_tensor *quad = B(a, SD_MUL, U(a, SD_SQUARE, d), C(a, x, 0.5 / beta));
  sd_tensor *lin = B(a, SD_SUB, ad, C(a, x, 0.5 * beta));
  sd_tensor *small = ad ? keep(a, sd_binary(SD_LT, ad, C(a, x, beta))) : NULL;
  sd_tensor *l = small && quad && lin ? keep(a, sd_ad_where(small, quad, lin)) : NULL;
  return finish(a, l, r);
}

/* (1 - y) x + (1 + (pw - 1) y) softplus(-x), times weight */
sd_tensor *sd_ad_bce_with_logits(const sd_tensor *x, const sd_tensor *y, const sd_tensor *weight,
                                 const sd_tensor *pos_weight, sd_reduction r) {
  if (pair_check("binary_cross_entropy_with_logits", x, y, r)) return NULL;
  char xs[128], ps[128];
  if (pos_weight && (x->ndim == 0 || pos_weight->ndim != 1 ||
                     pos_weight->shape[0] != x->shape[x->ndim - 1])) {
    sd_error(SD_ESHAPE, "binary_cross_entropy_with_logits: pos_weight %s must be [%lld] (the "
             "classes, the last dim of input %s)", sd_shape_str(pos_weight, ps, sizeof ps),
             (long long)(x->ndim ? x->shape[x->ndim - 1] : 0), sd_shape_str(x, xs, sizeof xs));
    return NULL;
  }
  arena A = {0}, *a = &A;
  sd_tensor *sp = U(a, SD_SOFTPLUS, U(a, SD_NEG, x));
  if (pos_weight)
    sp = B(a, SD_MUL, sp, B(a, SD_ADD, C(a, x, 1), B(a, SD_MUL, B(a, SD_SUB, pos_weight, C(a, x, 1)), y)));
  sd_tensor *l = B(a, SD_ADD, B(a, SD_MUL, B(a, SD_SUB, C(a, x, 1), y), x), sp);
  if (weight) l = B(a, SD_MUL, l, weight);
  if (l && !sd_same_shape(l, x)) {
    sd_error(SD_ESHAPE, "binary_cross_entropy_with_logits: weight does not broadcast to input %s",
             sd_shape_str(x, xs, sizeof xs));
    l = NULL;
  }
  return finish(a, l, r);
}

/* target (log target - input), 0 where target is 0 (xlogy) */
sd_tensor *sd_ad_kl_div(const sd_tensor *input, const sd_tensor *target, sd_reduction r,
                        bool log_target) {
  if (pair_check("kl_div", input, target, r)) return NULL;
  arena A = {0}, *a = &A;
  sd_tensor *l;
  if (log_target) {
    l = B(a, SD_MUL, U(a, SD_EXP, target), B(a, SD_SUB, target, input));
  } else {
    sd_tensor *zero = keep(a, sd_binary(SD_EQ, target, C(a, target, 0)));
    sd_tensor *safe = zero ? keep(a, sd_ad_where(zero, C(a, target, 1), target)) : NULL;
    l = B(a, SD_SUB, B(a, SD_MUL, target, U(a, SD_LOG, safe)), B(a, SD_MUL, target, input));
  }
  return finish(a, l, r);
}
