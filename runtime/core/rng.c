/* rng.c: Philox4x32-10 and the distributions built on its word stream
   (see rng.h for how words map to elements). Fills run in parallel over
   element ranges; each range computes its own words from their indices. */
#include "rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "parallel.h"

/* --- the block function, from the paper's definition ---
   A round multiplies counter words 0 and 2 by the constants M0, M1, swaps
   the high and low halves into place and xors in the other two words and
   the round key; the key grows by the Weyl constants W0, W1 each round. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox_round(uint32_t c[4], const uint32_t k[2]) {
  uint64_t p0 = (uint64_t)PHILOX_M0 * c[0], p1 = (uint64_t)PHILOX_M1 * c[2];
  uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
  uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
  c[0] = hi1 ^ c[1] ^ k[0];
  c[1] = lo1;
  c[2] = hi0 ^ c[3] ^ k[1];
  c[3] = lo0;
}

void sd_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k[2] = {key[0], key[1]};
  for (int r = 0; r < 10; r++) {
    if (r > 0) { k[0] += PHILOX_W0; k[1] += PHILOX_W1; }
    philox_round(c, k);
  }
  memcpy(out, c, sizeof c);
}

void sd_gen_init(sd_gen *g, uint64_t seed, uint64_t stream) {
  g->seed = seed;
  g->stream = stream;
  g->offset = 0;
}

void sd_gen_words(const sd_gen *g, uint64_t first, int64_t n, uint32_t *out) {
  const uint32_t key[2] = {(uint32_t)g->seed, (uint32_t)(g->seed >> 32)};
  uint64_t block = first >> 2;
  int skip = (int)(first & 3);
  for (int64_t i = 0; i < n; block++, skip = 0) {
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)g->stream,
                       (uint32_t)(g->stream >> 32)};
    uint32_t r[4];
    sd_philox4x32_10(ctr, key, r);
    for (int j = skip; j < 4 && i < n; j++) out[i++] = r[j];
  }
}

/* --- words to numbers --- */

static inline double u24(uint32_t x) { return (double)(x >> 8) * 0x1p-24; }          /* [0,1) */
static inline double u53(const uint32_t *x) {                                         /* [0,1) */
  return (double)((((uint64_t)x[0] << 32) | x[1]) >> 11) * 0x1p-53;
}
/* Uniform in [0,1) from one word (f32) or two (f64). */
static inline double unif(const uint32_t *x, int w) { return w == 1 ? u24(x[0]) : u53(x); }
/* Uniform in (0,1], for logarithms: 32 or 53 bits. */
static inline double unif_open0(const uint32_t *x, int w) {
  return w == 1 ? ((double)x[0] + 1.0) * 0x1p-32 : 1.0 - u53(x);
}
static inline uint64_t w64(const uint32_t *x) { return ((uint64_t)x[0] << 32) | x[1]; }

/* --- fills --- */

typedef enum { K_UNIFORM, K_NORMAL, K_EXPONENTIAL, K_RANDINT, K_BERNOULLI } fill_kind;

typedef struct {
  fill_kind kind;
  sd_dtype dt;
  char *out;            /* contiguous */
  int w;                /* words per element */
  uint64_t base;        /* word index of element 0 */
  const sd_gen *g;
  double a, b;          /* uniform [a,b); normal mean, std; exponential lambda */
  int64_t lo;           /* randint */
  uint64_t range;
  const double *p;      /* bernoulli probabilities, contiguous; NULL: a */
} fill_job;

#define CHUNK 256

static void store(const fill_job *j, int64_t i, double v) {
  switch (j->dt) {
  case SD_F32: ((float *)j->out)[i] = (float)v; break;
  case SD_F64: ((double *)j->out)[i] = v; break;
  default: sd_set_ptr(j->dt, j->out + i * (int64_t)sd_dtype_size(j->dt), v); break;
  }
}

/* Box-Muller on pairs: elements 2q and 2q+1 share the words of both, and
   get r cos(theta) and r sin(theta). */
static void fill_normal(const fill_job *j, int64_t b, int64_t e) {
  uint32_t x[4 * CHUNK];
  for (int64_t q0 = b >> 1, qend = ((e - 1) >> 1) + 1; q0 < qend; q0 += CHUNK) {
    int64_t nq = qend - q0 < CHUNK ? qend - q0 : CHUNK;
    sd_gen_words(j->g, j->base + (uint64_t)(2 * j->w * q0), 2 * j->w * nq, x);
    for (int64_t q = 0; q < nq; q++) {
      const uint32_t *xq = x + 2 * j->w * q;
      double r = sqrt(-2.0 * log(unif_open0(xq, j->w)));
      double th = 2.0 * M_PI * unif(xq + j->w, j->w);
      int64_t i = 2 * (q0 + q);
      if (i >= b && i < e) store(j, i, j->a + j->b * r * cos(th));
      if (i + 1 >= b && i + 1 < e) store(j, i + 1, j->a + j->b * r * sin(th));
    }
  }
}

