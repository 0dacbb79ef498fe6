/* lnn.c: the `nn.functional` module: layers and losses as functions over
   tensors, PyTorch's names and defaults, Lua's 1-based class targets and
   embedding ids. Every function records for autograd (core/ad_nn.h). */
#include "lsonde.h"
#include "../core/ad_nn.h"
#include <math.h>
#include <string.h>

#define SD_GEN_MT "sonde.Generator"                 /* ltensor_random.c */
#define SD_GEN_DEFAULT "sonde.default_generator"

/* --- options --- */

/* Field key of the options table at idx pushed (nil when absent); its type. */
static int field(lua_State *L, int idx, const char *key) {
  if (!idx || !lua_istable(L, idx)) { lua_pushnil(L); return LUA_TNIL; }
  return lua_getfield(L, idx, key);
}



/* An integer or a pair {a, b} at the top of the stack into v[2] (popped). */
static void pair_top(lua_State *L, const char *what, int64_t *v) {
  if (lua_isinteger(L, -1)) v[0] = v[1] = lua_tointeger(L, -1);
  else if (lua_istable(L, -1) && luaL_len(L, -1) == 2) {
    for (int i = 0; i < 2; i++) {
      lua_geti(L, -1, i + 1);
      if (!lua_isinteger(L, -1)) luaL_error(L, "%s must be an integer or a pair of integers", what);
      v[i] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
  } else luaL_error(L, "%s must be an integer or a pair of integers", what);
  lua_pop(L, 1);
}

static void opt_pair(lua_State *L, int idx, const char *key, int64_t def0, int64_t def1, int64_t *v) {
  if (field(L, idx, key) == LUA_TNIL) { lua_pop(L, 1); v[0] = def0; v[1] = def1; return; }
  pair_top(L, key, v);
}

static void arg_pair(lua_State *L, int arg, const char *what, int64_t *v) {
  lua_pushvalue(L, arg);
  pair_top(L, what, v);
}

static sd_reduction opt_reduction(lua_State *L, int idx, const char *def, bool batchmean) {
  static const char *const names[] = {"none", "mean", "sum", "batchmean", NULL};
  if (field(L, idx, "reduction") == LUA_TNIL) { lua_pop(L, 1); lua_pushstring(L, def); }
  const char *s = lua_tostring(L, -1);
  int r = -1;
  for (int i = 0; s && names[i]; i++)
    if (!strcmp(s, names[i])) r = i;
  if (r < 0 || (r == SD_REDUCE_BATCHMEAN && !batchmean))
    luaL_error(L, "option 'reduction' must be \"none\", \"mean\"%s or \"sum\", got %s",
               batchmean ? ", \"batchmean\"" : "", s ? s : luaL_typename(L, -1));
  lua_pop(L, 1);
  return (sd_reduction)r;
}

/* A tensor at idx, or NULL for nil / absent. */
static sd_tensor *opt_tensor(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : sd_lua_check(L, idx);
}

static sd_tensor *opt_field_tensor(lua_State *L, int idx, const char *key) {
  if (field(L, idx, key) == LUA_TNIL) { lua_pop(L, 1); return NULL; }
  sd_tensor *t = sd_lua_test(L, -1);
  if (!t) luaL_error(L, "option '%s' must be a tensor", key);
  lua_pop(L, 1); /* the options table keeps it */
  return t;
}

/* The options table: arg idx when it is a plain table, else 0. */
static int opts_at(lua_State *L, int idx) {
  return lua_istable(L, idx) && !sd_lua_test(L, idx) ? idx : 0;
}

/* --- layers --- */

/* conv2d(x, w, [b], {stride=, padding=, dilation=, groups=}) */
static int l_conv2d(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *w = sd_lua_check(L, 2), *b = sd_lua_test(L, 3);
  int o = b ? opts_at(L, 4) : opts_at(L, 3) ? 3 : opts_at(L, 4);
  if (!b && !lua_isnoneornil(L, 3) && o != 3) luaL_typeerror(L, 3, "tensor or nil");
  sd_conv2d_args a;
  opt_pair(L, o, "stride", 1, 1, a.stride);
  opt_pair(L, o, "padding", 0, 0, a.padding);
  opt_pair(L, o, "dilation", 1, 1, a.dilation);
  a.groups = (int64_t)sd_lua_optnumber(L, o, "groups", 1);
  sd_lua_push(L, sd_ad_conv2d(x, w, b, &a), "conv2d");
  return 1;
}

static sd_pool2d_args pool_args(lua_State *L, int karg, int o, bool dilation) {
  sd_pool2d_args a;
  arg_pair(L, karg, "kernel size", a.kernel);
  opt_pair(L, o, "stride", a.kernel[0], a.kernel[1], a.stride);
  opt_pair(L, o, "padding", 0, 0, a.padding);
  if (dilation) opt_pair(L, o, "dilation", 1, 1, a.dilation);
  else a.dilation[0] = a.dilation[1] = 1;
  a.ceil_mode = sd_lua_optbool(L, o, "ceil_mode", false);
  a.count_include_pad = sd_lua_optbool(L, o, "count_include_pad", true);
  return a;
}

/* max_pool2d(x, k, {stride=, padding=, dilation=, ceil_mode=, return_indices=}) */
static int l_max_pool2d(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *idx = NULL;
  int o = opts_at(L, 3);
  sd_pool2d_args a = pool_args(L, 2, o, true);
  bool want = sd_lua_optbool(L, o, "return_indices", false);
  sd_tensor *out = sd_ad_max_pool2d(x, &a, want ? &idx : NULL);
  sd_lua_push(L, out, "max_pool2d");
  if (!want) return 1;
  sd_lua_push(L, idx, "max_pool2d");
  return 2;
}

/* avg_pool2d(x, k, {stride=, padding=, ceil_mode=, count_include_pad=}) */
static int l_avg_pool2d(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  sd_pool2d_args a = pool_args(L, 2, opts_at(L, 3), false);
  sd_lua_push(L, sd_ad_avg_pool2d(x, &a), "avg_pool2d");
  return 1;
}

static int l_adaptive_avg_pool2d(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  int64_t s[2];
  arg_pair(L, 2, "output size", s);
  sd_lua_push(L, sd_ad_adaptive_avg_pool2d(x, s[0], s[1]), "adaptive_avg_pool2d");
  return 1;
}

/* batch_norm(x, running_mean, running_var, weight, bias, {training=, momentum=, eps=}) */
static int l_batch_norm(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  sd_tensor *rm = opt_tensor(L, 2), *rv = opt_tensor(L, 3), *w = opt_tensor(L, 4), *b = opt_tensor(L, 5);
  int o = opts_at(L, 6);
  bool training = sd_lua_optbool(L, o, "training", false);
  double momentum = sd_lua_optnumber(L, o, "momentum", 0.1), eps = sd_lua_optnumber(L, o, "eps", 1e-5);
  if ((rm && rm->requires_grad) || (rv && rv->requires_grad))
    return luaL_error(L, "batch_norm: running statistics must not require grad");
  sd_lua_push(L, sd_ad_batch_norm(x, rm, rv, w, b, training, momentum, eps), "batch_norm");
  return 1;
}

/* layer_norm(x, normalized_shape, weight, bias, {eps=}) */
static int l_layer_norm(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  int64_t shape[SD_MAXDIM] = {0};
  int nd;
  if (lua_isinteger(L, 2)) { shape[0] = lua_tointeger(L, 2); nd = 1; }
  else {
    luaL_checktype(L, 2, LUA_TTABLE);
    nd = (int)luaL_len(L, 2);
    if (nd < 1 || nd > SD_MAXDIM) return luaL_argerror(L, 2, "normalized_shape needs 1 to 8 sizes");
    for (int i = 0; i < nd; i++) {
      lua_geti(L, 2, i + 1);
      shape[i] = luaL_checkinteger(L, -1);
      lua_pop(L, 1);
    }
  }
  if (nd > x->ndim || memcmp(shape, x->shape + x->ndim - nd, nd * sizeof(int64_t))) {
    char xs[128], ns[160] = "[";
    for (int i = 0; i < nd; i++)
      snprintf(ns + strlen(ns), sizeof ns - strlen(ns), "%s%lld", i ? "," : "", (long long)shape[i]);
    strcat(ns, "]");
    return luaL_error(L, "layer_norm: normalized_shape %s does not match the last dims of input %s",
                      ns, sd_shape_str(x, xs, sizeof xs));
  }
  sd_tensor *w = opt_tensor(L, 3), *b = opt_tensor(L, 4);
  double eps = sd_lua_optnumber(L, opts_at(L, 5), "eps", 1e-5);
  sd_lua_push(L, sd_ad_layer_norm(x, nd, w, b, eps), "layer_norm");
  return 1;
}

static sd_gen *opt_gen(lua_State *L, int o) {
  if (field(L, o, "gen") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, SD_GEN_DEFAULT);
  }
  sd_gen *g = luaL_testudata(L, -1, SD_GEN_MT);
  if (!g) luaL_error(L, "dropout: option 'gen' must be a generator (tensor.generator(seed))");
  lua_pop(L, 1); /* kept alive by the options table or the registry */
  return g;
}

