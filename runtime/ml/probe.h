/* probe.h: the C kernels of the `probe` module: an L-BFGS minimiser on
   f64 vectors and the fits of the linear probes that need one (logistic
   regression). The Lua side (stdlib/probe_linear.lua) holds the policy:
   labels, class weights, defaults and the fitted objects. */
#ifndef SD_PROBE_H
#define SD_PROBE_H

#include "../core/tensor.h"

/* --- L-BFGS (lbfgs.c) ---
   Minimises a smooth f: R^n -> R from w in place. The stopping rules are
   scipy's L-BFGS-B (what scikit-learn's lbfgs solver runs): max |g_i| <=
   gtol, or a relative decrease (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <=
   ftol, or max_iter iterations. Steps satisfy the strong Wolfe conditions
   (c1 = 1e-3, c2 = 0.9, scipy's values); the first step has length 1 along
   -g / |g|, later ones start at 1. */

/* f(w) into *f and its gradient into g; SD_OK, or an error that stops the
   minimisation (an interrupt, say). */
typedef sd_status (*sd_lbfgs_fn)(const double *w, double *f, double *g, void *ctx);

typedef struct sd_lbfgs_opts {
  int m;          /* history pairs kept (scipy's maxcor: 10) */
  int max_iter;   /* iterations (100) */
  int max_ls;     /* evaluations per line search (20) */
  double gtol;    /* on max |g_i| */
  double ftol;    /* on the relative decrease (scipy: 2.220446049250313e-09) */
  /* NULL, or called where the run would stop on ftol or a failed line
     search: true when it made the objective more precise (f32 products to
     f64, say); the run then goes on from w, re-evaluated, with its memory. */
  bool (*refine)(void *ctx);
} sd_lbfgs_opts;

typedef enum {
  SD_LBFGS_GTOL,     /* converged: max |g_i| <= gtol */
  SD_LBFGS_FTOL,     /* converged: relative decrease <= ftol */
  SD_LBFGS_MAXITER,  /* not converged: max_iter reached */
  SD_LBFGS_LINESEARCH /* not converged: no step along -g decreased f */
} sd_lbfgs_stop;

typedef struct sd_lbfgs_result {
  int n_iter, n_eval;
  double f, gmax;     /* at the returned w */
  sd_lbfgs_stop stop;
} sd_lbfgs_result;

void sd_lbfgs_defaults(sd_lbfgs_opts *o);
sd_status sd_lbfgs(int64_t n, double *w, sd_lbfgs_fn fn, void *ctx, const sd_lbfgs_opts *o,
                   sd_lbfgs_result *r);
const char *sd_lbfgs_stop_name(sd_lbfgs_stop s);

/* --- logistic regression (logreg.c) ---
   Minimises (1/n) sum_i s_i CE(y_i, W x_i + b) + (l2/2) |W|^2, the intercept
   not penalised: scikit-learn's LogisticRegression(C = 1/(l2 n)). K = 2 fits
   one weight vector (the binary form, class 2 positive), K > 2 the full
   softmax with K rows. tol is scikit-learn's: on the gradient of the summed
   objective, n times ours.

   X [n, d] f32 or f64, y i64 [n] of class numbers 1..K, sw f64 [n] or NULL
   (all 1). The products run in X's dtype, softmax, losses and sums in f64;
   an f32 fit that would stop on ftol (f32's noise) goes on with f64
   products, so it ends where an f64 fit does.
   Results: *coef [nw, d] and *intercept [nw] in X's dtype (nw = 1 when K is
   2, else K). Bitwise the same for any thread count: rows go in blocks
   fixed by the shape, and block sums are added in order. */
typedef struct sd_logistic_opts {
  double l2, tol;
  bool fit_intercept;
  int max_iter;
} sd_logistic_opts;

sd_status sd_logistic_fit(const sd_tensor *X, const sd_tensor *y, const sd_tensor *sw, int K,
                          const sd_logistic_opts *o, sd_tensor **coef, sd_tensor **intercept,
                          sd_lbfgs_result *r);

/* The objective and its gradient at w = [W (nw x d, row-major), b (nw)]
   (the same function the fit minimises; for tests). */
sd_status sd_logistic_objective(const sd_tensor *X, const sd_tensor *y, const sd_tensor *sw, int K,
                                double l2, bool fit_intercept, const double *w, double *f,
                                double *g);

#endif
