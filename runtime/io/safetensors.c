/* safetensors.c: Hugging Face's safetensors: a u64 little-endian header
   length N, N bytes of JSON, then the data. The JSON is one object:
     {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
      "__metadata__": {"key": "value"}, ...}
   with offsets relative to the data. The header is read by the small
   strict parser below, which accepts exactly that shape of JSON (depth 2,
   string metadata) and nothing else. Dtypes: F64 F32 F16 BF16 I64 I32 I16
   I8 U8 U16 U32 BOOL (F16 and BF16 read as f32). */
#include "io.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *start, *p, *end, *name;
  sd_status st;
} js;

static sd_status js_fail(js *j, const char *what) {
  if (j->st == SD_OK)
    j->st = sd_error(SD_EIO, "%s: malformed safetensors header (%s at byte %ld)", j->name, what,
                     (long)(j->p - j->start));
  return j->st;
}

static void js_ws(js *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int js_lit(js *j, char c) {
  js_ws(j);
  if (j->p < j->end && *j->p == c) { j->p++; return 1; }
  return 0;
}

static void put_utf8(char *o, size_t *k, uint32_t c) {
  if (c < 0x80) o[(*k)++] = (char)c;
  else if (c < 0x800) { o[(*k)++] = (char)(0xC0 | c >> 6); o[(*k)++] = (char)(0x80 | (c & 63)); }
  else if (c < 0x10000) {
    o[(*k)++] = (char)(0xE0 | c >> 12); o[(*k)++] = (char)(0x80 | (c >> 6 & 63));
    o[(*k)++] = (char)(0x80 | (c & 63));
  } else {
    o[(*k)++] = (char)(0xF0 | c >> 18); o[(*k)++] = (char)(0x80 | (c >> 12 & 63));
    o[(*k)++] = (char)(0x80 | (c >> 6 & 63)); o[(*k)++] = (char)(0x80 | (c & 63));
  }
}

static int hex4(const char *p, uint32_t *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return 0;
    *v = *v << 4 | (uint32_t)d;
  }
  return 1;
}

