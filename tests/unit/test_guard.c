/* test_guard.c: SHA-256 against FIPS 180-4's vectors and against itself fed
   in pieces; runtime/io's guard: the record of files read (once each, with
   the hash at the first read), the hash cache (a new size or mtime is
   hashed again), path resolution, and confinement (reads under the roots
   and the write root, writes under the write root, '..' and symlinks
   resolved, each root set once). Check forks each test, so a confinement
   stays inside its test. */
#include "unit.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sha256.h"
#include "../../runtime/io/io.h"
#include "../../runtime/io/guard.h"

static char dir[64];

static void setup(void) {
  strcpy(dir, "/tmp/sd_guard_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

static void hex_of(const void *p, size_t n, char hex[65]) {
  sd_sha256 s;
  sd_sha256_init(&s);
  sd_sha256_update(&s, p, n);
  sd_sha256_hex(&s, hex);
}

static const char *file(const char *name, const char *text) {
  static char path[8][256];
  static int k;
  char *p = path[k++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static bool can_read(const char *path) {
  int64_t size;
  FILE *f = sd_io_open(path, &size);
  if (f) fclose(f);
  return f != NULL;
}

START_TEST(sha256_vectors) {
  char hex[65];
  hex_of("", 0, hex);
  ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hex_of("abc", 3, hex);
  ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hex_of(m, strlen(m), hex);
  ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  static char a[1000000];
  memset(a, 'a', sizeof a);
  hex_of(a, sizeof a, hex);
  ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(sha256_in_pieces) {
  /* every length around the padding boundaries, fed byte by byte and in
     uneven pieces, gives the one-shot digest */
  unsigned char buf[300];
  for (int i = 0; i < 300; i++) buf[i] = (unsigned char)(i * 31 + 7);
  for (size_t n = 0; n <= 300; n++) {
    char one[65], bytes[65], pieces[65];
    hex_of(buf, n, one);
    sd_sha256 s;
    sd_sha256_init(&s);
    for (size_t i = 0; i < n; i++) sd_sha256_update(&s, buf + i, 1);
    sd_sha256_hex(&s, bytes);
    ck_assert_str_eq(one, bytes);
    sd_sha256_init(&s);
    for (size_t i = 0, step = 1; i < n; i += step, step = step * 3 % 71 + 1)
      sd_sha256_update(&s, buf + i, i + step > n ? n - i : step);
    sd_sha256_hex(&s, pieces);
    ck_assert_str_eq(one, pieces);
  }
}
END_TEST

START_TEST(records_reads_once) {
  const char *a = file("a.txt", "alpha"), *b = file("b.txt", "beta");
  char ha[65];
  hex_of("alpha", 5, ha);
  ck_assert(can_read(a)); /* not recording yet */
  sd_io_guard_record(true);
  ck_assert_uint_eq(sd_io_guard_count(), 0);
  ck_assert(can_read(a));
  ck_assert(can_read(a));
  ck_assert(!can_read(dir)); /* a directory: refused by the reader, not recorded */
  char rp[4096];
  ck_assert(sd_io_resolve(a, rp));
  ck_assert_uint_eq(sd_io_guard_count(), 1);
  const char *sha = NULL;
  ck_assert_str_eq(sd_io_guard_read(0, &sha), rp);
  ck_assert_str_eq(sha, ha);
  ck_assert_ptr_null(sd_io_guard_read(1, &sha));
  /* writes are not inputs; a missing file is not recorded */
  sd_wfile w;
  char out[256];
  snprintf(out, sizeof out, "%s/w.bin", dir);
  ck_assert_int_eq(sd_wfile_open(&w, out), SD_OK);
  sd_wfile_write(&w, "x", 1);
  ck_assert_int_eq(sd_wfile_commit(&w), SD_OK);
  snprintf(out, sizeof out, "%s/missing", dir);
  ck_assert(!can_read(out));
  ck_assert_uint_eq(sd_io_guard_count(), 1);
  sd_io_guard_record(false);
  ck_assert(can_read(b));
  ck_assert_uint_eq(sd_io_guard_count(), 1);
  sd_io_guard_record(true);
  ck_assert_uint_eq(sd_io_guard_count(), 0);
}
END_TEST

START_TEST(hash_cache_sees_changes) {
  const char *p = file("c.txt", "one");
  char h[65], want[65];
  ck_assert_int_eq(sd_io_sha256_file(p, h), SD_OK);
  hex_of("one", 3, want);
  ck_assert_str_eq(h, want);
  file("c.txt", "two"); /* same size: the mtime tells */
  struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
  ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
  ck_assert_int_eq(sd_io_sha256_file(p, h), SD_OK);
  hex_of("two", 3, want);
  ck_assert_str_eq(h, want);
  file("c.txt", "three");
  ck_assert_int_eq(sd_io_sha256_file(p, h), SD_OK);
  hex_of("three", 5, want);
  ck_assert_str_eq(h, want);
  char missing[256];
  snprintf(missing, sizeof missing, "%s/none", dir);
  ck_assert_int_eq(sd_io_sha256_file(missing, h), SD_EIO);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "none"));
}
END_TEST

START_TEST(resolve_paths) {
  char rdir[4096], rp[4096], p[512], want[4200];
  ck_assert_ptr_nonnull(realpath(dir, rdir));
  file("f", "x");
  snprintf(p, sizeof p, "%s/./sub/../f", dir);
  ck_assert(!sd_io_resolve(p, rp)); /* sub does not exist */
  snprintf(p, sizeof p, "%s/new-file", dir);
  ck_assert(sd_io_resolve(p, rp)); /* a file about to be written */
  snprintf(want, sizeof want, "%s/new-file", rdir);
  ck_assert_str_eq(rp, want);
  snprintf(p, sizeof p, "%s/..", dir);
  ck_assert(sd_io_resolve(p, rp));
  ck_assert_str_eq(rp, "/tmp");
  snprintf(p, sizeof p, "%s/missing/x", dir);
  ck_assert(!sd_io_resolve(p, rp));
}
END_TEST

START_TEST(confined) {
  char in[256], out[256], other[256], p[512], link[512];
  snprintf(in, sizeof in, "%s/in", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(other, sizeof other, "%s/other", dir);
  ck_assert_int_eq(mkdir(in, 0700), 0);
  ck_assert_int_eq(mkdir(out, 0700), 0);
  ck_assert_int_eq(mkdir(other, 0700), 0);
  file("in/ok.txt", "ok");
  file("other/secret.txt", "secret");
  snprintf(p, sizeof p, "%s/other/secret.txt", dir);
  snprintf(link, sizeof link, "%s/in/link.txt", dir);
  ck_assert_int_eq(symlink(p, link), 0);
  const char *roots[] = { in, "/no/such/root" };
  ck_assert(!sd_io_guard_confined());
  ck_assert_int_eq(sd_io_guard_confine(roots, 2, NULL), SD_OK);
  ck_assert(sd_io_guard_confined());
  snprintf(p, sizeof p, "%s/ok.txt", in);
  ck_assert(can_read(p));
  snprintf(p, sizeof p, "%s/other/secret.txt", dir);
  ck_assert(!can_read(p));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "safe mode: reading"));
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "secret.txt"));
  ck_assert(!can_read(link));
  snprintf(p, sizeof p, "%s/../other/secret.txt", in);
  ck_assert(!can_read(p));
  /* no write root yet: nothing may be written */
  sd_wfile w;
  snprintf(p, sizeof p, "%s/a.bin", out);
  ck_assert_int_eq(sd_wfile_open(&w, p), SD_EIO);
  ck_assert_ptr_nonnull(strstr(sd_errmsg(), "safe mode: writing"));
  ck_assert_int_eq(sd_io_guard_confine(NULL, 0, out), SD_OK);
  ck_assert_int_eq(sd_wfile_open(&w, p), SD_OK);
  sd_wfile_write(&w, "x", 1);
  ck_assert_int_eq(sd_wfile_commit(&w), SD_OK);
  ck_assert(can_read(p)); /* the write root is readable */
  snprintf(p, sizeof p, "%s/a.bin", in);
  ck_assert_int_eq(sd_wfile_open(&w, p), SD_EIO);
  ck_assert_int_eq(access(p, F_OK), -1);
  /* each root is set once */
  ck_assert_int_eq(sd_io_guard_confine(roots, 1, NULL), SD_EARG);
  ck_assert_int_eq(sd_io_guard_confine(NULL, 0, "/"), SD_EARG);
  snprintf(p, sizeof p, "%s/b.bin", other);
  ck_assert_int_eq(sd_wfile_open(&w, p), SD_EIO);
}
END_TEST

int main(void) {
  Suite *s = suite_create("guard");
  TCase *tc = tcase_create("guard");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, sha256_vectors);
  tcase_add_test(tc, sha256_in_pieces);
  tcase_add_test(tc, records_reads_once);
  tcase_add_test(tc, hash_cache_sees_changes);
  tcase_add_test(tc, resolve_paths);
  tcase_add_test(tc, confined);
  suite_add_tcase(s, tc);
  return unit_run(s);
}
