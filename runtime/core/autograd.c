/* autograd.c: grad mode, nodes, and the engine that walks them backward.

   backward and grad share one walk: collect the nodes reachable from the
   roots, order them topologically (Kahn), mark which ones lead to a wanted
   gradient, then run the rules in order, summing gradients that meet. The
   order depends only on how the graph was built, so results are the same
   bits every run. */
#include "autograd.h"
#include "ad.h"
#include <stdlib.h>
#include <string.h>

static _Thread_local bool grad_on = true;

bool sd_grad_enabled(void) { return grad_on; }
void sd_set_grad_enabled(bool on) { grad_on = on; }

bool sd_needs_grad(int nin, sd_tensor *const *in) {
  if (!grad_on) return false;
  for (int i = 0; i < nin; i++)
    if (in[i] && in[i]->requires_grad) return true;
  return false;
}

sd_node *sd_node_new(const char *name, sd_backward_fn bw, int nin, sd_tensor *const *in) {
  /* one block: the node, then its per-input arrays (largest alignment first) */
  size_t sz = sizeof(sd_node) + (size_t)nin * (sizeof(sd_edge) + sizeof(int64_t[SD_MAXDIM]) +
                                               sizeof(int) + sizeof(sd_dtype) + sizeof(bool));
  sd_node *n = nin >= 0 ? calloc(1, sz) : NULL;
  if (!n) { sd_error(SD_EMEM, "%s: out of memory recording the graph", name); return NULL; }
  char *p = (char *)(n + 1);
  n->next = (sd_edge *)p;                    p += (size_t)nin * sizeof(sd_edge);
  n->in_shape = (int64_t(*)[SD_MAXDIM])p;    p += (size_t)nin * sizeof(int64_t[SD_MAXDIM]);
  n->in_ndim = (int *)p;                     p += (size_t)nin * sizeof(int);
  n->in_dtype = (sd_dtype *)p;               p += (size_t)nin * sizeof(sd_dtype);
  n->need = (bool *)p;
  n->refcount = 1;
  n->name = name;
  n->backward = bw;
  n->nin = nin;
  for (int i = 0; i < nin; i++) {
    sd_tensor *t = in[i];
    if (!t) continue;
    n->in_ndim[i] = t->ndim;
    memcpy(n->in_shape[i], t->shape, sizeof n->in_shape[i]);
    n->in_dtype[i] = t->dtype;
    if (!t->requires_grad) continue;
    if (t->grad_fn) { n->next[i].node = t->grad_fn; t->grad_fn->refcount++; }
    else n->next[i].leaf = sd_retain(t);
  }
  return n;
}

void sd_node_save(sd_node *n, int slot, sd_tensor *t) {
  sd_release(n->saved[slot]);
  n->saved[slot] = sd_retain(t);
  n->saved_version[slot] = t ? t->storage->version : 0;
}

void sd_node_save_output(sd_node *n, int slot, sd_tensor *out) {
  sd_tensor *a = sd_alias(out);
  sd_node_save(n, slot, a); /* without its alias the node keeps nothing on failure */
  sd_release(a);
  if (a) n->saved_output |= 1u << slot;
}

void sd_node_attach(sd_node *n, sd_tensor *out) {
  sd_node_release(out->grad_fn);
  out->grad_fn = n;
  out->requires_grad = true;
}

static void node_drop_saved(sd_node *n) {
  for (int i = 0; i < SD_NODE_MAXSAVED; i++) { sd_release(n->saved[i]); n->saved[i] = NULL; }
  free(n->extra);
  n->extra = NULL;
}

/* Iterative, so that releasing a graph of a million chained ops does not
   overflow the C stack. */
void sd_node_release(sd_node *n) {
  sd_node **stack = NULL;
  size_t top = 0, cap = 0;
  while (n) {
    if (--n->refcount == 0) {
      node_drop_saved(n);
      sd_release(n->gacc);
      for (int i = 0; i < n->nin; i++) {
        sd_release(n->next[i].leaf);
        sd_node *m = n->next[i].node;
        if (!m) continue;
        if (top == cap) {
          size_t nc = cap ? 2 * cap : 16;
          sd_node **ns = realloc(stack, nc * sizeof *ns);
          if (!ns) { m->refcount--; continue; } /* leaks m rather than crash */
          stack = ns;
          cap = nc;
        }
        stack[top++] = m;
      }
      free(n);
    }
    n = top ? stack[--top] : NULL;
  }
  free(stack);
}

