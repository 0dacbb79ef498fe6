/* test_tfile.c: the native tensor file: round trips of every dtype and
   shape kind, the byte layout, determinism, and that truncated, flipped and
   hostile files give errors naming the file, never a crash or a huge
   allocation; a failed save leaves the target untouched. */
#include "unit.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include "../../runtime/io/tfile.h"

static char dir[64];
static char path[128];

static void setup(void) {
  strcpy(dir, "/tmp/sd_tfile_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.sdt", dir);
}

static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[512];
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') { snprintf(p, sizeof p, "%s/%s", dir, e->d_name); unlink(p); }
  if (d) closedir(d);
  rmdir(dir);
}

static uint8_t *slurp(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n + 1);
  ck_assert_uint_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static void spit(const char *p, const uint8_t *b, size_t n) {
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  fclose(f);
}

static bool same_tensor(const sd_tensor *a, const sd_tensor *b) {
  if (a->dtype != b->dtype || !sd_same_shape(a, b)) return false;
  for (int64_t i = 0, n = sd_numel(a); i < n; i++)
    if (sd_get_flat(a, i) != sd_get_flat(b, i)) return false;
  return true;
}

static sd_tensor *load1(const char *p) {
  sd_tfile *f = sd_tfile_open(p);
  ck_assert_msg(f != NULL, "%s", sd_errmsg());
  ck_assert_int_eq(sd_tfile_count(f), 1);
  sd_tensor *t = sd_tfile_read(f, 0);
  sd_tfile_close(f);
  ck_assert_ptr_nonnull(t);
  return t;
}

static void save1(const char *p, sd_tensor *t) {
  const char *name = "";
  ck_assert_int_eq(sd_tfile_save(p, 1, &name, &t), SD_OK);
}

START_TEST(round_trip_every_dtype_and_shape) {
  static const int64_t shapes[][SD_MAXDIM] = {{0}, {0}, {3, 0, 2}, {5}, {2, 3, 4}, {1, 2, 1, 2, 1, 2, 1, 2}};
  static const int ndims[] = {0, 1, 3, 1, 3, 8};
  for (int dt = 0; dt < SD_NDTYPE; dt++)
    for (int s = 0; s < 6; s++) {
      sd_tensor *t = unit_iota((sd_dtype)dt, ndims[s], shapes[s]);
      if (dt == SD_BOOL) sd_fill_(t, 1);
      save1(path, t);
      sd_tensor *u = load1(path);
      ck_assert_msg(same_tensor(t, u), "dtype %s shape %d", sd_dtype_name((sd_dtype)dt), s);
      ck_assert_int_eq(u->ndim, ndims[s]);
      sd_release(t); sd_release(u);
    }
}
END_TEST

START_TEST(round_trip_views) {
  int64_t sh[2] = {3, 4}, big[3] = {2, 3, 4};
  sd_tensor *t = unit_iota(SD_F64, 2, sh);
  sd_tensor *v = sd_transpose(t, 0, 1), *e = sd_expand(t, 3, big), *s = sd_slice(t, 1, 1, 4, 2);
  sd_tensor *views[3] = {v, e, s};
  for (int i = 0; i < 3; i++) {
    save1(path, views[i]);
    sd_tensor *u = load1(path);
    ck_assert(same_tensor(views[i], u));
    ck_assert(sd_is_contiguous(u));
    sd_release(u);
  }
  sd_release(t); sd_release(v); sd_release(e); sd_release(s);
}
END_TEST

