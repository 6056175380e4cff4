/*
 * trcfile-zstd.c - zstd frames for records and for in-memory checkpoints.
 *
 * Every frame this module writes declares its content size and carries
 * zstd's own checksum. Decoding is streaming into an output that grows
 * with what has really been decoded (doubling, capped at the declared
 * size plus one byte to catch frames that run long), so a damaged or
 * hostile frame that claims gigabytes costs only what it delivers.
 */
#include <zstd.h>

#include "trcfile-format.h"

/* First output allocation when decoding: enough for small records in one
 * step, small enough not to matter for a frame that turns out bad. */
#define DECODE_FIRST_CHUNK (64 * 1024)

G_DEFINE_QUARK(nestlab - trace - file - error - quark, trc_file_error)

static bool decode_stream(ZSTD_DCtx *d, const void *src, size_t n, uint64_t size, GByteArray *out,
                          size_t base, size_t *produced, char **why)
{
	ZSTD_inBuffer in = {src, n, 0};
	uint64_t cap = MIN(size + 1, MAX((uint64_t)DECODE_FIRST_CHUNK, (uint64_t)n * 4));
	size_t pos = 0;
	for (;;) {
		g_byte_array_set_size(out, base + cap);
		ZSTD_outBuffer o = {out->data + base, cap, pos};
		size_t in_before = in.pos;
		size_t ret = ZSTD_decompressStream(d, &o, &in);
		pos = o.pos;
		if (ZSTD_isError(ret)) {
			*why = g_strdup_printf("is damaged (%s)", ZSTD_getErrorName(ret));
			return false;
		}
		if (pos > size) {
			*why = g_strdup_printf("holds more than the %" G_GUINT64_FORMAT
			                       " bytes it declares",
			                       size);
			return false;
		}
		if (ret == 0)
			break;
		if (o.pos == o.size) {
			cap = MIN(size + 1, cap * 2);
			continue;
		}
		if (in.pos == in.size || in.pos == in_before) {
			*why = g_strdup("is cut off");
			return false;
		}
	}
	if (in.pos != in.size) {
		*why = g_strdup_printf("is followed by %zu stray bytes", n - in.pos);
		return false;
	}
	*produced = pos;
	return true;
}

bool trc_zstd_decode(const void *src, size_t n, uint64_t expect, bool exact, GByteArray *out,
                     char **why)
{
	unsigned long long size = ZSTD_getFrameContentSize(src, n);
	if (size == ZSTD_CONTENTSIZE_ERROR) {
		*why = g_strdup("is not a zstd frame");
		return false;
	}
	if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
		*why = g_strdup("does not declare its size");
		return false;
	}
	if (exact ? size != expect : size > expect) {
		*why = g_strdup_printf("declares %llu bytes, %s %" G_GUINT64_FORMAT, size,
		                       exact ? "the record header says" : "more than the limit of",
		                       expect);
		return false;
	}
	if (size >= G_MAXSIZE - 1 || out->len + size + 1 > G_MAXUINT) {
		*why = g_strdup_printf("declares %llu bytes, too many for this host", size);
		return false;
	}
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, TRC_ZSTD_WINDOW_LOG_MAX);
	size_t base = out->len, produced = 0;
	bool ok = decode_stream(d, src, n, size, out, base, &produced, why);
	ZSTD_freeDCtx(d);
	if (ok && produced != size) {
		*why = g_strdup_printf("holds %zu bytes, not the %llu it declares", produced, size);
		ok = false;
	}
	g_byte_array_set_size(out, ok ? base + produced : base);
	return ok;
}

bool trc_file_pack(const void *data, size_t len, int level, GByteArray *out, GError **error)
{
	size_t bound = ZSTD_compressBound(len);
	if (ZSTD_isError(bound) || out->len + (uint64_t)bound > G_MAXUINT) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_TOO_LARGE,
		            "cannot compress %zu bytes in memory: too large", len);
		return false;
	}
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setPledgedSrcSize(c, len);
	size_t base = out->len;
	g_byte_array_set_size(out, base + bound);
	size_t n = ZSTD_compress2(c, out->data + base, bound, data, len);
	ZSTD_freeCCtx(c);
	if (ZSTD_isError(n)) {
		g_byte_array_set_size(out, base);
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_IO, "zstd cannot compress: %s",
		            ZSTD_getErrorName(n));
		return false;
	}
	g_byte_array_set_size(out, base + n);
	return true;
}

bool trc_file_unpack(const void *data, size_t len, uint64_t max_len, GByteArray *out,
                     GError **error)
{
	char *why = NULL;
	if (trc_zstd_decode(data, len, max_len, false, out, &why))
		return true;
	g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
	            "packed checkpoint of %zu bytes: the zstd frame %s", len, why);
	g_free(why);
	return false;
}