sd_status sd_set_requires_grad(sd_tensor *t, bool on) {
  if (t->grad_fn && !on)
    return sd_error(SD_EGRAD, "requires_grad: only a leaf can be set not to require grad; "
                              "use detach()");
  if (on && !sd_dtype_is_float(t->dtype))
    return sd_error(SD_EGRAD, "requires_grad: only f32 and f64 tensors can require grad, got %s",
                    sd_dtype_name(t->dtype));
  t->requires_grad = on;
  return SD_OK;
}

sd_tensor *sd_detach(const sd_tensor *t) { return sd_alias(t); }

sd_status sd_check_inplace(const sd_tensor *t, const char *fn) {
  if (grad_on && t->requires_grad)
    return sd_error(SD_EGRAD, "%s: in-place operation on a tensor that requires grad; "
                              "use the out-of-place form, or run it under autograd.no_grad",
                    fn);
  return SD_OK;
}

/* --- the walk --- */

typedef struct { sd_node **v; size_t n, cap; } nodevec;

static bool vec_push(nodevec *s, sd_node *n) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? 2 * s->cap : 32;
    sd_node **nv = realloc(s->v, nc * sizeof *nv);
    if (!nv) return false;
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n++] = n;
  return true;
}

static uint64_t walk_gen;

/* Sum g into *acc (a new sum: the old one may be held by the script). A
   first gradient is taken as it is only when nothing else can see it:
   rules pass one gradient on to several inputs, and a leaf's .grad must
   not share memory with another's. */
static sd_status accumulate(sd_tensor **acc, sd_tensor *g, bool create_graph) {
  if (!*acc) {
    bool alone = g->refcount == 1 && g->storage->refcount == 1 && !g->grad_fn;
    *acc = alone || create_graph ? sd_retain(g) : sd_clone(g);
    return *acc ? SD_OK : SD_EMEM;
  }
  sd_tensor *s = sd_ad_add(*acc, g, create_graph);
  if (!s) return SD_EMEM;
  sd_release(*acc);
  *acc = s;
  return SD_OK;
}

static sd_status check_grad_shape(sd_node *n, int i, sd_tensor *g) {
  if (g->ndim == n->in_ndim[i] && memcmp(g->shape, n->in_shape[i], (size_t)g->ndim * 8) == 0)
    return SD_OK;
  char a[128];
  return sd_error(SD_EGRAD, "backward of '%s' produced a gradient of shape %s for input %d "
                            "of another shape (internal error)",
                  n->name, sd_shape_str(g, a, sizeof a), i + 1);
}

typedef struct {
  int nin;
  sd_tensor *const *ins;
  sd_tensor **res;  /* grad mode: gradients of ins; NULL: backward mode */
} want;

/* Is leaf t wanted? backward: any leaf; grad: one of ins. */
static int wanted_leaf(const want *w, const sd_tensor *t) {
  if (!w->res) return 1;
  for (int i = 0; i < w->nin; i++) if (w->ins[i] == t) return 1;
  return 0;
}

