/* ldata.c: the `data` module's file readers and writers: IDX and
   Fashion-MNIST, NumPy .npy/.npz, safetensors, CSV and PNG (runtime/io).

   Results that hold several tensors (npz, safetensors, csv) come back from
   the core in a C struct; that struct lives in a GC'd box while its tensors
   are handed to Lua one by one, so an error half-way leaks nothing. */
#include "lsonde.h"
#include <stdio.h>
#include <sys/stat.h>
#include <errno.h>
#include <dirent.h>
#include "../core/parallel.h"
#include "../io/io.h"
#include "../io/guard.h"
#include "../core/sha256.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAMED_MT "sonde.data.named"
#define CSV_MT "sonde.data.csv"

static int named_gc(lua_State *L) {
  sd_named_free(luaL_checkudata(L, 1, NAMED_MT));
  return 0;
}

static int csv_gc(lua_State *L) {
  sd_csv_free(luaL_checkudata(L, 1, CSV_MT));
  return 0;
}

static void *new_box(lua_State *L, size_t size, const char *mt) {
  void *p = lua_newuserdatauv(L, size, 0);
  memset(p, 0, size);
  luaL_setmetatable(L, mt);
  return p;
}

/* name -> tensor table from nt (the box at the stack top stays). */
static void push_named(lua_State *L, sd_named *nt, const char *fn) {
  lua_createtable(L, 0, nt->n);
  for (int i = 0; i < nt->n; i++) {
    sd_lua_push(L, nt->tensors[i], fn);
    nt->tensors[i] = NULL; /* owned by Lua now */
    lua_setfield(L, -2, nt->names[i]);
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The string-keyed tensors of the table at idx, sorted by name, in an
   sd_named whose arrays live in a userdata pushed on the stack. */
static sd_named *check_named(lua_State *L, int idx, const char *fn) {
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || !sd_lua_test(L, -1))
      luaL_error(L, "%s: the table must map string names to tensors", fn);
    if (strlen(lua_tostring(L, -2)) == 0) luaL_error(L, "%s: tensor names must not be empty", fn);
    n++;
  }
  sd_named *nt = lua_newuserdatauv(L, sizeof *nt + (size_t)n * (sizeof(char *) + sizeof(sd_tensor *)), 0);
  memset(nt, 0, sizeof *nt);
  nt->names = (char **)(nt + 1);
  nt->tensors = (sd_tensor **)(nt->names + n);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
    nt->names[nt->n++] = (char *)lua_tostring(L, -2); /* kept alive by the table */
  qsort(nt->names, (size_t)n, sizeof *nt->names, cmp_str);
  for (int i = 0; i < n; i++) {
    lua_getfield(L, idx, nt->names[i]);
    nt->tensors[i] = sd_lua_check(L, -1);
    lua_pop(L, 1);
  }
  return nt;
}

/* --- IDX and Fashion-MNIST --- */

static int l_idx(lua_State *L) {
  sd_lua_push(L, sd_idx_load(luaL_checkstring(L, 1)), "idx");
  return 1;
}

