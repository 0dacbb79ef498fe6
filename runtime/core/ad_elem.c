/* ad_elem.c: differentiable elementwise ops, reductions and dim-wise ops
   (ops.h). Each rule is the textbook derivative written with sd_ad_ ops,
   so it is itself differentiable (create_graph). Ops with boolean or
   integer results (comparisons, argmax, ...) are not differentiable: their
   outputs never require grad (the explicit mark is sd_ad_nondiff). */
#include "ad.h"
#include "ops.h"
#include <math.h>
#include <string.h>

/* --- a small arena: rules make many temporaries, released together --- */

typedef struct { sd_tensor *v[64]; int n; } arena;

static sd_tensor *keep(arena *a, sd_tensor *t) {
  if (t && a->n < 64) a->v[a->n++] = t;
  else if (t) { sd_release(t); t = NULL; sd_error(SD_EMEM, "autograd: arena full"); }
  return t;
}
static void arena_free(arena *a) { for (int i = 0; i < a->n; i++) sd_release(a->v[i]); }
/* the result leaves the arena with its own reference */
static sd_tensor *give(sd_tensor *t) { return sd_retain(t); }

static sd_tensor *B(arena *a, sd_binop op, const sd_tensor *x, const sd_tensor *y) {
  return x && y ? keep(a, sd_ad_binary(op, x, y)) : NULL;
}
static sd_tensor *U(arena *a, sd_unop op, const sd_tensor *x) {
  return x ? keep(a, sd_ad_unary(op, x)) : NULL;
}
/* raw (unrecorded) ops, for masks and piecewise-constant factors */
static sd_tensor *RB(arena *a, sd_binop op, const sd_tensor *x, const sd_tensor *y) {
  return x && y ? keep(a, sd_binary(op, x, y)) : NULL;
}
static sd_tensor *RU(arena *a, sd_unop op, const sd_tensor *x) {
  return x ? keep(a, sd_unary(op, x)) : NULL;
}
static sd_tensor *W(arena *a, const sd_tensor *cond, const sd_tensor *x, const sd_tensor *y) {
  return cond && x && y ? keep(a, sd_ad_where(cond, x, y)) : NULL;
}
static sd_tensor *C(arena *a, const sd_tensor *like, double v) {
  return like ? keep(a, sd_scalar(like->dtype, v)) : NULL;
}
static sd_tensor *SUMTO(arena *a, const sd_tensor *g, const sd_node *n, int i) {
  return g ? keep(a, sd_ad_sum_to(g, n->in_ndim[i], n->in_shape[i])) : NULL;
}
/* a reduced gradient back to the input's shape (reinserting a dim) */
static sd_tensor *EXPAND(arena *a, const sd_tensor *g, const sd_node *n) {
  if (!g) return NULL;
  int dim = (int)n->iarg[0];
  bool keepdim = n->iarg[1];
  const sd_tensor *u = g;
  if (dim != SD_NODIM && !keepdim && n->in_ndim[0] > 0) u = keep(a, sd_ad_unsqueeze(g, dim));
  return u ? keep(a, sd_ad_expand(u, n->in_ndim[0], n->in_shape[0])) : NULL;
}

/* sum over i >= j of v_i along dim: a cumsum from the end */
static sd_tensor *REVCUMSUM(arena *a, const sd_tensor *v, int dim) {
  sd_tensor *f = v ? keep(a, sd_ad_flip(v, 1, &dim)) : NULL;
  sd_tensor *c = f ? keep(a, sd_ad_dimwise(SD_CUMSUM, f, dim)) : NULL;
  return c ? keep(a, sd_ad_flip(c, 1, &dim)) : NULL;
}

/* --- binary --- */