/* A JSON string, unescaped into a malloc'd buffer (no NULs allowed). */
static char *js_str(js *j) {
  if (!js_lit(j, '"')) { js_fail(j, "string expected"); return NULL; }
  const char *s = j->p;
  while (j->p < j->end && *j->p != '"') j->p += *j->p == '\\' && j->p + 1 < j->end ? 2 : 1;
  if (j->p >= j->end) { js_fail(j, "unterminated string"); return NULL; }
  char *o = malloc((size_t)(j->p - s) + 1);
  if (!o) { j->st = sd_error(SD_EMEM, "%s: out of memory", j->name); return NULL; }
  size_t k = 0;
  for (const char *q = s; q < j->p; q++) {
    if ((unsigned char)*q < 0x20) goto bad;
    if (*q != '\\') { o[k++] = *q; continue; }
    q++;
    const char *esc = strchr("\"\\/bfnrt", *q), *val = "\"\\/\b\f\n\r\t";
    if (*q && esc) { o[k++] = val[esc - "\"\\/bfnrt"]; continue; }
    uint32_t c, lo;
    if (*q != 'u' || j->p - q < 5 || !hex4(q + 1, &c)) goto bad;
    q += 4;
    if (c >= 0xD800 && c < 0xDC00) { /* a surrogate pair is one code point */
      if (j->p - q < 7 || q[1] != '\\' || q[2] != 'u' || !hex4(q + 3, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        goto bad;
      c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
      q += 6;
    }
    if (c == 0 || (c >= 0xDC00 && c < 0xE000)) goto bad;
    put_utf8(o, &k, c);
  }
  j->p++;
  o[k] = 0;
  return o;
bad:
  free(o);
  js_fail(j, "bad string");
  return NULL;
}

static int js_uint(js *j, uint64_t *v) {
  js_ws(j);
  if (j->p >= j->end || *j->p < '0' || *j->p > '9') return js_fail(j, "integer expected"), 0;
  *v = 0;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    if (*v > (UINT64_MAX - 9) / 10) return js_fail(j, "integer too large"), 0;
    *v = *v * 10 + (uint64_t)(*j->p++ - '0');
  }
  return 1;
}

/* [n, n, ...] of at most max entries. Returns the count, -1 on error. */
static int js_uints(js *j, uint64_t *v, int max) {
  if (!js_lit(j, '[')) return js_fail(j, "array expected"), -1;
  int n = 0;
  if (js_lit(j, ']')) return 0;
  do {
    if (n == max) return js_fail(j, "array too long"), -1;
    if (!js_uint(j, &v[n++])) return -1;
  } while (js_lit(j, ','));
  if (!js_lit(j, ']')) return js_fail(j, "] expected"), -1;
  return n;
}

static const struct { const char *name; sd_ftype ft; } st_types[] = {
  {"F64", {'f', 8, false}}, {"F32", {'f', 4, false}}, {"F16", {'f', 2, false}},
  {"BF16", {'h', 2, false}}, {"I64", {'i', 8, false}}, {"I32", {'i', 4, false}},
  {"I16", {'i', 2, false}}, {"I8", {'i', 1, false}}, {"U8", {'u', 1, false}},
  {"U16", {'u', 2, false}}, {"U32", {'u', 4, false}}, {"BOOL", {'b', 1, false}},
};

typedef struct { char *name; sd_ftype ft; int ndim; int64_t shape[SD_MAXDIM]; uint64_t b, e; } entry;

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]} */
static int js_entry(js *j, entry *en) {
  int seen = 0;
  if (!js_lit(j, '{')) return js_fail(j, "{ expected"), 0;
  do {
    char *key = js_str(j);
    if (!key) return 0;
    int bit = strcmp(key, "dtype") == 0 ? 1 : strcmp(key, "shape") == 0 ? 2
            : strcmp(key, "data_offsets") == 0 ? 4 : 0;
    free(key);
    if (!bit || (seen & bit)) return js_fail(j, "unknown or repeated key"), 0;
    seen |= bit;
    if (!js_lit(j, ':')) return js_fail(j, ": expected"), 0;
    if (bit == 1) {
      char *dt = js_str(j);
      if (!dt) return 0;
      int k = -1;
      for (int i = 0; i < (int)(sizeof st_types / sizeof st_types[0]); i++)
        if (strcmp(dt, st_types[i].name) == 0) k = i;
      if (k < 0) {
        j->st = sd_error(SD_EIO, "%s: tensor '%s': unsupported dtype %s", j->name, en->name, dt);
        free(dt);
        return 0;
      }
      free(dt);
      en->ft = st_types[k].ft;
    } else {
      uint64_t v[SD_MAXDIM];
      int n = js_uints(j, v, bit == 2 ? SD_MAXDIM : 2);
      if (n < 0 || (bit == 4 && n != 2)) return js_fail(j, "bad array"), 0;
      if (bit == 2) {
        en->ndim = n;
        for (int i = 0; i < n; i++) {
          if (v[i] > INT64_MAX) return js_fail(j, "size too large"), 0;
          en->shape[i] = (int64_t)v[i];
        }
      } else {
        en->b = v[0];
        en->e = v[1];
      }
    }
  } while (js_lit(j, ','));
  if (!js_lit(j, '}') || seen != 7) return js_fail(j, "incomplete tensor entry"), 0;
  return 1;
}

