/* interp.h: what the program's files share. */
#ifndef SD_INTERP_H
#define SD_INTERP_H

#include <lua.h>

/* Calls the function below narg arguments with a traceback handler and
   Ctrl-C armed; returns the pcall status. */
int sd_docall(lua_State *L, int narg, int nres);
/* Prints the error on top of the stack (if status is an error); returns status. */
int sd_report(lua_State *L, int status);
/* The interactive loop, until end of input. */
void sd_repl(lua_State *L);
/* Sets up readline's tab completion with repl.complete from the stdlib
   module table at repl_index (complete.c). */
void sd_complete_init(lua_State *L, int repl_index);

#endif
