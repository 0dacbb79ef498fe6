/* rng.h: reproducible random numbers. A counter-based generator,
   Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as
   easy as 1, 2, 3", SC 2011), keyed by a 64-bit seed.

   The generator is a stream of 32-bit words. Word k of (seed, stream) is
   word k mod 4 of Philox(key = seed, counter = (k / 4, stream)), so any word
   is computed directly from its index: fills split over threads give the
   same bits for any thread count, and a draw never depends on the order in
   which elements are computed.

   A generator (sd_gen) is (seed, stream, offset); each fill takes the words
   from offset on and advances offset past them. Element i of a fill of n
   elements uses words offset + w*i ... offset + w*i + w - 1, with w = 1 for
   f32 uniform/normal/exponential and w = 2 for everything else (f64 values,
   integers, bernoulli, randperm): the value of element i depends only on
   (seed, stream, offset + w*i), whatever the tensor's strides. */
#ifndef SD_RNG_H
#define SD_RNG_H

#include "tensor.h"

typedef struct sd_gen {
  uint64_t seed;
  uint64_t stream;
  uint64_t offset;   /* next 32-bit word to use */
} sd_gen;

void sd_gen_init(sd_gen *g, uint64_t seed, uint64_t stream);

/* The block function: 10 rounds on a 4-word counter under a 2-word key. */
void sd_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* n words of the generator's stream from word index first (offset untouched). */
void sd_gen_words(const sd_gen *g, uint64_t first, int64_t n, uint32_t *out);

/* In-place fills of any tensor (views too: values go in logical order).
   Float-only ones reject integer tensors. */
sd_status sd_uniform_(sd_tensor *t, sd_gen *g, double a, double b);      /* [a, b) */
sd_status sd_normal_(sd_tensor *t, sd_gen *g, double mean, double std);
sd_status sd_exponential_(sd_tensor *t, sd_gen *g, double lambda);
/* Integers uniform in [lo, hi), any dtype that holds them. */
sd_status sd_randint_(sd_tensor *t, sd_gen *g, int64_t lo, int64_t hi);
/* 1 with probability p (p == NULL: the number pval; else a tensor that
   broadcasts to t's shape, values in [0, 1]), else 0. */
sd_status sd_bernoulli_(sd_tensor *t, sd_gen *g, const sd_tensor *p, double pval);
/* A random permutation of 1..n (1-based int64), by Fisher-Yates. */
sd_tensor *sd_randperm(int64_t n, sd_gen *g);
/* Samples of category indices (1-based int64) from the rows of probs (1-d
   or 2-d, non-negative weights of any dtype and scale): [k] or [rows, k]. Without
   replacement k must not exceed the number of categories. */
sd_tensor *sd_multinomial(const sd_tensor *probs, int64_t k, bool replacement, sd_gen *g);

#endif
