/* logreg.c: L2-penalised logistic regression (binary and multinomial),
   fitted by L-BFGS (lbfgs.c); the kernel under probe.logistic.

   One evaluation of the objective is a single pass over X in row blocks:
   Z^T = W X_b^T (GEMM), then per row the softmax (or sigmoid), the loss and
   dZ = s_i (P - Y) / n in f64, then G^T += X_b^T dZ (GEMM) while X_b is still
   in cache. Blocks are grouped into at most NCHUNK chunks, each with its own
   gradient accumulator; the chunks' sums are added in chunk order. Block
   and chunk bounds depend on n and d only, so any thread count gives the
   same bits. */
#include "probe.h"
#include "../core/blas.h"
#include "../core/parallel.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NCHUNK 64

typedef struct {
  const sd_blas *bl;
  sd_dtype xdt, pdt; /* X's dtype; the products' (f64 in the polishing phase) */
  int64_t xes, pes, n, d, ldx, rb, nblk, nchunk;
  int K, nw;
  const char *X;
  const int64_t *y;
  const double *sw;
  void *Wc;         /* W in pdt [nw, d] */
  const double *b;  /* intercepts [nw] */
  char *Z;          /* per chunk Z^T [nw, rb] in pdt */
  char *G;          /* per chunk G^T [d, nw] in pdt */
  double *loss;     /* per chunk */
  double *gb;       /* per chunk [nw] */
  double *row;      /* per chunk [2K] */
  double *b0;       /* [nw] zeros: the intercepts of a fit without them */
  int failed;       /* a worker could not allocate its block buffer */
} lr_eval;

static void gemm(const lr_eval *e, int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc) {
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if (e->pdt == SD_F32)
    e->bl->sgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb,
                 (float)beta, c, (int)ldc);
  else
    e->bl->dgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb,
                 beta, c, (int)ldc);
}

static double zget(sd_dtype dt, const char *p) {
  return dt == SD_F32 ? *(const float *)p : *(const double *)p;
}
static void zset(sd_dtype dt, char *p, double v) {
  if (dt == SD_F32) *(float *)p = (float)v;
  else *(double *)p = v;
}

/* log(1 + exp(z)) without overflow */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* Row i's loss; its logits in Z^T's column zr (stride rb) become
   s_i (P - Y) / n. t: [2K]. */
static double row_grad(const lr_eval *e, char *zr, int64_t i, double *gb, double *t) {
  double s = e->sw ? e->sw[i] : 1.0, c = s / (double)e->n;
  int yi = (int)e->y[i] - 1, K = e->K;
  if (e->nw == 1) { /* binary: one logit, class 2 positive */
    double z = zget(e->pdt, zr) + e->b[0], pos = yi == 1;
    double p = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
    double dz = (p - pos) * c;
    zset(e->pdt, zr, dz);
    gb[0] += dz;
    return s * (softplus(z) - pos * z);
  }
  double mx = -INFINITY, sum = 0;
  for (int k = 0; k < K; k++) {
    t[k] = zget(e->pdt, zr + k * e->rb * e->pes) + e->b[k];
    mx = fmax(mx, t[k]);
  }
  for (int k = 0; k < K; k++) sum += (t[K + k] = exp(t[k] - mx));
  double loss = s * (mx + log(sum) - t[yi]);
  for (int k = 0; k < K; k++) {
    double dz = (t[K + k] / sum - (k == yi)) * c;
    zset(e->pdt, zr + k * e->rb * e->pes, dz);
    gb[k] += dz;
  }
  return loss;
}

/* Chunks c0..c1-1. When the products run in f64 over f32 data, each block
   of X is converted into xb (this call's own buffer), so the data stay f32
   in memory and are read at f32's bandwidth. */
