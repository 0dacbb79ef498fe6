/* npy.c: NumPy's .npy (one array) and .npz (a zip of .npy members).
   .npy: "\x93NUMPY", version 1.0 / 2.0 / 3.0, header length (u16 or u32),
   then a Python dict literal {'descr': '<f4', 'fortran_order': False,
   'shape': (2, 3), } padded to 64 bytes, then the data. Fortran-order
   arrays are converted to C order on reading; sonde writes C order, v1.0
   (v2.0 when the header needs it).
   .npz: members stored or deflated (inflated whole by libdeflate into a
   buffer of the size the central directory declares, checked against the
   compressed size and the CRC). Zip64 sizes and offsets are read; members
   and archives written are limited to 4 GiB. */
#include "io.h"
#include <ctype.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

/* --- the header dict: a strict little parser --- */

typedef struct { const char *p, *end; } lex;

static void skip_ws(lex *x) { while (x->p < x->end && (*x->p == ' ' || *x->p == '\t')) x->p++; }

static int expect(lex *x, char c) {
  skip_ws(x);
  if (x->p < x->end && *x->p == c) { x->p++; return 1; }
  return 0;
}

/* A quoted string ('...' or "...") into buf. */
static int read_str(lex *x, char *buf, size_t n) {
  skip_ws(x);
  if (x->p >= x->end || (*x->p != '\'' && *x->p != '"')) return 0;
  char q = *x->p++;
  size_t k = 0;
  while (x->p < x->end && *x->p != q) {
    if (k + 1 >= n) return 0;
    buf[k++] = *x->p++;
  }
  if (x->p >= x->end) return 0;
  x->p++;
  buf[k] = 0;
  return 1;
}

static int parse_descr(const char *s, sd_ftype *ft) {
  if (strlen(s) < 3 || !strchr("<>|=", s[0]) || !strchr("fiub", s[1])) return 0;
  char *e;
  long size = strtol(s + 2, &e, 10);
  if (*e || size < 1 || size > 8) return 0;
  *ft = (sd_ftype){s[1], (int)size, s[0] == '>'};
  return 1;
}

static sd_status npy_dict(const char *h, size_t n, const char *name, sd_ftype *ft, bool *fortran,
                          int *ndim, int64_t *shape) {
  lex x = {h, h + n};
  int seen = 0; /* bits: descr, fortran_order, shape */
  if (!expect(&x, '{')) goto bad;
  while (!expect(&x, '}')) {
    char key[32], val[32];
    if (!read_str(&x, key, sizeof key) || !expect(&x, ':')) goto bad;
    if (strcmp(key, "descr") == 0 && !(seen & 1)) {
      if (!read_str(&x, val, sizeof val)) goto bad;
      if (!parse_descr(val, ft))
        return sd_error(SD_EIO, "%s: unsupported npy dtype '%s' (f4 f8 f2 i1-i8 u1-u4 b1)", name, val);
      seen |= 1;
    } else if (strcmp(key, "fortran_order") == 0 && !(seen & 2)) {
      skip_ws(&x);
      if (x.end - x.p >= 4 && memcmp(x.p, "True", 4) == 0) { *fortran = true; x.p += 4; }
      else if (x.end - x.p >= 5 && memcmp(x.p, "False", 5) == 0) { *fortran = false; x.p += 5; }
      else goto bad;
      seen |= 2;
    } else if (strcmp(key, "shape") == 0 && !(seen & 4)) {
      if (!expect(&x, '(')) goto bad;
      *ndim = 0;
      while (!expect(&x, ')')) {
        skip_ws(&x);
        if (x.p >= x.end || !isdigit((unsigned char)*x.p)) goto bad;
        int64_t v = 0;
        while (x.p < x.end && isdigit((unsigned char)*x.p)) {
          if (v > (INT64_MAX - 9) / 10) goto bad;
          v = v * 10 + (*x.p++ - '0');
        }
        if (x.p < x.end && *x.p == 'L') x.p++; /* Python 2 longs */
        if (*ndim == SD_MAXDIM)
          return sd_error(SD_EIO, "%s: more than %d dims", name, SD_MAXDIM);
        shape[(*ndim)++] = v;
        if (!expect(&x, ',')) { if (!expect(&x, ')')) goto bad; break; }
      }
      seen |= 4;
    } else {
      goto bad;
    }
    if (!expect(&x, ',')) { if (!expect(&x, '}')) goto bad; break; }
  }
  if (seen != 7) goto bad;
  while (x.p < x.end && (*x.p == ' ' || *x.p == '\n' || *x.p == '\0')) x.p++;
  if (x.p != x.end) goto bad;
  return SD_OK;
bad:
  return sd_error(SD_EIO, "%s: malformed npy header", name);
}