static const char *const fmnist_classes[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* DIR/PREFIX-KIND-ubyte.gz, or the file without .gz when only that exists. */
static sd_tensor *fmnist_file(lua_State *L, const char *dir, const char *prefix, const char *kind) {
  const char *gz = lua_pushfstring(L, "%s/%s-%s-ubyte.gz", dir, prefix, kind);
  const char *plain = lua_pushfstring(L, "%s/%s-%s-ubyte", dir, prefix, kind);
  const char *p = access(gz, F_OK) != 0 && access(plain, F_OK) == 0 ? plain : gz;
  sd_tensor *t = sd_lua_push(L, sd_idx_load(p), "fashion_mnist");
  lua_replace(L, -3);
  lua_pop(L, 1);
  return t;
}

typedef struct { const uint8_t *in; float *out; } u8f_ctx;

static void u8_to_unit(int64_t b, int64_t e, void *ctx) {
  u8f_ctx *c = ctx;
  for (int64_t i = b; i < e; i++) c->out[i] = (float)c->in[i] * (1.0f / 255.0f);
}

static int l_fashion_mnist(lua_State *L) {
  lua_settop(L, 1);
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  else { lua_newtable(L); lua_replace(L, 1); }
  lua_getfield(L, 1, "split");
  const char *split = luaL_optstring(L, -1, "train");
  if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
    return luaL_error(L, "fashion_mnist: split must be \"train\" or \"test\", got \"%s\"", split);
  lua_getfield(L, 1, "raw");
  bool raw = lua_toboolean(L, -1);
  lua_getfield(L, 1, "path");
  const char *dir = lua_tostring(L, -1);
  if (!dir) {
    const char *root = getenv("SONDE_DATA");
    dir = root ? lua_pushfstring(L, "%s/fashion-mnist", root) : "/usr/share/datasets/fashion-mnist";
  }
  const char *prefix = split[1] == 'r' ? "train" : "t10k";
  sd_tensor *img = fmnist_file(L, dir, prefix, "images-idx3");
  sd_tensor *lab = fmnist_file(L, dir, prefix, "labels-idx1");
  int64_t n = lab->shape[0];
  if (img->dtype != SD_U8 || img->ndim != 3 || img->shape[1] != 28 || img->shape[2] != 28 ||
      lab->dtype != SD_U8 || lab->ndim != 1 || img->shape[0] != n)
    return luaL_error(L, "fashion_mnist: %s: unexpected image or label shapes", dir);
  int64_t shape[4] = {n, 1, 28, 28};
  if (raw) {
    sd_lua_push(L, sd_view(img, 4, shape), "fashion_mnist");
  } else {
    sd_tensor *x = sd_lua_push(L, sd_empty(SD_F32, 4, shape), "fashion_mnist");
    u8f_ctx c = {sd_data(img), sd_data(x)};
    sd_parallel_for(sd_numel(x), 1 << 16, u8_to_unit, &c);
  }
  sd_tensor *y = sd_lua_push(L, sd_empty(SD_I64, 1, &n), "fashion_mnist");
  const uint8_t *l = sd_data(lab);
  int64_t *yy = sd_data(y);
  for (int64_t i = 0; i < n; i++) {
    if (l[i] > 9) return luaL_error(L, "fashion_mnist: %s: label %d out of range", dir, l[i]);
    yy[i] = l[i] + 1; /* classes are 1-based */
  }
  return 2;
}

/* --- NumPy --- */

static int l_load_npy(lua_State *L) {
  sd_lua_push(L, sd_npy_load(luaL_checkstring(L, 1)), "load_npy");
  return 1;
}

static int l_save_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (sd_npy_save(path, sd_lua_check(L, 2)) != SD_OK) return sd_lua_fail(L, "save_npy");
  return 0;
}

static int l_load_npz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  sd_named *nt = new_box(L, sizeof *nt, NAMED_MT);
  if (sd_npz_load(path, nt) != SD_OK) return sd_lua_fail(L, "load_npz");
  push_named(L, nt, "load_npz");
  return 1;
}

static int l_save_npz(lua_State *L) {
  lua_settop(L, 3);
  const char *path = luaL_checkstring(L, 1);
  sd_named *nt = check_named(L, 2, "save_npz");
  bool deflate = false;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "compress");
    deflate = lua_toboolean(L, -1);
  }
  if (sd_npz_save(path, nt, deflate) != SD_OK) return sd_lua_fail(L, "save_npz");
  return 0;
}

/* --- safetensors --- */

