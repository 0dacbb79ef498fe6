/* blas.c: opens OpenBLAS at first use and chooses its core type.

   Why dlopen: OpenBLAS picks its kernels (the "core type") once, in the
   constructor that runs when the library is loaded, from the environment
   variable OPENBLAS_CORETYPE or else its own CPU detection. Debian's
   0.3.21 falls back to a slow generic core (Prescott) on CPUs newer than
   its tables, and nothing can change the choice afterwards: there is no
   re-initialisation call, and dlclose of a library whose worker threads
   are running is unreliable. So the decision must be made before the
   first load, and a linked OpenBLAS would load before main().

   The rule, applied once, just before dlopen:
   1. OPENBLAS_CORETYPE set by the user: respected as it is ("user").
   2. Otherwise sonde names the core from the CPU's features, read with
      cpuid (__builtin_cpu_supports):
        avx512f+bw+vl+dq and avx512bf16  -> Cooperlake
        avx512f+bw+vl+dq                 -> SkylakeX
        avx2+fma                         -> Haswell
      sets OPENBLAS_CORETYPE to it for the load ("sonde"), and unsets it
      again so child processes decide for themselves. Features, not model
      numbers, are what the kernels need, so this is right on CPUs that
      OpenBLAS does not know, and the same features give the same kernels
      (and so the same bits) whatever OpenBLAS would have guessed.
   3. A CPU without AVX2 leaves the choice to OpenBLAS ("auto"); so does a
      process where OpenBLAS was already loaded by someone else, or an
      OpenBLAS that does not accept the name: after loading, a core other
      than the one asked for is reported as "auto".
   The outcome is kept for tensor.config() and run manifests.

   Threads: OpenBLAS is kept single-threaded. sonde's pool parallelises
   the products itself over tiles whose bounds depend only on the shape
   (linalg.c), because OpenBLAS's own split gives different bits for
   different thread counts with some cores (Haswell's sgemm does), and
   DESIGN.md promises the same bits whatever the thread count. LAPACK
   calls therefore run on one thread too: reproducible, slower only for
   large factorisations. */
#include "blas.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#ifndef SD_OPENBLAS_LIB
#define SD_OPENBLAS_LIB "libopenblas.so.0"
#endif

static sd_blas B;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;             /* 1 when B is usable */
static char load_error[512];
static const char *source = "auto";
static const char *cpu_core = "generic";

static const char *cpu_best_core(void) {
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (avx512 && __builtin_cpu_supports("avx512bf16")) return "Cooperlake";
  if (avx512) return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return NULL;
}

static void *open_lib(const char *path) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h && path[0] == '/') h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    snprintf(load_error, sizeof load_error, "cannot load OpenBLAS (%s): %s", path,
             why ? why : "unknown error");
  }
  return h;
}

/* Resolves name into *slot; returns 0 and records the error if missing. */
static int sym(void *h, const char *name, void *slot) {
  void *p = dlsym(h, name);
  if (!p) {
    snprintf(load_error, sizeof load_error, "cannot load OpenBLAS (%s): symbol %s missing",
             SD_OPENBLAS_LIB, name);
    return 0;
  }
  *(void **)slot = p;
  return 1;
}

static int resolve_lapack(void *h, char p, sd_lapack *l) {
  static const char *names[] = {"potrf", "getrf", "getrs", "getri", "syevd",
                                "gesdd", "geqrf", "orgqr", "gelsd"};
  void **slots[] = {(void **)&l->potrf, (void **)&l->getrf, (void **)&l->getrs,
                    (void **)&l->getri, (void **)&l->syevd, (void **)&l->gesdd,
                    (void **)&l->geqrf, (void **)&l->orgqr, (void **)&l->gelsd};
  char name[16];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    /* Fortran names: s/d prefix (orgqr is "or" for real types), trailing _ */
    snprintf(name, sizeof name, "%c%s_", p, names[i]);
    if (!sym(h, name, slots[i])) return 0;
  }
  return 1;
}

static void load(void) {
  const char *best = cpu_best_core();
  const char *user = getenv("OPENBLAS_CORETYPE");
  int set_here = 0;
  cpu_core = best ? best : "generic";
  if (user && *user) source = "user";
  else if (best && setenv("OPENBLAS_CORETYPE", best, 1) == 0) set_here = 1, source = "sonde";
  void *h = open_lib(SD_OPENBLAS_LIB);
  if (set_here) unsetenv("OPENBLAS_CORETYPE");
  if (!h) return;
  int ok = sym(h, "cblas_sgemm", &B.sgemm) && sym(h, "cblas_dgemm", &B.dgemm) &&
           sym(h, "cblas_sgemv", &B.sgemv) && sym(h, "cblas_dgemv", &B.dgemv) &&
           sym(h, "cblas_sdot", &B.sdot) && sym(h, "cblas_ddot", &B.ddot) &&
           sym(h, "openblas_set_num_threads", &B.set_num_threads) &&
           sym(h, "openblas_get_num_threads", &B.get_num_threads) &&
           sym(h, "openblas_get_corename", &B.get_corename) &&
           sym(h, "openblas_get_config", &B.get_config) &&
           resolve_lapack(h, 's', &B.lapack[0]) && resolve_lapack(h, 'd', &B.lapack[1]);
  if (!ok) return; /* the handle stays open: dlclose of OpenBLAS is not safe */
  if (set_here && strcasecmp(B.get_corename(), best) != 0) source = "auto";
  B.set_num_threads(1);
  loaded = 1;
}

const sd_blas *sd_blas_get(void) {
  pthread_once(&once, load);
  if (!loaded) {
    sd_error(SD_EIO, "%s", load_error);
    return NULL;
  }
  return &B;
}

const sd_lapack *sd_lapack_get(sd_dtype dt) {
  const sd_blas *b = sd_blas_get();
  return b ? &b->lapack[dt == SD_F64] : NULL;
}

/* The count drives sonde's pool, which runs the BLAS tiles; OpenBLAS
   stays at one thread (see the header comment), so nothing to do here. */
void sd_blas_set_threads(int n) { (void)n; }

sd_status sd_blas_info_get(sd_blas_info *out) {
  if (!sd_blas_get()) return SD_EIO;
  out->config = B.get_config();
  out->core = B.get_corename();
  out->source = source;
  out->cpu_core = cpu_core;
  out->threads = B.get_num_threads();
  return SD_OK;
}
