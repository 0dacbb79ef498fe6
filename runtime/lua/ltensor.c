/* ltensor.c: the `tensor` module: the Tensor userdata, creation, facts,
   views, slicing and printing. Op families live in ltensor_*.c and are
   registered here. */
#include "lsonde.h"
#include "../core/ad.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- boxes --- */

sd_tensor *sd_lua_push(lua_State *L, sd_tensor *t, const char *fn) {
  if (!t) sd_lua_fail(L, fn);
  sd_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = t;
  luaL_setmetatable(L, SD_TENSOR_MT);
  sd_lua_pace(L);
  return t;
}

sd_tensor *sd_lua_test(lua_State *L, int idx) {
  sd_tensor **box = luaL_testudata(L, idx, SD_TENSOR_MT);
  return box ? *box : NULL;
}

sd_tensor *sd_lua_check(lua_State *L, int idx) {
  sd_tensor *t = sd_lua_test(L, idx);
  if (!t) luaL_typeerror(L, idx, "tensor");
  return t;
}

sd_tensor *sd_lua_check_inplace(lua_State *L, int idx, const char *fn) {
  sd_tensor *t = sd_lua_check(L, idx);
  if (sd_check_inplace(t, fn) != SD_OK) sd_lua_fail(L, fn);
  return t;
}

sd_tensor *sd_lua_operand(lua_State *L, int idx, sd_dtype dt) {
  sd_tensor *t = sd_lua_test(L, idx);
  if (t) return t;
  if (!lua_isnumber(L, idx)) luaL_typeerror(L, idx, "tensor or number");
  if (!sd_dtype_is_float(dt) && !lua_isinteger(L, idx)) dt = SD_F32;
  sd_tensor *s = sd_lua_push(L, sd_scalar(dt, lua_tonumber(L, idx)), NULL);
  if (dt == SD_I64) *(int64_t *)sd_data(s) = lua_tointeger(L, idx); /* exact */
  lua_replace(L, idx);
  return s;
}

static int t_gc(lua_State *L) {
  sd_tensor **box = luaL_checkudata(L, 1, SD_TENSOR_MT);
  sd_release(*box);
  *box = NULL;
  return 0;
}

/* t:free() and `local t <close>`: release the storage now. Views made from
   t keep their own reference, so no view ever sees freed memory. */
static int t_free(lua_State *L) {
  sd_tensor **box = luaL_checkudata(L, 1, SD_TENSOR_MT);
  if (*box) sd_tensor_free_storage(*box);
  return 0;
}

/* --- argument helpers --- */

int sd_lua_shape(lua_State *L, int idx, int64_t *shape, int *next) {
  int n = 0;
  if (lua_istable(L, idx) && !sd_lua_test(L, idx)) {
    lua_Integer len = luaL_len(L, idx);
    if (len > SD_MAXDIM) luaL_error(L, "shape has %d dims, at most %d allowed", (int)len, SD_MAXDIM);
    /* a table is a shape only if it holds integers; an options table has none */
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, idx, i);
      int ok;
      lua_Integer v = lua_tointegerx(L, -1, &ok);
      if (!ok) luaL_error(L, "shape entry %d is not an integer", (int)i);
      if (v < -1) luaL_error(L, "shape entry %d is negative (%d)", (int)i, (int)v);
      shape[n++] = v;
      lua_pop(L, 1);
    }
    if (next) *next = idx + 1;
    return n;
  }
  while (lua_type(L, idx) == LUA_TNUMBER) {
    int ok;
    lua_Integer v = lua_tointegerx(L, idx, &ok);
    if (!ok) luaL_argerror(L, idx, "size must be an integer");
    if (v < -1) luaL_argerror(L, idx, "size must not be negative");
    if (n == SD_MAXDIM) luaL_error(L, "shape has more than %d dims", SD_MAXDIM);
    shape[n++] = v;
    idx++;
  }
  if (next) *next = idx;
  return n;
}

sd_dtype sd_lua_check_dtype(lua_State *L, int idx) {
  sd_dtype dt;
  const char *name = luaL_checkstring(L, idx);
  if (!sd_dtype_parse(name, &dt))
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown dtype '%s' (f32 f64 i32 i64 u8 bool)", name));
  return dt;
}

sd_dtype sd_lua_opt_dtype(lua_State *L, int idx, sd_dtype def) {
  if (!lua_istable(L, idx)) return def;
  if (lua_getfield(L, idx, "dtype") == LUA_TNIL) { lua_pop(L, 1); return def; }
  sd_dtype dt = sd_lua_check_dtype(L, -1);
  lua_pop(L, 1);
  return dt;
}

