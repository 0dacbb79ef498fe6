/* ldetect.c: the `detect.kernels` module: the detector (kNN, isolation forest, LOF, ECOD, HBOS) and ranking-metric kernels in C
   (core in runtime/ml) that stdlib/detect*.lua calls. */
#include "lsonde.h"

static const sd_reg detect_kernel_fns[] = {
  {NULL, NULL, NULL, NULL},
};

int sd_open_detect_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "detect.kernels", '.', detect_kernel_fns);
  return 1;
}
