/* ltensor_index.c: the indexing, joining and sorting methods of Tensor and
   tensor.cat/stack/one_hot. Dims are 1-based here (negative from the end);
   index tensors hold 1-based positions and pass through unshifted. */
#include "lsonde.h"
#include "../core/ad.h"
#include "../core/index.h"

/* --- argument helpers --- */

/* An index argument: an integer tensor, or a Lua table of integers (made
   into an i64 tensor that replaces it on the stack). */
static sd_tensor *check_index(lua_State *L, int idx) {
  sd_tensor *t = sd_lua_test(L, idx);
  if (t) return t;
  if (!lua_istable(L, idx)) luaL_typeerror(L, idx, "index tensor or table of integers");
  int64_t n = (int64_t)luaL_len(L, idx);
  t = sd_lua_push(L, sd_empty(SD_I64, 1, &n), "index");
  for (int64_t i = 0; i < n; i++) {
    lua_geti(L, idx, i + 1);
    int ok;
    ((int64_t *)sd_data(t))[i] = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_argerror(L, idx, lua_pushfstring(L, "index entry %d is not an integer", (int)i + 1));
    lua_pop(L, 1);
  }
  lua_replace(L, idx);
  return t;
}

/* A value or source operand: tensor, number or boolean, in dtype dt. */
static sd_tensor *check_value(lua_State *L, int idx, sd_dtype dt) {
  if (lua_isboolean(L, idx)) {
    lua_pushinteger(L, lua_toboolean(L, idx));
    lua_replace(L, idx);
  }
  return sd_lua_operand(L, idx, dt);
}


/* A 1-based dim for functions whose dims are checked by the core: 0-based
   result, negative kept (counts from the end). */
static int raw_dim(lua_State *L, int idx, lua_Integer def) {
  lua_Integer d = luaL_optinteger(L, idx, def);
  if (d == 0 || d > SD_MAXDIM + 1 || d < -SD_MAXDIM - 1)
    luaL_argerror(L, idx, "dim out of range (dims count from 1)");
  return d > 0 ? (int)d - 1 : (int)d;
}

/* Integers as varargs from idx, or one table at idx; returns the count. */
static int read_ints(lua_State *L, int idx, int64_t *out, int max) {
  int n = 0;
  if (lua_istable(L, idx)) {
    lua_Integer len = luaL_len(L, idx);
    if (len > max) luaL_argerror(L, idx, "too many entries");
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, idx, i);
      int ok;
      out[n++] = lua_tointegerx(L, -1, &ok);
      if (!ok) luaL_argerror(L, idx, "entries must be integers");
      lua_pop(L, 1);
    }
    return n;
  }
  for (; lua_type(L, idx) == LUA_TNUMBER; idx++) {
    if (n == max) luaL_argerror(L, idx, "too many entries");
    out[n++] = luaL_checkinteger(L, idx);
  }
  return n;
}

/* 1-based dims to 0-based for the core (negative kept). */
static int read_dims(lua_State *L, int idx, int *dims) {
  int64_t v[SD_MAXDIM];
  int n = read_ints(L, idx, v, SD_MAXDIM);
  for (int i = 0; i < n; i++) {
    if (v[i] == 0) luaL_argerror(L, idx, "dims count from 1");
    dims[i] = v[i] > 0 ? (int)v[i] - 1 : (int)v[i];
  }
  return n;
}

static int last_dim(const sd_tensor *t) { return t->ndim ? t->ndim - 1 : 0; }

/* --- gather and scatter --- */

static int m_index_select(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int dim = sd_lua_dim(L, 2, t);
  sd_lua_push(L, sd_ad_index_select(t, dim, check_index(L, 3)), "index_select");
  return 1;
}

static int m_gather(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int dim = sd_lua_dim(L, 2, t);
  sd_lua_push(L, sd_ad_gather(t, dim, check_index(L, 3)), "gather");
  return 1;
}

typedef sd_status (*scatter_fn)(sd_tensor *, int, const sd_tensor *, const sd_tensor *);