bool sd_lua_optbool(lua_State *L, int idx, const char *key, bool def) {
  if (idx == 0 || !lua_istable(L, idx)) return def;
  bool v = lua_getfield(L, idx, key) == LUA_TNIL ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

double sd_lua_optnumber(lua_State *L, int idx, const char *key, double def) {
  if (idx == 0 || !lua_istable(L, idx)) return def;
  int ty = lua_getfield(L, idx, key);
  if (ty != LUA_TNIL && ty != LUA_TNUMBER) luaL_error(L, "option '%s' must be a number", key);
  double v = ty == LUA_TNIL ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

int sd_lua_dim(lua_State *L, int idx, const sd_tensor *t) {
  lua_Integer d = luaL_checkinteger(L, idx);
  int nd = t->ndim ? t->ndim : 1;
  if (d < 0) d += nd + 1;
  if (d < 1 || d > nd)
    luaL_argerror(L, idx, lua_pushfstring(L, "dim %d out of range for a %d-d tensor",
                                          (int)luaL_checkinteger(L, idx), t->ndim));
  return (int)d - 1;
}

int sd_lua_optdim(lua_State *L, int idx, const sd_tensor *t, int def) {
  return lua_isnoneornil(L, idx) ? def : sd_lua_dim(L, idx, t);
}

static void check_shape(lua_State *L, const int64_t *shape, int n) {
  for (int i = 0; i < n; i++)
    if (shape[i] < 0) luaL_error(L, "size %d must not be negative", i + 1);
}

/* --- creation --- */

static int l_filled(lua_State *L, const char *fn, double v, int has_value) {
  int64_t shape[SD_MAXDIM];
  int next;
  int n = sd_lua_shape(L, 1, shape, &next);
  check_shape(L, shape, n);
  if (has_value) { v = luaL_checknumber(L, next); next++; }
  sd_dtype dt = sd_lua_opt_dtype(L, next, SD_F32);
  sd_tensor *t = has_value || v != 0 ? sd_full(dt, n, shape, v) : sd_zeros(dt, n, shape);
  sd_lua_push(L, t, fn);
  return 1;
}

static int l_zeros(lua_State *L) { return l_filled(L, "zeros", 0, 0); }
static int l_ones(lua_State *L) { return l_filled(L, "ones", 1, 0); }
static int l_full(lua_State *L) { return l_filled(L, "full", 0, 1); }

static int l_empty(lua_State *L) {
  int64_t shape[SD_MAXDIM];
  int next;
  int n = sd_lua_shape(L, 1, shape, &next);
  check_shape(L, shape, n);
  sd_lua_push(L, sd_empty(sd_lua_opt_dtype(L, next, SD_F32), n, shape), "empty");
  return 1;
}

/* arange(stop) | arange(start, stop[, step]): start, start+step, ... < stop
   for floats; for integers arange(1, 10) includes 10? No: half-open like
   PyTorch, so arange(1, 10) is 1..9. */
static int l_arange(lua_State *L) {
  int nnum = 0;
  while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) nnum++;
  if (nnum == 0) return luaL_argerror(L, 1, "number expected");
  double start = 0, stop, step = 1;
  if (nnum == 1) stop = lua_tonumber(L, 1);
  else { start = lua_tonumber(L, 1); stop = lua_tonumber(L, 2); }
  if (nnum == 3) step = lua_tonumber(L, 3);
  if (step == 0) return luaL_argerror(L, 3, "step must not be zero");
  bool allint = true;
  for (int i = 1; i <= nnum; i++) allint = allint && lua_isinteger(L, i);
  sd_dtype dt = sd_lua_opt_dtype(L, nnum + 1, allint ? SD_I64 : SD_F32);
  double len = ceil((stop - start) / step);
  if (!(len >= 0)) len = 0;
  if (len > 1e13) return luaL_error(L, "arange: %f elements is too many", len);
  int64_t n = (int64_t)len;
  sd_tensor *t = sd_lua_push(L, sd_empty(dt, 1, &n), "arange");
  char *p = sd_data(t);
  size_t es = sd_dtype_size(dt);
  for (int64_t i = 0; i < n; i++) {
    if (allint && !sd_dtype_is_float(dt))
      sd_seti_ptr(dt, p + i * es, (int64_t)start + i * (int64_t)step);
    else
      sd_set_ptr(dt, p + i * es, start + (double)i * step);
  }
  return 1;
}

static int l_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  lua_Integer n = luaL_checkinteger(L, 3);
  if (n < 0) return luaL_argerror(L, 3, "steps must not be negative");
  sd_dtype dt = sd_lua_opt_dtype(L, 4, SD_F32);
  int64_t sh = n;
  sd_tensor *t = sd_lua_push(L, sd_empty(dt, 1, &sh), "linspace");
  char *p = sd_data(t);
  size_t es = sd_dtype_size(dt);
  double step = n > 1 ? (b - a) / (double)(n - 1) : 0;
  /* symmetric evaluation as PyTorch does: the end point is exact */
  for (int64_t i = 0; i < n; i++)
    sd_set_ptr(dt, p + i * es, i < n / 2 ? a + step * (double)i : b - step * (double)(n - 1 - i));
  return 1;
}

static int l_eye(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  int next = 2;
  lua_Integer m = n;
  if (lua_type(L, 2) == LUA_TNUMBER) { m = luaL_checkinteger(L, 2); next = 3; }
  if (n < 0 || m < 0) return luaL_error(L, "eye: sizes must not be negative");
  int64_t sh[2] = {n, m};
  sd_dtype dt = sd_lua_opt_dtype(L, next, SD_F32);
  sd_tensor *t = sd_lua_push(L, sd_zeros(dt, 2, sh), "eye");
  char *p = sd_data(t);
  size_t es = sd_dtype_size(dt);
  for (int64_t i = 0; i < n && i < m; i++) sd_set_ptr(dt, p + (i * m + i) * es, 1);
  return 1;
}