static sd_status binary_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  arena A = {0}, *a = &A;
  sd_binop op = (sd_binop)n->iarg[0];
  sd_tensor *x = n->saved[0], *y = n->saved[1], *out = n->saved[2];
  sd_tensor *gx = NULL, *gy = NULL;
  switch (op) {
  case SD_ADD: gx = g; gy = g; break;
  case SD_SUB: gx = g; gy = U(a, SD_NEG, g); break;
  case SD_MUL: gx = B(a, SD_MUL, g, y); gy = B(a, SD_MUL, g, x); break;
  case SD_DIV:
    gx = B(a, SD_DIV, g, y);
    if (n->need[1]) gy = U(a, SD_NEG, B(a, SD_MUL, gx, B(a, SD_DIV, x, y)));
    break;
  case SD_POW: /* d/dx = y x^(y-1); d/dy = x^y log x, taken as 0 where x = 0 */
    if (n->need[0]) gx = B(a, SD_MUL, g, B(a, SD_MUL, y, B(a, SD_POW, x, B(a, SD_SUB, y, C(a, y, 1)))));
    if (n->need[1]) {
      sd_tensor *lx = U(a, SD_LOG, x);
      sd_tensor *zero = C(a, x, 0);
      sd_tensor *safe = lx && zero ? keep(a, sd_ad_where(keep(a, sd_binary(SD_EQ, x, zero)), zero, lx)) : NULL;
      gy = B(a, SD_MUL, g, B(a, SD_MUL, out, safe));
    }
    break;
  case SD_MAXIMUM:
  case SD_MINIMUM: { /* ties share the gradient equally, as PyTorch */
    sd_tensor *win = keep(a, sd_binary(op == SD_MAXIMUM ? SD_GT : SD_LT, x, y));
    sd_tensor *tie = keep(a, sd_binary(SD_EQ, x, y));
    sd_tensor *wx = win && tie ? B(a, SD_ADD, keep(a, sd_to_dtype(win, g->dtype)),
                                   B(a, SD_MUL, keep(a, sd_to_dtype(tie, g->dtype)), C(a, g, 0.5))) : NULL;
    gx = B(a, SD_MUL, g, wx);
    gy = B(a, SD_MUL, g, B(a, SD_SUB, C(a, g, 1), wx));
    break;
  }
  case SD_ATAN2: { /* atan2(x, y): d/dx = y/(x²+y²), d/dy = -x/(x²+y²) */
    sd_tensor *r = B(a, SD_ADD, U(a, SD_SQUARE, x), U(a, SD_SQUARE, y));
    gx = B(a, SD_MUL, g, B(a, SD_DIV, y, r));
    gy = B(a, SD_MUL, g, U(a, SD_NEG, B(a, SD_DIV, x, r)));
    break;
  }
  case SD_FMOD:
  case SD_REMAINDER: /* x - q y, q = trunc (fmod) or floor (remainder) of x/y */
    gx = g;
    if (n->need[1]) {
      sd_tensor *d = RB(a, SD_DIV, x, y), *q;
      if (op == SD_REMAINDER) q = RU(a, SD_FLOOR, d);
      else q = RB(a, SD_MUL, RU(a, SD_SIGN, d), RU(a, SD_FLOOR, RU(a, SD_ABS, d)));
      gy = B(a, SD_MUL, U(a, SD_NEG, g), q);
    }
    break;
  default: break;
  }
  if (n->need[0]) gin[0] = gx ? give(SUMTO(a, gx, n, 0)) : NULL;
  if (n->need[1]) gin[1] = gy ? give(SUMTO(a, gy, n, 1)) : NULL;
  bool bad = (n->need[0] && !gin[0]) || (n->need[1] && !gin[1]);
  arena_free(a);
  return bad ? SD_EMEM : SD_OK;
}

static bool binop_differentiable(sd_binop op) { return op <= SD_ATAN2 || op == SD_REMAINDER; }

sd_tensor *sd_ad_binary(sd_binop op, const sd_tensor *x, const sd_tensor *y) {
  sd_tensor *out = sd_binary(op, x, y);
  sd_tensor *in[2] = {(sd_tensor *)x, (sd_tensor *)y};
  if (!out || !binop_differentiable(op) || !sd_dtype_is_float(out->dtype) || !sd_needs_grad(2, in))
    return out;
  sd_node *n = sd_node_new(sd_binop_names[op], binary_bw, 2, in);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = op;
  if (op != SD_ADD && op != SD_SUB) { sd_node_save(n, 0, in[0]); sd_node_save(n, 1, in[1]); }
  if (op == SD_POW) sd_node_save_output(n, 2, out);
  sd_node_attach(n, out);
  return out;
}