/* t:op_(dim, index, src) in place, or on a copy when copy is set; name is
   the core's, which its messages start with. */
static int scatter_like(lua_State *L, scatter_fn fn, const char *name, bool copy) {
  sd_tensor *t = sd_lua_check(L, 1);
  int dim = sd_lua_dim(L, 2, t);
  sd_tensor *idx = check_index(L, 3);
  sd_tensor *src = check_value(L, 4, t->dtype);
  sd_tensor *in[2] = {t, src};
  if (sd_ad_nondiff(name, 2, in) != SD_OK) return sd_lua_fail(L, name); /* no rule yet */
  if (copy) t = sd_lua_push(L, sd_clone(t), name);
  else lua_pushvalue(L, 1);
  if (fn(t, dim, idx, src) != SD_OK) return sd_lua_fail(L, name);
  return 1;
}

static int m_scatter_(lua_State *L) { return scatter_like(L, sd_scatter_, "scatter", false); }
static int m_scatter(lua_State *L) { return scatter_like(L, sd_scatter_, "scatter", true); }
static int m_scatter_add_(lua_State *L) { return scatter_like(L, sd_scatter_add_, "scatter_add", false); }
static int m_scatter_add(lua_State *L) { return scatter_like(L, sd_scatter_add_, "scatter_add", true); }
static int m_index_add_(lua_State *L) { return scatter_like(L, sd_index_add_, "index_add", false); }
static int m_index_add(lua_State *L) { return scatter_like(L, sd_index_add_, "index_add", true); }
static int m_index_copy_(lua_State *L) { return scatter_like(L, sd_index_copy_, "index_copy", false); }
static int m_index_copy(lua_State *L) { return scatter_like(L, sd_index_copy_, "index_copy", true); }
static int m_index_fill_(lua_State *L) { return scatter_like(L, sd_index_fill_, "index_fill", false); }
static int m_index_fill(lua_State *L) { return scatter_like(L, sd_index_fill_, "index_fill", true); }

/* --- masks --- */

static int m_masked_select(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_lua_push(L, sd_ad_masked_select(t, sd_lua_check(L, 2)), "masked_select");
  return 1;
}

static int masked_fill(lua_State *L, bool copy) {
  const char *name = "masked_fill";
  sd_tensor *t = sd_lua_check(L, 1), *mask = sd_lua_check(L, 2);
  sd_tensor *v = check_value(L, 3, t->dtype);
  if (copy) {
    sd_lua_push(L, sd_ad_masked_fill(t, mask, v), name);
    return 1;
  }
  lua_pushvalue(L, 1);
  if (sd_check_inplace(t, "masked_fill_") != SD_OK || sd_masked_fill_(t, mask, v) != SD_OK)
    return sd_lua_fail(L, name);
  return 1;
}

static int m_masked_fill_(lua_State *L) { return masked_fill(L, false); }
static int m_masked_fill(lua_State *L) { return masked_fill(L, true); }

static int m_nonzero(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_tensor *nz = sd_lua_push(L, sd_nonzero(t), "nonzero");
  if (!sd_lua_optbool(L, 2, "as_tuple", false)) return 1;
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    sd_tensor *col = sd_lua_push(L, sd_select(nz, 1, d), "nonzero");
    sd_lua_push(L, sd_contiguous(col), "nonzero");
    lua_rawseti(L, -3, d + 1);
    lua_pop(L, 1);
  }
  return 1;
}

/* --- joining --- */

/* The tensors of the table at idx, in a GC'd array pushed on the stack. */
static sd_tensor **check_list(lua_State *L, int idx, const char *fn, int *n) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer len = luaL_len(L, idx);
  if (len < 1 || len > 1 << 20)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s expects a non-empty table of tensors", fn));
  sd_tensor **ts = lua_newuserdatauv(L, (size_t)len * sizeof *ts, 0);
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, idx, i);
    ts[i - 1] = sd_lua_test(L, -1);
    if (!ts[i - 1])
      luaL_argerror(L, idx, lua_pushfstring(L, "entry %d is a %s, not a tensor", (int)i, luaL_typename(L, -1)));
    lua_pop(L, 1); /* the table keeps it alive */
  }
  *n = (int)len;
  return ts;
}

