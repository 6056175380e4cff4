/*
 * fuzz_tracefile.c - fuzz target for the snapshot and recording reader
 * (libFuzzer's entry point; tests/fuzz/fuzz_bytes_driver.c runs it in the
 * suite with deterministic mutations of the seeds that make-seeds writes).
 *
 * Each input is opened as a file from memory and every record is read,
 * twice: once as it is, where nearly every mutation is caught by a
 * checksum, and once with every checksum that can be located recomputed,
 * so that mutated lengths, offsets, flags, index entries and zstd frames
 * get past the checksums and reach the code behind them. The input is
 * also given to trc_file_unpack(). Invariants checked on the way: a read
 * that succeeds returns exactly the length the index announced, and
 * trc_file_find() agrees with the record list.
 */
#include <stdlib.h>
#include <string.h>

#include "trcfile-format.h"
#include "trcfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decoded payloads stay small under the sanitizers. */
#define FUZZ_LIMIT (1u << 20)

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void seal_header(uint8_t *b, size_t size)
{
	if (size < TRC_DISK_HEADER_SIZE)
		return;
	uint32_t crc = GUINT32_TO_LE(trc_disk_header_crc(b));
	memcpy(b + offsetof(struct trc_disk_header, crc), &crc, 4);
}

/* Recomputes the sums of the record at `off`; returns where the next
 * record starts, or 0 when there is no whole record there. */
static uint64_t seal_record(uint8_t *b, size_t size, uint64_t off)
{
	struct trc_disk_record rec;
	if (size - off < sizeof rec)
		return 0;
	memcpy(&rec, b + off, sizeof rec);
	trc_disk_record_swap(&rec);
	uint64_t room = size - off - sizeof rec;
	if (rec.stored_len <= room)
		rec.payload_crc = trc_crc32c(0, b + off + sizeof rec, rec.stored_len);
	trc_disk_record_swap(&rec);
	rec.crc = GUINT32_TO_LE(trc_disk_record_crc(&rec));
	memcpy(b + off, &rec, sizeof rec);
	uint64_t stored = GUINT64_FROM_LE(rec.stored_len);
	return stored <= room ? off + sizeof rec + stored : 0;
}

static void seal_trailer(uint8_t *b, size_t size)
{
	if (size < TRC_DISK_HEADER_SIZE + TRC_DISK_TRAILER_SIZE)
		return;
	uint8_t *t = b + size - TRC_DISK_TRAILER_SIZE;
	uint32_t crc = GUINT32_TO_LE(trc_disk_trailer_crc(t));
	memcpy(t + offsetof(struct trc_disk_trailer, crc), &crc, 4);
}

/* Makes every checksum the reader will look at match the bytes. */
static void seal(uint8_t *b, size_t size)
{
	seal_header(b, size);
	size_t body = size >= TRC_DISK_TRAILER_SIZE ? size - TRC_DISK_TRAILER_SIZE : 0;
	for (uint64_t off = TRC_DISK_HEADER_SIZE; off && off < body;)
		off = seal_record(b, body, off);
	seal_trailer(b, size);
}

static void read_all(const uint8_t *data, size_t size)
{
	GBytes *bytes = g_bytes_new_static(data, size);
	struct trc_file_reader *r = trc_file_open_bytes(bytes, "fuzz", NULL);
	g_bytes_unref(bytes);
	if (!r)
		return;
	trc_file_set_limit(r, FUZZ_LIMIT);
	check(trc_file_complete(r) == (trc_file_warning(r) == NULL));
	GByteArray *out = g_byte_array_new();
	for (size_t i = 0; i < trc_file_count(r); i++) {
		uint32_t type;
		uint64_t key, len;
		trc_file_record_info(r, i, &type, &key, &len);
		if (trc_file_read(r, i, out, NULL))
			check(out->len == len);
		else
			check(out->len == 0);
		int64_t found = trc_file_find(r, type, key);
		check(found >= (int64_t)i); /* the last of the records with this key */
		uint32_t t2;
		uint64_t k2;
		trc_file_record_info(r, (size_t)found, &t2, &k2, NULL);
		check(t2 == type && k2 == key);
	}
	g_byte_array_free(out, TRUE);
	trc_file_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size);
	uint8_t *copy = g_malloc(size + 1);
	if (size)
		memcpy(copy, data, size);
	seal(copy, size);
	read_all(copy, size);
	g_free(copy);
	GByteArray *out = g_byte_array_new();
	trc_file_unpack(data, size, FUZZ_LIMIT, out, NULL);
	g_byte_array_free(out, TRUE);
	return 0;
}