static void eval_chunks(int64_t c0, int64_t c1, void *p) {
  lr_eval *e = p;
  double *xb = NULL;
  if (e->pdt != e->xdt && !(xb = malloc((size_t)(e->rb * e->d) * sizeof(double)))) {
    e->failed = 1;
    return;
  }
  for (int64_t c = c0; c < c1 && !sd_interrupt_flag; c++) {
    char *Z = e->Z + c * e->rb * e->nw * e->pes, *G = e->G + c * e->nw * e->d * e->pes;
    double *gb = e->gb + c * e->nw, loss = 0;
    memset(gb, 0, (size_t)e->nw * sizeof(double));
    int64_t b0 = c * e->nblk / e->nchunk, b1 = (c + 1) * e->nblk / e->nchunk;
    for (int64_t blk = b0; blk < b1; blk++) {
      int64_t r0 = blk * e->rb, m = e->n - r0 < e->rb ? e->n - r0 : e->rb, ld = e->ldx;
      const char *Xb = e->X + r0 * e->ldx * e->xes;
      if (xb) {
        for (int64_t i = 0; i < m; i++) {
          const float *src = (const float *)Xb + i * e->ldx;
          for (int64_t j = 0; j < e->d; j++) xb[i * e->d + j] = src[j];
        }
        Xb = (const char *)xb, ld = e->d;
      }
      /* Z^T = W X_b^T, then G^T += X_b^T dZ: of the four ways to lay out
         these thin products, the one OpenBLAS runs fastest (by about 10%) */
      gemm(e, 0, 1, e->nw, m, e->d, e->Wc, e->d, Xb, ld, 0, Z, e->rb);
      for (int64_t i = 0; i < m; i++)
        loss += row_grad(e, Z + i * e->pes, r0 + i, gb, e->row + c * 2 * e->K);
      gemm(e, 1, 1, e->d, e->nw, m, Xb, ld, Z, e->rb, blk == b0 ? 0 : 1, G, e->nw);
    }
    e->loss[c] = loss;
  }
  free(xb);
}

/* What a fit needs besides the parameters: operands in a form BLAS reads,
   checked, and the scratch of the blocked evaluation. */
typedef struct {
  lr_eval e;
  sd_tensor *X, *y, *sw, *Wc, *scratch;
  double l2;
  bool fit_intercept;
} lr_problem;

static void problem_free(lr_problem *p) {
  sd_release(p->X);
  sd_release(p->y);
  sd_release(p->sw);
  sd_release(p->Wc);
  sd_release(p->scratch);
}