static int l_cat(lua_State *L) {
  int n, dim = raw_dim(L, 2, 1);
  sd_tensor **ts = check_list(L, 1, "cat", &n);
  sd_lua_push(L, sd_ad_cat(n, ts, dim), "cat");
  return 1;
}

static int l_stack(lua_State *L) {
  int n, dim = raw_dim(L, 2, 1);
  sd_tensor **ts = check_list(L, 1, "stack", &n);
  sd_lua_push(L, sd_ad_stack(n, ts, dim), "stack");
  return 1;
}

/* Views of t along dim with the given sizes, as a Lua table. */
static int push_pieces(lua_State *L, sd_tensor *t, int dim, int64_t n, const int64_t *sizes,
                       const char *fn) {
  lua_createtable(L, (int)n, 0);
  int64_t at = 0;
  for (int64_t i = 0; i < n; i++) {
    sd_lua_push(L, sd_ad_narrow(t, dim, at, sizes[i]), fn);
    lua_rawseti(L, -2, i + 1);
    at += sizes[i];
  }
  return 1;
}

static int m_split(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "split: cannot split a 0-d tensor");
  int dim = sd_lua_optdim(L, 3, t, 0);
  int64_t len = t->shape[dim], n;
  int64_t *sizes;
  if (lua_istable(L, 2)) {
    n = (int64_t)luaL_len(L, 2);
    sizes = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *sizes, 0);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
      lua_geti(L, 2, i + 1);
      int ok;
      sizes[i] = lua_tointegerx(L, -1, &ok);
      lua_pop(L, 1);
      if (!ok || sizes[i] < 0) return luaL_argerror(L, 2, "sizes must be non-negative integers");
      sum += sizes[i];
    }
    if (sum != len)
      return luaL_error(L, "split: sizes add up to %d but dim %d has size %d", (int)sum, dim + 1, (int)len);
  } else {
    lua_Integer size = luaL_checkinteger(L, 2);
    if (size < 1) return luaL_argerror(L, 2, "split size must be positive");
    sizes = lua_newuserdatauv(L, (size_t)(len + 1) * sizeof *sizes, 0);
    n = sd_split_sizes(len, size, sizes);
  }
  return push_pieces(L, t, dim, n, sizes, "split");
}

static int m_chunk(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "chunk: cannot chunk a 0-d tensor");
  lua_Integer k = luaL_checkinteger(L, 2);
  if (k < 1) return luaL_argerror(L, 2, "number of chunks must be positive");
  int dim = sd_lua_optdim(L, 3, t, 0);
  int64_t len = t->shape[dim];
  int64_t *sizes = lua_newuserdatauv(L, (size_t)(len + 1) * sizeof *sizes, 0);
  int64_t n = sd_chunk_sizes(len, k, sizes);
  return push_pieces(L, t, dim, n, sizes, "chunk");
}

static int l_one_hot(lua_State *L) {
  sd_tensor *labels = sd_lua_check(L, 1);
  lua_Integer c = -1;
  int opts = 2;
  if (lua_type(L, 2) == LUA_TNUMBER) { c = luaL_checkinteger(L, 2); opts = 3; }
  else if (lua_isnil(L, 2)) opts = 3;
  sd_dtype dt = sd_lua_opt_dtype(L, opts, SD_I64);
  sd_lua_push(L, sd_one_hot(labels, c, dt), "one_hot");
  return 1;
}

/* --- sorting --- */

/* Optional dim at idx (default: last), then options at idx or idx+1;
   returns the options' index. */
static int dim_and_opts(lua_State *L, int idx, const sd_tensor *t, int *dim) {
  if (lua_type(L, idx) == LUA_TNUMBER) { *dim = sd_lua_dim(L, idx, t); return idx + 1; }
  *dim = last_dim(t);
  return lua_isnil(L, idx) && !lua_isnone(L, idx) ? idx + 1 : idx;
}

