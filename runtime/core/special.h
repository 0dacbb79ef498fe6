/* special.h: the log-gamma family, elementwise: lgamma, digamma and
   polygamma(n), as torch.lgamma / digamma / polygamma. Integers and bool
   give f32; floats keep their dtype; everything is computed in double. */
#ifndef SD_SPECIAL_H
#define SD_SPECIAL_H

#include "tensor.h"

/* n = -1: lgamma (log |Gamma(x)|); n = 0: digamma; n >= 1: the n-th
   derivative of digamma. Poles: lgamma +inf at 0, -1, -2, ...; digamma
   -+inf at -+0 and NaN at negative integers; polygamma(n >= 1) +inf at
   non-positive integers (as PyTorch). */
sd_tensor *sd_polygamma(int n, const sd_tensor *x);
double sd_polygamma_1(int n, double x); /* one value, for tests and reductions */

#endif
