/* ltensor_random.c: random tensors and generator objects.

   Every random function takes an options table {dtype=, gen=}; without gen
   it draws from the default generator, which starts at seed 0 (stream 0) so
   an unseeded script gives the same numbers every run. tensor.manual_seed
   resets it. A generator is (seed, stream, offset): the same triple gives
   the same bits for any thread count (core/rng.h). */
#include "lsonde.h"
#include "../core/rng.h"

#define SD_GEN_MT "sonde.Generator"
#define SD_GEN_DEFAULT "sonde.default_generator"

/* --- generators --- */

static sd_gen *gen_new(lua_State *L, uint64_t seed, uint64_t stream) {
  sd_gen *g = lua_newuserdatauv(L, sizeof *g, 0);
  sd_gen_init(g, seed, stream);
  luaL_setmetatable(L, SD_GEN_MT);
  return g;
}

static sd_gen *gen_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, SD_GEN_MT); }

static sd_gen *gen_default(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, SD_GEN_DEFAULT);
  sd_gen *g = lua_touserdata(L, -1);
  lua_pop(L, 1); /* the registry keeps it alive */
  return g;
}

/* The generator of an options table at idx (may be absent). */
static sd_gen *opt_gen(lua_State *L, int idx) {
  if (idx == 0 || !lua_istable(L, idx) || sd_lua_test(L, idx)) return gen_default(L);
  if (lua_getfield(L, idx, "gen") == LUA_TNIL) { lua_pop(L, 1); return gen_default(L); }
  sd_gen *g = luaL_testudata(L, -1, SD_GEN_MT);
  if (!g) luaL_argerror(L, idx, "option 'gen' must be a generator (tensor.generator(seed))");
  lua_pop(L, 1); /* the options table keeps it alive */
  return g;
}

/* Index of the options table: the first non-tensor table from idx on. */
static int opt_index(lua_State *L, int idx) {
  for (int top = lua_gettop(L); idx <= top; idx++)
    if (lua_istable(L, idx) && !sd_lua_test(L, idx)) return idx;
  return 0;
}

static uint64_t check_u64(lua_State *L, int idx) { return (uint64_t)luaL_checkinteger(L, idx); }

static int l_generator(lua_State *L) {
  uint64_t seed = check_u64(L, 1);
  gen_new(L, seed, lua_isnoneornil(L, 2) ? 0 : check_u64(L, 2));
  return 1;
}

static int l_manual_seed(lua_State *L) {
  sd_gen_init(gen_default(L), check_u64(L, 1), 0);
  lua_getfield(L, LUA_REGISTRYINDEX, SD_GEN_DEFAULT);
  return 1;
}

static int l_default_generator(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, SD_GEN_DEFAULT);
  return 1;
}

static int g_seed(lua_State *L) {
  sd_gen *g = gen_check(L, 1);
  if (lua_isnoneornil(L, 2)) { lua_pushinteger(L, (lua_Integer)g->seed); return 1; }
  sd_gen_init(g, check_u64(L, 2), g->stream);
  lua_settop(L, 1);
  return 1;
}

static int g_clone(lua_State *L) {
  sd_gen *g = gen_check(L, 1);
  *gen_new(L, 0, 0) = *g;
  return 1;
}

static int g_state(lua_State *L) {
  sd_gen *g = gen_check(L, 1);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)g->seed);
  lua_setfield(L, -2, "seed");
  lua_pushinteger(L, (lua_Integer)g->stream);
  lua_setfield(L, -2, "stream");
  lua_pushinteger(L, (lua_Integer)g->offset);
  lua_setfield(L, -2, "offset");
  return 1;
}

static int g_set_state(lua_State *L) {
  sd_gen *g = gen_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  uint64_t v[3];
  static const char *const keys[] = {"seed", "stream", "offset"};
  for (int i = 0; i < 3; i++) {
    lua_getfield(L, 2, keys[i]);
    int ok;
    v[i] = (uint64_t)lua_tointegerx(L, -1, &ok);
    if (!ok) return luaL_argerror(L, 2, lua_pushfstring(L, "state.%s must be an integer", keys[i]));
    lua_pop(L, 1);
  }
  g->seed = v[0]; g->stream = v[1]; g->offset = v[2];
  lua_settop(L, 1);
  return 1;
}

static int g_tostring(lua_State *L) {
  sd_gen *g = gen_check(L, 1);
  lua_pushfstring(L, "Generator(seed=%I, stream=%I, offset=%I)", (lua_Integer)g->seed,
                  (lua_Integer)g->stream, (lua_Integer)g->offset);
  return 1;
}

