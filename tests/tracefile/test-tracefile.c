/*
 * test-tracefile.c - the snapshot and recording container (trace/file):
 * checksums, round trips, index lookups, crash prefixes, error messages,
 * and in-memory packing.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nestlab-config.h"
#include "sample.h"
#include "trcfile-format.h"
#include "trcfile.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

/* Opens `path`, asserting success. */
static struct trc_file_reader *open_ok(const char *path)
{
	GError *error = NULL;
	struct trc_file_reader *r = trc_file_open(path, &error);
	g_assert_no_error(error);
	g_assert_nonnull(r);
	return r;
}

/* Opens `path` expecting failure with `code` and a message containing `text`. */
static void open_fails(const char *path, int code, const char *text)
{
	GError *error = NULL;
	g_assert_null(trc_file_open(path, &error));
	g_assert_error(error, TRC_FILE_ERROR, code);
	if (!strstr(error->message, text) || !strstr(error->message, path))
		g_error("message \"%s\" lacks \"%s\" or the file name", error->message, text);
	g_error_free(error);
}

/* Asserts that record i of `r` is `s`, header and payload. */
static void assert_record(struct trc_file_reader *r, size_t i, const struct sample_record *s)
{
	uint32_t type;
	uint64_t key, len;
	trc_file_record_info(r, i, &type, &key, &len);
	g_assert_cmpuint(type, ==, s->type);
	g_assert_cmpuint(key, ==, s->key);
	g_assert_cmpuint(len, ==, g_bytes_get_size(s->data));
	GByteArray *out = g_byte_array_new();
	GError *error = NULL;
	g_assert_true(trc_file_read(r, i, out, &error));
	g_assert_no_error(error);
	gsize n;
	const void *p = g_bytes_get_data(s->data, &n);
	g_assert_cmpmem(out->data, out->len, p, n);
	g_byte_array_free(out, TRUE);
}

/* {====== checksum ====== */

static void test_crc32c_vectors(void)
{
	uint8_t buf[32];
	g_assert_cmphex(trc_crc32c(0, "123456789", 9), ==, 0xe3069283);
	g_assert_cmphex(trc_crc32c(0, "", 0), ==, 0);
	/* RFC 3720, B.4 */
	memset(buf, 0, sizeof buf);
	g_assert_cmphex(trc_crc32c(0, buf, 32), ==, 0x8a9136aa);
	memset(buf, 0xff, sizeof buf);
	g_assert_cmphex(trc_crc32c(0, buf, 32), ==, 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	g_assert_cmphex(trc_crc32c(0, buf, 32), ==, 0x46dd794e);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	g_assert_cmphex(trc_crc32c(0, buf, 32), ==, 0x113fdb5c);
}

static void test_crc32c_continues(void)
{
	GBytes *b = sample_payload(1000, 7, false);
	const uint8_t *p = g_bytes_get_data(b, NULL);
	uint32_t whole = trc_crc32c(0, p, 1000);
	for (size_t cut = 0; cut <= 1000; cut += 37)
		g_assert_cmphex(trc_crc32c(trc_crc32c(0, p, cut), p + cut, 1000 - cut), ==, whole);
	/* unaligned starts take the same path as aligned ones */
	g_assert_cmphex(trc_crc32c(0, p + 3, 100), ==,
	                trc_crc32c(trc_crc32c(0, p + 3, 5), p + 8, 95));
	g_bytes_unref(b);
}

/* }====== */

/* {====== round trips ====== */

static void free_record(gpointer p)
{
	struct sample_record *s = p;
	g_bytes_unref(s->data);
	g_free(s);
}

static GPtrArray *many_records(guint n)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(free_record);
	for (guint i = 0; i < n; i++) {
		struct sample_record *s = g_new0(struct sample_record, 1);
		s->type = 1 + i % 4;
		s->key = (uint64_t)i * 1000 + (i % 3);
		s->data = sample_payload(i % 9 == 0 ? 0 : (i * 37) % 3000, i, i % 2);
		s->compress = i % 3 != 0;
		g_ptr_array_add(a, s);
	}
	return a;
}

