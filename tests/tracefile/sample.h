/*
 * sample.h - test payloads and small files for the tracefile tests, the
 * fuzz target's seeds and the damage tests.
 */
#ifndef NESTLAB_TRACEFILE_SAMPLE_H
#define NESTLAB_TRACEFILE_SAMPLE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "trcfile.h"

struct sample_record {
	uint32_t type;
	uint64_t key;
	GBytes *data;
	bool compress;
};

/* `len` bytes from `seed`: text-like and compressible, or xorshift noise. */
GBytes *sample_payload(size_t len, uint32_t seed, bool compressible);

/* A small mixed set (a few hundred bytes each, an empty one, compressed and
 * not, three types): a GPtrArray of struct sample_record, freed whole. */
GPtrArray *sample_records(void);

/* Writes `records` to `path`; with `finish` the file gets its index and
 * trailer, without it the writer is dropped as a crash would leave it.
 * Asserts success. */
void sample_write(const char *path, enum trc_file_kind kind, GPtrArray *records, bool finish);

/* The bytes of the file that sample_write() makes. */
GBytes *sample_file(enum trc_file_kind kind, GPtrArray *records, bool finish);

/* Offsets where each record ends in a file written from `records`
 * (records[i] ends at ends[i]), read from the record headers. */
GArray *sample_record_ends(GBytes *file, guint count);

#endif
