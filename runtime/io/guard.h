/* guard.h: the one door of runtime/io's file opens. Every reader and
   writer asks sd_io_guard before it opens a path, so a run can (1) record
   each file it read, with its SHA-256 at the moment of the first read, for
   the run's manifest, and (2) be confined (sonde run --safe): reads only
   under its data roots, writes only under its run directory. No Lua here. */
#ifndef SD_IO_GUARD_H
#define SD_IO_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include "../core/sd.h"

/* SD_OK, or SD_EIO "safe mode: reading PATH is not allowed (...)" when
   confined and the path (symlinks resolved) is outside the roots. Records
   a regular file read while recording is on. */
sd_status sd_io_guard(const char *path, bool write);

/* Starts (clearing the list) or stops recording the files read. */
void sd_io_guard_record(bool on);
/* The number of files recorded, and the i-th (0-based): its resolved path;
   *sha256 gets its hex digest when first read. */
size_t sd_io_guard_count(void);
const char *sd_io_guard_read(size_t i, const char **sha256);

/* Confines reads to the directories read_roots (those that exist) and
   writes to write_root. Each half can be set once per process: read roots
   when n > 0, the write root when write_root is not NULL. Until a write
   root is set, a confined process writes nothing; the write root is
   readable too. */
sd_status sd_io_guard_confine(const char *const *read_roots, int n, const char *write_root);
bool sd_io_guard_confined(void);

/* path with symlinks, '.' and '..' resolved (a missing last component is
   allowed: a file about to be written); false + message when it cannot be. */
bool sd_io_resolve(const char *path, char out[4096]);

/* The SHA-256 of a file as hex, computed once per path, size and mtime. */
sd_status sd_io_sha256_file(const char *path, char hex[65]);

#endif