/* dropout(x, [p], {training=, gen=}) */
static int l_dropout(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  int o = opts_at(L, 2) ? 2 : opts_at(L, 3);
  double p = lua_isnumber(L, 2) ? lua_tonumber(L, 2) : 0.5;
  if (!sd_lua_optbool(L, o, "training", true)) { lua_settop(L, 1); return 1; }
  sd_lua_push(L, sd_ad_dropout(x, p, opt_gen(L, o)), "dropout");
  return 1;
}

static int l_embedding(lua_State *L) {
  sd_lua_push(L, sd_ad_embedding(sd_lua_check(L, 1), sd_lua_check(L, 2)), "embedding");
  return 1;
}

static int l_linear(lua_State *L) {
  sd_lua_push(L, sd_ad_linear(sd_lua_check(L, 1), sd_lua_check(L, 2), opt_tensor(L, 3)), "linear");
  return 1;
}

static int l_relu(lua_State *L) {
  sd_lua_push(L, sd_ad_relu(sd_lua_check(L, 1)), "relu");
  return 1;
}

static int l_gelu(lua_State *L) {
  sd_lua_push(L, sd_ad_unary(SD_GELU, sd_lua_check(L, 1)), "gelu");
  return 1;
}

static int l_sigmoid(lua_State *L) {
  sd_lua_push(L, sd_ad_unary(SD_SIGMOID, sd_lua_check(L, 1)), "sigmoid");
  return 1;
}

