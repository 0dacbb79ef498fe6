/* conv_wino.h: 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3), for
   conv.c (forward, and the input gradient, which is such a convolution of
   the output gradient with the flipped, transposed weight). */
#ifndef SD_CONV_WINO_H
#define SD_CONV_WINO_H

#include "blas.h"
#include "nn_impl.h"

/* y [n, cout, oh, ow] = conv(x [n, cin, h, w], weight) + bias, with
   oh = h + 2 ph - 2, ow = w + 2 pw - 2. */
typedef struct {
  int64_t n, cin, h, w, cout, ph, pw, groups;
} sd_wino_shape;

/* Worth it: enough channels for the GEMMs to dominate (shape only, so the
   choice never depends on threads). */
bool sd_wino_fits(int64_t cing, int64_t coutg);

/* w is the convolution's weight [cout, cin/groups, 3, 3], or with adjoint
   the weight [cin, cout/groups, 3, 3] of the convolution whose input
   gradient this is (flipped and transposed here). bias may be NULL. x, w,
   bias, y contiguous, of one float dtype (d: f64). SD_EMEM when scratch
   cannot be had; SD_EINTR when interrupted. */
sd_status sd_wino_conv(const sd_blas *bl, bool d, const char *x, const char *w, bool adjoint,
                       const char *bias, char *y, const sd_wino_shape *s);

#endif