/* tensor.new(nested_table [, {dtype=}]) */
static void nested_shape(lua_State *L, int idx, int depth, int64_t *shape, int *nd) {
  if (depth > SD_MAXDIM) luaL_error(L, "tensor.new: more than %d levels of nesting", SD_MAXDIM);
  if (!lua_istable(L, idx)) { *nd = depth; return; }
  shape[depth] = (int64_t)luaL_len(L, idx);
  if (shape[depth] == 0) { *nd = depth + 1; return; }
  lua_geti(L, idx, 1);
  nested_shape(L, lua_gettop(L), depth + 1, shape, nd);
  lua_pop(L, 1);
}

static void nested_fill(lua_State *L, int idx, int depth, int nd, const int64_t *shape,
                        sd_tensor *t, int64_t *pos, bool *isint, bool *isbool) {
  if (depth == nd) {
    int ok;
    double v = lua_tonumberx(L, idx, &ok);
    if (!ok) {
      if (lua_isboolean(L, idx)) v = lua_toboolean(L, idx);
      else luaL_error(L, "tensor.new: element %d is a %s, expected a number", (int)*pos + 1,
                      luaL_typename(L, idx));
    }
    if (!lua_isinteger(L, idx) && !lua_isboolean(L, idx)) *isint = false;
    if (!lua_isboolean(L, idx)) *isbool = false;
    size_t es = sd_dtype_size(t->dtype);
    if (t->dtype == SD_I64 && lua_isinteger(L, idx))
      *(int64_t *)((char *)sd_data(t) + *pos * (int64_t)es) = lua_tointeger(L, idx);
    else
      sd_set_ptr(t->dtype, (char *)sd_data(t) + *pos * (int64_t)es, v);
    (*pos)++;
    return;
  }
  if (!lua_istable(L, idx) || luaL_len(L, idx) != shape[depth])
    luaL_error(L, "tensor.new: ragged nesting at depth %d (expected %d entries)", depth + 1,
               (int)shape[depth]);
  for (int64_t i = 1; i <= shape[depth]; i++) {
    lua_geti(L, idx, i);
    nested_fill(L, lua_gettop(L), depth + 1, nd, shape, t, pos, isint, isbool);
    lua_pop(L, 1);
  }
}

static int l_new(lua_State *L) {
  int64_t shape[SD_MAXDIM];
  int nd = 0;
  if (lua_type(L, 1) != LUA_TNUMBER && lua_type(L, 1) != LUA_TBOOLEAN) {
    luaL_checktype(L, 1, LUA_TTABLE);
    nested_shape(L, 1, 0, shape, &nd);
  }
  bool explicit_dt = lua_istable(L, 2);
  sd_dtype dt = sd_lua_opt_dtype(L, 2, SD_F32);
  /* integers default to i64, other numbers to f32, booleans to bool, as
     torch.tensor does; i64 is filled directly so large integers stay exact */
  sd_dtype fill = dt == SD_I64 ? SD_I64 : SD_F64;
  sd_tensor *t = sd_lua_push(L, sd_empty(fill, nd, shape), "new");
  int64_t pos = 0;
  bool isint = true, isbool = true;
  nested_fill(L, 1, 0, nd, shape, t, &pos, &isint, &isbool);
  if (!explicit_dt) {
    dt = sd_numel(t) == 0 ? SD_F32 : isbool ? SD_BOOL : isint ? SD_I64 : SD_F32;
    if (dt == SD_I64) {
      t = sd_lua_push(L, sd_empty(SD_I64, nd, shape), "new");
      pos = 0;
      nested_fill(L, 1, 0, nd, shape, t, &pos, &isint, &isbool);
    }
  }
  if (t->dtype != dt) sd_lua_push(L, sd_to_dtype(t, dt), "new");
  return 1;
}

/* tensor.from(bytes, dtype, shape): copy raw little-endian bytes. */
static int l_from(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  sd_dtype dt = sd_lua_check_dtype(L, 2);
  int64_t shape[SD_MAXDIM];
  int nd;
  size_t es = sd_dtype_size(dt);
  if (lua_isnoneornil(L, 3)) {
    if (len % es) return luaL_error(L, "from: %d bytes is not a whole number of %s elements",
                                    (int)len, sd_dtype_name(dt));
    nd = 1;
    shape[0] = (int64_t)(len / es);
  } else {
    nd = sd_lua_shape(L, 3, shape, NULL);
  }
  int64_t n = 1;
  for (int i = 0; i < nd; i++) {
    if (shape[i] < 0) return luaL_error(L, "from: negative size in shape");
    n *= shape[i];
  }
  if ((uint64_t)n * es != len)
    return luaL_error(L, "from: shape needs %d bytes, got %d", (int)(n * (int64_t)es), (int)len);
  sd_tensor *t = sd_lua_push(L, sd_empty(dt, nd, shape), "from");
  memcpy(sd_data(t), s, len);
  return 1;
}

