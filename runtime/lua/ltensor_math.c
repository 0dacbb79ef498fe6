/* ltensor_math.c: the math methods of Tensor: elementwise ops, Lua
   operators, reductions, cumsum and softmax; binds ops.h. A Lua number
   beside a tensor is a 0-d tensor of the tensor's dtype (a float beside an
   integer tensor is f32), as PyTorch treats Python scalars. */
#include "lsonde.h"
#include "../core/ops.h"
#include "../core/ad.h"
#include <math.h>
#include <string.h>
#include <time.h>

/* --- elementwise --- */

/* The dtype a Lua number takes beside a tensor of dtype dt. */
static sd_dtype scalar_dtype(sd_dtype dt) { return dt == SD_BOOL || dt == SD_U8 ? SD_I64 : dt; }

/* Arguments 1 and 2 as tensors; one of them may be a number. */
static void operands(lua_State *L, sd_tensor **a, sd_tensor **b) {
  sd_tensor *ta = sd_lua_test(L, 1), *tb = sd_lua_test(L, 2);
  if (!ta && !tb) luaL_typeerror(L, 1, "tensor");
  *a = ta ? ta : sd_lua_operand(L, 1, scalar_dtype(tb->dtype));
  *b = tb ? tb : sd_lua_operand(L, 2, scalar_dtype(ta->dtype));
}

/* {alpha=} of add/sub at idx: b becomes alpha * b (pushed, replacing b). */
static sd_tensor *scaled(lua_State *L, int idx, sd_tensor *b) {
  if (!lua_istable(L, idx) || lua_getfield(L, idx, "alpha") == LUA_TNIL) return b;
  sd_tensor *alpha = sd_lua_operand(L, lua_gettop(L), scalar_dtype(b->dtype));
  b = sd_lua_push(L, sd_ad_binary(SD_MUL, b, alpha), "alpha");
  lua_replace(L, 2);
  return b;
}

static int binary(lua_State *L, sd_binop op) {
  sd_tensor *a, *b;
  operands(L, &a, &b);
  if (op == SD_ADD || op == SD_SUB) b = scaled(L, 3, b);
  sd_lua_push(L, sd_ad_binary(op, a, b), sd_binop_names[op]);
  return 1;
}

static int binary_(lua_State *L, sd_binop op) {
  sd_tensor *self = sd_lua_check(L, 1);
  sd_tensor *b = sd_lua_operand(L, 2, scalar_dtype(self->dtype));
  if (op == SD_ADD || op == SD_SUB) b = scaled(L, 3, b);
  if (sd_check_inplace(self, sd_binop_names[op]) != SD_OK || sd_binary_(op, self, b) != SD_OK)
    return sd_lua_fail(L, NULL);
  lua_settop(L, 1);
  return 1;
}

static int unary(lua_State *L, sd_unop op) {
  sd_lua_push(L, sd_ad_unary(op, sd_lua_check(L, 1)), sd_unop_names[op]);
  return 1;
}

static int unary_(lua_State *L, sd_unop op) {
  sd_tensor *x = sd_lua_check(L, 1);
  if (sd_check_inplace(x, sd_unop_names[op]) != SD_OK || sd_unary_(op, x) != SD_OK)
    return sd_lua_fail(L, NULL);
  lua_settop(L, 1);
  return 1;
}

/* Each op once: name, enum, doc. Arithmetic ops and the non-bool unary ops
   also get an in-place name_ variant. */
#define ARITH_OPS(X)                                                       \
  X(add, SD_ADD, "a + b with broadcasting; {alpha=} scales b")             \
  X(sub, SD_SUB, "a - b with broadcasting; {alpha=} scales b")             \
  X(mul, SD_MUL, "a * b with broadcasting")                                \
  X(div, SD_DIV, "a / b, true division (integers give f32)")               \
  X(pow, SD_POW, "a ^ b with broadcasting")                                \
  X(fmod, SD_FMOD, "remainder with the sign of a (C fmod)")                \
  X(remainder, SD_REMAINDER, "remainder with the sign of b (Lua's %)")     \
  X(maximum, SD_MAXIMUM, "elementwise max; NaN propagates")                \
  X(minimum, SD_MINIMUM, "elementwise min; NaN propagates")                \
  X(atan2, SD_ATAN2, "atan(a / b) in the quadrant of (b, a)")