/* {"k": "v", ...} appended to out->meta as k\0v\0 */
static int js_meta(js *j, sd_named *out) {
  if (!js_lit(j, '{')) return js_fail(j, "{ expected"), 0;
  if (js_lit(j, '}')) return 1;
  do {
    char *kv[2] = {js_str(j), NULL};
    if (kv[0] && js_lit(j, ':')) kv[1] = js_str(j);
    else if (kv[0]) js_fail(j, ": expected");
    if (!kv[1]) { free(kv[0]); return 0; }
    size_t a = strlen(kv[0]) + 1, b = strlen(kv[1]) + 1;
    char *m = realloc(out->meta, out->meta_len + a + b);
    if (!m) { free(kv[0]); free(kv[1]); j->st = sd_error(SD_EMEM, "%s: out of memory", j->name); return 0; }
    memcpy(m + out->meta_len, kv[0], a);
    memcpy(m + out->meta_len + a, kv[1], b);
    out->meta = m;
    out->meta_len += a + b;
    free(kv[0]); free(kv[1]);
  } while (js_lit(j, ','));
  if (!js_lit(j, '}')) return js_fail(j, "} expected"), 0;
  return 1;
}

sd_status sd_safetensors_read(FILE *f, int64_t size, const char *name, sd_named *out) {
  memset(out, 0, sizeof *out);
  uint8_t lb[8];
  if (size < 8 || sd_io_read(f, lb, 8, name, "header length") != SD_OK)
    return sd_error(SD_EIO, "%s: truncated (safetensors header length)", name);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = hl << 8 | lb[i];
  if (hl > (uint64_t)size - 8 || hl > SD_IO_MAX_HEADER)
    return sd_error(SD_EIO, "%s: not a safetensors file (header of %llu bytes in a %lld-byte file)",
                    name, (unsigned long long)hl, (long long)size);
  char *h = (char *)sd_io_slurp(f, (size_t)hl, name);
  if (!h) return SD_EIO;
  uint64_t dsize = (uint64_t)size - 8 - hl;
  js j = {h, h, h + hl, name, SD_OK};
  entry *ents = NULL;
  int n = 0, cap = 0;
  if (!js_lit(&j, '{')) js_fail(&j, "{ expected");
  else if (!js_lit(&j, '}')) { do {
    char *key = js_str(&j);
    if (!key) break;
    if (!js_lit(&j, ':')) { free(key); js_fail(&j, ": expected"); break; }
    if (strcmp(key, "__metadata__") == 0) {
      free(key);
      if (out->meta) { js_fail(&j, "repeated __metadata__"); break; }
      if (!js_meta(&j, out)) break;
      if (!out->meta && !(out->meta = calloc(1, 1))) { j.st = sd_error(SD_EMEM, "out of memory"); break; }
      continue;
    }
    for (int i = 0; i < n; i++)
      if (strcmp(ents[i].name, key) == 0) { js_fail(&j, "repeated tensor name"); break; }
    if (j.st != SD_OK) { free(key); break; }
    if (n == cap) {
      entry *e2 = realloc(ents, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *e2);
      if (!e2) { free(key); j.st = sd_error(SD_EMEM, "%s: out of memory", name); break; }
      ents = e2;
    }
    memset(&ents[n], 0, sizeof ents[n]);
    ents[n].name = key;
    n++;
    if (!js_entry(&j, &ents[n - 1])) break;
  } while (js_lit(&j, ','));
    if (j.st == SD_OK && !js_lit(&j, '}')) js_fail(&j, "} expected");
  }
  js_ws(&j);
  if (j.st == SD_OK && j.p != j.end) js_fail(&j, "trailing bytes");
  free(h);
  /* sizes and offsets, all checked before any tensor is allocated */
  for (int i = 0; i < n && j.st == SD_OK; i++) {
    entry *e = &ents[i];
    int64_t numel = sd_io_numel(e->ndim, e->shape, (int64_t)(dsize / (uint64_t)e->ft.size) + 1);
    if (e->b > e->e || e->e > dsize || numel < 0 || (uint64_t)numel * (uint64_t)e->ft.size != e->e - e->b)
      j.st = sd_error(SD_EIO, "%s: tensor '%s': data_offsets [%llu, %llu] do not fit its shape or the file",
                      name, e->name, (unsigned long long)e->b, (unsigned long long)e->e);
  }
  for (int i = 0; i < n && j.st == SD_OK; i++) {
    entry *e = &ents[i];
    sd_tensor *t = NULL;
    if (fseeko(f, (off_t)(8 + hl + e->b), SEEK_SET) != 0) j.st = sd_error(SD_EIO, "%s: cannot seek", name);
    else if (!(t = sd_io_read_array(f, NULL, e->ft, e->ndim, e->shape, name))) j.st = SD_EIO;
    else {
      j.st = sd_named_add(out, e->name, t, name);
      e->name = NULL; /* owned by out now */
    }
  }
  for (int i = 0; i < n; i++) free(ents[i].name);
  free(ents);
  if (j.st != SD_OK) sd_named_free(out);
  return j.st;
}

