/* index.h: indexing, joining and sorting: gather/scatter and their index_*
   forms, masks, cat/stack, one_hot, flips and rolls, triangles and
   diagonals (ops_index.c); sort, topk, kthvalue, unique, bincount
   (ops_sort.c).

   As everywhere in the core, dims are 0-based (negative counts from the
   end) and index tensors hold 1-based positions: i64, or i32 on the way in.
   An index outside 1..size is an error naming the function, the index and
   the dim size. Each op is its own function so autograd can pair it with
   its backward: gather with scatter_add, index_select with index_add, cat
   with narrow, sort/topk/kthvalue with gather of their indices. */
#ifndef SD_INDEX_H
#define SD_INDEX_H

#include "tensor.h"

/* --- gather and scatter --- */
/* out[..., j, ...] = t[..., idx[j], ...] along dim; idx is 0-d or 1-d. */
sd_tensor *sd_index_select(const sd_tensor *t, int dim, const sd_tensor *idx);
/* out[i] = t[i with i_dim replaced by idx[i]]; out has idx's shape, which
   must not exceed t's in any dim but dim. */
sd_tensor *sd_gather(const sd_tensor *t, int dim, const sd_tensor *idx);
/* t[i with i_dim replaced by idx[i]] = src[i] (or += for scatter_add), for
   every i of idx's shape, in row-major order: with repeated indices the
   last write wins. src is converted to t's dtype; a 0-d src is a value. */
sd_status sd_scatter_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src);
sd_status sd_scatter_add_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src);
/* t[..., idx[j], ...] (+)= src[..., j, ...] along dim; idx 0-d or 1-d. */
sd_status sd_index_add_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src);
sd_status sd_index_copy_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *src);
sd_status sd_index_fill_(sd_tensor *t, int dim, const sd_tensor *idx, const sd_tensor *value);

/* --- masks --- */
/* The elements of t where mask (bool, broadcast with t) is true, 1-d. */
sd_tensor *sd_masked_select(const sd_tensor *t, const sd_tensor *mask);
/* t[mask] = value; mask broadcasts to t's shape, value is 0-d. */
sd_status sd_masked_fill_(sd_tensor *t, const sd_tensor *mask, const sd_tensor *value);
/* The 1-based positions of the nonzero elements, [count, ndim] i64. */
sd_tensor *sd_nonzero(const sd_tensor *t);

/* --- joining --- */
/* Concatenation along dim; dtypes promote. 1-d empty tensors are skipped. */
sd_tensor *sd_cat(int n, sd_tensor *const *ts, int dim);
/* Same-shape tensors stacked along a new dim (0..ndim). */
sd_tensor *sd_stack(int n, sd_tensor *const *ts, int dim);
/* Sizes of the pieces of split (size > 0) and chunk (n > 0) along a dim of
   length len, into sizes[] (room for len+1 entries); returns their count. */
int64_t sd_split_sizes(int64_t len, int64_t size, int64_t *sizes);
int64_t sd_chunk_sizes(int64_t len, int64_t n, int64_t *sizes);
/* labels (1-based integers) -> labels.shape + [num_classes] of 0/1 in dt;
   num_classes < 0 takes the largest label. */
sd_tensor *sd_one_hot(const sd_tensor *labels, int64_t num_classes, sd_dtype dt);

/* --- rearranging (copies unless said otherwise) --- */
sd_tensor *sd_flip(const sd_tensor *t, int ndims, const int *dims);
/* Roll by shifts[i] along dims[i]; ndims 0 rolls the flattened tensor by
   shifts[0]. Elements pushed off one end come back at the other. */
sd_tensor *sd_roll(const sd_tensor *t, int ndims, const int64_t *shifts, const int *dims);
/* Tile t reps[i] times along each dim (nreps >= ndim; t gains leading dims). */
sd_tensor *sd_repeat(const sd_tensor *t, int nreps, const int64_t *reps);
/* Lower/upper triangle of the last two dims, keeping diagonals j - i <= k
   (tril) or >= k (triu); the rest is zero. */
sd_tensor *sd_tril(const sd_tensor *t, int64_t k);
sd_tensor *sd_triu(const sd_tensor *t, int64_t k);
/* 1-d -> square matrix with t on diagonal k; 2-d -> copy of diagonal k. */
sd_tensor *sd_diag(const sd_tensor *t, int64_t k);
/* A view: the diagonal (offset k) of dims d1, d2, as a new last dim. */
sd_tensor *sd_diagonal(const sd_tensor *t, int64_t k, int d1, int d2);

/* --- sorting (ops_sort.c) ---
   Stable: equal elements keep their order. NaN counts as larger than every
   number (last ascending, first descending), -0 equals 0, as in PyTorch.
   Long rows, or many rows, are split over threads; the result does not
   depend on the thread count. */
sd_status sd_sort(const sd_tensor *t, int dim, bool descending, sd_tensor **values,
                  sd_tensor **indices);
/* The k largest (or smallest) along dim, sorted, ties by position. */
sd_status sd_topk(const sd_tensor *t, int64_t k, int dim, bool largest, sd_tensor **values,
                  sd_tensor **indices);
/* The k-th smallest (k 1-based) along dim; dim removed unless keepdim. */
sd_status sd_kthvalue(const sd_tensor *t, int64_t k, int dim, bool keepdim, sd_tensor **values,
                      sd_tensor **indices);
/* Distinct values of the flattened t, ascending (sorted) or in order of
   first appearance; NaNs count as one value. inverse (t's shape, 1-based
   into values) and counts are made when their pointers are not NULL. */
sd_status sd_unique(const sd_tensor *t, bool sorted, sd_tensor **values, sd_tensor **inverse,
                    sd_tensor **counts);
/* out[v] = number (or summed weights) of elements equal to v, for the
   values v = 0..max of a 1-d non-negative integer t (PyTorch's semantics:
   bins are values, not positions, so bin v sits at 1-based position v+1);
   length max(max+1, minlength). i64 counts; weights give f64, or f32 for
   f32 weights. */
sd_tensor *sd_bincount(const sd_tensor *t, const sd_tensor *weights, int64_t minlength);

#endif
