/* lsonde.h: what the Lua bindings share: registration with docs, tensor
   boxes, argument helpers and the bridge from core errors to Lua errors.

   Rule of every binding: check arguments, make the core call, push the
   result. A core result is pushed (owned by Lua) before anything else can
   raise, so a Lua error never leaks C memory. */
#ifndef LSONDE_H
#define LSONDE_H

#include <lua.h>
#include <lauxlib.h>
#include "../core/tensor.h"

#define SD_VERSION "0.1.0"
#define SD_TENSOR_MT "sonde.Tensor"

/* One entry of a module or method table, with its doc: the single source
   for help(), the reference and the editor files. */
typedef struct sd_reg {
  const char *name;
  lua_CFunction fn;
  const char *sig;   /* e.g. "tensor.zeros(...shape, {dtype=})" */
  const char *doc;   /* one line */
} sd_reg;

/* Sets fields of the table at idx from regs and records their docs under
   "prefix.name" (prefix "Tensor" with sep ':' for methods). */
void sd_lua_register(lua_State *L, int idx, const char *prefix, char sep, const sd_reg *regs);
/* Records one doc entry (used by Lua code through sonde.doc). */
void sd_lua_doc(lua_State *L, const char *name, const char *sig, const char *doc);

/* Raises the core's last error as a Lua error from function fn. */
int sd_lua_fail(lua_State *L, const char *fn);

/* Tensors on the Lua stack. push takes over the reference (NULL raises the
   core error, naming fn). */
sd_tensor *sd_lua_push(lua_State *L, sd_tensor *t, const char *fn);
sd_tensor *sd_lua_check(lua_State *L, int idx);
sd_tensor *sd_lua_test(lua_State *L, int idx); /* NULL when not a tensor */
/* A tensor an in-place op may write: not one that needs grad in grad mode. */
sd_tensor *sd_lua_check_inplace(lua_State *L, int idx, const char *fn);
/* A tensor from a tensor or a Lua number (0-d, of dtype dt when a number). */
sd_tensor *sd_lua_operand(lua_State *L, int idx, sd_dtype dt);

/* Shapes: varargs of integers or one table, starting at idx; returns the
   ndim, raises on bad entries. *next is the first index after the shape. */
int sd_lua_shape(lua_State *L, int idx, int64_t *shape, int *next);
/* Options table at idx (may be absent): dtype field, default def. */
sd_dtype sd_lua_opt_dtype(lua_State *L, int idx, sd_dtype def);
sd_dtype sd_lua_check_dtype(lua_State *L, int idx);
/* Field key of the options table at idx; def when the table or the field
   is absent (idx 0: no table). A number option of another type is an error naming it. */
bool sd_lua_optbool(lua_State *L, int idx, const char *key, bool def);
double sd_lua_optnumber(lua_State *L, int idx, const char *key, double def);
/* 1-based Lua dim at idx to 0-based; negative counts from the end. */
int sd_lua_dim(lua_State *L, int idx, const sd_tensor *t);
int sd_lua_optdim(lua_State *L, int idx, const sd_tensor *t, int def);

/* GC pacing: called after allocating, reports storage bytes to the collector. */
void sd_lua_pace(lua_State *L);

/* Module openers. */
int luaopen_sonde(lua_State *L);
int sd_open_tensor(lua_State *L);
int sd_open_data(lua_State *L);
int sd_open_generator(lua_State *L); /* the Generator type (ltensor_random.c) */
int sd_open_autograd(lua_State *L);
int sd_open_optim_kernels(lua_State *L);
int sd_open_nn_functional(lua_State *L);
int sd_open_image(lua_State *L);
int sd_open_plot_cairo(lua_State *L);   /* lplot.c: the cairo canvas under stdlib/plot.lua */
int sd_open_probe_kernels(lua_State *L);  /* lprobe.c: under stdlib/probe_linear.lua */
int sd_open_metrics_kernels(lua_State *L); /* lmetrics.c: under stdlib/metrics_class.lua, metrics_repr.lua, probe_tools.lua */
int sd_open_detect_kernels(lua_State *L); /* ldetect.c: under stdlib/detect*.lua, metrics_rank.lua */
int sd_open_attack_kernels(lua_State *L); /* lattack.c: under stdlib/attack.lua */

/* Method and function tables contributed by each binding file of the
   tensor module (ltensor*.c); sd_open_tensor registers them all. */
extern const sd_reg sd_tensor_core_fns[], sd_tensor_core_methods[];
extern const sd_reg sd_tensor_math_fns[], sd_tensor_math_methods[];
extern const sd_reg sd_tensor_index_fns[], sd_tensor_index_methods[];
extern const sd_reg sd_tensor_linalg_fns[], sd_tensor_linalg_methods[];
extern const sd_reg sd_tensor_random_fns[], sd_tensor_random_methods[];
extern const sd_reg sd_tensor_io_fns[], sd_tensor_io_methods[];
extern const sd_reg sd_tensor_special_fns[], sd_tensor_special_methods[];
extern const sd_reg sd_autograd_methods[];
/* Metamethods (__add, __unm, ...) contributed by ltensor_math.c. */
extern const sd_reg sd_tensor_math_meta[];

#endif