static void fill_task(int64_t b, int64_t e, void *vj) {
  const fill_job *j = vj;
  if (j->kind == K_NORMAL) { fill_normal(j, b, e); return; }
  uint32_t x[2 * CHUNK];
  for (int64_t i0 = b; i0 < e; i0 += CHUNK) {
    int64_t n = e - i0 < CHUNK ? e - i0 : CHUNK;
    sd_gen_words(j->g, j->base + (uint64_t)(j->w * i0), j->w * n, x);
    for (int64_t k = 0; k < n; k++) {
      const uint32_t *xk = x + j->w * k;
      int64_t i = i0 + k;
      switch (j->kind) {
      case K_UNIFORM: {
        double v = j->a + (j->b - j->a) * unif(xk, j->w);
        /* rounding must not reach the open end */
        if (v >= j->b) v = nextafter(j->b, -INFINITY);
        if (j->dt == SD_F32 && (float)v >= (float)j->b) v = nextafterf((float)j->b, -INFINITY);
        store(j, i, v);
        break;
      }
      case K_EXPONENTIAL:
        store(j, i, -log(unif_open0(xk, j->w)) / j->a);
        break;
      case K_RANDINT: {
        /* Lemire's multiply-shift of a 64-bit word: floor(x * range / 2^64).
           No rejection loop, so each element uses exactly two words; each
           value's probability is off 1/range by under range/2^64 (< 2^-32
           relative for ranges up to 2^32). */
        uint64_t v = (uint64_t)(((unsigned __int128)w64(xk) * j->range) >> 64);
        sd_seti_ptr(j->dt, j->out + i * (int64_t)sd_dtype_size(j->dt), (int64_t)((uint64_t)j->lo + v));
        break;
      }
      case K_BERNOULLI:
        store(j, i, u53(xk) < (j->p ? j->p[i] : j->a) ? 1.0 : 0.0);
        break;
      default: break;
      }
    }
  }
}

/* Runs the job into t: directly when t is contiguous, else into a
   contiguous buffer copied in, so a view gets the values a fresh tensor of
   its shape would. Advances the generator past the words used. */
static sd_status run_fill(sd_tensor *t, sd_gen *g, fill_job *j) {
  int64_t n = sd_numel(t);
  sd_tensor *buf = sd_is_contiguous(t) ? sd_retain(t) : sd_empty(t->dtype, t->ndim, t->shape);
  if (!buf) return SD_EMEM;
  j->dt = t->dtype;
  j->out = sd_data(buf);
  j->g = g;
  j->base = g->offset;
  sd_parallel_for(n, 8192, fill_task, j);
  int64_t used = j->kind == K_NORMAL ? (n + 1) / 2 * 2 : n;
  g->offset += (uint64_t)(used * j->w);
  sd_status st = buf == t ? SD_OK : sd_copy_(t, buf);
  sd_release(buf);
  if (st == SD_OK) sd_bump_version(t);
  return st;
}

static sd_status need_float(const sd_tensor *t, const char *fn) {
  if (sd_dtype_is_float(t->dtype)) return SD_OK;
  return sd_error(SD_EARG, "%s: needs a f32 or f64 tensor, got %s", fn, sd_dtype_name(t->dtype));
}

static int words_per(sd_dtype dt) { return dt == SD_F32 ? 1 : 2; }

sd_status sd_uniform_(sd_tensor *t, sd_gen *g, double a, double b) {
  if (need_float(t, "uniform_")) return SD_EARG;
  if (!(a < b) || !isfinite(b - a))
    return sd_error(SD_EARG, "uniform_: needs from < to, both finite, got [%g, %g)", a, b);
  fill_job j = {.kind = K_UNIFORM, .w = words_per(t->dtype), .a = a, .b = b};
  return run_fill(t, g, &j);
}

