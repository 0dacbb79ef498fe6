/* autograd.h: the define-by-run tape. An op whose input requires grad
   records a node on its output: the node holds the inputs and the tensors
   its backward rule needs, never the output itself, so no cycle forms.
   The engine (backward, grad) and the rules come with the autograd issue;
   this header fixes the shape every op family records into. */
#ifndef SD_AUTOGRAD_H
#define SD_AUTOGRAD_H

#include "tensor.h"

#define SD_NODE_MAXIN 4
#define SD_NODE_MAXSAVED 4

/* Computes the gradients of the node's inputs from the gradient of its
   output. gin[i] is left NULL for inputs that need none. */
typedef sd_status (*sd_backward_fn)(sd_node *n, sd_tensor *gout, sd_tensor **gin);

struct sd_node {
  int refcount;
  const char *name;                      /* the op, for messages */
  sd_backward_fn backward;
  int nin;
  sd_tensor *in[SD_NODE_MAXIN];          /* retained */
  sd_tensor *saved[SD_NODE_MAXSAVED];    /* retained */
  uint32_t saved_version[SD_NODE_MAXSAVED];
  int64_t iarg[SD_MAXDIM * 2];           /* op arguments: dims, shapes, ... */
  double farg[4];
  int out_ndim;                          /* the output's shape, for checks */
  int64_t out_shape[SD_MAXDIM];
  sd_dtype out_dtype;
};

bool sd_grad_enabled(void);
void sd_set_grad_enabled(bool on);
void sd_node_release(sd_node *n);

#endif
