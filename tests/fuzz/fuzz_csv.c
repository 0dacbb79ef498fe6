/* fuzz_csv.c: libFuzzer target of the CSV reader (make fuzz). The first
   byte picks the separator and whether a header is read. */
#include "../../runtime/io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  char sep = ",;\t|"[data[0] & 3];
  sd_csv c;
  if (sd_csv_parse((const char *)data + 1, size - 1, sep, data[0] & 4, SD_F32, "fuzz", &c) == SD_OK)
    sd_csv_free(&c);
  return 0;
}