/* --- unary --- */

/* Φ(x) + x φ(x): the derivative of the erf form of GELU. Computed raw, so
   a second derivative through GELU is not available. */
static void gelu_grad_loop(char **p, const int64_t *bs, int64_t n, void *ctx) {
  sd_dtype dt = *(sd_dtype *)ctx;
  for (int64_t i = 0; i < n; i++, p[0] += bs[0], p[1] += bs[1]) {
    double x = sd_get_ptr(dt, p[1]);
    double cdf = 0.5 * (1 + erf(x / sqrt(2.0))), pdf = exp(-0.5 * x * x) / sqrt(2 * M_PI);
    sd_set_ptr(dt, p[0], cdf + x * pdf);
  }
}

static sd_tensor *gelu_grad(const sd_tensor *x) {
  sd_tensor *o = sd_empty(x->dtype, x->ndim, x->shape);
  if (!o) return NULL;
  sd_tensor *ops[2] = {o, (sd_tensor *)x};
  sd_dtype dt = x->dtype;
  if (sd_foreach(2, ops, gelu_grad_loop, &dt) != SD_OK) { sd_release(o); return NULL; }
  return o;
}

static sd_status unary_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  arena A = {0}, *a = &A;
  sd_unop op = (sd_unop)n->iarg[0];
  sd_tensor *x = n->saved[0], *out = n->saved[1], *r = NULL;
  switch (op) {
  case SD_NEG: r = U(a, SD_NEG, g); break;
  case SD_ABS: r = B(a, SD_MUL, g, keep(a, sd_unary(SD_SIGN, x))); break;
  case SD_EXP: r = B(a, SD_MUL, g, out); break;
  case SD_LOG: r = B(a, SD_DIV, g, x); break;
  case SD_LOG1P: r = B(a, SD_DIV, g, B(a, SD_ADD, x, C(a, x, 1))); break;
  case SD_EXPM1: r = B(a, SD_MUL, g, B(a, SD_ADD, out, C(a, out, 1))); break;
  case SD_SQRT: r = B(a, SD_DIV, g, B(a, SD_MUL, out, C(a, out, 2))); break;
  case SD_RSQRT: r = B(a, SD_MUL, g, B(a, SD_MUL, C(a, out, -0.5), B(a, SD_POW, out, C(a, out, 3)))); break;
  case SD_SIN: r = B(a, SD_MUL, g, U(a, SD_COS, x)); break;
  case SD_COS: r = B(a, SD_MUL, g, U(a, SD_NEG, U(a, SD_SIN, x))); break;
  case SD_TANH: r = B(a, SD_MUL, g, B(a, SD_SUB, C(a, out, 1), U(a, SD_SQUARE, out))); break;
  case SD_SIGMOID: r = B(a, SD_MUL, g, B(a, SD_MUL, out, B(a, SD_SUB, C(a, out, 1), out))); break;
  case SD_RELU: r = B(a, SD_MUL, g, keep(a, sd_to_dtype(keep(a, sd_binary(SD_GT, out, keep(a, sd_scalar(out->dtype, 0)))), g->dtype))); break;
  case SD_GELU: r = B(a, SD_MUL, g, keep(a, gelu_grad(x))); break;
  case SD_SOFTPLUS: { /* sigmoid(x), and exactly 1 where softplus is x itself */
    sd_tensor *s = U(a, SD_SIGMOID, x);
    sd_tensor *lin = keep(a, sd_binary(SD_GT, x, keep(a, sd_scalar(x->dtype, 20))));
    r = s && lin ? B(a, SD_MUL, g, keep(a, sd_ad_where(lin, C(a, s, 1), s))) : NULL;
    break;
  }
  case SD_RECIPROCAL: r = B(a, SD_MUL, g, U(a, SD_NEG, U(a, SD_SQUARE, out))); break;
  case SD_SQUARE: r = B(a, SD_MUL, g, B(a, SD_MUL, x, C(a, x, 2))); break;
  default: /* sign floor ceil round: zero almost everywhere */
    r = NULL;
    break;
  }
  gin[0] = r ? give(r) : NULL;
  bool zero = op == SD_SIGN || op == SD_FLOOR || op == SD_CEIL || op == SD_ROUND;
  bool bad = !r && !zero;
  arena_free(a);
  return bad ? SD_EMEM : SD_OK;
}

