/*
 * sample.c - test payloads and small files (sample.h).
 */
#include <glib/gstdio.h>
#include <string.h>

#include "sample.h"
#include "trcfile-format.h"

GBytes *sample_payload(size_t len, uint32_t seed, bool compressible)
{
	static const char words[] = "mov eax, cr0 ; or eax, 0x80000001 ; mov cr0, eax ; jmp 8:pm ";
	uint8_t *b = g_malloc(len ? len : 1);
	uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = compressible
		               ? (uint8_t)words[(i + seed) % (sizeof words - 1)] ^ (x % 97 == 0)
		               : (uint8_t)(x >> 24);
	}
	return g_bytes_new_take(b, len);
}

static void record_free(gpointer p)
{
	struct sample_record *s = p;
	g_bytes_unref(s->data);
	g_free(s);
}

GPtrArray *sample_records(void)
{
	static const struct {
		uint32_t type;
		uint64_t key;
		size_t len;
		bool compressible, compress;
	} set[] = {
	        {1, 0, 300, true, true},     {2, 0, 40, false, false},    {3, 10, 0, true, true},
	        {2, 1000, 200, false, true}, {1, 5000, 500, true, false}, {2, 5000, 1, true, true},
	        {3, 7000, 180, true, true},
	};
	GPtrArray *a = g_ptr_array_new_with_free_func(record_free);
	for (guint i = 0; i < G_N_ELEMENTS(set); i++) {
		struct sample_record *s = g_new0(struct sample_record, 1);
		s->type = set[i].type;
		s->key = set[i].key;
		s->data = sample_payload(set[i].len, i, set[i].compressible);
		s->compress = set[i].compress;
		g_ptr_array_add(a, s);
	}
	return a;
}

void sample_write(const char *path, enum trc_file_kind kind, GPtrArray *records, bool finish)
{
	GError *error = NULL;
	struct trc_file_writer *w = trc_file_create(path, kind, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < records->len; i++) {
		struct sample_record *s = records->pdata[i];
		gsize n;
		const void *p = g_bytes_get_data(s->data, &n);
		g_assert_true(trc_file_append(w, s->type, s->key, p, n, s->compress, &error));
		g_assert_no_error(error);
	}
	if (finish) {
		g_assert_true(trc_file_finish(w, &error));
		g_assert_no_error(error);
		return;
	}
	/* What a crash leaves: the bytes handed to the OS so far. Keep a copy
	 * of them, then drop the writer (which deletes its file). */
	g_assert_true(trc_file_flush(w, false, NULL));
	gchar *data;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	trc_file_abandon(w);
	g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
	g_free(data);
}

GBytes *sample_file(enum trc_file_kind kind, GPtrArray *records, bool finish)
{
	char *dir = g_dir_make_tmp("nestlab-tracefile-XXXXXX", NULL);
	g_assert_nonnull(dir);
	char *path = g_build_filename(dir, "sample.nlb", NULL);
	sample_write(path, kind, records, finish);
	gchar *data;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	return g_bytes_new_take(data, len);
}

GArray *sample_record_ends(GBytes *file, guint count)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(file, &size);
	GArray *ends = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	uint64_t off = TRC_DISK_HEADER_SIZE;
	for (guint i = 0; i < count; i++) {
		struct trc_disk_record rec;
		g_assert_cmpuint(off + sizeof rec, <=, size);
		memcpy(&rec, p + off, sizeof rec);
		trc_disk_record_swap(&rec);
		g_assert_cmphex(rec.magic, ==, TRC_DISK_RECORD_MAGIC);
		off += sizeof rec + rec.stored_len;
		g_array_append_val(ends, off);
	}
	return ends;
}