/* --- facts --- */

static int m_dtype(lua_State *L) {
  lua_pushstring(L, sd_dtype_name(sd_lua_check(L, 1)->dtype));
  return 1;
}

static int m_shape(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_stride(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, t->stride[sd_lua_dim(L, 2, t)]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->stride[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_size(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (lua_isnoneornil(L, 2)) return m_shape(L);
  if (t->ndim == 0) return luaL_argerror(L, 2, "a 0-d tensor has no dims");
  lua_pushinteger(L, t->shape[sd_lua_dim(L, 2, t)]);
  return 1;
}

static int m_dim(lua_State *L) {
  lua_pushinteger(L, sd_lua_check(L, 1)->ndim);
  return 1;
}

static int m_numel(lua_State *L) {
  lua_pushinteger(L, sd_numel(sd_lua_check(L, 1)));
  return 1;
}

static int m_is_contiguous(lua_State *L) {
  lua_pushboolean(L, sd_is_contiguous(sd_lua_check(L, 1)));
  return 1;
}

static int m_contiguous(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (sd_is_contiguous(t)) { lua_settop(L, 1); return 1; }
  sd_lua_push(L, sd_ad_contiguous(t), "contiguous");
  return 1;
}

static int m_clone(lua_State *L) {
  sd_lua_push(L, sd_ad_clone(sd_lua_check(L, 1)), "clone");
  return 1;
}

static int m_to(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_dtype dt = lua_istable(L, 2) ? sd_lua_opt_dtype(L, 2, t->dtype) : sd_lua_check_dtype(L, 2);
  if (dt == t->dtype) { lua_settop(L, 1); return 1; }
  sd_lua_push(L, sd_ad_to_dtype(t, dt), "to");
  return 1;
}

static void push_elem(lua_State *L, sd_dtype dt, const void *p) {
  if (dt == SD_BOOL) lua_pushboolean(L, *(const uint8_t *)p);
  else if (sd_dtype_is_float(dt)) lua_pushnumber(L, sd_get_ptr(dt, p));
  else lua_pushinteger(L, sd_geti_ptr(dt, p));
}

static int m_item(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (sd_numel(t) != 1) {
    char b[128];
    return luaL_error(L, "item: tensor of shape %s has %d elements, expected 1",
                      sd_shape_str(t, b, sizeof b), (int)sd_numel(t));
  }
  push_elem(L, t->dtype, sd_data(t));
  return 1;
}

static void tolist_rec(lua_State *L, const sd_tensor *t, int d, const char *p) {
  if (d == t->ndim) { push_elem(L, t->dtype, p); return; }
  int64_t es = (int64_t)sd_dtype_size(t->dtype);
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    tolist_rec(L, t, d + 1, p + i * t->stride[d] * es);
    lua_rawseti(L, -2, i + 1);
  }
}

static int m_tolist(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  luaL_checkstack(L, SD_MAXDIM + 4, "tolist");
  tolist_rec(L, t, 0, sd_data(t));
  return 1;
}

/* t:tostring_bytes(): the raw bytes, contiguous, as a Lua string. */
static int m_bytes(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_tensor *c = sd_lua_push(L, sd_contiguous(t), "bytes");
  lua_pushlstring(L, sd_data(c), (size_t)sd_numel(c) * sd_dtype_size(c->dtype));
  return 1;
}

/* --- views --- */

static int m_view(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int64_t shape[SD_MAXDIM];
  int n = sd_lua_shape(L, 2, shape, NULL);
  sd_lua_push(L, sd_ad_view(t, n, shape), "view");
  return 1;
}

static int m_reshape(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int64_t shape[SD_MAXDIM];
  int n = sd_lua_shape(L, 2, shape, NULL);
  sd_lua_push(L, sd_ad_reshape(t, n, shape), "reshape");
  return 1;
}

static int m_t(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (t->ndim > 2) return luaL_error(L, "t: expects a tensor with at most 2 dims, got %d; use transpose", t->ndim);
  sd_lua_push(L, t->ndim < 2 ? sd_ad_view(t, t->ndim, t->shape) : sd_ad_transpose(t, 0, 1), "t");
  return 1;
}

static int m_transpose(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int a = sd_lua_dim(L, 2, t), b = sd_lua_dim(L, 3, t);
  sd_lua_push(L, sd_ad_transpose(t, a, b), "transpose");
  return 1;
}

static int m_permute(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int64_t dims[SD_MAXDIM];
  int n = sd_lua_shape(L, 2, dims, NULL);
  if (n != t->ndim) return luaL_error(L, "permute: %d dims given for a %d-d tensor", n, t->ndim);
  int perm[SD_MAXDIM];
  for (int i = 0; i < n; i++) {
    int64_t d = dims[i] < 0 ? dims[i] + n + 1 : dims[i];
    if (d < 1 || d > n) return luaL_error(L, "permute: dim %d out of range", (int)dims[i]);
    perm[i] = (int)d - 1;
  }
  sd_lua_push(L, sd_ad_permute(t, perm), "permute");
  return 1;
}

static int m_narrow(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int d = sd_lua_dim(L, 2, t);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  if (start < 0) start += t->shape[d] + 1;
  sd_lua_push(L, sd_ad_narrow(t, d, start - 1, len), "narrow");
  return 1;
}

static int m_select(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int d = sd_lua_dim(L, 2, t);
  lua_Integer i = luaL_checkinteger(L, 3);
  if (i < 0) i += t->shape[d] + 1;
  sd_lua_push(L, sd_ad_select(t, d, i - 1), "select");
  return 1;
}

static int m_squeeze(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int d = lua_isnoneornil(L, 2) ? -1 : (t->ndim ? sd_lua_dim(L, 2, t) : -1);
  sd_lua_push(L, sd_ad_squeeze(t, d), "squeeze");
  return 1;
}

static int m_unsqueeze(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  lua_Integer d = luaL_checkinteger(L, 2);
  if (d < 0) d += t->ndim + 2;
  if (d < 1 || d > t->ndim + 1)
    return luaL_argerror(L, 2, lua_pushfstring(L, "dim %d out of range for unsqueeze of a %d-d tensor",
                                              (int)luaL_checkinteger(L, 2), t->ndim));
  sd_lua_push(L, sd_ad_unsqueeze(t, (int)d - 1), "unsqueeze");
  return 1;
}

static int m_expand(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int64_t shape[SD_MAXDIM];
  sd_tensor *o = sd_lua_test(L, 2);
  int n;
  if (o) { n = o->ndim; memcpy(shape, o->shape, sizeof shape); }
  else n = sd_lua_shape(L, 2, shape, NULL);
  sd_lua_push(L, sd_ad_expand(t, n, shape), "expand");
  return 1;
}

static int m_flatten(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int a = sd_lua_optdim(L, 2, t, 0), b = sd_lua_optdim(L, 3, t, t->ndim ? t->ndim - 1 : 0);
  sd_lua_push(L, sd_ad_flatten(t, a, b), "flatten");
  return 1;
}

static int m_unfold(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int d = sd_lua_dim(L, 2, t);
  sd_lua_push(L, sd_ad_unfold(t, d, luaL_checkinteger(L, 3), luaL_checkinteger(L, 4)), "unfold");
  return 1;
}

/* --- filling and copying --- */

static int m_fill_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "fill_");
  double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
  if (t->dtype == SD_I64 && lua_isinteger(L, 2)) {
    sd_tensor *s = sd_lua_operand(L, 2, SD_I64);
    if (sd_copy_(t, s) != SD_OK) return sd_lua_fail(L, "fill_");
  } else if (sd_fill_(t, v) != SD_OK) {
    return sd_lua_fail(L, "fill_");
  }
  lua_settop(L, 1);
  return 1;
}

