/* csv.c: CSV (RFC 4180: quoted fields, "" inside quotes, CRLF or LF) into
   a numeric table. A column whose present cells all parse as numbers is
   numeric; any other is categorical and becomes 1-based integer codes into
   its sorted vocabulary. Missing cells (empty, NA, N/A, NaN, nan, null)
   are NaN in the tensor and counted per column.

   Three passes over the text: shape and column kinds, vocabularies, then
   the values; no cell is kept in memory between passes. */
#include "io.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *buf;
  size_t n, pos;
  char sep;
  int64_t line;        /* 1-based, of the current position */
  bool after_sep;      /* the last field ended with sep: one more follows */
  char *cell;          /* the current field, unescaped */
  size_t len, cap;
  const char *name;
} csv_rd;

/* Reads one field into rd->cell. *eor: it ended its record. Returns 0 at
   the end of input (no field), -1 on an error. */
static int csv_field(csv_rd *r, int *eor) {
  r->len = 0;
  if (r->pos >= r->n) {
    if (!r->after_sep) return 0;
    r->after_sep = false; /* "a,b," at the end of input: an empty last field */
    if (r->cell) r->cell[0] = 0;
    *eor = 1;
    return 1;
  }
  bool quoted = r->buf[r->pos] == '"';
  size_t i = r->pos + quoted;
  for (;;) {
    char c = i < r->n ? r->buf[i] : '\n';
    if (quoted) {
      if (i >= r->n) {
        sd_error(SD_EIO, "%s: line %lld: unterminated quoted field", r->name, (long long)r->line);
        return -1;
      }
      if (c == '"') {
        if (i + 1 < r->n && r->buf[i + 1] == '"') { i++; }
        else {
          i++;
          c = i < r->n ? r->buf[i] : '\n';
          if (c == '\r' && i + 1 < r->n && r->buf[i + 1] == '\n') i++, c = '\n';
          if (c != r->sep && c != '\n') {
            sd_error(SD_EIO, "%s: line %lld: text after a closing quote", r->name, (long long)r->line);
            return -1;
          }
          break;
        }
      } else if (c == '\n') {
        r->line++;
      }
    } else {
      if (c == '\r' && i + 1 < r->n && r->buf[i + 1] == '\n') i++, c = '\n';
      if (c == r->sep || c == '\n') break;
    }
    if (r->len + 2 > r->cap) {
      size_t cap = r->cap ? 2 * r->cap : 256;
      char *p = realloc(r->cell, cap);
      if (!p) { sd_error(SD_EMEM, "%s: out of memory", r->name); return -1; }
      r->cell = p;
      r->cap = cap;
    }
    r->cell[r->len++] = c;
    i++;
  }
  if (r->cell) r->cell[r->len] = 0;
  char c = i < r->n ? r->buf[i] : '\n';
  *eor = c == '\n';
  r->after_sep = !*eor;
  if (*eor) r->line++;
  r->pos = i + 1;
  return 1;
}

/* Reads a record's fields one by one through fn; returns the field count
   (0 at the end of input, -1 on error). A blank line is skipped. */
typedef int (*cell_fn)(void *ctx, int col, const char *s, size_t len);

static int csv_record(csv_rd *r, cell_fn fn, void *ctx) {
  while (r->pos < r->n && (r->buf[r->pos] == '\n' ||
         (r->buf[r->pos] == '\r' && r->pos + 1 < r->n && r->buf[r->pos + 1] == '\n'))) {
    r->pos += r->buf[r->pos] == '\r' ? 2 : 1;
    r->line++;
  }
  int col = 0, eor = 0;
  while (!eor) {
    int k = csv_field(r, &eor);
    if (k <= 0) return k < 0 ? -1 : col;
    if (col == 1 << 20) { sd_error(SD_EIO, "%s: line %lld: too many fields", r->name, (long long)r->line); return -1; }
    if (fn && fn(ctx, col, r->cell ? r->cell : "", r->len) != 0) return -1;
    col++;
  }
  return col;
}

static bool is_missing(const char *s) {
  static const char *na[] = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"};
  for (size_t i = 0; i < sizeof na / sizeof na[0]; i++) if (strcmp(s, na[i]) == 0) return true;
  return false;
}

/* A decimal number (optionally signed, fraction, exponent) or inf. */
static bool parse_num(const char *s, double *v) {
  while (*s == ' ') s++;
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  if (strcmp(p, "inf") == 0 || strcmp(p, "Inf") == 0 || strcmp(p, "infinity") == 0) {
    *v = *s == '-' ? -INFINITY : INFINITY;
    return true;
  }
  for (const char *q = p; *q; q++)
    if (!strchr("0123456789.eE+- ", *q)) return false;
  char *end;
  *v = strtod(s, &end);
  while (*end == ' ') end++;
  return end != s && *end == 0;
}

/* --- per-column state --- */