sd_status sd_normal_(sd_tensor *t, sd_gen *g, double mean, double std) {
  if (need_float(t, "normal_")) return SD_EARG;
  if (!(std >= 0) || !isfinite(std) || !isfinite(mean))
    return sd_error(SD_EARG, "normal_: needs a finite mean and std >= 0, got mean %g, std %g",
                    mean, std);
  fill_job j = {.kind = K_NORMAL, .w = words_per(t->dtype), .a = mean, .b = std};
  return run_fill(t, g, &j);
}

sd_status sd_exponential_(sd_tensor *t, sd_gen *g, double lambda) {
  if (need_float(t, "exponential_")) return SD_EARG;
  if (!(lambda > 0) || !isfinite(lambda))
    return sd_error(SD_EARG, "exponential_: needs lambda > 0, got %g", lambda);
  fill_job j = {.kind = K_EXPONENTIAL, .w = words_per(t->dtype), .a = lambda};
  return run_fill(t, g, &j);
}

sd_status sd_randint_(sd_tensor *t, sd_gen *g, int64_t lo, int64_t hi) {
  if (lo >= hi)
    return sd_error(SD_EARG, "randint: needs low < high, got [%lld, %lld)", (long long)lo,
                    (long long)hi);
  static const int64_t lim[SD_NDTYPE][2] = {
    [SD_F32] = {-(1LL << 24), 1LL << 24}, [SD_F64] = {-(1LL << 53), 1LL << 53},
    [SD_I32] = {INT32_MIN, INT32_MAX}, [SD_I64] = {INT64_MIN, INT64_MAX},
    [SD_U8] = {0, 255}, [SD_BOOL] = {0, 1}};
  if (lo < lim[t->dtype][0] || hi - 1 > lim[t->dtype][1])
    return sd_error(SD_EARG, "randint: range [%lld, %lld) does not fit %s", (long long)lo,
                    (long long)hi, sd_dtype_name(t->dtype));
  fill_job j = {.kind = K_RANDINT, .w = 2, .lo = lo, .range = (uint64_t)hi - (uint64_t)lo};
  return run_fill(t, g, &j);
}

sd_status sd_bernoulli_(sd_tensor *t, sd_gen *g, const sd_tensor *p, double pval) {
  fill_job j = {.kind = K_BERNOULLI, .w = 2, .a = pval};
  if (!p) {
    if (!(pval >= 0 && pval <= 1))
      return sd_error(SD_EARG, "bernoulli: probability must be in [0, 1], got %g", pval);
    return run_fill(t, g, &j);
  }
  sd_tensor *pe = sd_expand(p, t->ndim, t->shape);
  if (!pe) {
    char a[128], b[128];
    return sd_error(SD_ESHAPE, "bernoulli: probabilities of shape %s do not broadcast to %s",
                    sd_shape_str(p, a, sizeof a), sd_shape_str(t, b, sizeof b));
  }
  sd_tensor *pd = sd_empty(SD_F64, t->ndim, t->shape);
  sd_status st = pd ? sd_copy_(pd, pe) : SD_EMEM;
  sd_release(pe);
  if (st != SD_OK) { sd_release(pd); return st; }
  const double *pv = sd_data(pd);
  for (int64_t i = 0, n = sd_numel(pd); i < n; i++)
    if (!(pv[i] >= 0 && pv[i] <= 1)) {
      sd_error(SD_EARG, "bernoulli: probabilities must be in [0, 1], got %g", pv[i]);
      sd_release(pd);
      return SD_EARG;
    }
  j.p = pv;
  st = run_fill(t, g, &j);
  sd_release(pd);
  return st;
}

/* --- permutations and sampling --- */

sd_tensor *sd_randperm(int64_t n, sd_gen *g) {
  if (n < 0) {
    sd_error(SD_EARG, "randperm: n must not be negative, got %lld", (long long)n);
    return NULL;
  }
  sd_tensor *t = sd_empty(SD_I64, 1, &n);
  if (!t) return NULL;
  int64_t *v = sd_data(t);
  for (int64_t i = 0; i < n; i++) v[i] = i + 1;
  /* Fisher-Yates from the top: step i swaps v[i] with v[j], j uniform in
     [0, i], from words 2i and 2i+1 (multiply-shift as in randint) */
  uint32_t x[2 * CHUNK];
  for (int64_t hi = n - 1; hi >= 1; hi -= CHUNK) {
    int64_t lo = hi - CHUNK + 1 < 1 ? 1 : hi - CHUNK + 1;
    sd_gen_words(g, g->offset + (uint64_t)(2 * lo), 2 * (hi - lo + 1), x);
    for (int64_t i = hi; i >= lo; i--) {
      int64_t j = (int64_t)(((unsigned __int128)w64(x + 2 * (i - lo)) * (uint64_t)(i + 1)) >> 64);
      int64_t tmp = v[i]; v[i] = v[j]; v[j] = tmp;
    }
  }
  g->offset += (uint64_t)(2 * n);
  return t;
}

