/* conv_ref.h: conv2d by its definition in f64, the reference of the conv
   tests (test_nn.c: general cases; test_conv.c: the fast paths). */
#ifndef SD_CONV_REF_H
#define SD_CONV_REF_H
#include <string.h>
#include "nn.h"

typedef struct { int64_t n, cin, h, w, cout, kh, kw; sd_conv2d_args a; } conv_case;

static inline int64_t osz(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* out, gx, gw, gb by the definition: 7 loops (and the group's offset). */
static inline void conv_ref(const conv_case *c, const sd_tensor *x, const sd_tensor *w, const sd_tensor *b,
                     const sd_tensor *gout, double *out, double *gx, double *gw, double *gb) {
  int64_t oh = osz(c->h, c->kh, c->a.stride[0], c->a.padding[0], c->a.dilation[0]);
  int64_t ow = osz(c->w, c->kw, c->a.stride[1], c->a.padding[1], c->a.dilation[1]);
  int64_t cig = c->cin / c->a.groups, cog = c->cout / c->a.groups;
  memset(gx, 0, sizeof(double) * c->n * c->cin * c->h * c->w);
  memset(gw, 0, sizeof(double) * c->cout * cig * c->kh * c->kw);
  memset(gb, 0, sizeof(double) * c->cout);
  for (int64_t n = 0; n < c->n; n++)
    for (int64_t co = 0; co < c->cout; co++)
      for (int64_t i = 0; i < oh; i++)
        for (int64_t j = 0; j < ow; j++) {
          int64_t o = ((n * c->cout + co) * oh + i) * ow + j;
          double s = b ? sd_get_flat(b, co) : 0, g = sd_get_flat(gout, o);
          gb[co] += g;
          for (int64_t ci = 0; ci < cig; ci++)
            for (int64_t ki = 0; ki < c->kh; ki++)
              for (int64_t kj = 0; kj < c->kw; kj++) {
                int64_t ih = i * c->a.stride[0] - c->a.padding[0] + ki * c->a.dilation[0];
                int64_t iw = j * c->a.stride[1] - c->a.padding[1] + kj * c->a.dilation[1];
                if (ih < 0 || ih >= c->h || iw < 0 || iw >= c->w) continue;
                int64_t xi = ((n * c->cin + co / cog * cig + ci) * c->h + ih) * c->w + iw;
                int64_t wi = ((co * cig + ci) * c->kh + ki) * c->kw + kj;
                s += sd_get_flat(x, xi) * sd_get_flat(w, wi);
                gx[xi] += g * sd_get_flat(w, wi);
                gw[wi] += g * sd_get_flat(x, xi);
              }
          out[o] = s;
        }
}

#endif