static int l_load_safetensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  sd_named *nt = new_box(L, sizeof *nt, NAMED_MT);
  if (sd_safetensors_load(path, nt) != SD_OK) return sd_lua_fail(L, "load_safetensors");
  push_named(L, nt, "load_safetensors");
  if (!nt->meta) { lua_pushnil(L); return 2; }
  lua_newtable(L);
  for (size_t p = 0; p < nt->meta_len;) {
    const char *k = nt->meta + p, *v = k + strlen(k) + 1;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
    p = (size_t)(v + strlen(v) + 1 - nt->meta);
  }
  return 2;
}

static int l_save_safetensors(lua_State *L) {
  lua_settop(L, 3);
  const char *path = luaL_checkstring(L, 1);
  sd_named *nt = check_named(L, 2, "save_safetensors");
  if (!lua_isnoneornil(L, 3)) { /* metadata: string -> string, sorted */
    luaL_checktype(L, 3, LUA_TTABLE);
    int n = 0;
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
        return luaL_error(L, "save_safetensors: metadata must map strings to strings");
      n++;
    }
    const char **keys = lua_newuserdatauv(L, (size_t)n * sizeof *keys + 1, 0);
    n = 0;
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) keys[n++] = lua_tostring(L, -2);
    qsort(keys, (size_t)n, sizeof *keys, cmp_str);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < n; i++) {
      lua_getfield(L, 3, keys[i]);
      const char *v = lua_tostring(L, -1);
      luaL_addlstring(&b, keys[i], strlen(keys[i]) + 1);
      luaL_addlstring(&b, v, strlen(v) + 1);
      lua_pop(L, 1);
    }
    luaL_pushresult(&b);
    nt->meta = (char *)lua_tolstring(L, -1, &nt->meta_len);
    if (nt->meta_len == 0) nt->meta = (char *)"";
  }
  sd_status st = sd_safetensors_save(path, nt);
  nt->meta = NULL; /* Lua's string */
  if (st != SD_OK) return sd_lua_fail(L, "save_safetensors");
  return 0;
}

/* --- CSV --- */

static int l_load_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  bool header = true;
  char sep = ',';
  sd_dtype dt = sd_lua_opt_dtype(L, 2, SD_F32);
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "header") != LUA_TNIL) header = lua_toboolean(L, -1);
    if (lua_getfield(L, 2, "sep") != LUA_TNIL) {
      size_t n;
      const char *s = luaL_checklstring(L, -1, &n);
      if (n != 1) return luaL_error(L, "load_csv: sep must be one character");
      sep = s[0];
    }
  }
  sd_csv *c = new_box(L, sizeof *c, CSV_MT);
  if (sd_csv_load(path, sep, header, dt, c) != SD_OK) return sd_lua_fail(L, "load_csv");
  lua_createtable(L, 0, 4);
  sd_lua_push(L, c->X, "load_csv");
  c->X = NULL;
  lua_setfield(L, -2, "X");
  lua_createtable(L, c->ncol, 0); /* columns */
  lua_createtable(L, c->ncol, 0); /* missing */
  lua_newtable(L);                /* vocab, by column name */
  for (int j = 0; j < c->ncol; j++) {
    lua_pushstring(L, c->columns[j]);
    lua_rawseti(L, -4, j + 1);
    lua_pushinteger(L, c->missing[j]);
    lua_rawseti(L, -3, j + 1);
    if (!c->vocab[j]) continue;
    lua_createtable(L, c->nvocab[j], 0);
    for (int k = 0; k < c->nvocab[j]; k++) {
      lua_pushstring(L, c->vocab[j][k]);
      lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, c->columns[j]);
  }
  lua_setfield(L, -4, "vocab");
  lua_setfield(L, -3, "missing");
  lua_setfield(L, -2, "columns");
  return 1;
}

/* --- PNG --- */

static int l_load_png(lua_State *L) {
  sd_lua_push(L, sd_png_load(luaL_checkstring(L, 1)), "load_png");
  return 1;
}

