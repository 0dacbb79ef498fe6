/* special.c: lgamma, digamma and polygamma, elementwise (special.h).
   lgamma is libm's reentrant lgamma_r. digamma and trigamma use the
   recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then their
   asymptotic series in 1/x^2 (Bernoulli numbers), with the reflection
   formula below 0 (digamma) or 1/2 (trigamma). Higher orders are
   (-1)^(n+1) n! zeta(n + 1, x), the Hurwitz zeta by Euler-Maclaurin
   summation. Accuracy: a few ulps of double (tests/unit/test_special.c
   checks identities and known values). */
#define _DEFAULT_SOURCE /* lgamma_r */
#include "special.h"
#include "parallel.h"
#include <math.h>

static double digamma(double x) {
  if (x == 0) return copysign(INFINITY, -x);
  if (isnan(x) || x == INFINITY) return x;
  if (x < 0) {
    if (x == floor(x)) return NAN;
    /* psi(x) = psi(1 - x) - pi / tan(pi x), with pi x reduced exactly */
    double r = x - floor(x);
    return digamma(1 - x) - M_PI / tan(M_PI * r);
  }
  double acc = 0;
  for (; x < 10; x += 1) acc -= 1 / x;
  /* ln x - 1/(2x) - sum B_2k / (2k x^2k), to k = 7 */
  double z = 1 / (x * x);
  double s = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132 -
             z * (691.0 / 32760 - z * (1.0 / 12)))))));
  return acc + log(x) - 0.5 / x - s;
}

static double trigamma(double x) {
  if (isnan(x)) return x;
  if (x == INFINITY) return 0;
  if (x <= 0 && x == floor(x)) return INFINITY;
  if (x < 0.5) { /* psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x) */
    double s = sin(M_PI * (x - floor(x)));
    return M_PI * M_PI / (s * s) - trigamma(1 - x);
  }
  double acc = 0;
  for (; x < 10; x += 1) acc += 1 / (x * x);
  /* 1/x + 1/(2x^2) + sum B_2k / x^(2k+1), to k = 7 */
  double z = 1 / (x * x);
  double s = z * (1.0 / 6 - z * (1.0 / 30 - z * (1.0 / 42 - z * (1.0 / 30 - z * (5.0 / 66 -
             z * (691.0 / 2730 - z * (7.0 / 6)))))));
  return acc + (1 + 0.5 / x + s) / x;
}

/* Hurwitz zeta(s, q) for s > 1 (an integer here), q not a non-positive
   integer: sum_{k<N} (q+k)^-s, then the tail by Euler-Maclaurin with
   Bernoulli terms B_2j / (2j)! s (s+1) ... (s+2j-2) w^(-s-2j+1), w = q+N. */
static double hurwitz_zeta(double s, double q) {
  static const double b2j_over_fact[] = { /* B_2j / (2j)! */
    1.0 / 12, -1.0 / 720, 1.0 / 30240, -1.0 / 1209600, 1.0 / 47900160,
    -691.0 / 1307674368000.0, 1.0 / 74724249600.0, -3617.0 / 10670622842880000.0,
    43867.0 / 5109094217170944000.0, -174611.0 / 802857662698291200000.0};
  if (q <= 0 && q == floor(q)) return INFINITY;
  double sum = 0;
  int k = 0;
  /* direct terms until q + k is large enough for the tail to converge fast */
  for (; k < 9 || q + k < 9; k++) {
    double t = pow(q + k, -s);
    sum += t;
    if (fabs(t) < 1e-17 * fabs(sum)) return sum;
  }
  double w = q + k, tail = pow(w, 1 - s) / (s - 1) + 0.5 * pow(w, -s);
  double rise = s, wp = pow(w, -s - 1); /* s (s+1)...(s+2j-2), w^(-s-2j+1) */
  for (int j = 0; j < 10; j++) {
    double t = b2j_over_fact[j] * rise * wp;
    tail += t;
    if (fabs(t) < 1e-17 * fabs(sum + tail)) break;
    rise *= (s + 2 * j + 1) * (s + 2 * j + 2);
    wp /= w * w;
  }
  return sum + tail;
}

double sd_polygamma_1(int n, double x) {
  if (n == -1) {
    int sign;
    return lgamma_r(x, &sign);
  }
  if (n == 0) return digamma(x);
  if (n == 1) return trigamma(x);
  if (isnan(x)) return x;
  if (x == INFINITY) return 0;
  double fact = 1;
  for (int i = 2; i <= n; i++) fact *= i;
  return (n % 2 ? 1 : -1) * fact * hurwitz_zeta(n + 1, x);
}

typedef struct { const sd_tensor *x; sd_tensor *o; int n; } job;

static void run(int64_t b, int64_t e, void *ctx) {
  const job *j = ctx;
  const char *xp = (const char *)sd_data(j->x);
  char *op = sd_data(j->o);
  size_t xs = sd_dtype_size(j->x->dtype), os = sd_dtype_size(j->o->dtype);
  for (int64_t i = b; i < e; i++)
    sd_set_ptr(j->o->dtype, op + i * os, sd_polygamma_1(j->n, sd_get_ptr(j->x->dtype, xp + i * xs)));
}

sd_tensor *sd_polygamma(int n, const sd_tensor *x) {
  if (n < -1) {
    sd_error(SD_EARG, "polygamma: order n must be >= 0, got %d", n);
    return NULL;
  }
  if (n > 100) {
    sd_error(SD_EARG, "polygamma: order n = %d is too large (at most 100)", n);
    return NULL;
  }
  sd_dtype dt = sd_dtype_is_float(x->dtype) ? x->dtype : SD_F32;
  sd_tensor *c = sd_contiguous(x), *o = c ? sd_empty(dt, x->ndim, x->shape) : NULL;
  if (!o) {
    sd_release(c);
    return NULL;
  }
  job j = {c, o, n};
  sd_parallel_for(sd_numel(o), 1 << 12, run, &j);
  sd_release(c);
  return o;
}
