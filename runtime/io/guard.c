/* guard.c: the door every file open of runtime/io goes through (guard.h):
   the record of files read, with their SHA-256, and the confinement of a
   --safe run. Paths are compared after realpath, so neither '..' nor a
   symlink leads out of a root. One mutex: loaders may read in threads. */
#include "guard.h"
#include "../core/sha256.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct { char *path; char sha[65]; } entry;
typedef struct { entry *v; size_t n, cap; } list;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool recording, confined;
static list reads;
static char **roots;     /* resolved read roots */
static int nroots;
static char *wroot;      /* resolved write root, or NULL */

/* the hash cache: path, size and mtime (ns) -> digest */
typedef struct { char *path; long long size, mtime; char sha[65]; } cached;
static cached *cache;
static size_t ncache, capcache;

bool sd_io_resolve(const char *path, char out[4096]) {
  if (realpath(path, out)) return true;
  if (errno != ENOENT) {
    sd_error(SD_EIO, "%s: cannot resolve (%s)", path, strerror(errno));
    return false;
  }
  /* a file to be created: resolve its directory, keep its name */
  char dir[4096];
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    sd_error(SD_EIO, "%s: cannot resolve", path);
    return false;
  }
  if (!slash) snprintf(dir, sizeof dir, ".");
  else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  char rdir[4096];
  if (!realpath(dir, rdir)) {
    sd_error(SD_EIO, "%s: cannot resolve (%s)", path, strerror(errno));
    return false;
  }
  if (snprintf(out, 4096, "%s/%s", strcmp(rdir, "/") == 0 ? "" : rdir, name) >= 4096) {
    sd_error(SD_EIO, "%s: path too long", path);
    return false;
  }
  return true;
}

static bool under(const char *root, const char *p) {
  size_t n = strlen(root);
  if (strcmp(root, "/") == 0) return true;
  return strncmp(root, p, n) == 0 && (p[n] == '/' || p[n] == 0);
}

static sd_status hash_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_EIO, "%s: cannot open (%s)", path, strerror(errno));
  static _Thread_local unsigned char buf[1 << 16];
  sd_sha256 s;
  sd_sha256_init(&s);
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sd_sha256_update(&s, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad) return sd_error(SD_EIO, "%s: read error", path);
  sd_sha256_hex(&s, hex);
  return SD_OK;
}

/* called with mu held */
static sd_status sha256_cached(const char *path, char hex[65]) {
  struct stat st;
  if (stat(path, &st) != 0) return sd_error(SD_EIO, "%s: cannot stat (%s)", path, strerror(errno));
  long long size = st.st_size, mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  for (size_t i = 0; i < ncache; i++) {
    if (cache[i].size == size && cache[i].mtime == mtime && strcmp(cache[i].path, path) == 0) {
      memcpy(hex, cache[i].sha, 65);
      return SD_OK;
    }
  }
  if (hash_file(path, hex) != SD_OK) return SD_EIO;
  if (ncache == capcache) {
    size_t cap = capcache ? 2 * capcache : 16;
    cached *c = realloc(cache, cap * sizeof *c);
    if (!c) return SD_OK; /* the digest is right; it is just not cached */
    cache = c, capcache = cap;
  }
  char *p = strdup(path);
  if (p) {
    cache[ncache++] = (cached){ p, size, mtime, { 0 } };
    memcpy(cache[ncache - 1].sha, hex, 65);
  }
  return SD_OK;
}

sd_status sd_io_sha256_file(const char *path, char hex[65]) {
  pthread_mutex_lock(&mu);
  sd_status st = sha256_cached(path, hex);
  pthread_mutex_unlock(&mu);
  return st;
}

