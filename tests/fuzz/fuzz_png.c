/* fuzz_png.c: libFuzzer target of the png reader (make fuzz).
   libpng rejects a critical chunk whose CRC is wrong, so nearly every
   mutation would stop at the first chunk; the harness rewrites each whole
   chunk's CRC before reading, and mutations reach the chunk handlers,
   the transformations and the pixel rows. */
#include "../../runtime/io/io.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *p = malloc(size ? size : 1);
  if (!p) return 0;
  memcpy(p, data, size);
  for (size_t at = 8; at + 12 <= size;) {
    size_t len = (size_t)p[at] << 24 | (size_t)p[at + 1] << 16 | (size_t)p[at + 2] << 8 | p[at + 3];
    if (len > size - at - 12) break;
    uLong crc = crc32(0, p + at + 4, (uInt)(len + 4));
    for (int i = 0; i < 4; i++) p[at + 8 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
    at += len + 12;
  }
  FILE *f = fmemopen(p, size, "rb");
  if (f) {
    sd_release(sd_png_read(f, (int64_t)size, "fuzz"));
    fclose(f);
  }
  free(p);
  return 0;
}