sd_status sd_safetensors_load(const char *path, sd_named *out) {
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (!f) { memset(out, 0, sizeof *out); return SD_EIO; }
  sd_status st = sd_safetensors_read(f, size, path, out);
  fclose(f);
  return st;
}

/* A growing string for the header. */
typedef struct { char *s; size_t n, cap; bool oom; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *p = realloc(b->s, cap);
    if (!p) { b->oom = true; return; }
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (; *s; s++) {
    char e[8];
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = (char)c; sb_put(b, e, 2); }
    else if (c < 0x20) { snprintf(e, sizeof e, "\\u%04x", c); sb_put(b, e, 6); }
    else sb_put(b, s, 1);
  }
  sb_put(b, "\"", 1);
}

sd_status sd_safetensors_save(const char *path, const sd_named *in) {
  static const char *names[SD_NDTYPE] = {
    [SD_F32] = "F32", [SD_F64] = "F64", [SD_I32] = "I32", [SD_I64] = "I64", [SD_U8] = "U8", [SD_BOOL] = "BOOL"};
  sbuf b = {0};
  sb_put(&b, "{", 1);
  if (in->meta) {
    sb_put(&b, "\"__metadata__\":{", 16);
    for (size_t p = 0; p < in->meta_len;) {
      const char *k = in->meta + p, *v = k + strlen(k) + 1;
      if (p) sb_put(&b, ",", 1);
      sb_str(&b, k);
      sb_put(&b, ":", 1);
      sb_str(&b, v);
      p = (size_t)(v + strlen(v) + 1 - in->meta);
    }
    sb_put(&b, "}", 1);
  }
  uint64_t off = 0;
  for (int i = 0; i < in->n; i++) {
    const sd_tensor *t = in->tensors[i];
    char num[64];
    if (i || in->meta) sb_put(&b, ",", 1);
    sb_str(&b, in->names[i]);
    sb_put(&b, ":{\"dtype\":\"", 11);
    sb_put(&b, names[t->dtype], strlen(names[t->dtype]));
    sb_put(&b, "\",\"shape\":[", 11);
    for (int d = 0; d < t->ndim; d++) {
      int k = snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
      sb_put(&b, num, (size_t)k);
    }
    uint64_t nb = (uint64_t)sd_numel(t) * sd_dtype_size(t->dtype);
    int k = snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                     (unsigned long long)(off + nb));
    sb_put(&b, num, (size_t)k);
    off += nb;
  }
  sb_put(&b, "}", 1);
  while (!b.oom && b.n % 8) sb_put(&b, " ", 1); /* data 8-byte aligned, as the reference writer does */
  if (b.oom) {
    free(b.s);
    return sd_error(SD_EMEM, "%s: out of memory", path);
  }
  sd_wfile w;
  if (sd_wfile_open(&w, path) != SD_OK) { free(b.s); return SD_EIO; }
  uint8_t lb[8];
  for (int i = 0; i < 8; i++) lb[i] = (uint8_t)((uint64_t)b.n >> (8 * i));
  sd_wfile_write(&w, lb, 8);
  sd_wfile_write(&w, b.s, b.n);
  free(b.s);
  for (int i = 0; i < in->n; i++) sd_wfile_tensor(&w, in->tensors[i]);
  return sd_wfile_commit(&w);
}
