/* svm.h: the dual SVM solver under probe.svm and probe.mil (svm.c).

   Solves the general box-constrained QP of the SVM dual

     max_a  sum_i p_i a_i - 1/2 sum_ij a_i a_j y_i y_j K_ij
     s.t.   0 <= a_i <= C_i,  sum_i y_i a_i = 0,  y_i in {-1, +1}

   by SMO with LIBSVM's second-order working-set selection (Fan, Chen & Lin
   2005, "WSS 2") and its shrinking heuristic. p_i = 1 is the plain SVM; sMIL puts
   the bag margin (2 - |B|) / |B| there, and per-sample C_i give its two
   boxes. The run stops when the maximal violation m(a) - M(a) of the KKT
   conditions is below eps (LIBSVM's criterion and default 1e-3).

   Kernels: linear x.z, rbf exp(-gamma |x - z|^2), or precomputed (X is
   the [n, n] Gram matrix). Columns of Q_ij = y_i y_j K_ij are computed on
   demand (on the active rows only) from the rows of X and kept in f32, as
   LIBSVM's Qfloat, in an LRU cache of cache_mb; when n^2 floats fit, the
   whole matrix ends up cached. Kernel values, gradients and multipliers
   are f64; everything runs in a fixed order: the same inputs give the
   same bits whatever the thread count. */
#ifndef SD_SVM_H
#define SD_SVM_H

#include "../core/tensor.h"

typedef enum { SD_SVM_LINEAR, SD_SVM_RBF, SD_SVM_PRECOMPUTED } sd_svm_kernel;

typedef struct sd_svm_opts {
  sd_svm_kernel kernel;
  double gamma;      /* rbf: K = exp(-gamma |x - z|^2) */
  double eps;        /* stop when m(a) - M(a) < eps (1e-3) */
  int64_t max_iter;  /* 0: LIBSVM's max(10^7, 100 n) */
  double cache_mb;   /* column cache in MB (200, scikit-learn's cache_size) */
  bool shrinking;    /* LIBSVM's shrinking heuristic (true) */
} sd_svm_opts;

typedef struct sd_svm_result {
  int64_t n_iter;
  bool converged;    /* false: max_iter reached first */
  double b;          /* decision f(x) = sum_i a_i y_i K(x_i, x) + b */
  double obj;        /* the dual objective at a */
  double gap;        /* m(a) - M(a) at a */
  int64_t n_sv, n_bounded; /* a_i > 0; a_i = C_i > 0 */
} sd_svm_result;

void sd_svm_defaults(sd_svm_opts *o);

/* X [n, d] (f32/f64; [n, n] when precomputed), y [n] of -1/+1, p f64 [n]
   or NULL (all 1), C [n] >= 0. *alpha f64 [n]; *w f64 [d] = sum a_i y_i x_i
   for the linear kernel, else NULL. b follows LIBSVM: the mean of
   y_i p_i - sum_j a_j y_j K_ij over free a_i (0 < a_i < C_i), or the
   midpoint of the feasible interval when none is free; rows with C_i = 0
   take no part. Errors: shapes, labels not +-1, C_i < 0 or not finite, a
   class without a row of C_i > 0, interrupt (SD_EINTR). */
sd_status sd_svm_fit(const sd_tensor *X, const sd_tensor *y, const sd_tensor *p,
                     const sd_tensor *C, const sd_svm_opts *o, sd_tensor **alpha,
                     sd_tensor **w, sd_svm_result *r);

#endif
