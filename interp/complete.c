/* complete.c: tab completion for the REPL. readline hands over the word
   before the cursor (dots and colons are part of it: "tensor.ze",
   "x:res"); repl.complete in stdlib/repl.lua finds the candidates by
   looking names up in tables, never by running the user's code. */
#include <lua.h>
#include <lauxlib.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include "interp.h"

static lua_State *complete_L;
static int complete_ref = LUA_NOREF; /* repl.complete */

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Calls repl.complete(text); leaves a table of strings (or nothing). */
static int candidates(const char *text) {
  lua_State *L = complete_L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, complete_ref);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* readline's array: [0] the common prefix (or the one match), then the
   matches, then NULL. */
static char **completion(const char *text, int start, int end) {
  rl_attempted_completion_over = 1; /* never fall back to file names */
  rl_completion_append_character = '\0'; /* readline resets it to ' ' */
  if (start == end && (start == 0 || isspace((unsigned char)rl_line_buffer[start - 1]))) {
    /* a tab to indent (also in pasted code), not a request for all names */
    rl_insert_text("\t");
    return NULL;
  }
  if (!candidates(text)) return NULL;
  lua_State *L = complete_L;
  int n = (int)luaL_len(L, -1);
  char **m = n > 0 ? calloc((size_t)n + 2, sizeof *m) : NULL;
  if (m) {
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      m[i] = dupstr(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    size_t common = strlen(m[1]);
    for (int i = 2; i <= n; i++) {
      size_t k = 0;
      while (k < common && m[i][k] == m[1][k]) k++;
      common = k;
    }
    if (n == 1) { m[0] = m[1]; m[1] = NULL; }
    else if ((m[0] = malloc(common + 1)) != NULL) {
      memcpy(m[0], m[1], common);
      m[0][common] = '\0';
    }
  }
  lua_pop(L, 1);
  return m;
}

/* Lists "zeros  zeros_like" rather than "tensor.zeros  tensor.zeros_like". */
static void display(char **matches, int n, int max_length) {
  const char *sep = strrchr(matches[1], '.');
  const char *colon = strrchr(matches[1], ':');
  if (colon > sep) sep = colon;
  size_t skip = sep ? (size_t)(sep - matches[1]) + 1 : 0;
  char **shown = calloc((size_t)n + 2, sizeof *shown);
  if (!shown) return;
  shown[0] = matches[0];
  for (int i = 1; i <= n; i++) shown[i] = matches[i] + (strlen(matches[i]) >= skip ? skip : 0);
  rl_display_match_list(shown, n, max_length - (int)skip);
  free(shown);
  rl_forced_update_display();
}

void sd_complete_init(lua_State *L, int repl_index) {
  complete_L = L;
  if (lua_getfield(L, repl_index, "complete") == LUA_TFUNCTION)
    complete_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  else
    lua_pop(L, 1);
  if (complete_ref == LUA_NOREF) return;
  rl_readline_name = "sonde";
  rl_attempted_completion_function = completion;
  rl_completion_display_matches_hook = display;
  rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{}()[]+-*/%^#~,";
  rl_completer_word_break_characters = rl_basic_word_break_characters;
}
