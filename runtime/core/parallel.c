/* parallel.c: a small pthread pool: a job is one range split into equal
   parts, part 0 runs on the caller, the others on sleeping workers. */
#include "parallel.h"
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#define MAXT 64
#define SPIN 20000 /* polls before sleeping: some tens of microseconds */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  int nthreads;          /* wanted, including the caller */
  int started;           /* worker threads alive */
  uint64_t gen;          /* job generation */
  int pending;           /* workers still running the current job */
  int parts;
  int64_t n;
  sd_task_fn fn;
  void *ctx;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       0, 0, 0, 0, 0, 0, 0, 0};

static _Thread_local bool in_task;

static void run_part(int part, int parts, int64_t n, sd_task_fn fn, void *ctx) {
  int64_t b = n * part / parts, e = n * (part + 1) / parts;
  if (b < e) fn(b, e, ctx);
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  uint64_t seen = 0;
  in_task = true;
  for (;;) {
    /* jobs often come back to back (one per op): spin a little before
       sleeping, so the next one starts in microseconds, not a wake-up */
    for (int i = 0; i < SPIN && __atomic_load_n(&P.gen, __ATOMIC_ACQUIRE) == seen; i++) cpu_relax();
    pthread_mutex_lock(&P.mu);
    while (P.gen == seen) pthread_cond_wait(&P.go, &P.mu);
    seen = P.gen;
    if (id >= P.parts) { pthread_mutex_unlock(&P.mu); continue; }
    int parts = P.parts;
    int64_t n = P.n;
    sd_task_fn fn = P.fn;
    void *ctx = P.ctx;
    pthread_mutex_unlock(&P.mu);
    run_part(id, parts, n, fn, ctx);
    pthread_mutex_lock(&P.mu);
    if (__atomic_sub_fetch(&P.pending, 1, __ATOMIC_RELEASE) == 0) pthread_cond_signal(&P.done);
    pthread_mutex_unlock(&P.mu);
  }
  return NULL;
}

void sd_pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > MAXT) n = MAXT;
  P.nthreads = n;
}

int sd_pool_threads(void) {
  if (P.nthreads == 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    P.nthreads = c < 1 ? 1 : c > MAXT ? MAXT : (int)c;
  }
  return P.nthreads;
}


/* A forked child has none of the parent's workers: start afresh. */
static void after_fork_child(void) {
  pthread_mutex_init(&P.mu, NULL);
  pthread_cond_init(&P.go, NULL);
  pthread_cond_init(&P.done, NULL);
  P.started = 0;
  P.pending = 0;
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, after_fork_child); }

void sd_parallel_for(int64_t n, int64_t grain, sd_task_fn fn, void *ctx) {
  int parts = sd_pool_threads();
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (parts > n / grain) parts = (int)(n / grain);
  if (parts <= 1 || in_task) { fn(0, n, ctx); return; }
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_atfork);
  pthread_mutex_lock(&P.mu);
  while (P.started < parts - 1) {
    pthread_t th;
    if (pthread_create(&th, NULL, worker, (void *)(intptr_t)(P.started + 1)) != 0) break;
    pthread_detach(th);
    P.started++;
  }
  if (parts > P.started + 1) parts = P.started + 1;
  P.parts = parts;
  P.n = n;
  P.fn = fn;
  P.ctx = ctx;
  P.pending = parts - 1;
  __atomic_add_fetch(&P.gen, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&P.go);
  pthread_mutex_unlock(&P.mu);
  in_task = true;
  run_part(0, parts, n, fn, ctx);
  in_task = false;
  for (int i = 0; i < SPIN && __atomic_load_n(&P.pending, __ATOMIC_ACQUIRE) > 0; i++) cpu_relax();
  pthread_mutex_lock(&P.mu);
  while (P.pending > 0) pthread_cond_wait(&P.done, &P.mu);
  pthread_mutex_unlock(&P.mu);
}
