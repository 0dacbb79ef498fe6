/* limage.c: the `image` module: PNG files as C x H x W tensors, bilinear
   resize, crop (a view), flips, per-channel normalization, grids of images,
   colormaps and anomaly-map overlays. Kernels in runtime/core/image.c. */
#include "lsonde.h"
#include "../core/image.h"
#include "../io/io.h"
#include <math.h>
#include <string.h>

static sd_tensor *check_image(lua_State *L, int idx, int lo, int hi, const char *fn) {
  sd_tensor *t = sd_lua_check(L, idx);
  if (t->ndim < lo || t->ndim > hi) {
    char buf[128];
    luaL_error(L, "bad argument #%d to '%s' (image of %d to %d dims expected, got %s)", idx, fn,
               lo, hi, sd_shape_str(t, buf, sizeof buf));
  }
  return t;
}

/* t as f32 unless already a float dtype; the converted copy is pushed. */
static sd_tensor *as_float(lua_State *L, sd_tensor *t, const char *fn) {
  return sd_dtype_is_float(t->dtype) ? t : sd_lua_push(L, sd_to_dtype(t, SD_F32), fn);
}

static sd_cmap opt_cmap(lua_State *L, int o, const char *fn) {
  static const char *const names[] = {"viridis", "magma", "gray", NULL};
  if (o == 0 || !lua_istable(L, o)) return SD_CMAP_VIRIDIS;
  lua_getfield(L, o, "cmap");
  const char *s = luaL_optstring(L, -1, "viridis");
  for (int i = 0; names[i]; i++)
    if (strcmp(s, names[i]) == 0) {
      lua_pop(L, 1);
      return (sd_cmap)i;
    }
  return luaL_error(L, "%s: unknown cmap '%s' (viridis, magma or gray)", fn, s);
}

static int l_load(lua_State *L) {
  sd_tensor *t = sd_lua_push(L, sd_png_load(luaL_checkstring(L, 1)), "load");
  if (t->dtype == SD_U8 && sd_lua_optbool(L, lua_istable(L, 2) ? 2 : 0, "float", false)) {
    sd_tensor *f = sd_lua_push(L, sd_to_dtype(t, SD_F32), "load");
    float *p = sd_data(f);
    for (int64_t i = 0, n = sd_numel(f); i < n; i++) p[i] /= 255.0f;
  }
  return 1;
}

static int l_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  sd_tensor *t = check_image(L, 2, 2, 3, "save");
  if (sd_png_save(path, t, 8) != SD_OK) return sd_lua_fail(L, "save");
  return 0;
}

static int l_resize(lua_State *L) {
  sd_tensor *t = as_float(L, check_image(L, 1, 2, 4, "resize"), "resize");
  lua_Integer h = luaL_checkinteger(L, 2), w = luaL_checkinteger(L, 3);
  sd_lua_push(L, sd_image_resize(t, h, w), "resize");
  return 1;
}

static int l_crop(lua_State *L) {
  sd_tensor *t = check_image(L, 1, 2, 4, "crop");
  lua_Integer top = luaL_checkinteger(L, 2), left = luaL_checkinteger(L, 3);
  lua_Integer h = luaL_checkinteger(L, 4), w = luaL_checkinteger(L, 5);
  int dh = t->ndim - 2, dw = t->ndim - 1;
  if (top < 1 || left < 1 || h < 0 || w < 0 || top - 1 + h > t->shape[dh] ||
      left - 1 + w > t->shape[dw]) {
    char buf[128];
    return luaL_error(L, "crop: %dx%d at (%d,%d) does not fit image %s", (int)h, (int)w, (int)top,
                      (int)left, sd_shape_str(t, buf, sizeof buf));
  }
  sd_tensor *r = sd_lua_push(L, sd_narrow(t, dh, top - 1, h), "crop");
  sd_lua_push(L, sd_narrow(r, dw, left - 1, w), "crop");
  return 1;
}

static int l_flip(lua_State *L) {
  static const char *const dirs[] = {"h", "v", NULL};
  sd_tensor *t = check_image(L, 1, 2, 4, "flip");
  int d = luaL_checkoption(L, 2, NULL, dirs);
  sd_lua_push(L, sd_image_flip(t, d == 0 ? t->ndim - 1 : t->ndim - 2), "flip");
  return 1;
}

