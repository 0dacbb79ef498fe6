/* sd.c: errors, dtypes, memory accounting and thread count. */
#include "sd.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include "parallel.h"

static _Thread_local char errbuf[512];
volatile int sd_interrupt_flag = 0;

sd_status sd_error(sd_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, sizeof errbuf, fmt, ap);
  va_end(ap);
  return code;
}

const char *sd_errmsg(void) { return errbuf[0] ? errbuf : "unknown error"; }

sd_status sd_check_interrupt(void) {
  if (!sd_interrupt_flag) return SD_OK;
  sd_interrupt_flag = 0;
  return sd_error(SD_EINTR, "interrupted");
}

static const struct { const char *name; size_t size; } dtinfo[SD_NDTYPE] = {
  [SD_F32] = {"f32", 4}, [SD_F64] = {"f64", 8}, [SD_I32] = {"i32", 4},
  [SD_I64] = {"i64", 8}, [SD_U8] = {"u8", 1},   [SD_BOOL] = {"bool", 1},
};

size_t sd_dtype_size(sd_dtype dt) { return dtinfo[dt].size; }
const char *sd_dtype_name(sd_dtype dt) { return dtinfo[dt].name; }
bool sd_dtype_is_float(sd_dtype dt) { return dt == SD_F32 || dt == SD_F64; }

int sd_dtype_parse(const char *name, sd_dtype *out) {
  static const struct { const char *alias; sd_dtype dt; } aliases[] = {
    {"float32", SD_F32}, {"float", SD_F32}, {"float64", SD_F64}, {"double", SD_F64},
    {"int32", SD_I32}, {"int", SD_I32}, {"int64", SD_I64}, {"long", SD_I64},
    {"uint8", SD_U8}, {"byte", SD_U8},
  };
  for (int i = 0; i < SD_NDTYPE; i++)
    if (strcmp(name, dtinfo[i].name) == 0) { *out = (sd_dtype)i; return 1; }
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(name, aliases[i].alias) == 0) { *out = aliases[i].dt; return 1; }
  return 0;
}

/* Rank: bool < u8 < i32 < i64 < f32 < f64, as PyTorch promotes. */
sd_dtype sd_dtype_promote(sd_dtype a, sd_dtype b) {
  static const int rank[SD_NDTYPE] = {
    [SD_BOOL] = 0, [SD_U8] = 1, [SD_I32] = 2, [SD_I64] = 3, [SD_F32] = 4, [SD_F64] = 5};
  return rank[a] >= rank[b] ? a : b;
}

/* --- threads --- */
extern void sd_blas_set_threads(int n); /* blas.c */

void sd_set_num_threads(int n) {
  sd_pool_set_threads(n);
  sd_blas_set_threads(sd_pool_threads());
}

int sd_get_num_threads(void) { return sd_pool_threads(); }

/* --- memory --- */
static sd_mem_hook memhook;
static int64_t in_use, charged, mem_limit;

void sd_set_mem_hook(sd_mem_hook hook) { memhook = hook; }
int64_t sd_mem_in_use(void) { return in_use; }
void sd_set_mem_limit(int64_t bytes) { mem_limit = bytes > 0 ? bytes : 0; }
int64_t sd_mem_limit(void) { return mem_limit; }
int64_t sd_mem_charged(void) { return charged; }

bool sd_mem_charge(int64_t delta) {
  if (delta > 0 && mem_limit && in_use + charged + delta > mem_limit) return false;
  charged += delta;
  return true;
}

/* glibc's default is to hand blocks over 128 KiB back to the kernel at
   free and to page-fault them in afresh at the next malloc: a training
   step that makes the same tensors every time then spends a tenth of its
   time in page faults. Up to 32 MiB, blocks stay in the heap for reuse,
   and up to 64 MiB of free heap top is kept: the GC frees temporaries a
   few at a time, and two 16 MiB ones freed together must not be trimmed. */
