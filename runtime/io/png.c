/* png.c: PNG through libpng. Reading expands palettes, low bit depths and
   tRNS transparency, so every image is gray, gray+alpha, RGB or RGBA at 8
   or 16 bits, returned as C x H x W (u8, or f32 in [0, 1] for 16 bits).

   libpng reports errors by longjmp: everything this file allocates is held
   in volatile locals set before the calls that may jump, and freed on both
   paths. The declared image size is checked against what the file's bytes
   can inflate to before any pixel memory is allocated. */
#include "io.h"
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; char msg[200]; size_t cap; } png_ctx;

static void on_error(png_structp png, png_const_charp msg) {
  png_ctx *c = png_get_error_ptr(png);
  if (!c->msg[0]) snprintf(c->msg, sizeof c->msg, "%s", msg); /* the first cause */
  png_longjmp(png, 1);
}

/* libpng allocates a chunk's declared length before reading it (an sPLT
   of 1 GiB in a 42-byte file). Its own blocks are chunks, which cannot be
   longer than the file, and row buffers, at most 8 bytes x 2^20 pixels:
   anything past the file's size plus 32 MiB is refused. */
static png_voidp on_malloc(png_structp png, png_alloc_size_t n) {
  png_ctx *c = png_get_mem_ptr(png);
  if (n > c->cap) {
    if (!c->msg[0])
      snprintf(c->msg, sizeof c->msg, "a chunk declares %zu bytes, more than the file holds", (size_t)n);
    return NULL;
  }
  return malloc(n);
}

static void on_free(png_structp png, png_voidp p) { (void)png; free(p); }

static void on_warning(png_structp png, png_const_charp msg) {}

sd_tensor *sd_png_read(FILE *f, int64_t size, const char *name) {
  uint8_t sig[8];
  if (size < 8 || fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
    sd_error(SD_EIO, "%s: not a PNG file (bad signature)", name);
    return NULL;
  }
  png_ctx ctx = {name, "", (size_t)size + ((size_t)32 << 20)};
  png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning,
                                             &ctx, on_malloc, on_free);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    sd_error(SD_EMEM, "%s: out of memory", name);
    return NULL;
  }
  uint8_t *volatile pix = NULL;
  png_bytep *volatile rows = NULL;
  sd_tensor *volatile t = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(pix);
    free(rows);
    sd_release(t);
    png_destroy_read_struct(&png, &info, NULL);
    sd_error(SD_EIO, "%s: %s", name, ctx.msg[0] ? ctx.msg : "corrupt PNG");
    return NULL;
  }
  png_init_io(png, f);
  png_set_sig_bytes(png, 8);
  png_set_user_limits(png, 1 << 20, 1 << 20);
  png_read_info(png, info);
  int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  int src_bits = depth * png_get_channels(png, info); /* per pixel, before expansion */
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_swap(png); /* host order */
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int64_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int ch = png_get_channels(png, info), bytes = png_get_bit_depth(png, info) == 16 ? 2 : 1;
  size_t rowbytes = png_get_rowbytes(png, info);
  /* every row costs at least one filter byte and (rowbytes of its smallest
     source form) / 1032 compressed bytes: a small file cannot hold a big image */
  double min_bytes = (double)h * (1.0 + ceil((double)w * src_bits / 8.0)) / SD_IO_MAX_RATIO;
  if (min_bytes > (double)size || rowbytes != (size_t)(w * ch * bytes)) {
    snprintf(ctx.msg, sizeof ctx.msg, "image of %lldx%lld is larger than the file can hold",
             (long long)w, (long long)h);
    png_longjmp(png, 1);
  }
  pix = malloc(rowbytes * (size_t)h + 1);
  rows = malloc(sizeof(png_bytep) * (size_t)h + 1);
  int64_t shape[3] = {ch, h, w};
  t = sd_empty(bytes == 1 ? SD_U8 : SD_F32, 3, shape);
  if (!pix || !rows || !t) {
    snprintf(ctx.msg, sizeof ctx.msg, "out of memory for a %lldx%lld image", (long long)w, (long long)h);
    png_longjmp(png, 1);
  }
  for (int64_t y = 0; y < h; y++) rows[y] = pix + (size_t)y * rowbytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  /* interleaved H x W x C to planar C x H x W */
  int64_t hw = h * w;
  if (bytes == 1) {
    uint8_t *o = sd_data(t);
    for (int64_t i = 0; i < hw; i++)
      for (int c = 0; c < ch; c++) o[c * hw + i] = pix[i * ch + c];
  } else {
    float *o = sd_data(t);
    const uint16_t *p = (const uint16_t *)pix;
    for (int64_t i = 0; i < hw; i++)
      for (int c = 0; c < ch; c++) o[c * hw + i] = (float)p[i * ch + c] / 65535.0f;
  }
  sd_tensor *out = t;
  free(pix);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  return out;
}

