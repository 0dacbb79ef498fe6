/* parallel.h: sonde's own worker pool for its kernels (OpenBLAS keeps its
   own). Workers sleep on a condition variable rather than spin, so they do
   not steal the cores OpenBLAS is using between two kernels.

   Determinism: sd_parallel_for only splits index ranges. Kernels that
   reduce must combine partial results over blocks whose boundaries do not
   depend on the thread count (SD_BLOCK), in a fixed order. */
#ifndef SD_PARALLEL_H
#define SD_PARALLEL_H

#include <stdint.h>

#define SD_BLOCK 4096 /* reduction block: fixed, independent of threads */

typedef void (*sd_task_fn)(int64_t begin, int64_t end, void *ctx);

/* Runs fn over [0, n) split into one contiguous range per thread; runs
   inline when n < grain or one thread is set. Not reentrant: a task that
   calls sd_parallel_for again runs that inner loop inline. */
void sd_parallel_for(int64_t n, int64_t grain, sd_task_fn fn, void *ctx);

void sd_pool_set_threads(int n);
int sd_pool_threads(void);

#endif