static void test_roundtrip_many(void)
{
	char *path = tmp_path("many.nlb");
	GPtrArray *recs = many_records(500);
	sample_write(path, TRC_FILE_RECORDING, recs, true);
	struct trc_file_reader *r = open_ok(path);
	g_assert_true(trc_file_complete(r));
	g_assert_null(trc_file_warning(r));
	g_assert_cmpint(trc_file_kind(r), ==, TRC_FILE_RECORDING);
	g_assert_cmpuint(trc_file_version(r), ==, TRC_FILE_VERSION);
	g_assert_cmpstr(trc_file_creator(r), ==, "nestlab " NESTLAB_VERSION);
	g_assert_cmpuint(trc_file_count(r), ==, recs->len);
	for (guint i = 0; i < recs->len; i++)
		assert_record(r, i, recs->pdata[i]);
	trc_file_close(r);
	g_ptr_array_free(recs, TRUE);
	g_free(path);
}

static void test_roundtrip_large(void)
{
	char *path = tmp_path("large.nlb");
	GPtrArray *recs = g_ptr_array_new_with_free_func(free_record);
	static const struct {
		size_t len;
		bool compressible, compress;
	} big[] = {{6 << 20, true, true}, {3 << 20, false, true}, {5 << 20, true, false}};
	for (guint i = 0; i < G_N_ELEMENTS(big); i++) {
		struct sample_record *s = g_new0(struct sample_record, 1);
		s->type = 7;
		s->key = i;
		s->data = sample_payload(big[i].len, i, big[i].compressible);
		s->compress = big[i].compress;
		g_ptr_array_add(recs, s);
	}
	sample_write(path, TRC_FILE_SNAPSHOT, recs, true);
	struct trc_file_reader *r = open_ok(path);
	g_assert_true(trc_file_complete(r));
	g_assert_cmpint(trc_file_kind(r), ==, TRC_FILE_SNAPSHOT);
	for (guint i = 0; i < recs->len; i++)
		assert_record(r, i, recs->pdata[i]);
	trc_file_close(r);
	/* 6 MiB of text compress; 3 MiB of noise are stored as they are */
	GStatBuf st;
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_size, <, (5 << 20) + (3 << 20) + (1 << 20));
	g_ptr_array_free(recs, TRUE);
	g_free(path);
}

static void test_roundtrip_no_records(void)
{
	char *path = tmp_path("none.nlb");
	GPtrArray *recs = g_ptr_array_new();
	sample_write(path, TRC_FILE_SNAPSHOT, recs, true);
	struct trc_file_reader *r = open_ok(path);
	g_assert_true(trc_file_complete(r));
	g_assert_cmpuint(trc_file_count(r), ==, 0);
	g_assert_cmpint(trc_file_find(r, 1, UINT64_MAX), ==, -1);
	trc_file_close(r);
	g_ptr_array_free(recs, TRUE);
	g_free(path);
}

static void test_incompressible_stored_raw(void)
{
	GPtrArray *recs = g_ptr_array_new_with_free_func(free_record);
	struct sample_record *s = g_new0(struct sample_record, 1);
	s->type = 1;
	s->data = sample_payload(4000, 1, false);
	s->compress = true;
	g_ptr_array_add(recs, s);
	GBytes *file = sample_file(TRC_FILE_RECORDING, recs, true);
	struct trc_disk_record rec;
	memcpy(&rec, (const uint8_t *)g_bytes_get_data(file, NULL) + TRC_DISK_HEADER_SIZE,
	       sizeof rec);
	trc_disk_record_swap(&rec);
	g_assert_cmphex(rec.flags, ==, 0);
	g_assert_cmpuint(rec.stored_len, ==, 4000);
	g_bytes_unref(file);
	g_ptr_array_free(recs, TRUE);
}

