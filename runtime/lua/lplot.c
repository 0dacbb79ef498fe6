/* lplot.c: the "plot.cairo" module: a canvas of W x H pixels drawn with
   cairo (anti-aliased lines, markers, rectangles, images, fontconfig text)
   and written as PNG through the io module's atomic writer. Coordinates are
   pixels from the top-left corner; stdlib/plot.lua does all the layout. */
#include <math.h>
#include <string.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include "lsonde.h"
#include "../io/io.h"

#define CANVAS_MT "sonde.Canvas"

typedef struct {
  cairo_surface_t *surface;
  cairo_t *cr;
} canvas;

static canvas *check_canvas(lua_State *L) {
  canvas *c = luaL_checkudata(L, 1, CANVAS_MT);
  if (!c->cr) luaL_error(L, "canvas: already closed");
  return c;
}

static int l_gc(lua_State *L) {
  canvas *c = luaL_checkudata(L, 1, CANVAS_MT);
  if (c->cr) cairo_destroy(c->cr);
  if (c->surface) cairo_surface_destroy(c->surface);
  c->cr = NULL;
  c->surface = NULL;
  return 0;
}

static int l_new(lua_State *L) {
  lua_Integer w = luaL_checkinteger(L, 1), h = luaL_checkinteger(L, 2);
  luaL_argcheck(L, w > 0 && w <= 16384, 1, "width must be in 1..16384");
  luaL_argcheck(L, h > 0 && h <= 16384, 2, "height must be in 1..16384");
  canvas *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->surface = NULL;
  c->cr = NULL;
  luaL_setmetatable(L, CANVAS_MT);
  c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
  c->cr = cairo_create(c->surface);
  if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS)
    return luaL_error(L, "plot.cairo.new: %s", cairo_status_to_string(cairo_status(c->cr)));
  cairo_set_source_rgb(c->cr, 1, 1, 1);
  cairo_paint(c->cr);
  cairo_set_source_rgb(c->cr, 0, 0, 0);
  cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_ROUND);
  return 1;
}

/* c:color(r, g, b [, a]): components in [0, 1] */
static int l_color(lua_State *L) {
  canvas *c = check_canvas(L);
  cairo_set_source_rgba(c->cr, luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                        luaL_checknumber(L, 4), luaL_optnumber(L, 5, 1));
  return 0;
}

static int l_width(lua_State *L) {
  canvas *c = check_canvas(L);
  cairo_set_line_width(c->cr, luaL_checknumber(L, 2));
  return 0;
}

/* c:dash(on, off) or c:dash() for solid lines */
static int l_dash(lua_State *L) {
  canvas *c = check_canvas(L);
  if (lua_isnoneornil(L, 2)) {
    cairo_set_dash(c->cr, NULL, 0, 0);
  } else {
    double d[2] = {luaL_checknumber(L, 2), luaL_optnumber(L, 3, luaL_checknumber(L, 2))};
    cairo_set_dash(c->cr, d, 2, 0);
  }
  return 0;
}

/* c:polyline(xs, ys): strokes through the points of two equal-length
   tables; a non-finite point breaks the line. */
static int l_polyline(lua_State *L) {
  canvas *c = check_canvas(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  if (luaL_len(L, 3) != n)
    return luaL_error(L, "polyline: xs has %d points, ys %d", (int)n, (int)luaL_len(L, 3));
  bool pen = false;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 2, i);
    lua_geti(L, 3, i);
    double x = lua_tonumber(L, -2), y = lua_tonumber(L, -1);
    lua_pop(L, 2);
    if (!isfinite(x) || !isfinite(y)) { pen = false; continue; }
    if (pen) cairo_line_to(c->cr, x, y); else cairo_move_to(c->cr, x, y);
    pen = true;
  }
  cairo_stroke(c->cr);
  return 0;
}

/* c:markers(xs, ys, radius): a filled disc at each point */
static int l_markers(lua_State *L) {
  canvas *c = check_canvas(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  double r = luaL_checknumber(L, 4);
  lua_Integer n = luaL_len(L, 2);
  if (luaL_len(L, 3) != n)
    return luaL_error(L, "markers: xs has %d points, ys %d", (int)n, (int)luaL_len(L, 3));
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 2, i);
    lua_geti(L, 3, i);
    double x = lua_tonumber(L, -2), y = lua_tonumber(L, -1);
    lua_pop(L, 2);
    if (!isfinite(x) || !isfinite(y)) continue;
    cairo_new_sub_path(c->cr);
    cairo_arc(c->cr, x, y, r, 0, 2 * M_PI);
  }
  cairo_fill(c->cr);
  return 0;
}

/* c:rect(x, y, w, h [, fill=true]) */
static int l_rect(lua_State *L) {
  canvas *c = check_canvas(L);
  cairo_rectangle(c->cr, luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                  luaL_checknumber(L, 4), luaL_checknumber(L, 5));
  if (lua_isnoneornil(L, 6) || lua_toboolean(L, 6)) cairo_fill(c->cr);
  else cairo_stroke(c->cr);
  return 0;
}