static int m_copy_(lua_State *L) {
  sd_tensor *t = sd_lua_check_inplace(L, 1, "copy_");
  sd_tensor *s = sd_lua_check(L, 2);
  if (sd_copy_(t, s) != SD_OK) return sd_lua_fail(L, "copy_");
  lua_settop(L, 1);
  return 1;
}

/* --- slicing: x[i], x[{ {a,b}, i, {} }], x[mask], x[idx] ---
   An integer selects (1-based, negative from the end); {a, b} keeps a..b
   inclusive, {a, b, step} every step-th; {} or {a} keep all or a..end. */

static lua_Integer norm_index(lua_Integer i, int64_t size) { return i < 0 ? i + size + 1 : i; }

static sd_tensor *index_view(lua_State *L, sd_tensor *t, int kidx) {
  if (lua_isinteger(L, kidx)) {
    if (t->ndim == 0) luaL_error(L, "cannot index a 0-d tensor");
    return sd_ad_select(t, 0, norm_index(lua_tointeger(L, kidx), t->shape[0]) - 1);
  }
  luaL_checktype(L, kidx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, kidx);
  if (n > t->ndim) luaL_error(L, "index has %d entries for a %d-d tensor", (int)n, t->ndim);
  sd_tensor *v = sd_retain(t);
  int d = 0; /* dim of v that entry i refers to */
  for (lua_Integer i = 1; i <= n; i++) {
    int ty = lua_geti(L, kidx, i);
    sd_tensor *nv = NULL;
    if (ty == LUA_TNUMBER) {
      int ok;
      lua_Integer k = lua_tointegerx(L, -1, &ok);
      if (!ok) { sd_release(v); luaL_error(L, "index entry %d is not an integer", (int)i); }
      nv = sd_ad_select(v, d, norm_index(k, v->shape[d]) - 1);
    } else if (ty == LUA_TTABLE) {
      lua_Integer r[3] = {1, -1, 1};
      lua_Integer m = luaL_len(L, -1);
      if (m > 3) { sd_release(v); luaL_error(L, "index entry %d: a range is {first, last, step}", (int)i); }
      for (lua_Integer j = 1; j <= m; j++) {
        lua_geti(L, -1, j);
        int ok;
        r[j - 1] = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok) { sd_release(v); luaL_error(L, "index entry %d: range bounds must be integers", (int)i); }
      }
      int64_t size = v->shape[d];
      lua_Integer a = norm_index(r[0], size), b = norm_index(r[1], size);
      if (a < 1 || a > size + 1 || b < a - 1 || b > size || r[2] < 1) {
        sd_release(v);
        luaL_error(L, "index entry %d: range {%d, %d} out of bounds for dim %d of size %d", (int)i,
                   (int)r[0], (int)r[1], d + 1, (int)size);
      }
      nv = sd_ad_slice(v, d, a - 1, b, r[2]);
      d++;
    } else {
      sd_release(v);
      luaL_error(L, "index entry %d must be an integer or a range table", (int)i);
    }
    lua_pop(L, 1);
    sd_release(v);
    if (!nv) sd_lua_fail(L, "index");
    v = nv;
  }
  return v;
}

