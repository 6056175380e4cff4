/*
 * trcfile-writer.c - writes snapshot and recording files.
 *
 * Order of writes: the file header, then each record as header + payload
 * in one go, flushed to the OS before trc_file_append() returns, then at
 * the end the index record and the trailer. Every byte of a record is
 * known before its header is written (the payload is compressed first),
 * so nothing is ever rewritten in place: a file cut anywhere is a prefix
 * of the finished file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "nestlab-config.h"
#include "trcfile-format.h"

#define CREATOR "nestlab " NESTLAB_VERSION
/* Compression scratch kept between records (bytes). */
#define SCRATCH_KEEP (16u << 20)

struct trc_file_writer {
	FILE *f;
	char *path;     /* the name callers know */
	char *tmp_path; /* a snapshot's temporary file, renamed over path at the end */
	enum trc_file_kind kind;
	uint64_t offset; /* where the next record goes */
	GArray *entries; /* struct trc_disk_index_entry, host byte order */
	ZSTD_CCtx *cctx;
	GByteArray *packed; /* scratch for compressed payloads */
	int level;
	bool failed;  /* a write failed: the file's tail is unknown */
	bool regular; /* a regular file, which abandon may remove (never a device) */
	bool memory;  /* writing to mem_buf (open_memstream), not to a file */
	char *mem_buf;
	size_t mem_len;
};

static bool fail_errno(struct trc_file_writer *w, const char *what, GError **error)
{
	int e = errno;
	w->failed = true;
	g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_IO, "%s: cannot %s: %s", w->path, what,
	            g_strerror(e));
	return false;
}

static bool write_all(struct trc_file_writer *w, const void *p, size_t n, GError **error)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		return fail_errno(w, "write", error);
	w->offset += n;
	return true;
}

static FILE *open_target(struct trc_file_writer *w)
{
	if (w->kind == TRC_FILE_RECORDING)
		return fopen(w->path, "wb");
	w->tmp_path = g_strdup_printf("%s.XXXXXX", w->path);
	int fd = g_mkstemp_full(w->tmp_path, O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		int e = errno;
		close(fd);
		unlink(w->tmp_path);
		errno = e;
	}
	return f;
}

static void writer_free(struct trc_file_writer *w)
{
	free(w->mem_buf); /* open_memstream's buffer is malloc'd */
	g_array_free(w->entries, TRUE);
	g_byte_array_free(w->packed, TRUE);
	ZSTD_freeCCtx(w->cctx);
	g_free(w->tmp_path);
	g_free(w->path);
	g_free(w);
}

static bool write_header(struct trc_file_writer *w, GError **error)
{
	struct trc_disk_header h = {0};
	memcpy(h.magic, TRC_DISK_MAGIC, TRC_DISK_MAGIC_LEN);
	h.version = TRC_FILE_VERSION;
	h.kind = w->kind;
	h.header_size = sizeof h;
	g_strlcpy(h.creator, CREATOR, sizeof h.creator);
	trc_disk_header_swap(&h);
	h.crc = GUINT32_TO_LE(trc_disk_header_crc(&h));
	return write_all(w, &h, sizeof h, error);
}

static struct trc_file_writer *writer_new(const char *name, enum trc_file_kind kind)
{
	struct trc_file_writer *w = g_new0(struct trc_file_writer, 1);
	w->path = g_strdup(name);
	w->kind = kind;
	w->level = TRC_FILE_DEFAULT_LEVEL;
	w->entries = g_array_new(FALSE, FALSE, sizeof(struct trc_disk_index_entry));
	w->packed = g_byte_array_new();
	w->cctx = ZSTD_createCCtx();
	return w;
}