sd_tensor *sd_png_load(const char *path) {
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (!f) return NULL;
  sd_tensor *t = sd_png_read(f, size, path);
  fclose(f);
  return t;
}

sd_status sd_png_save(const char *path, const sd_tensor *t, int bits) {
  if (t->ndim != 2 && t->ndim != 3)
    return sd_error(SD_EARG, "%s: a PNG is C x H x W or H x W, got %d dims", path, t->ndim);
  int64_t ch = t->ndim == 3 ? t->shape[0] : 1, h = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1];
  if (ch < 1 || ch > 4) return sd_error(SD_EARG, "%s: %lld channels, a PNG has 1 to 4", path, (long long)ch);
  if (h < 1 || w < 1 || h > 1 << 20 || w > 1 << 20)
    return sd_error(SD_EARG, "%s: bad image size %lldx%lld", path, (long long)w, (long long)h);
  if (bits != 8 && bits != 16) return sd_error(SD_EARG, "%s: bits must be 8 or 16", path);
  double top = bits == 8 ? 255 : 65535;
  int bytes = bits / 8;
  int64_t hw = h * w;
  uint8_t *pix = malloc((size_t)(hw * ch * bytes));
  if (!pix) return sd_error(SD_EMEM, "%s: out of memory", path);
  bool fl = sd_dtype_is_float(t->dtype);
  /* planar C x H x W (any strides) to interleaved rows */
  for (int64_t c = 0; c < ch; c++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        int64_t off = t->offset + (t->ndim == 3 ? c * t->stride[0] : 0) +
                      y * t->stride[t->ndim - 2] + x * t->stride[t->ndim - 1];
        const char *p = (const char *)t->storage->data + off * (int64_t)sd_dtype_size(t->dtype);
        double v = sd_get_ptr(t->dtype, p);
        if (fl) v = round((v > 1 ? 1 : v >= 0 ? v : 0) * top);
        else if (v < 0 || v > top) {
          free(pix);
          return sd_error(SD_EARG, "%s: value %g outside 0..%g (scale floats to [0, 1])", path, v, top);
        }
        size_t i = (size_t)((y * w + x) * ch + c);
        if (bytes == 1) pix[i] = (uint8_t)v;
        else { pix[2 * i] = (uint8_t)((int)v >> 8); pix[2 * i + 1] = (uint8_t)((int)v & 255); }
      }
  sd_wfile wf;
  if (sd_wfile_open(&wf, path) != SD_OK) { free(pix); return SD_EIO; }
  png_ctx ctx = {path, "", 0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  png_bytep *volatile rows = NULL;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pix);
    sd_wfile_abort(&wf);
    return sd_error(SD_EIO, "%s: %s", path, ctx.msg[0] ? ctx.msg : "out of memory");
  }
  rows = malloc(sizeof(png_bytep) * (size_t)h);
  if (!rows) png_error(png, "out of memory");
  for (int64_t y = 0; y < h; y++) rows[y] = pix + (size_t)(y * w * ch * bytes);
  static const int types[4] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGB_ALPHA};
  png_init_io(png, wf.f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bits, types[ch - 1], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  free(pix);
  return sd_wfile_commit(&wf);
}
