/* ltensor_special.c: tensor.lgamma, digamma and polygamma (core in
   runtime/core/special.c), differentiable, as torch's. */
#include "lsonde.h"
#include "../core/ad.h"

static int order(lua_State *L, int idx) {
  lua_Integer n = luaL_checkinteger(L, idx);
  if (n < 0 || n > 100) return luaL_argerror(L, idx, lua_pushfstring(L, "order n must be in 0..100, got %I", n));
  return (int)n;
}

static int l_lgamma(lua_State *L) {
  sd_lua_push(L, sd_ad_polygamma(-1, sd_lua_check(L, 1)), "lgamma");
  return 1;
}

static int l_digamma(lua_State *L) {
  sd_lua_push(L, sd_ad_polygamma(0, sd_lua_check(L, 1)), "digamma");
  return 1;
}

static int l_polygamma(lua_State *L) { /* tensor.polygamma(n, x) */
  int n = order(L, 1);
  sd_lua_push(L, sd_ad_polygamma(n, sd_lua_check(L, 2)), "polygamma");
  return 1;
}

static int m_polygamma(lua_State *L) { /* x:polygamma(n) */
  int n = order(L, 2);
  sd_lua_push(L, sd_ad_polygamma(n, sd_lua_check(L, 1)), "polygamma");
  return 1;
}

const sd_reg sd_tensor_special_fns[] = {
  {"lgamma", l_lgamma, "tensor.lgamma(x)", "log |Gamma(x)|; +inf at 0, -1, -2, ... (integers give f32)"},
  {"digamma", l_digamma, "tensor.digamma(x)", "d/dx lgamma(x), psi; -+inf at -+0, NaN at negative integers"},
  {"polygamma", l_polygamma, "tensor.polygamma(n, x)", "n-th derivative of digamma (n >= 0; n = 1: trigamma), as torch.polygamma"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_special_methods[] = {
  {"lgamma", l_lgamma, "t:lgamma()", "log |Gamma(t)|"},
  {"digamma", l_digamma, "t:digamma()", "psi(t), the derivative of lgamma"},
  {"polygamma", m_polygamma, "t:polygamma(n)", "n-th derivative of digamma at t"},
  {NULL, NULL, NULL, NULL},
};