#define CMP_OPS(X)                                     \
  X(eq, SD_EQ, "a == b elementwise, bool")             \
  X(ne, SD_NE, "a ~= b elementwise, bool")             \
  X(lt, SD_LT, "a < b elementwise, bool")              \
  X(le, SD_LE, "a <= b elementwise, bool")             \
  X(gt, SD_GT, "a > b elementwise, bool")              \
  X(ge, SD_GE, "a >= b elementwise, bool")             \
  X(logical_and, SD_LOGICAL_AND, "a and b (nonzero is true), bool") \
  X(logical_or, SD_LOGICAL_OR, "a or b (nonzero is true), bool")

#define MATH_UNOPS(X)                                                    \
  X(neg, SD_NEG, "-x")                                                   \
  X(abs, SD_ABS, "|x|")                                                  \
  X(sign, SD_SIGN, "-1, 0 or 1 (0 for NaN)")                             \
  X(exp, SD_EXP, "e^x")                                                  \
  X(log, SD_LOG, "natural logarithm")                                    \
  X(log1p, SD_LOG1P, "log(1 + x), accurate near 0")                      \
  X(expm1, SD_EXPM1, "e^x - 1, accurate near 0")                         \
  X(sqrt, SD_SQRT, "square root")                                        \
  X(rsqrt, SD_RSQRT, "1 / sqrt(x)")                                      \
  X(sin, SD_SIN, "sine")                                                 \
  X(cos, SD_COS, "cosine")                                               \
  X(tanh, SD_TANH, "hyperbolic tangent")                                 \
  X(sigmoid, SD_SIGMOID, "1 / (1 + e^-x)")                               \
  X(relu, SD_RELU, "max(x, 0)")                                          \
  X(gelu, SD_GELU, "x/2 (1 + erf(x / sqrt 2)), PyTorch's default form")  \
  X(softplus, SD_SOFTPLUS, "log(1 + e^x); x itself above 20")            \
  X(floor, SD_FLOOR, "round down")                                       \
  X(ceil, SD_CEIL, "round up")                                           \
  X(round, SD_ROUND, "round half to even")                               \
  X(reciprocal, SD_RECIPROCAL, "1 / x")                                  \
  X(square, SD_SQUARE, "x * x")

#define BOOL_UNOPS(X)                              \
  X(isnan, SD_ISNAN, "true where x is NaN")        \
  X(isinf, SD_ISINF, "true where x is +-inf")      \
  X(logical_not, SD_LOGICAL_NOT, "true where x is zero")

#define DEF_BIN(name, op, doc)                                      \
  static int f_##name(lua_State *L) { return binary(L, op); }       \
  static int f_##name##_(lua_State *L) { return binary_(L, op); }
#define DEF_CMP(name, op, doc) static int f_##name(lua_State *L) { return binary(L, op); }
#define DEF_UN(name, op, doc)                                       \
  static int f_##name(lua_State *L) { return unary(L, op); }        \
  static int f_##name##_(lua_State *L) { return unary_(L, op); }
#define DEF_BOOLUN(name, op, doc) static int f_##name(lua_State *L) { return unary(L, op); }
ARITH_OPS(DEF_BIN)
CMP_OPS(DEF_CMP)
MATH_UNOPS(DEF_UN)
BOOL_UNOPS(DEF_BOOLUN)

/* clamp(min, max): either may be nil. An integer tensor with a fractional
   bound is clamped as f32, as PyTorch promotes. */
static void clamp_bounds(lua_State *L, const sd_tensor *x, double *lo, double *hi, bool *frac) {
  *lo = luaL_opt(L, luaL_checknumber, 2, -INFINITY);
  *hi = luaL_opt(L, luaL_checknumber, 3, INFINITY);
  if (lua_isnoneornil(L, 2) && lua_isnoneornil(L, 3))
    luaL_argerror(L, 2, "clamp needs min or max");
  *frac = !sd_dtype_is_float(x->dtype) &&
          ((!lua_isnoneornil(L, 2) && !lua_isinteger(L, 2)) || (!lua_isnoneornil(L, 3) && !lua_isinteger(L, 3)));
}

static int m_clamp(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  double lo, hi;
  bool frac;
  clamp_bounds(L, x, &lo, &hi, &frac);
  if (frac) x = sd_lua_push(L, sd_to_dtype(x, SD_F32), "clamp");
  sd_lua_push(L, sd_ad_clamp(x, lo, hi), "clamp");
  return 1;
}