/* --- .npy --- */

sd_tensor *sd_npy_read(FILE *f, int64_t size, const char *name) {
  uint8_t pre[12];
  if (size < 10 || sd_io_read(f, pre, 10, name, "npy preamble") != SD_OK) {
    sd_error(SD_EIO, "%s: truncated (npy preamble)", name);
    return NULL;
  }
  if (memcmp(pre, "\x93NUMPY", 6) != 0) {
    sd_error(SD_EIO, "%s: not an npy file (bad magic)", name);
    return NULL;
  }
  if (pre[6] < 1 || pre[6] > 3) {
    sd_error(SD_EIO, "%s: unsupported npy version %d.%d", name, pre[6], pre[7]);
    return NULL;
  }
  int64_t pos = 10;
  size_t hlen = pre[8] | (size_t)pre[9] << 8;
  if (pre[6] > 1) {
    if (size < 12 || sd_io_read(f, pre + 10, 2, name, "npy preamble") != SD_OK) return NULL;
    hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    pos = 12;
  }
  if ((int64_t)hlen > size - pos || hlen > SD_IO_MAX_HEADER) {
    sd_error(SD_EIO, "%s: truncated (npy header of %zu bytes)", name, hlen);
    return NULL;
  }
  char *h = malloc(hlen ? hlen : 1);
  if (!h) { sd_error(SD_EMEM, "%s: out of memory", name); return NULL; }
  sd_ftype ft = {0};
  bool fortran = false;
  int ndim = 0;
  int64_t shape[SD_MAXDIM];
  sd_status st = sd_io_read(f, h, hlen, name, "npy header");
  if (st == SD_OK) st = npy_dict(h, hlen, name, &ft, &fortran, &ndim, shape);
  free(h);
  if (st != SD_OK) return NULL;
  pos += (int64_t)hlen;
  int64_t n = sd_io_numel(ndim, shape, (size - pos) / ft.size + 1);
  if (n < 0 || n * ft.size > size - pos) {
    sd_error(SD_EIO, "%s: truncated (shape declares more data than the file holds)", name);
    return NULL;
  }
  if (n * ft.size < size - pos) {
    sd_error(SD_EIO, "%s: %lld bytes of trailing data", name, (long long)(size - pos - n * ft.size));
    return NULL;
  }
  if (!fortran || ndim < 2) return sd_io_read_array(f, NULL, ft, ndim, shape, name);
  /* Fortran order: the data is the C-order array of the reversed shape */
  int64_t rshape[SD_MAXDIM];
  int perm[SD_MAXDIM];
  for (int i = 0; i < ndim; i++) { rshape[i] = shape[ndim - 1 - i]; perm[i] = ndim - 1 - i; }
  sd_tensor *r = sd_io_read_array(f, NULL, ft, ndim, rshape, name);
  if (!r) return NULL;
  sd_tensor *v = sd_permute(r, perm);
  sd_release(r);
  if (!v) return NULL;
  sd_tensor *c = sd_contiguous(v);
  sd_release(v);
  return c;
}

sd_tensor *sd_npy_load(const char *path) {
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (!f) return NULL;
  sd_tensor *t = sd_npy_read(f, size, path);
  fclose(f);
  return t;
}

