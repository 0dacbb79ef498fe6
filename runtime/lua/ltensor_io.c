/* ltensor_io.c: tensor.save / tensor.load of the native file (io/tfile.h)
   and tensor.memory, the bytes of tensor storage in use.

   A table is saved flat: nested tables of tensors become names joined with
   "." ({fc = {weight = w}} is "fc.weight", integer keys are written in
   decimal), as a PyTorch state dict; load gives the flat table back. Entries
   are sorted by name in the file, so pairs() order never reaches it. */
#include "lsonde.h"
#include "../io/tfile.h"

#define TFILE_MT "sonde.TFile"
#define MAXDEPTH 32

/* Collects (name, tensor) pairs of the table at idx into the array table at
   acc (name at 2k-1, tensor at 2k); prefix is the name so far. */
static void flatten(lua_State *L, int idx, int acc, const char *prefix, int depth) {
  if (depth > MAXDEPTH)
    luaL_error(L, "save: tables nested deeper than %d (a cycle?) at '%s'", MAXDEPTH, prefix);
  luaL_checkstack(L, 4, "save: nesting");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int kt = lua_type(L, -2);
    if (kt == LUA_TNUMBER && lua_isinteger(L, -2))
      lua_pushfstring(L, "%s%s%I", prefix, *prefix ? "." : "", lua_tointeger(L, -2));
    else if (kt == LUA_TSTRING)
      lua_pushfstring(L, "%s%s%s", prefix, *prefix ? "." : "", lua_tostring(L, -2));
    else
      luaL_error(L, "save: a key of type %s under '%s' (keys must be strings or integers)",
                 luaL_typename(L, -2), prefix);
    const char *name = lua_tostring(L, -1);
    if (*name == 0) luaL_error(L, "save: the empty string is not a valid name");
    if (sd_lua_test(L, -2)) {
      lua_Integer n = luaL_len(L, acc);
      lua_rawseti(L, acc, n + 1);          /* name */
      lua_pushvalue(L, -1);
      lua_rawseti(L, acc, n + 2);          /* tensor */
    } else if (lua_istable(L, -2)) {
      flatten(L, lua_absindex(L, -2), acc, name, depth + 1);
      lua_pop(L, 1);
    } else {
      luaL_error(L, "save: '%s' is a %s, expected a tensor or a table of tensors", name,
                 luaL_typename(L, -2));
    }
    lua_pop(L, 1); /* value */
  }
}

static int l_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_newtable(L);
  int acc = lua_gettop(L);
  if (sd_lua_test(L, 2)) {
    lua_pushliteral(L, "");
    lua_rawseti(L, acc, 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, acc, 2);
  } else {
    luaL_argexpected(L, lua_istable(L, 2), 2, "tensor or table of tensors");
    flatten(L, 2, acc, "", 1);
  }
  int n = (int)(luaL_len(L, acc) / 2);
  /* scratch arrays owned by Lua; the acc table keeps names and tensors alive */
  const char **names = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n ? n : 1), 0);
  sd_tensor **ts = lua_newuserdatauv(L, sizeof(sd_tensor *) * (size_t)(n ? n : 1), 0);
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, acc, 2 * k + 1);
    names[k] = lua_tostring(L, -1);
    lua_rawgeti(L, acc, 2 * k + 2);
    ts[k] = sd_lua_check(L, -1);
    lua_pop(L, 2);
  }
  if (sd_tfile_save(path, n, names, ts) != SD_OK) return sd_lua_fail(L, "save");
  return 0;
}

static int tfile_gc(lua_State *L) {
  sd_tfile **box = lua_touserdata(L, 1);
  sd_tfile_close(*box);
  *box = NULL;
  return 0;
}

static int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  /* the open file belongs to a box with __gc before anything can raise */
  sd_tfile **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  if (luaL_newmetatable(L, TFILE_MT)) {
    lua_pushcfunction(L, tfile_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  sd_tfile *f = *box = sd_tfile_open(path);
  if (!f) return sd_lua_fail(L, "load");
  int n = sd_tfile_count(f);
  if (n == 1 && *sd_tfile_name(f, 0) == 0) {
    sd_lua_push(L, sd_tfile_read(f, 0), "load");
  } else {
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
      sd_lua_push(L, sd_tfile_read(f, i), "load");
      lua_setfield(L, -2, sd_tfile_name(f, i));
    }
  }
  sd_tfile_close(f);
  *box = NULL;
  return 1;
}

static int l_memory(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)sd_mem_in_use());
  return 1;
}

const sd_reg sd_tensor_io_fns[] = {
  {"save", l_save, "tensor.save(path, t_or_table)",
   "write a tensor or a table of tensors (nested keys joined with '.') to path, atomically"},
  {"load", l_load, "tensor.load(path)",
   "read a file of tensor.save: the tensor, or the flat table of named tensors"},
  {"memory", l_memory, "tensor.memory()", "bytes of tensor storage in use"},
  {NULL, NULL, NULL, NULL},
};

const sd_reg sd_tensor_io_methods[] = {{NULL, NULL, NULL, NULL}};