/* Methods by name, then `grad`, then indexing. */
static int t_index(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "grad") == 0) {
      if (t->grad) sd_lua_push(L, sd_retain(t->grad), "grad");
      else lua_pushnil(L);
      return 1;
    }
    if (strcmp(k, "requires_grad_") == 0 || strcmp(k, "is_leaf") == 0) return 0;
    lua_pushnil(L);
    return 1;
  }
  if (sd_lua_test(L, 2)) {
    /* a bool mask selects, an integer tensor picks rows */
    sd_tensor *k = sd_lua_test(L, 2);
    lua_pushstring(L, k->dtype == SD_BOOL ? "masked_select" : "index_select");
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL)
      return luaL_error(L, "tensor indexing by a tensor is not available");
    lua_pushvalue(L, 1);
    if (k->dtype == SD_BOOL) { lua_pushvalue(L, 2); lua_call(L, 2, 1); }
    else { lua_pushinteger(L, 1); lua_pushvalue(L, 2); lua_call(L, 3, 1); }
    return 1;
  }
  sd_lua_push(L, index_view(L, t, 2), "index");
  return 1;
}

static int t_newindex(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    if (strcmp(lua_tostring(L, 2), "grad") != 0)
      return luaL_error(L, "cannot set field '%s' of a tensor", lua_tostring(L, 2));
    sd_tensor *g = lua_isnil(L, 3) ? NULL : sd_lua_check(L, 3);
    if (g && !sd_same_shape(g, t)) return luaL_error(L, "grad: shape differs from the tensor's");
    sd_release(t->grad);
    t->grad = sd_retain(g);
    return 0;
  }
  if (sd_check_inplace(t, "index assignment") != SD_OK) return sd_lua_fail(L, NULL);
  sd_tensor *k = sd_lua_test(L, 2);
  if (k) {
    if (k->dtype != SD_BOOL) return luaL_error(L, "assignment by index tensor: use index_copy_ or scatter_");
    lua_pushstring(L, "masked_fill_");
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL)
      return luaL_error(L, "assignment through a mask is not available");
    lua_pushvalue(L, 1); lua_pushvalue(L, 2); lua_pushvalue(L, 3);
    lua_call(L, 3, 0);
    return 0;
  }
  sd_tensor *v = sd_lua_push(L, index_view(L, t, 2), "index");
  sd_status st;
  sd_tensor *src = sd_lua_test(L, 3);
  if (src) st = sd_copy_(v, src);
  else if (lua_isboolean(L, 3)) st = sd_fill_(v, lua_toboolean(L, 3));
  else if (lua_isinteger(L, 3) && v->dtype == SD_I64) {
    sd_tensor *s = sd_lua_operand(L, 3, SD_I64);
    st = sd_copy_(v, s);
  } else st = sd_fill_(v, luaL_checknumber(L, 3));
  if (st != SD_OK) return sd_lua_fail(L, "index assignment");
  return 0;
}

static int t_len(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  lua_pushinteger(L, t->ndim ? t->shape[0] : 1);
  return 1;
}

/* --- printing, like NumPy: edge items when large, one format per tensor --- */

typedef struct { luaL_Buffer *b; const sd_tensor *t; int summarize; int width; int isint;
                 int sci; int prec; } fmt;

static void fmt_elem(fmt *f, const char *p) {
  char s[64];
  sd_dtype dt = f->t->dtype;
  if (dt == SD_BOOL) snprintf(s, sizeof s, "%*s", f->width, *(const uint8_t *)p ? "true" : "false");
  else if (!sd_dtype_is_float(dt)) snprintf(s, sizeof s, "%*lld", f->width, (long long)sd_geti_ptr(dt, p));
  else {
    double v = sd_get_ptr(dt, p);
    if (isnan(v)) snprintf(s, sizeof s, "%*s", f->width, "nan");
    else if (isinf(v)) snprintf(s, sizeof s, "%*s", f->width, v > 0 ? "inf" : "-inf");
    else if (f->sci) snprintf(s, sizeof s, "%*.*e", f->width, f->prec, v);
    else if (f->isint) snprintf(s, sizeof s, "%*.0f.", f->width - 1, v);
    else snprintf(s, sizeof s, "%*.*f", f->width, f->prec, v);
  }
  luaL_addstring(f->b, s);
}

