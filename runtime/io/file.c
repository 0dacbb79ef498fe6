/* file.c: what the readers and writers share: bounded reads, decoding of
   file element types into tensors, and atomic writes (temp file in the same
   directory, fsync, rename). */
#include "io.h"
#include "guard.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sonde's file formats are written as little-endian host memory"
#endif

/* --- reading --- */

FILE *sd_io_open(const char *path, int64_t *size) {
  if (sd_io_guard(path, false) != SD_OK) return NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    sd_error(SD_EIO, "%s: cannot open (%s)", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    sd_error(SD_EIO, "%s: not a regular file", path);
    return NULL;
  }
  *size = st.st_size;
  return f;
}

sd_status sd_io_read(FILE *f, void *buf, size_t n, const char *name, const char *what) {
  if (n && fread(buf, 1, n, f) != n)
    return sd_error(SD_EIO, "%s: truncated (%s)", name, what);
  return SD_OK;
}

uint8_t *sd_io_slurp(FILE *f, size_t n, const char *name) {
  uint8_t *p = malloc(n ? n : 1);
  if (!p) {
    sd_error(SD_EMEM, "%s: out of memory reading %zu bytes", name, n);
    return NULL;
  }
  if (sd_io_read(f, p, n, name, "data") != SD_OK) { free(p); return NULL; }
  return p;
}

int64_t sd_io_numel(int ndim, const int64_t *shape, int64_t limit) {
  /* the nonzero sizes are bounded too: a file may not declare 0 x 2^60 */
  int64_t n = 1, nz = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return -1;
    if (shape[i] == 0) { n = 0; continue; }
    if (nz > ((int64_t)1 << 46) / shape[i]) return -1;
    nz *= shape[i];
    if (n > limit / shape[i]) return -1;
    n *= shape[i];
  }
  return n;
}

/* --- element types --- */

int sd_ftype_dtype(sd_ftype ft, sd_dtype *dt, const char *name) {
  int ok = 1;
  switch (ft.kind) {
  case 'f': ok = ft.size == 2 || ft.size == 4 || ft.size == 8; *dt = ft.size == 8 ? SD_F64 : SD_F32; break;
  case 'h': ok = ft.size == 2; *dt = SD_F32; break;
  case 'i': ok = ft.size == 1 || ft.size == 2 || ft.size == 4 || ft.size == 8;
            *dt = ft.size == 8 ? SD_I64 : SD_I32; break;
  case 'u': ok = ft.size == 1 || ft.size == 2 || ft.size == 4;
            *dt = ft.size == 1 ? SD_U8 : ft.size == 2 ? SD_I32 : SD_I64; break;
  case 'b': ok = ft.size == 1; *dt = SD_BOOL; break;
  default: ok = 0;
  }
  if (!ok) {
    char buf[32];
    sd_error(SD_EIO, "%s: unsupported element type %s", name, sd_ftype_str(ft, buf, sizeof buf));
  }
  return ok;
}

sd_ftype sd_dtype_ftype(sd_dtype dt) {
  static const sd_ftype map[SD_NDTYPE] = {
    [SD_F32] = {'f', 4, false}, [SD_F64] = {'f', 8, false}, [SD_I32] = {'i', 4, false},
    [SD_I64] = {'i', 8, false}, [SD_U8] = {'u', 1, false}, [SD_BOOL] = {'b', 1, false}};
  return map[dt];
}

const char *sd_ftype_str(sd_ftype ft, char *buf, size_t n) {
  if (ft.kind == 'h') snprintf(buf, n, "bf16");
  else snprintf(buf, n, "%c%c%d", ft.size == 1 ? '|' : ft.big ? '>' : '<',
                ft.kind >= 32 && ft.kind < 127 ? ft.kind : '?', ft.size);
  return buf;
}

static float half_to_float(uint16_t h) {
  int e = (h >> 10) & 31;
  double m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (float)((h & 0x8000) ? -v : v);
}

/* Decodes n elements of type ft at src into dst (dtype dt). */
static void decode(sd_dtype dt, char *dst, const uint8_t *src, int64_t n, sd_ftype ft) {
  size_t es = sd_dtype_size(dt);
  for (int64_t i = 0; i < n; i++, src += ft.size, dst += es) {
    uint8_t b[8];
    for (int k = 0; k < ft.size; k++) b[k] = ft.big ? src[ft.size - 1 - k] : src[k];
    union { uint8_t b[8]; float f; double d; uint16_t u16; uint32_t u32; int8_t i8;
            int16_t i16; int32_t i32; int64_t i64; } u;
    memcpy(u.b, b, ft.size);
    switch (ft.kind) {
    case 'f':
      sd_set_ptr(dt, dst, ft.size == 2 ? half_to_float(u.u16) : ft.size == 4 ? u.f : u.d);
      break;
    case 'h': {
      uint32_t w = (uint32_t)u.u16 << 16;
      float f;
      memcpy(&f, &w, 4);
      sd_set_ptr(dt, dst, f);
      break;
    }
    case 'i':
      sd_seti_ptr(dt, dst, ft.size == 1 ? u.i8 : ft.size == 2 ? u.i16 : ft.size == 4 ? u.i32 : u.i64);
      break;
    case 'u':
      sd_seti_ptr(dt, dst, ft.size == 1 ? b[0] : ft.size == 2 ? u.u16 : (int64_t)u.u32);
      break;
    default: /* 'b' */
      sd_seti_ptr(dt, dst, b[0] != 0);
    }
  }
}

