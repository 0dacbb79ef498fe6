/* autograd.h: the define-by-run tape.

   An op whose input requires grad (in grad mode) records a node on its
   output. A node holds edges to where its inputs' gradients go (the
   input's own node, or the input itself when it is a leaf), the facts of
   its inputs (shape, dtype) and the tensors its backward rule needs; never
   its output and never a non-leaf input, so the graph holds no cycle and
   intermediate results are freed as soon as the script drops them.

   Raw ops (ops.h, index.h, linalg.h, tensor.h) never record; the
   differentiable layer (ad.h) wraps them and is what the bindings call. */
#ifndef SD_AUTOGRAD_H
#define SD_AUTOGRAD_H

#include "tensor.h"

#define SD_NODE_MAXSAVED 4

/* Computes gin[i] (gin has n->nin entries, all NULL on entry) for each input i with n->need[i] set, from the gradient
   of the node's output. A rule may leave gin[i] NULL for a zero gradient.
   In create_graph mode grad mode is on while rules run, so rules written
   with differentiable ops give higher-order gradients. */
typedef sd_status (*sd_backward_fn)(sd_node *n, sd_tensor *gout, sd_tensor **gin);

typedef struct { sd_node *node; sd_tensor *leaf; } sd_edge; /* at most one set */

struct sd_node {
  int refcount;
  const char *name;                      /* the op, for messages */
  sd_backward_fn backward;
  int nin;                               /* any number: the arrays below have nin entries */
  sd_edge *next;
  int *in_ndim;
  int64_t (*in_shape)[SD_MAXDIM];
  sd_dtype *in_dtype;
  bool *need;                            /* set by the engine before the rule runs */
  sd_tensor *saved[SD_NODE_MAXSAVED];
  uint32_t saved_version[SD_NODE_MAXSAVED];
  unsigned saved_output;                 /* bit i: saved[i] is this node's output */
  int64_t iarg[2 * SD_MAXDIM];           /* op arguments: dims, sizes, ... */
  double farg[4];
  void *extra;                           /* rule-owned data, freed with free() */
  /* engine scratch */
  sd_tensor *gacc;
  uint64_t mark;
  int deps;
  bool needed, freed;
};

bool sd_grad_enabled(void);
void sd_set_grad_enabled(bool on);

/* True when an op over these inputs must record (grad mode and an input
   requires grad). NULL entries are allowed. */
bool sd_needs_grad(int nin, sd_tensor *const *in);
/* A node over these inputs, or NULL with an error on OOM. */
sd_node *sd_node_new(const char *name, sd_backward_fn bw, int nin, sd_tensor *const *in);
/* Keep t for the rule (retained; its storage version is checked at backward). */
void sd_node_save(sd_node *n, int slot, sd_tensor *t);
/* Keep the node's own output for the rule, without a cycle: an alias with
   no history is saved, and the engine lends it the node as grad_fn while
   the rule runs in create_graph mode, so gradients of gradients still
   flow through it. */
void sd_node_save_output(sd_node *n, int slot, sd_tensor *out);
/* Make n the grad_fn of out (takes over the reference to n). */
void sd_node_attach(sd_node *n, sd_tensor *out);
void sd_node_release(sd_node *n);

/* root.backward(grad): accumulates into the .grad of the leaves. grad may
   be NULL for a one-element root. */
sd_status sd_backward(sd_tensor *root, sd_tensor *grad, bool retain_graph, bool create_graph);
/* Gradients of sum_i <outs[i], gouts[i]> with respect to ins, into res
   (new references; NULL entries where an input is unreachable and
   allow_unused). Touches no .grad. */
sd_status sd_grad(int nout, sd_tensor *const *outs, sd_tensor *const *gouts, int nin,
                  sd_tensor *const *ins, sd_tensor **res, bool retain_graph, bool create_graph,
                  bool allow_unused);

/* t.requires_grad = on (leaves only: a non-leaf always requires grad). */
sd_status sd_set_requires_grad(sd_tensor *t, bool on);
/* A new header over the same storage, cut from the graph. */
sd_tensor *sd_detach(const sd_tensor *t);

/* Refuses in-place writes the tape cannot follow: on a tensor that
   requires grad while grad mode is on. */
sd_status sd_check_inplace(const sd_tensor *t, const char *fn);

#endif