static void test_open_bytes_same_as_file(void)
{
	GPtrArray *recs = sample_records();
	GBytes *file = sample_file(TRC_FILE_RECORDING, recs, true);
	GError *error = NULL;
	struct trc_file_reader *r = trc_file_open_bytes(file, "mem.nlb", &error);
	g_assert_no_error(error);
	g_assert_true(trc_file_complete(r));
	for (guint i = 0; i < recs->len; i++)
		assert_record(r, i, recs->pdata[i]);
	trc_file_close(r);
	g_bytes_unref(file);
	g_ptr_array_free(recs, TRUE);
}

static void test_memory_file_same_as_disk(void)
{
	GPtrArray *recs = sample_records();
	GBytes *disk = sample_file(TRC_FILE_SNAPSHOT, recs, true);
	struct trc_file_writer *w = trc_file_create_memory(TRC_FILE_SNAPSHOT);
	GError *error = NULL;
	for (guint i = 0; i < recs->len; i++) {
		struct sample_record *s = recs->pdata[i];
		gsize n;
		const void *p = g_bytes_get_data(s->data, &n);
		g_assert_true(trc_file_append(w, s->type, s->key, p, n, s->compress, &error));
	}
	g_assert_true(trc_file_flush(w, true, &error)); /* no fsync for memory */
	GBytes *mem = trc_file_finish_bytes(w, &error);
	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(mem, disk));
	struct trc_file_reader *r = trc_file_open_bytes(mem, "snapshot in memory", &error);
	g_assert_no_error(error);
	g_assert_true(trc_file_complete(r));
	for (guint i = 0; i < recs->len; i++)
		assert_record(r, i, recs->pdata[i]);
	trc_file_close(r);
	g_bytes_unref(mem);
	g_bytes_unref(disk);
	g_ptr_array_free(recs, TRUE);
}

/* }====== */

/* {====== lookup ====== */

static int64_t find_linear(struct trc_file_reader *r, uint32_t type, uint64_t key)
{
	int64_t best = -1;
	uint64_t best_key = 0;
	for (size_t i = 0; i < trc_file_count(r); i++) {
		uint32_t t;
		uint64_t k;
		trc_file_record_info(r, i, &t, &k, NULL);
		if (t == type && k <= key && (best < 0 || k >= best_key))
			best = (int64_t)i, best_key = k;
	}
	return best;
}

static void test_find_matches_linear_scan(void)
{
	char *path = tmp_path("find.nlb");
	GError *error = NULL;
	struct trc_file_writer *w = trc_file_create(path, TRC_FILE_RECORDING, &error);
	g_assert_no_error(error);
	GRand *rand = g_rand_new_with_seed(5);
	for (int i = 0; i < 2000; i++) {
		/* mostly rising keys (icounts), some out of order, some repeated */
		uint64_t key = (uint64_t)i * 10 + (uint64_t)g_rand_int_range(rand, 0, 30);
		uint32_t type = (uint32_t)g_rand_int_range(rand, 1, 5);
		g_assert_true(trc_file_append(w, type, key, &i, sizeof i, false, &error));
	}
	g_assert_true(trc_file_finish(w, &error));
	struct trc_file_reader *r = open_ok(path);
	for (int q = 0; q < 5000; q++) {
		uint32_t type = (uint32_t)g_rand_int_range(rand, 0, 6);
		uint64_t key = (uint64_t)g_rand_int_range(rand, 0, 20100);
		g_assert_cmpint(trc_file_find(r, type, key), ==, find_linear(r, type, key));
	}
	g_assert_cmpint(trc_file_find(r, 1, UINT64_MAX), ==, find_linear(r, 1, UINT64_MAX));
	g_rand_free(rand);
	trc_file_close(r);
	g_free(path);
}

