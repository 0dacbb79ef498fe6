/* ops_simd.h: what the op kernels (ops_*.c) share so their loops vectorize:
   the kernel attribute and a branch-free expf. Private to the core.

   The build uses -O2, where GCC only vectorizes loops whose trip count is a
   multiple of the vector width, and float compares count as control flow
   while traps are observable. SD_KERNEL lifts both for one function and
   compiles it twice, for AVX2 and for the baseline, picked at load time.
   No option here changes a result: no FMA, no reassociation (sums keep
   explicit lanes), so both versions give the same bits. */
#ifndef SD_OPS_SIMD_H
#define SD_OPS_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(SD_NO_CLONES)
#define SD_VECOPT optimize("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math", \
                           "no-math-errno")
#define SD_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"), SD_VECOPT))
#define SD_INLINE static inline __attribute__((always_inline, SD_VECOPT))
#else
#define SD_KERNEL
#define SD_INLINE static inline
#endif

/* e^x in f32 within 2 ulp, without branches: x = n ln2 + r with
   |r| <= ln2/2, e^r by Cephes' polynomial, 2^n built in the exponent bits
   in two halves, so that results reaching the subnormal range round right
   and overflow and underflow give inf and 0 by themselves. NaN stays NaN. */
SD_INLINE float sd_expf(float x) {
  float v = x < -104.0f ? -104.0f : x;
  v = v > 89.0f ? 89.0f : v;
  float t = v * 1.44269504088896341f + 12582912.0f; /* round to nearest integer */
  uint32_t ti; /* unsigned: a NaN's bits must not overflow */
  memcpy(&ti, &t, 4);
  float n = t - 12582912.0f;
  float r = v - n * 0.693359375f + n * 2.12194440e-4f;
  float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
              4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t ni = ti - 0x4B400000u, n1 = (uint32_t)((int32_t)ni >> 1), n2 = ni - n1;
  uint32_t b1 = (n1 + 127u) << 23, b2 = (n2 + 127u) << 23;
  float s1, s2;
  memcpy(&s1, &b1, 4);
  memcpy(&s2, &b2, 4);
  return p * s1 * s2;
}

#endif
