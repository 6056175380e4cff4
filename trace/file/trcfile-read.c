/*
 * trcfile-read.c - the queries of an open snapshot or recording and the
 * reading of its records (trcfile.h).
 *
 * Reading a record: its header is read again and compared with what the
 * index says, the stored bytes are checked against their checksum before
 * they are decompressed, and the decompressed size must be exactly the
 * recorded one.
 */
#include <stdarg.h>

#include "trcfile-reader.h"

/* {====== queries ====== */

enum trc_file_kind trc_file_kind(const struct trc_file_reader *r)
{
	return (enum trc_file_kind)r->header.kind;
}

uint32_t trc_file_version(const struct trc_file_reader *r)
{
	return r->header.version;
}

const char *trc_file_creator(const struct trc_file_reader *r)
{
	return r->creator;
}

bool trc_file_complete(const struct trc_file_reader *r)
{
	return r->complete;
}

const char *trc_file_warning(const struct trc_file_reader *r)
{
	return r->warning;
}

void trc_file_set_limit(struct trc_file_reader *r, uint64_t max_len)
{
	r->limit = MIN(max_len, TRC_FILE_MAX_RECORD_LEN);
}

size_t trc_file_count(const struct trc_file_reader *r)
{
	return r->entries->len;
}

void trc_file_record_info(const struct trc_file_reader *r, size_t i, uint32_t *type, uint64_t *key,
                          uint64_t *len)
{
	g_return_if_fail(i < r->entries->len);
	const struct entry *e = &g_array_index(r->entries, struct entry, i);
	if (type)
		*type = e->type;
	if (key)
		*key = e->key;
	if (len)
		*len = e->raw_len;
}

int64_t trc_file_find(const struct trc_file_reader *r, uint32_t type, uint64_t key)
{
	GArray *list = g_hash_table_lookup(r->by_type, GUINT_TO_POINTER(type));
	if (!list)
		return -1;
	const struct entry *e = (const struct entry *)r->entries->data;
	const guint *idx = (const guint *)list->data;
	guint lo = 0, hi = list->len; /* the answer is the last of idx[0 .. lo) */
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (e[idx[mid]].key <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? (int64_t)idx[lo - 1] : -1;
}

/* }====== */

/* {====== reading a record ====== */

static bool damaged(struct trc_file_reader *r, size_t i, const struct entry *e, GError **error,
                    const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/* Sets "NAME: record I (type T) at offset O: WHAT, the file is damaged". */
static bool damaged(struct trc_file_reader *r, size_t i, const struct entry *e, GError **error,
                    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
	            "%s: record %zu (type %u) at offset %" G_GUINT64_FORMAT
	            ": %s, the file is damaged",
	            r->name, i, e->type, e->offset, what);
	g_free(what);
	return false;
}

/* Reads record i's header and checks it against the index entry. */
static bool check_record(struct trc_file_reader *r, size_t i, const struct entry *e,
                         struct trc_disk_record *rec, GError **error)
{
	bool intact;
	if (!trc_reader_record_header(r, e->offset, rec, &intact, error))
		return false;
	if (!intact)
		return damaged(r, i, e, error, "header checksum mismatch");
	if (rec->type != e->type || rec->key != e->key || rec->raw_len != e->raw_len ||
	    rec->stored_len != e->end - e->offset - TRC_DISK_RECORD_SIZE)
		return damaged(r, i, e, error, "the record does not match the index");
	if (!trc_reader_record_consistent(rec))
		return damaged(r, i, e, error, "the record header is invalid (flags 0x%x)",
		               rec->flags);
	if (rec->raw_len > r->limit) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_TOO_LARGE,
		            "%s: record %zu (type %u) at offset %" G_GUINT64_FORMAT
		            " holds %" G_GUINT64_FORMAT
		            " bytes, more than the limit of %" G_GUINT64_FORMAT,
		            r->name, i, e->type, e->offset, rec->raw_len, r->limit);
		return false;
	}
	return true;
}

/* Reads the stored bytes into `buf` (already sized) and checks their sum. */
static bool read_stored(struct trc_file_reader *r, size_t i, const struct entry *e,
                        const struct trc_disk_record *rec, uint8_t *buf, GError **error)
{
	if (!trc_reader_read_at(r, e->offset + TRC_DISK_RECORD_SIZE, buf, rec->stored_len, error))
		return false;
	if (trc_crc32c(0, buf, rec->stored_len) != rec->payload_crc)
		return damaged(r, i, e, error, "checksum mismatch");
	return true;
}

static bool read_packed(struct trc_file_reader *r, size_t i, const struct entry *e,
                        const struct trc_disk_record *rec, GByteArray *out, GError **error)
{
	uint8_t *buf = g_malloc(rec->stored_len);
	bool ok = read_stored(r, i, e, rec, buf, error);
	char *why = NULL;
	if (ok && !trc_zstd_decode(buf, rec->stored_len, rec->raw_len, true, out, &why)) {
		ok = damaged(r, i, e, error, "the zstd frame %s", why);
		g_free(why);
	}
	g_free(buf);
	return ok;
}

bool trc_file_read(struct trc_file_reader *r, size_t i, GByteArray *out, GError **error)
{
	g_byte_array_set_size(out, 0);
	if (i >= r->entries->len) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "%s: there is no record %zu (the file has %u)", r->name, i,
		            r->entries->len);
		return false;
	}
	const struct entry *e = &g_array_index(r->entries, struct entry, i);
	struct trc_disk_record rec;
	if (!check_record(r, i, e, &rec, error))
		return false;
	bool ok;
	if (rec.flags & TRC_REC_ZSTD) {
		ok = read_packed(r, i, e, &rec, out, error);
	} else {
		g_byte_array_set_size(out, (guint)rec.raw_len);
		ok = read_stored(r, i, e, &rec, out->data, error);
	}
	if (!ok)
		g_byte_array_set_size(out, 0);
	return ok;
}

/* }====== */