sd_tensor *sd_io_read_array(FILE *f, const void *src, sd_ftype ft, int ndim,
                            const int64_t *shape, const char *name) {
  sd_dtype dt;
  if (!sd_ftype_dtype(ft, &dt, name)) return NULL;
  sd_tensor *t = sd_empty(dt, ndim, shape);
  if (!t) return NULL;
  int64_t n = sd_numel(t);
  bool native = ft.kind != 'h' && (size_t)ft.size == sd_dtype_size(dt) && (!ft.big || ft.size == 1);
  if (native) {
    if (!f) memcpy(sd_data(t), src, (size_t)n * ft.size);
    else if (sd_io_read(f, sd_data(t), (size_t)n * ft.size, name, "array data") != SD_OK)
      goto fail;
    if (dt == SD_BOOL) { /* any nonzero byte is true; sonde's bools are 0/1 */
      uint8_t *p = sd_data(t);
      for (int64_t i = 0; i < n; i++) p[i] = p[i] != 0;
    }
    return t;
  }
  char *dst = sd_data(t);
  size_t es = sd_dtype_size(dt);
  if (!f) {
    decode(dt, dst, src, n, ft);
    return t;
  }
  uint8_t chunk[1 << 16];
  int64_t per = (int64_t)(sizeof chunk / ft.size);
  for (int64_t i = 0; i < n; i += per) {
    int64_t k = n - i < per ? n - i : per;
    if (sd_io_read(f, chunk, (size_t)k * ft.size, name, "array data") != SD_OK) goto fail;
    decode(dt, dst + i * es, chunk, k, ft);
  }
  return t;
fail:
  sd_release(t);
  return NULL;
}

/* --- named tensors (npz, safetensors) --- */

void sd_named_free(sd_named *nt) {
  for (int i = 0; i < nt->n; i++) {
    free(nt->names[i]);
    sd_release(nt->tensors[i]);
  }
  free(nt->names);
  free(nt->tensors);
  free(nt->meta);
  memset(nt, 0, sizeof *nt);
}

/* Appends one entry; takes name and t (freed on failure). */
sd_status sd_named_add(sd_named *nt, char *name, sd_tensor *t, const char *file) {
  char **nn = realloc(nt->names, (size_t)(nt->n + 1) * sizeof *nn);
  if (nn) nt->names = nn;
  sd_tensor **tt = nn ? realloc(nt->tensors, (size_t)(nt->n + 1) * sizeof *tt) : NULL;
  if (tt) nt->tensors = tt;
  if (!nn || !tt) {
    free(name);
    sd_release(t);
    return sd_error(SD_EMEM, "%s: out of memory", file);
  }
  nt->names[nt->n] = name;
  nt->tensors[nt->n++] = t;
  return SD_OK;
}

/* --- atomic writing --- */

sd_status sd_wfile_open(sd_wfile *w, const char *path) {
  static unsigned counter;
  memset(w, 0, sizeof *w);
  if (sd_io_guard(path, true) != SD_OK) return SD_EIO;
  size_t n = strlen(path) + 48;
  w->path = strdup(path);
  w->tmp = malloc(n);
  if (!w->path || !w->tmp) {
    free(w->path); free(w->tmp);
    return sd_error(SD_EMEM, "%s: out of memory", path);
  }
  /* the same directory as path, so rename is atomic; O_EXCL: never reuse */
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100; tries++) {
    snprintf(w->tmp, n, "%s.tmp%ld.%u", path, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
    int err = errno;
    if (fd >= 0) { close(fd); unlink(w->tmp); }
    free(w->path); free(w->tmp);
    return sd_error(SD_EIO, "%s: cannot create (%s)", path, strerror(err));
  }
  return SD_OK;
}

void sd_wfile_write(sd_wfile *w, const void *p, size_t n) {
  if (!w->failed && n && fwrite(p, 1, n, w->f) != n) w->failed = true;
}

void sd_wfile_tensor(sd_wfile *w, const sd_tensor *t) {
  sd_tensor *c = sd_contiguous(t);
  if (!c) { w->failed = true; return; }
  sd_wfile_write(w, sd_data(c), (size_t)sd_numel(c) * sd_dtype_size(c->dtype));
  sd_release(c);
}

static void wfile_free(sd_wfile *w) {
  free(w->path); free(w->tmp);
  w->path = w->tmp = NULL;
  w->f = NULL;
}

void sd_wfile_abort(sd_wfile *w) {
  if (w->f) fclose(w->f);
  unlink(w->tmp);
  wfile_free(w);
}

/* Makes the rename itself durable; a failure here loses nothing written. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) { fsync(fd); close(fd); }
}

sd_status sd_wfile_commit(sd_wfile *w) {
  int err = 0;
  if (w->failed || fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) err = errno ? errno : EIO;
  if (fclose(w->f) != 0 && !err) err = errno;
  w->f = NULL;
  if (!err && rename(w->tmp, w->path) != 0) err = errno;
  if (err) {
    sd_error(SD_EIO, "%s: write failed (%s)", w->path, strerror(err));
    unlink(w->tmp);
    wfile_free(w);
    return SD_EIO;
  }
  sync_dir(w->path);
  wfile_free(w);
  return SD_OK;
}
