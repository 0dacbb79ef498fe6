/* repl.c: the interactive loop (readline, multi-line chunks, printing). */
#include <lua.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include <readline/history.h>
#include "interp.h"

#define EOFMARK "<eof>"

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t lm = sizeof(EOFMARK) - 1;
    if (lmsg >= lm && strcmp(msg + lmsg - lm, EOFMARK) == 0) { lua_pop(L, 1); return 1; }
  }
  return 0;
}

void sd_repl(lua_State *L) {
  for (;;) {
    char *line = readline("> ");
    if (!line) break;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, line);
    free(line);
    luaL_pushresult(&b);
    const char *code = lua_tostring(L, -1);
    const char *ret = lua_pushfstring(L, "return %s;", code);
    int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
    if (status == LUA_OK) lua_remove(L, -2);
    else {
      lua_pop(L, 2);
      for (;;) {
        code = lua_tostring(L, -1);
        status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
        if (!incomplete(L, status)) break;
        char *more = readline(">> ");
        if (!more) break;
        lua_pushfstring(L, "%s\n%s", code, more);
        free(more);
        lua_remove(L, -2);
      }
    }
    if (*code) add_history(code);
    lua_remove(L, -2); /* the source text */
    if (status == LUA_OK) {
      int base = lua_gettop(L);
      status = sd_docall(L, 0, LUA_MULTRET);
      if (status == LUA_OK) {
        int n = lua_gettop(L) - base + 1;
        if (n > 0) {
          lua_getglobal(L, "print");
          lua_insert(L, -n - 1);
          if (lua_pcall(L, n, 0, 0) != LUA_OK) sd_report(L, LUA_ERRRUN);
        }
        continue;
      }
    }
    sd_report(L, status);
  }
  lua_settop(L, 0);
  fputc('\n', stdout);
}
