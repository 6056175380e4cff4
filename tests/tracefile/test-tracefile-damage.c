/*
 * test-tracefile-damage.c - damaged files: a small recording cut at every
 * byte offset, and every single-bit flip of it. Whatever the damage, the
 * reader either refuses with a message that names the damaged part or
 * returns exactly the records that were written; never a wrong payload
 * as good, never a crash.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sample.h"
#include "trcfile-format.h"
#include "trcfile.h"

static GPtrArray *recs;   /* the records of the sample file */
static GBytes *file;      /* the finished sample recording */
static GArray *ends;      /* where each record ends in it */
static uint64_t index_at; /* where the index record starts */

static void setup_sample(void)
{
	recs = sample_records();
	file = sample_file(TRC_FILE_RECORDING, recs, true);
	ends = sample_record_ends(file, recs->len);
	index_at = g_array_index(ends, uint64_t, recs->len - 1);
}

static void assert_contains(const char *message, const char *text)
{
	if (!strstr(message, text))
		g_error("message \"%s\" lacks \"%s\"", message, text);
}

/* Reads record i and compares it with what was written: true if equal,
 * false if the reader refused it (with a "damaged" message); a different
 * payload returned as good fails the test. */
static bool read_matches(struct trc_file_reader *r, size_t i, GByteArray *out)
{
	const struct sample_record *s = recs->pdata[i];
	GError *error = NULL;
	if (!trc_file_read(r, i, out, &error)) {
		g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED);
		char *where = g_strdup_printf("record %zu (type %u) at offset ", i, s->type);
		assert_contains(error->message, where);
		assert_contains(error->message, "the file is damaged");
		g_free(where);
		g_error_free(error);
		return false;
	}
	gsize n;
	const void *p = g_bytes_get_data(s->data, &n);
	g_assert_cmpmem(out->data, out->len, p, n);
	uint32_t type;
	uint64_t key;
	trc_file_record_info(r, i, &type, &key, NULL);
	g_assert_cmpuint(type, ==, s->type);
	g_assert_cmpuint(key, ==, s->key);
	return true;
}

/* {====== cut at every offset ====== */

/* Records that are whole in the first `len` bytes. */
static guint whole_records(uint64_t len)
{
	guint n = 0;
	while (n < ends->len && g_array_index(ends, uint64_t, n) <= len)
		n++;
	return n;
}

static void check_cut(struct trc_file_reader *r, GError *error, gsize k, gsize size,
                      GByteArray *out)
{
	if (k == 0) {
		g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE);
		assert_contains(error->message, "the file is empty");
		return;
	}
	if (k < TRC_DISK_HEADER_SIZE) {
		g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED);
		assert_contains(error->message, "cut off inside its header");
		return;
	}
	g_assert_no_error(error);
	g_assert_true(trc_file_complete(r) == (k == size));
	guint n = k == size ? recs->len : whole_records(k);
	g_assert_cmpuint(trc_file_count(r), ==, n);
	if (k < size)
		assert_contains(trc_file_warning(r), "the recording ends early: ");
	for (guint i = 0; i < n; i++)
		g_assert_true(read_matches(r, i, out));
}

static void test_cut_at_every_offset(void)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(file, &size);
	char *dir = g_dir_make_tmp("nestlab-tracefile-XXXXXX", NULL);
	char *path = g_build_filename(dir, "cut.nlb", NULL);
	g_assert_true(g_file_set_contents(path, (const char *)p, (gssize)size, NULL));
	GByteArray *out = g_byte_array_new();
	for (gsize k = size + 1; k-- > 0;) {
		/* from memory, and from a real file cut to that length */
		GBytes *cut = g_bytes_new_from_bytes(file, 0, k);
		GError *error = NULL;
		struct trc_file_reader *r = trc_file_open_bytes(cut, "cut.nlb", &error);
		check_cut(r, error, k, size, out);
		g_clear_error(&error);
		trc_file_close(r);
		g_bytes_unref(cut);
		g_assert_cmpint(truncate(path, (off_t)k), ==, 0);
		r = trc_file_open(path, &error);
		check_cut(r, error, k, size, out);
		g_clear_error(&error);
		trc_file_close(r);
	}
	g_byte_array_free(out, TRUE);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

/* The exact sentences for the three kinds of cut. */
static void test_cut_warnings(void)
{
	GError *error = NULL;
	uint64_t mid = g_array_index(ends, uint64_t, 1) + 10; /* inside record 2 */
	GBytes *cut = g_bytes_new_from_bytes(file, 0, mid);
	struct trc_file_reader *r = trc_file_open_bytes(cut, "cut.nlb", &error);
	char *want =
	        g_strdup_printf("the recording ends early: record 2 at offset %" G_GUINT64_FORMAT
	                        " is truncated (a crash while writing?); 2 records are readable",
	                        g_array_index(ends, uint64_t, 1));
	g_assert_cmpstr(trc_file_warning(r), ==, want);
	trc_file_close(r);
	g_bytes_unref(cut);
	g_free(want);
	cut = g_bytes_new_from_bytes(file, 0, index_at + TRC_DISK_RECORD_SIZE + 5);
	r = trc_file_open_bytes(cut, "cut.nlb", &error);
	g_assert_cmpstr(trc_file_warning(r), ==,
	                "the recording ends early: its trailer is cut off (a crash while "
	                "finishing?); all 7 records are readable");
	trc_file_close(r);
	g_bytes_unref(cut);
	cut = g_bytes_new_from_bytes(file, 0, TRC_DISK_HEADER_SIZE);
	r = trc_file_open_bytes(cut, "cut.nlb", &error);
	g_assert_cmpstr(trc_file_warning(r), ==,
	                "the recording ends early: it stops before its first record (a crash "
	                "while writing?); no records are readable");
	trc_file_close(r);
	g_bytes_unref(cut);
}