/* c:clip(x, y, w, h) restricts drawing to a rectangle; c:clip() lifts it */
static int l_clip(lua_State *L) {
  canvas *c = check_canvas(L);
  cairo_reset_clip(c->cr);
  if (!lua_isnoneornil(L, 2)) {
    cairo_rectangle(c->cr, luaL_checknumber(L, 2), luaL_checknumber(L, 3),
                    luaL_checknumber(L, 4), luaL_checknumber(L, 5));
    cairo_clip(c->cr);
  }
  return 0;
}

static void set_font(cairo_t *cr, double size, bool bold) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

/* c:text(x, y, s, {size=12, ha=0.5, va=0.5, angle=0, bold=false}):
   ha/va 0 left/top .. 1 right/bottom anchor the text box at (x, y);
   angle in degrees, counter-clockwise. */
static int l_text(lua_State *L) {
  canvas *c = check_canvas(L);
  double x = luaL_checknumber(L, 2), y = luaL_checknumber(L, 3);
  const char *s = luaL_checkstring(L, 4);
  double size = sd_lua_optnumber(L, 5, "size", 12);
  double ha = sd_lua_optnumber(L, 5, "ha", 0.5), va = sd_lua_optnumber(L, 5, "va", 0.5);
  double angle = sd_lua_optnumber(L, 5, "angle", 0);
  set_font(c->cr, size, sd_lua_optbool(L, 5, "bold", false));
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents(c->cr, s, &te);
  cairo_font_extents(c->cr, &fe);
  cairo_save(c->cr);
  cairo_translate(c->cr, x, y);
  cairo_rotate(c->cr, -angle * M_PI / 180);
  /* vertical placement by the font's ascent/descent, so labels line up */
  cairo_move_to(c->cr, -ha * te.x_advance, fe.ascent - va * (fe.ascent + fe.descent));
  cairo_show_text(c->cr, s);
  cairo_restore(c->cr);
  return 0;
}

/* c:text_size(s, size [, bold]) -> width, height in pixels */
static int l_text_size(lua_State *L) {
  canvas *c = check_canvas(L);
  const char *s = luaL_checkstring(L, 2);
  cairo_save(c->cr);
  set_font(c->cr, luaL_checknumber(L, 3), lua_toboolean(L, 4));
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents(c->cr, s, &te);
  cairo_font_extents(c->cr, &fe);
  cairo_restore(c->cr);
  lua_pushnumber(L, te.x_advance);
  lua_pushnumber(L, fe.ascent + fe.descent);
  return 2;
}

/* c:image(t, x, y, w, h): a 3 x H x W u8 tensor scaled into the rectangle,
   pixels kept sharp (nearest neighbour). */
static int l_image(lua_State *L) {
  canvas *c = check_canvas(L);
  sd_tensor *t = sd_lua_check(L, 2);
  double x = luaL_checknumber(L, 3), y = luaL_checknumber(L, 4);
  double w = luaL_checknumber(L, 5), h = luaL_checknumber(L, 6);
  if (t->ndim != 3 || t->shape[0] != 3 || t->dtype != SD_U8 || t->shape[1] < 1 ||
      t->shape[2] < 1 || t->shape[1] > 16384 || t->shape[2] > 16384)
    return luaL_argerror(L, 2, "expected a u8 tensor of shape [3,H,W]");
  int ih = (int)t->shape[1], iw = (int)t->shape[2];
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, iw, ih);
  if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(img);
    return luaL_error(L, "image: out of memory");
  }
  cairo_surface_flush(img);
  unsigned char *dst = cairo_image_surface_get_data(img);
  int dstride = cairo_image_surface_get_stride(img);
  const uint8_t *src = sd_data(t);
  for (int i = 0; i < ih; i++) {
    uint32_t *row = (uint32_t *)(dst + (size_t)i * dstride);
    for (int j = 0; j < iw; j++) {
      const uint8_t *p = src + i * t->stride[1] + j * t->stride[2];
      row[j] = (uint32_t)p[0] << 16 | (uint32_t)p[t->stride[0]] << 8 | p[2 * t->stride[0]];
    }
  }
  cairo_surface_mark_dirty(img);
  cairo_save(c->cr);
  cairo_rectangle(c->cr, x, y, w, h);
  cairo_clip(c->cr);
  cairo_translate(c->cr, x, y);
  cairo_scale(c->cr, w / iw, h / ih);
  cairo_set_source_surface(c->cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(c->cr), CAIRO_FILTER_NEAREST);
  cairo_paint(c->cr);
  cairo_restore(c->cr);
  cairo_surface_destroy(img);
  return 0;
}