sd_tensor *sd_ad_unary(sd_unop op, const sd_tensor *x) {
  sd_tensor *out = sd_unary(op, x);
  if (!out || op >= SD_ISNAN || !sd_dtype_is_float(out->dtype) ||
      !sd_needs_grad(1, (sd_tensor *const *)&x))
    return out;
  sd_node *n = sd_node_new(sd_unop_names[op], unary_bw, 1, (sd_tensor *const *)&x);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = op;
  sd_node_save(n, 0, (sd_tensor *)x);
  if (op == SD_EXP || op == SD_EXPM1 || op == SD_SQRT || op == SD_RSQRT || op == SD_TANH ||
      op == SD_SIGMOID || op == SD_RELU || op == SD_RECIPROCAL)
    sd_node_save_output(n, 1, out);
  sd_node_attach(n, out);
  return out;
}

/* --- where and clamp --- */

static sd_status where_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  arena A = {0}, *a = &A;
  sd_tensor *cond = n->saved[0], *zero = C(a, g, 0);
  for (int i = 1; i <= 2; i++) {
    if (!n->need[i]) continue;
    sd_tensor *w = zero ? keep(a, i == 1 ? sd_ad_where(cond, g, zero) : sd_ad_where(cond, zero, g)) : NULL;
    gin[i] = w ? give(SUMTO(a, w, n, i)) : NULL;
    if (!gin[i]) { arena_free(a); return SD_EMEM; }
  }
  arena_free(a);
  return SD_OK;
}

sd_tensor *sd_ad_where(const sd_tensor *cond, const sd_tensor *x, const sd_tensor *y) {
  sd_tensor *out = sd_where(cond, x, y);
  sd_tensor *in[3] = {NULL, (sd_tensor *)x, (sd_tensor *)y};
  if (!out || !sd_dtype_is_float(out->dtype) || !sd_needs_grad(3, in)) return out;
  sd_node *n = sd_node_new("where", where_bw, 3, in);
  if (!n) { sd_release(out); return NULL; }
  sd_node_save(n, 0, (sd_tensor *)cond);
  sd_node_attach(n, out);
  return out;
}

static sd_status clamp_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  arena A = {0}, *a = &A;
  sd_tensor *x = n->saved[0];
  sd_tensor *lo = keep(a, sd_binary(SD_GE, x, keep(a, sd_scalar(x->dtype, n->farg[0]))));
  sd_tensor *hi = keep(a, sd_binary(SD_LE, x, keep(a, sd_scalar(x->dtype, n->farg[1]))));
  sd_tensor *in = lo && hi ? keep(a, sd_binary(SD_LOGICAL_AND, lo, hi)) : NULL;
  sd_tensor *r = in ? B(a, SD_MUL, g, keep(a, sd_to_dtype(in, g->dtype))) : NULL;
  gin[0] = r ? give(r) : NULL;
  arena_free(a);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_clamp(const sd_tensor *x, double lo, double hi) {
  sd_tensor *out = sd_clamp(x, lo, hi);
  if (!out || !sd_needs_grad(1, (sd_tensor *const *)&x)) return out;
  sd_node *n = sd_node_new("clamp", clamp_bw, 1, (sd_tensor *const *)&x);
  if (!n) { sd_release(out); return NULL; }
  n->farg[0] = lo;
  n->farg[1] = hi;
  sd_node_save(n, 0, (sd_tensor *)x);
  sd_node_attach(n, out);
  return out;
}