typedef struct {
  int ncol;
  int64_t rows;
  bool *categorical;
  int64_t *missing;
  /* vocabularies: open-addressing sets of strings, codes by first sight */
  char ***keys;
  int *nkeys, *kcap;
  int **remap;        /* first-sight code -> sorted code */
  char **header;
  sd_tensor *X;
  int64_t row;
  const char *name;
} csv_st;

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* The first-sight code (0-based) of s in column j, added if new; -1 on OOM. */
static int vocab_code(csv_st *st, int j, const char *s, bool add) {
  char **k = st->keys[j];
  int cap = st->kcap[j];
  if (cap) {
    for (uint64_t h = hash(s) & (uint64_t)(cap - 1);; h = (h + 1) & (uint64_t)(cap - 1)) {
      if (!k[h]) break;
      if (strcmp(k[h] + sizeof(int), s) == 0) { int c; memcpy(&c, k[h], sizeof c); return c; }
    }
  }
  if (!add) return -1;
  if (2 * (st->nkeys[j] + 1) > cap) { /* grow and rehash */
    int ncap = cap ? 2 * cap : 64;
    char **nk = calloc((size_t)ncap, sizeof *nk);
    if (!nk) return -1;
    for (int i = 0; i < cap; i++) {
      if (!k[i]) continue;
      uint64_t h = hash(k[i] + sizeof(int)) & (uint64_t)(ncap - 1);
      while (nk[h]) h = (h + 1) & (uint64_t)(ncap - 1);
      nk[h] = k[i];
    }
    free(k);
    st->keys[j] = k = nk;
    st->kcap[j] = cap = ncap;
  }
  size_t len = strlen(s);
  char *e = malloc(sizeof(int) + len + 1);
  if (!e) return -1;
  int c = st->nkeys[j]++;
  memcpy(e, &c, sizeof c);
  memcpy(e + sizeof(int), s, len + 1);
  uint64_t h = hash(s) & (uint64_t)(cap - 1);
  while (k[h]) h = (h + 1) & (uint64_t)(cap - 1);
  k[h] = e;
  return c;
}

static int cell_header(void *ctx, int col, const char *s, size_t len) {
  csv_st *st = ctx;
  if (col >= st->ncol) return 0; /* counted by the caller */
  if (!(st->header[col] = strdup(s))) return sd_error(SD_EMEM, "%s: out of memory", st->name), 1;
  return 0;
}

static int cell_kind(void *ctx, int col, const char *s, size_t len) {
  csv_st *st = ctx;
  double v;
  if (col < st->ncol && !is_missing(s) && !parse_num(s, &v)) st->categorical[col] = true;
  return 0;
}

static int cell_vocab(void *ctx, int col, const char *s, size_t len) {
  csv_st *st = ctx;
  if (col >= st->ncol || !st->categorical[col] || is_missing(s)) return 0;
  if (vocab_code(st, col, s, true) < 0) return sd_error(SD_EMEM, "%s: out of memory", st->name), 1;
  return 0;
}

static int cell_value(void *ctx, int col, const char *s, size_t len) {
  csv_st *st = ctx;
  double v = NAN;
  if (col >= st->ncol || st->row >= st->X->shape[0]) return 0;
  if (is_missing(s)) st->missing[col]++;
  else if (st->categorical[col]) v = st->remap[col][vocab_code(st, col, s, false)] + 1;
  else parse_num(s, &v);
  char *p = (char *)sd_data(st->X) + (st->row * st->ncol + col) * (int64_t)sd_dtype_size(st->X->dtype);
  sd_set_ptr(st->X->dtype, p, v);
  return 0;
}

static const char *sort_key(char *const *e) { return *e + sizeof(int); }
static int cmp_key(const void *a, const void *b) { return strcmp(sort_key(a), sort_key(b)); }

void sd_csv_free(sd_csv *c) {
  for (int j = 0; j < c->ncol; j++) {
    if (c->columns) free(c->columns[j]);
    if (c->vocab && c->vocab[j]) {
      for (int k = 0; k < c->nvocab[j]; k++) free(c->vocab[j][k]);
      free(c->vocab[j]);
    }
  }
  free(c->columns); free(c->vocab); free(c->nvocab); free(c->missing);
  sd_release(c->X);
  memset(c, 0, sizeof *c);
}