START_TEST(layout_and_determinism) {
  int64_t sh1 = 3, sh2[2] = {2, 2};
  sd_tensor *a = unit_iota(SD_F32, 1, &sh1), *b = unit_iota(SD_I64, 2, sh2), *c = sd_scalar(SD_U8, 7);
  const char *n1[3] = {"weight", "bias", "fc.w"};
  sd_tensor *t1[3] = {a, b, c};
  const char *n2[3] = {"fc.w", "weight", "bias"};
  sd_tensor *t2[3] = {c, a, b};
  char p2[160];
  snprintf(p2, sizeof p2, "%s/u.sdt", dir);
  ck_assert_int_eq(sd_tfile_save(path, 3, n1, t1), SD_OK);
  ck_assert_int_eq(sd_tfile_save(p2, 3, n2, t2), SD_OK);
  size_t s1, s2;
  uint8_t *f1 = slurp(path, &s1), *f2 = slurp(p2, &s2);
  ck_assert(s1 == s2 && memcmp(f1, f2, s1) == 0); /* argument order does not matter */
  ck_assert_int_eq(memcmp(f1, "SONDE\0T1", 8), 0);
  ck_assert_int_eq(f1[8], 1);                      /* version, little-endian u32 */
  ck_assert_int_eq(f1[12], 3);                     /* count */
  ck_assert_uint_eq(s1 % 64, 0);
  uint64_t hb = 0;
  for (int i = 0; i < 8; i++) hb |= (uint64_t)f1[16 + i] << (8 * i);
  ck_assert_uint_eq(hb, 24 + 3 * 20 + 4 + 6 + 4 + 8 + 16);
  /* first entry is "bias": name_len 4, name, dtype 3 (i64), ndim 2 */
  ck_assert_int_eq(f1[24], 4);
  ck_assert_int_eq(memcmp(f1 + 26, "bias", 4), 0);
  ck_assert_int_eq(f1[30], 3);
  ck_assert_int_eq(f1[31], 2);
  uint64_t off = 0;
  for (int i = 0; i < 8; i++) off |= (uint64_t)f1[48 + i] << (8 * i);
  ck_assert_uint_eq(off, 128); /* the first 64-byte boundary after the header */
  ck_assert_int_eq(memcmp(f1 + off, sd_data(b), 32), 0);
  sd_tfile *f = sd_tfile_open(path);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(sd_tfile_count(f), 3);
  ck_assert_str_eq(sd_tfile_name(f, 0), "bias");
  ck_assert_str_eq(sd_tfile_name(f, 1), "fc.w");
  ck_assert_str_eq(sd_tfile_name(f, 2), "weight");
  sd_tensor *r = sd_tfile_read(f, 1);
  ck_assert(same_tensor(r, c));
  sd_release(r);
  sd_tfile_close(f);
  free(f1); free(f2);
  sd_release(a); sd_release(b); sd_release(c);
}
END_TEST

START_TEST(empty_file_of_no_entries) {
  ck_assert_int_eq(sd_tfile_save(path, 0, NULL, NULL), SD_OK);
  sd_tfile *f = sd_tfile_open(path);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(sd_tfile_count(f), 0);
  sd_tfile_close(f);
}
END_TEST

/* a small file of two entries, used by the corruption tests */
static uint8_t *small_file(size_t *n) {
  int64_t sh1 = 3, sh2[2] = {2, 2};
  sd_tensor *a = unit_iota(SD_F32, 1, &sh1), *b = unit_iota(SD_I64, 2, sh2);
  const char *names[2] = {"x", "y"};
  sd_tensor *ts[2] = {a, b};
  ck_assert_int_eq(sd_tfile_save(path, 2, names, ts), SD_OK);
  sd_release(a); sd_release(b);
  return slurp(path, n);
}

static void expect_error(const uint8_t *b, size_t n, const char *what) {
  spit(path, b, n);
  sd_tfile *f = sd_tfile_open(path);
  ck_assert_msg(f == NULL, "%s: loaded", what);
  ck_assert_msg(strstr(sd_errmsg(), path) != NULL, "%s: '%s' does not name the file", what, sd_errmsg());
  if (what[0] == '~') ck_assert_msg(strstr(sd_errmsg(), what + 1), "'%s' lacks '%s'", sd_errmsg(), what + 1);
}

START_TEST(truncated_at_every_byte) {
  size_t n;
  uint8_t *b = small_file(&n);
  for (size_t len = 0; len < n; len++) {
    char what[32];
    snprintf(what, sizeof what, "length %zu", len);
    expect_error(b, len, what);
  }
  free(b);
}
END_TEST

START_TEST(flipped_bytes_never_crash) {
  size_t n;
  uint8_t *b = small_file(&n);
  static const uint8_t masks[] = {0x01, 0x80, 0xff};
  int loaded = 0, failed = 0;
  for (size_t i = 0; i < n; i++)
    for (int m = 0; m < 3; m++) {
      b[i] ^= masks[m];
      spit(path, b, n);
      sd_tfile *f = sd_tfile_open(path);
      if (i < 24) ck_assert_msg(f == NULL, "flip at %zu loaded", i); /* fixed header */
      if (f) {
        for (int k = 0; k < sd_tfile_count(f); k++) sd_release(sd_tfile_read(f, k));
        sd_tfile_close(f);
        loaded++;
      } else {
        ck_assert(strstr(sd_errmsg(), path) != NULL);
        failed++;
      }
      b[i] ^= masks[m];
    }
  ck_assert(failed > 24 * 3 && loaded > 0); /* data bytes are not checked, headers are */
  free(b);
}
END_TEST

/* Layout of a file with one entry "x" f32 [3]: name_len at 24, name 26,
   dtype 27, ndim 28, shape 29..36, offset 37..44, nbytes 45..52. */