/* --- reductions: iarg = {dim, keepdim}, farg[0] = arg --- */

static sd_tensor *R(arena *a, sd_redop op, const sd_tensor *x, int dim, bool keepdim, double arg) {
  return x ? keep(a, sd_ad_reduce(op, x, dim, keepdim, arg)) : NULL;
}

static int64_t reduced_count(const sd_node *n) {
  int dim = (int)n->iarg[0];
  if (dim != SD_NODIM) return n->in_ndim[0] ? n->in_shape[0][dim] : 1;
  int64_t c = 1;
  for (int i = 0; i < n->in_ndim[0]; i++) c *= n->in_shape[0][i];
  return c;
}

static sd_status reduce_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  arena A = {0}, *a = &A;
  sd_redop op = (sd_redop)n->iarg[0 + 2];
  sd_tensor *x = n->saved[0], *out = n->saved[1], *r = NULL;
  sd_tensor *ge = EXPAND(a, g, n);
  double cnt = (double)reduced_count(n), corr = n->farg[0];
  switch (op) {
  case SD_SUM: r = ge; break;
  case SD_MEAN: r = B(a, SD_DIV, ge, C(a, ge, cnt)); break;
  case SD_PROD: { /* the product of the others: out / x without zeros; with one
                     zero, the product of the nonzeros at the zero and 0 elsewhere;
                     with two or more, 0 (so no 0/0) */
    sd_tensor *zb = RB(a, SD_EQ, x, C(a, x, 0));
    sd_tensor *zero = C(a, x, 0);
    sd_tensor *x1 = W(a, zb, C(a, x, 1), x);
    sd_tensor *p1 = R(a, SD_PROD, x1, (int)n->iarg[0], n->iarg[1], 0);
    sd_tensor *z = zb ? keep(a, sd_reduce(SD_SUM, zb, (int)n->iarg[0], n->iarg[1], 0)) : NULL;
    sd_tensor *q0 = W(a, RB(a, SD_EQ, z, C(a, z, 0)), p1, zero);
    sd_tensor *q1 = W(a, RB(a, SD_EQ, z, C(a, z, 1)), p1, zero);
    sd_tensor *t1 = B(a, SD_DIV, EXPAND(a, q0, n), x1);
    sd_tensor *t2 = W(a, zb, EXPAND(a, q1, n), zero);
    r = B(a, SD_MUL, ge, B(a, SD_ADD, t1, t2));
    break;
  }
  case SD_AMAX:
  case SD_AMIN: { /* shared equally among the tied extremes, as PyTorch */
    sd_tensor *m = keep(a, sd_binary(SD_EQ, x, EXPAND(a, out, n)));
    sd_tensor *mf = m ? keep(a, sd_to_dtype(m, g->dtype)) : NULL;
    sd_tensor *c = mf ? EXPAND(a, keep(a, sd_reduce(SD_SUM, mf, (int)n->iarg[0], n->iarg[1], 0)), n) : NULL;
    r = B(a, SD_MUL, ge, B(a, SD_DIV, mf, c));
    break;
  }
  case SD_VAR:
  case SD_STD: {
    sd_tensor *mu = EXPAND(a, R(a, SD_MEAN, x, (int)n->iarg[0], n->iarg[1], 0), n);
    sd_tensor *d = B(a, SD_SUB, x, mu);
    r = B(a, SD_MUL, ge, B(a, SD_MUL, d, C(a, x, 2.0 / (cnt - corr))));
    if (op == SD_STD) r = B(a, SD_DIV, r, B(a, SD_MUL, C(a, x, 2), EXPAND(a, out, n)));
    break;
  }
  case SD_NORM: {
    double p = corr;
    sd_tensor *oe = EXPAND(a, out, n);
    if (p == 1) r = B(a, SD_MUL, ge, keep(a, sd_unary(SD_SIGN, x)));
    else if (p == 2) r = B(a, SD_MUL, ge, B(a, SD_DIV, x, oe));
    else if (isinf(p)) {
      sd_tensor *ax = U(a, SD_ABS, x);
      sd_tensor *m = ax ? keep(a, sd_binary(SD_EQ, ax, oe)) : NULL;
      sd_tensor *mf = m ? keep(a, sd_to_dtype(m, g->dtype)) : NULL;
      sd_tensor *c = mf ? EXPAND(a, keep(a, sd_reduce(SD_SUM, mf, (int)n->iarg[0], n->iarg[1], 0)), n) : NULL;
      r = B(a, SD_MUL, ge, B(a, SD_MUL, keep(a, sd_unary(SD_SIGN, x)), B(a, SD_DIV, mf, c)));
    } else { /* x |x|^(p-2) / ‖x‖^(p-1) */
      sd_tensor *ax = U(a, SD_ABS, x);
      r = B(a, SD_MUL, ge, B(a, SD_DIV, B(a, SD_MUL, x, B(a, SD_POW, ax, C(a, x, p - 2))),
                                B(a, SD_POW, oe, C(a, x, p - 1))));
    }
    break;
  }
  case SD_LOGSUMEXP: r = B(a, SD_MUL, ge, U(a, SD_EXP, B(a, SD_SUB, x, EXPAND(a, out, n)))); break;
  default: break;
  }
  gin[0] = r ? give(r) : NULL;
  arena_free(a);
  return gin[0] ? SD_OK : SD_EMEM;
}

