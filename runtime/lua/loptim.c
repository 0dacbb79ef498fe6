/* loptim.c: the `optim.kernels` module: fused in-place optimizer updates
   (core in optim.c) called by stdlib/optim.lua once per parameter. */
#include "lsonde.h"
#include "../core/autograd.h"
#include "../core/optim.h"

/* The parameter may require grad: the update is outside the tape, so it
   refuses to run while recording, as PyTorch's torch.no_grad() step. */
static sd_tensor *param(lua_State *L, const char *fn) {
  sd_tensor *p = sd_lua_check(L, 1);
  if (sd_grad_enabled() && p->requires_grad)
    luaL_error(L, "%s: run under autograd.no_grad (the parameter requires grad)", fn);
  return p;
}

/* sgd_step_(p, g, buf|nil, lr, momentum, dampening, weight_decay, nesterov, first) */
static int l_sgd_step_(lua_State *L) {
  sd_tensor *p = param(L, "sgd_step_");
  sd_tensor *g = sd_lua_check(L, 2);
  sd_tensor *buf = lua_isnil(L, 3) ? NULL : sd_lua_check(L, 3);
  if (sd_sgd_step_(p, g, buf, luaL_checknumber(L, 4), luaL_checknumber(L, 5), luaL_checknumber(L, 6),
                   luaL_checknumber(L, 7), lua_toboolean(L, 8), lua_toboolean(L, 9)) != SD_OK)
    return sd_lua_fail(L, "sgd_step_");
  return 0;
}

/* adam_step_(p, g, m, v, step, lr, b1, b2, eps, weight_decay, decoupled) */
static int l_adam_step_(lua_State *L) {
  sd_tensor *p = param(L, "adam_step_");
  sd_tensor *g = sd_lua_check(L, 2), *m = sd_lua_check(L, 3), *v = sd_lua_check(L, 4);
  if (sd_adam_step_(p, g, m, v, luaL_checkinteger(L, 5), luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                    luaL_checknumber(L, 8), luaL_checknumber(L, 9), luaL_checknumber(L, 10),
                    lua_toboolean(L, 11)) != SD_OK)
    return sd_lua_fail(L, "adam_step_");
  return 0;
}

static const sd_reg optim_kernel_fns[] = {
  {"sgd_step_", l_sgd_step_,
   "optim.kernels.sgd_step_(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first)",
   "one SGD update of p (and its momentum buffer) in place, as torch.optim.SGD"},
  {"adam_step_", l_adam_step_,
   "optim.kernels.adam_step_(p, g, m, v, step, lr, b1, b2, eps, weight_decay, decoupled)",
   "one Adam (decoupled: AdamW) update of p, m and v in place, as torch.optim"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_optim_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "optim.kernels", '.', optim_kernel_fns);
  return 1;
}
