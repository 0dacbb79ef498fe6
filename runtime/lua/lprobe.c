/* lprobe.c: the `probe.kernels` module: probe.logistic's L-BFGS fit and the
   other probe kernels in C (core in runtime/ml/probe.h) that
   stdlib/probe*.lua calls. Labels arrive here as class numbers 1..K
   (logistic) or -1/+1 (svm). */
#include "lsonde.h"
#include <string.h>
#include "../ml/probe.h"
#include "../ml/svm.h"

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

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* svm_fit(X, y, C, p|nil, {kernel=, gamma=, eps=, max_iter=, cache_mb=}) */
static int l_svm_fit(lua_State *L) {
  sd_tensor *X = sd_lua_check(L, 1), *y = sd_lua_check(L, 2), *p = opt_weights(L, 4), *C;
  if (lua_type(L, 3) == LUA_TNUMBER) {
    int64_t n = X->ndim >= 1 ? X->shape[0] : 0;
    C = sd_lua_push(L, sd_full(SD_F64, 1, &n, lua_tonumber(L, 3)), "probe.svm");
    lua_replace(L, 3);
  } else C = sd_lua_check(L, 3);
  sd_svm_opts o;
  sd_svm_defaults(&o);
  if (lua_istable(L, 5)) {
    lua_getfield(L, 5, "kernel");
    const char *k = lua_isnil(L, -1) ? "linear" : luaL_checkstring(L, -1);
    if (!strcmp(k, "linear")) o.kernel = SD_SVM_LINEAR;
    else if (!strcmp(k, "rbf")) o.kernel = SD_SVM_RBF;
    else if (!strcmp(k, "precomputed")) o.kernel = SD_SVM_PRECOMPUTED;
    else return luaL_error(L, "bad argument #5 to 'svm_fit' (kernel must be 'linear', 'rbf' or 'precomputed', got '%s')", k);
    lua_pop(L, 1);
  }
  o.gamma = sd_lua_optnumber(L, 5, "gamma", o.gamma);
  o.eps = sd_lua_optnumber(L, 5, "eps", o.eps);
  o.max_iter = (int64_t)sd_lua_optnumber(L, 5, "max_iter", 0);
  o.cache_mb = sd_lua_optnumber(L, 5, "cache_mb", o.cache_mb);
  o.shrinking = sd_lua_optbool(L, 5, "shrinking", true);
  sd_tensor *alpha, *w;
  sd_svm_result r;
  if (sd_svm_fit(X, y, p, C, &o, &alpha, &w, &r) != SD_OK) return sd_lua_fail(L, "probe.svm");
  sd_lua_push(L, alpha, "probe.svm");
  if (w) sd_lua_push(L, w, "probe.svm");
  else lua_pushnil(L);
  lua_createtable(L, 0, 8);
  setnum(L, "b", r.b);
  setnum(L, "obj", r.obj);
  setnum(L, "gap", r.gap);
  lua_pushinteger(L, r.n_iter);
  lua_setfield(L, -2, "n_iter");
  lua_pushinteger(L, r.n_sv);
  lua_setfield(L, -2, "n_sv");
  lua_pushinteger(L, r.n_bounded);
  lua_setfield(L, -2, "n_bounded");
  lua_pushboolean(L, r.converged);
  lua_setfield(L, -2, "converged");
  return 3;
}

static const sd_reg probe_kernel_fns[] = {
  {"logistic_fit", l_logistic_fit,
   "probe.kernels.logistic_fit(X, y, K, sw|nil, {l2=, fit_intercept=true, max_iter=100, tol=1e-4})",
   "L-BFGS fit of L2 logistic regression on class numbers y in 1..K: coef, intercept, info"},
  {"logistic_objective", l_logistic_objective,
   "probe.kernels.logistic_objective(X, y, K, sw|nil, l2, fit_intercept, w)",
   "the objective probe.logistic minimises and its gradient at w = [coef (row-major), intercept]"},
  {"svm_fit", l_svm_fit,
   "probe.kernels.svm_fit(X, y, C, p|nil, {kernel='linear'|'rbf'|'precomputed', gamma=1, eps=1e-3, max_iter=0, cache_mb=200, shrinking=true})",
   "SMO (LIBSVM's WSS2) for max p'a - a'Qa/2, 0 <= a <= C, y'a = 0 (y -1/+1; C number or [n]; p default 1): alpha, w (linear) or nil, {b, n_iter, converged, obj, gap, n_sv, n_bounded}"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_probe_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "probe.kernels", '.', probe_kernel_fns);
  return 1;
}