/* called with mu held: a regular file read for the first time */
static void record(const char *rpath) {
  struct stat st;
  if (stat(rpath, &st) != 0 || !S_ISREG(st.st_mode)) return;
  for (size_t i = 0; i < reads.n; i++)
    if (strcmp(reads.v[i].path, rpath) == 0) return;
  entry e = { strdup(rpath), { 0 } };
  if (!e.path) return;
  if (sha256_cached(rpath, e.sha) != SD_OK) snprintf(e.sha, sizeof e.sha, "unreadable");
  if (reads.n == reads.cap) {
    size_t cap = reads.cap ? 2 * reads.cap : 16;
    entry *v = realloc(reads.v, cap * sizeof *v);
    if (!v) { free(e.path); return; }
    reads.v = v, reads.cap = cap;
  }
  reads.v[reads.n++] = e;
}

sd_status sd_io_guard(const char *path, bool write) {
  pthread_mutex_lock(&mu);
  if (!confined && !(recording && !write)) { pthread_mutex_unlock(&mu); return SD_OK; }
  char rp[4096];
  sd_status st = SD_OK;
  if (!sd_io_resolve(path, rp)) {
    /* not confined: the open itself will report the problem */
    st = confined ? SD_EIO : SD_OK;
  } else if (confined && write && !(wroot && under(wroot, rp))) {
    st = sd_error(SD_EIO, "safe mode: writing %s is not allowed (outside the run directory%s%s)",
                  path, wroot ? " " : "", wroot ? wroot : "");
  } else if (confined && !write) {
    bool ok = wroot && under(wroot, rp); /* a run reads its own checkpoints */
    for (int i = 0; i < nroots && !ok; i++) ok = under(roots[i], rp);
    if (!ok) st = sd_error(SD_EIO, "safe mode: reading %s is not allowed (outside the data roots)", path);
  }
  if (st == SD_OK && recording && !write) record(rp);
  pthread_mutex_unlock(&mu);
  return st;
}

void sd_io_guard_record(bool on) {
  pthread_mutex_lock(&mu);
  if (on) {
    for (size_t i = 0; i < reads.n; i++) free(reads.v[i].path);
    reads.n = 0;
  }
  recording = on;
  pthread_mutex_unlock(&mu);
}

size_t sd_io_guard_count(void) {
  pthread_mutex_lock(&mu);
  size_t n = reads.n;
  pthread_mutex_unlock(&mu);
  return n;
}

const char *sd_io_guard_read(size_t i, const char **sha256) {
  pthread_mutex_lock(&mu);
  const char *p = i < reads.n ? reads.v[i].path : NULL;
  if (p && sha256) *sha256 = reads.v[i].sha;
  pthread_mutex_unlock(&mu);
  return p;
}

sd_status sd_io_guard_confine(const char *const *read_roots, int n, const char *write_root) {
  char rp[4096];
  pthread_mutex_lock(&mu);
  sd_status st = SD_OK;
  if ((n > 0 && roots) || (write_root && wroot)) {
    st = sd_error(SD_EARG, "confine: already confined (a root is set once per process)");
    goto done;
  }
  if (n > 0) {
    char **r = calloc((size_t)n, sizeof *r);
    if (!r) { st = sd_error(SD_EMEM, "confine: out of memory"); goto done; }
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (!realpath(read_roots[i], rp)) continue; /* a missing root holds nothing */
      if (!(r[k] = strdup(rp))) {
        for (int j = 0; j < k; j++) free(r[j]);
        free(r);
        st = sd_error(SD_EMEM, "confine: out of memory");
        goto done;
      }
      k++;
    }
    roots = r, nroots = k;
  }
  if (write_root) {
    if (!realpath(write_root, rp)) {
      st = sd_error(SD_EIO, "confine: %s: %s", write_root, strerror(errno));
      goto done;
    }
    if (!(wroot = strdup(rp))) { st = sd_error(SD_EMEM, "confine: out of memory"); goto done; }
  }
  confined = true;
done:
  pthread_mutex_unlock(&mu);
  return st;
}

bool sd_io_guard_confined(void) {
  pthread_mutex_lock(&mu);
  bool c = confined;
  pthread_mutex_unlock(&mu);
  return c;
}
