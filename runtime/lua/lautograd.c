/* lautograd.c: the `autograd` module and the Tensor methods of the tape:
   requires_grad, backward, grad, detach, no_grad. */
#include "lsonde.h"
#include "../core/autograd.h"


/* x:requires_grad([flag]): sets the flag (default true), returns x. */
static int m_requires_grad(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  bool on = lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2);
  if (sd_set_requires_grad(t, on) != SD_OK) return sd_lua_fail(L, "requires_grad");
  lua_settop(L, 1);
  return 1;
}

static int m_needs_grad(lua_State *L) {
  lua_pushboolean(L, sd_lua_check(L, 1)->requires_grad);
  return 1;
}

static int m_is_leaf(lua_State *L) {
  lua_pushboolean(L, sd_lua_check(L, 1)->grad_fn == NULL);
  return 1;
}

static int m_grad_fn(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (t->grad_fn) lua_pushstring(L, t->grad_fn->name);
  else lua_pushnil(L);
  return 1;
}

/* y:backward([grad], {retain_graph=, create_graph=}) */
static int m_backward(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_tensor *g = sd_lua_test(L, 2);
  int opts = g ? 3 : 2;
  if (!g && !lua_isnoneornil(L, 2) && !lua_istable(L, 2)) luaL_typeerror(L, 2, "tensor or options");
  bool retain = sd_lua_optbool(L, opts, "retain_graph", false);
  bool create = sd_lua_optbool(L, opts, "create_graph", false);
  if (sd_backward(t, g, retain, create) != SD_OK) return sd_lua_fail(L, "backward");
  return 0;
}

static int m_zero_grad(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_release(t->grad);
  t->grad = NULL;
  lua_settop(L, 1);
  return 1;
}

static int m_detach(lua_State *L) {
  sd_lua_push(L, sd_detach(sd_lua_check(L, 1)), "detach");
  return 1;
}

/* Tensors from a tensor or a list of tensors at idx into v (max n). */
static int tensor_list(lua_State *L, int idx, sd_tensor **v, int n, const char *what) {
  sd_tensor *t = sd_lua_test(L, idx);
  if (t) { v[0] = t; return 1; }
  luaL_checktype(L, idx, LUA_TTABLE);
  int len = (int)luaL_len(L, idx);
  if (len > n) luaL_error(L, "grad: at most %d %s", n, what);
  for (int i = 0; i < len; i++) {
    lua_geti(L, idx, i + 1);
    v[i] = sd_lua_test(L, -1);
    if (!v[i]) luaL_error(L, "grad: %s entry %d is not a tensor", what, i + 1);
    lua_pop(L, 1); /* still referenced by the table */
  }
  return len;
}

/* autograd.grad(outputs, inputs, {grad_outputs=, retain_graph=, create_graph=, allow_unused=}) */
static int l_grad(lua_State *L) {
  sd_tensor *outs[64], *ins[64], *gouts[64] = {0}, *res[64];
  int nout = tensor_list(L, 1, outs, 64, "outputs");
  int nin = tensor_list(L, 2, ins, 64, "inputs");
  bool single = sd_lua_test(L, 2) != NULL;
  lua_settop(L, 3);
  bool have_g = false;
  if (lua_istable(L, 3) && lua_getfield(L, 3, "grad_outputs") != LUA_TNIL) {
    int ng = tensor_list(L, 4, gouts, 64, "grad_outputs");
    if (ng != nout) return luaL_error(L, "grad: %d grad_outputs for %d outputs", ng, nout);
    have_g = true;
  }
  sd_status st = sd_grad(nout, outs, have_g ? gouts : NULL, nin, ins, res,
                         sd_lua_optbool(L, 3, "retain_graph", false), sd_lua_optbool(L, 3, "create_graph", false),
                         sd_lua_optbool(L, 3, "allow_unused", false));
  if (st != SD_OK) return sd_lua_fail(L, "grad");
  lua_createtable(L, nin, 0);
  for (int i = 0; i < nin; i++) {
    if (res[i]) sd_lua_push(L, res[i], "grad");
    else lua_pushnil(L);
    lua_seti(L, -2, i + 1);
  }
  if (single) lua_geti(L, -1, 1);
  return 1;
}

/* Runs f(...) with grad mode set to on, restoring it even when f raises. */
static int with_mode(lua_State *L, bool on) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  bool old = sd_grad_enabled();
  sd_set_grad_enabled(on);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  sd_set_grad_enabled(old);
  if (st != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

static int l_no_grad(lua_State *L) { return with_mode(L, false); }
static int l_enable_grad(lua_State *L) { return with_mode(L, true); }

static int l_set_grad_enabled(lua_State *L) {
  sd_set_grad_enabled(lua_toboolean(L, 1));
  return 0;
}

static int l_is_grad_enabled(lua_State *L) {
  lua_pushboolean(L, sd_grad_enabled());
  return 1;
}

/* gradcheck lives in Lua (stdlib/gradcheck.lua), loaded on first use. */
static int l_gradcheck(lua_State *L) {
  int n = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gradcheck");
  lua_call(L, 1, 1);
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

const sd_reg sd_autograd_methods[] = {
  {"requires_grad", m_requires_grad, "t:requires_grad([flag])",
   "mark t (a float leaf) as needing gradients (default true); returns t"},
  {"needs_grad", m_needs_grad, "t:needs_grad()", "true when t requires grad (a marked leaf or a result of one)"},
  {"is_leaf", m_is_leaf, "t:is_leaf()", "true when t was not computed by a recorded op"},
  {"grad_fn", m_grad_fn, "t:grad_fn()", "name of the op that computed t, or nil"},
  {"backward", m_backward, "t:backward([grad], {retain_graph=, create_graph=})",
   "accumulate d(t)/d(leaf) into every leaf's .grad"},
  {"zero_grad", m_zero_grad, "t:zero_grad()", "drop t.grad (sets it to nil); returns t"},
  {"detach", m_detach, "t:detach()", "same data, cut from the graph"},
  {NULL, NULL, NULL, NULL},
};

static const sd_reg autograd_fns[] = {
  {"grad", l_grad, "autograd.grad(outputs, inputs, {grad_outputs=, retain_graph=, create_graph=, allow_unused=})",
   "gradients of outputs with respect to inputs, without touching .grad"},
  {"no_grad", l_no_grad, "autograd.no_grad(fn, ...)", "call fn with recording off; returns its results"},
  {"enable_grad", l_enable_grad, "autograd.enable_grad(fn, ...)", "call fn with recording on"},
  {"set_grad_enabled", l_set_grad_enabled, "autograd.set_grad_enabled(on)", "turn recording on or off"},
  {"is_grad_enabled", l_is_grad_enabled, "autograd.is_grad_enabled()", "whether ops record"},
  {"gradcheck", l_gradcheck, "autograd.gradcheck(fn, inputs, {eps=1e-6, atol=1e-5, rtol=1e-3})",
   "compare autograd with central differences in f64; true, or false and a report"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_autograd(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "autograd", '.', autograd_fns);
  return 1;
}