static int m_clamp_(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  double lo, hi;
  bool frac;
  clamp_bounds(L, x, &lo, &hi, &frac);
  if (frac)
    return luaL_error(L, "clamp_: a fractional bound cannot clamp a %s tensor in place",
                      sd_dtype_name(x->dtype));
  if (sd_check_inplace(x, "clamp_") != SD_OK || sd_clamp_(x, lo, hi) != SD_OK)
    return sd_lua_fail(L, "clamp_");
  lua_settop(L, 1);
  return 1;
}

/* tensor.where(cond, a, b); a and b may be numbers. */
static int l_where(lua_State *L) {
  sd_tensor *cond = sd_lua_check(L, 1);
  sd_tensor *ta = sd_lua_test(L, 2), *tb = sd_lua_test(L, 3);
  sd_dtype def = ta ? ta->dtype : tb ? tb->dtype : SD_F32;
  sd_tensor *a = sd_lua_operand(L, 2, scalar_dtype(def));
  sd_tensor *b = sd_lua_operand(L, 3, scalar_dtype(ta ? ta->dtype : def));
  sd_lua_push(L, sd_ad_where(cond, a, b), "where");
  return 1;
}

/* x:where(cond, y): x where cond holds, else y (PyTorch's Tensor.where). */
static int m_where(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1), *cond = sd_lua_check(L, 2);
  sd_tensor *y = sd_lua_operand(L, 3, scalar_dtype(x->dtype));
  sd_lua_push(L, sd_ad_where(cond, x, y), "where");
  return 1;
}

/* --- Lua operators --- */

static int mm_add(lua_State *L) { return binary(L, SD_ADD); }
static int mm_sub(lua_State *L) { return binary(L, SD_SUB); }
static int mm_mul(lua_State *L) { return binary(L, SD_MUL); }
static int mm_div(lua_State *L) { return binary(L, SD_DIV); }
static int mm_pow(lua_State *L) { return binary(L, SD_POW); }
static int mm_mod(lua_State *L) { return binary(L, SD_REMAINDER); }
static int mm_unm(lua_State *L) { return unary(L, SD_NEG); }

/* --- reductions --- */

typedef struct { int dim; bool keepdim; int opts; } redargs;

/* [dim] [, keepdim] [, {options}] from idx: dim is 1-based, negative from
   the end, nil for all elements; an options table may give dim= and
   keepdim= too. */
static redargs reduce_args(lua_State *L, int idx, const sd_tensor *x) {
  redargs r = {SD_NODIM, false, 0};
  int top = lua_gettop(L);
  if (top >= idx && lua_istable(L, top)) {
    r.opts = top--;
    if (lua_getfield(L, r.opts, "keepdim") != LUA_TNIL) r.keepdim = lua_toboolean(L, -1);
    if (lua_getfield(L, r.opts, "dim") != LUA_TNIL) r.dim = sd_lua_dim(L, lua_gettop(L), x);
    lua_pop(L, 2);
  }
  if (idx <= top && lua_type(L, idx) == LUA_TBOOLEAN) { r.keepdim = lua_toboolean(L, idx); return r; }
  if (idx <= top && !lua_isnil(L, idx)) r.dim = sd_lua_dim(L, idx, x);
  if (idx + 1 <= top && !lua_isnil(L, idx + 1)) {
    luaL_checktype(L, idx + 1, LUA_TBOOLEAN);
    r.keepdim = lua_toboolean(L, idx + 1);
  }
  return r;
}

static int reduce(lua_State *L, sd_redop op, double arg) {
  sd_tensor *x = sd_lua_check(L, 1);
  redargs r = reduce_args(L, 2, x);
  sd_lua_push(L, sd_ad_reduce(op, x, r.dim, r.keepdim, arg), sd_redop_names[op]);
  return 1;
}

static int m_sum(lua_State *L) { return reduce(L, SD_SUM, 0); }
static int m_mean(lua_State *L) { return reduce(L, SD_MEAN, 0); }
static int m_prod(lua_State *L) { return reduce(L, SD_PROD, 0); }
static int m_amax(lua_State *L) { return reduce(L, SD_AMAX, 0); }
static int m_amin(lua_State *L) { return reduce(L, SD_AMIN, 0); }
static int m_argmax(lua_State *L) { return reduce(L, SD_ARGMAX, 0); }
static int m_argmin(lua_State *L) { return reduce(L, SD_ARGMIN, 0); }
static int m_logsumexp(lua_State *L) { return reduce(L, SD_LOGSUMEXP, 0); }
static int m_all(lua_State *L) { return reduce(L, SD_ALL, 0); }
static int m_any(lua_State *L) { return reduce(L, SD_ANY, 0); }