static int sort_common(lua_State *L, bool values_too) {
  const char *fn = values_too ? "sort" : "argsort";
  sd_tensor *t = sd_lua_check(L, 1), *v, *i;
  int dim, o = dim_and_opts(L, 2, t, &dim);
  bool desc = lua_isboolean(L, o) ? lua_toboolean(L, o) : sd_lua_optbool(L, o, "descending", false);
  if (sd_sort(t, dim, desc, &v, &i) != SD_OK) return sd_lua_fail(L, fn);
  if (values_too) {
    sd_lua_push(L, i, fn);
    sd_lua_push(L, v, fn);
    sd_lua_push(L, sd_ad_take_along(t, dim, v, i), fn);
    lua_replace(L, -2);
    lua_insert(L, -2);
    return 2;
  }
  sd_release(v);
  sd_lua_push(L, i, fn);
  return values_too ? 2 : 1;
}

static int m_sort(lua_State *L) { return sort_common(L, true); }
static int m_argsort(lua_State *L) { return sort_common(L, false); }

static int m_topk(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1), *v, *i;
  lua_Integer k = luaL_checkinteger(L, 2);
  int dim, o = dim_and_opts(L, 3, t, &dim);
  if (sd_topk(t, k, dim, sd_lua_optbool(L, o, "largest", true), &v, &i) != SD_OK)
    return sd_lua_fail(L, "topk");
  sd_lua_push(L, v, "topk");
  sd_lua_push(L, i, "topk");
  sd_lua_push(L, sd_ad_take_along(t, dim, v, i), "topk");
  lua_replace(L, -3);
  return 2;
}

static int m_kthvalue(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1), *v, *i;
  lua_Integer k = luaL_checkinteger(L, 2);
  int dim, o = dim_and_opts(L, 3, t, &dim);
  bool keep = lua_isboolean(L, o) ? lua_toboolean(L, o) : sd_lua_optbool(L, o, "keepdim", false);
  if (sd_kthvalue(t, k, dim, keep, &v, &i) != SD_OK) return sd_lua_fail(L, "kthvalue");
  sd_lua_push(L, v, "kthvalue");
  sd_lua_push(L, i, "kthvalue");
  sd_lua_push(L, sd_ad_take_along(t, dim, v, i), "kthvalue");
  lua_replace(L, -3);
  return 2;
}

static int m_unique(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1), *v, *inv = NULL, *cnt = NULL;
  bool want_inv = sd_lua_optbool(L, 2, "return_inverse", false);
  bool want_cnt = sd_lua_optbool(L, 2, "return_counts", false);
  if (sd_unique(t, sd_lua_optbool(L, 2, "sorted", true), &v, want_inv ? &inv : NULL,
                want_cnt ? &cnt : NULL) != SD_OK)
    return sd_lua_fail(L, "unique");
  sd_lua_push(L, v, "unique");
  if (inv) sd_lua_push(L, inv, "unique");
  if (cnt) sd_lua_push(L, cnt, "unique");
  return 1 + want_inv + want_cnt;
}

static int m_bincount(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1), *w = NULL;
  lua_Integer minlength = 0;
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "weights") != LUA_TNIL) {
      w = sd_lua_test(L, -1);
      if (!w) return luaL_argerror(L, 2, "weights must be a tensor");
    }
    if (lua_getfield(L, 2, "minlength") != LUA_TNIL) {
      int ok;
      minlength = lua_tointegerx(L, -1, &ok);
      if (!ok) return luaL_argerror(L, 2, "minlength must be an integer");
    }
  }
  sd_lua_push(L, sd_bincount(t, w, minlength), "bincount");
  return 1;
}

/* --- rearranging --- */

static int m_flip(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int dims[SD_MAXDIM], n = read_dims(L, 2, dims);
  if (n == 0) return luaL_argerror(L, 2, "dims expected");
  sd_lua_push(L, sd_ad_flip(t, n, dims), "flip");
  return 1;
}

