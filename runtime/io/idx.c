/* idx.c: the IDX format of MNIST-like datasets, plain or gzip'd.
   Header: two zero bytes, a type code, the number of dims, then each dim as
   a big-endian u32; the data follows, big-endian. Type codes: 08 u8, 09 i8,
   0B i16, 0C i32, 0D f32, 0E f64 (read as u8, i32, i32, i32, f32, f64).

   gzip files are inflated whole with libdeflate (about twice zlib's speed)
   into a buffer sized by the gzip trailer, itself bounded by deflate's
   largest expansion of the file's size; u8 data stays in that buffer. */
#include "io.h"
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#define IDX_MAXHDR (4 + 4 * SD_MAXDIM)

/* Parses the header in h (avail bytes); checks the data fits in `size`
   bytes in total. Returns the header length, 0 on error. */
static size_t idx_header(const uint8_t *h, size_t avail, int64_t size, const char *name,
                         sd_ftype *ft, int *ndim, int64_t *shape) {
  if (avail < 4 || h[0] != 0 || h[1] != 0) {
    sd_error(SD_EIO, "%s: not an IDX file (bad magic)", name);
    return 0;
  }
  static const struct { uint8_t code; char kind; int size; } types[] = {
    {0x08, 'u', 1}, {0x09, 'i', 1}, {0x0B, 'i', 2}, {0x0C, 'i', 4}, {0x0D, 'f', 4}, {0x0E, 'f', 8}};
  int k = -1;
  for (int i = 0; i < 6; i++) if (types[i].code == h[2]) k = i;
  if (k < 0) {
    sd_error(SD_EIO, "%s: unknown IDX type code 0x%02x", name, h[2]);
    return 0;
  }
  *ft = (sd_ftype){types[k].kind, types[k].size, true};
  *ndim = h[3];
  if (*ndim > SD_MAXDIM) {
    sd_error(SD_EIO, "%s: %d dims, at most %d supported", name, *ndim, SD_MAXDIM);
    return 0;
  }
  size_t hl = 4 + 4 * (size_t)*ndim;
  if (avail < hl) {
    sd_error(SD_EIO, "%s: truncated (header)", name);
    return 0;
  }
  for (int i = 0; i < *ndim; i++) {
    const uint8_t *d = h + 4 + 4 * i;
    shape[i] = (int64_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
  }
  int64_t n = sd_io_numel(*ndim, shape, (size - (int64_t)hl) / ft->size + 1);
  if (n < 0 || (int64_t)hl + n * ft->size > size) {
    sd_error(SD_EIO, "%s: truncated (header declares more data than the file holds)", name);
    return 0;
  }
  if ((int64_t)hl + n * ft->size < size) {
    sd_error(SD_EIO, "%s: %lld bytes of trailing data", name,
             (long long)(size - (int64_t)hl - n * ft->size));
    return 0;
  }
  return hl;
}

static void free_buffer(sd_storage *s) { sd_free(s->data, s->nbytes); }

/* The whole gzip stream in `gz` (gzn bytes), inflated and parsed. */
static sd_tensor *idx_gzip(const uint8_t *gz, size_t gzn, const char *name) {
  if (gzn < 18) {
    sd_error(SD_EIO, "%s: truncated (gzip stream)", name);
    return NULL;
  }
  const uint8_t *tr = gz + gzn - 4;
  size_t isize = (size_t)tr[0] | (size_t)tr[1] << 8 | (size_t)tr[2] << 16 | (size_t)tr[3] << 24;
  if (isize / SD_IO_MAX_RATIO > gzn) {
    sd_error(SD_EIO, "%s: corrupt gzip (declares %zu bytes from %zu)", name, isize, gzn);
    return NULL;
  }
  uint8_t *buf = sd_malloc(isize);
  if (!buf) return NULL;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if (!d) {
    sd_free(buf, isize);
    sd_error(SD_EMEM, "%s: out of memory", name);
    return NULL;
  }
  size_t used = 0, got = 0;
  enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, gz, gzn, buf, isize, &used, &got);
  libdeflate_free_decompressor(d);
  if (r != LIBDEFLATE_SUCCESS || got != isize || used != gzn) {
    sd_free(buf, isize);
    sd_error(SD_EIO, "%s: %s", name,
             r == LIBDEFLATE_INSUFFICIENT_SPACE ? "gzip stream larger than its trailer says (over 4 GiB?)"
             : r != LIBDEFLATE_SUCCESS ? "corrupt gzip stream"
             : got != isize ? "gzip size mismatch" : "multi-member or trailing gzip data not supported");
    return NULL;
  }
  sd_ftype ft;
  int ndim;
  int64_t shape[SD_MAXDIM];
  size_t hl = idx_header(buf, isize, (int64_t)isize, name, &ft, &ndim, shape);
  if (!hl) { sd_free(buf, isize); return NULL; }
  if (ft.size > 1 || ft.kind != 'u') { /* decode into a tensor of its own */
    sd_tensor *t = sd_io_read_array(NULL, buf + hl, ft, ndim, shape, name);
    sd_free(buf, isize);
    return t;
  }
  /* u8: a view of the inflated buffer past its header */
  int64_t all = (int64_t)isize;
  sd_tensor *base = sd_from_external(SD_U8, 1, &all, buf, isize, free_buffer, NULL);
  if (!base) { sd_free(buf, isize); return NULL; }
  int64_t stride[SD_MAXDIM];
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) { stride[i] = s; s *= shape[i]; }
  sd_tensor *t = sd_as_strided(base, ndim, shape, stride, (int64_t)hl);
  sd_release(base);
  return t;
}

sd_tensor *sd_idx_read(FILE *f, int64_t size, const char *name) {
  uint8_t h[IDX_MAXHDR];
  size_t avail = fread(h, 1, size < IDX_MAXHDR ? (size_t)size : IDX_MAXHDR, f);
  if (avail >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
    if (fseek(f, 0, SEEK_SET) != 0) {
      sd_error(SD_EIO, "%s: cannot seek", name);
      return NULL;
    }
    uint8_t *gz = sd_io_slurp(f, (size_t)size, name);
    if (!gz) return NULL;
    sd_tensor *t = idx_gzip(gz, (size_t)size, name);
    free(gz);
    return t;
  }
  sd_ftype ft;
  int ndim;
  int64_t shape[SD_MAXDIM];
  size_t hl = idx_header(h, avail, size, name, &ft, &ndim, shape);
  if (!hl) return NULL;
  if (fseek(f, (long)hl, SEEK_SET) != 0) {
    sd_error(SD_EIO, "%s: cannot seek", name);
    return NULL;
  }
  return sd_io_read_array(f, NULL, ft, ndim, shape, name);
}

sd_tensor *sd_idx_load(const char *path) {
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (!f) return NULL;
  sd_tensor *t = sd_idx_read(f, size, path);
  fclose(f);
  return t;
}
