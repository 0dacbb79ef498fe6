/* test_io.c: the file readers and writers (runtime/io): round trips of
   every format and dtype, the fixtures of tests/data, and corrupt input:
   every truncation and header byte flips of each fixture must fail cleanly
   (under `make asan`, without a leak), hostile sizes must not allocate. */
#include "unit.h"
#include <dirent.h>
#include <string.h>
#include <unistd.h>
#include "../../runtime/io/io.h"

static char dir[64];

static const char *tmp(const char *name) {
  static char buf[4][320];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/sonde_io_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') unlink(tmp(e->d_name));
  if (d) closedir(d);
  rmdir(dir);
}

/* Entries in the temp dir: an atomic writer leaves none of its own. */
static int files_in_dir(void) {
  int n = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

static bool same(const sd_tensor *a, const sd_tensor *b) {
  if (a->dtype != b->dtype || !sd_same_shape(a, b)) return false;
  for (int64_t i = 0; i < sd_numel(a); i++) {
    double x = sd_get_flat(a, i), y = sd_get_flat(b, i);
    if (!(x == y || (x != x && y != y))) return false;
  }
  return true;
}

static sd_tensor *sample(sd_dtype dt, int ndim, const int64_t *shape) {
  sd_tensor *t = unit_iota(dt, ndim, shape);
  if (dt == SD_BOOL) for (int64_t i = 0; i < sd_numel(t); i++) ((uint8_t *)sd_data(t))[i] = i % 3 == 0;
  if (sd_dtype_is_float(dt)) sd_set_ptr(dt, sd_data(t), -1.25);
  return t;
}

START_TEST(npy_round_trip_all_dtypes) {
  int64_t shapes[4][3] = {{2, 3, 4}, {5}, {0, 3}, {1}};
  int nd[4] = {3, 1, 2, 0};
  for (int dt = 0; dt < SD_NDTYPE; dt++)
    for (int s = 0; s < 4; s++) {
      sd_tensor *t = sample((sd_dtype)dt, nd[s], shapes[s]);
      ck_assert_int_eq(sd_npy_save(tmp("a.npy"), t), SD_OK);
      sd_tensor *r = sd_npy_load(tmp("a.npy"));
      ck_assert_msg(r && same(t, r), "dtype %s shape %d: %s", sd_dtype_name(dt), s, sd_errmsg());
      sd_release(r);
      sd_release(t);
    }
  ck_assert_int_eq(files_in_dir(), 1);
}
END_TEST

START_TEST(npy_non_contiguous_and_fortran) {
  int64_t sh[2] = {3, 4};
  sd_tensor *t = sample(SD_F64, 2, sh);
  sd_tensor *tt = sd_transpose(t, 0, 1);
  ck_assert_int_eq(sd_npy_save(tmp("t.npy"), tt), SD_OK);
  sd_tensor *r = sd_npy_load(tmp("t.npy"));
  ck_assert(r && same(tt, r));
  sd_release(r);
  /* the fixture: np.asfortranarray(arange(6).reshape(2, 3)) */
  r = sd_npy_load("tests/data/f64f.npy");
  ck_assert_ptr_nonnull(r);
  ck_assert(r->ndim == 2 && r->shape[0] == 2 && r->shape[1] == 3 && sd_is_contiguous(r));
  for (int i = 0; i < 6; i++) ck_assert(sd_get_flat(r, i) == i);
  sd_release(r);
  sd_release(tt);
  sd_release(t);
}
END_TEST

START_TEST(fixtures) {
  sd_tensor *t = sd_idx_load("tests/data/u8.idx");
  ck_assert(t && t->dtype == SD_U8 && t->ndim == 3 && t->shape[2] == 4 && sd_get_flat(t, 23) == 23);
  sd_tensor *g = sd_idx_load("tests/data/u8.idx.gz");
  ck_assert(g && same(t, g));
  sd_release(g);
  sd_release(t);
  t = sd_idx_load("tests/data/i32.idx");
  ck_assert(t && t->dtype == SD_I32 && sd_get_flat(t, 0) == -1 && sd_get_flat(t, 2) == 70000);
  sd_release(t);
  t = sd_npy_load("tests/data/f32.npy");
  ck_assert(t && t->dtype == SD_F32 && sd_get_flat(t, 5) == 1.25);
  sd_release(t);
  t = sd_npy_load("tests/data/bool.npy");
  ck_assert(t && t->dtype == SD_BOOL && sd_get_flat(t, 0) == 1 && sd_get_flat(t, 1) == 0);
  sd_release(t);
  sd_named nt;
  ck_assert_int_eq(sd_npz_load("tests/data/s.npz", &nt), SD_OK);
  ck_assert(nt.n == 2 && strcmp(nt.names[0], "a") == 0 && nt.tensors[0]->dtype == SD_I64);
  sd_named_free(&nt);
  ck_assert_int_eq(sd_npz_load("tests/data/d.npz", &nt), SD_OK);
  ck_assert(nt.n == 1 && strcmp(nt.names[0], "x") == 0 && sd_get_flat(nt.tensors[0], 3) == 3);
  sd_named_free(&nt);
  ck_assert_int_eq(sd_safetensors_load("tests/data/a.safetensors", &nt), SD_OK);
  ck_assert_int_eq(nt.n, 3);
  ck_assert(strcmp(nt.names[1], "h") == 0 && nt.tensors[1]->dtype == SD_F32 && sd_get_flat(nt.tensors[1], 0) == 1.5);
  ck_assert(nt.meta && strcmp(nt.meta, "format") == 0 && strcmp(nt.meta + 7, "pt") == 0);
  sd_named_free(&nt);
  t = sd_png_load("tests/data/g8.png");
  ck_assert(t && t->dtype == SD_U8 && t->shape[0] == 1 && t->shape[1] == 2 && t->shape[2] == 3);
  ck_assert(sd_get_flat(t, 1) == 128 && sd_get_flat(t, 5) == 3);
  sd_release(t);
  t = sd_png_load("tests/data/pal.png");
  ck_assert(t && t->shape[0] == 3 && sd_get_flat(t, 0) == 255 && sd_get_flat(t, 1) == 0 && sd_get_flat(t, 5) == 255);
  sd_release(t);
  t = sd_png_load("tests/data/rgba16.png");
  ck_assert(t && t->dtype == SD_F32 && t->shape[0] == 4 && sd_get_flat(t, 0) == 1);
  ck_assert(fabs(sd_get_flat(t, 3 * 4 + 1) - 32768 / 65535.0) < 1e-6); /* alpha of pixel (0,1) */
  sd_release(t);
}
END_TEST

START_TEST(npz_and_safetensors_round_trip) {
  int64_t sh[2] = {3, 2};
  sd_named in = {0};
  char *names[SD_NDTYPE];
  sd_tensor *ts[SD_NDTYPE];
  for (int dt = 0; dt < SD_NDTYPE; dt++) {
    names[dt] = (char *)sd_dtype_name(dt);
    ts[dt] = sample((sd_dtype)dt, 2, sh);
  }
  in.n = SD_NDTYPE;
  in.names = names;
  in.tensors = ts;
  in.meta = "k\0v\0";
  in.meta_len = 4;
  for (int deflate = 0; deflate < 2; deflate++) {
    ck_assert_int_eq(sd_npz_save(tmp("a.npz"), &in, deflate), SD_OK);
    sd_named out;
    ck_assert_int_eq(sd_npz_load(tmp("a.npz"), &out), SD_OK);
    ck_assert_int_eq(out.n, SD_NDTYPE);
    for (int i = 0; i < SD_NDTYPE; i++) ck_assert(strcmp(out.names[i], names[i]) == 0 && same(out.tensors[i], ts[i]));
    sd_named_free(&out);
  }
  ck_assert_int_eq(sd_safetensors_save(tmp("a.st"), &in), SD_OK);
  sd_named out;
  ck_assert_int_eq(sd_safetensors_load(tmp("a.st"), &out), SD_OK);
  ck_assert_int_eq(out.n, SD_NDTYPE);
  for (int i = 0; i < SD_NDTYPE; i++) ck_assert(strcmp(out.names[i], names[i]) == 0 && same(out.tensors[i], ts[i]));
  ck_assert(out.meta_len == 4 && memcmp(out.meta, "k\0v\0", 4) == 0);
  sd_named_free(&out);
  for (int dt = 0; dt < SD_NDTYPE; dt++) sd_release(ts[dt]);
  ck_assert_int_eq(files_in_dir(), 2);
}
END_TEST

START_TEST(png_round_trip) {
  for (int c = 1; c <= 4; c++)
    for (int bits = 8; bits <= 16; bits += 8) {
      int64_t sh[3] = {c, 3, 5};
      sd_tensor *t = sd_empty(bits == 8 ? SD_U8 : SD_F32, 3, sh);
      for (int64_t i = 0; i < sd_numel(t); i++)
        sd_set_ptr(t->dtype, (char *)sd_data(t) + i * sd_dtype_size(t->dtype),
                   bits == 8 ? (double)(i * 37 % 256) : (double)(i * 4099 % 65536) / 65535.0);
      ck_assert_int_eq(sd_png_save(tmp("a.png"), t, bits), SD_OK);
      sd_tensor *r = sd_png_load(tmp("a.png"));
      ck_assert_ptr_nonnull(r);
      ck_assert(sd_same_shape(r, t) && r->dtype == t->dtype);
      for (int64_t i = 0; i < sd_numel(t); i++) ck_assert(fabs(sd_get_flat(r, i) - sd_get_flat(t, i)) < 1e-6);
      sd_release(r);
      sd_release(t);
    }
  int64_t bad[3] = {5, 2, 2};
  sd_tensor *t = sd_zeros(SD_U8, 3, bad);
  ck_assert_int_ne(sd_png_save(tmp("b.png"), t, 8), SD_OK);
  ck_assert(strstr(sd_errmsg(), "channels"));
  sd_release(t);
  int64_t sh[2] = {2, 2};
  t = sd_full(SD_I32, 2, sh, 300);
  ck_assert_int_ne(sd_png_save(tmp("b.png"), t, 8), SD_OK);
  sd_release(t);
  ck_assert_int_eq(files_in_dir(), 1);
}
END_TEST

START_TEST(csv_parse) {
  const char *s = "x,color,y\r\n1.5,red,2\n,blue,NA\n3,\"re\"\"d, ok\",4\n\n-2e1,red,inf";
  sd_csv c;
  ck_assert_int_eq(sd_csv_parse(s, strlen(s), ',', true, SD_F64, "t", &c), SD_OK);
  ck_assert(c.X->shape[0] == 4 && c.X->shape[1] == 3 && c.ncol == 3);
  ck_assert(strcmp(c.columns[1], "color") == 0);
  ck_assert(c.nvocab[1] == 3 && strcmp(c.vocab[1][0], "blue") == 0 && strcmp(c.vocab[1][1], "re\"d, ok") == 0);
  ck_assert(!c.vocab[0] && c.missing[0] == 1 && c.missing[2] == 1);
  double want[12] = {1.5, 3, 2, NAN, 1, NAN, 3, 2, 4, -20, 3, INFINITY};
  for (int i = 0; i < 12; i++) {
    double v = sd_get_flat(c.X, i);
    ck_assert_msg(v == want[i] || (v != v && want[i] != want[i]), "cell %d: %g", i, v);
  }
  sd_csv_free(&c);
  const char *e = "a;b\n1;2;3\n";
  ck_assert_int_ne(sd_csv_parse(e, strlen(e), ';', false, SD_F32, "t.csv", &c), SD_OK);
  ck_assert(strstr(sd_errmsg(), "t.csv: line 2 has 3 fields, expected 2"));
  e = "a,\"b\n";
  ck_assert_int_ne(sd_csv_parse(e, strlen(e), ',', false, SD_F32, "t.csv", &c), SD_OK);
  ck_assert(strstr(sd_errmsg(), "unterminated"));
  e = "1,2,";
  ck_assert_int_eq(sd_csv_parse(e, strlen(e), ',', false, SD_F32, "t.csv", &c), SD_OK);
  ck_assert(c.ncol == 3 && c.missing[2] == 1);
  sd_csv_free(&c);
}
END_TEST

/* Reads bytes (n of them) as `kind`; returns 1 if a value came back. */
static int read_mem(const char *kind, const uint8_t *p, size_t n) {
  int ok = 0;
  if (strcmp(kind, "csv") == 0) {
    sd_csv c;
    ok = sd_csv_parse((const char *)p, n, ',', true, SD_F32, "mem", &c) == SD_OK;
    if (ok) sd_csv_free(&c);
    return ok;
  }
  FILE *f = fmemopen((void *)p, n ? n : 1, "rb");
  ck_assert_ptr_nonnull(f);
  if (strcmp(kind, "npz") == 0 || strcmp(kind, "safetensors") == 0) {
    sd_named nt;
    ok = (kind[0] == 'n' ? sd_npz_read(f, (int64_t)n, "mem", &nt) : sd_safetensors_read(f, (int64_t)n, "mem", &nt)) == SD_OK;
    if (ok) sd_named_free(&nt);
  } else {
    sd_tensor *t = kind[0] == 'i' ? sd_idx_read(f, (int64_t)n, "mem")
                 : kind[1] == 'p' ? sd_npy_read(f, (int64_t)n, "mem") : sd_png_read(f, (int64_t)n, "mem");
    ok = t != NULL;
    sd_release(t);
  }
  fclose(f);
  return ok;
}

START_TEST(truncated_and_flipped) {
  static const char *files[][2] = {
    {"u8.idx", "idx"}, {"u8.idx.gz", "idx"}, {"i32.idx", "idx"}, {"f32.npy", "npy"}, {"f64f.npy", "npy"},
    {"bool.npy", "npy"}, {"s.npz", "npz"}, {"d.npz", "npz"}, {"a.safetensors", "safetensors"},
    {"g8.png", "png"}, {"pal.png", "png"}, {"rgba16.png", "png"}, {"a.csv", "csv"}};
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    char path[128];
    snprintf(path, sizeof path, "tests/data/%s", files[k][0]);
    int64_t size;
    FILE *f = sd_io_open(path, &size);
    ck_assert_msg(f != NULL, "%s", path);
    uint8_t *buf = sd_io_slurp(f, (size_t)size, path);
    fclose(f);
    const char *kind = files[k][1];
    ck_assert_msg(read_mem(kind, buf, (size_t)size), "%s whole: %s", path, sd_errmsg());
    /* every truncation fails, except CSV, whose prefixes are CSV too */
    for (size_t n = 0; n < (size_t)size; n++)
      if (strcmp(kind, "csv") != 0)
        ck_assert_msg(!read_mem(kind, buf, n), "%s cut at %zu was accepted", path, n);
    /* flipped bytes must never crash; the message names the file */
    for (size_t i = 0; i < (size_t)size && i < 96; i++)
      for (int v = 0; v < 4; v++) {
        uint8_t save = buf[i];
        buf[i] = (uint8_t)(v == 0 ? save ^ 0x80 : v == 1 ? 0xFF : v == 2 ? 0 : save + 1);
        if (!read_mem(kind, buf, (size_t)size)) ck_assert_msg(strstr(sd_errmsg(), "mem"), "%s", sd_errmsg());
        buf[i] = save;
      }
    free(buf);
  }
}
END_TEST

