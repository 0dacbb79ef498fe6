/* unit.h: shared bits of the Check suites: a runner and reference helpers. */
#ifndef SD_UNIT_H
#define SD_UNIT_H

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include "tensor.h"

/* Runs the suite forked (a crash fails one test, not the run) and prints
   Check's summary line, which tests/run.sh totals. */
static inline int unit_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_FORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Deterministic values uniform in [-1, 1) from an LCG. Each test file has
   its own state, starting at UNIT_SEED (define it before including this);
   Check forks every test from the parent's state, so each test starts
   from that seed. */
#ifndef UNIT_SEED
#define UNIT_SEED 1
#endif
static uint64_t unit_lcg = UNIT_SEED;
static inline double unit_urand(void) {
  unit_lcg = unit_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(unit_lcg >> 11) / (double)(1ULL << 52) - 1.0;
}

/* A tensor of given shape filled with unit_urand values; UNIT_RAND(dt, 2, 3)
   takes the shape as arguments. */
static inline sd_tensor *unit_rand(sd_dtype dt, int ndim, const int64_t *shape) {
  sd_tensor *t = sd_empty(dt, ndim, shape);
  ck_assert_ptr_nonnull(t);
  for (int64_t i = 0, n = sd_numel(t); i < n; i++)
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), unit_urand());
  return t;
}
#define UNIT_RAND(dt, ...) \
  unit_rand(dt, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* A tensor of given shape filled with 0, 1, 2, ... (as f64 values). */
static inline sd_tensor *unit_iota(sd_dtype dt, int ndim, const int64_t *shape) {
  sd_tensor *t = sd_empty(dt, ndim, shape);
  ck_assert_ptr_nonnull(t);
  int64_t n = sd_numel(t);
  for (int64_t i = 0; i < n; i++)
    sd_set_ptr(dt, (char *)sd_data(t) + i * (int64_t)sd_dtype_size(dt), (double)i);
  return t;
}

#endif
