/* act.c: ReLU for the nn layer, with a backward that is one masked copy.

   relu records a node saving its output y; its rule is relu_mask(g, y) =
   g where y > 0, else 0. relu_mask is linear in g with the same mask, so
   it records itself as its own rule: gradients of every order, each one
   pass over memory (the generic where/to_dtype path costs several). */
#include "ad_nn.h"
#include "nn_impl.h"
#include "parallel.h"

typedef struct { const char *g, *y; char *out; bool d; } job;

/* o = g where y > 0, else +0: a select on bits, which vectorises (a
   float ternary becomes a mispredicted branch on real data). */
static void mask_task(int64_t i0, int64_t i1, void *p) {
  const job *j = p;
  if (j->d) {
    const uint64_t *g = (const uint64_t *)j->g;
    const double *y = (const double *)j->y;
    uint64_t *o = (uint64_t *)j->out;
    for (int64_t i = i0; i < i1; i++) o[i] = g[i] & -(uint64_t)(y[i] > 0);
  } else {
    const uint32_t *g = (const uint32_t *)j->g;
    const float *y = (const float *)j->y;
    uint32_t *o = (uint32_t *)j->out;
    for (int64_t i = i0; i < i1; i++) o[i] = g[i] & -(uint32_t)(y[i] > 0);
  }
}

static sd_tensor *relu_mask(const sd_tensor *g, const sd_tensor *y);

static sd_status relu_mask_bw(sd_node *n, sd_tensor *g, sd_tensor **gin) {
  gin[0] = relu_mask(g, n->saved[0]);
  return gin[0] ? SD_OK : SD_EMEM;
}

/* g (any layout, y's shape) where y > 0, else 0, in y's dtype; recorded. */
static sd_tensor *relu_mask(const sd_tensor *g, const sd_tensor *y) {
  sd_tensor *gc = sd_nn_dense(g, y->dtype), *yc = sd_contiguous(y);
  sd_tensor *out = sd_empty(y->dtype, y->ndim, y->shape);
  if (!gc || !yc || !out) {
    sd_release(gc); sd_release(yc); sd_release(out);
    return NULL;
  }
  job j = {sd_data(gc), sd_data(yc), sd_data(out), y->dtype == SD_F64};
  sd_parallel_for(sd_numel(out), 1 << 15, mask_task, &j);
  sd_release(gc);
  sd_release(yc);
  sd_tensor *in[1] = {(sd_tensor *)g};
  if (!sd_needs_grad(1, in)) return out;
  sd_node *n = sd_node_new("relu_backward", relu_mask_bw, 1, in);
  if (!n) { sd_release(out); return NULL; }
  sd_node_save(n, 0, (sd_tensor *)y);
  sd_node_attach(n, out);
  return out;
}

sd_tensor *sd_ad_relu(const sd_tensor *x) {
  if (sd_nn_float("relu", "input", x)) return NULL;
  sd_tensor *out = sd_unary(SD_RELU, x), *in[1] = {(sd_tensor *)x};
  if (!out || !sd_needs_grad(1, in)) return out;
  sd_node *n = sd_node_new("relu", relu_mask_bw, 1, in);
  if (!n) { sd_release(out); return NULL; }
  sd_tensor *y = sd_alias(out); /* a header without grad_fn: no cycle through the node */
  if (!y) { sd_node_release(n); sd_release(out); return NULL; }
  sd_node_save(n, 0, y);
  sd_release(y);
  sd_node_attach(n, out);
  return out;
}