static void put_le(uint8_t *p, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(hostile_headers) {
  int64_t sh = 3;
  sd_tensor *t = unit_iota(SD_F32, 1, &sh);
  const char *name = "x";
  ck_assert_int_eq(sd_tfile_save(path, 1, &name, &t), SD_OK);
  sd_release(t);
  size_t n;
  uint8_t *good = slurp(path, &n), *b = malloc(n);
  ck_assert_uint_eq(n, 128);
  struct { int at, nbytes; uint64_t v; const char *what; } cases[] = {
    {0, 1, 'X', "~bad magic"},
    {8, 4, 2, "~format version 2"},
    {12, 4, 0xffffffff, "~does not fit"},
    {12, 4, 0, "~stray bytes"},
    {16, 8, (uint64_t)1 << 40, "~does not fit"},
    {16, 8, 20, "~does not fit"},
    {16, 8, 52, "~header ends inside entry 1"},
    {24, 2, 5000, "~name of 5000 bytes"},
    {26, 1, 0, "~NUL byte"},
    {27, 1, 6, "~unknown dtype code 6"},
    {28, 1, 9, "~9 dims"},
    {29, 8, (uint64_t)1 << 62, "~impossibly large shape"},
    {29, 8, (uint64_t)1 << 40, "~its shape needs"},
    {29, 8, 0, "~declares 12 bytes"},
    {37, 8, 65, "~outside the data"},
    {37, 8, 0, "~outside the data"},
    {37, 8, 128, "~outside the data"},
    {37, 8, (uint64_t)-64, "~outside the data"},
    {45, 8, (uint64_t)-4, "~declares"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(b, good, n);
    put_le(b + cases[i].at, cases[i].v, cases[i].nbytes);
    expect_error(b, n, cases[i].what);
  }
  /* a shape of 2^40 with bytes to match: caught against the file size */
  memcpy(b, good, n);
  put_le(b + 29, (uint64_t)1 << 40, 8);
  put_le(b + 45, (uint64_t)4 << 40, 8);
  expect_error(b, n, "~outside the data");
  expect_error((const uint8_t *)"hello world, this is not a tensor file at all....................", 64,
               "~bad magic");
  free(good); free(b);
}
END_TEST

START_TEST(names_out_of_order_or_repeated) {
  size_t n;
  uint8_t *b = small_file(&n);
  /* entry 2 starts at 24 + 20 + 1 + 8 = 53: its name is at 55 */
  ck_assert_int_eq(b[55], 'y');
  b[55] = 'x';
  expect_error(b, n, "~out of order or repeated");
  b[55] = 'a';
  expect_error(b, n, "~out of order or repeated");
  free(b);
}
END_TEST

START_TEST(not_files) {
  ck_assert_ptr_null(sd_tfile_open(dir));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "not a regular file"));
  char p[160];
  snprintf(p, sizeof p, "%s/missing.sdt", dir);
  ck_assert_ptr_null(sd_tfile_open(p));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "cannot open"));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), p));
}
END_TEST

static int count_files(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int k = 0;
  while ((e = readdir(d))) k += e->d_name[0] != '.';
  closedir(d);
  return k;
}

START_TEST(failed_save_leaves_target_untouched) {
  const uint8_t old[] = "previous contents";
  spit(path, old, sizeof old);
  int64_t sh = 1 << 18;
  sd_tensor *t = sd_zeros(SD_F32, 1, &sh);
  const char *name = "";
  /* the disk "fills up" midway: writes beyond 4 KiB fail with EFBIG */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {4096, 4096};
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  ck_assert_int_eq(sd_tfile_save(path, 1, &name, &t), SD_EIO);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "write failed"));
  size_t n;
  uint8_t *now = slurp(path, &n);
  ck_assert(n == sizeof old && memcmp(now, old, n) == 0);
  ck_assert_int_eq(count_files(), 1); /* the temp file is gone */
  free(now);
  /* a directory that cannot exist: the parent is a regular file */
  char p[200];
  snprintf(p, sizeof p, "%s/sub/x.sdt", path);
  ck_assert_int_eq(sd_tfile_save(p, 1, &name, &t), SD_EIO);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "cannot create"));
  /* bad arguments: nothing is created */
  const char *dup[2] = {"a", "a"};
  sd_tensor *ts[2] = {t, t};
  char q[160];
  snprintf(q, sizeof q, "%s/dup.sdt", dir);
  ck_assert_int_eq(sd_tfile_save(q, 2, dup, ts), SD_EARG);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "two entries are named 'a'"));
  ck_assert_int_eq(count_files(), 1);
  sd_release(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tfile");
  TCase *tc = tcase_create("tfile");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, round_trip_every_dtype_and_shape);
  tcase_add_test(tc, round_trip_views);
  tcase_add_test(tc, layout_and_determinism);
  tcase_add_test(tc, empty_file_of_no_entries);
  tcase_add_test(tc, truncated_at_every_byte);
  tcase_add_test(tc, flipped_bytes_never_crash);
  tcase_add_test(tc, hostile_headers);
  tcase_add_test(tc, names_out_of_order_or_repeated);
  tcase_add_test(tc, not_files);
  tcase_add_test(tc, failed_save_leaves_target_untouched);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
