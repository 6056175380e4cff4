/*
 * trcfile-format.h - the on-disk structs of snapshot and recording files,
 * shared by the writer, the reader and the tests (docs/trace-format.md).
 *
 * Every multi-byte field is little-endian. The structs are laid out so
 * that they have no padding (the asserts below hold it), and are
 * converted field by field with trc_disk_*_to_le()/_from_le(), which are
 * the identity on little-endian hosts.
 *
 * Not part of the public API: only trace/file and tests/tracefile
 * include it.
 */
#ifndef NESTLAB_TRCFILE_FORMAT_H
#define NESTLAB_TRCFILE_FORMAT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "trcfile.h"

/* PNG-style: a non-ASCII first byte, then CR LF, ^Z and LF, which text-mode
 * transfers and line-ending conversions damage in a way the magic shows. */
#define TRC_DISK_MAGIC "\x89NLB\r\n\x1a\n"
#define TRC_DISK_MAGIC_LEN 8
#define TRC_DISK_TRAILER_MAGIC "NLBINDEX"
/* "NLRC" read as a little-endian word: starts every record header. */
#define TRC_DISK_RECORD_MAGIC 0x43524c4eu
#define TRC_DISK_CREATOR_LEN 32

/* Record flags. */
#define TRC_REC_ZSTD 0x1u /* the stored bytes are one zstd frame */
#define TRC_REC_KNOWN_FLAGS TRC_REC_ZSTD

/* The index record: its payload is one trc_disk_index_entry per record,
 * its key the number of entries. */
#define TRC_DISK_TYPE_INDEX 0xffffffffu
/* At most this many records in a file, so the index (32 bytes a record)
 * stays below 2 GiB and its count fits the trailer's 32-bit field. */
#define TRC_DISK_MAX_RECORDS (1u << 26)

/* zstd window limit for reading: frames this code writes need far less,
 * and a damaged frame cannot ask for more memory than 2^27 bytes. */
#define TRC_ZSTD_WINDOW_LOG_MAX 27

struct trc_disk_header {
	uint8_t magic[8];     /* TRC_DISK_MAGIC */
	uint32_t version;     /* TRC_FILE_VERSION of the writer */
	uint32_t kind;        /* enum trc_file_kind */
	uint32_t header_size; /* sizeof(struct trc_disk_header) */
	uint32_t flags;       /* none defined: 0 */
	char creator[32];     /* "nestlab 0.1.0", NUL-padded */
	uint32_t reserved;    /* 0 */
	uint32_t crc;         /* CRC-32C of the 60 bytes before it */
};

struct trc_disk_record {
	uint32_t magic;       /* TRC_DISK_RECORD_MAGIC */
	uint32_t type;        /* the caller's type, or TRC_DISK_TYPE_INDEX */
	uint32_t flags;       /* TRC_REC_* */
	uint32_t payload_crc; /* CRC-32C of the stored_len bytes that follow */
	uint64_t key;         /* the caller's key */
	uint64_t raw_len;     /* payload length after decompression */
	uint64_t stored_len;  /* bytes that follow this header */
	uint32_t reserved;    /* 0 */
	uint32_t crc;         /* CRC-32C of the 44 bytes before it */
};

struct trc_disk_index_entry {
	uint64_t offset; /* of the record header, from the start of the file */
	uint64_t key;
	uint64_t raw_len;
	uint32_t type;
	uint32_t reserved; /* 0 */
};

struct trc_disk_trailer {
	uint8_t magic[8];      /* TRC_DISK_TRAILER_MAGIC */
	uint64_t index_offset; /* of the index record header */
	uint32_t count;        /* records before the index */
	uint32_t crc;          /* CRC-32C of the 20 bytes before it */
};

_Static_assert(sizeof(struct trc_disk_header) == 64, "trc_disk_header is 64 bytes, no padding");
_Static_assert(sizeof(struct trc_disk_record) == 48, "trc_disk_record is 48 bytes, no padding");
_Static_assert(sizeof(struct trc_disk_index_entry) == 32, "index entry is 32 bytes, no padding");
_Static_assert(sizeof(struct trc_disk_trailer) == 24, "trc_disk_trailer is 24 bytes, no padding");

#define TRC_DISK_HEADER_SIZE ((uint64_t)sizeof(struct trc_disk_header))
#define TRC_DISK_RECORD_SIZE ((uint64_t)sizeof(struct trc_disk_record))
#define TRC_DISK_ENTRY_SIZE ((uint64_t)sizeof(struct trc_disk_index_entry))
#define TRC_DISK_TRAILER_SIZE ((uint64_t)sizeof(struct trc_disk_trailer))

/* Byte order: in place, both directions (the conversion is its own inverse). */
static inline void trc_disk_header_swap(struct trc_disk_header *h)
{
	h->version = GUINT32_TO_LE(h->version);
	h->kind = GUINT32_TO_LE(h->kind);
	h->header_size = GUINT32_TO_LE(h->header_size);
	h->flags = GUINT32_TO_LE(h->flags);
	h->reserved = GUINT32_TO_LE(h->reserved);
	h->crc = GUINT32_TO_LE(h->crc);
}

static inline void trc_disk_record_swap(struct trc_disk_record *r)
{
	r->magic = GUINT32_TO_LE(r->magic);
	r->type = GUINT32_TO_LE(r->type);
	r->flags = GUINT32_TO_LE(r->flags);
	r->payload_crc = GUINT32_TO_LE(r->payload_crc);
	r->key = GUINT64_TO_LE(r->key);
	r->raw_len = GUINT64_TO_LE(r->raw_len);
	r->stored_len = GUINT64_TO_LE(r->stored_len);
	r->reserved = GUINT32_TO_LE(r->reserved);
	r->crc = GUINT32_TO_LE(r->crc);
}

static inline void trc_disk_entry_swap(struct trc_disk_index_entry *e)
{
	e->offset = GUINT64_TO_LE(e->offset);
	e->key = GUINT64_TO_LE(e->key);
	e->raw_len = GUINT64_TO_LE(e->raw_len);
	e->type = GUINT32_TO_LE(e->type);
	e->reserved = GUINT32_TO_LE(e->reserved);
}

static inline void trc_disk_trailer_swap(struct trc_disk_trailer *t)
{
	t->index_offset = GUINT64_TO_LE(t->index_offset);
	t->count = GUINT32_TO_LE(t->count);
	t->crc = GUINT32_TO_LE(t->crc);
}

/* The checksum each struct carries in its last field, computed over the
 * little-endian bytes before that field. `p` points at the on-disk bytes. */
static inline uint32_t trc_disk_header_crc(const void *p)
{
	return trc_crc32c(0, p, sizeof(struct trc_disk_header) - 4);
}

static inline uint32_t trc_disk_record_crc(const void *p)
{
	return trc_crc32c(0, p, sizeof(struct trc_disk_record) - 4);
}

static inline uint32_t trc_disk_trailer_crc(const void *p)
{
	return trc_crc32c(0, p, sizeof(struct trc_disk_trailer) - 4);
}

/*
 * Decodes the single zstd frame of `n` bytes at `src` and appends its bytes
 * to `out`. The frame must declare its content size; with `exact` it must
 * equal `expect`, otherwise it must be at most `expect`. Memory grows with
 * what is really decoded, never with a declared size alone. On failure
 * `out` keeps its old length and *why (to be freed with g_free) says what
 * is wrong, in words that follow "the zstd frame ...".
 */
bool trc_zstd_decode(const void *src, size_t n, uint64_t expect, bool exact, GByteArray *out,
                     char **why);

#endif
