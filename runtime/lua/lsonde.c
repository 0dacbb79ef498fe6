/* lsonde.c: the `sonde` module: opens every built-in module, keeps the doc
   registry, paces the GC by tensor memory, and loads the embedded stdlib. */
#include "lsonde.h"
#include <string.h>
#include <unistd.h>

/* --- docs --- */

#define DOCS_KEY "sonde.docs"

/* The C tables' docs are turned into Lua tables only when someone asks
   (help, completion, editors): building ~300 of them at every start would
   cost a third of a millisecond. The sd_reg arrays are static, so keeping
   pointers to them is enough; the list is shared by every Lua state. */
typedef struct { const char *prefix; char sep; const sd_reg *regs; } pending_docs;
static pending_docs pending[128];
static int npending;

static void add_docs(lua_State *L, int docs, const pending_docs *p) {
  char name[128];
  for (const sd_reg *r = p->regs; r->name; r++) {
    if (p->prefix) snprintf(name, sizeof name, "%s%c%s", p->prefix, p->sep, r->name);
    else snprintf(name, sizeof name, "%s", r->name);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, r->sig ? r->sig : name);
    lua_setfield(L, -2, "sig");
    lua_pushstring(L, r->doc ? r->doc : "");
    lua_setfield(L, -2, "doc");
    lua_setfield(L, docs, name);
  }
}

/* Pushes this state's doc table, making it on first use. */
static void docs_table(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, DOCS_KEY) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
  for (int i = 0; i < npending; i++) add_docs(L, lua_gettop(L), &pending[i]);
}

void sd_lua_doc(lua_State *L, const char *name, const char *sig, const char *doc) {
  sd_reg one[2] = {{name, NULL, sig, doc}, {NULL, NULL, NULL, NULL}};
  pending_docs p = {NULL, 0, one};
  docs_table(L);
  add_docs(L, lua_gettop(L), &p);
  lua_pop(L, 1);
}

void sd_lua_register(lua_State *L, int idx, const char *prefix, char sep, const sd_reg *regs) {
  idx = lua_absindex(L, idx);
  for (const sd_reg *r = regs; r->name; r++) {
    lua_pushcfunction(L, r->fn);
    lua_setfield(L, idx, r->name);
  }
  pending_docs p = {prefix, sep, regs};
  int known = 0;
  for (int i = 0; i < npending; i++)
    known |= pending[i].regs == regs && strcmp(pending[i].prefix, prefix) == 0;
  if (!known && npending < (int)(sizeof pending / sizeof pending[0])) pending[npending++] = p;
  /* a state whose doc table exists already gets them now */
  if (lua_getfield(L, LUA_REGISTRYINDEX, DOCS_KEY) == LUA_TTABLE) add_docs(L, lua_gettop(L), &p);
  lua_pop(L, 1);
}

/* sonde.doc(name, sig, doc): record a doc from Lua code (the stdlib). */
static int l_doc(lua_State *L) {
  sd_lua_doc(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL), luaL_optstring(L, 3, ""));
  return 0;
}

/* sonde.docs(): the registry table (name -> {name, sig, doc}). */
static int l_docs(lua_State *L) {
  docs_table(L);
  return 1;
}

/* --- errors --- */

int sd_lua_fail(lua_State *L, const char *fn) {
  const char *msg = sd_errmsg();
  /* core messages that already name their function are passed as they are */
  if (fn && strncmp(msg, fn, strlen(fn)) != 0)
    return luaL_error(L, "%s: %s", fn, msg);
  return luaL_error(L, "%s", msg);
}

/* --- GC pacing ---
   Storage lives outside Lua's heap, so the collector would not know a loop
   allocates megabytes per step. Every allocation adds debt, paid here.
   In generational mode (sonde's main) a step is a young collection: it frees
   fresh temporaries, but a tensor that lived through two steps is old and
   waits for a major collection, which only Lua-heap growth triggers. So a
   full collection also runs once a third as many bytes were allocated as
   were in use after the last one (tensors + Lua heap, at least 8 MiB):
   garbage stays below a third of what is live. Measured on the CNN of
   bench/bench_train.sh (one epoch, 2 threads): pause 1/1 peaked at 236 MB
   in 7.5 s, 1/3 at 160 MB in 8.2-9.1 s (PyTorch: ~380 MB); freed blocks
   go back to the allocator sooner and are faulted in again. */

