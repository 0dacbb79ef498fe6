/* sd.h: what every part of sonde's C core shares: dtypes, status codes,
   the thread-local error message and the interrupt flag. No Lua here. */
#ifndef SD_H
#define SD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define SD_MAXDIM 8

typedef enum { SD_F32, SD_F64, SD_I32, SD_I64, SD_U8, SD_BOOL, SD_NDTYPE } sd_dtype;

/* Status of every fallible core call: SD_OK, or an error whose message
   sd_errmsg() returns. The binding turns the message into a Lua error. */
typedef enum { SD_OK = 0, SD_EARG, SD_ESHAPE, SD_EMEM, SD_EIO, SD_EINTR, SD_EGRAD } sd_status;

sd_status sd_error(sd_status code, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
const char *sd_errmsg(void);

/* Ctrl-C: the REPL sets the flag from a signal handler; long kernels poll it
   between blocks and return SD_EINTR. */
extern volatile int sd_interrupt_flag;
sd_status sd_check_interrupt(void);

size_t sd_dtype_size(sd_dtype dt);
const char *sd_dtype_name(sd_dtype dt);
int sd_dtype_parse(const char *name, sd_dtype *out); /* 1 on success */
bool sd_dtype_is_float(sd_dtype dt);
/* The dtype two operands promote to (PyTorch's rules, without the 0-d
   special cases; Lua numbers are handled by the binding). */
sd_dtype sd_dtype_promote(sd_dtype a, sd_dtype b);

/* Threads for sonde's own kernels (OpenMP) and OpenBLAS. */
void sd_set_num_threads(int n);
int sd_get_num_threads(void);

/* Memory accounting: every storage allocation and release reports its size,
   so the Lua binding can pace its garbage collector. */
typedef void (*sd_mem_hook)(int64_t delta_bytes);
void sd_set_mem_hook(sd_mem_hook hook);
void *sd_malloc(size_t nbytes);   /* 64-byte aligned; NULL + message on failure */
void sd_free(void *p, size_t nbytes);
int64_t sd_mem_in_use(void);
/* An optional cap on tensors plus the bytes charged by sd_mem_charge (the
   Lua heap): an allocation past it fails with a message, so a run stops
   with an error instead of meeting the kernel's OOM killer. 0: no cap. */
void sd_set_mem_limit(int64_t bytes);
int64_t sd_mem_limit(void);
bool sd_mem_charge(int64_t delta); /* false (nothing charged) when over the cap */
int64_t sd_mem_charged(void);

#endif