/* The npy header of t (preamble included) into buf; returns its length. */
static size_t npy_header(const sd_tensor *t, char *buf, size_t cap) {
  char dict[64 + 24 * SD_MAXDIM], shape[24 * SD_MAXDIM + 4], d[16];
  size_t k = 0;
  shape[k++] = '(';
  for (int i = 0; i < t->ndim; i++)
    k += (size_t)snprintf(shape + k, sizeof shape - k, "%lld,%s", (long long)t->shape[i],
                          i + 1 < t->ndim ? " " : "");
  if (t->ndim > 1) k--; /* (2, 3) but (5,) */
  shape[k++] = ')';
  shape[k] = 0;
  int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    sd_ftype_str(sd_dtype_ftype(t->dtype), d, sizeof d), shape);
  size_t total = 10 + (size_t)dl + 1;
  total = (total + 63) / 64 * 64;
  if (total > cap) return 0;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  size_t hl = total - 10;
  buf[8] = (char)(hl & 255);
  buf[9] = (char)(hl >> 8);
  memcpy(buf + 10, dict, (size_t)dl);
  memset(buf + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
  buf[total - 1] = '\n';
  return total;
}

sd_status sd_npy_save(const char *path, const sd_tensor *t) {
  char hdr[512];
  size_t hl = npy_header(t, hdr, sizeof hdr);
  sd_wfile w;
  if (sd_wfile_open(&w, path) != SD_OK) return SD_EIO;
  sd_wfile_write(&w, hdr, hl);
  sd_wfile_tensor(&w, t);
  return sd_wfile_commit(&w);
}

/* --- .npz --- */