/* }====== */

/* {====== every bit flip ====== */

/* Which record (or -1: header, -2: index or trailer) byte `off` belongs to. */
static int part_of(uint64_t off)
{
	if (off < TRC_DISK_HEADER_SIZE)
		return -1;
	for (guint i = 0; i < ends->len; i++)
		if (off < g_array_index(ends, uint64_t, i))
			return (int)i;
	return -2;
}

static void check_flip(uint64_t off, int bit, struct trc_file_reader *r, GError *error,
                       GByteArray *out)
{
	int part = part_of(off);
	if (part == -1) {
		/* the header: refused, saying why */
		g_assert_null(r);
		g_assert_nonnull(error);
		if (!strstr(error->message, "(bad magic)") &&
		    !strstr(error->message, "header checksum mismatch: the file is damaged"))
			g_error("flip at %" G_GUINT64_FORMAT ".%d: \"%s\"", off, bit,
			        error->message);
		return;
	}
	g_assert_no_error(error);
	if (part == -2) {
		/* the index or trailer: found again by scanning, every record good */
		g_assert_false(trc_file_complete(r));
		const char *w = trc_file_warning(r);
		if (!strstr(w, "index or trailer is damaged") && !strstr(w, "trailer is damaged"))
			g_error("flip at %" G_GUINT64_FORMAT ".%d: \"%s\"", off, bit, w);
		g_assert_cmpuint(trc_file_count(r), ==, recs->len);
		for (guint i = 0; i < recs->len; i++)
			g_assert_true(read_matches(r, i, out));
		return;
	}
	/* a record: exactly that one is refused, the others read back */
	g_assert_true(trc_file_complete(r));
	g_assert_cmpuint(trc_file_count(r), ==, recs->len);
	for (guint i = 0; i < recs->len; i++)
		g_assert_true(read_matches(r, i, out) == ((int)i != part));
}

static void test_every_bit_flip(void)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(file, &size);
	uint8_t *b = g_memdup2(p, size);
	GByteArray *out = g_byte_array_new();
	for (gsize off = 0; off < size; off++) {
		for (int bit = 0; bit < 8; bit++) {
			b[off] ^= (uint8_t)(1u << bit);
			GBytes *flipped = g_bytes_new_static(b, size);
			GError *error = NULL;
			struct trc_file_reader *r =
			        trc_file_open_bytes(flipped, "flip.nlb", &error);
			check_flip(off, bit, r, error, out);
			g_clear_error(&error);
			trc_file_close(r);
			g_bytes_unref(flipped);
			b[off] ^= (uint8_t)(1u << bit);
		}
	}
	g_byte_array_free(out, TRUE);
	g_free(b);
}

/* A recording that was never finished, damaged in its middle: the scan
 * stops at the damaged record and keeps the ones before it. */
static void test_unfinished_damaged_payload(void)
{
	GBytes *unfinished = sample_file(TRC_FILE_RECORDING, recs, false);
	gsize size;
	const void *orig = g_bytes_get_data(unfinished, &size);
	uint8_t *b = g_memdup2(orig, size);
	uint64_t rec3 = g_array_index(ends, uint64_t, 2);
	b[rec3 + TRC_DISK_RECORD_SIZE + 2] ^= 4;
	GBytes *bad = g_bytes_new_take(b, size);
	struct trc_file_reader *r = trc_file_open_bytes(bad, "bad.nlb", NULL);
	char *want =
	        g_strdup_printf("the recording is damaged: record 3 at offset %" G_GUINT64_FORMAT
	                        " fails its checksum; the 3 records before it are readable",
	                        rec3);
	g_assert_cmpstr(trc_file_warning(r), ==, want);
	g_assert_cmpuint(trc_file_count(r), ==, 3);
	trc_file_close(r);
	g_free(want);
	g_bytes_unref(bad);
	g_bytes_unref(unfinished);
}

/* }====== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	setup_sample();
	g_test_add_func("/trace/file/damage/cut-at-every-offset", test_cut_at_every_offset);
	g_test_add_func("/trace/file/damage/cut-warnings", test_cut_warnings);
	g_test_add_func("/trace/file/damage/every-bit-flip", test_every_bit_flip);
	g_test_add_func("/trace/file/damage/unfinished-damaged-payload",
	                test_unfinished_damaged_payload);
	int status = g_test_run();
	g_array_free(ends, TRUE);
	g_bytes_unref(file);
	g_ptr_array_free(recs, TRUE);
	return status;
}
