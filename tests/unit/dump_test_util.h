/*
 * dump_test_util.h -- helpers shared by the dump writer/reader tests:
 * private temporary directories, small writers, reading a dump whole.
 * Linked into every unit test binary, hence the dumptest_ prefix.
 */
#ifndef DUMP_TEST_UTIL_H
#define DUMP_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "dump_reader.h"
#include "writer.h"

/* A fresh 0700 directory under /tmp; the path is static storage per call
 * slot (at most 4 live at once). */
const char *dumptest_mkdtemp(void);

/* rm -r of a directory made by dumptest_mkdtemp (one level of files). */
void dumptest_rmdir(const char *dir);

/* Writer config with the given sizes and mode, everything else small. */
struct pt_writer_config dumptest_config(const char *dir, uint64_t max_size,
					uint32_t chunk_size,
					enum pt_limit_mode mode);

/* An event whose fields derive from (thread, seq), text optional. */
struct pt_event dumptest_event(uint32_t thread, uint64_t seq, const char *text);

/* Read a whole file into a malloc'd buffer, NUL-terminated one past
 * the end (for text); *len gets its size. */
uint8_t *dumptest_slurp(const char *path, size_t *len);

/* Write buf to path (created or truncated, 0600). 0 or -1. */
int dumptest_spit(const char *path, const void *buf, size_t len);

/* Open a dump that must open; aborts the test with err otherwise. */
struct pt_dump *dumptest_open(const char *path);

/* Count records by walking pt_dump_next. */
uint64_t dumptest_count_ordered(struct pt_dump *d);

/* Number of regular files in dir; the first one's path in out. */
int dumptest_only_file(const char *dir, char *out, size_t cap);

#endif /* DUMP_TEST_UTIL_H */