static void test_find_last_of_equal_keys(void)
{
	char *path = tmp_path("equal.nlb");
	GError *error = NULL;
	struct trc_file_writer *w = trc_file_create(path, TRC_FILE_RECORDING, &error);
	for (int i = 0; i < 6; i++)
		g_assert_true(trc_file_append(w, 2, i < 3 ? 100 : 200, &i, 1, false, &error));
	g_assert_true(trc_file_finish(w, &error));
	struct trc_file_reader *r = open_ok(path);
	g_assert_cmpint(trc_file_find(r, 2, 99), ==, -1);
	g_assert_cmpint(trc_file_find(r, 2, 100), ==, 2);
	g_assert_cmpint(trc_file_find(r, 2, 199), ==, 2);
	g_assert_cmpint(trc_file_find(r, 2, 200), ==, 5);
	g_assert_cmpint(trc_file_find(r, 3, 200), ==, -1);
	trc_file_close(r);
	g_free(path);
}

/* }====== */

/* {====== crashes and atomic snapshots ====== */

/* A child process records three records and dies without finishing: the
 * parent reads those three. */
static void test_crash_leaves_readable_prefix(void)
{
	char *path = tmp_path("crash.nlb");
	GPtrArray *recs = sample_records();
	pid_t pid = fork();
	if (pid == 0) {
		struct trc_file_writer *w = trc_file_create(path, TRC_FILE_RECORDING, NULL);
		for (guint i = 0; w && i < 3; i++) {
			struct sample_record *s = recs->pdata[i];
			gsize n;
			const void *p = g_bytes_get_data(s->data, &n);
			if (!trc_file_append(w, s->type, s->key, p, n, s->compress, NULL))
				_exit(2);
		}
		_exit(w ? 9 : 2); /* no finish, no cleanup: as a crash */
	}
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_cmpint(WEXITSTATUS(status), ==, 9);
	struct trc_file_reader *r = open_ok(path);
	g_assert_false(trc_file_complete(r));
	g_assert_cmpstr(trc_file_warning(r), ==,
	                "the recording ends early: it stops after record 2 without an index "
	                "(a crash while writing?); 3 records are readable");
	g_assert_cmpuint(trc_file_count(r), ==, 3);
	for (guint i = 0; i < 3; i++)
		assert_record(r, i, recs->pdata[i]);
	trc_file_close(r);
	g_ptr_array_free(recs, TRUE);
	g_free(path);
}

static void test_snapshot_replaced_only_when_finished(void)
{
	char *path = tmp_path("snap.nlb");
	GPtrArray *recs = sample_records();
	sample_write(path, TRC_FILE_SNAPSHOT, recs, true);
	GError *error = NULL;
	struct trc_file_writer *w = trc_file_create(path, TRC_FILE_SNAPSHOT, &error);
	g_assert_no_error(error);
	g_assert_true(trc_file_append(w, 9, 1, "new", 3, false, &error));
	struct trc_file_reader *r = open_ok(path); /* still the old one */
	g_assert_cmpuint(trc_file_count(r), ==, recs->len);
	trc_file_close(r);
	trc_file_abandon(w);
	r = open_ok(path);
	g_assert_cmpuint(trc_file_count(r), ==, recs->len);
	trc_file_close(r);
	w = trc_file_create(path, TRC_FILE_SNAPSHOT, &error);
	g_assert_true(trc_file_append(w, 9, 1, "new", 3, false, &error));
	g_assert_true(trc_file_finish(w, &error));
	r = open_ok(path);
	g_assert_cmpuint(trc_file_count(r), ==, 1);
	trc_file_close(r);
	/* no temporary files left beside it */
	GDir *dir = g_dir_open(tmpdir, 0, NULL);
	const char *name;
	while ((name = g_dir_read_name(dir)))
		g_assert_false(g_str_has_prefix(name, "snap.nlb."));
	g_dir_close(dir);
	g_ptr_array_free(recs, TRUE);
	g_free(path);
}

/* }====== */

/* {====== messages ====== */

/* Writes `bytes` to a file named `name` and returns its path. */
static char *put_file(const char *name, const void *bytes, size_t len)
{
	char *path = tmp_path(name);
	g_assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));
	return path;
}

