/* fuzz_npz.c: libFuzzer target of the npz reader (make fuzz). */
#include "../../runtime/io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f) return 0;
  sd_named nt;
  if (sd_npz_read(f, (int64_t)size, "fuzz", &nt) == SD_OK) sd_named_free(&nt);
  fclose(f);
  return 0;
}