static int m_roll(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int64_t shifts[SD_MAXDIM];
  int dims[SD_MAXDIM];
  int ns, nd = 0;
  if (lua_istable(L, 2)) ns = read_ints(L, 2, shifts, SD_MAXDIM);
  else { shifts[0] = luaL_checkinteger(L, 2); ns = 1; }
  if (!lua_isnoneornil(L, 3)) {
    if (lua_istable(L, 3)) nd = read_dims(L, 3, dims);
    else { dims[0] = raw_dim(L, 3, 1); nd = 1; }
    if (nd != ns) return luaL_error(L, "roll: %d shifts for %d dims", ns, nd);
  } else if (ns != 1) {
    return luaL_error(L, "roll: %d shifts need as many dims", ns);
  }
  if (sd_ad_nondiff("roll", 1, &t) != SD_OK) return sd_lua_fail(L, "roll");
  sd_lua_push(L, sd_roll(t, nd, shifts, dims), "roll");
  return 1;
}

static int m_repeat(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  int64_t reps[SD_MAXDIM];
  int n = read_ints(L, 2, reps, SD_MAXDIM);
  if (sd_ad_nondiff("repeat", 1, &t) != SD_OK) return sd_lua_fail(L, "repeat");
  sd_lua_push(L, sd_repeat(t, n, reps), "repeat");
  return 1;
}

static int m_tril(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_lua_push(L, sd_ad_tril(t, luaL_optinteger(L, 2, 0)), "tril");
  return 1;
}

static int m_triu(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  sd_lua_push(L, sd_ad_triu(t, luaL_optinteger(L, 2, 0)), "triu");
  return 1;
}

static int m_diag(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  if (sd_ad_nondiff("diag", 1, &t) != SD_OK) return sd_lua_fail(L, "diag");
  sd_lua_push(L, sd_diag(t, luaL_optinteger(L, 2, 0)), "diag");
  return 1;
}

static int m_diagonal(lua_State *L) {
  sd_tensor *t = sd_lua_check(L, 1);
  lua_Integer k = luaL_optinteger(L, 2, 0);
  if (sd_ad_nondiff("diagonal", 1, &t) != SD_OK) return sd_lua_fail(L, "diagonal");
  sd_lua_push(L, sd_diagonal(t, k, raw_dim(L, 3, 1), raw_dim(L, 4, 2)), "diagonal");
  return 1;
}

/* --- registration --- */

