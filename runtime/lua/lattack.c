/* lattack.c: the `attack.kernels` module: the attack kernels in C
   (core in runtime/ml/attack.h) that stdlib/attack*.lua calls. */
#include "lsonde.h"
#include "../ml/attack.h"

/* linf_step_(adv, x, g, alpha, eps, [lo, hi]) */
static int l_linf_step(lua_State *L) {
  sd_tensor *adv = sd_lua_check_inplace(L, 1, "linf_step_");
  sd_tensor *x = sd_lua_check(L, 2), *g = sd_lua_check(L, 3);
  double alpha = luaL_checknumber(L, 4), eps = luaL_checknumber(L, 5);
  bool clip = !lua_isnoneornil(L, 6);
  double lo = clip ? luaL_checknumber(L, 6) : 0, hi = clip ? luaL_checknumber(L, 7) : 0;
  if (sd_attack_linf_step(adv, x, g, alpha, eps, clip, lo, hi) != SD_OK) return sd_lua_fail(L, "linf_step_");
  lua_settop(L, 1);
  return 1;
}

static const sd_reg attack_kernel_fns[] = {
  {"linf_step_", l_linf_step, "attack.kernels.linf_step_(adv, x, g, alpha, eps, [lo, hi])",
   "in place: adv = clamp(x + clamp(adv + alpha sign(g) - x, -eps, eps), lo, hi), one fused pass (contiguous, f32/f64)"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_attack_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "attack.kernels", '.', attack_kernel_fns);
  return 1;
}
