/* tfile.c: reading and writing sonde's native tensor file (layout in
   tfile.h). The header is built and parsed byte by byte, so the format does
   not depend on struct layout; tensor data is host memory, which must be
   little-endian. */
#include "tfile.h"
#include "io.h"
#include "guard.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tensor file stores little-endian host memory"
#endif

#define MAGIC "SONDE\0T1"
#define VERSION 1
#define FIXED 24                      /* magic, version, count, header_bytes */
#define MIN_ENTRY 20                  /* name_len, dtype, ndim, offset, nbytes */
#define MAX_HEADER ((uint64_t)64 << 20)
#define ALIGN 64

static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) & ~(uint64_t)(ALIGN - 1); }

/* The dtype codes of the file, fixed whatever sd_dtype's order becomes. */
static const sd_dtype code_dtype[] = {SD_F32, SD_F64, SD_I32, SD_I64, SD_U8, SD_BOOL};
#define NCODES (int)(sizeof code_dtype / sizeof code_dtype[0])

static int dtype_code(sd_dtype dt) {
  for (int i = 0; i < NCODES; i++)
    if (code_dtype[i] == dt) return i;
  return -1;
}

/* --- writing --- */

static uint8_t *put(uint8_t *p, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; i++) *p++ = (uint8_t)(v >> (8 * i));
  return p;
}

static const char *const *sort_names; /* for the comparison below */
static int by_name(const void *a, const void *b) {
  return strcmp(sort_names[*(const int *)a], sort_names[*(const int *)b]);
}

/* The header for entries in the order ord; *len gets its size. */
static uint8_t *build_header(int n, const int *ord, const char *const *names,
                             sd_tensor *const *ts, size_t *len) {
  uint64_t hb = FIXED;
  for (int k = 0; k < n; k++) hb += MIN_ENTRY + strlen(names[ord[k]]) + 8 * (uint64_t)ts[ord[k]]->ndim;
  uint8_t *h = malloc(hb), *p = h;
  if (!h) { sd_error(SD_EMEM, "save: out of memory for the header"); return NULL; }
  memcpy(p, MAGIC, 8);
  p = put(p + 8, VERSION, 4);
  p = put(p, (uint64_t)n, 4);
  p = put(p, hb, 8);
  uint64_t off = align_up(hb);
  for (int k = 0; k < n; k++) {
    const sd_tensor *t = ts[ord[k]];
    size_t nl = strlen(names[ord[k]]);
    uint64_t nbytes = (uint64_t)sd_numel(t) * sd_dtype_size(t->dtype);
    p = put(p, nl, 2);
    memcpy(p, names[ord[k]], nl);
    p = put(p + nl, (uint64_t)dtype_code(t->dtype), 1);
    p = put(p, (uint64_t)t->ndim, 1);
    for (int d = 0; d < t->ndim; d++) p = put(p, (uint64_t)t->shape[d], 8);
    p = put(p, off, 8);
    p = put(p, nbytes, 8);
    off = align_up(off + nbytes);
  }
  *len = (size_t)hb;
  return h;
}

/* Header, then each tensor's contiguous bytes at its aligned offset. */
static sd_status write_body(sd_wfile *w, int n, const int *ord, const char *const *names,
                            sd_tensor *const *ts) {
  static const uint8_t zeros[ALIGN];
  size_t hlen;
  uint8_t *h = build_header(n, ord, names, ts, &hlen);
  if (!h) return SD_EMEM;
  sd_wfile_write(w, h, hlen);
  free(h);
  uint64_t pos = hlen;
  for (int k = 0; k < n; k++) {
    sd_wfile_write(w, zeros, (size_t)(align_up(pos) - pos));
    pos = align_up(pos);
    sd_wfile_tensor(w, ts[ord[k]]);
    pos += (uint64_t)sd_numel(ts[ord[k]]) * sd_dtype_size(ts[ord[k]]->dtype);
  }
  sd_wfile_write(w, zeros, (size_t)(align_up(pos) - pos));
  return SD_OK;
}