static const sd_reg gen_methods[] = {
  {"seed", g_seed, "g:seed([n])", "the seed; with n, reseed (offset back to 0, same stream)"},
  {"clone", g_clone, "g:clone()", "an independent generator in the same state"},
  {"state", g_state, "g:state()", "{seed=, stream=, offset=}: everything the draws depend on"},
  {"set_state", g_set_state, "g:set_state(state)", "restore a state taken by g:state()"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_generator(lua_State *L) {
  luaL_newmetatable(L, SD_GEN_MT);
  lua_newtable(L);
  sd_lua_register(L, -1, "Generator", ':', gen_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, g_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "Generator");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  gen_new(L, 0, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, SD_GEN_DEFAULT);
  return 0;
}

/* --- creation --- */

/* A new tensor of the shape from idx on, with its options table. */
static sd_tensor *new_shaped(lua_State *L, int idx, sd_dtype def, const char *fn, sd_gen **g) {
  int64_t shape[SD_MAXDIM];
  int next;
  int n = sd_lua_shape(L, idx, shape, &next);
  for (int i = 0; i < n; i++)
    if (shape[i] < 0) luaL_error(L, "%s: size %d must not be negative", fn, i + 1);
  sd_dtype dt = sd_lua_opt_dtype(L, next, def);
  *g = opt_gen(L, next);
  return sd_lua_push(L, sd_empty(dt, n, shape), fn);
}

static int l_rand(lua_State *L) {
  sd_gen *g;
  sd_tensor *t = new_shaped(L, 1, SD_F32, "rand", &g);
  if (sd_uniform_(t, g, 0, 1) != SD_OK) return sd_lua_fail(L, "rand");
  return 1;
}

static int l_randn(lua_State *L) {
  sd_gen *g;
  sd_tensor *t = new_shaped(L, 1, SD_F32, "randn", &g);
  if (sd_normal_(t, g, 0, 1) != SD_OK) return sd_lua_fail(L, "randn");
  return 1;
}

/* normal(mean, std, ...shape, opts) */
static int l_normal(lua_State *L) {
  double mean = luaL_checknumber(L, 1), std = luaL_checknumber(L, 2);
  sd_gen *g;
  sd_tensor *t = new_shaped(L, 3, SD_F32, "normal", &g);
  if (sd_normal_(t, g, mean, std) != SD_OK) return sd_lua_fail(L, "normal");
  return 1;
}

/* randint(low, high, ...shape, opts) or randint(high, shape_table, opts) */
static int l_randint(lua_State *L) {
  lua_Integer lo = 0, hi;
  int shape_at = 3;
  if (lua_istable(L, 2)) { hi = luaL_checkinteger(L, 1); shape_at = 2; }
  else { lo = luaL_checkinteger(L, 1); hi = luaL_checkinteger(L, 2); }
  sd_gen *g;
  sd_tensor *t = new_shaped(L, shape_at, SD_I64, "randint", &g);
  if (sd_randint_(t, g, lo, hi) != SD_OK) return sd_lua_fail(L, "randint");
  return 1;
}

static int l_randperm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  sd_dtype dt = sd_lua_opt_dtype(L, 2, SD_I64);
  sd_tensor *t = sd_lua_push(L, sd_randperm(n, opt_gen(L, 2)), "randperm");
  if (dt != SD_I64) sd_lua_push(L, sd_to_dtype(t, dt), "randperm");
  return 1;
}

/* bernoulli(p_tensor, opts): same shape as p; bernoulli(p, ...shape, opts) */
static int l_bernoulli(lua_State *L) {
  sd_tensor *p = sd_lua_test(L, 1);
  sd_tensor *t;
  sd_gen *g;
  if (p) {
    sd_dtype dt = sd_lua_opt_dtype(L, 2, sd_dtype_is_float(p->dtype) ? p->dtype : SD_F32);
    g = opt_gen(L, 2);
    t = sd_lua_push(L, sd_empty(dt, p->ndim, p->shape), "bernoulli");
  } else {
    luaL_checknumber(L, 1);
    t = new_shaped(L, 2, SD_F32, "bernoulli", &g);
  }
  if (sd_bernoulli_(t, g, p, p ? 0 : lua_tonumber(L, 1)) != SD_OK)
    return sd_lua_fail(L, "bernoulli");
  return 1;
}

/* multinomial(probs, k [, replacement], opts) */
static int l_multinomial(lua_State *L) {
  sd_tensor *p = sd_lua_check(L, 1);
  lua_Integer k = luaL_checkinteger(L, 2);
  int o = opt_index(L, 3);
  bool repl = lua_isboolean(L, 3) && lua_toboolean(L, 3);
  sd_lua_push(L, sd_multinomial(p, k, repl, opt_gen(L, o)), "multinomial");
  return 1;
}

/* --- in place --- */

/* Leading number arguments of a method (after self), with defaults. */
static sd_gen *method_args(lua_State *L, double *v, int nv) {
  int o = opt_index(L, 2);
  for (int i = 0; i < nv; i++)
    if (lua_type(L, 2 + i) == LUA_TNUMBER) v[i] = lua_tonumber(L, 2 + i);
    else if (!lua_isnoneornil(L, 2 + i) && 2 + i != o) luaL_typeerror(L, 2 + i, "number");
  return opt_gen(L, o);
}

static int m_uniform_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "uniform_");
  double v[2] = {0, 1};
  sd_gen *g = method_args(L, v, 2);
  if (sd_uniform_(t, g, v[0], v[1]) != SD_OK) return sd_lua_fail(L, "uniform_");
  lua_settop(L, 1);
  return 1;
}