static sd_status run(int nroot, sd_tensor *const *roots, sd_tensor *const *grads, want *w,
                     bool retain_graph, bool create_graph) {
  nodevec all = {0}, order = {0}, stack = {0};
  sd_status st = SD_OK;
  uint64_t gen = ++walk_gen;
  bool saved_mode = grad_on;

  /* roots that are leaves get their gradient directly */
  for (int r = 0; r < nroot; r++) {
    sd_tensor *t = roots[r];
    if (!t->grad_fn) {
      if (!w->res) {
        if ((st = accumulate(&t->grad, grads[r], false)) != SD_OK) goto done;
      } else {
        for (int i = 0; i < w->nin; i++)
          if (w->ins[i] == t && (st = accumulate(&w->res[i], grads[r], create_graph)) != SD_OK)
            goto done;
      }
      continue;
    }
    sd_node *n = t->grad_fn;
    if (n->mark != gen) {
      n->mark = gen;
      n->deps = 0;
      if (!vec_push(&stack, n) || !vec_push(&all, n)) { st = sd_error(SD_EMEM, "backward: out of memory"); goto done; }
    }
    if ((st = accumulate(&n->gacc, grads[r], create_graph)) != SD_OK) goto done;
  }
  /* collect and count consumers */
  while (stack.n) {
    sd_node *n = stack.v[--stack.n];
    for (int i = 0; i < n->nin; i++) {
      sd_node *m = n->next[i].node;
      if (!m) continue;
      if (m->mark != gen) {
        m->mark = gen;
        m->deps = 0;
        sd_release(m->gacc);
        m->gacc = NULL;
        if (!vec_push(&stack, m) || !vec_push(&all, m)) { st = sd_error(SD_EMEM, "backward: out of memory"); goto done; }
      }
      m->deps++;
    }
  }
  /* topological order: a node comes after all of its consumers */
  for (size_t i = 0; i < all.n; i++)
    if (all.v[i]->deps == 0 && !vec_push(&stack, all.v[i])) { st = sd_error(SD_EMEM, "backward: out of memory"); goto done; }
  while (stack.n) {
    sd_node *n = stack.v[--stack.n];
    if (!vec_push(&order, n)) { st = sd_error(SD_EMEM, "backward: out of memory"); goto done; }
    for (int i = n->nin - 1; i >= 0; i--) {
      sd_node *m = n->next[i].node;
      if (m && --m->deps == 0 && !vec_push(&stack, m)) { st = sd_error(SD_EMEM, "backward: out of memory"); goto done; }
    }
  }
  /* which nodes lead to a wanted gradient */
  for (size_t k = order.n; k-- > 0;) {
    sd_node *n = order.v[k];
    n->needed = false;
    if (w->res)
      for (int i = 0; i < w->nin; i++)
        if (w->ins[i]->grad_fn == n) n->needed = true;
    for (int i = 0; i < n->nin; i++) {
      n->need[i] = (n->next[i].leaf && wanted_leaf(w, n->next[i].leaf)) ||
                   (n->next[i].node && n->next[i].node->needed);
      if (n->need[i]) n->needed = true;
    }
  }
  grad_on = create_graph;
  for (size_t k = 0; k < order.n; k++) {
    sd_node *n = order.v[k];
    sd_tensor *g = n->gacc;
    n->gacc = NULL;
    if (w->res) /* a wanted non-leaf input: its gradient is complete here */
      for (int i = 0; i < w->nin; i++)
        if (w->ins[i]->grad_fn == n && g && (st = accumulate(&w->res[i], g, create_graph)) != SD_OK) {
          sd_release(g);
          goto done;
        }
    if (!n->needed || !g) { sd_release(g); continue; }
    if (n->freed) {
      sd_release(g);
      st = sd_error(SD_EGRAD, "backward through '%s' a second time: its saved tensors were freed "
                              "after the first backward; pass retain_graph=true the first time",
                    n->name);
      goto done;
    }
    for (int s = 0; s < SD_NODE_MAXSAVED; s++)
      if (n->saved[s] && n->saved[s]->storage->version != n->saved_version[s]) {
        sd_release(g);
        st = sd_error(SD_EGRAD, "backward of '%s': a tensor it saved was modified in place "
                                "(version %u, expected %u); use an out-of-place op or clone() first",
                      n->name, n->saved[s]->storage->version, n->saved_version[s]);
        goto done;
      }
    if ((st = sd_check_interrupt()) != SD_OK) { sd_release(g); goto done; }
    sd_tensor **gin = calloc((size_t)n->nin + 1, sizeof *gin);
    if (!gin) { sd_release(g); st = sd_error(SD_EMEM, "backward: out of memory"); goto done; }
    if (create_graph) /* lend the saved outputs their history */
      for (int s = 0; s < SD_NODE_MAXSAVED; s++)
        if (n->saved_output >> s & 1 && n->saved[s]) {
          n->saved[s]->grad_fn = n;
          n->saved[s]->requires_grad = true;
          n->refcount++;
        }
    st = n->backward(n, g, gin);
    if (create_graph)
      for (int s = 0; s < SD_NODE_MAXSAVED; s++)
        if (n->saved_output >> s & 1 && n->saved[s] && n->saved[s]->grad_fn == n) {
          n->saved[s]->grad_fn = NULL;
          n->saved[s]->requires_grad = false;
          n->refcount--;
        }
    sd_release(g);
    if (!retain_graph) { /* as PyTorch: only a node that saved something cannot run twice */
      for (int s = 0; s < SD_NODE_MAXSAVED; s++) n->freed |= n->saved[s] != NULL;
      node_drop_saved(n);
    }
    for (int i = 0; i < n->nin && st == SD_OK; i++) {
      if (!gin[i] || !n->need[i]) continue;
      if ((st = check_grad_shape(n, i, gin[i])) != SD_OK) break;
      if (n->next[i].leaf) {
        sd_tensor *leaf = n->next[i].leaf;
        if (!w->res) {
          st = accumulate(&leaf->grad, gin[i], false);
        } else {
          for (int j = 0; j < w->nin && st == SD_OK; j++)
            if (w->ins[j] == leaf) st = accumulate(&w->res[j], gin[i], create_graph);
        }
      } else if (n->next[i].node) {
        st = accumulate(&n->next[i].node->gacc, gin[i], create_graph);
      }
    }
    for (int i = 0; i < n->nin; i++) sd_release(gin[i]);
    free(gin);
    if (st != SD_OK) goto done;
  }
done:
  grad_on = saved_mode;
  for (size_t k = 0; k < all.n; k++) { sd_release(all.v[k]->gacc); all.v[k]->gacc = NULL; }
  free(all.v);
  free(order.v);
  free(stack.v);
  return st;
}

