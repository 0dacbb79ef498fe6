/* linalg.h: products (BLAS), factorisations (LAPACK) and distances.

   All take f32 or f64 tensors; two float operands of different dtypes are
   computed in the wider one; integer operands are an error ("matmul: needs
   f32 or f64, got i64"), since a silent conversion would hide a cost and
   change exactness. Results are new tensors; raw ops never record autograd
   nodes (ad.h wraps them).

   Layout: BLAS and LAPACK see a 2-d operand as a matrix with a leading
   dimension. A row-major view (strides (ld, 1)) goes as it is, a
   transposed view (strides (1, ld)) goes as the transposed matrix with a
   transpose flag; anything else is copied to contiguous first. LAPACK
   results come back in LAPACK's column-major layout, as PyTorch returns
   them: a tensor of the logical shape with strides (1, rows) (per batch). */
#ifndef SD_LINALG_H
#define SD_LINALG_H

#include "tensor.h"

/* torch.matmul: 1-d.1-d dot (0-d), 2-d mm, 1-d/2-d mv, and batched matmul
   with the batch dims broadcast (a 1-d operand gets a dim added, then
   removed from the result). k = 0 gives zeros. */
sd_tensor *sd_matmul(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_mm(const sd_tensor *a, const sd_tensor *b);   /* 2-d only */
sd_tensor *sd_bmm(const sd_tensor *a, const sd_tensor *b);  /* 3-d, same batch */
sd_tensor *sd_mv(const sd_tensor *a, const sd_tensor *x);   /* 2-d, 1-d */
sd_tensor *sd_dot(const sd_tensor *a, const sd_tensor *b);  /* 1-d, 1-d: 0-d */
sd_tensor *sd_outer(const sd_tensor *a, const sd_tensor *b); /* 1-d, 1-d: 2-d */
/* beta * c + alpha * (a @ b), c broadcast to the product's shape; beta = 0
   ignores c (NaNs in c do not propagate). */
sd_tensor *sd_addmm(const sd_tensor *c, const sd_tensor *a, const sd_tensor *b,
                    double beta, double alpha);

/* LAPACK. Matrices are the last two dims; leading dims are a batch.
   Failures name the function and LAPACK's info, e.g.
   "cholesky: matrix is not positive definite (leading minor 3)". */
sd_tensor *sd_cholesky(const sd_tensor *a, bool upper);      /* A = L L^T or U^T U */
sd_tensor *sd_solve(const sd_tensor *a, const sd_tensor *b); /* A X = B (B [.., n] or [.., n, k]) */
sd_tensor *sd_inverse(const sd_tensor *a);
/* Symmetric eigendecomposition from the lower triangle: eigenvalues
   ascending, eigenvectors as columns. */
sd_status sd_eigh(const sd_tensor *a, sd_tensor **values, sd_tensor **vectors);
/* A = U diag(S) Vh; reduced (k = min(m, n)) unless full. */
sd_status sd_svd(const sd_tensor *a, bool full, sd_tensor **u, sd_tensor **s, sd_tensor **vh);
/* Reduced QR: Q [m, k] with orthonormal columns, R [k, n] upper. */
sd_status sd_qr(const sd_tensor *a, sd_tensor **q, sd_tensor **r);
/* Minimum-norm least squares solution of A X = B (rank-deficient allowed). */
sd_tensor *sd_lstsq(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_det(const sd_tensor *a);
sd_status sd_slogdet(const sd_tensor *a, sd_tensor **sign, sd_tensor **logabsdet);

/* Euclidean distances [n, m] between the rows of a [n, d] and b [m, d],
   by GEMM: |a|^2 + |b|^2 - 2 a.b. Pairs where cancellation could cost
   accuracy are recomputed directly in f64 (see linalg.c), so identical
   rows give exactly 0. squared: the squared distances. */
sd_tensor *sd_cdist(const sd_tensor *a, const sd_tensor *b, bool squared);

/* Checks that a (and b, if not NULL) are f32/f64; *dt: their common dtype. */
sd_status sd_linalg_float(const char *fn, const sd_tensor *a, const sd_tensor *b, sd_dtype *dt);

#endif
