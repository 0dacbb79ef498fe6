/* autograd.c: grad mode and node life cycle. */
#include "autograd.h"
#include <stdlib.h>

static _Thread_local bool grad_on = true;

bool sd_grad_enabled(void) { return grad_on; }
void sd_set_grad_enabled(bool on) { grad_on = on; }

void sd_node_release(sd_node *n) {
  if (!n || --n->refcount > 0) return;
  for (int i = 0; i < n->nin; i++) sd_release(n->in[i]);
  for (int i = 0; i < SD_NODE_MAXSAVED; i++) sd_release(n->saved[i]);
  free(n);
}