static int l_save_png(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  sd_tensor *t = sd_lua_check(L, 2);
  int bits = 8;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "bits");
    bits = (int)luaL_optinteger(L, -1, 8);
  }
  if (sd_png_save(path, t, bits) != SD_OK) return sd_lua_fail(L, "save_png");
  return 0;
}

/* data.listdir(path) -> {names...} sorted bytewise, and a parallel table
   of kinds ("dir", "file", "other"); "." and ".." left out. Sorted, so no
   directory order ever reaches a result. */
static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int l_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (sd_io_guard(path, false) != SD_OK) return sd_lua_fail(L, "listdir");
  DIR *d = opendir(path);
  if (!d) return luaL_error(L, "listdir: %s: %s", path, strerror(errno));
  lua_newtable(L); /* names, unsorted, keep them alive */
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
  const char **v = lua_newuserdatauv(L, sizeof *v * (size_t)(n ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, -2, i + 1);
    v[i] = lua_tostring(L, -1);
    lua_pop(L, 1); /* the table keeps the string */
  }
  qsort(v, (size_t)n, sizeof *v, cmp_names);
  lua_createtable(L, n, 0);
  lua_createtable(L, n, 0);
  char full[4096];
  for (int i = 0; i < n; i++) {
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", path, v[i]);
    const char *kind = stat(full, &st) != 0 ? "other" : S_ISDIR(st.st_mode) ? "dir"
                     : S_ISREG(st.st_mode) ? "file" : "other";
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -3, i + 1);
    lua_pushstring(L, kind);
    lua_rawseti(L, -2, i + 1);
  }
  return 2;
}

/* --- provenance and confinement of runs (runtime/io/guard.c) --- */

static int l_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  sd_sha256 h;
  char hex[65];
  sd_sha256_init(&h);
  sd_sha256_update(&h, s, n);
  sd_sha256_hex(&h, hex);
  lua_pushstring(L, hex);
  return 1;
}

static int l_sha256_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char hex[65];
  if (sd_io_guard(path, false) != SD_OK || sd_io_sha256_file(path, hex) != SD_OK)
    return sd_lua_fail(L, "sha256_file");
  lua_pushstring(L, hex);
  return 1;
}

static int l_io_record(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  sd_io_guard_record(lua_toboolean(L, 1));
  return 0;
}

static int l_io_reads(lua_State *L) {
  size_t n = sd_io_guard_count();
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    const char *sha = NULL, *p = sd_io_guard_read(i, &sha);
    if (!p) break;
    lua_pushstring(L, sha);
    lua_setfield(L, -2, p);
  }
  return 1;
}

static int l_io_confine(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *roots[64];
  int n = 0;
  if (lua_getfield(L, 1, "read") == LUA_TTABLE) {
    n = (int)luaL_len(L, -1);
    if (n > 64) return luaL_error(L, "io_confine: at most 64 read roots, got %d", n);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, -1 - i, i + 1);
      roots[i] = lua_tostring(L, -1); /* kept alive on the stack */
      if (!roots[i]) return luaL_error(L, "io_confine: read root %d is not a string", i + 1);
    }
  }
  lua_getfield(L, 1, "write");
  const char *w = lua_tostring(L, -1);
  if (sd_io_guard_confine(roots, n, w) != SD_OK) return sd_lua_fail(L, "io_confine");
  return 0;
}

/* data.io_check(path, mode, who): what io.open and friends ask in a run:
   records a read; the resolved path, or nil and "who: safe mode: ..." when
   confined and refused (the caller raises it at the recipe's line). */
static int l_io_check(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  const char *who = luaL_optstring(L, 3, "io_check");
  bool write = strpbrk(mode, "wa+") != NULL;
  if (sd_io_guard(path, write) != SD_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", who, sd_errmsg());
    return 2;
  }
  char rp[4096];
  if (sd_io_resolve(path, rp)) lua_pushstring(L, rp);
  else lua_pushnil(L);
  return 1;
}

static int l_io_confined(lua_State *L) {
  lua_pushboolean(L, sd_io_guard_confined());
  return 1;
}