static sd_tensor *default_grad(sd_tensor *root, const char *fn) {
  if (sd_numel(root) != 1) {
    char a[128];
    sd_error(SD_EGRAD, "%s: the output has shape %s; a gradient is implicit only for "
                       "one-element outputs, so pass one of the same shape",
             fn, sd_shape_str(root, a, sizeof a));
    return NULL;
  }
  return sd_full(root->dtype, root->ndim, root->shape, 1.0);
}

static sd_status check_root(sd_tensor *root, sd_tensor *grad, const char *fn) {
  char a[128], b[128];
  if (!root->requires_grad)
    return sd_error(SD_EGRAD, "%s: the tensor does not require grad and has no grad_fn "
                              "(did an input call requires_grad()?)", fn);
  if (grad && !sd_same_shape(root, grad))
    return sd_error(SD_ESHAPE, "%s: gradient of shape %s for an output of shape %s", fn,
                    sd_shape_str(grad, a, sizeof a), sd_shape_str(root, b, sizeof b));
  return SD_OK;
}

sd_status sd_backward(sd_tensor *root, sd_tensor *grad, bool retain_graph, bool create_graph) {
  sd_status st = check_root(root, grad, "backward");
  if (st != SD_OK) return st;
  sd_tensor *g = grad ? sd_retain(grad) : default_grad(root, "backward");
  if (!g) return SD_EGRAD;
  want w = {0, NULL, NULL};
  st = run(1, &root, &g, &w, retain_graph || create_graph, create_graph);
  sd_release(g);
  return st;
}

sd_status sd_grad(int nout, sd_tensor *const *outs, sd_tensor *const *gouts, int nin,
                  sd_tensor *const *ins, sd_tensor **res, bool retain_graph, bool create_graph,
                  bool allow_unused) {
  sd_tensor *g[64] = {0};
  sd_status st = SD_OK;
  if (nout > 64) return sd_error(SD_EARG, "grad: at most 64 outputs");
  for (int i = 0; i < nin; i++) {
    res[i] = NULL;
    if (!ins[i]->requires_grad)
      return sd_error(SD_EGRAD, "grad: input %d does not require grad", i + 1);
  }
  int made = 0;
  for (; made < nout; made++) {
    if ((st = check_root(outs[made], gouts ? gouts[made] : NULL, "grad")) != SD_OK) break;
    g[made] = gouts && gouts[made] ? sd_retain(gouts[made]) : default_grad(outs[made], "grad");
    if (!g[made]) { st = SD_EGRAD; break; }
  }
  want w = {nin, ins, res};
  if (st == SD_OK) st = run(nout, outs, g, &w, retain_graph || create_graph, create_graph);
  for (int i = 0; i < made; i++) sd_release(g[i]);
  for (int i = 0; i < nin && st == SD_OK; i++)
    if (!res[i] && !allow_unused)
      st = sd_error(SD_EGRAD, "grad: input %d was not used to compute the outputs "
                              "(pass allow_unused=true to get nil)", i + 1);
  if (st != SD_OK)
    for (int i = 0; i < nin; i++) { sd_release(res[i]); res[i] = NULL; }
  return st;
}
