/* ad_linalg.c: differentiable products. Every product is reduced to one
   recorded op, a (batched) matrix product of operands with at least 2
   dims: 1-d operands are lifted by (differentiable) unsqueeze and the
   result squeezed back, so their gradients follow from the views'. */
#include "ad.h"
#include "linalg.h"

/* dA = g Bᵀ, dB = Aᵀ g, each summed over the batch dims it was broadcast along. */
static sd_status matmul_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  sd_tensor *a = n->saved[0], *b = n->saved[1];
  double alpha = n->farg[0];
  for (int i = 0; i < 2; i++) {
    if (!n->need[i]) continue;
    sd_tensor *other = i == 0 ? b : a;
    sd_tensor *ot = sd_ad_transpose(other, -1, -2);
    sd_tensor *p = ot ? (i == 0 ? sd_ad_matmul(g, ot) : sd_ad_matmul(ot, g)) : NULL;
    sd_release(ot);
    if (p && alpha != 1) {
      sd_tensor *s = sd_scalar(p->dtype, alpha), *q = s ? sd_ad_binary(SD_MUL, p, s) : NULL;
      sd_release(s);
      sd_release(p);
      p = q;
    }
    gin[i] = p ? sd_ad_sum_to(p, n->in_ndim[i], n->in_shape[i]) : NULL;
    sd_release(p);
    if (!gin[i]) return SD_EMEM;
  }
  if (n->nin == 3 && n->need[2]) { /* addmm's c: beta g, summed to c's shape */
    sd_tensor *s = sd_scalar(g->dtype, n->farg[1]), *q = s ? sd_ad_binary(SD_MUL, g, s) : NULL;
    sd_release(s);
    gin[2] = q ? sd_ad_sum_to(q, n->in_ndim[2], n->in_shape[2]) : NULL;
    sd_release(q);
    if (!gin[2]) return SD_EMEM;
  }
  return SD_OK;
}

static sd_tensor *record(sd_tensor *out, int nin, sd_tensor **in, double alpha, double beta) {
  if (!out || !sd_needs_grad(nin, in)) return out;
  sd_node *n = sd_node_new(nin == 3 ? "addmm" : "matmul", matmul_bw, nin, in);
  if (!n) { sd_release(out); return NULL; }
  sd_node_save(n, 0, in[0]);
  sd_node_save(n, 1, in[1]);
  n->farg[0] = alpha;
  n->farg[1] = beta;
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_matmul(const sd_tensor *a, const sd_tensor *b) {
  if (a->ndim >= 2 && b->ndim >= 2) {
    sd_tensor *in[2] = {(sd_tensor *)a, (sd_tensor *)b};
    return record(sd_matmul(a, b), 2, in, 1, 0);
  }
  if (a->ndim == 0 || b->ndim == 0) {
    sd_error(SD_ESHAPE, "matmul: both arguments need at least 1 dim, got %d and %d", a->ndim, b->ndim);
    return NULL;
  }
  sd_tensor *a2 = a->ndim == 1 ? sd_ad_unsqueeze(a, 0) : sd_retain((sd_tensor *)a);
  sd_tensor *b2 = b->ndim == 1 ? sd_ad_unsqueeze(b, 1) : sd_retain((sd_tensor *)b);
  sd_tensor *p = a2 && b2 ? sd_ad_matmul(a2, b2) : NULL, *out = p;
  if (p && b->ndim == 1) { out = sd_ad_squeeze(p, p->ndim - 1); sd_release(p); p = out; }
  if (p && a->ndim == 1) { out = sd_ad_squeeze(p, p->ndim - 2 < 0 ? 0 : p->ndim - 2); sd_release(p); }
  sd_release(a2);
  sd_release(b2);
  return out;
}

/* Products of fixed ranks: the raw op reports a wrong rank in its words;
   the right ranks go through matmul, which records. */
typedef sd_tensor *(*raw_product)(const sd_tensor *, const sd_tensor *);

static sd_tensor *ranked(raw_product raw, const sd_tensor *a, int da, const sd_tensor *b, int db) {
  if (a->ndim != da || b->ndim != db) return raw(a, b);
  return sd_ad_matmul(a, b);
}

sd_tensor *sd_ad_mm(const sd_tensor *a, const sd_tensor *b) { return ranked(sd_mm, a, 2, b, 2); }
sd_tensor *sd_ad_bmm(const sd_tensor *a, const sd_tensor *b) {
  if (a->ndim == 3 && b->ndim == 3 && a->shape[0] != b->shape[0]) return sd_bmm(a, b);
  return ranked(sd_bmm, a, 3, b, 3);
}
sd_tensor *sd_ad_mv(const sd_tensor *a, const sd_tensor *b) { return ranked(sd_mv, a, 2, b, 1); }
/* dot keeps its own forward (summed in f64, in order): d/da = g b, d/db = g a */
static sd_status dot_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  for (int i = 0; i < 2; i++)
    if (n->need[i] && !(gin[i] = sd_ad_binary(SD_MUL, g, n->saved[1 - i]))) return SD_EMEM;
  return SD_OK;
}

sd_tensor *sd_ad_dot(const sd_tensor *a, const sd_tensor *b) {
  sd_tensor *out = sd_dot(a, b), *in[2] = {(sd_tensor *)a, (sd_tensor *)b};
  if (!out || !sd_needs_grad(2, in)) return out;
  sd_node *n = sd_node_new("dot", dot_bw, 2, in);
  if (!n) { sd_release(out); return NULL; }
  sd_node_save(n, 0, in[0]);
  sd_node_save(n, 1, in[1]);
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_outer(const sd_tensor *a, const sd_tensor *b) {
  if (a->ndim != 1 || b->ndim != 1) return sd_outer(a, b);
  sd_tensor *a2 = sd_ad_unsqueeze(a, 1), *b2 = sd_ad_unsqueeze(b, 0);
  sd_tensor *out = a2 && b2 ? sd_ad_matmul(a2, b2) : NULL;
  sd_release(a2);
  sd_release(b2);
  return out;
}

sd_tensor *sd_ad_addmm(const sd_tensor *c, const sd_tensor *a, const sd_tensor *b, double beta,
                       double alpha) {
  sd_tensor *in[3] = {(sd_tensor *)a, (sd_tensor *)b, (sd_tensor *)c};
  return record(sd_addmm(c, a, b, beta, alpha), 3, in, alpha, beta);
}
