/*
 * trcfile.h - the container of snapshot and recording files (docs/trace-format.md).
 *
 * A file is a fixed header followed by records. Each record is an opaque
 * byte section with a caller-chosen type and a 64-bit key (an icount, a
 * sequence number), optionally zstd-compressed, protected by CRC-32C
 * checksums of its header and of its stored bytes. A finished file ends
 * with an index record (type, key, length and offset of every record) and
 * a trailer that points at it, so a reader can seek:
 *
 *   +--------------+----------+---------+-----+----------+---------+
 *   | file header  | record 0 | record 1| ... | index    | trailer |
 *   | 64 bytes     | 48 + n   | 48 + n  |     | record   | 24 bytes|
 *   +--------------+----------+---------+-----+----------+---------+
 *
 * What the sections hold (CPU, RAM, devices, input log) is the business of
 * the snapshot and recording layers; this module only stores and checks
 * bytes.
 *
 * Crashes: the writer writes each record whole and hands it to the OS
 * before returning, so a process that dies while recording leaves a file
 * whose records up to the last complete one can be read. Such a file has
 * no trailer: the reader then scans it from the start, verifies every
 * record's checksums, stops at the first incomplete or damaged one and
 * says so in trc_file_warning().
 *
 * Untrusted input: no length read from a file is trusted. Every offset is
 * checked against the file's size before it is read, a decompressed size
 * must equal the recorded one and stay below a limit, and every failure is
 * a GError in the TRC_FILE_ERROR domain whose message names the file, the
 * record and what is wrong.
 */
#ifndef NESTLAB_TRCFILE_H
#define NESTLAB_TRCFILE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The format version this code writes, and the newest it reads. */
#define TRC_FILE_VERSION 1

/* zstd level used unless trc_file_set_level() says otherwise: fast, and
 * within a few percent of the higher levels on machine state. */
#define TRC_FILE_DEFAULT_LEVEL 3

/* The largest record payload (uncompressed) written or read, 3.75 GiB:
 * above the largest RAM a board can have (3 GiB), below what a GByteArray
 * can hold (4 GiB - 1), and a bound on what a damaged length can make a
 * reader allocate. */
#define TRC_FILE_MAX_RECORD_LEN (UINT64_C(15) << 28)

/* Record types at and above this value belong to the container itself
 * (the index); callers use types 1 .. TRC_FILE_TYPE_RESERVED - 1. */
#define TRC_FILE_TYPE_RESERVED 0xffff0000u

#define TRC_FILE_ERROR (trc_file_error_quark())
GQuark trc_file_error_quark(void);

enum trc_file_error {
	TRC_FILE_ERROR_IO,        /* open, read, write, sync or rename failed */
	TRC_FILE_ERROR_NOT_TRACE, /* empty, or not a nestlab file (bad magic) */
	TRC_FILE_ERROR_VERSION,   /* made by a newer nestlab */
	TRC_FILE_ERROR_DAMAGED,   /* checksum mismatch, cut off, inconsistent */
	TRC_FILE_ERROR_TOO_LARGE, /* a record above the limit */
	TRC_FILE_ERROR_INVALID,   /* a bad argument: reserved type, writer already failed */
};

enum trc_file_kind {
	TRC_FILE_SNAPSHOT = 1,  /* one machine state */
	TRC_FILE_RECORDING = 2, /* snapshot, input log, checkpoints, trace chunks */
};

/* {====== writing ====== */

struct trc_file_writer;

/*
 * Starts a file of `kind` at `path`. A recording is written in place, so a
 * crash leaves a readable prefix. A snapshot is written to a temporary
 * file beside `path` and renamed over it by trc_file_finish(), so an
 * existing snapshot is replaced only by a complete one. Returns NULL and
 * sets `error` ("PATH: cannot create: REASON") on failure.
 */
struct trc_file_writer *trc_file_create(const char *path, enum trc_file_kind kind, GError **error);

/*
 * Starts a file of `kind` in memory, for snapshots kept by the process
 * (and for tests): the same bytes trc_file_create() would write, returned
 * by trc_file_finish_bytes() and read back with trc_file_open_bytes().
 * Cannot fail (aborts when out of memory, as GLib does).
 */
struct trc_file_writer *trc_file_create_memory(enum trc_file_kind kind);

/* Sets the zstd level of later compressed records (clamped to zstd's range). */
void trc_file_set_level(struct trc_file_writer *w, int level);

/*
 * Appends one record of `type` (1 .. TRC_FILE_TYPE_RESERVED - 1) with `key`
 * and `len` bytes of `data`. With `compress`, the payload is stored as a
 * zstd frame if that is smaller than the bytes themselves. The record is
 * flushed to the OS before this returns. On a write error the writer is
 * spent: later calls fail and only trc_file_abandon() or trc_file_finish()
 * (which then fails too) remain.
 */
