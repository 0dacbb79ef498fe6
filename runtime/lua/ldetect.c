/* ldetect.c: the `detect.kernels` module: the detector (kNN, isolation forest, LOF, ECOD, HBOS) and ranking-metric kernels in C
   (core in runtime/ml) that stdlib/detect*.lua and stdlib/metrics_rank.lua call. */
#include "lsonde.h"
#include "../ml/detect.h"

/* --- ranking metrics: (scores, labels, ...) -> number or curve tensors --- */

typedef sd_status (*rank_fn)(const sd_tensor *, const sd_tensor *, double *);

static int rank_scalar(lua_State *L, rank_fn f, const char *fn) {
  double v;
  if (f(sd_lua_check(L, 1), sd_lua_check(L, 2), &v) != SD_OK) return sd_lua_fail(L, fn);
  lua_pushnumber(L, v);
  return 1;
}

static int l_auroc(lua_State *L) { return rank_scalar(L, sd_rank_auroc, "auroc"); }
static int l_aupr(lua_State *L) { return rank_scalar(L, sd_rank_ap, "aupr"); }
static int l_aupr_trapz(lua_State *L) { return rank_scalar(L, sd_rank_aupr_trapz, "aupr_trapz"); }

static int push3(lua_State *L, sd_status st, sd_tensor *a, sd_tensor *b, sd_tensor *c,
                 const char *fn) {
  if (st != SD_OK) return sd_lua_fail(L, fn);
  sd_lua_push(L, a, fn);
  sd_lua_push(L, b, fn);
  sd_lua_push(L, c, fn);
  return 3;
}

static int l_roc_curve(lua_State *L) {
  sd_tensor *a, *b, *c;
  sd_status st = sd_rank_roc(sd_lua_check(L, 1), sd_lua_check(L, 2), lua_toboolean(L, 3), &a, &b, &c);
  return push3(L, st, a, b, c, "roc_curve");
}

static int l_pr_curve(lua_State *L) {
  sd_tensor *a, *b, *c;
  sd_status st = sd_rank_pr(sd_lua_check(L, 1), sd_lua_check(L, 2), &a, &b, &c);
  return push3(L, st, a, b, c, "pr_curve");
}

static int l_fpr_at_tpr(lua_State *L) {
  static const char *const rules[] = {"first_ge", "nearest", "quantile", NULL};
  sd_tensor *s = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  double t = luaL_checknumber(L, 3), v;
  int rule = luaL_checkoption(L, 4, "first_ge", rules);
  if (sd_rank_fpr_at_tpr(s, y, t, (sd_rank_rule)rule, &v) != SD_OK) return sd_lua_fail(L, "fpr_at_tpr");
  lua_pushnumber(L, v);
  return 1;
}

static int l_tpr_at_fpr(lua_State *L) {
  sd_tensor *s = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  double x = luaL_checknumber(L, 3), v;
  if (sd_rank_tpr_at_fpr(s, y, x, lua_toboolean(L, 4), &v) != SD_OK) return sd_lua_fail(L, "tpr_at_fpr");
  lua_pushnumber(L, v);
  return 1;
}

static int l_pro(lua_State *L) {
  double v;
  if (sd_rank_pro(sd_lua_check(L, 1), sd_lua_check(L, 2), luaL_checknumber(L, 3), &v) != SD_OK)
    return sd_lua_fail(L, "pro");
  lua_pushnumber(L, v);
  return 1;
}

/* --- detectors --- */

static int l_knn(lua_State *L) {
  sd_tensor *d, *i;
  if (sd_knn(sd_lua_check(L, 1), sd_lua_check(L, 2), (int64_t)luaL_checkinteger(L, 3), &d, &i) != SD_OK)
    return sd_lua_fail(L, "knn");
  sd_lua_push(L, d, "knn");
  sd_lua_push(L, i, "knn");
  return 2;
}

static int l_coreset(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  int64_t m = (int64_t)luaL_checkinteger(L, 2);
  sd_lua_push(L, sd_coreset(x, m, (uint64_t)luaL_checkinteger(L, 3)), "coreset");
  return 1;
}

static int l_iforest_fit(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *roots;
  int64_t trees = (int64_t)luaL_checkinteger(L, 2), psi = (int64_t)luaL_checkinteger(L, 3);
  uint64_t seed = (uint64_t)luaL_checkinteger(L, 4);
  sd_tensor *nodes = sd_iforest_fit(x, trees, psi, seed, &roots);
  sd_lua_push(L, nodes, "iforest");
  sd_lua_push(L, roots, "iforest");
  return 2;
}

static int l_iforest_score(lua_State *L) {
  sd_tensor *nodes = sd_lua_check(L, 1), *roots = sd_lua_check(L, 2), *x = sd_lua_check(L, 3);
  sd_lua_push(L, sd_iforest_score(nodes, roots, x, (int64_t)luaL_checkinteger(L, 4)), "iforest");
  return 1;
}

static int l_ecdf_counts(lua_State *L) {
  sd_tensor *le, *ge;
  if (sd_ecdf_counts(sd_lua_check(L, 1), sd_lua_check(L, 2), &le, &ge) != SD_OK) return sd_lua_fail(L, "ecod");
  sd_lua_push(L, le, "ecod");
  sd_lua_push(L, ge, "ecod");
  return 2;
}

static const sd_reg detect_kernel_fns[] = {
  {"pro", l_pro, "detect.kernels.pro(maps, masks, fpr_limit)", "normalised area under the PRO curve to fpr_limit"},
  {"knn", l_knn, "detect.kernels.knn(X, bank, k)", "distances [n,k] ascending and 1-based rows of the k nearest bank rows (GEMM, exact recompute)"},
  {"coreset", l_coreset, "detect.kernels.coreset(X, m, seed)", "1-based rows of a greedy k-center coreset (PatchCore)"},
  {"iforest_fit", l_iforest_fit, "detect.kernels.iforest_fit(X, n_trees, max_samples, seed)", "isolation forest: nodes [M,4] f64 and roots [T] i64"},
  {"iforest_score", l_iforest_score, "detect.kernels.iforest_score(nodes, roots, X, psi)", "isolation scores 2^(-E h / c(psi)) per row"},
  {"ecdf_counts", l_ecdf_counts, "detect.kernels.ecdf_counts(sorted, X)", "#train <= x and #train >= x per feature (i64)"},
  {"auroc", l_auroc, "detect.kernels.auroc(scores, labels)", "AUROC, ties count 1/2 (exact Mann-Whitney)"},
  {"aupr", l_aupr, "detect.kernels.aupr(scores, labels)", "average precision (sklearn's step sum, ties grouped)"},
  {"aupr_trapz", l_aupr_trapz, "detect.kernels.aupr_trapz(scores, labels)", "trapezoid area under the PR curve"},
  {"roc_curve", l_roc_curve, "detect.kernels.roc_curve(scores, labels, drop)", "fpr, tpr, thresholds (sklearn 1.2)"},
  {"pr_curve", l_pr_curve, "detect.kernels.pr_curve(scores, labels)", "precision, recall, thresholds (sklearn 1.2)"},
  {"fpr_at_tpr", l_fpr_at_tpr, "detect.kernels.fpr_at_tpr(scores, labels, tpr, rule)", "FPR at a TPR, rule first_ge|nearest|quantile"},
  {"tpr_at_fpr", l_tpr_at_fpr, "detect.kernels.tpr_at_fpr(scores, labels, fpr, strict)", "largest TPR with FPR <= fpr (< when strict)"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_detect_kernels(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "detect.kernels", '.', detect_kernel_fns);
  return 1;
}