static void fmt_rec(fmt *f, int d, const char *p, int indent) {
  const sd_tensor *t = f->t;
  luaL_Buffer *b = f->b;
  if (d == t->ndim) { fmt_elem(f, p); return; }
  int64_t n = t->shape[d], es = (int64_t)sd_dtype_size(t->dtype), edge = 3;
  luaL_addchar(b, '[');
  for (int64_t i = 0; i < n; i++) {
    if (f->summarize && n > 2 * edge && i == edge) {
      if (d == t->ndim - 1) luaL_addstring(b, " ...,");
      else {
        luaL_addstring(b, "\n");
        for (int k = 0; k < indent + 1; k++) luaL_addchar(b, ' ');
        luaL_addstring(b, "...,");
      }
      i = n - edge;
    }
    if (i > 0) {
      if (d == t->ndim - 1) luaL_addchar(b, ' ');
      else {
        for (int k = d; k < t->ndim - 1; k++) luaL_addchar(b, '\n');
        for (int k = 0; k < indent + 1; k++) luaL_addchar(b, ' ');
      }
    }
    fmt_rec(f, d + 1, p + i * t->stride[d] * es, indent + 1);
    if (i < n - 1) luaL_addchar(b, ',');
  }
  luaL_addchar(b, ']');
}

/* Visit the printed elements to choose one format for all of them. */
static void scan(const sd_tensor *t, int d, const char *p, int summarize, double *mx, double *mn,
                 int *isint, int *w) {
  int64_t es = (int64_t)sd_dtype_size(t->dtype);
  if (d == t->ndim) {
    double v = sd_get_ptr(t->dtype, p);
    if (!sd_dtype_is_float(t->dtype)) {
      char s[32];
      int len = snprintf(s, sizeof s, "%lld", (long long)sd_geti_ptr(t->dtype, p));
      if (len > *w) *w = len;
      return;
    }
    if (!isfinite(v)) { if (*w < 4) *w = 4; return; }
    double a = fabs(v);
    if (a > *mx) *mx = a;
    if (a > 0 && a < *mn) *mn = a;
    if (v != floor(v)) *isint = 0;
    return;
  }
  int64_t n = t->shape[d];
  for (int64_t i = 0; i < n; i++) {
    if (summarize && n > 6 && i == 3) i = n - 3;
    scan(t, d + 1, p + i * t->stride[d] * es, summarize, mx, mn, isint, w);
  }
}

