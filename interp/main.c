/* main.c: the sonde program: command line, script runner, and the entry to
   the REPL. Modelled on lua.c: errors carry a traceback, Ctrl-C stops a
   running chunk (a Lua hook) or a C kernel (the core's interrupt flag). */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "interp.h"
#include "../runtime/lua/lsonde.h"

static const char *progname = "sonde";
static lua_State *globalL;

/* --- Ctrl-C and kill ---
   SIGINT and SIGTERM both stop the running chunk with an error, so a
   recipe run can mark its directory interrupted before the process ends
   with 128 + the signal (130, 143). A second signal kills, as in lua.c. */

static volatile sig_atomic_t caught; /* the last signal that stopped a chunk */
static double time_limit;            /* seconds, for the message; SIGALRM is the limit */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (caught == SIGALRM) luaL_error(L, "time limit of %f s reached", time_limit);
  luaL_error(L, caught == SIGTERM ? "terminated!" : "interrupted!");
}

static void on_signal(int sig) {
  signal(sig, SIG_DFL);
  if (sig == SIGALRM) { /* code that catches the error and goes on is killed 10 s later */
    struct itimerval again = {{0, 0}, {10, 0}};
    setitimer(ITIMER_REAL, &again, NULL);
  }
  caught = sig;
  sd_interrupt_flag = 1;
  lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* sonde.signal(): "SIGINT", "SIGTERM" or "SIGALRM" (the time limit) once
   one stopped a chunk, else nil. */
static int l_signal(lua_State *L) {
  if (caught) lua_pushstring(L, caught == SIGTERM ? "SIGTERM" : caught == SIGALRM ? "SIGALRM" : "SIGINT");
  else lua_pushnil(L);
  return 1;
}

/* --- limits ---
   The Lua heap is charged to the core's memory account (sd_mem_charge), so
   one cap covers tensors and Lua values; an allocation past it fails like
   any out-of-memory (Lua collects, then raises "not enough memory"). The
   time limit is a wall-clock timer whose SIGALRM stops the chunk as Ctrl-C
   does, with its own message. */

static lua_Alloc alloc0;
static void *alloc0_ud;

static void *limited_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  (void)ud;
  int64_t delta = (int64_t)nsize - (p ? (int64_t)osize : 0);
  if (nsize == 0) delta = p ? -(int64_t)osize : 0;
  if (!sd_mem_charge(delta)) return NULL;
  void *q = alloc0(alloc0_ud, p, osize, nsize);
  if (!q && nsize) sd_mem_charge(-delta);
  return q;
}

/* a size in bytes: a number, or a string "512M", "4G", "1.5GB", "100k" */
static int64_t check_bytes(lua_State *L, int idx, const char *what) {
  double v;
  if (lua_type(L, idx) == LUA_TNUMBER) v = lua_tonumber(L, idx);
  else {
    const char *s = luaL_checkstring(L, idx);
    char *end;
    v = strtod(s, &end);
    const char *u = "kKmMgGtT", *at = *end ? strchr(u, *end) : NULL;
    static const double scale[] = {1e3, 1e6, 1e9, 1e12}; /* k, M, G, T in either case */
    if (at) { v *= scale[(at - u) / 2]; end++; }
    if (*end == 'B' || *end == 'b') end++;
    if (end == s || *end) return luaL_error(L, "%s: bad size '%s' (bytes, or a number with k, M, G or T)", what, s);
  }
  if (!(v >= 0) || v > 9e18) return luaL_error(L, "%s: bad size %f", what, v);
  return (int64_t)v;
}

/* sonde.limits{memory=, time=}: set a cap (0 lifts it); returns the
   limits and use: {memory=, memory_used=, time=}. */
static int l_limits(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "memory") != LUA_TNIL) sd_set_mem_limit(check_bytes(L, -1, "limits: memory"));
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "time") != LUA_TNIL) {
      double t = luaL_checknumber(L, -1);
      if (!(t >= 0) || t > 1e9) return luaL_error(L, "limits: time must be seconds >= 0, got %f", t);
      struct itimerval it = {{0, 0}, {(time_t)t, (suseconds_t)((t - (time_t)t) * 1e6)}};
      if (t > 0 && it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
      time_limit = t;
      setitimer(ITIMER_REAL, &it, NULL);
    }
    lua_pop(L, 1);
  }
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, sd_mem_limit());
  lua_setfield(L, -2, "memory");
  lua_pushinteger(L, sd_mem_in_use() + sd_mem_charged());
  lua_setfield(L, -2, "memory_used");
  lua_pushnumber(L, time_limit);
  lua_setfield(L, -2, "time");
  return 1;
}

static void open_signal(lua_State *L) {
  static const sd_reg fns[] = {
    {"signal", l_signal, "sonde.signal()",
     "\"SIGINT\", \"SIGTERM\" or \"SIGALRM\" (time limit) after one stopped the program's code, else nil"},
    {"limits", l_limits, "sonde.limits([{memory=bytes|\"4G\", time=seconds}])",
     "cap tensors + Lua heap (an allocation past it is an error) and wall time from now; 0 lifts; returns {memory=, memory_used=, time=}"},
    {NULL, NULL, NULL, NULL},
  };
  lua_getglobal(L, "sonde");
  sd_lua_register(L, lua_gettop(L), "sonde", '.', fns);
  lua_pop(L, 1);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int sd_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  sd_interrupt_flag = 0;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGALRM, on_signal);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGALRM, SIG_IGN); /* a time limit between chunks stops nothing */
  sd_interrupt_flag = 0;
  lua_remove(L, base);
  return status;
}

