/* ad.h: the differentiable layer. Each sd_ad_ function computes with the
   raw op and, when an input requires grad in grad mode, records a node
   whose rule is written with sd_ad_ functions again, so gradients of
   gradients work (create_graph). The bindings call these. */
#ifndef SD_AD_H
#define SD_AD_H

#include "autograd.h"
#include "ops.h"

/* a + b of equal shapes (gradient accumulation); records only when asked. */
sd_tensor *sd_ad_add(const sd_tensor *a, const sd_tensor *b, bool differentiable);
/* Sum g over the dims that broadcasting added or expanded, back to shape. */
sd_tensor *sd_ad_sum_to(const sd_tensor *g, int ndim, const int64_t *shape);

/* elementwise, reductions and dim-wise ops (ops.h), differentiable */
sd_tensor *sd_ad_binary(sd_binop op, const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_unary(sd_unop op, const sd_tensor *x);
sd_tensor *sd_ad_where(const sd_tensor *cond, const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_clamp(const sd_tensor *x, double lo, double hi);
/* polygamma(order, x), order -1 being lgamma (special.h) */
sd_tensor *sd_ad_polygamma(int order, const sd_tensor *x);
sd_tensor *sd_ad_reduce(sd_redop op, const sd_tensor *x, int dim, bool keepdim, double arg);
sd_tensor *sd_ad_dimwise(sd_dimop op, const sd_tensor *x, int dim);

/* products (linalg.h), differentiable */
sd_tensor *sd_ad_matmul(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_mm(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_bmm(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_mv(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_dot(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_outer(const sd_tensor *a, const sd_tensor *b);
sd_tensor *sd_ad_addmm(const sd_tensor *c, const sd_tensor *a, const sd_tensor *b, double beta,
                       double alpha);

/* indexing and joining (index.h), differentiable. take_along records the
   values of sort/topk/kthvalue as a gather of their indices from t. */
sd_tensor *sd_ad_index_select(const sd_tensor *t, int dim, const sd_tensor *idx);
sd_tensor *sd_ad_gather(const sd_tensor *t, int dim, const sd_tensor *idx);
sd_tensor *sd_ad_masked_select(const sd_tensor *t, const sd_tensor *mask);
sd_tensor *sd_ad_take_along(const sd_tensor *t, int dim, const sd_tensor *values,
                            const sd_tensor *indices);
sd_tensor *sd_ad_masked_fill(const sd_tensor *t, const sd_tensor *mask, const sd_tensor *value);
sd_tensor *sd_ad_cat(int n, sd_tensor *const *ts, int dim);
sd_tensor *sd_ad_stack(int n, sd_tensor *const *ts, int dim);
sd_tensor *sd_ad_flip(const sd_tensor *t, int ndims, const int *dims);
sd_tensor *sd_ad_tril(const sd_tensor *t, int64_t k);
sd_tensor *sd_ad_triu(const sd_tensor *t, int64_t k);

/* The explicit mark of an op that has no gradient rule (yet): SD_OK when
   no input needs grad, else an error saying the op is not differentiable.
   Ops with discrete results (comparisons, argmax, sort indices) need no
   mark: their results simply never require grad. */
sd_status sd_ad_nondiff(const char *fn, int nin, sd_tensor *const *in);

/* views and copies (tensor.h), differentiable */
sd_tensor *sd_ad_view(const sd_tensor *t, int ndim, const int64_t *shape);
sd_tensor *sd_ad_reshape(const sd_tensor *t, int ndim, const int64_t *shape);
sd_tensor *sd_ad_transpose(const sd_tensor *t, int d0, int d1);
sd_tensor *sd_ad_permute(const sd_tensor *t, const int *perm);
sd_tensor *sd_ad_narrow(const sd_tensor *t, int dim, int64_t start, int64_t len);
sd_tensor *sd_ad_select(const sd_tensor *t, int dim, int64_t index);
sd_tensor *sd_ad_slice(const sd_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
sd_tensor *sd_ad_squeeze(const sd_tensor *t, int dim);
sd_tensor *sd_ad_unsqueeze(const sd_tensor *t, int dim);
sd_tensor *sd_ad_expand(const sd_tensor *t, int ndim, const int64_t *shape);
sd_tensor *sd_ad_flatten(const sd_tensor *t, int start, int end);
sd_tensor *sd_ad_unfold(const sd_tensor *t, int dim, int64_t size, int64_t step);
sd_tensor *sd_ad_contiguous(const sd_tensor *t);
sd_tensor *sd_ad_clone(const sd_tensor *t);
sd_tensor *sd_ad_to_dtype(const sd_tensor *t, sd_dtype dt);

#endif
