/* tfile.h: sonde's native tensor file: named tensors, a header that says
   where each one's bytes are, and the bytes. Nothing in it is executed.

   Layout, all integers little-endian:
     0   8  magic "SONDE\0T1"
     8   4  u32 version (1)
     12  4  u32 count: number of entries
     16  8  u64 header_bytes: these 24 bytes plus all entries
     24  .. count entries, sorted by name (bytewise, unique):
            u16 name_len, name (name_len bytes, no NUL, at most 4096)
            u8 dtype (0 f32, 1 f64, 2 i32, 3 i64, 4 u8, 5 bool), u8 ndim (<= 8)
            i64 shape[ndim]
            u64 offset (from the file start, a multiple of 64), u64 nbytes
     then zero padding; each entry's data is at its offset, 64-byte aligned,
     contiguous row-major little-endian; the file is padded to a multiple of
     64 bytes. A single tensor is saved as one entry with the empty name.

   Loading checks the whole header against the real file size before any
   tensor is allocated, so a truncated or hostile file gives an error naming
   the file and the problem, and no allocation exceeds the file's size.
   Saving writes "<path>.tmp.<pid>" in the same directory, fsyncs and
   renames it over path; on any error the temp file is removed and path is
   untouched. */
#ifndef SD_TFILE_H
#define SD_TFILE_H

#include "../core/tensor.h"

#define SD_TFILE_MAXNAME 4096

/* Writes n named tensors (any strides; names need not be sorted, they are
   sorted here, and must be unique). */
sd_status sd_tfile_save(const char *path, int n, const char *const *names,
                        sd_tensor *const *tensors);

/* An open file whose header has been read and checked. */
typedef struct sd_tfile sd_tfile;
sd_tfile *sd_tfile_open(const char *path);
int sd_tfile_count(const sd_tfile *f);
const char *sd_tfile_name(const sd_tfile *f, int i);
sd_tensor *sd_tfile_read(sd_tfile *f, int i);   /* a new tensor with entry i */
void sd_tfile_close(sd_tfile *f);               /* NULL is fine */

#endif