sd_status sd_csv_parse(const char *buf, size_t n, char sep, bool header, sd_dtype dt,
                       const char *name, sd_csv *out) {
  memset(out, 0, sizeof *out);
  if (dt != SD_F32 && dt != SD_F64) return sd_error(SD_EARG, "%s: csv dtype must be f32 or f64", name);
  if (sep == '"' || sep == '\n' || sep == '\r') return sd_error(SD_EARG, "%s: bad separator", name);
  csv_rd r = {buf, n, 0, sep, 1, false, NULL, 0, 0, name};
  csv_st st = {0};
  st.name = name;
  sd_status status = SD_OK;
  /* pass 1: the number of columns (first record), rows, column kinds */
  int ncol = csv_record(&r, NULL, NULL);
  if (ncol <= 0) {
    free(r.cell);
    return ncol < 0 ? SD_EIO : sd_error(SD_EIO, "%s: empty csv", name);
  }
  st.ncol = ncol;
  st.categorical = calloc((size_t)ncol, sizeof *st.categorical);
  st.missing = calloc((size_t)ncol, sizeof *st.missing);
  st.keys = calloc((size_t)ncol, sizeof *st.keys);
  st.nkeys = calloc((size_t)ncol, sizeof *st.nkeys);
  st.kcap = calloc((size_t)ncol, sizeof *st.kcap);
  st.remap = calloc((size_t)ncol, sizeof *st.remap);
  st.header = calloc((size_t)ncol, sizeof *st.header);
  if (!st.categorical || !st.missing || !st.keys || !st.nkeys || !st.kcap || !st.remap || !st.header) {
    status = sd_error(SD_EMEM, "%s: out of memory", name);
    goto done;
  }
  for (int pass = 1; pass <= 3 && status == SD_OK; pass++) {
    r.pos = 0;
    r.line = 1;
    r.after_sep = false;
    st.row = 0;
    if (header && csv_record(&r, pass == 1 ? cell_header : NULL, &st) < 0) { status = SD_EIO; break; }
    cell_fn fn = pass == 1 ? cell_kind : pass == 2 ? cell_vocab : cell_value;
    for (;;) {
      int64_t line = r.line;
      int k = csv_record(&r, fn, &st);
      if (k == 0) break;
      if (k < 0) { status = SD_EIO; break; }
      if (k != ncol) {
        status = sd_error(SD_EIO, "%s: line %lld has %d fields, expected %d", name, (long long)line, k, ncol);
        break;
      }
      st.row++;
    }
    if (status != SD_OK) break;
    if (pass == 1) {
      int64_t shape[2] = {st.row, ncol};
      if (!(st.X = sd_empty(dt, 2, shape))) status = SD_EMEM;
    } else if (pass == 2) { /* codes follow the sorted vocabulary */
      for (int j = 0; j < ncol && status == SD_OK; j++) {
        if (!st.categorical[j]) continue;
        char **sorted = malloc((size_t)(st.nkeys[j] + 1) * sizeof *sorted);
        st.remap[j] = malloc((size_t)(st.nkeys[j] + 1) * sizeof *st.remap[j]);
        if (!sorted || !st.remap[j]) { free(sorted); status = sd_error(SD_EMEM, "%s: out of memory", name); break; }
        int m = 0;
        for (int i = 0; i < st.kcap[j]; i++) if (st.keys[j][i]) sorted[m++] = st.keys[j][i];
        qsort(sorted, (size_t)m, sizeof *sorted, cmp_key);
        for (int i = 0; i < m; i++) {
          int c;
          memcpy(&c, sorted[i], sizeof c);
          st.remap[j][c] = i;
        }
        free(sorted);
      }
    }
  }
  if (status != SD_OK) goto done;
  out->X = st.X;
  st.X = NULL;
  out->ncol = ncol;
  out->missing = st.missing;
  st.missing = NULL;
  out->columns = st.header;
  st.header = NULL;
  out->vocab = calloc((size_t)ncol, sizeof *out->vocab);
  out->nvocab = calloc((size_t)ncol, sizeof *out->nvocab);
  if (!out->vocab || !out->nvocab) { status = sd_error(SD_EMEM, "%s: out of memory", name); goto done; }
  for (int j = 0; j < ncol; j++) {
    if (!out->columns[j]) {
      char num[16];
      snprintf(num, sizeof num, "%d", j + 1);
      if (!(out->columns[j] = strdup(num))) { status = sd_error(SD_EMEM, "%s: out of memory", name); goto done; }
    }
    if (!st.categorical[j]) continue;
    out->vocab[j] = calloc((size_t)st.nkeys[j] + 1, sizeof *out->vocab[j]);
    if (!out->vocab[j]) { status = sd_error(SD_EMEM, "%s: out of memory", name); goto done; }
    out->nvocab[j] = st.nkeys[j];
    for (int i = 0; i < st.kcap[j]; i++) {
      char *e = st.keys[j][i];
      if (!e) continue;
      int c;
      memcpy(&c, e, sizeof c);
      memmove(e, e + sizeof(int), strlen(e + sizeof(int)) + 1);
      out->vocab[j][st.remap[j][c]] = e;
      st.keys[j][i] = NULL;
    }
  }
done:
  for (int j = 0; j < ncol; j++) {
    if (st.keys && st.keys[j]) {
      for (int i = 0; i < st.kcap[j]; i++) free(st.keys[j][i]);
      free(st.keys[j]);
    }
    if (st.remap) free(st.remap[j]);
    if (st.header) free(st.header[j]);
  }
  free(st.keys); free(st.nkeys); free(st.kcap); free(st.remap); free(st.header);
  free(st.categorical); free(st.missing);
  sd_release(st.X);
  free(r.cell);
  if (status != SD_OK) sd_csv_free(out);
  return status;
}

sd_status sd_csv_load(const char *path, char sep, bool header, sd_dtype dt, sd_csv *out) {
  memset(out, 0, sizeof *out);
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (!f) return SD_EIO;
  char *buf = (char *)sd_io_slurp(f, (size_t)size, path);
  fclose(f);
  if (!buf) return SD_EIO;
  sd_status st = sd_csv_parse(buf, (size_t)size, sep, header, dt, path, out);
  free(buf);
  return st;
}