static sd_status problem_init(lr_problem *p, const sd_tensor *X, const sd_tensor *y,
                              const sd_tensor *sw, int K, double l2, bool fit_intercept) {
  char s1[64], s2[64];
  memset(p, 0, sizeof *p);
  if (X->ndim != 2 || !sd_dtype_is_float(X->dtype))
    return sd_error(SD_EARG, "probe.logistic: X must be a 2-d f32 or f64 tensor, got %s %s",
                    sd_dtype_name(X->dtype), sd_shape_str(X, s1, sizeof s1));
  int64_t n = X->shape[0], d = X->shape[1];
  if (y->ndim != 1 || y->shape[0] != n)
    return sd_error(SD_ESHAPE, "probe.logistic: y %s does not match X %s (one label per row)",
                    sd_shape_str(y, s2, sizeof s2), sd_shape_str(X, s1, sizeof s1));
  if (sw && (sw->ndim != 1 || sw->shape[0] != n))
    return sd_error(SD_ESHAPE, "probe.logistic: sample weights %s do not match X %s",
                    sd_shape_str(sw, s2, sizeof s2), sd_shape_str(X, s1, sizeof s1));
  if (n < 1 || d < 1 || K < 2 || n > 0x7fffffff || d > 0x7fffffff)
    return sd_error(SD_EARG, "probe.logistic: needs n >= 1 rows, d >= 1 columns and 2 classes"
                    " or more, got X %s and %d classes", sd_shape_str(X, s1, sizeof s1), K);
  if (!(l2 >= 0) || !isfinite(l2))
    return sd_error(SD_EARG, "probe.logistic: l2 must be >= 0, got %g", l2);
  sd_status st = SD_EMEM;
  p->X = X->stride[1] == 1 && X->stride[0] >= d ? sd_retain((sd_tensor *)X) : sd_contiguous(X);
  p->y = p->X ? sd_to_dtype(y, SD_I64) : NULL;
  if (p->y && !sd_is_contiguous(p->y)) {
    sd_tensor *c = sd_contiguous(p->y);
    sd_release(p->y);
    p->y = c;
  }
  if (!p->y) goto fail;
  if (sw) {
    sd_tensor *c = sd_to_dtype(sw, SD_F64);
    p->sw = c ? sd_contiguous(c) : NULL;
    sd_release(c);
    if (!p->sw) goto fail;
  }
  lr_eval *e = &p->e;
  e->xdt = e->pdt = X->dtype;
  e->xes = e->pes = (int64_t)sd_dtype_size(e->xdt);
  e->n = n, e->d = d, e->K = K, e->nw = K == 2 ? 1 : K;
  e->ldx = p->X->stride[0];
  e->X = sd_data(p->X);
  e->y = sd_data(p->y);
  e->sw = p->sw ? sd_data(p->sw) : NULL;
  for (int64_t i = 0; i < n; i++)
    if (e->y[i] < 1 || e->y[i] > K) {
      st = sd_error(SD_EARG, "probe.logistic: y[%lld] = %lld is not a class number 1..%d",
                    (long long)i + 1, (long long)e->y[i], K);
      goto fail;
    }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++)
      if (!isfinite(zget(e->xdt, e->X + (i * e->ldx + j) * e->xes))) {
        st = sd_error(SD_EARG, "probe.logistic: X[%lld][%lld] is %s (NaN or Inf not allowed)",
                      (long long)i + 1, (long long)j + 1,
                      isnan(zget(e->xdt, e->X + (i * e->ldx + j) * e->xes)) ? "NaN" : "Inf");
        goto fail;
      }
  if (!(e->bl = sd_blas_get())) { st = SD_EIO; goto fail; }
  /* a block of X is about 256 KB in f32, so the second product finds it in cache */
  e->rb = (1 << 16) / d;
  e->rb = e->rb < 32 ? 32 : e->rb > 4096 ? 4096 : e->rb;
  e->nblk = (n + e->rb - 1) / e->rb;
  /* each chunk keeps a gradient of nw d numbers: at most about 2^24 in all */
  int64_t cap = ((int64_t)1 << 24) / (e->nw * d);
  e->nchunk = e->nblk < NCHUNK ? e->nblk : NCHUNK;
  if (e->nchunk > cap) e->nchunk = cap > 1 ? cap : 1;
  /* Z, G and Wc sized for f64, the widest the products run in */
  int64_t shape[1] = {8 * (e->nchunk * (e->rb * e->nw + e->nw * d + 1 + e->nw + 2 * K) + e->nw)};
  int64_t wshape[2] = {e->nw, d};
  p->scratch = sd_empty(SD_U8, 1, shape);
  p->Wc = p->scratch ? sd_empty(SD_F64, 2, wshape) : NULL;
  if (!p->Wc) goto fail;
  double *dbl = sd_data(p->scratch);
  e->loss = dbl;
  e->gb = e->loss + e->nchunk;
  e->row = e->gb + e->nchunk * e->nw;
  e->b0 = e->row + e->nchunk * 2 * K;
  memset(e->b0, 0, (size_t)e->nw * sizeof(double));
  e->Z = (char *)(e->b0 + e->nw);
  e->G = e->Z + e->nchunk * e->rb * e->nw * 8;
  e->Wc = sd_data(p->Wc);
  p->l2 = l2;
  p->fit_intercept = fit_intercept;
  return SD_OK;
fail:
  problem_free(p);
  return st;
}

