/* lprobe.c: the `probe.kernels` module: probe.logistic's L-BFGS fit and the
   other probe kernels in C (core in runtime/ml/probe.h) that
   stdlib/probe*.lua calls. Labels arrive here as class numbers 1..K. */
#include "lsonde.h"
#include "../ml/probe.h"

static sd_tensor *opt_weights(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : sd_lua_check(L, idx);
}

/* logistic_fit(X, y, K, sw|nil, {l2=, fit_intercept=, max_iter=, tol=}) */
static int l_logistic_fit(lua_State *L) {
  sd_tensor *X = sd_lua_check(L, 1), *y = sd_lua_check(L, 2), *sw = opt_weights(L, 4);
  int K = (int)luaL_checkinteger(L, 3);
  sd_logistic_opts o = {
    .l2 = sd_lua_optnumber(L, 5, "l2", 1.0 / (double)X->shape[0]),
    .tol = sd_lua_optnumber(L, 5, "tol", 1e-4),
    .fit_intercept = sd_lua_optbool(L, 5, "fit_intercept", true),
    .max_iter = (int)sd_lua_optnumber(L, 5, "max_iter", 100),
  };
  sd_tensor *coef, *intercept;
  sd_lbfgs_result r;
  if (sd_logistic_fit(X, y, sw, K, &o, &coef, &intercept, &r) != SD_OK)
    return sd_lua_fail(L, "probe.logistic");
  sd_lua_push(L, coef, "probe.logistic");
  sd_lua_push(L, intercept, "probe.logistic");
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, r.n_iter);
  lua_setfield(L, -2, "n_iter");
  lua_pushinteger(L, r.n_eval);
  lua_setfield(L, -2, "n_eval");
  lua_pushboolean(L, r.stop == SD_LBFGS_GTOL || r.stop == SD_LBFGS_FTOL);
  lua_setfield(L, -2, "converged");
  lua_pushstring(L, sd_lbfgs_stop_name(r.stop));
  lua_setfield(L, -2, "stop");
  lua_pushnumber(L, r.f);
  lua_setfield(L, -2, "loss");
  lua_pushnumber(L, r.gmax);
  lua_setfield(L, -2, "grad_max");
  return 3;
}

/* logistic_objective(X, y, K, sw|nil, l2, fit_intercept, w) -> f, g */
static int l_logistic_objective(lua_State *L) {
  sd_tensor *X = sd_lua_check(L, 1), *y = sd_lua_check(L, 2), *sw = opt_weights(L, 4);
  int K = (int)luaL_checkinteger(L, 3);
  double l2 = luaL_checknumber(L, 5);
  bool fit_intercept = lua_toboolean(L, 6);
  sd_tensor *w = sd_lua_push(L, sd_to_dtype(sd_lua_check(L, 7), SD_F64), "logistic_objective");
  w = sd_lua_push(L, sd_contiguous(w), "logistic_objective");
  sd_tensor *g = sd_lua_push(L, sd_zeros(SD_F64, 1, w->shape), "logistic_objective");
  int64_t nw = K == 2 ? 1 : K, np = nw * (X->ndim == 2 ? X->shape[1] : 0) + (fit_intercept ? nw : 0);
  if (w->ndim != 1 || w->shape[0] != np)
    return luaL_error(L, "logistic_objective: w must be 1-d with %lld entries", (long long)np);
  double f;
  if (sd_logistic_objective(X, y, sw, K, l2, fit_intercept, sd_data(w), &f, sd_data(g)) != SD_OK)
    return sd_lua_fail(L, "logistic_objective");
  lua_pushnumber(L, f);
  lua_insert(L, -2);
  return 2;
}

static const sd_reg probe_kernel_fns[] = {
  {"logistic_fit", l_logistic_fit,
   "probe.kernels.logistic_fit(X, y, K, sw|nil, {l2=, fit_intercept=true, max_iter=100, tol=1e-4})",
   "L-BFGS fit of L2 logistic regression on class numbers y in 1..K: coef, intercept, info"},
  {"logistic_objective", l_logistic_objective,
   "probe.kernels.logistic_objective(X, y, K, sw|nil, l2, fit_intercept, w)",
   "the objective probe.logistic minimises and its gradient at w = [coef (row-major), intercept]"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_probe_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "probe.kernels", '.', probe_kernel_fns);
  return 1;
}