/* c:pixels(): the canvas as a u8 [3,H,W] tensor (for drawing into images) */
static int l_pixels(lua_State *L) {
  canvas *c = check_canvas(L);
  cairo_surface_flush(c->surface);
  int h = cairo_image_surface_get_height(c->surface), w = cairo_image_surface_get_width(c->surface);
  int stride = cairo_image_surface_get_stride(c->surface);
  const unsigned char *src = cairo_image_surface_get_data(c->surface);
  int64_t shape[3] = {3, h, w};
  sd_tensor *t = sd_lua_push(L, sd_empty(SD_U8, 3, shape), "pixels");
  uint8_t *d = sd_data(t);
  for (int i = 0; i < h; i++) {
    const uint32_t *row = (const uint32_t *)(src + (size_t)i * stride);
    for (int j = 0; j < w; j++) {
      int64_t k = (int64_t)i * w + j, plane = (int64_t)h * w;
      d[k] = (uint8_t)(row[j] >> 16);
      d[plane + k] = (uint8_t)(row[j] >> 8);
      d[2 * plane + k] = (uint8_t)row[j];
    }
  }
  return 1;
}

static cairo_status_t write_chunk(void *w, const unsigned char *p, unsigned int n) {
  sd_wfile_write(w, p, n);
  return CAIRO_STATUS_SUCCESS;
}

/* c:save(path): PNG through a temp file in the same directory, then rename */
static int l_save(lua_State *L) {
  canvas *c = check_canvas(L);
  const char *path = luaL_checkstring(L, 2);
  sd_wfile w;
  cairo_surface_flush(c->surface);
  if (sd_wfile_open(&w, path) != SD_OK) return sd_lua_fail(L, "save");
  cairo_status_t st = cairo_surface_write_to_png_stream(c->surface, write_chunk, &w);
  if (st != CAIRO_STATUS_SUCCESS) {
    sd_wfile_abort(&w);
    return luaL_error(L, "save: %s: %s", path, cairo_status_to_string(st));
  }
  if (sd_wfile_commit(&w) != SD_OK) return sd_lua_fail(L, "save");
  return 0;
}

/* cairo and fontconfig keep process-wide font caches; they are
   dropped when the last Lua state using plot.cairo closes. The sentinel is
   made when the module opens, so lua_close finalizes it after every canvas. */
static _Atomic int states;

static int l_release_caches(lua_State *L) {
  if (--states == 0) {
    cairo_debug_reset_static_data();
    FcFini();
  }
  return 0;
}

static const sd_reg canvas_fns[] = {
  {"new", l_new, "plot.cairo.new(width, height)", "a white canvas of width x height pixels"},
  {NULL, NULL, NULL, NULL},
};

static const sd_reg canvas_methods[] = {
  {"color", l_color, "c:color(r, g, b [, a])", "set the drawing colour (components in [0, 1])"},
  {"width", l_width, "c:width(px)", "set the line width"},
  {"dash", l_dash, "c:dash([on [, off]])", "dashed lines of on/off pixels; no argument: solid"},
  {"polyline", l_polyline, "c:polyline(xs, ys)", "stroke a line through the points (tables of pixel coordinates); NaN breaks it"},
  {"markers", l_markers, "c:markers(xs, ys, radius)", "a filled disc at each point"},
  {"rect", l_rect, "c:rect(x, y, w, h [, fill=true])", "a filled (or outlined) rectangle"},
  {"clip", l_clip, "c:clip([x, y, w, h])", "restrict drawing to a rectangle; no argument lifts it"},
  {"text", l_text, "c:text(x, y, s, {size=12, ha=0.5, va=0.5, angle=0, bold=false})", "anti-aliased text anchored at (x, y); ha/va 0..1, angle in degrees"},
  {"text_size", l_text_size, "c:text_size(s, size [, bold])", "width and height of the text in pixels"},
  {"image", l_image, "c:image(t, x, y, w, h)", "draw a u8 [3,H,W] tensor scaled into a rectangle, pixels sharp"},
  {"save", l_save, "c:save(path)", "write the canvas as PNG, atomically"},
  {"pixels", l_pixels, "c:pixels()", "the canvas as a u8 [3,H,W] tensor"},
  {NULL, NULL, NULL, NULL},
};

int sd_open_plot_cairo(lua_State *L) {
  if (luaL_newmetatable(L, CANVAS_MT)) {
    lua_newtable(L);
    sd_lua_register(L, -1, "Canvas", ':', canvas_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, LUA_REGISTRYINDEX, "sonde.cairo_caches") == LUA_TNIL) {
    lua_newuserdatauv(L, 1, 0);
    lua_newtable(L);
    lua_pushcfunction(L, l_release_caches);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "sonde.cairo_caches");
    states++;
  }
  lua_pop(L, 1);
  lua_newtable(L);
  sd_lua_register(L, -1, "plot.cairo", '.', canvas_fns);
  return 1;
}