int sd_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* --- running things --- */

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = sd_docall(L, 0, 0);
  return sd_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* arg table as lua.c builds it: script at 0, its arguments from 1. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int doscript(lua_State *L, char **argv, int argc, int script) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = argc - script - 1;
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
    status = sd_docall(L, n, 0);
  }
  return sd_report(L, status);
}

static void print_usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args...]]\n"
          "  script       run a .sonde or .lua file ('-' reads standard input)\n"
          "  -e CODE      run CODE\n"
          "  -i           enter the REPL after running the script or -e\n"
          "  -v, --version  print the version\n"
          "  -h, --help   print this help\n"
          "  --dump-api   print every documented built-in as JSON (for editors)\n"
          "  (no arguments on a terminal: the REPL; help() inside it;\n"
          "   history in ~/.sonde_history, or the file $SONDE_HISTORY names)\n"
          "\n"
          "commands:\n"
          "  run RECIPE [k=v...] [--seed N] [--out DIR] [--threads N] [--params FILE]\n"
          "      [--safe [--data-root DIR]...]  runs/<name>/<date>-<hex>/; --safe: sandboxed\n"
          "      [--max-mem SIZE] [--max-time DURATION]  e.g. 4G, 30m: past them the run fails\n"
          "  run --resume RUNDIR [--threads N]  continue from the last checkpoint\n"
          "  show RECIPE  print a recipe's about text and params\n"
          "  verify RUNDIR [--threads N]  re-run from the manifest and compare\n"
          "  runs [DIR]   list runs (default runs/): status, params, last metrics\n"
          "  sweep RECIPE k=a,b k=1..5 [seed=1..5] [-j N] [--out DIR] [--threads N] [--safe]\n"
          "      [--max-mem SIZE] [--max-time DURATION]  limits for each job\n"
          "  a script named like a command runs with a path: %s ./run\n",
          progname, progname);
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  int interactive = 0, ran = 0, script = 0;
  luaL_checkversion(L);
  luaL_openlibs(L);
  luaL_requiref(L, "sonde", luaopen_sonde, 1);
  lua_pop(L, 1);
  open_signal(L);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (argc >= 2 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "show") == 0 ||
                    strcmp(argv[1], "verify") == 0 || strcmp(argv[1], "runs") == 0 ||
                    strcmp(argv[1], "sweep") == 0)) {
    /* the recipe commands live in stdlib/recipe.lua: recipe.main(cmd, args...) */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "recipe");
    if (sd_report(L, sd_docall(L, 1, 1)) != LUA_OK) { lua_pushboolean(L, 0); return 1; }
    lua_getfield(L, -1, "main");
    luaL_checkstack(L, argc + 3, "too many arguments");
    for (int i = 1; i < argc; i++) lua_pushstring(L, argv[i]);
    if (sd_report(L, sd_docall(L, argc - 1, 1)) != LUA_OK) { lua_pushboolean(L, 0); return 1; }
    lua_pushboolean(L, lua_toboolean(L, -1));
    return 1;
  }
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) { script = i; break; }
    if (strcmp(a, "--") == 0) { if (i + 1 < argc) script = i + 1; break; }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("sonde %s (%s)\n", SD_VERSION, LUA_RELEASE);
      lua_pushboolean(L, 1);
      return 1;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_usage(stdout);
      lua_pushboolean(L, 1);
      return 1;
    }
    if (strcmp(a, "--dump-api") == 0) { /* the doc registry as JSON, for editors (stdlib/api.lua) */
      lua_pushboolean(L, dostring(L, "require('api').dump()", "=--dump-api") == LUA_OK);
      return 1;
    }
    if (strcmp(a, "-i") == 0) { interactive = 1; continue; }
    if (strcmp(a, "-e") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: '-e' needs an argument\n", progname);
        lua_pushboolean(L, 0);
        return 1;
      }
      createargtable(L, argv, argc, 0);
      if (dostring(L, argv[++i], "=(command line)") != LUA_OK) { lua_pushboolean(L, 0); return 1; }
      ran = 1;
      continue;
    }
    fprintf(stderr, "%s: unknown option '%s'\n", progname, a);
    print_usage(stderr);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (script) {
    createargtable(L, argv, argc, script);
    if (doscript(L, argv, argc, script) != LUA_OK) { lua_pushboolean(L, 0); return 1; }
    ran = 1;
  }
  if (interactive || !ran) {
    if (interactive || isatty(0)) {
      if (!script) createargtable(L, argv, argc, 0);
      sd_repl(L);
    } else {
      createargtable(L, argv, argc, 0);
      if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) { lua_pushboolean(L, 0); return 1; }
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = "sonde";
  lua_State *L = luaL_newstate();
  if (!L) { fprintf(stderr, "%s: cannot create state: not enough memory\n", progname); return 1; }
  alloc0 = lua_getallocf(L, &alloc0_ud);
  sd_mem_charge(lua_gc(L, LUA_GCCOUNT) * 1024 + lua_gc(L, LUA_GCCOUNTB));
  lua_setallocf(L, limited_alloc, NULL);
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int ok = lua_toboolean(L, -1);
  sd_report(L, status);
  lua_close(L);
  if (ok && status == LUA_OK) return EXIT_SUCCESS;
  return caught && caught != SIGALRM ? 128 + caught : EXIT_FAILURE;
}