static int64_t pending_bytes, since_full, live_after_full;

static void mem_hook(int64_t delta) {
  if (delta > 0) { pending_bytes += delta; since_full += delta; }
}

void sd_lua_pace(lua_State *L) {
  if (pending_bytes >= 64 * 1024) {
    int kb = pending_bytes / 1024 > 1 << 30 ? 1 << 30 : (int)(pending_bytes / 1024);
    pending_bytes = 0;
    lua_gc(L, LUA_GCSTEP, kb);
  }
  int64_t pause = (live_after_full + (int64_t)lua_gc(L, LUA_GCCOUNT) * 1024) / 3;
  if (since_full >= pause && since_full >= (int64_t)8 << 20) {
    lua_gc(L, LUA_GCCOLLECT);
    since_full = 0;
    live_after_full = sd_mem_in_use();
  }
}

/* --- the stdlib, embedded at build time (stdlib_embed.c) --- */

typedef struct { const char *name; const char *src; size_t len; } sd_embedded;
extern const sd_embedded sd_stdlib[];

static int load_embedded(lua_State *L) {
  const sd_embedded *e = lua_touserdata(L, lua_upvalueindex(1));
  char chunk[160];
  snprintf(chunk, sizeof chunk, "@stdlib/%s.lua", e->name);
  if (luaL_loadbuffer(L, e->src, e->len, chunk) != LUA_OK) return lua_error(L);
  lua_pushstring(L, e->name);
  lua_call(L, 1, 1);
  return 1;
}

/* sonde.isatty(): whether stdout is a terminal (progress bars). */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty(STDOUT_FILENO));
  return 1;
}

static const sd_reg sonde_fns[] = {
  {"doc", l_doc, "sonde.doc(name, sig, doc)", "record the one-line doc of a function"},
  {"docs", l_docs, "sonde.docs()", "the doc registry: name -> {name=, sig=, doc=}"},
  {"isatty", l_isatty, "sonde.isatty()", "true when stdout is a terminal"},
  {NULL, NULL, NULL, NULL},
};

/* The C modules, opened in this order; stdlib modules may require them. */
static const luaL_Reg cmodules[] = {
  {"tensor", sd_open_tensor},
  {"data", sd_open_data},
  {"autograd", sd_open_autograd},
  {"optim.kernels", sd_open_optim_kernels},
  {"nn.functional", sd_open_nn_functional},
  {"image", sd_open_image},
  {"plot.cairo", sd_open_plot_cairo},
  {"probe.kernels", sd_open_probe_kernels},
  {"metrics.kernels", sd_open_metrics_kernels},
  {"detect.kernels", sd_open_detect_kernels},
  {"attack.kernels", sd_open_attack_kernels},
  {NULL, NULL},
};

int luaopen_sonde(lua_State *L) {
  sd_set_mem_hook(mem_hook);
  lua_newtable(L);
  int sonde = lua_gettop(L);
  lua_pushvalue(L, sonde);
  lua_setfield(L, LUA_REGISTRYINDEX, "sonde.module");
  sd_lua_register(L, sonde, "sonde", '.', sonde_fns);
  lua_pushliteral(L, SD_VERSION);
  lua_setfield(L, sonde, "version");

  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  lua_pushvalue(L, sonde);
  lua_setfield(L, loaded, "sonde");
  for (const luaL_Reg *m = cmodules; m->name; m++) {
    luaL_requiref(L, m->name, m->func, 1);
    lua_setfield(L, sonde, m->name);
  }
  /* stdlib: preloaded, loaded on first use by require or global access */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const sd_embedded *e = sd_stdlib; e->name; e++) {
    lua_pushlightuserdata(L, (void *)e);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, e->name);
  }
  lua_pop(L, 2);
  /* the prelude (stdlib/init.lua) makes stdlib modules global, lazily */
  if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE) == LUA_TTABLE &&
      lua_getfield(L, -1, "init") == LUA_TFUNCTION) {
    lua_call(L, 0, 0);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 2);
  }
  return 1;
}
