/* lmetrics.c: the `metrics.kernels` module: representation-similarity,
   classification-metric and feature-ranking kernels in C (core in
   runtime/ml) that stdlib/metrics_class.lua, metrics_repr.lua and
   probe_tools.lua call. */
#include "lsonde.h"

static const sd_reg metrics_kernel_fns[] = {
  {NULL, NULL, NULL, NULL},
};

int sd_open_metrics_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "metrics.kernels", '.', metrics_kernel_fns);
  return 1;
}
