/* attack.h: the C kernels of the `attack` module. The Lua side
   (stdlib/attack*.lua) holds the policy and calls the model; here only the
   elementwise update of an attack step, fused into one pass because on small
   models it costs as much as the model's own forward and backward. */
#ifndef SD_ATTACK_H
#define SD_ATTACK_H

#include "../core/tensor.h"

/* One projected sign step of L-inf PGD, in place on adv:
     adv = clamp(x + clamp(adv + alpha sign(g) - x, -eps, eps), lo, hi)
   (no range clamp when clip is false; alpha < 0 descends). adv, x, g:
   contiguous, one shape, one float dtype (f32 or f64). sign(0) = 0. */
sd_status sd_attack_linf_step(sd_tensor *adv, const sd_tensor *x, const sd_tensor *g,
                              double alpha, double eps, bool clip, double lo, double hi);

#endif