static bool redop_differentiable(sd_redop op) {
  return op != SD_ARGMAX && op != SD_ARGMIN && op != SD_ALL && op != SD_ANY;
}

sd_tensor *sd_ad_reduce(sd_redop op, const sd_tensor *x, int dim, bool keepdim, double arg) {
  sd_tensor *out = sd_reduce(op, x, dim, keepdim, arg);
  if (!out || !redop_differentiable(op) || !sd_dtype_is_float(out->dtype) ||
      !sd_needs_grad(1, (sd_tensor *const *)&x))
    return out;
  sd_node *n = sd_node_new(sd_redop_names[op], reduce_bw, 1, (sd_tensor *const *)&x);
  if (!n) { sd_release(out); return NULL; }
  if (dim != SD_NODIM && dim < 0) dim += x->ndim;
  n->iarg[0] = x->ndim == 0 ? SD_NODIM : dim;
  n->iarg[1] = keepdim;
  n->iarg[2] = op;
  n->farg[0] = arg;
  if (op != SD_SUM && op != SD_MEAN) { sd_node_save(n, 0, (sd_tensor *)x); sd_node_save_output(n, 1, out); }
  sd_node_attach(n, out);
  return out;
}

/* --- dim-wise: iarg = {dim, op} --- */

/* cumprod's gradient, d/dx_j = sum over i >= j of g_i prod_{k <= i, k != j} x_k,
   for y = cumprod(x). In a slice whose first zero is at z: before z, the
   reversed cumsum of g·y over x (nonzero there); at z, the reversed cumsum
   of g·y1, y1 = cumprod(x1), x1 = x with x_z taken as 1; after z, 0, every
   product holding x_z. Nothing is divided by a zero. *x1 and *y1 are set
   to NULL when x has no zero. */