static uint32_t le16(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* One member, at the local header offset `off`: its npy, as a tensor. */
static sd_tensor *npz_member(FILE *f, int64_t size, const char *name, const char *member,
                             int method, uint64_t off, uint64_t csize, uint64_t usize, uint32_t crc) {
  char where[600];
  snprintf(where, sizeof where, "%s[%s]", name, member);
  uint8_t lh[30];
  if (off > (uint64_t)size - 30 || size < 30 || fseeko(f, (off_t)off, SEEK_SET) != 0 ||
      sd_io_read(f, lh, 30, where, "local header") != SD_OK || le32(lh) != 0x04034b50) {
    sd_error(SD_EIO, "%s: bad zip local header", where);
    return NULL;
  }
  uint64_t data = off + 30 + le16(lh + 26) + le16(lh + 28);
  if (data > (uint64_t)size || csize > (uint64_t)size - data || fseeko(f, (off_t)data, SEEK_SET) != 0) {
    sd_error(SD_EIO, "%s: truncated (zip member)", where);
    return NULL;
  }
  if (method == 0) {
    if (csize != usize) {
      sd_error(SD_EIO, "%s: stored member sizes disagree", where);
      return NULL;
    }
    return sd_npy_read(f, (int64_t)csize, where);
  }
  if (method != 8) {
    sd_error(SD_EIO, "%s: unsupported zip compression method %d", where, method);
    return NULL;
  }
  if (usize / SD_IO_MAX_RATIO > csize + 1 || usize == 0) {
    sd_error(SD_EIO, "%s: implausible size %llu from %llu compressed bytes", where,
             (unsigned long long)usize, (unsigned long long)csize);
    return NULL;
  }
  uint8_t *in = sd_io_slurp(f, (size_t)csize, where);
  uint8_t *out = in ? malloc((size_t)usize) : NULL;
  struct libdeflate_decompressor *d = out ? libdeflate_alloc_decompressor() : NULL;
  sd_tensor *t = NULL;
  if (in && (!out || !d)) sd_error(SD_EMEM, "%s: out of memory", where);
  if (d) {
    if (libdeflate_deflate_decompress(d, in, (size_t)csize, out, (size_t)usize, NULL) != LIBDEFLATE_SUCCESS)
      sd_error(SD_EIO, "%s: corrupt deflate data", where);
    else if (libdeflate_crc32(0, out, (size_t)usize) != crc)
      sd_error(SD_EIO, "%s: CRC mismatch", where);
    else {
      FILE *m = fmemopen(out, (size_t)usize, "rb");
      if (!m) sd_error(SD_EMEM, "%s: out of memory", where);
      else { t = sd_npy_read(m, (int64_t)usize, where); fclose(m); }
    }
    libdeflate_free_decompressor(d);
  }
  free(in);
  free(out);
  return t;
}

/* The end of central directory: entries, directory offset and size. */
static sd_status npz_eocd(FILE *f, int64_t size, const char *name, uint64_t *count,
                          uint64_t *cdoff, uint64_t *cdsize) {
  size_t tail = size < 22 + 65535 + 20 ? (size_t)size : 22 + 65535 + 20;
  uint8_t *b = malloc(tail ? tail : 1);
  if (!b) return sd_error(SD_EMEM, "%s: out of memory", name);
  sd_status st = SD_OK;
  if (fseeko(f, (off_t)(size - (int64_t)tail), SEEK_SET) != 0 ||
      sd_io_read(f, b, tail, name, "zip directory") != SD_OK) {
    st = SD_EIO;
    goto done;
  }
  int64_t e = -1;
  for (int64_t i = (int64_t)tail - 22; i >= 0; i--)
    if (le32(b + i) == 0x06054b50 && (size_t)i + 22 + le16(b + i + 20) == tail) { e = i; break; }
  if (e < 0) {
    st = sd_error(SD_EIO, "%s: not a zip/npz file (no end of central directory)", name);
    goto done;
  }
  *count = le16(b + e + 10);
  *cdsize = le32(b + e + 12);
  *cdoff = le32(b + e + 16);
  if (*count == 0xFFFF || *cdsize == 0xFFFFFFFF || *cdoff == 0xFFFFFFFF) {
    /* zip64: the locator sits just before, pointing at the zip64 record */
    uint8_t r[56];
    if (e < 20 || le32(b + e - 20) != 0x07064b50) {
      st = sd_error(SD_EIO, "%s: bad zip64 locator", name);
      goto done;
    }
    uint64_t at = le64(b + e - 20 + 8);
    if (at > (uint64_t)size - 56 || fseeko(f, (off_t)at, SEEK_SET) != 0 ||
        sd_io_read(f, r, 56, name, "zip64 directory") != SD_OK || le32(r) != 0x06064b50) {
      st = sd_error(SD_EIO, "%s: bad zip64 end of central directory", name);
      goto done;
    }
    *count = le64(r + 32);
    *cdsize = le64(r + 40);
    *cdoff = le64(r + 48);
  }
  if (*cdoff > (uint64_t)size || *cdsize > (uint64_t)size - *cdoff || *count > *cdsize / 46)
    st = sd_error(SD_EIO, "%s: corrupt zip central directory", name);
done:
  free(b);
  return st;
}

sd_status sd_npz_read(FILE *f, int64_t size, const char *name, sd_named *out) {
  memset(out, 0, sizeof *out);
  uint64_t count = 0, cdoff = 0, cdsize = 0;
  if (npz_eocd(f, size, name, &count, &cdoff, &cdsize) != SD_OK) return SD_EIO;
  if (fseeko(f, (off_t)cdoff, SEEK_SET) != 0) return sd_error(SD_EIO, "%s: cannot seek", name);
  uint8_t *cd = sd_io_slurp(f, (size_t)cdsize, name);
  if (!cd) return SD_EIO;
  sd_status st = SD_OK;
  size_t p = 0;
  for (uint64_t i = 0; i < count && st == SD_OK; i++) {
    if (cdsize - p < 46 || le32(cd + p) != 0x02014b50) {
      st = sd_error(SD_EIO, "%s: corrupt zip central directory entry %llu", name, (unsigned long long)i + 1);
      break;
    }
    const uint8_t *e = cd + p;
    uint32_t flags = le16(e + 8), method = le16(e + 10), crc = le32(e + 16);
    uint64_t csize = le32(e + 20), usize = le32(e + 24), off = le32(e + 42);
    size_t nl = le16(e + 28), xl = le16(e + 30), cl = le16(e + 32);
    if (cdsize - p - 46 < nl + xl + cl) {
      st = sd_error(SD_EIO, "%s: corrupt zip central directory entry %llu", name, (unsigned long long)i + 1);
      break;
    }
    /* zip64 extra field: the 64-bit values of those saturated, in order */
    for (size_t x = 46 + nl; x + 4 <= 46 + nl + xl;) {
      size_t id = le16(e + x), len = le16(e + x + 2), q = x + 4;
      if (x + 4 + len > 46 + nl + xl) break;
      if (id == 1) {
        if (usize == 0xFFFFFFFF && q + 8 <= x + 4 + len) { usize = le64(e + q); q += 8; }
        if (csize == 0xFFFFFFFF && q + 8 <= x + 4 + len) { csize = le64(e + q); q += 8; }
        if (off == 0xFFFFFFFF && q + 8 <= x + 4 + len) { off = le64(e + q); q += 8; }
      }
      x += 4 + len;
    }
    char *member = malloc(nl + 1);
    if (!member) { st = sd_error(SD_EMEM, "%s: out of memory", name); break; }
    memcpy(member, e + 46, nl);
    member[nl] = 0;
    p += 46 + nl + xl + cl;
    if (strlen(member) != nl || nl == 0) {
      free(member);
      st = sd_error(SD_EIO, "%s: bad member name in zip directory", name);
      break;
    }
    if (flags & 1) {
      st = sd_error(SD_EIO, "%s[%s]: encrypted zip members are not supported", name, member);
      free(member);
      break;
    }
    sd_tensor *t = npz_member(f, size, name, member, (int)method, off, csize, usize, crc);
    if (!t) { free(member); st = SD_EIO; break; }
    if (nl > 4 && strcmp(member + nl - 4, ".npy") == 0) member[nl - 4] = 0;
    for (int k = 0; k < out->n && st == SD_OK; k++)
      if (strcmp(out->names[k], member) == 0)
        st = sd_error(SD_EIO, "%s: duplicate member '%s'", name, member);
    if (st != SD_OK) { free(member); sd_release(t); break; }
    st = sd_named_add(out, member, t, name);
  }
  free(cd);
  if (st != SD_OK) sd_named_free(out);
  return st;
}

sd_status sd_npz_load(const char *path, sd_named *out) {
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (!f) { memset(out, 0, sizeof *out); return SD_EIO; }
  sd_status st = sd_npz_read(f, size, path, out);
  fclose(f);
  return st;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xFFFF); put16(p + 2, v >> 16); }