/* f and g at w = [W, b]; b is absent (0) without an intercept. */
static sd_status objective(const double *w, double *f, double *g, void *ctx) {
  lr_problem *p = ctx;
  lr_eval *e = &p->e;
  int64_t nW = e->nw * e->d;
  for (int64_t j = 0; j < nW; j++) zset(e->pdt, (char *)e->Wc + j * e->pes, w[j]);
  e->b = p->fit_intercept ? w + nW : e->b0;
  e->failed = 0;
  sd_parallel_for(e->nchunk, 1, eval_chunks, e);
  if (e->failed) return sd_error(SD_EMEM, "probe.logistic: out of memory for a block of X");
  sd_status st = sd_check_interrupt();
  if (st != SD_OK) return st;
  double loss = 0, reg = 0;
  for (int64_t c = 0; c < e->nchunk; c++) loss += e->loss[c];
  /* g[k d + j] = sum over chunks, in chunk order, of G^T_c[j][k] */
  memset(g, 0, (size_t)nW * sizeof(double));
  for (int64_t c = 0; c < e->nchunk; c++) {
    const char *Gc = e->G + c * nW * e->pes;
    for (int64_t j = 0; j < e->d; j++)
      for (int k = 0; k < e->nw; k++) g[k * e->d + j] += zget(e->pdt, Gc + (j * e->nw + k) * e->pes);
  }
  for (int64_t j = 0; j < nW; j++) {
    g[j] += p->l2 * w[j];
    reg += w[j] * w[j];
  }
  if (p->fit_intercept)
    for (int k = 0; k < e->nw; k++) {
      double s = 0;
      for (int64_t c = 0; c < e->nchunk; c++) s += e->gb[c * e->nw + k];
      g[nW + k] = s;
    }
  *f = loss / (double)e->n + 0.5 * p->l2 * reg;
  return SD_OK;
}

/* f32 products evaluate f to about 1e-7 relative: a stop on the relative
   decrease (or a failed line search) is their noise, not convergence. The
   run then goes on with f64 products (blocks of X converted on the fly), as
   scikit-learn computes throughout. */
static bool refine(void *ctx) {
  lr_problem *p = ctx;
  if (p->e.pdt == SD_F64) return false;
  p->e.pdt = SD_F64, p->e.pes = 8;
  return true;
}

static int64_t nparams(const lr_problem *p) {
  return p->e.nw * p->e.d + (p->fit_intercept ? p->e.nw : 0);
}

sd_status sd_logistic_objective(const sd_tensor *X, const sd_tensor *y, const sd_tensor *sw, int K,
                                double l2, bool fit_intercept, const double *w, double *f,
                                double *g) {
  lr_problem p;
  sd_status st = problem_init(&p, X, y, sw, K, l2, fit_intercept);
  if (st != SD_OK) return st;
  st = objective(w, f, g, &p);
  problem_free(&p);
  return st;
}

sd_status sd_logistic_fit(const sd_tensor *X, const sd_tensor *y, const sd_tensor *sw, int K,
                          const sd_logistic_opts *o, sd_tensor **coef, sd_tensor **intercept,
                          sd_lbfgs_result *r) {
  lr_problem p;
  *coef = *intercept = NULL;
  if (o->max_iter < 0 || !(o->tol >= 0))
    return sd_error(SD_EARG, "probe.logistic: max_iter must be >= 0 and tol >= 0, got %d and %g",
                    o->max_iter, o->tol);
  sd_status st = problem_init(&p, X, y, sw, K, o->l2, o->fit_intercept);
  if (st != SD_OK) return st;
  int64_t np = nparams(&p), nw = p.e.nw, d = p.e.d;
  int64_t wshape[2] = {nw, d}, bshape[1] = {nw};
  sd_tensor *w = sd_zeros(SD_F64, 1, &np);
  *coef = w ? sd_empty(p.e.xdt, 2, wshape) : NULL;
  *intercept = *coef ? sd_zeros(p.e.xdt, 1, bshape) : NULL;
  if (!*intercept) { st = SD_EMEM; goto done; }
  sd_lbfgs_opts lo;
  sd_lbfgs_defaults(&lo);
  lo.max_iter = o->max_iter;
  lo.gtol = o->tol / (double)p.e.n; /* scikit-learn's tol is on the summed objective */
  lo.refine = refine;
  st = sd_lbfgs(np, sd_data(w), objective, &p, &lo, r);
  if (st != SD_OK) goto done;
  const double *wv = sd_data(w);
  for (int64_t j = 0; j < nw * d; j++) sd_set_ptr(p.e.xdt, (char *)sd_data(*coef) + j * p.e.xes, wv[j]);
  if (p.fit_intercept)
    for (int64_t k = 0; k < nw; k++)
      sd_set_ptr(p.e.xdt, (char *)sd_data(*intercept) + k * p.e.xes, wv[nw * d + k]);
done:
  sd_release(w);
  problem_free(&p);
  if (st != SD_OK) {
    sd_release(*coef);
    sd_release(*intercept);
    *coef = *intercept = NULL;
  }
  return st;
}
