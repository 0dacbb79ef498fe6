/* io.h: sonde's file readers and writers: IDX (plain and gzip), NumPy
   .npy/.npz, safetensors, CSV and PNG, plus the shared file helpers
   (bounded reads, element decoding, atomic writes). No Lua here.

   Every reader works on a FILE* (a real file, or fmemopen for the fuzzers)
   whose total size is known, and checks each declared size against the
   bytes actually there BEFORE allocating, so a hostile file cannot ask for
   a huge allocation. Errors name the file and the problem. Every writer
   goes through sd_wfile: a temp file in the same directory, fsync, rename;
   the temp file is removed on any error.

   dtypes read (file type -> sonde dtype):
     f16 bf16 f32 -> f32;  f64 -> f64;  i8 i16 i32 -> i32;  i64 -> i64;
     u8 -> u8;  u16 u32 -> i32/i64;  bool -> bool.  Big-endian data is
     swapped. What sonde writes is always one of f32 f64 i32 i64 u8 bool,
     little-endian. */
#ifndef SD_IO_H
#define SD_IO_H

#include <stdio.h>
#include "../core/tensor.h"

#define SD_IO_MAX_RATIO 1032          /* deflate's largest expansion */
#define SD_IO_MAX_HEADER (100 << 20)  /* npy / safetensors headers */

/* --- file.c: reading --- */

/* Opens a regular file for reading; *size gets its length. */
FILE *sd_io_open(const char *path, int64_t *size);
/* Exactly n bytes, or SD_EIO "NAME: truncated (WHAT)". */
sd_status sd_io_read(FILE *f, void *buf, size_t n, const char *name, const char *what);
/* n bytes from the current position into a malloc'd buffer (n is checked
   against the file by the caller). NULL + message on failure. */
uint8_t *sd_io_slurp(FILE *f, size_t n, const char *name);

/* An element type as a file stores it: kind 'f' float, 'h' bfloat16,
   'i' signed, 'u' unsigned, 'b' bool; size in bytes; big-endian or not. */
typedef struct { char kind; int size; bool big; } sd_ftype;

/* The dtype a file type is read into; 0 + message when not supported. */
int sd_ftype_dtype(sd_ftype ft, sd_dtype *dt, const char *name);
sd_ftype sd_dtype_ftype(sd_dtype dt);  /* little-endian, for writers */
const char *sd_ftype_str(sd_ftype ft, char *buf, size_t n); /* "<f4" */
/* A new contiguous tensor of the given shape from numel elements of type
   ft: read from f (or, when f is NULL, decoded from the memory at src).
   The caller has checked the bytes are there. */
sd_tensor *sd_io_read_array(FILE *f, const void *src, sd_ftype ft, int ndim,
                            const int64_t *shape, const char *name);
/* Number of elements of a shape, or -1 when it exceeds `limit` (or the
   product of its nonzero sizes exceeds 2^46). */
int64_t sd_io_numel(int ndim, const int64_t *shape, int64_t limit);

/* --- file.c: writing --- */

typedef struct sd_wfile {
  FILE *f;
  char *path, *tmp;
  bool failed;
} sd_wfile;

sd_status sd_wfile_open(sd_wfile *w, const char *path);
/* Writes; a failure is remembered and reported by commit. */
void sd_wfile_write(sd_wfile *w, const void *p, size_t n);
/* The contiguous little-endian bytes of t. */
void sd_wfile_tensor(sd_wfile *w, const sd_tensor *t);
/* Flush, fsync, rename over path. On any failure the temp file is removed
   and the error set. Always releases w. */
sd_status sd_wfile_commit(sd_wfile *w);
void sd_wfile_abort(sd_wfile *w);

/* --- idx.c --- */
sd_tensor *sd_idx_read(FILE *f, int64_t size, const char *name); /* plain or gzip */
sd_tensor *sd_idx_load(const char *path);

/* --- npy.c --- */
sd_tensor *sd_npy_read(FILE *f, int64_t size, const char *name);
sd_tensor *sd_npy_load(const char *path);
sd_status sd_npy_save(const char *path, const sd_tensor *t);
/* npz: *names and *tensors are malloc'd arrays of n entries (names
   malloc'd, tensors owned), members in archive order. */
typedef struct sd_named {
  int n;
  char **names;
  sd_tensor **tensors;
  char *meta;        /* safetensors: __metadata__ as flat "k\0v\0...\0" */
  size_t meta_len;
} sd_named;
void sd_named_free(sd_named *nt);
/* Appends one entry; takes over name (malloc'd) and t, freed on failure. */
sd_status sd_named_add(sd_named *nt, char *name, sd_tensor *t, const char *file);
sd_status sd_npz_read(FILE *f, int64_t size, const char *name, sd_named *out);
sd_status sd_npz_load(const char *path, sd_named *out);
/* Writes the members in the given order (the binding sorts); deflate
   compresses each member. */
sd_status sd_npz_save(const char *path, const sd_named *in, bool deflate);

/* --- safetensors.c --- */
sd_status sd_safetensors_read(FILE *f, int64_t size, const char *name, sd_named *out);
sd_status sd_safetensors_load(const char *path, sd_named *out);
sd_status sd_safetensors_save(const char *path, const sd_named *in);

/* --- csv.c --- */
typedef struct sd_csv {
  sd_tensor *X;      /* rows x columns, f32 or f64 */
  int ncol;
  char **columns;    /* names (from the header, or "1", "2", ...) */
  int64_t *missing;  /* per column: empty / NA / NaN cells */
  /* categorical columns: vocab[j] lists nvocab[j] values, codes 1.. */
  char ***vocab;
  int *nvocab;
} sd_csv;
void sd_csv_free(sd_csv *c);
sd_status sd_csv_parse(const char *buf, size_t n, char sep, bool header, sd_dtype dt,
                       const char *name, sd_csv *out);
sd_status sd_csv_load(const char *path, char sep, bool header, sd_dtype dt, sd_csv *out);

/* --- png.c --- */
/* C x H x W, C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palettes and
   transparency chunks expanded, bit depths below 8 scaled to 8): u8 for
   8-bit images, f32 in [0, 1] (v / 65535) for 16-bit ones. */
sd_tensor *sd_png_read(FILE *f, int64_t size, const char *name);
sd_tensor *sd_png_load(const char *path);
/* C x H x W with C = 1..4 (gray, gray+alpha, RGB, RGBA), or H x W (gray);
   bits 8 or 16. Floats are clamped to [0, 1] and scaled; integers are
   taken as they are and must lie in 0 .. 2^bits - 1. */
sd_status sd_png_save(const char *path, const sd_tensor *t, int bits);

#endif
