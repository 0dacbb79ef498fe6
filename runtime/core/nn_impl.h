/* nn_impl.h: small helpers the nn kernels share (conv.c, pool.c, norm.c,
   loss.c). Kernels are written once over a flag d (f64 when true, else
   f32); the accessors below let the compiler specialise each inlined body
   for the two dtypes without a macro template. */
#ifndef SD_NN_IMPL_H
#define SD_NN_IMPL_H

#include "nn.h"

#define SD_INLINE static inline __attribute__((always_inline))

SD_INLINE double ld(const void *p, int64_t i, bool d) {
  return d ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
SD_INLINE void st(void *p, int64_t i, double v, bool d) {
  if (d) ((double *)p)[i] = v;
  else ((float *)p)[i] = (float)v;
}

/* t as a contiguous tensor of dtype dt (a new reference; t itself when it
   already is one). */
static inline sd_tensor *sd_nn_dense(const sd_tensor *t, sd_dtype dt) {
  sd_tensor *c = sd_to_dtype(t, dt);
  if (!c) return NULL;
  sd_tensor *r = sd_contiguous(c);
  sd_release(c);
  return r;
}

/* A float dtype check naming the function and argument. */
static inline sd_status sd_nn_float(const char *fn, const char *arg, const sd_tensor *t) {
  if (!sd_dtype_is_float(t->dtype))
    return sd_error(SD_EARG, "%s: %s must be f32 or f64, got %s", fn, arg, sd_dtype_name(t->dtype));
  return SD_OK;
}

#endif