static int l_tanh(lua_State *L) {
  sd_lua_push(L, sd_ad_unary(SD_TANH, sd_lua_check(L, 1)), "tanh");
  return 1;
}

static int l_leaky_relu(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  sd_lua_push(L, sd_ad_leaky_relu(x, luaL_optnumber(L, 2, 0.01)), "leaky_relu");
  return 1;
}

static int dimwise(lua_State *L, sd_dimop op, const char *fn) {
  sd_tensor *x = sd_lua_check(L, 1);
  sd_lua_push(L, sd_ad_dimwise(op, x, sd_lua_dim(L, 2, x)), fn);
  return 1;
}
static int l_softmax(lua_State *L) { return dimwise(L, SD_SOFTMAX, "softmax"); }
static int l_log_softmax(lua_State *L) { return dimwise(L, SD_LOG_SOFTMAX, "log_softmax"); }

/* --- losses --- */

static sd_class_loss_args class_args(lua_State *L, int o, bool smoothing) {
  sd_class_loss_args a = {0};
  a.weight = opt_field_tensor(L, o, "weight");
  a.label_smoothing = smoothing ? sd_lua_optnumber(L, o, "label_smoothing", 0) : 0;
  a.reduction = opt_reduction(L, o, "mean", false);
  if (field(L, o, "ignore_index") != LUA_TNIL) {
    if (!lua_isinteger(L, -1)) luaL_error(L, "option 'ignore_index' must be an integer");
    a.has_ignore = true;
    a.ignore_index = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return a;
}

/* cross_entropy(logits, target, {weight=, label_smoothing=, reduction=, ignore_index=}) */
static int l_cross_entropy(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *t = sd_lua_check(L, 2);
  sd_class_loss_args a = class_args(L, opts_at(L, 3), true);
  sd_lua_push(L, sd_ad_cross_entropy(x, t, &a), "cross_entropy");
  return 1;
}

static int l_nll_loss(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *t = sd_lua_check(L, 2);
  sd_class_loss_args a = class_args(L, opts_at(L, 3), false);
  sd_lua_push(L, sd_ad_nll_loss(x, t, &a), "nll_loss");
  return 1;
}

static int l_mse_loss(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  sd_lua_push(L, sd_ad_mse_loss(x, y, opt_reduction(L, opts_at(L, 3), "mean", false)), "mse_loss");
  return 1;
}

static int l_l1_loss(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  sd_lua_push(L, sd_ad_l1_loss(x, y, opt_reduction(L, opts_at(L, 3), "mean", false)), "l1_loss");
  return 1;
}

static int l_smooth_l1_loss(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  int o = opts_at(L, 3);
  sd_reduction r = opt_reduction(L, o, "mean", false);
  sd_lua_push(L, sd_ad_smooth_l1_loss(x, y, sd_lua_optnumber(L, o, "beta", 1), r), "smooth_l1_loss");
  return 1;
}

static int l_bce_with_logits(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  int o = opts_at(L, 3);
  sd_tensor *w = opt_field_tensor(L, o, "weight"), *pw = opt_field_tensor(L, o, "pos_weight");
  sd_reduction r = opt_reduction(L, o, "mean", false);
  sd_lua_push(L, sd_ad_bce_with_logits(x, y, w, pw, r), "binary_cross_entropy_with_logits");
  return 1;
}

static int l_kl_div(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *y = sd_lua_check(L, 2);
  int o = opts_at(L, 3);
  sd_reduction r = opt_reduction(L, o, "mean", true);
  sd_lua_push(L, sd_ad_kl_div(x, y, r, sd_lua_optbool(L, o, "log_target", false)), "kl_div");
  return 1;
}

static const sd_reg nn_functional_fns[] = {
  {"conv2d", l_conv2d, "conv2d(x, w, [b], {stride=1, padding=0, dilation=1, groups=1})",
   "2-d convolution of x [N, Cin, H, W] with w [Cout, Cin/groups, kh, kw]; pairs {h, w} allowed"},
  {"max_pool2d", l_max_pool2d,
   "max_pool2d(x, k, {stride=k, padding=0, dilation=1, ceil_mode=false, return_indices=false})",
   "max over k x k windows; with return_indices also the 1-based flat positions in each plane"},
  {"avg_pool2d", l_avg_pool2d,
   "avg_pool2d(x, k, {stride=k, padding=0, ceil_mode=false, count_include_pad=true})",
   "mean over k x k windows (padding counted in the divisor unless count_include_pad=false)"},
  {"adaptive_avg_pool2d", l_adaptive_avg_pool2d, "adaptive_avg_pool2d(x, size)",
   "mean pooling to an output of size (n or {h, w}) whatever the input's size"},
  {"batch_norm", l_batch_norm,
   "batch_norm(x, running_mean, running_var, [weight], [bias], {training=false, momentum=0.1, eps=1e-5})",
   "normalise x [N, C, ...] per channel; training uses batch statistics and updates the running ones"},
  {"layer_norm", l_layer_norm, "layer_norm(x, normalized_shape, [weight], [bias], {eps=1e-5})",
   "normalise x over its last dims (normalized_shape: n or a table of sizes)"},
  {"dropout", l_dropout, "dropout(x, p=0.5, {training=true, gen=})",
   "zero elements with probability p and scale the rest by 1/(1-p); identity when not training"},
  {"embedding", l_embedding, "embedding(ids, weight)",
   "rows of weight [V, D] at the 1-based ids (any shape): ids.shape + [D]"},
  {"linear", l_linear, "linear(x, w, [b])", "x wᵀ + b, with w [out, in] (no copy of w)"},
  {"relu", l_relu, "relu(x)", "max(x, 0)"},
  {"leaky_relu", l_leaky_relu, "leaky_relu(x, slope=0.01)", "x where x > 0, else slope * x"},
  {"gelu", l_gelu, "gelu(x)", "x Φ(x) with the exact erf form"},
  {"sigmoid", l_sigmoid, "sigmoid(x)", "1 / (1 + e^-x)"},
  {"tanh", l_tanh, "tanh(x)", "hyperbolic tangent"},
  {"softmax", l_softmax, "softmax(x, dim)", "exp(x) normalised to sum 1 along dim"},
  {"log_softmax", l_log_softmax, "log_softmax(x, dim)", "log of softmax along dim, computed stably"},
  {"cross_entropy", l_cross_entropy,
   "cross_entropy(logits, target, {weight=, label_smoothing=0, reduction=\"mean\", ignore_index=})",
   "log_softmax + nll of logits [N, C] against 1-based class targets [N]"},
  {"nll_loss", l_nll_loss, "nll_loss(logp, target, {weight=, reduction=\"mean\", ignore_index=})",
   "negative log-likelihood of log-probabilities [N, C] at 1-based class targets [N]"},
  {"mse_loss", l_mse_loss, "mse_loss(x, y, {reduction=\"mean\"})", "squared error (x - y)^2, reduced"},
  {"l1_loss", l_l1_loss, "l1_loss(x, y, {reduction=\"mean\"})", "absolute error |x - y|, reduced"},
  {"smooth_l1_loss", l_smooth_l1_loss, "smooth_l1_loss(x, y, {beta=1, reduction=\"mean\"})",
   "squared below beta, absolute above (Huber scaled by 1/beta)"},
  {"binary_cross_entropy_with_logits", l_bce_with_logits,
   "binary_cross_entropy_with_logits(x, y, {weight=, pos_weight=, reduction=\"mean\"})",
   "sigmoid + binary cross-entropy against targets in [0, 1], computed stably"},
  {"kl_div", l_kl_div, "kl_div(input, target, {reduction=\"mean\", log_target=false})",
   "KL(target || exp(input)) for log-probabilities input; reduction \"batchmean\" divides by N"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_nn_functional(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "nn.functional", '.', nn_functional_fns);
  return 1;
}
