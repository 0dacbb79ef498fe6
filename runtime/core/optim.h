/* optim.h: fused in-place update kernels of the optimizers (stdlib/optim.lua
   holds the policy). Each call updates one parameter tensor and its state
   in a single pass, with PyTorch's formulas and operation order, in the
   parameter's float dtype. All tensors share shape and dtype; the parameter
   and its state must be contiguous, the gradient may have any strides.
   Written tensors get their version bumped. */
#ifndef SD_OPTIM_H
#define SD_OPTIM_H

#include "tensor.h"

/* SGD: d = g + wd p; with momentum, buf = g' on the first step (first),
   else buf = momentum buf + (1 - dampening) d, and d = buf, or d + momentum
   buf with nesterov; p -= lr d. buf may be NULL when momentum is 0. */
sd_status sd_sgd_step_(sd_tensor *p, const sd_tensor *g, sd_tensor *buf, double lr, double momentum,
                       double dampening, double wd, bool nesterov, bool first);

/* Adam (step counts from 1): with decoupled (AdamW) p *= 1 - lr wd, else
   g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
   p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). */
sd_status sd_adam_step_(sd_tensor *p, const sd_tensor *g, sd_tensor *m, sd_tensor *v, int64_t step,
                        double lr, double b1, double b2, double eps, double wd, bool decoupled);

#endif
