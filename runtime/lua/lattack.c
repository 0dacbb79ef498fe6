/* lattack.c: the `attack.kernels` module: the attack kernels in C
   (core in runtime/ml) that stdlib/attack*.lua calls. */
#include "lsonde.h"

static const sd_reg attack_kernel_fns[] = {
  {NULL, NULL, NULL, NULL},
};

int sd_open_attack_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "attack.kernels", '.', attack_kernel_fns);
  return 1;
}