START_TEST(hostile_sizes) {
  /* IDX: 2^31 x 2^31 u8 in 12 bytes */
  uint8_t idx[12] = {0, 0, 8, 2, 0x80, 0, 0, 0, 0x80, 0, 0, 0};
  ck_assert(!read_mem("idx", idx, sizeof idx) && strstr(sd_errmsg(), "truncated"));
  /* gzip whose trailer claims 4 GiB */
  uint8_t gz[20] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  ck_assert(!read_mem("idx", gz, sizeof gz) && strstr(sd_errmsg(), "gzip"));
  /* npy declaring a huge shape */
  char npy[128] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 4000000000), }";
  memset(npy + strlen(npy), ' ', 128 - strlen(npy));
  npy[127] = '\n';
  ck_assert(!read_mem("npy", (uint8_t *)npy, 128) && strstr(sd_errmsg(), "truncated"));
  /* safetensors header length beyond the file */
  uint8_t st[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
  ck_assert(!read_mem("safetensors", st, sizeof st));
  ck_assert(strstr(sd_errmsg(), "not a safetensors file"));
  /* PNG: IHDR of 1M x 1M in a 60-byte file */
  int64_t size;
  FILE *f = sd_io_open("tests/data/g8.png", &size);
  uint8_t *p = sd_io_slurp(f, (size_t)size, "g8");
  fclose(f);
  p[16] = 0; p[17] = 0x10; p[18] = 0; p[19] = 0; /* width 1M; CRC now wrong */
  ck_assert(!read_mem("png", p, (size_t)size));
  free(p);
  /* PNG: an sPLT chunk declaring 1 GiB in a 42-byte file (found by fuzz_png:
     libpng allocated the declared length before reading it) */
  f = sd_io_open("tests/fuzz/corpus/png/splt-1gib", &size);
  p = sd_io_slurp(f, (size_t)size, "splt");
  fclose(f);
  ck_assert(!read_mem("png", p, (size_t)size));
  free(p);
  ck_assert_msg(strstr(sd_errmsg(), "mem: ") && strstr(sd_errmsg(), "more than the file holds"), "%s", sd_errmsg());
  ck_assert_ptr_null(sd_npy_load("/nonexistent/x.npy"));
  ck_assert(strstr(sd_errmsg(), "/nonexistent/x.npy: cannot open"));
}
END_TEST

