/* ad_nn.h: the differentiable layer of the nn kernels (nn.h) and the
   layers and losses built from other differentiable ops.

   Rules of the fused kernels (conv2d, pools, batch_norm, layer_norm,
   embedding, cross_entropy, nll_loss) call the backward kernels and are
   first order only: the gradients they return do not require grad, so a
   create_graph pass through them gives no second derivative. relu and the
   layers written with sd_ad_ ops (linear, dropout, leaky_relu, mse_loss, l1_loss,
   smooth_l1_loss, binary_cross_entropy_with_logits, kl_div) have every
   order. Gradients flow to float inputs only: never to targets, class
   weights, indices or running statistics. */
#ifndef SD_AD_NN_H
#define SD_AD_NN_H

#include "ad.h"
#include "nn.h"
#include "rng.h"

sd_tensor *sd_ad_conv2d(const sd_tensor *x, const sd_tensor *w, const sd_tensor *b,
                        const sd_conv2d_args *a);
/* indices (may be NULL) gets the 1-based positions of the maxima. */
sd_tensor *sd_ad_max_pool2d(const sd_tensor *x, const sd_pool2d_args *a, sd_tensor **indices);
sd_tensor *sd_ad_avg_pool2d(const sd_tensor *x, const sd_pool2d_args *a);
sd_tensor *sd_ad_adaptive_avg_pool2d(const sd_tensor *x, int64_t oh, int64_t ow);
sd_tensor *sd_ad_batch_norm(const sd_tensor *x, sd_tensor *running_mean, sd_tensor *running_var,
                            const sd_tensor *weight, const sd_tensor *bias, bool training,
                            double momentum, double eps);
sd_tensor *sd_ad_layer_norm(const sd_tensor *x, int nnorm, const sd_tensor *weight,
                            const sd_tensor *bias, double eps);
/* weight[idx] for 1-based indices idx of any shape: idx.shape + [D]. */
sd_tensor *sd_ad_embedding(const sd_tensor *idx, const sd_tensor *weight);

/* x wᵀ + b, by addmm over the transposed view of w (no copy); b may be NULL. */
sd_tensor *sd_ad_linear(const sd_tensor *x, const sd_tensor *w, const sd_tensor *b);
/* Zeroes each element with probability p (mask drawn from g) and scales
   the rest by 1/(1-p). */
sd_tensor *sd_ad_dropout(const sd_tensor *x, double p, sd_gen *g);
sd_tensor *sd_ad_leaky_relu(const sd_tensor *x, double slope);
/* max(x, 0); its rule masks the gradient in one pass and records itself,
   so it has every order (act.c). */
sd_tensor *sd_ad_relu(const sd_tensor *x);

/* --- losses (reductions: nn.h) --- */
sd_tensor *sd_ad_cross_entropy(const sd_tensor *logits, const sd_tensor *target,
                               const sd_class_loss_args *a);
sd_tensor *sd_ad_nll_loss(const sd_tensor *logp, const sd_tensor *target,
                          const sd_class_loss_args *a);
sd_tensor *sd_ad_mse_loss(const sd_tensor *x, const sd_tensor *y, sd_reduction r);
sd_tensor *sd_ad_l1_loss(const sd_tensor *x, const sd_tensor *y, sd_reduction r);
sd_tensor *sd_ad_smooth_l1_loss(const sd_tensor *x, const sd_tensor *y, double beta, sd_reduction r);
/* weight (per element, broadcast) and pos_weight (per class, the last
   dim) may be NULL. */
sd_tensor *sd_ad_bce_with_logits(const sd_tensor *x, const sd_tensor *y, const sd_tensor *weight,
                                 const sd_tensor *pos_weight, sd_reduction r);
/* input log-probabilities, target probabilities (or log-probabilities when
   log_target); batchmean divides the sum by the first dim's size. */
sd_tensor *sd_ad_kl_div(const sd_tensor *input, const sd_tensor *target, sd_reduction r,
                        bool log_target);

#endif