const sd_reg sd_tensor_index_fns[] = {
  {"cat", l_cat, "tensor.cat(tensors, [dim=1])",
   "concatenate a table of tensors along dim (sizes match elsewhere; dtypes promote)"},
  {"stack", l_stack, "tensor.stack(tensors, [dim=1])", "stack same-shape tensors along a new dim"},
  {"one_hot", l_one_hot, "tensor.one_hot(labels, [num_classes], {dtype=})",
   "1-based integer labels to labels.shape + {num_classes} of 0/1 (i64 unless dtype); classes default to the largest label"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_index_methods[] = {
  {"index_select", m_index_select, "t:index_select(dim, index)",
   "entries at the 1-based positions index (tensor or table) along dim; t[index] does this for dim 1"},
  {"gather", m_gather, "t:gather(dim, index)",
   "out[i] = t[i with its dim coordinate replaced by index[i]] (1-based); out has index's shape"},
  {"scatter_", m_scatter_, "t:scatter_(dim, index, src_or_value)",
   "t[i with dim coordinate index[i]] = src[i], in place; repeated indices: the last wins"},
  {"scatter", m_scatter, "t:scatter(dim, index, src_or_value)", "scatter_ on a copy of t"},
  {"scatter_add_", m_scatter_add_, "t:scatter_add_(dim, index, src)",
   "t[i with dim coordinate index[i]] += src[i], in place (gather's adjoint)"},
  {"scatter_add", m_scatter_add, "t:scatter_add(dim, index, src)", "scatter_add_ on a copy of t"},
  {"index_add_", m_index_add_, "t:index_add_(dim, index, src)",
   "t's slice index[j] along dim += src's slice j, in place (index_select's adjoint)"},
  {"index_add", m_index_add, "t:index_add(dim, index, src)", "index_add_ on a copy of t"},
  {"index_copy_", m_index_copy_, "t:index_copy_(dim, index, src)",
   "t's slice index[j] along dim = src's slice j, in place"},
  {"index_copy", m_index_copy, "t:index_copy(dim, index, src)", "index_copy_ on a copy of t"},
  {"index_fill_", m_index_fill_, "t:index_fill_(dim, index, value)",
   "set the slices at positions index along dim to value, in place"},
  {"index_fill", m_index_fill, "t:index_fill(dim, index, value)", "index_fill_ on a copy of t"},
  {"masked_select", m_masked_select, "t:masked_select(mask)",
   "1-d tensor of the elements where the bool mask (broadcast with t) is true; t[mask] does this"},
  {"masked_fill_", m_masked_fill_, "t:masked_fill_(mask, value)",
   "set elements where the bool mask (broadcast to t) is true, in place; t[mask] = value does this"},
  {"masked_fill", m_masked_fill, "t:masked_fill(mask, value)", "masked_fill_ on a copy of t"},
  {"nonzero", m_nonzero, "t:nonzero({as_tuple=false})",
   "1-based positions of nonzero elements as an N x dim i64 tensor, or a table of dim 1-d tensors"},
  {"split", m_split, "t:split(size_or_sizes, [dim=1])",
   "table of views: pieces of size (the last may be shorter) or of the listed sizes"},
  {"chunk", m_chunk, "t:chunk(n, [dim=1])", "table of at most n views of equal size (the last may be shorter)"},
  {"one_hot", l_one_hot, "labels:one_hot([num_classes], {dtype=})", "same as tensor.one_hot"},
  {"sort", m_sort, "t:sort([dim=last], {descending=false, stable=true})",
   "sorted values and their 1-based positions along dim; stable, NaN counts as largest"},
  {"argsort", m_argsort, "t:argsort([dim=last], {descending=false})",
   "the 1-based positions that sort t along dim (stable)"},
  {"topk", m_topk, "t:topk(k, [dim=last], {largest=true, sorted=true})",
   "the k largest (or smallest) values along dim, sorted, and their 1-based positions"},
  {"kthvalue", m_kthvalue, "t:kthvalue(k, [dim=last], [keepdim=false])",
   "the k-th smallest value along dim and its 1-based position"},
  {"unique", m_unique, "t:unique({sorted=true, return_inverse=false, return_counts=false})",
   "distinct values (ascending, or in order of first appearance when sorted=false), then optionally "
   "inverse (1-based into the values, t's shape) and counts; NaNs count as one value"},
  {"bincount", m_bincount, "t:bincount({weights=, minlength=0})",
   "counts of each VALUE v = 0, 1, ..., max of a 1-d non-negative integer tensor, as in PyTorch: "
   "element v+1 of the result counts value v (for 1-based labels 1..C use minlength=C+1 and "
   ":narrow(1, 2, C))"},
  {"flip", m_flip, "t:flip(...dims)", "copy with the order of entries reversed along dims"},
  {"roll", m_roll, "t:roll(shifts, [dims])",
   "copy shifted cyclically by shifts along dims (numbers or tables); no dims: the flattened tensor"},
  {"repeat_tensor", m_repeat, "t:repeat_tensor(...counts)",
   "copy tiled counts[i] times along each dim (extra counts add leading dims); torch's repeat"},
  {"repeat", m_repeat, "t['repeat'](t, ...counts)", "same as repeat_tensor (repeat is a Lua keyword)"},
  {"tril", m_tril, "t:tril([k=0])", "copy keeping the lower triangle (diagonals j - i <= k) of the last two dims"},
  {"triu", m_triu, "t:triu([k=0])", "copy keeping the upper triangle (diagonals j - i >= k) of the last two dims"},
  {"diag", m_diag, "t:diag([k=0])", "1-d: square matrix with t on diagonal k; 2-d: copy of diagonal k"},
  {"diagonal", m_diagonal, "t:diagonal([offset=0, dim1=1, dim2=2])",
   "view of the diagonal of dims dim1, dim2 as a new last dim"},
  {NULL, NULL, NULL, NULL},
};