struct trc_file_writer *trc_file_create(const char *path, enum trc_file_kind kind, GError **error)
{
	if (kind != TRC_FILE_SNAPSHOT && kind != TRC_FILE_RECORDING) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "%s: cannot create: unknown file kind %d", path, (int)kind);
		return NULL;
	}
	struct trc_file_writer *w = writer_new(path, kind);
	w->f = open_target(w);
	if (!w->f) {
		fail_errno(w, "create", error);
		writer_free(w);
		return NULL;
	}
	struct stat st;
	w->regular = fstat(fileno(w->f), &st) == 0 && S_ISREG(st.st_mode);
	if (!write_header(w, error) || !trc_file_flush(w, false, error)) {
		trc_file_abandon(w);
		return NULL;
	}
	return w;
}

struct trc_file_writer *trc_file_create_memory(enum trc_file_kind kind)
{
	g_return_val_if_fail(kind == TRC_FILE_SNAPSHOT || kind == TRC_FILE_RECORDING, NULL);
	struct trc_file_writer *w = writer_new("(memory)", kind);
	w->memory = true;
	w->f = open_memstream(&w->mem_buf, &w->mem_len);
	if (!w->f || !write_header(w, NULL))
		g_error("trc_file_create_memory: out of memory");
	return w;
}

void trc_file_set_level(struct trc_file_writer *w, int level)
{
	w->level = CLAMP(level, ZSTD_minCLevel(), ZSTD_maxCLevel());
}

size_t trc_file_appended(const struct trc_file_writer *w)
{
	return w->entries->len;
}

bool trc_file_flush(struct trc_file_writer *w, bool sync, GError **error)
{
	if (fflush(w->f) != 0)
		return fail_errno(w, "write", error);
	if (sync && !w->memory && fsync(fileno(w->f)) != 0)
		return fail_errno(w, "sync", error);
	return true;
}

/* Compresses into w->packed; false when the frame would not be smaller. */
static bool compress_payload(struct trc_file_writer *w, const void *data, size_t len)
{
	size_t bound = ZSTD_compressBound(len);
	if (len == 0 || ZSTD_isError(bound) || bound > G_MAXUINT)
		return false;
	g_byte_array_set_size(w->packed, bound);
	ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	size_t n = ZSTD_compress2(w->cctx, w->packed->data, bound, data, len);
	if (ZSTD_isError(n) || n >= len)
		return false;
	g_byte_array_set_size(w->packed, n);
	return true;
}

/* Gives back the scratch buffer after a large record, so a writer that
 * once stored all of RAM does not keep that much memory for the rest of a
 * recording. */
static void release_scratch(struct trc_file_writer *w)
{
	if (w->packed->len > SCRATCH_KEEP) {
		g_byte_array_free(w->packed, TRUE);
		w->packed = g_byte_array_new();
	}
}

/* Writes one record (header + stored bytes) at w->offset. */
static bool write_record(struct trc_file_writer *w, uint32_t type, uint64_t key, const void *stored,
                         uint64_t stored_len, uint64_t raw_len, uint32_t flags, GError **error)
{
	struct trc_disk_record r = {
	        .magic = TRC_DISK_RECORD_MAGIC,
	        .type = type,
	        .flags = flags,
	        .payload_crc = trc_crc32c(0, stored, stored_len),
	        .key = key,
	        .raw_len = raw_len,
	        .stored_len = stored_len,
	};
	trc_disk_record_swap(&r);
	r.crc = GUINT32_TO_LE(trc_disk_record_crc(&r));
	return write_all(w, &r, sizeof r, error) && write_all(w, stored, stored_len, error);
}

static bool check_append(struct trc_file_writer *w, uint32_t type, size_t len, GError **error)
{
	if (w->failed) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "%s: cannot append: an earlier write failed", w->path);
		return false;
	}
	if (type == 0 || type >= TRC_FILE_TYPE_RESERVED) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "%s: cannot append a record of type 0x%x: types are 1 to 0x%x", w->path,
		            type, TRC_FILE_TYPE_RESERVED - 1);
		return false;
	}
	if (w->entries->len >= TRC_DISK_MAX_RECORDS) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_TOO_LARGE,
		            "%s: cannot append: a file holds at most %u records", w->path,
		            TRC_DISK_MAX_RECORDS);
		return false;
	}
	if ((uint64_t)len > TRC_FILE_MAX_RECORD_LEN) {
		g_set_error(
		        error, TRC_FILE_ERROR, TRC_FILE_ERROR_TOO_LARGE,
		        "%s: cannot append %zu bytes: a record holds at most %" G_GUINT64_FORMAT,
		        w->path, len, TRC_FILE_MAX_RECORD_LEN);
		return false;
	}
	return true;
}