static const sd_reg data_fns[] = {
  {"sha256", l_sha256, "data.sha256(s)", "the SHA-256 of a string, as 64 hex digits"},
  {"sha256_file", l_sha256_file, "data.sha256_file(path)",
   "the SHA-256 of a file as hex (cached by path, size and mtime)"},
  {"io_record", l_io_record, "data.io_record(on)",
   "start (clearing the list) or stop recording the files sonde's readers open"},
  {"io_reads", l_io_reads, "data.io_reads()",
   "the files read while recording: resolved path -> SHA-256 at the first read"},
  {"io_confine", l_io_confine, "data.io_confine{read={dirs...}, write=dir}",
   "confine file access (sonde run --safe): reads under read, writes under write; each set once"},
  {"io_confined", l_io_confined, "data.io_confined()", "true once data.io_confine was called"},
  {"io_check", l_io_check, "data.io_check(path, mode=\"r\", who)",
   "record a read (the hook of io.open in runs): the resolved path, or nil and why it is refused"},
  {"listdir", l_listdir, "data.listdir(path)",
   "names in a directory, sorted, and a parallel table of kinds (dir, file, other)"},
  {"idx", l_idx, "data.idx(path)",
   "an IDX file (plain or .gz) as a tensor: u8, i8/i16/i32 as i32, f32, f64"},
  {"fashion_mnist", l_fashion_mnist, "data.fashion_mnist{split=\"train\"|\"test\", raw=false, path=}",
   "X f32 Nx1x28x28 in [0,1] (raw: u8) and y i64 classes 1..10; files from path, $SONDE_DATA/fashion-mnist or Debian's"},
  {"load_npy", l_load_npy, "data.load_npy(path)",
   "a NumPy .npy array (f2/f4/f8 i1-i8 u1-u4 b1, C or Fortran order) as a tensor"},
  {"save_npy", l_save_npy, "data.save_npy(path, t)", "write t as a .npy file (C order, atomic)"},
  {"load_npz", l_load_npz, "data.load_npz(path)", "a NumPy .npz archive as a table name -> tensor"},
  {"save_npz", l_save_npz, "data.save_npz(path, {name=t, ...}, {compress=false})",
   "write tensors as a .npz archive, names sorted, stored or deflated"},
  {"load_safetensors", l_load_safetensors, "data.load_safetensors(path)",
   "a safetensors file as a table name -> tensor, and its __metadata__ table (or nil)"},
  {"save_safetensors", l_save_safetensors, "data.save_safetensors(path, {name=t, ...}, metadata)",
   "write tensors (names sorted) and string metadata as a safetensors file"},
  {"load_csv", l_load_csv, "data.load_csv(path, {header=true, sep=\",\", dtype=\"f32\"})",
   "{X=NxK tensor, columns=names, vocab={name=values} (codes 1..), missing=counts}; missing cells are NaN"},
  {"load_png", l_load_png, "data.load_png(path)",
   "a PNG as a CxHxW tensor: u8 for 8-bit images, f32 in [0,1] for 16-bit; palettes expanded"},
  {"save_png", l_save_png, "data.save_png(path, t, {bits=8})",
   "write a CxHxW (C=1..4) or HxW tensor as PNG; floats in [0,1], integers as they are"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_data(lua_State *L) {
  luaL_newmetatable(L, NAMED_MT);
  lua_pushcfunction(L, named_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newmetatable(L, CSV_MT);
  lua_pushcfunction(L, csv_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 2);
  lua_newtable(L);
  sd_lua_register(L, -1, "data", '.', data_fns);
  lua_newtable(L); /* data.classes */
  lua_createtable(L, 10, 0);
  for (int i = 0; i < 10; i++) {
    lua_pushstring(L, fmnist_classes[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "fashion_mnist");
  lua_setfield(L, -2, "classes");
  return 1;
}