/* var/std: {correction=} or {unbiased=false}; unbiased (correction 1) by default. */
static int spread(lua_State *L, sd_redop op) {
  sd_tensor *x = sd_lua_check(L, 1);
  redargs r = reduce_args(L, 2, x);
  double correction = 1;
  if (r.opts) {
    if (lua_getfield(L, r.opts, "unbiased") != LUA_TNIL) correction = lua_toboolean(L, -1);
    if (lua_getfield(L, r.opts, "correction") != LUA_TNIL) correction = luaL_checknumber(L, -1);
    lua_pop(L, 2);
  }
  sd_lua_push(L, sd_ad_reduce(op, x, r.dim, r.keepdim, correction), sd_redop_names[op]);
  return 1;
}

static int m_var(lua_State *L) { return spread(L, SD_VAR); }
static int m_std(lua_State *L) { return spread(L, SD_STD); }

/* norm([p [, dim [, keepdim]]]): p a number, "inf", "-inf" or "fro" (2). */
static int m_norm(lua_State *L) {
  sd_tensor *x = sd_lua_check(L, 1);
  double p = 2;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *s = lua_tostring(L, 2);
    if (strcmp(s, "inf") == 0) p = INFINITY;
    else if (strcmp(s, "-inf") == 0) p = -INFINITY;
    else if (strcmp(s, "fro") != 0) return luaL_argerror(L, 2, "p must be a number, 'inf', '-inf' or 'fro'");
  } else if (!lua_isnoneornil(L, 2)) {
    p = luaL_checknumber(L, 2);
  }
  redargs r = reduce_args(L, 3, x);
  sd_lua_push(L, sd_ad_reduce(SD_NORM, x, r.dim, r.keepdim, p), "norm");
  return 1;
}

/* max(): 0-d; max(dim [, keepdim]): values and 1-based indices; max(other): maximum. */
static int extreme(lua_State *L, sd_redop op, sd_binop elementwise) {
  sd_tensor *x = sd_lua_check(L, 1);
  const char *fn = op == SD_AMAX ? "max" : "min";
  if (sd_lua_test(L, 2)) return binary(L, elementwise);
  redargs r = reduce_args(L, 2, x);
  if (r.dim == SD_NODIM) {
    sd_lua_push(L, sd_ad_reduce(op, x, SD_NODIM, r.keepdim, 0), fn);
    return 1;
  }
  sd_tensor *v, *i;
  if (sd_reduce_indexed(op, x, r.dim, r.keepdim, &v, &i) != SD_OK) return sd_lua_fail(L, fn);
  sd_lua_push(L, v, fn);
  sd_lua_push(L, i, fn);
  sd_lua_push(L, sd_ad_take_along(x, r.dim, v, i), fn); /* values, recorded */
  lua_replace(L, -3);
  return 2;
}

static int m_max(lua_State *L) { return extreme(L, SD_AMAX, SD_MAXIMUM); }
static int m_min(lua_State *L) { return extreme(L, SD_AMIN, SD_MINIMUM); }

static int dimwise(lua_State *L, sd_dimop op) {
  sd_tensor *x = sd_lua_check(L, 1);
  sd_lua_push(L, sd_ad_dimwise(op, x, sd_lua_dim(L, 2, x)), sd_dimop_names[op]);
  return 1;
}

static int m_cumsum(lua_State *L) { return dimwise(L, SD_CUMSUM); }
static int m_cumprod(lua_State *L) { return dimwise(L, SD_CUMPROD); }
static int m_softmax(lua_State *L) { return dimwise(L, SD_SOFTMAX); }
static int m_log_softmax(lua_State *L) { return dimwise(L, SD_LOG_SOFTMAX); }

/* tensor.clock(): wall-clock seconds from a monotonic clock, for timing
   (os.clock is CPU time, summed over threads). */
static int l_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return 1;
}

/* --- registration --- */

#define REG_M(name, op, doc) {#name, f_##name, "t:" #name "(other)", doc},
#define REG_M_(name, op, doc) {#name "_", f_##name##_, "t:" #name "_(other)", "in place: " doc},
#define REG_F(name, op, doc) {#name, f_##name, "tensor." #name "(a, b)", doc},
#define REG_UM(name, op, doc) {#name, f_##name, "t:" #name "()", doc},
#define REG_UM_(name, op, doc) {#name "_", f_##name##_, "t:" #name "_()", "in place: " doc},
#define REG_UF(name, op, doc) {#name, f_##name, "tensor." #name "(t)", doc},