sd_status sd_tfile_save(const char *path, int n, const char *const *names,
                        sd_tensor *const *ts) {
  if (n < 0 || (uint64_t)n > UINT32_MAX) return sd_error(SD_EARG, "save: %d entries", n);
  for (int i = 0; i < n; i++) {
    if (strlen(names[i]) > SD_TFILE_MAXNAME)
      return sd_error(SD_EARG, "save: %s: name of %zu bytes is longer than %d", path,
                      strlen(names[i]), SD_TFILE_MAXNAME);
    if (dtype_code(ts[i]->dtype) < 0)
      return sd_error(SD_EARG, "save: %s: dtype %s has no file code", path, sd_dtype_name(ts[i]->dtype));
  }
  int *ord = malloc(sizeof(int) * (size_t)(n ? n : 1));
  if (!ord) return sd_error(SD_EMEM, "save: out of memory");
  for (int i = 0; i < n; i++) ord[i] = i;
  sort_names = names;
  qsort(ord, (size_t)n, sizeof *ord, by_name);
  sd_status st = SD_OK;
  for (int k = 1; k < n; k++)
    if (strcmp(names[ord[k - 1]], names[ord[k]]) == 0) {
      st = sd_error(SD_EARG, "save: %s: two entries are named '%s'", path, names[ord[k]]);
      break;
    }
  sd_wfile w;
  if (st == SD_OK && (st = sd_wfile_open(&w, path)) == SD_OK) {
    st = write_body(&w, n, ord, names, ts);
    if (st == SD_OK) st = sd_wfile_commit(&w);
    else sd_wfile_abort(&w);
  }
  free(ord);
  return st;
}

/* --- reading --- */

typedef struct {
  const char *name;
  sd_dtype dtype;
  int ndim;
  int64_t shape[SD_MAXDIM];
  uint64_t offset, nbytes;
} entry;

struct sd_tfile {
  int fd;
  char *path;
  int n;
  entry *e;
  char *names;      /* the names, NUL-terminated, one block */
};

/* A bounds-checked cursor over the header bytes. */
typedef struct { const uint8_t *p; uint64_t left; } cursor;

static int get(cursor *c, int nbytes, uint64_t *v) {
  if (c->left < (uint64_t)nbytes) return 0;
  *v = 0;
  for (int i = 0; i < nbytes; i++) *v |= (uint64_t)c->p[i] << (8 * i);
  c->p += nbytes;
  c->left -= (uint64_t)nbytes;
  return 1;
}