/* A 30-byte local header (sig 0x04034b50) or 46-byte directory entry. */
static size_t zip_entry(uint8_t *h, bool central, int method, uint32_t crc, uint64_t csize,
                        uint64_t usize, size_t nl, uint64_t off) {
  memset(h, 0, 46);
  uint8_t *q = h;
  put32(q, central ? 0x02014b50 : 0x04034b50);
  q += 4;
  if (central) { put16(q, 20); q += 2; }      /* version made by */
  put16(q, 20);                               /* version needed */
  put16(q + 4, (uint32_t)method);
  put16(q + 8, 0x21);                         /* 1980-01-01: reproducible */
  put32(q + 10, crc);
  put32(q + 14, (uint32_t)csize);
  put32(q + 18, (uint32_t)usize);
  put16(q + 22, (uint32_t)nl);
  if (central) { put32(h + 38, 0644u << 16); put32(h + 42, (uint32_t)off); return 46; }
  return 30;
}

sd_status sd_npz_save(const char *path, const sd_named *in, bool deflate) {
  typedef struct { uint32_t crc; uint64_t csize, usize, off; int method; } ent;
  ent *ents = calloc((size_t)in->n + 1, sizeof *ents);
  struct libdeflate_compressor *c = deflate ? libdeflate_alloc_compressor(6) : NULL;
  if (!ents || (deflate && !c)) {
    free(ents);
    if (c) libdeflate_free_compressor(c);
    return sd_error(SD_EMEM, "%s: out of memory", path);
  }
  sd_wfile w;
  if (sd_wfile_open(&w, path) != SD_OK) {
    free(ents);
    if (c) libdeflate_free_compressor(c);
    return SD_EIO;
  }
  sd_status st = SD_OK;
  uint64_t off = 0;
  for (int i = 0; i < in->n && st == SD_OK; i++) {
    sd_tensor *t = sd_contiguous(in->tensors[i]);
    if (!t) { st = SD_EMEM; break; }
    char hdr[512];
    size_t hl = npy_header(t, hdr, sizeof hdr);
    size_t dl = (size_t)sd_numel(t) * sd_dtype_size(t->dtype), ul = hl + dl;
    uint8_t *raw = malloc(ul ? ul : 1), *z = NULL;
    size_t zl = 0;
    if (raw) {
      memcpy(raw, hdr, hl);
      memcpy(raw + hl, sd_data(t), dl);
    }
    sd_release(t);
    if (raw && deflate) {
      size_t bound = libdeflate_deflate_compress_bound(c, ul);
      z = malloc(bound);
      if (z) zl = libdeflate_deflate_compress(c, raw, ul, z, bound);
    }
    if (!raw || (deflate && (!z || !zl))) {
      free(raw); free(z);
      st = sd_error(SD_EMEM, "%s: out of memory", path);
      break;
    }
    size_t nl = strlen(in->names[i]) + 4;
    ent *e = &ents[i];
    *e = (ent){libdeflate_crc32(0, raw, ul), deflate ? zl : ul, ul, off, deflate ? 8 : 0};
    if (ul >= 0xFFFFFFFF || off + ul + nl + 30 >= 0xFFFFFFFF || nl > 0xFFFF) {
      free(raw); free(z);
      st = sd_error(SD_EARG, "%s: npz archives over 4 GiB are not supported (use save_safetensors)", path);
      break;
    }
    uint8_t lh[46];
    zip_entry(lh, false, e->method, e->crc, e->csize, e->usize, nl, 0);
    sd_wfile_write(&w, lh, 30);
    sd_wfile_write(&w, in->names[i], nl - 4);
    sd_wfile_write(&w, ".npy", 4);
    sd_wfile_write(&w, deflate ? z : raw, (size_t)e->csize);
    off += 30 + nl + e->csize;
    free(raw); free(z);
  }
  if (c) libdeflate_free_compressor(c);
  if (st != SD_OK) {
    free(ents);
    sd_wfile_abort(&w);
    return st;
  }
  uint64_t cdoff = off;
  for (int i = 0; i < in->n; i++) {
    size_t nl = strlen(in->names[i]) + 4;
    uint8_t ch[46];
    zip_entry(ch, true, ents[i].method, ents[i].crc, ents[i].csize, ents[i].usize, nl, ents[i].off);
    sd_wfile_write(&w, ch, 46);
    sd_wfile_write(&w, in->names[i], nl - 4);
    sd_wfile_write(&w, ".npy", 4);
    off += 46 + nl;
  }
  free(ents);
  uint8_t eo[22] = {0};
  put32(eo, 0x06054b50);
  put16(eo + 8, (uint32_t)in->n);
  put16(eo + 10, (uint32_t)in->n);
  put32(eo + 12, (uint32_t)(off - cdoff));
  put32(eo + 16, (uint32_t)cdoff);
  if (in->n >= 0xFFFF || off >= 0xFFFFFFFF) {
    sd_wfile_abort(&w);
    return sd_error(SD_EARG, "%s: npz archives over 4 GiB or 65535 members are not supported", path);
  }
  sd_wfile_write(&w, eo, 22);
  return sd_wfile_commit(&w);
}