static sd_tensor *cumprod_first(arena *a, sd_tensor *g, const sd_tensor *x, const sd_tensor *y,
                                int dim, sd_tensor **x1, sd_tensor **y1, sd_tensor **first) {
  sd_tensor *zb = RB(a, SD_EQ, x, C(a, x, 0));
  sd_tensor *any = zb ? keep(a, sd_reduce(SD_ANY, zb, SD_NODIM, false, 0)) : NULL;
  sd_tensor *gy = REVCUMSUM(a, B(a, SD_MUL, g, y), dim);
  *x1 = *y1 = *first = NULL;
  if (!any || sd_get_flat(any, 0) == 0) return B(a, SD_DIV, gy, x);
  sd_tensor *cz = keep(a, sd_dimwise(SD_CUMSUM, zb, dim)); /* zeros up to j */
  sd_tensor *before = RB(a, SD_EQ, cz, C(a, cz, 0)), *one = C(a, x, 1);
  *first = RB(a, SD_LOGICAL_AND, zb, RB(a, SD_EQ, cz, C(a, cz, 1)));
  *x1 = W(a, *first, one, x);
  *y1 = *x1 ? keep(a, sd_ad_dimwise(SD_CUMPROD, *x1, dim)) : NULL;
  sd_tensor *t2 = REVCUMSUM(a, B(a, SD_MUL, g, *y1), dim);
  return W(a, before, B(a, SD_DIV, gy, W(a, before, x, one)), W(a, *first, t2, C(a, x, 0)));
}

/* The same, exact to the second derivative: after z the gradient is x_z
   times the gradient of cumprod(x1) there (0 in value, not in slope). */
static sd_tensor *cumprod_bw(arena *a, sd_tensor *g, const sd_tensor *x, const sd_tensor *y, int dim) {
  sd_tensor *x1, *y1, *first, *x2, *y2, *first2;
  sd_tensor *r = cumprod_first(a, g, x, y, dim, &x1, &y1, &first);
  if (!r || !x1) return r;
  sd_tensor *q = cumprod_first(a, g, x1, y1, dim, &x2, &y2, &first2);
  sd_tensor *xz = R(a, SD_SUM, W(a, first, x, C(a, x, 0)), dim, true, 0);
  sd_tensor *zb = RB(a, SD_EQ, x, C(a, x, 0));
  sd_tensor *cz = zb ? keep(a, sd_dimwise(SD_CUMSUM, zb, dim)) : NULL;
  sd_tensor *after = RB(a, SD_GE, RB(a, SD_SUB, cz, zb), C(a, cz, 1)); /* a zero before j */
  return W(a, after, B(a, SD_MUL, xz, q), r);
}

static sd_status dimwise_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  arena A = {0}, *a = &A;
  int dim = (int)n->iarg[0];
  sd_dimop op = (sd_dimop)n->iarg[1];
  sd_tensor *x = n->saved[0], *out = n->saved[1], *r = NULL;
  switch (op) {
  case SD_SOFTMAX: { /* y (g - sum(g y)) */
    sd_tensor *gy = B(a, SD_MUL, g, out);
    r = B(a, SD_MUL, out, B(a, SD_SUB, g, R(a, SD_SUM, gy, dim, true, 0)));
    break;
  }
  case SD_LOG_SOFTMAX: /* g - exp(y) sum(g) */
    r = B(a, SD_SUB, g, B(a, SD_MUL, U(a, SD_EXP, out), R(a, SD_SUM, g, dim, true, 0)));
    break;
  case SD_CUMSUM: { /* reversed cumulative sum of g: total - cumsum + g */
    sd_tensor *c = g ? keep(a, sd_ad_dimwise(SD_CUMSUM, g, dim)) : NULL;
    r = B(a, SD_ADD, B(a, SD_SUB, R(a, SD_SUM, g, dim, true, 0), c), g);
    break;
  }
  case SD_CUMPROD: r = cumprod_bw(a, g, x, out, dim); break;
  default: break;
  }
  gin[0] = r ? give(r) : NULL;
  arena_free(a);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_dimwise(sd_dimop op, const sd_tensor *x, int dim) {
  sd_tensor *out = sd_dimwise(op, x, dim);
  if (!out || !sd_dtype_is_float(out->dtype) || !sd_needs_grad(1, (sd_tensor *const *)&x))
    return out;
  sd_node *n = sd_node_new(sd_dimop_names[op], dimwise_bw, 1, (sd_tensor *const *)&x);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = dim < 0 ? dim + x->ndim : dim;
  n->iarg[1] = op;
  sd_node_save(n, 0, (sd_tensor *)x);
  sd_node_save_output(n, 1, out);
  sd_node_attach(n, out);
  return out;
}