typedef struct { double key; int64_t idx; } keyed;

static int keyed_cmp(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* With replacement: sample s of row r inverts the cumulative weights at a
   uniform from words 2(r k + s). Without: the exponential race, where
   category c gets key E_c / w_c (E_c exponential from words 2(r m + c)) and
   the k smallest keys, in order, are a draw without replacement. */
sd_tensor *sd_multinomial(const sd_tensor *probs, int64_t k, bool replacement, sd_gen *g) {
  char sh[128];
  if (probs->ndim < 1 || probs->ndim > 2 || probs->shape[probs->ndim - 1] == 0) {
    sd_error(SD_EARG, "multinomial: needs a non-empty 1-d or 2-d tensor of weights, got %s",
             sd_shape_str(probs, sh, sizeof sh));
    return NULL;
  }
  int64_t rows = probs->ndim == 2 ? probs->shape[0] : 1, m = probs->shape[probs->ndim - 1];
  if (k < 0 || (!replacement && k > m)) {
    sd_error(SD_EARG, "multinomial: cannot draw %lld samples %s from %lld categories",
             (long long)k, replacement ? "with replacement" : "without replacement", (long long)m);
    return NULL;
  }
  sd_tensor *w = sd_to_dtype(probs, SD_F64), *wc = w ? sd_contiguous(w) : NULL;
  sd_release(w);
  if (!wc) return NULL;
  const double *pw = sd_data(wc);
  for (int64_t r = 0; r < rows; r++) {
    double sum = 0;
    int64_t pos = 0;
    for (int64_t c = 0; c < m; c++) {
      double v = pw[r * m + c];
      if (!(v >= 0) || !isfinite(v)) {
        sd_release(wc);
        sd_error(SD_EARG, "multinomial: weights must be finite and >= 0, got %g", v);
        return NULL;
      }
      sum += v;
      pos += v > 0;
    }
    if (sum <= 0 || (!replacement && pos < k)) {
      sd_release(wc);
      sd_error(SD_EARG, "multinomial: row %lld has %lld categories of positive weight, "
               "%lld samples asked", (long long)r + 1, (long long)pos, (long long)k);
      return NULL;
    }
  }
  int64_t oshape[2] = {rows, k};
  sd_tensor *out = probs->ndim == 2 ? sd_empty(SD_I64, 2, oshape) : sd_empty(SD_I64, 1, &k);
  int64_t per = replacement ? k : m;
  double *cum = malloc(sizeof(double) * (size_t)m);
  keyed *key = replacement ? NULL : malloc(sizeof(keyed) * (size_t)m);
  uint32_t *x = malloc(sizeof(uint32_t) * 2 * (size_t)(per ? per : 1));
  if (!out || !cum || !x || (!replacement && !key)) {
    sd_release(out); free(cum); free(key); free(x);
    if (out) sd_error(SD_EMEM, "multinomial: out of memory");
    return NULL;
  }
  int64_t *o = sd_data(out);
  for (int64_t r = 0; r < rows; r++) {
    const double *wr = pw + r * m;
    sd_gen_words(g, g->offset + (uint64_t)(2 * r * per), 2 * per, x);
    if (replacement) {
      double s = 0;
      for (int64_t c = 0; c < m; c++) cum[c] = s += wr[c];
      for (int64_t i = 0; i < k; i++) {
        double u = u53(x + 2 * i) * s;
        int64_t lo = 0, hi = m - 1; /* first c with cum[c] > u */
        while (lo < hi) {
          int64_t mid = (lo + hi) / 2;
          if (cum[mid] > u) hi = mid; else lo = mid + 1;
        }
        while (wr[lo] == 0 && lo > 0) lo--; /* u rounded onto a zero-weight tail */
        o[r * k + i] = lo + 1;
      }
    } else {
      for (int64_t c = 0; c < m; c++)
        key[c] = (keyed){wr[c] > 0 ? -log(1.0 - u53(x + 2 * c)) / wr[c] : INFINITY, c};
      qsort(key, (size_t)m, sizeof *key, keyed_cmp);
      for (int64_t i = 0; i < k; i++) o[r * k + i] = key[i].idx + 1;
    }
  }
  g->offset += (uint64_t)(2 * rows * per);
  free(cum); free(key); free(x);
  sd_release(wc);
  return out;
}
