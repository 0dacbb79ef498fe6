/* sha256.h: SHA-256 (FIPS 180-4), for the provenance of runs: recipe
   text, input files and artifacts are named by their digest. */
#ifndef SD_SHA256_H
#define SD_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct sd_sha256 {
  uint32_t h[8];
  uint64_t bytes;       /* message length so far */
  uint8_t block[64];
  size_t used;          /* bytes waiting in block */
} sd_sha256;

void sd_sha256_init(sd_sha256 *s);
void sd_sha256_update(sd_sha256 *s, const void *data, size_t n);
/* Writes the digest as 64 lowercase hex digits and a NUL to hex[65]. */
void sd_sha256_hex(sd_sha256 *s, char hex[65]);

#endif