START_TEST(atomic_write_failures) {
  int64_t sh[1] = {3};
  sd_tensor *t = sample(SD_F32, 1, sh);
  ck_assert_int_ne(sd_npy_save("/nonexistent/dir/a.npy", t), SD_OK);
  ck_assert(strstr(sd_errmsg(), "/nonexistent/dir/a.npy: cannot create"));
  /* overwriting replaces the file whole */
  ck_assert_int_eq(sd_npy_save(tmp("a.npy"), t), SD_OK);
  sd_fill_(t, 7);
  ck_assert_int_eq(sd_npy_save(tmp("a.npy"), t), SD_OK);
  sd_tensor *r = sd_npy_load(tmp("a.npy"));
  ck_assert(r && same(r, t));
  sd_release(r);
  ck_assert_int_eq(files_in_dir(), 1);
  /* a failed PNG write leaves nothing behind */
  int64_t s3[3] = {3, 2, 2};
  sd_tensor *neg = sd_full(SD_I64, 3, s3, -1);
  ck_assert_int_ne(sd_png_save(tmp("x.png"), neg, 8), SD_OK);
  ck_assert_int_eq(files_in_dir(), 1);
  sd_release(neg);
  sd_release(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("io");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, npy_round_trip_all_dtypes);
  tcase_add_test(tc, npy_non_contiguous_and_fortran);
  tcase_add_test(tc, fixtures);
  tcase_add_test(tc, npz_and_safetensors_round_trip);
  tcase_add_test(tc, png_round_trip);
  tcase_add_test(tc, csv_parse);
  tcase_add_test(tc, truncated_and_flipped);
  tcase_add_test(tc, hostile_sizes);
  tcase_add_test(tc, atomic_write_failures);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