static void tune_malloc(void) {
  static bool done;
  if (done) return;
  done = true;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

/* Blocks past malloc's largest mmap threshold (32 MiB) are fresh mmaps
   every time, zeroed by the kernel page by page. A few freed ones are kept
   for the next allocation of the same size (a loop making the same big
   tensors every step), at most BIG_CACHE bytes; new ones are placed on
   2 MiB boundaries with transparent huge pages (a 64 MiB tensor: 32 page
   faults instead of 16384). */
#define BIG ((size_t)32 << 20)
#define BIG_CACHE ((size_t)256 << 20)
#define BIG_SLOTS 4
static struct { void *p; size_t n; } big_cache[BIG_SLOTS];
static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;

static void *big_take(size_t n) {
  void *p = NULL;
  pthread_mutex_lock(&big_mu);
  for (int i = 0; i < BIG_SLOTS && !p; i++)
    if (big_cache[i].p && big_cache[i].n == n) { p = big_cache[i].p; big_cache[i].p = NULL; }
  pthread_mutex_unlock(&big_mu);
  return p;
}

static bool big_keep(void *p, size_t n) {
  bool kept = false;
  size_t total = n;
  pthread_mutex_lock(&big_mu);
  for (int i = 0; i < BIG_SLOTS; i++) if (big_cache[i].p) total += big_cache[i].n;
  for (int i = 0; i < BIG_SLOTS && !kept && total <= BIG_CACHE; i++)
    if (!big_cache[i].p) { big_cache[i].p = p; big_cache[i].n = n; kept = true; }
  pthread_mutex_unlock(&big_mu);
  return kept;
}

/* Blocks under BIG come from malloc, aligned to 64 by hand (the byte before
   the block holds the distance back to malloc's pointer): glibc 2.36's
   posix_memalign asks for size + alignment and so never reuses a freed
   block of the same size; tensors freed by the GC two at a time then grew
   the heap, and every new one was page-faulted in afresh. */
static void *heap_alloc(size_t n) {
  unsigned char *m = malloc(n + 64);
  if (!m) return NULL;
  unsigned char *p = m + 64 - ((uintptr_t)m & 63);
  p[-1] = (unsigned char)(p - m);
  return p;
}

static void heap_free(void *p) { free((unsigned char *)p - ((unsigned char *)p)[-1]); }

static size_t block_size(size_t nbytes) {
  size_t n = (nbytes + 63) & ~(size_t)63;
  if (n >= BIG) n = (n + BIG / 16 - 1) & ~(BIG / 16 - 1); /* 2 MiB steps: reuse by size class */
  return n ? n : 64;
}

void *sd_malloc(size_t nbytes) {
  void *p = NULL;
  tune_malloc();
  size_t n = block_size(nbytes);
  if (n < nbytes) {
    sd_error(SD_EMEM, "out of memory allocating %zu bytes", nbytes);
    return NULL;
  }
  if (mem_limit && (nbytes > (size_t)mem_limit || in_use + charged + (int64_t)nbytes > mem_limit)) {
    sd_error(SD_EMEM, "memory limit of %.4g MB reached: %.4g MB more for a tensor, %.4g MB in use",
             mem_limit / 1e6, nbytes / 1e6, (in_use + charged) / 1e6);
    return NULL;
  }
  if (n >= BIG) p = big_take(n);
  if (!p && n < BIG) p = heap_alloc(n);
  else if (!p && posix_memalign(&p, BIG / 16, n) == 0) madvise(p, n, MADV_HUGEPAGE);
  if (!p) {
    sd_error(SD_EMEM, "out of memory allocating %zu bytes", nbytes);
    return NULL;
  }
  in_use += (int64_t)nbytes;
  if (memhook) memhook((int64_t)nbytes);
  return p;
}

void sd_free(void *p, size_t nbytes) {
  if (!p) return;
  size_t n = block_size(nbytes);
  if (n < BIG) heap_free(p);
  else if (!big_keep(p, n)) free(p);
  in_use -= (int64_t)nbytes;
  if (memhook) memhook(-(int64_t)nbytes);
}
