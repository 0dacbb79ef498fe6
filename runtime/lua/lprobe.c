/* lprobe.c: the `probe.kernels` module: the probe.logistic's L-BFGS and other probe kernels in C
   (core in runtime/ml) that stdlib/probe*.lua calls. */
#include "lsonde.h"

static const sd_reg probe_kernel_fns[] = {
  {NULL, NULL, NULL, NULL},
};

int sd_open_probe_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "probe.kernels", '.', probe_kernel_fns);
  return 1;
}