/* The numbers of the table (or the one number) at idx, n of them. */
static void check_numbers(lua_State *L, int idx, int n, double *v, const char *what) {
  if (lua_isnumber(L, idx)) {
    for (int i = 0; i < n; i++) v[i] = lua_tonumber(L, idx);
    return;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  if (luaL_len(L, idx) != n)
    luaL_error(L, "normalize: %s has %d entries for %d channels", what, (int)luaL_len(L, idx), n);
  for (int i = 0; i < n; i++) {
    lua_geti(L, idx, i + 1);
    if (!lua_isnumber(L, -1)) luaL_error(L, "normalize: %s[%d] is not a number", what, i + 1);
    v[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
}

static int l_normalize(lua_State *L) {
  sd_tensor *t = check_image(L, 1, 3, 4, "normalize");
  int64_t C = t->shape[t->ndim - 3];
  if (C > 64) return luaL_error(L, "normalize: %d channels, at most 64", (int)C);
  double mean[64], std[64];
  check_numbers(L, 2, (int)C, mean, "mean");
  check_numbers(L, 3, (int)C, std, "std");
  sd_lua_push(L, sd_image_normalize(t, (int)C, mean, std), "normalize");
  return 1;
}

static int l_grid(lua_State *L) {
  int o = lua_istable(L, 2) ? 2 : 0;
  int64_t ncol = (int64_t)sd_lua_optnumber(L, o, "ncol", 8);
  int64_t padding = (int64_t)sd_lua_optnumber(L, o, "padding", 2);
  double pad_value = sd_lua_optnumber(L, o, "pad_value", 1);
  sd_tensor *batch = sd_lua_test(L, 1);
  if (batch) { /* N x C x H x W: a list of its images */
    if (batch->ndim != 4) {
      char buf[128];
      return luaL_error(L, "bad argument #1 to 'grid' (NxCxHxW tensor or list of CxHxW expected, got %s)",
                        sd_shape_str(batch, buf, sizeof buf));
    }
    lua_createtable(L, (int)batch->shape[0], 0);
    for (int64_t i = 0; i < batch->shape[0]; i++) {
      sd_lua_push(L, sd_select(batch, 0, i), "grid");
      lua_rawseti(L, -2, i + 1);
    }
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)luaL_len(L, 1);
  sd_tensor **imgs = lua_newuserdatauv(L, sizeof(sd_tensor *) * (size_t)(n ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_geti(L, 1, i + 1);
    if (!(imgs[i] = sd_lua_test(L, -1)))
      return luaL_error(L, "bad argument #1 to 'grid' (entry %d is not a tensor)", i + 1);
    lua_pop(L, 1); /* kept alive by the list */
  }
  /* labels= is drawn by the Lua wrapper (stdlib/image_labels.lua) */
  sd_lua_push(L, sd_image_grid(n, imgs, ncol, padding, pad_value), "grid");
  return 1;
}

static int l_heatmap(lua_State *L) {
  sd_tensor *t = check_image(L, 1, 2, 3, "heatmap");
  int o = lua_istable(L, 2) ? 2 : 0;
  sd_cmap cm = opt_cmap(L, o, "heatmap");
  double vmin = sd_lua_optnumber(L, o, "vmin", NAN), vmax = sd_lua_optnumber(L, o, "vmax", NAN);
  sd_lua_push(L, sd_image_heatmap(t, cm, vmin, vmax), "heatmap");
  return 1;
}

static int l_overlay(lua_State *L) {
  sd_tensor *img = check_image(L, 1, 3, 3, "overlay");
  sd_tensor *map = check_image(L, 2, 2, 3, "overlay");
  double alpha = luaL_optnumber(L, 3, 0.5);
  int o = lua_istable(L, 4) ? 4 : 0;
  sd_cmap cm = opt_cmap(L, o, "overlay");
  double vmin = sd_lua_optnumber(L, o, "vmin", NAN), vmax = sd_lua_optnumber(L, o, "vmax", NAN);
  sd_lua_push(L, sd_image_overlay(img, map, alpha, cm, vmin, vmax), "overlay");
  return 1;
}

static const sd_reg image_fns[] = {
  {"load", l_load, "image.load(path, {float=false})",
   "a PNG as a CxHxW tensor: u8 (16-bit files: f32), or f32 in [0,1] with float=true"},
  {"save", l_save, "image.save(path, t)",
   "write a CxHxW (C=1..4) or HxW image as an 8-bit PNG; floats in [0,1], integers as they are"},
  {"resize", l_resize, "image.resize(t, h, w)",
   "bilinear resize of HxW, CxHxW or NxCxHxW to h x w (torch interpolate, align_corners=false); integers as f32"},
  {"crop", l_crop, "image.crop(t, top, left, h, w)",
   "the h x w window at 1-based (top, left) of the last two dims, as a view"},
  {"flip", l_flip, "image.flip(t, \"h\"|\"v\")", "a copy mirrored left-right (\"h\") or top-bottom (\"v\")"},
  {"normalize", l_normalize, "image.normalize(t, mean, std)",
   "(t - mean[c]) / std[c] per channel of CxHxW or NxCxHxW (tables or numbers); f32 or f64"},
  {"grid", l_grid, "image.grid(images, {ncol=8, padding=2, pad_value=1, labels=})",
   "NxCxHxW or a list of CxHxW as one CxH'xW' image, like make_grid; labels= writes one under each tile (RGB)"},
  {"heatmap", l_heatmap, "image.heatmap(t, {cmap=\"viridis\"|\"magma\"|\"gray\", vmin=, vmax=})",
   "HxW to a 3xHxW f32 colour image in [0,1]; vmin/vmax default to t's min/max; NaN is black"},
  {"overlay", l_overlay, "image.overlay(img, map, alpha=0.5, {cmap=, vmin=, vmax=})",
   "3xHxW f32: the map's heatmap, resized bilinearly to the image, blended over it with alpha"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_image(lua_State *L) {
  lua_newtable(L);
  sd_lua_register(L, -1, "image", '.', image_fns);
  return 1;
}
