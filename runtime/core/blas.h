/* blas.h: OpenBLAS, opened at first use, and the core type it runs.

   sonde does not link OpenBLAS: blas.c opens it with dlopen the first time
   a kernel needs it, after choosing OPENBLAS_CORETYPE (see blas.c), and
   resolves the CBLAS and LAPACK symbols sonde uses into one table. */
#ifndef SD_BLAS_H
#define SD_BLAS_H

#include <cblas.h>
#include "sd.h"

/* LAPACK through its Fortran ABI: every argument by pointer, 32-bit
   integers (Debian's LP64 OpenBLAS), string lengths as trailing hidden
   arguments. Real arguments are void * so one table serves s and d. */
typedef int sd_lint;
typedef struct sd_lapack {
  void (*potrf)(const char *uplo, const sd_lint *n, void *a, const sd_lint *lda, sd_lint *info,
                size_t);
  void (*getrf)(const sd_lint *m, const sd_lint *n, void *a, const sd_lint *lda, sd_lint *ipiv,
                sd_lint *info);
  void (*getrs)(const char *trans, const sd_lint *n, const sd_lint *nrhs, const void *a,
                const sd_lint *lda, const sd_lint *ipiv, void *b, const sd_lint *ldb,
                sd_lint *info, size_t);
  void (*getri)(const sd_lint *n, void *a, const sd_lint *lda, const sd_lint *ipiv, void *work,
                const sd_lint *lwork, sd_lint *info);
  void (*syevd)(const char *jobz, const char *uplo, const sd_lint *n, void *a, const sd_lint *lda,
                void *w, void *work, const sd_lint *lwork, sd_lint *iwork, const sd_lint *liwork,
                sd_lint *info, size_t, size_t);
  void (*gesdd)(const char *jobz, const sd_lint *m, const sd_lint *n, void *a, const sd_lint *lda,
                void *s, void *u, const sd_lint *ldu, void *vt, const sd_lint *ldvt, void *work,
                const sd_lint *lwork, sd_lint *iwork, sd_lint *info, size_t);
  void (*geqrf)(const sd_lint *m, const sd_lint *n, void *a, const sd_lint *lda, void *tau,
                void *work, const sd_lint *lwork, sd_lint *info);
  void (*orgqr)(const sd_lint *m, const sd_lint *n, const sd_lint *k, void *a, const sd_lint *lda,
                const void *tau, void *work, const sd_lint *lwork, sd_lint *info);
  void (*gelsd)(const sd_lint *m, const sd_lint *n, const sd_lint *nrhs, void *a,
                const sd_lint *lda, void *b, const sd_lint *ldb, void *s, const void *rcond,
                sd_lint *rank, void *work, const sd_lint *lwork, sd_lint *iwork, sd_lint *info);
} sd_lapack;

typedef struct sd_blas {
  __typeof__(cblas_sgemm) *sgemm;
  __typeof__(cblas_dgemm) *dgemm;
  __typeof__(cblas_sgemv) *sgemv;
  __typeof__(cblas_dgemv) *dgemv;
  __typeof__(cblas_sdot) *sdot;
  __typeof__(cblas_ddot) *ddot;
  void (*set_num_threads)(int);
  int (*get_num_threads)(void);
  char *(*get_corename)(void);
  char *(*get_config)(void);
  sd_lapack lapack[2]; /* [0] single (s...), [1] double (d...) */
} sd_blas;

/* The table, loading OpenBLAS on first use; NULL with the message set
   ("cannot load OpenBLAS (path): why") when it cannot be loaded. */
const sd_blas *sd_blas_get(void);
/* The LAPACK routines for f32 or f64 (loads like sd_blas_get). */
const sd_lapack *sd_lapack_get(sd_dtype dt);

/* Called by sd_set_num_threads (sd.c). OpenBLAS stays single-threaded:
   sonde's pool runs BLAS work in shape-fixed tiles (blas.c explains). */
void sd_blas_set_threads(int n);

/* What was loaded and why (loads OpenBLAS if needed). */
typedef struct sd_blas_info {
  const char *config;   /* openblas_get_config(): "OpenBLAS 0.3.21 ... " */
  const char *core;     /* openblas_get_corename(): the kernels in use */
  const char *source;   /* "user" (OPENBLAS_CORETYPE), "sonde" (chosen here), "auto" (OpenBLAS's) */
  const char *cpu_core; /* the best core this CPU's features allow, or "generic" */
  int threads;          /* openblas_get_num_threads(): 1, see above */
} sd_blas_info;
sd_status sd_blas_info_get(sd_blas_info *out);

#endif