/* A finished sample file with its header changed by `edit`, checksum
 * recomputed when `reseal`. */
static char *edited_header(const char *name, void (*edit)(struct trc_disk_header *), bool reseal)
{
	GPtrArray *recs = sample_records();
	GBytes *file = sample_file(TRC_FILE_RECORDING, recs, true);
	gsize n;
	const void *orig = g_bytes_get_data(file, &n);
	uint8_t *b = g_memdup2(orig, n);
	struct trc_disk_header h;
	memcpy(&h, b, sizeof h);
	trc_disk_header_swap(&h);
	edit(&h);
	trc_disk_header_swap(&h);
	if (reseal)
		h.crc = GUINT32_TO_LE(trc_disk_header_crc(&h));
	memcpy(b, &h, sizeof h);
	char *path = put_file(name, b, n);
	g_free(b);
	g_bytes_unref(file);
	g_ptr_array_free(recs, TRUE);
	return path;
}

static void make_newer(struct trc_disk_header *h)
{
	h->version = TRC_FILE_VERSION + 1;
}

static void flip_creator(struct trc_disk_header *h)
{
	h->creator[0] ^= 1;
}

static void make_unknown_kind(struct trc_disk_header *h)
{
	h->kind = 7;
}

static void test_open_messages(void)
{
	char *missing = tmp_path("missing.nlb");
	open_fails(missing, TRC_FILE_ERROR_IO, ": cannot open: No such file or directory");
	open_fails(tmpdir, TRC_FILE_ERROR_NOT_TRACE, ": not a regular file");
	char *empty = put_file("empty.nlb", "", 0);
	open_fails(empty, TRC_FILE_ERROR_NOT_TRACE,
	           ": the file is empty, not a nestlab snapshot or recording");
	char *text = put_file("text.nlb", "hello, world\n", 13);
	open_fails(text, TRC_FILE_ERROR_NOT_TRACE,
	           ": not a nestlab snapshot or recording (bad magic)");
	char *short_hdr = put_file("short.nlb", TRC_DISK_MAGIC "\x01", 9);
	open_fails(short_hdr, TRC_FILE_ERROR_DAMAGED,
	           ": the file is cut off inside its header (9 of 64 bytes)");
	char *newer = edited_header("newer.nlb", make_newer, true);
	open_fails(newer, TRC_FILE_ERROR_VERSION,
	           ": made by a newer nestlab (format version 2, this reads up to 1)");
	char *flipped = edited_header("flipped.nlb", flip_creator, false);
	open_fails(flipped, TRC_FILE_ERROR_DAMAGED,
	           ": header checksum mismatch: the file is damaged");
	char *kind = edited_header("kind.nlb", make_unknown_kind, true);
	open_fails(kind, TRC_FILE_ERROR_DAMAGED,
	           ": the header is invalid (version 1, kind 7, size 64, flags 0x0)");
	char *paths[] = {missing, empty, text, short_hdr, newer, flipped, kind};
	for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
		g_unlink(paths[i]);
		g_free(paths[i]);
	}
}

