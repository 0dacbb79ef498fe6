/* repl.c: the interactive loop. readline (callback mode, so Ctrl-C at the
   prompt only clears the line), history in ~/.sonde_history, chunks that
   continue while incomplete, results printed by repl.print (stdlib/repl.lua),
   "?name" for help. Evaluation goes through sd_docall, where Ctrl-C stops
   the running code and returns here. */
#include <lua.h>
#include <lauxlib.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>
#include "interp.h"
#include "../runtime/lua/lsonde.h"

#define EOFMARK "<eof>"
#define HISTORY_MAX 1000

/* --- history --- */

static char history_path[4096];

/* Reads the history file; SONDE_HISTORY overrides ~/.sonde_history. Multi-
   line chunks are kept whole: each entry is preceded by a timestamp line. */
static void history_open(void) {
  const char *p = getenv("SONDE_HISTORY");
  const char *home = getenv("HOME");
  if (p && *p) snprintf(history_path, sizeof history_path, "%s", p);
  else if (home && *home) snprintf(history_path, sizeof history_path, "%s/.sonde_history", home);
  else return;
  history_comment_char = '#'; /* timestamp lines are "#<seconds>" */
  history_write_timestamps = 1;
  /* lines after a timestamp line form one entry; a file without them
     (written by hand or another tool) has one entry per line */
  FILE *f = fopen(history_path, "r");
  int c0 = f ? getc(f) : EOF, c1 = f ? getc(f) : EOF;
  if (f) fclose(f);
  history_multiline_entries = c0 == '#' && c1 >= '0' && c1 <= '9';
  stifle_history(HISTORY_MAX);
  read_history(history_path);
  history_multiline_entries = 1;
  /* a full history means older entries were dropped: rewrite the file so
     it stays bounded */
  if (history_length >= HISTORY_MAX) write_history(history_path);
}

/* Adds a chunk to the history and appends it to the file at once, so a
   crash or a second session loses nothing. */
static void history_add(const char *chunk) {
  if (!*chunk) return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last && strcmp(last->line, chunk) == 0) return;
  add_history(chunk);
  if (!history_path[0]) return;
  if (access(history_path, F_OK) == 0) append_history(1, history_path);
  else write_history(history_path);
}

/* --- reading a line --- */

enum { LINE_OK, LINE_EOF, LINE_CANCEL };

static char *line_read;
static int line_done;
static volatile sig_atomic_t prompt_sigint, prompt_sigwinch;

static void on_line(char *line) {
  line_read = line;
  line_done = 1;
  rl_callback_handler_remove();
}

static void on_prompt_signal(int sig) {
  if (sig == SIGINT) prompt_sigint = 1;
  else prompt_sigwinch = 1;
}

/* One line into *out (malloc'd). Ctrl-C abandons the line: LINE_CANCEL.
   Signals only set flags; they are handled here, outside the handler. */
static int read_line(const char *prompt, char **out) {
  struct sigaction sa, old_int, old_winch;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGWINCH, &sa, &old_winch);
  prompt_sigint = prompt_sigwinch = 0;
  /* blocked except inside pselect, so none slips in before it sleeps */
  sigset_t block, orig;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &orig);
  line_done = 0;
  line_read = NULL;
  int fd = fileno(rl_instream);
  int result = LINE_EOF;
  rl_callback_handler_install(prompt, on_line);
  for (;;) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    int n = pselect(fd + 1, &fds, NULL, NULL, NULL, &orig);
    if (prompt_sigint) {
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_callback_handler_remove();
      fputs("\n", rl_outstream);
      fflush(rl_outstream);
      result = LINE_CANCEL;
      break;
    }
    if (prompt_sigwinch) {
      prompt_sigwinch = 0;
      rl_resize_terminal();
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      rl_callback_handler_remove();
      break;
    }
    rl_callback_read_char();
    if (line_done) {
      result = line_read ? LINE_OK : LINE_EOF;
      break;
    }
  }
  sigprocmask(SIG_SETMASK, &orig, NULL);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGWINCH, &old_winch, NULL);
  *out = line_read;
  return result;
}