const sd_reg sd_tensor_math_fns[] = {
  ARITH_OPS(REG_F) CMP_OPS(REG_F) MATH_UNOPS(REG_UF) BOOL_UNOPS(REG_UF)
  {"where", l_where, "tensor.where(cond, a, b)",
   "a where cond is true (nonzero), else b, broadcasting all three; a, b may be numbers"},
  {"clock", l_clock, "tensor.clock()", "monotonic wall-clock seconds, for timing"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_math_methods[] = {
  ARITH_OPS(REG_M) ARITH_OPS(REG_M_) CMP_OPS(REG_M)
  MATH_UNOPS(REG_UM) MATH_UNOPS(REG_UM_) BOOL_UNOPS(REG_UM)
  {"clamp", m_clamp, "t:clamp([min] [, max])", "values limited to [min, max]; either bound may be nil"},
  {"clamp_", m_clamp_, "t:clamp_([min] [, max])", "in place: values limited to [min, max]"},
  {"where", m_where, "t:where(cond, other)", "t where cond is true, else other"},
  {"sum", m_sum, "t:sum([dim] [, keepdim])", "sum over dim or all elements (integers give i64)"},
  {"mean", m_mean, "t:mean([dim] [, keepdim])", "mean over dim or all (float tensors only)"},
  {"prod", m_prod, "t:prod([dim] [, keepdim])", "product over dim or all (integers give i64)"},
  {"max", m_max, "t:max([dim] [, keepdim]) | t:max(other)",
   "max of all (0-d), or values and 1-based indices along dim, or elementwise maximum"},
  {"min", m_min, "t:min([dim] [, keepdim]) | t:min(other)",
   "min of all (0-d), or values and 1-based indices along dim, or elementwise minimum"},
  {"amax", m_amax, "t:amax([dim] [, keepdim])", "max values over dim or all; NaN propagates"},
  {"amin", m_amin, "t:amin([dim] [, keepdim])", "min values over dim or all; NaN propagates"},
  {"argmax", m_argmax, "t:argmax([dim] [, keepdim])", "1-based i64 index of the first max (over the flattened tensor without dim)"},
  {"argmin", m_argmin, "t:argmin([dim] [, keepdim])", "1-based i64 index of the first min (over the flattened tensor without dim)"},
  {"var", m_var, "t:var([dim] [, keepdim] [, {correction=1, unbiased=true}])", "variance, unbiased by default"},
  {"std", m_std, "t:std([dim] [, keepdim] [, {correction=1, unbiased=true}])", "standard deviation, unbiased by default"},
  {"norm", m_norm, "t:norm([p=2] [, dim] [, keepdim])", "p-norm: p a number > 0, 0, 'inf', '-inf' or 'fro'"},
  {"logsumexp", m_logsumexp, "t:logsumexp([dim] [, keepdim])", "log of the sum of exponentials, computed stably"},
  {"all", m_all, "t:all([dim] [, keepdim])", "true when every element is nonzero (bool)"},
  {"any", m_any, "t:any([dim] [, keepdim])", "true when some element is nonzero (bool)"},
  {"cumsum", m_cumsum, "t:cumsum(dim)", "running sum along dim (integers give i64)"},
  {"cumprod", m_cumprod, "t:cumprod(dim)", "running product along dim (integers give i64)"},
  {"softmax", m_softmax, "t:softmax(dim)", "exp(x) / sum exp(x) along dim, computed stably"},
  {"log_softmax", m_log_softmax, "t:log_softmax(dim)", "x - logsumexp(x) along dim"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_math_meta[] = {
  {"__add", mm_add, "a + b", "add; a number may be on either side"},
  {"__sub", mm_sub, "a - b", "sub; a number may be on either side"},
  {"__mul", mm_mul, "a * b", "mul; a number may be on either side"},
  {"__div", mm_div, "a / b", "true division; a number may be on either side"},
  {"__pow", mm_pow, "a ^ b", "pow; a number may be on either side"},
  {"__mod", mm_mod, "a % b", "remainder with the sign of b, as Lua's %"},
  {"__unm", mm_unm, "-a", "neg"},
  {NULL, NULL, NULL, NULL},
};
