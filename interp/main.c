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

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, caught == SIGTERM ? "terminated!" : "interrupted!");
}

static void on_signal(int sig) {
  signal(sig, SIG_DFL);
  caught = sig;
  sd_interrupt_flag = 1;
  lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* sonde.signal(): "SIGINT" or "SIGTERM" once one stopped a chunk, else nil. */
static int l_signal(lua_State *L) {
  if (caught) lua_pushstring(L, caught == SIGTERM ? "SIGTERM" : "SIGINT");
  else lua_pushnil(L);
  return 1;
}

static void open_signal(lua_State *L) {
  static const sd_reg fns[] = {
    {"signal", l_signal, "sonde.signal()",
     "\"SIGINT\" or \"SIGTERM\" after Ctrl-C or a kill stopped the program's code, else nil"},
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
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
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
          "  run --resume RUNDIR [--threads N]  continue from the last checkpoint\n"
          "  show RECIPE  print a recipe's about text and params\n"
          "  verify RUNDIR [--threads N]  re-run from the manifest and compare\n"
          "  runs [DIR]   list runs (default runs/): status, params, last metrics\n"
          "  sweep RECIPE k=a,b k=1..5 [seed=1..5] [-j N] [--out DIR] [--threads N] [--safe]\n"
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
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int ok = lua_toboolean(L, -1);
  sd_report(L, status);
  lua_close(L);
  if (ok && status == LUA_OK) return EXIT_SUCCESS;
  return caught ? 128 + caught : EXIT_FAILURE;
}