bool trc_file_append(struct trc_file_writer *w, uint32_t type, uint64_t key, const void *data,
                     size_t len, bool compress, GError **error)
{
	if (!check_append(w, type, len, error))
		return false;
	struct trc_disk_index_entry e = {
	        .offset = w->offset, .key = key, .raw_len = len, .type = type};
	bool packed = compress && compress_payload(w, data, len);
	const void *stored = packed ? w->packed->data : data;
	uint64_t stored_len = packed ? w->packed->len : len;
	if (!write_record(w, type, key, stored, stored_len, len, packed ? TRC_REC_ZSTD : 0,
	                  error) ||
	    !trc_file_flush(w, false, error))
		return false;
	g_array_append_val(w->entries, e);
	release_scratch(w);
	return true;
}

static bool write_index_and_trailer(struct trc_file_writer *w, GError **error)
{
	uint64_t index_offset = w->offset;
	guint n = w->entries->len;
	GArray *disk = g_array_sized_new(FALSE, FALSE, sizeof(struct trc_disk_index_entry), n);
	g_array_append_vals(disk, w->entries->data, n);
	for (guint i = 0; i < n; i++)
		trc_disk_entry_swap(&g_array_index(disk, struct trc_disk_index_entry, i));
	uint64_t len = (uint64_t)n * TRC_DISK_ENTRY_SIZE;
	bool ok = write_record(w, TRC_DISK_TYPE_INDEX, n, disk->data, len, len, 0, error);
	g_array_free(disk, TRUE);
	if (!ok)
		return false;
	struct trc_disk_trailer t = {.index_offset = index_offset, .count = n};
	memcpy(t.magic, TRC_DISK_TRAILER_MAGIC, TRC_DISK_MAGIC_LEN);
	trc_disk_trailer_swap(&t);
	t.crc = GUINT32_TO_LE(trc_disk_trailer_crc(&t));
	return write_all(w, &t, sizeof t, error);
}

/* Index, trailer, sync and close: what finishing a file or a buffer shares. */
static bool write_end(struct trc_file_writer *w, GError **error)
{
	bool ok = true;
	if (w->failed) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "%s: cannot finish: an earlier write failed", w->path);
		ok = false;
	}
	ok = ok && write_index_and_trailer(w, error) && trc_file_flush(w, true, error);
	if (fclose(w->f) != 0 && ok)
		ok = fail_errno(w, "close", error);
	w->f = NULL;
	return ok;
}

bool trc_file_finish(struct trc_file_writer *w, GError **error)
{
	g_return_val_if_fail(!w->memory, false);
	bool ok = write_end(w, error);
	if (ok && w->tmp_path && rename(w->tmp_path, w->path) != 0)
		ok = fail_errno(w, "rename the finished snapshot into place", error);
	if (!ok && w->tmp_path)
		unlink(w->tmp_path);
	writer_free(w);
	return ok;
}

GBytes *trc_file_finish_bytes(struct trc_file_writer *w, GError **error)
{
	g_return_val_if_fail(w->memory, NULL);
	GBytes *bytes = NULL;
	if (write_end(w, error)) {
		bytes = g_bytes_new_with_free_func(w->mem_buf, w->mem_len, free, w->mem_buf);
		w->mem_buf = NULL;
	}
	writer_free(w);
	return bytes;
}

void trc_file_abandon(struct trc_file_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	if (w->regular && !w->memory)
		unlink(w->tmp_path ? w->tmp_path : w->path);
	writer_free(w);
}
