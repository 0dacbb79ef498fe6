/* fuzz_png.c: libFuzzer target of the png reader (make fuzz). */
#include "../../runtime/io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f) return 0;
  sd_release(sd_png_read(f, (int64_t)size, "fuzz"));
  fclose(f);
  return 0;
}
