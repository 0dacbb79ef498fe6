/* nn.h: the raw kernels of neural-network layers and losses: 2-d
   convolution (conv.c), pooling (pool.c), batch and layer normalisation
   (norm.c), cross-entropy and nll (loss.c), each with the fused backward
   kernel its autograd rule calls (ad_nn.h records them).

   Layout is NCHW. Inputs are f32 or f64 (one dtype per call); results are
   new contiguous tensors. Kernels split over samples or channels with
   sd_parallel_for; a sum over the batch (weight and bias gradients, batch
   statistics) runs in a fixed order, so results are the same bits for any
   thread count. Class targets and pooling indices are 1-based i64. */
#ifndef SD_NN_H
#define SD_NN_H

#include "tensor.h"

/* --- convolution --- */

typedef struct {
  int64_t stride[2], padding[2], dilation[2], groups;
} sd_conv2d_args;

/* x [N, Cin, H, W] * w [Cout, Cin/groups, kh, kw] + b [Cout] (b may be NULL). */
sd_tensor *sd_conv2d(const sd_tensor *x, const sd_tensor *w, const sd_tensor *b,
                     const sd_conv2d_args *a);
/* Gradients of conv2d from gout [N, Cout, OH, OW]; each of gx, gw, gb is
   computed only when its pointer is not NULL. */
sd_status sd_conv2d_backward(const sd_tensor *gout, const sd_tensor *x, const sd_tensor *w,
                             const sd_conv2d_args *a, sd_tensor **gx, sd_tensor **gw,
                             sd_tensor **gb);

/* --- pooling (x [N, C, H, W] or [C, H, W]) --- */

typedef struct {
  int64_t kernel[2], stride[2], padding[2], dilation[2];
  bool ceil_mode;
  bool count_include_pad; /* avg_pool2d only; PyTorch's default is true */
} sd_pool2d_args;

/* Max over each window; *indices (when not NULL) gets the 1-based flat
   position of the maximum within its H*W plane, i64. NaN counts as the max. */
sd_tensor *sd_max_pool2d(const sd_tensor *x, const sd_pool2d_args *a, sd_tensor **indices);
/* gout scattered to the positions of the maxima, into a tensor of x's shape. */
sd_tensor *sd_max_pool2d_backward(const sd_tensor *gout, const sd_tensor *indices, int ndim,
                                  const int64_t *xshape);
sd_tensor *sd_avg_pool2d(const sd_tensor *x, const sd_pool2d_args *a);
sd_tensor *sd_avg_pool2d_backward(const sd_tensor *gout, const sd_pool2d_args *a, int ndim,
                                  const int64_t *xshape);
/* Output oh x ow; window i spans [floor(i H/oh), ceil((i+1) H/oh)), as PyTorch. */
sd_tensor *sd_adaptive_avg_pool2d(const sd_tensor *x, int64_t oh, int64_t ow);
sd_tensor *sd_adaptive_avg_pool2d_backward(const sd_tensor *gout, int ndim, const int64_t *xshape);

/* --- normalisation --- */

/* Batch norm of x [N, C, ...] over all dims but C. training: normalise by
   the batch's mean and biased variance, return them in *mean and *invstd
   (1/sqrt(var + eps), [C]) and, when running_mean/var are not NULL, update
   them in place: r = (1 - momentum) r + momentum s, with the unbiased
   variance, as PyTorch. Not training: normalise by the running statistics
   (then *mean, *invstd get them too). weight and bias may be NULL. */
sd_tensor *sd_batch_norm(const sd_tensor *x, sd_tensor *running_mean, sd_tensor *running_var,
                         const sd_tensor *weight, const sd_tensor *bias, bool training,
                         double momentum, double eps, sd_tensor **mean, sd_tensor **invstd);
/* Gradients given the saved mean and invstd; training says whether mean
   and invstd came from the batch (then they depend on x). */
sd_status sd_batch_norm_backward(const sd_tensor *gout, const sd_tensor *x, const sd_tensor *weight,
                                 const sd_tensor *mean, const sd_tensor *invstd, bool training,
                                 sd_tensor **gx, sd_tensor **gw, sd_tensor **gb);

/* Layer norm over the last nnorm dims of x; weight, bias (those dims'
   shape) may be NULL. *mean and *invstd: one per normalised row. */
sd_tensor *sd_layer_norm(const sd_tensor *x, int nnorm, const sd_tensor *weight,
                         const sd_tensor *bias, double eps, sd_tensor **mean, sd_tensor **invstd);
sd_status sd_layer_norm_backward(const sd_tensor *gout, const sd_tensor *x, int nnorm,
                                 const sd_tensor *weight, const sd_tensor *mean,
                                 const sd_tensor *invstd, sd_tensor **gx, sd_tensor **gw,
                                 sd_tensor **gb);

/* --- classification losses --- */

typedef enum { SD_REDUCE_NONE, SD_REDUCE_MEAN, SD_REDUCE_SUM, SD_REDUCE_BATCHMEAN } sd_reduction;
extern const char *const sd_reduction_names[]; /* "none", "mean", "sum", "batchmean" */

typedef struct {
  const sd_tensor *weight;  /* [C] per-class weights, or NULL */
  double label_smoothing;   /* cross_entropy only */
  sd_reduction reduction;   /* none, mean or sum */
  bool has_ignore;
  int64_t ignore_index;     /* 1-based class whose rows count for nothing */
} sd_class_loss_args;

/* Cross-entropy of logits [N, C] (or [C]) against 1-based class targets
   [N] (or 0-d), fused: log_softmax then the weighted, smoothed nll, as
   torch.nn.functional.cross_entropy (including its normalisation of the
   smoothing term). Result: [N] for reduction none, else 0-d. */
sd_tensor *sd_cross_entropy(const sd_tensor *logits, const sd_tensor *target,
                            const sd_class_loss_args *a);
/* d loss / d logits, given gout (the loss's shape). */
sd_tensor *sd_cross_entropy_backward(const sd_tensor *gout, const sd_tensor *logits,
                                     const sd_tensor *target, const sd_class_loss_args *a);
/* Negative log-likelihood of log-probabilities [N, C] (or [C]). */
sd_tensor *sd_nll_loss(const sd_tensor *logp, const sd_tensor *target, const sd_class_loss_args *a);
sd_tensor *sd_nll_loss_backward(const sd_tensor *gout, const sd_tensor *logp,
                                const sd_tensor *target, const sd_class_loss_args *a);

#endif