static int t_tostring(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  luaL_Buffer b;
  char sh[128];
  luaL_buffinit(L, &b);
  fmt f = {&b, t, sd_numel(t) > 1000, 0, 1, 0, 4};
  if (sd_numel(t) == 0) {
    luaL_addstring(&b, "tensor([]");
  } else {
    double mx = 0, mn = INFINITY;
    int w = 0;
    scan(t, 0, sd_data(t), f.summarize, &mx, &mn, &f.isint, &w);
    if (sd_dtype_is_float(t->dtype)) {
      if (mx >= 1e8 || (mn < 1e-4 && mn > 0 && !f.isint) || (mx / mn > 1e3 && !f.isint && mn < 1e-2)) {
        f.sci = 1;
        w = 10 + (mx >= 1e100);
      } else {
        char s[64];
        int len = f.isint ? snprintf(s, sizeof s, "%.0f.", mx) : snprintf(s, sizeof s, "%.4f", mx);
        w = len + 1 > w ? len + 1 : w;
      }
    }
    f.width = w;
    luaL_addstring(&b, "tensor(");
    fmt_rec(&f, 0, sd_data(t), 7);
  }
  if (t->dtype != SD_F32 || sd_numel(t) == 0 || t->ndim == 0) {
    luaL_addstring(&b, ", dtype=");
    luaL_addstring(&b, sd_dtype_name(t->dtype));
  }
  if (f.summarize || sd_numel(t) == 0) {
    luaL_addstring(&b, ", shape=");
    luaL_addstring(&b, sd_shape_str(t, sh, sizeof sh));
  }
  if (t->requires_grad) luaL_addstring(&b, ", requires_grad=true");
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

/* --- registration --- */

static int l_is_tensor(lua_State *L) {
  lua_pushboolean(L, sd_lua_test(L, 1) != NULL);
  return 1;
}

const sd_reg sd_tensor_core_fns[] = {
  {"zeros", l_zeros, "tensor.zeros(...shape, {dtype=})", "tensor of zeros"},
  {"ones", l_ones, "tensor.ones(...shape, {dtype=})", "tensor of ones"},
  {"full", l_full, "tensor.full(shape, value, {dtype=})", "tensor filled with value"},
  {"empty", l_empty, "tensor.empty(...shape, {dtype=})", "uninitialised tensor"},
  {"arange", l_arange, "tensor.arange([start,] stop [, step], {dtype=})",
   "values start, start+step, ... below stop (i64 for integer arguments, else f32)"},
  {"linspace", l_linspace, "tensor.linspace(a, b, steps, {dtype=})", "steps evenly spaced values from a to b"},
  {"eye", l_eye, "tensor.eye(n [, m], {dtype=})", "identity matrix"},
  {"new", l_new, "tensor.new(nested_table, {dtype=})",
   "tensor from nested Lua tables (integers give i64, other numbers f32)"},
  {"from", l_from, "tensor.from(bytes, dtype [, shape])", "tensor from raw little-endian bytes"},
  {"is_tensor", l_is_tensor, "tensor.is_tensor(x)", "true when x is a tensor"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_core_methods[] = {
  {"dtype", m_dtype, "t:dtype()", "element type name: f32 f64 i32 i64 u8 bool"},
  {"shape", m_shape, "t:shape()", "the sizes as a Lua table"},
  {"size", m_size, "t:size([dim])", "size of dim, or the shape table"},
  {"stride", m_stride, "t:stride([dim])", "strides in elements"},
  {"dim", m_dim, "t:dim()", "number of dims"},
  {"numel", m_numel, "t:numel()", "number of elements"},
  {"is_contiguous", m_is_contiguous, "t:is_contiguous()", "true when row-major without gaps"},
  {"contiguous", m_contiguous, "t:contiguous()", "t itself when contiguous, else a contiguous copy"},
  {"clone", m_clone, "t:clone()", "a contiguous copy"},
  {"to", m_to, "t:to(dtype)", "converted copy (t itself when already of dtype)"},
  {"item", m_item, "t:item()", "the value of a one-element tensor"},
  {"tolist", m_tolist, "t:tolist()", "nested Lua tables of the values"},
  {"bytes", m_bytes, "t:bytes()", "the raw little-endian bytes as a string"},
  {"view", m_view, "t:view(...shape)", "same data seen with another shape; errors if strides forbid"},
  {"reshape", m_reshape, "t:reshape(...shape)", "view when possible, else a copy"},
  {"t", m_t, "t:t()", "transpose of a matrix (a view)"},
  {"transpose", m_transpose, "t:transpose(d1, d2)", "swap two dims (a view)"},
  {"permute", m_permute, "t:permute(...dims)", "reorder dims (a view)"},
  {"narrow", m_narrow, "t:narrow(dim, start, length)", "length entries from start along dim (a view)"},
  {"select", m_select, "t:select(dim, index)", "slice at index, removing dim (a view)"},
  {"squeeze", m_squeeze, "t:squeeze([dim])", "drop size-1 dims (a view)"},
  {"unsqueeze", m_unsqueeze, "t:unsqueeze(dim)", "insert a size-1 dim (a view)"},
  {"expand", m_expand, "t:expand(...shape)", "broadcast size-1 dims with stride 0 (a view); -1 keeps a size"},
  {"flatten", m_flatten, "t:flatten([start_dim, end_dim])", "merge dims start..end into one"},
  {"unfold", m_unfold, "t:unfold(dim, size, step)", "sliding windows along dim as a new last dim (a view)"},
  {"fill_", m_fill_, "t:fill_(value)", "set every element, in place"},
  {"fill", m_fill_, "t:fill(value)", "same as fill_ (Torch7 name)"},
  {"copy_", m_copy_, "t:copy_(src)", "copy src into t, broadcasting and converting, in place"},
  {"copy", m_copy_, "t:copy(src)", "same as copy_ (Torch7 name)"},
  {"free", t_free, "t:free()", "release the memory now; the tensor becomes empty"},
  {NULL, NULL, NULL, NULL},
};

static const sd_reg *const fn_tables[] = {
  sd_tensor_core_fns, sd_tensor_math_fns, sd_tensor_index_fns, sd_tensor_linalg_fns,
  sd_tensor_random_fns, sd_tensor_io_fns, sd_tensor_special_fns, NULL};
static const sd_reg *const method_tables[] = {
  sd_tensor_core_methods, sd_tensor_math_methods, sd_tensor_index_methods,
  sd_tensor_linalg_methods, sd_tensor_random_methods, sd_tensor_io_methods,
  sd_tensor_special_methods, sd_autograd_methods, NULL};

int sd_open_tensor(lua_State *L) {
  lua_newtable(L); /* module */
  for (int i = 0; fn_tables[i]; i++) sd_lua_register(L, -1, "tensor", '.', fn_tables[i]);
  sd_open_generator(L);
  luaL_newmetatable(L, SD_TENSOR_MT);
  int mt = lua_gettop(L);
  lua_newtable(L); /* methods */
  int methods = lua_gettop(L);
  for (int i = 0; method_tables[i]; i++) sd_lua_register(L, methods, "Tensor", ':', method_tables[i]);
  lua_pushvalue(L, methods);
  lua_setfield(L, -4, "Tensor"); /* tensor.Tensor: the method table, for completion */
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_index, 1);
  lua_setfield(L, mt, "__index");
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_newindex, 1);
  lua_setfield(L, mt, "__newindex");
  lua_pushcfunction(L, t_gc);
  lua_setfield(L, mt, "__gc");
  lua_pushcfunction(L, t_free);
  lua_setfield(L, mt, "__close");
  lua_pushcfunction(L, t_tostring);
  lua_setfield(L, mt, "__tostring");
  lua_pushcfunction(L, t_len);
  lua_setfield(L, mt, "__len");
  lua_pushliteral(L, "Tensor");
  lua_setfield(L, mt, "__name");
  for (const sd_reg *r = sd_tensor_math_meta; r->name; r++) {
    lua_pushcfunction(L, r->fn);
    lua_setfield(L, mt, r->name);
  }
  lua_pop(L, 2); /* methods, mt */
  return 1;
}