static sd_status read_at(int fd, void *buf, uint64_t n, uint64_t off) {
  char *p = buf;
  while (n > 0) {
    ssize_t k = pread(fd, p, n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return SD_EIO;
    p += k; n -= (uint64_t)k; off += (uint64_t)k;
  }
  return SD_OK;
}

void sd_tfile_close(sd_tfile *f) {
  if (!f) return;
  if (f->fd >= 0) close(f->fd);
  free(f->path);
  free(f->e);
  free(f->names);
  free(f);
}

/* Checks entry i at the cursor against the file size; names go to *pool. */
static sd_status parse_entry(sd_tfile *f, cursor *c, int i, uint64_t data0, uint64_t size,
                             char **pool) {
  entry *e = &f->e[i];
  const char *P = f->path;
  uint64_t nl, code, nd, v;
  if (!get(c, 2, &nl)) goto short_header;
  if (nl > SD_TFILE_MAXNAME)
    return sd_error(SD_EIO, "load: %s: entry %d has a name of %llu bytes (at most %d)", P, i + 1,
                    (unsigned long long)nl, SD_TFILE_MAXNAME);
  if (c->left < nl) goto short_header;
  if (memchr(c->p, 0, nl))
    return sd_error(SD_EIO, "load: %s: entry %d has a NUL byte in its name", P, i + 1);
  memcpy(*pool, c->p, nl);
  (*pool)[nl] = 0;
  e->name = *pool;
  *pool += nl + 1;
  c->p += nl; c->left -= nl;
  if (i > 0 && strcmp(f->e[i - 1].name, e->name) >= 0)
    return sd_error(SD_EIO, "load: %s: entry '%s' is out of order or repeated", P, e->name);
  if (!get(c, 1, &code) || !get(c, 1, &nd)) goto short_header;
  if (code >= (uint64_t)NCODES)
    return sd_error(SD_EIO, "load: %s: entry '%s' has unknown dtype code %llu", P, e->name,
                    (unsigned long long)code);
  if (nd > SD_MAXDIM)
    return sd_error(SD_EIO, "load: %s: entry '%s' has %llu dims (at most %d)", P, e->name,
                    (unsigned long long)nd, SD_MAXDIM);
  e->dtype = code_dtype[code];
  e->ndim = (int)nd;
  /* the product of the non-zero sizes is bounded as sd_empty bounds it, so
     it cannot overflow; the bytes are then checked against the file */
  uint64_t es = sd_dtype_size(e->dtype), prod = 1, limit = (uint64_t)1 << 46;
  bool empty = false;
  for (int d = 0; d < e->ndim; d++) {
    if (!get(c, 8, &v)) goto short_header;
    if (v == 0) empty = true;
    else if (v > limit / prod)
      return sd_error(SD_EIO, "load: %s: entry '%s' has an impossibly large shape (dim %d is %llu)",
                      P, e->name, d + 1, (unsigned long long)v);
    else prod *= v;
    e->shape[d] = (int64_t)v;
  }
  uint64_t numel = empty ? 0 : prod;
  if (!get(c, 8, &e->offset) || !get(c, 8, &e->nbytes)) goto short_header;
  if (e->nbytes != numel * es)
    return sd_error(SD_EIO, "load: %s: entry '%s' declares %llu bytes, its shape needs %llu", P,
                    e->name, (unsigned long long)e->nbytes, (unsigned long long)(numel * es));
  if (e->offset % ALIGN || e->offset < data0 || e->offset > size || e->nbytes > size - e->offset)
    return sd_error(SD_EIO, "load: %s: entry '%s' has data at [%llu, +%llu), outside the data "
                    "of a %llu-byte file", P, e->name, (unsigned long long)e->offset,
                    (unsigned long long)e->nbytes, (unsigned long long)size);
  return SD_OK;
short_header:
  return sd_error(SD_EIO, "load: %s: header ends inside entry %d", P, i + 1);
}

sd_tfile *sd_tfile_open(const char *path) {
  sd_tfile *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(path))) {
    free(f);
    sd_error(SD_EMEM, "load: out of memory");
    return NULL;
  }
  uint8_t fixed[FIXED], *h = NULL;
  struct stat sb;
  if (sd_io_guard(path, false) != SD_OK) {
    f->fd = -1;
    goto fail;
  }
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) {
    sd_error(SD_EIO, "load: %s: cannot open (%s)", path, strerror(errno));
    goto fail;
  }
  if (fstat(f->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    sd_error(SD_EIO, "load: %s: not a regular file", path);
    goto fail;
  }
  uint64_t size = (uint64_t)sb.st_size, version, count, hb;
  if (size < FIXED || read_at(f->fd, fixed, FIXED, 0) != SD_OK) {
    sd_error(SD_EIO, "load: %s: truncated: %llu bytes, the header alone needs %d", path,
             (unsigned long long)size, FIXED);
    goto fail;
  }
  if (memcmp(fixed, MAGIC, 8) != 0) {
    sd_error(SD_EIO, "load: %s: not a sonde tensor file (bad magic)", path);
    goto fail;
  }
  if (size % ALIGN) { /* the writer pads to a multiple of 64 */
    sd_error(SD_EIO, "load: %s: truncated (%llu bytes is not a multiple of %d)", path,
             (unsigned long long)size, ALIGN);
    goto fail;
  }
  cursor c = {fixed + 8, FIXED - 8};
  get(&c, 4, &version);
  get(&c, 4, &count);
  get(&c, 8, &hb);
  if (version != VERSION) {
    sd_error(SD_EIO, "load: %s: format version %llu, this sonde reads %d", path,
             (unsigned long long)version, VERSION);
    goto fail;
  }
  if (hb < FIXED || hb > size || hb > MAX_HEADER || (hb - FIXED) / MIN_ENTRY < count) {
    sd_error(SD_EIO, "load: %s: header of %llu bytes for %llu entries does not fit a %llu-byte file",
             path, (unsigned long long)hb, (unsigned long long)count, (unsigned long long)size);
    goto fail;
  }
  f->n = (int)count;
  h = malloc(hb);
  f->e = calloc(count ? count : 1, sizeof *f->e);
  f->names = malloc(hb); /* names and their NULs take less room than their entries */
  if (!h || !f->e || !f->names) {
    sd_error(SD_EMEM, "load: %s: out of memory for the header", path);
    goto fail;
  }
  if (read_at(f->fd, h, hb, 0) != SD_OK) {
    sd_error(SD_EIO, "load: %s: cannot read the header", path);
    goto fail;
  }
  c = (cursor){h + FIXED, hb - FIXED};
  char *pool = f->names;
  for (int i = 0; i < f->n; i++)
    if (parse_entry(f, &c, i, align_up(hb), size, &pool) != SD_OK) goto fail;
  if (c.left != 0) {
    sd_error(SD_EIO, "load: %s: %llu stray bytes after the last entry of the header", path,
             (unsigned long long)c.left);
    goto fail;
  }
  free(h);
  return f;
fail:
  free(h);
  sd_tfile_close(f);
  return NULL;
}

int sd_tfile_count(const sd_tfile *f) { return f->n; }
const char *sd_tfile_name(const sd_tfile *f, int i) { return f->e[i].name; }

sd_tensor *sd_tfile_read(sd_tfile *f, int i) {
  const entry *e = &f->e[i];
  sd_tensor *t = sd_empty(e->dtype, e->ndim, e->shape);
  if (!t) return NULL;
  if (read_at(f->fd, sd_data(t), e->nbytes, e->offset) != SD_OK) {
    sd_release(t);
    sd_error(SD_EIO, "load: %s: cannot read the data of entry '%s' (file changed?)", f->path, e->name);
    return NULL;
  }
  return t;
}
