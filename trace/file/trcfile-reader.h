/*
 * trcfile-reader.h - what the two halves of the reader share: the reader
 * itself and its raw access to the file (trcfile-reader.c opens and checks
 * a file, trcfile-read.c answers queries and reads records).
 *
 * Not part of the public API.
 */
#ifndef NESTLAB_TRCFILE_READER_H
#define NESTLAB_TRCFILE_READER_H

#include "trcfile-format.h"

/* One record as the reader knows it, from the index or from a scan. */
struct entry {
	uint64_t offset; /* of the record header */
	uint64_t end;    /* offset of whatever follows the record */
	uint64_t key;
	uint64_t raw_len;
	uint32_t type;
};

/* An open file: trc_file_open() fills it, trcfile-read.c reads it. */
struct trc_file_reader {
	char *name;
	int fd;      /* -1 when reading from memory */
	GBytes *mem; /* the bytes when reading from memory */
	uint64_t size;
	struct trc_disk_header header; /* host byte order */
	char *creator;
	GArray *entries;     /* struct entry */
	GHashTable *by_type; /* type -> GArray of guint record indexes, by (key, index) */
	bool complete;
	char *warning;
	uint64_t limit;
};

/* Reads `len` bytes at `off` into `buf`; the caller has checked that they
 * lie inside the file. Fails only on an I/O error. */
bool trc_reader_read_at(struct trc_file_reader *r, uint64_t off, void *buf, size_t len,
                        GError **error);

/* Reads the record header at `off` (off + 48 <= size) into host byte
 * order; *intact says whether its magic and checksum hold. */
bool trc_reader_record_header(struct trc_file_reader *r, uint64_t off, struct trc_disk_record *rec,
                              bool *intact, GError **error);

/* Whether the fields of an intact record header agree with each other
 * and with this version of the format. */
bool trc_reader_record_consistent(const struct trc_disk_record *rec);

#endif