static int m_normal_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "normal_");
  double v[2] = {0, 1};
  sd_gen *g = method_args(L, v, 2);
  if (sd_normal_(t, g, v[0], v[1]) != SD_OK) return sd_lua_fail(L, "normal_");
  lua_settop(L, 1);
  return 1;
}

static int m_exponential_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "exponential_");
  double v[1] = {1};
  sd_gen *g = method_args(L, v, 1);
  if (sd_exponential_(t, g, v[0]) != SD_OK) return sd_lua_fail(L, "exponential_");
  lua_settop(L, 1);
  return 1;
}

static int m_random_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "random_");
  lua_Integer lo = luaL_checkinteger(L, 2), hi = luaL_checkinteger(L, 3);
  if (sd_randint_(t, opt_gen(L, 4), lo, hi) != SD_OK) return sd_lua_fail(L, "random_");
  lua_settop(L, 1);
  return 1;
}

/* x:bernoulli_([p = 0.5], opts): p a number or a tensor broadcasting to x */
static int m_bernoulli_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "bernoulli_");
  sd_tensor *p = sd_lua_test(L, 2);
  double v[1] = {0.5};
  sd_gen *g = p ? opt_gen(L, opt_index(L, 3)) : method_args(L, v, 1);
  if (sd_bernoulli_(t, g, p, v[0]) != SD_OK) return sd_lua_fail(L, "bernoulli_");
  lua_settop(L, 1);
  return 1;
}

const sd_reg sd_tensor_random_fns[] = {
  {"manual_seed", l_manual_seed, "tensor.manual_seed(n)",
   "reseed the default generator (it starts at seed 0: unseeded scripts repeat)"},
  {"generator", l_generator, "tensor.generator(seed [, stream])",
   "a generator object for {gen = g}; streams of one seed are independent"},
  {"default_generator", l_default_generator, "tensor.default_generator()",
   "the generator used when no {gen=} is given"},
  {"rand", l_rand, "tensor.rand(...shape, {dtype=, gen=})", "uniform in [0, 1)"},
  {"randn", l_randn, "tensor.randn(...shape, {dtype=, gen=})", "standard normal"},
  {"normal", l_normal, "tensor.normal(mean, std, ...shape, {dtype=, gen=})",
   "normal with the given mean and standard deviation"},
  {"randint", l_randint, "tensor.randint(low, high, ...shape, {dtype=, gen=})",
   "integers uniform in [low, high), high excluded as in torch (i64); randint(high, shape) from 0"},
  {"randperm", l_randperm, "tensor.randperm(n, {dtype=, gen=})",
   "a random permutation of 1..n (1-based, i64)"},
  {"bernoulli", l_bernoulli, "tensor.bernoulli(p_tensor | p, ...shape, {dtype=, gen=})",
   "1 with probability p elementwise, else 0"},
  {"multinomial", l_multinomial, "tensor.multinomial(weights, k [, replacement], {gen=})",
   "k category indices (1-based) per row of weights"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_random_methods[] = {
  {"uniform_", m_uniform_, "t:uniform_([from = 0, to = 1], {gen=})", "fill with uniform values in [from, to)"},
  {"normal_", m_normal_, "t:normal_([mean = 0, std = 1], {gen=})", "fill with normal values"},
  {"exponential_", m_exponential_, "t:exponential_([lambda = 1], {gen=})",
   "fill with exponential values of rate lambda"},
  {"random_", m_random_, "t:random_(low, high, {gen=})", "fill with integers uniform in [low, high)"},
  {"bernoulli_", m_bernoulli_, "t:bernoulli_([p = 0.5], {gen=})",
   "fill with 1 at probability p (a number or a broadcasting tensor), else 0"},
  {"multinomial", l_multinomial, "w:multinomial(k [, replacement], {gen=})",
   "k category indices (1-based) per row of the weights w"},
  {NULL, NULL, NULL, NULL},
};