/* --- chunks --- */

static int is_incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t lmsg;
  const char *msg = lua_tolstring(L, -1, &lmsg);
  size_t lm = sizeof(EOFMARK) - 1;
  return lmsg >= lm && strcmp(msg + lmsg - lm, EOFMARK) == 0;
}

/* Compiles code as an expression to print ("return " first, as lua.c
   does), else as statements. Leaves the function (or the error message);
   *more says the chunk is incomplete in either form. */
static int load_chunk(lua_State *L, const char *code, int *more) {
  const char *ret = lua_pushfstring(L, "return %s", code);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_remove(L, -2);
  if (status == LUA_OK) { *more = 0; return status; }
  int ret_more = is_incomplete(L, status);
  lua_pop(L, 1);
  status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  *more = status != LUA_OK && (ret_more || is_incomplete(L, status));
  return status;
}

/* Reads lines until they form a chunk; pushes it compiled (LUA_OK) or
   its error. Returns -1 at end of input, -2 when Ctrl-C abandoned it. The
   source text is pushed below the result (for the history); *nargs is 1
   for "?name", which pushes help and the name. */
static int read_chunk(lua_State *L, int *nargs) {
  *nargs = 0;
  char *line;
  int r = read_line("> ", &line);
  if (r == LINE_EOF) return -1;
  if (r == LINE_CANCEL) return -2;
  lua_pushstring(L, line);
  free(line);
  for (;;) {
    const char *code = lua_tostring(L, -1);
    if (code[0] == '?') { /* help: ?name */
      lua_getglobal(L, "help");
      lua_pushstring(L, code + 1);
      *nargs = 1;
      return LUA_OK;
    }
    int more;
    int status = load_chunk(L, code, &more);
    if (!more) return status;
    lua_pop(L, 1);
    r = read_line(">> ", &line);
    if (r == LINE_CANCEL) { lua_pop(L, 1); return -2; }
    if (r == LINE_EOF) { /* report the incomplete chunk's error */
      return load_chunk(L, lua_tostring(L, -1), &more);
    }
    lua_pushfstring(L, "%s\n%s", code, line);
    free(line);
    lua_remove(L, -2);
  }
}

/* --- the loop --- */

void sd_repl(lua_State *L) {
  int top = lua_gettop(L);
  rl_instream = stdin;
  rl_outstream = stdout;
  rl_catch_signals = 0; /* SIGINT and SIGWINCH are ours: see read_line */
  rl_catch_sigwinch = 0;
  /* the printer and completer, from stdlib/repl.lua */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "repl");
  int status = sd_docall(L, 1, 1);
  int have_repl = status == LUA_OK && lua_istable(L, -1);
  if (have_repl) sd_complete_init(L, lua_gettop(L));
  else { /* plain print, no completion */
    if (status == LUA_OK) lua_pop(L, 1);
    else sd_report(L, status);
    lua_pushnil(L);
  }
  int repl_index = lua_gettop(L);
  history_open();
  printf("sonde %s (%s)  help() for help, ?name for a function, Ctrl-D to exit\n",
         SD_VERSION, LUA_RELEASE);
  fflush(stdout);
  for (;;) {
    lua_settop(L, repl_index);
    int nargs;
    status = read_chunk(L, &nargs);
    if (status == -1) break;
    if (status == -2) continue;
    history_add(lua_tostring(L, -2 - nargs));
    int base = lua_gettop(L);
    if (status == LUA_OK) {
      status = sd_docall(L, nargs, LUA_MULTRET);
      int n = lua_gettop(L) - (base - 1 - nargs);
      if (status == LUA_OK && n > 0) {
        if (have_repl) lua_getfield(L, repl_index, "print");
        else lua_getglobal(L, "print");
        lua_insert(L, -n - 1);
        status = sd_docall(L, n, 0);
      }
    }
    sd_report(L, status);
  }
  lua_settop(L, top);
  fputc('\n', stdout);
}
