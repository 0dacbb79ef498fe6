/* ad_special.c: lgamma, digamma and polygamma, differentiable (special.h):
   d/dx polygamma(n, x) = polygamma(n + 1, x), lgamma being order -1. The
   rule is written with sd_ad_polygamma again, so gradients of gradients
   work. Integer inputs give f32 results that record nothing. */
#include "ad.h"
#include "special.h"

static sd_status polygamma_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  sd_tensor *d = sd_ad_polygamma((int)n->iarg[0] + 1, n->saved[0]);
  gin[0] = d ? sd_ad_binary(SD_MUL, g, d) : NULL;
  sd_release(d);
  return gin[0] ? SD_OK : SD_EMEM;
}

sd_tensor *sd_ad_polygamma(int order, const sd_tensor *x) {
  sd_tensor *out = sd_polygamma(order, x);
  if (!out || !sd_dtype_is_float(x->dtype) || !sd_needs_grad(1, (sd_tensor *const *)&x)) return out;
  sd_node *n = sd_node_new(order == -1 ? "lgamma" : order == 0 ? "digamma" : "polygamma", polygamma_bw, 1,
                           (sd_tensor *const *)&x);
  if (!n) { sd_release(out); return NULL; }
  n->iarg[0] = order;
  sd_node_save(n, 0, (sd_tensor *)x);
  sd_node_attach(n, out);
  return out;
}