bool trc_file_append(struct trc_file_writer *w, uint32_t type, uint64_t key, const void *data,
                     size_t len, bool compress, GError **error);

/* Flushes buffered bytes to the OS and, with `sync`, to the disk (fsync). */
bool trc_file_flush(struct trc_file_writer *w, bool sync, GError **error);

/* Records appended so far (the index not counted). */
size_t trc_file_appended(const struct trc_file_writer *w);

/*
 * For a writer of trc_file_create(): writes the index and the trailer,
 * syncs, closes and (for a snapshot) renames the file into place. Frees
 * `w` whatever happens. On failure a recording keeps its readable prefix;
 * a snapshot's temporary file is removed and the old file at the path is
 * left as it was.
 */
bool trc_file_finish(struct trc_file_writer *w, GError **error);

/* For a writer of trc_file_create_memory(): writes the index and the
 * trailer and returns the whole file; frees `w` whatever happens. */
GBytes *trc_file_finish_bytes(struct trc_file_writer *w, GError **error);

/* For error paths: closes and removes the file being written, frees `w`. */
void trc_file_abandon(struct trc_file_writer *w);

/* }====== */

/* {====== reading ====== */

struct trc_file_reader;

/*
 * Opens and checks a file: header, then the trailer and index, or, when
 * those are missing or damaged, a scan of every record. Returns NULL with
 * `error` set when the file cannot be used at all (not a nestlab file,
 * newer version, damaged header). A file that opens may still be
 * incomplete: see trc_file_complete().
 */
struct trc_file_reader *trc_file_open(const char *path, GError **error);

/* The same from bytes in memory (a reference to `bytes` is kept); `name`
 * stands for the file name in messages. */
struct trc_file_reader *trc_file_open_bytes(GBytes *bytes, const char *name, GError **error);

/* Closes the file and frees `r` (NULL is allowed). */
void trc_file_close(struct trc_file_reader *r);

enum trc_file_kind trc_file_kind(const struct trc_file_reader *r);
uint32_t trc_file_version(const struct trc_file_reader *r);
/* The program that wrote the file, e.g. "nestlab 0.1.0". */
const char *trc_file_creator(const struct trc_file_reader *r);

/* True when the file was finished (valid trailer and index). */
bool trc_file_complete(const struct trc_file_reader *r);

/* NULL for a complete file; otherwise one sentence saying what is missing
 * or damaged and how many records are readable. */
const char *trc_file_warning(const struct trc_file_reader *r);

/* Lowers the largest payload trc_file_read() will produce (tools reading
 * untrusted files, the fuzzer); the default is TRC_FILE_MAX_RECORD_LEN. */
void trc_file_set_limit(struct trc_file_reader *r, uint64_t max_len);

/* Number of readable records (the index not counted). */
size_t trc_file_count(const struct trc_file_reader *r);

/* Type, key and uncompressed length of record `i` (< count); any out
 * pointer may be NULL. */
void trc_file_record_info(const struct trc_file_reader *r, size_t i, uint32_t *type, uint64_t *key,
                          uint64_t *len);

/* Index of the last record of `type` whose key is <= `key` (among equal
 * keys the last written), or -1 if there is none. O(log n). */
int64_t trc_file_find(const struct trc_file_reader *r, uint32_t type, uint64_t key);

/*
 * Replaces the contents of `out` with the payload of record `i`,
 * decompressed and verified. On failure `out` is left empty and `error`
 * says which record, where, and what is wrong ("record 5 (type 3) at
 * offset N: checksum mismatch, the file is damaged").
 */
bool trc_file_read(struct trc_file_reader *r, size_t i, GByteArray *out, GError **error);

/* }====== */

/* {====== in-memory compression (incremental checkpoints) ====== */

/*
 * Appends to `out` one zstd frame holding `len` bytes of `data` at `level`,
 * with its content size and zstd's own checksum, so trc_file_unpack() can
 * check it without any outside length.
 */
bool trc_file_pack(const void *data, size_t len, int level, GByteArray *out, GError **error);

/*
 * Appends to `out` the bytes of the single zstd frame in `data`; fails
 * (and leaves `out` as it was) if the frame is damaged, is followed by
 * other bytes, has no content size, or holds more than `max_len` bytes.
 */
bool trc_file_unpack(const void *data, size_t len, uint64_t max_len, GByteArray *out,
                     GError **error);

/* }====== */

/* CRC-32C (Castagnoli), as in iSCSI and ext4: trc_crc32c(0, "123456789", 9)
 * is 0xE3069283. Pass a previous result as `crc` to continue a sum. */
uint32_t trc_crc32c(uint32_t crc, const void *data, size_t len);

#endif