static void test_read_messages(void)
{
	GPtrArray *recs = sample_records();
	GBytes *file = sample_file(TRC_FILE_RECORDING, recs, true);
	gsize n;
	const void *orig = g_bytes_get_data(file, &n);
	uint8_t *b = g_memdup2(orig, n);
	GArray *ends = sample_record_ends(file, recs->len);
	uint64_t rec4 = g_array_index(ends, uint64_t, 3);
	b[rec4 + TRC_DISK_RECORD_SIZE + 7] ^= 0x10; /* a payload byte of record 4 (type 1) */
	GBytes *bad = g_bytes_new(b, n);
	GError *error = NULL;
	struct trc_file_reader *r = trc_file_open_bytes(bad, "bad.nlb", &error);
	g_assert_no_error(error);
	GByteArray *out = g_byte_array_new();
	g_assert_false(trc_file_read(r, 4, out, &error));
	char *want = g_strdup_printf("bad.nlb: record 4 (type 1) at offset %" G_GUINT64_FORMAT
	                             ": checksum mismatch, the file is damaged",
	                             rec4);
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED);
	g_assert_cmpstr(error->message, ==, want);
	g_assert_cmpuint(out->len, ==, 0);
	g_clear_error(&error);
	g_assert_false(trc_file_read(r, 99, out, &error));
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID);
	g_assert_cmpstr(error->message, ==, "bad.nlb: there is no record 99 (the file has 7)");
	g_clear_error(&error);
	trc_file_set_limit(r, 100);
	g_assert_false(trc_file_read(r, 0, out, &error));
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==,
	                "bad.nlb: record 0 (type 1) at offset 64 holds 300 "
	                "bytes, more than the limit of 100");
	g_clear_error(&error);
	g_assert_true(trc_file_read(r, 1, out, &error)); /* 40 bytes: under the limit */
	trc_file_close(r);
	g_byte_array_free(out, TRUE);
	g_array_free(ends, TRUE);
	g_bytes_unref(bad);
	g_bytes_unref(file);
	g_free(b);
	g_free(want);
	g_ptr_array_free(recs, TRUE);
}

static void test_write_messages(void)
{
	GError *error = NULL;
	char *nodir = tmp_path("no/such/dir/x.nlb");
	g_assert_null(trc_file_create(nodir, TRC_FILE_RECORDING, &error));
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_IO);
	char *want = g_strdup_printf("%s: cannot create: No such file or directory", nodir);
	g_assert_cmpstr(error->message, ==, want);
	g_clear_error(&error);
	char *path = tmp_path("types.nlb");
	struct trc_file_writer *w = trc_file_create(path, TRC_FILE_RECORDING, &error);
	g_assert_false(trc_file_append(w, 0, 0, "", 0, false, &error));
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID);
	g_assert_true(g_str_has_suffix(
	        error->message, ": cannot append a record of type 0x0: types are 1 to 0xfffeffff"));
	g_clear_error(&error);
	g_assert_false(trc_file_append(w, TRC_DISK_TYPE_INDEX, 0, "", 0, false, &error));
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_cmpuint(trc_file_appended(w), ==, 0);
	trc_file_abandon(w);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	g_free(want);
	g_free(nodir);
	g_free(path);
}

/* A disk that fills up: every write fails and says so; the writer stays spent. */
static void test_write_to_full_disk(void)
{
	if (!g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
		g_test_skip("no /dev/full");
		return;
	}
	GError *error = NULL;
	struct trc_file_writer *w = trc_file_create("/dev/full", TRC_FILE_RECORDING, &error);
	g_assert_null(w);
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_IO);
	g_assert_cmpstr(error->message, ==, "/dev/full: cannot write: No space left on device");
	g_clear_error(&error);
}

/* }====== */

/* {====== packing ====== */

