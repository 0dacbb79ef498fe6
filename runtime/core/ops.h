/* ops.h: the elementwise and reduction op families of the tensor core.
   Each family has one dispatcher taking an op enum (sd_unary, sd_binary,
   sd_reduce, sd_dimwise, ...), so autograd hooks one place per family.

   Dtypes follow PyTorch: binary ops promote (sd_dtype_promote); true
   division and atan2 of integers give f32, so do the float-only unary ops
   (exp, log, ...); comparisons and logical ops give bool. f32 computes in
   f32, f64 in f64, i32 in i32, other integers in i64.

   Reductions are deterministic: every result is the same bits for any
   thread count. f32 sums are accumulated in f32 over 16 interleaved lanes
   within fixed SD_BLOCK blocks, lanes and blocks then combined pairwise
   (a cascade like PyTorch's); a reduction over a non-last dim sums rows in
   groups of SD_ROWGROUP into a second accumulator. */
#ifndef SD_OPS_H
#define SD_OPS_H

#include "tensor.h"

/* --- elementwise --- */

typedef enum {
  SD_ADD, SD_SUB, SD_MUL, SD_DIV, SD_POW, SD_FMOD, SD_REMAINDER,
  SD_MAXIMUM, SD_MINIMUM, SD_ATAN2,
  SD_EQ, SD_NE, SD_LT, SD_LE, SD_GT, SD_GE,   /* -> bool */
  SD_LOGICAL_AND, SD_LOGICAL_OR,              /* -> bool */
  SD_NBINOP
} sd_binop;

typedef enum {
  SD_NEG, SD_ABS, SD_SIGN, SD_EXP, SD_LOG, SD_LOG1P, SD_EXPM1, SD_SQRT, SD_RSQRT,
  SD_SIN, SD_COS, SD_TANH, SD_SIGMOID, SD_RELU,
  SD_GELU,      /* x/2 (1 + erf(x/sqrt 2)), PyTorch's default */
  SD_SOFTPLUS,  /* log(1 + e^x), x itself above 20 (beta 1, threshold 20) */
  SD_FLOOR, SD_CEIL, SD_ROUND /* half to even */, SD_RECIPROCAL, SD_SQUARE,
  SD_ISNAN, SD_ISINF, SD_LOGICAL_NOT,         /* -> bool */
  SD_NUNOP
} sd_unop;

extern const char *const sd_binop_names[]; /* "add", "sub", ... */
extern const char *const sd_unop_names[];  /* "neg", "abs", ... */

/* Result dtypes, for bindings and autograd. */
sd_dtype sd_binary_dtype(sd_binop op, sd_dtype a, sd_dtype b);
sd_dtype sd_unary_dtype(sd_unop op, sd_dtype x);

/* a op b with NumPy broadcasting. Integer fmod/remainder by zero is an
   error; maximum/minimum propagate NaN. */
sd_tensor *sd_binary(sd_binop op, const sd_tensor *a, const sd_tensor *b);
/* self = self op b in place: b must broadcast to self's shape and the result
   dtype must cast to self's (no float into an integer tensor). Bumps the
   storage version. */
sd_status sd_binary_(sd_binop op, sd_tensor *self, const sd_tensor *b);

sd_tensor *sd_unary(sd_unop op, const sd_tensor *x);
/* In place: the result dtype must be x's own (exp_ of an i64 is an error). */
sd_status sd_unary_(sd_unop op, sd_tensor *x);

/* cond ? a : b, broadcasting all three; cond nonzero counts as true;
   the result has the promoted dtype of a and b. */
sd_tensor *sd_where(const sd_tensor *cond, const sd_tensor *a, const sd_tensor *b);

/* min(max(x, lo), hi) in x's dtype; pass -INFINITY / INFINITY for no bound.
   NaN stays NaN; lo > hi gives hi everywhere, as PyTorch. */
sd_tensor *sd_clamp(const sd_tensor *x, double lo, double hi);
sd_status sd_clamp_(sd_tensor *x, double lo, double hi);

/* --- reductions --- */

#define SD_NODIM (-1000) /* the dim argument meaning "over all elements" */
#define SD_ROWGROUP 64    /* rows summed before joining the column total */

typedef enum {
  SD_SUM,       /* integers and bool -> i64 */
  SD_MEAN,      /* floats only, as PyTorch */
  SD_PROD,      /* integers and bool -> i64 */
  SD_AMAX, SD_AMIN,     /* same dtype; NaN propagates */
  SD_ARGMAX, SD_ARGMIN, /* i64, 1-based, first occurrence; NaN counts as the extreme */
  SD_VAR, SD_STD,       /* floats only; arg = correction (1: unbiased) */
  SD_NORM,              /* floats only; arg = p: 1, 2, INFINITY or any p > 0 */
  SD_LOGSUMEXP,         /* floats only */
  SD_ALL, SD_ANY,       /* -> bool */
  SD_NREDOP
} sd_redop;

extern const char *const sd_redop_names[];

/* Reduces x over dim (0-based, negative from the end) or over all elements
   (SD_NODIM). keepdim keeps the reduced dim(s) with size 1. An empty
   reduction gives the identity for sum/prod/all/any and NaN for mean/var;
   amax/amin/argmax/argmin of nothing are errors. */
sd_tensor *sd_reduce(sd_redop op, const sd_tensor *x, int dim, bool keepdim, double arg);

/* max(dim)/min(dim) as PyTorch: values and 1-based i64 indices of the first
   extreme. op is SD_AMAX or SD_AMIN. *values and *indices are new. */
sd_status sd_reduce_indexed(sd_redop op, const sd_tensor *x, int dim, bool keepdim,
                            sd_tensor **values, sd_tensor **indices);

/* --- ops along one dim that keep the shape --- */

typedef enum {
  SD_CUMSUM, SD_CUMPROD, /* integers and bool -> i64; f32 accumulates in f64 */
  SD_SOFTMAX, SD_LOG_SOFTMAX, /* max-shifted; integers compute in f32 */
  SD_NDIMOP
} sd_dimop;

extern const char *const sd_dimop_names[];

sd_tensor *sd_dimwise(sd_dimop op, const sd_tensor *x, int dim);

#endif
