/* blas.c: placeholder: OpenBLAS loading and core selection land with linalg. */
#include "sd.h"

void sd_blas_set_threads(int n) { (void)n; }