static void test_pack_roundtrip(void)
{
	GError *error = NULL;
	for (size_t len = 0; len < 70000; len = len * 3 + 1) {
		GBytes *b = sample_payload(len, (uint32_t)len, len % 2);
		GByteArray *packed = g_byte_array_new(), *out = g_byte_array_new();
		g_byte_array_append(out, (const guint8 *)"xy", 2); /* unpack appends */
		g_assert_true(trc_file_pack(g_bytes_get_data(b, NULL), len, 3, packed, &error));
		g_assert_true(trc_file_unpack(packed->data, packed->len, len, out, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(out->len, ==, len + 2);
		g_assert_cmpmem(out->data + 2, len, g_bytes_get_data(b, NULL), len);
		g_byte_array_free(packed, TRUE);
		g_byte_array_free(out, TRUE);
		g_bytes_unref(b);
	}
}

/* Runs unpack on `p`, expecting failure with `text` in the message and
 * `out` unchanged. */
static void unpack_fails(const void *p, size_t n, uint64_t max, const char *text)
{
	GError *error = NULL;
	GByteArray *out = g_byte_array_new();
	g_byte_array_append(out, (const guint8 *)"keep", 4);
	g_assert_false(trc_file_unpack(p, n, max, out, &error));
	g_assert_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED);
	if (!strstr(error->message, text))
		g_error("message \"%s\" lacks \"%s\"", error->message, text);
	g_assert_cmpmem(out->data, out->len, "keep", 4);
	g_error_free(error);
	g_byte_array_free(out, TRUE);
}

static void test_unpack_rejects_damage(void)
{
	GBytes *b = sample_payload(5000, 3, true);
	GByteArray *packed = g_byte_array_new();
	g_assert_true(trc_file_pack(g_bytes_get_data(b, NULL), 5000, 3, packed, NULL));
	unpack_fails(packed->data, packed->len, 4999,
	             "declares 5000 bytes, more than the limit of 4999");
	unpack_fails(packed->data, packed->len - 3, 5000, "the zstd frame");
	unpack_fails(packed->data, 3, 5000, "is not a zstd frame");
	unpack_fails("hello", 5, 5000, "is not a zstd frame");
	GByteArray *copy = g_byte_array_new();
	g_byte_array_append(copy, packed->data, packed->len);
	copy->data[copy->len - 1] ^= 1; /* zstd's own checksum */
	unpack_fails(copy->data, copy->len, 5000, "is damaged");
	g_byte_array_append(packed, (const guint8 *)"zz", 2);
	unpack_fails(packed->data, packed->len, 5000, "is followed by 2 stray bytes");
	g_byte_array_free(copy, TRUE);
	g_byte_array_free(packed, TRUE);
	g_bytes_unref(b);
}

/* }====== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("nestlab-tracefile-XXXXXX", NULL);
	g_test_add_func("/trace/file/crc32c/known-vectors", test_crc32c_vectors);
	g_test_add_func("/trace/file/crc32c/continues-across-calls", test_crc32c_continues);
	g_test_add_func("/trace/file/roundtrip/many-records", test_roundtrip_many);
	g_test_add_func("/trace/file/roundtrip/large-payloads", test_roundtrip_large);
	g_test_add_func("/trace/file/roundtrip/no-records", test_roundtrip_no_records);
	g_test_add_func("/trace/file/roundtrip/incompressible-stored-raw",
	                test_incompressible_stored_raw);
	g_test_add_func("/trace/file/roundtrip/from-memory", test_open_bytes_same_as_file);
	g_test_add_func("/trace/file/roundtrip/memory-writer-same-bytes",
	                test_memory_file_same_as_disk);
	g_test_add_func("/trace/file/find/matches-linear-scan", test_find_matches_linear_scan);
	g_test_add_func("/trace/file/find/last-of-equal-keys", test_find_last_of_equal_keys);
	g_test_add_func("/trace/file/crash/leaves-readable-prefix",
	                test_crash_leaves_readable_prefix);
	g_test_add_func("/trace/file/snapshot/replaced-only-when-finished",
	                test_snapshot_replaced_only_when_finished);
	g_test_add_func("/trace/file/messages/open", test_open_messages);
	g_test_add_func("/trace/file/messages/read", test_read_messages);
	g_test_add_func("/trace/file/messages/write", test_write_messages);
	g_test_add_func("/trace/file/messages/disk-full", test_write_to_full_disk);
	g_test_add_func("/trace/file/pack/roundtrip", test_pack_roundtrip);
	g_test_add_func("/trace/file/pack/rejects-damage", test_unpack_rejects_damage);
	int status = g_test_run();
	GDir *dir = g_dir_open(tmpdir, 0, NULL);
	const char *name;
	while (dir && (name = g_dir_read_name(dir))) {
		char *p = tmp_path(name);
		g_unlink(p);
		g_free(p);
	}
	if (dir)
		g_dir_close(dir);
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return status;
}
