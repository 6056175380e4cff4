/*
 * test-disk.c - raw disk images: the messages for images that cannot be
 * used, copy-on-write (the file never changes), writeback, range checks,
 * and overlay save/restore.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "nestlab.h"

#define NOBODY_UID 65534

static char *tmpdir;

/* The byte at offset `i` of sector `lba` of a test image. */
static uint8_t pattern(uint64_t lba, unsigned i)
{
	return (uint8_t)(lba * 31 + i * 7 + (lba >> 8));
}

static char *make_file(const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	GError *err = NULL;
	g_file_set_contents(path, data, (gssize)len, &err);
	g_assert_no_error(err);
	return path;
}

static char *make_image(const char *name, uint64_t sectors)
{
	size_t len = (size_t)sectors * DISK_SECTOR_SIZE;
	uint8_t *buf = g_malloc(len);
	for (uint64_t s = 0; s < sectors; s++)
		for (unsigned i = 0; i < DISK_SECTOR_SIZE; i++)
			buf[s * DISK_SECTOR_SIZE + i] = pattern(s, i);
	char *path = make_file(name, buf, len);
	g_free(buf);
	return path;
}

static void fill(uint8_t *buf, uint32_t count, uint8_t seed)
{
	for (size_t i = 0; i < (size_t)count * DISK_SECTOR_SIZE; i++)
		buf[i] = (uint8_t)(seed + i * 13);
}

static bool sector_is_original(struct disk *d, uint64_t lba)
{
	uint8_t buf[DISK_SECTOR_SIZE];
	g_assert_true(disk_read(d, lba, 1, buf));
	for (unsigned i = 0; i < DISK_SECTOR_SIZE; i++)
		if (buf[i] != pattern(lba, i))
			return false;
	return true;
}

static char *file_checksum(const char *path)
{
	char *data;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
	g_free(data);
	return sum;
}

/* Opens `path` expecting failure with `domain`/`code` and a message that
 * contains the path and `text`. */
static void expect_open_error(const char *path, bool writeback, GQuark domain, int code,
                              const char *text)
{
	GError *err = NULL;
	struct disk *d = disk_open(path, writeback, &err);
	g_assert_null(d);
	g_assert_error(err, domain, code);
	g_assert_nonnull(strstr(err->message, path));
	if (!strstr(err->message, text))
		g_error("message \"%s\" lacks \"%s\"", err->message, text);
	g_error_free(err);
}

/* {====== images that cannot be used */

static void test_missing(void)
{
	char *path = g_build_filename(tmpdir, "no-such.img", NULL);
	expect_open_error(path, false, G_FILE_ERROR, G_FILE_ERROR_NOENT, "does not exist");
	expect_open_error(path, true, G_FILE_ERROR, G_FILE_ERROR_NOENT, "does not exist");
	g_free(path);
}

static void test_directory(void)
{
	expect_open_error(tmpdir, false, NESTLAB_ERROR, NESTLAB_ERROR_DISK, "is a directory");
	expect_open_error(tmpdir, true, NESTLAB_ERROR, NESTLAB_ERROR_DISK, "is a directory");
}

static void test_empty(void)
{
	char *path = make_file("empty.img", "", 0);
	expect_open_error(path, false, NESTLAB_ERROR, NESTLAB_ERROR_DISK, "is empty");
	g_free(path);
}

static void test_not_whole_sectors(void)
{
	uint8_t buf[700] = { 0 };
	char *path = make_file("odd.img", buf, sizeof buf);
	expect_open_error(path, false, NESTLAB_ERROR, NESTLAB_ERROR_DISK,
	                  "700 bytes, not a whole number of 512-byte sectors");
	expect_open_error(path, false, NESTLAB_ERROR, NESTLAB_ERROR_DISK, "truncate -s 1024");
	g_free(path);
}

/* Permission checks mean nothing to root: the child drops to nobody. */
static void drop_root(void)
{
	if (geteuid() == 0 && setuid(NOBODY_UID) != 0)
		g_error("cannot drop root privileges for a permission test");
}

static void test_unreadable(void)
{
	if (g_test_subprocess()) {
		drop_root();
		char *path = g_build_filename(tmpdir, "secret.img", NULL);
		expect_open_error(path, false, G_FILE_ERROR, G_FILE_ERROR_ACCES,
		                  "permission denied");
		g_free(path);
		return;
	}
	char *path = make_image("secret.img", 4);
	g_assert_cmpint(g_chmod(path, 0), ==, 0);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_free(path);
}

static void test_writeback_readonly(void)
{
	if (g_test_subprocess()) {
		drop_root();
		char *path = g_build_filename(tmpdir, "ro.img", NULL);
		expect_open_error(path, true, NESTLAB_ERROR, NESTLAB_ERROR_DISK_READONLY,
		                  "is read-only; drop ',writeback' to use a copy-on-write overlay");
		GError *err = NULL;
		struct disk *d = disk_open(path, false, &err); /* copy-on-write still works */
		g_assert_no_error(err);
		g_assert_cmpuint(disk_sectors(d), ==, 4);
		disk_close(d);
		g_free(path);
		return;
	}
	char *path = make_image("ro.img", 4);
	g_assert_cmpint(g_chmod(path, 0444), ==, 0);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_free(path);
}

/* }====== */

/* {====== copy-on-write and writeback */

static void test_cow_reads_file(void)
{
	char *path = make_image("read.img", 40);
	struct disk *d = disk_open(path, false, NULL);
	g_assert_nonnull(d);
	g_assert_cmpuint(disk_sectors(d), ==, 40);
	g_assert_false(disk_is_writeback(d));
	uint8_t buf[40 * DISK_SECTOR_SIZE];
	g_assert_true(disk_read(d, 0, 40, buf));
	for (uint64_t s = 0; s < 40; s++)
		g_assert_cmpuint(buf[s * DISK_SECTOR_SIZE + 3], ==, pattern(s, 3));
	disk_close(d);
	g_free(path);
}

static void test_cow_never_writes_file(void)
{
	char *path = make_image("cow.img", 40);
	char *before = file_checksum(path);
	struct disk *d = disk_open(path, false, NULL);
	uint8_t w[3 * DISK_SECTOR_SIZE], r[3 * DISK_SECTOR_SIZE];
	fill(w, 3, 0x55);
	g_assert_true(disk_write(d, 6, 3, w)); /* straddles clusters 0 and 1 */
	g_assert_true(disk_read(d, 6, 3, r));
	g_assert_cmpmem(w, sizeof w, r, sizeof r);
	g_assert_cmpuint(disk_overlay_clusters(d), ==, 2);
	/* the rest of both clusters still shows the file */
	for (uint64_t s = 0; s < 16; s++)
		g_assert_true(sector_is_original(d, s) == (s < 6 || s > 8));
	disk_close(d);
	char *after = file_checksum(path);
	g_assert_cmpstr(before, ==, after);
	d = disk_open(path, false, NULL); /* a new run starts from the file */
	g_assert_true(sector_is_original(d, 7));
	disk_close(d);
	g_free(before);
	g_free(after);
	g_free(path);
}

static void test_last_partial_cluster(void)
{
	char *path = make_image("nine.img", 9); /* cluster 1 holds only sector 8 */
	struct disk *d = disk_open(path, false, NULL);
	uint8_t w[DISK_SECTOR_SIZE], r[DISK_SECTOR_SIZE];
	fill(w, 1, 0x21);
	g_assert_true(disk_write(d, 8, 1, w));
	g_assert_true(disk_read(d, 8, 1, r));
	g_assert_cmpmem(w, sizeof w, r, sizeof r);
	g_assert_true(sector_is_original(d, 7));
	disk_close(d);
	g_free(path);
}

static void test_range(void)
{
	char *path = make_image("range.img", 16);
	struct disk *d = disk_open(path, false, NULL);
	uint8_t buf[2 * DISK_SECTOR_SIZE] = { 0 };
	g_assert_null(disk_error(d));
	g_assert_true(disk_read(d, 15, 1, buf));
	g_assert_false(disk_read(d, 16, 1, buf));
	g_assert_nonnull(strstr(disk_error(d), "beyond the end"));
	g_assert_false(disk_read(d, 15, 2, buf));
	g_assert_false(disk_write(d, 15, 2, buf));
	g_assert_false(disk_write(d, UINT64_MAX, 1, buf));
	g_assert_true(sector_is_original(d, 15)); /* the failed write changed nothing */
	disk_close(d);
	g_free(path);
}

static void test_writeback(void)
{
	char *path = make_image("wb.img", 16);
	GError *err = NULL;
	struct disk *d = disk_open(path, true, &err);
	g_assert_no_error(err);
	g_assert_true(disk_is_writeback(d));
	uint8_t w[2 * DISK_SECTOR_SIZE];
	fill(w, 2, 0x77);
	g_assert_true(disk_write(d, 3, 2, w));
	g_assert_cmpuint(disk_overlay_clusters(d), ==, 0);
	g_assert_true(disk_flush(d));
	disk_close(d);
	char *data;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_assert_cmpuint(len, ==, 16 * DISK_SECTOR_SIZE);
	g_assert_cmpmem(data + 3 * DISK_SECTOR_SIZE, sizeof w, w, sizeof w);
	g_assert_cmpuint((uint8_t)data[5 * DISK_SECTOR_SIZE], ==, pattern(5, 0));
	g_free(data);
	g_free(path);
}

/* }====== */

/* {====== overlay snapshots */

static void test_overlay_save_restore(void)
{
	char *path = make_image("snap.img", 64);
	struct disk *d = disk_open(path, false, NULL);
	uint8_t a[DISK_SECTOR_SIZE], b[DISK_SECTOR_SIZE], r[DISK_SECTOR_SIZE];
	fill(a, 1, 0x10);
	fill(b, 1, 0x90);
	g_assert_true(disk_write(d, 33, 1, a));
	GByteArray *snap = g_byte_array_new();
	disk_save_overlay(d, snap);
	g_assert_true(disk_write(d, 33, 1, b)); /* run on: change it and more */
	g_assert_true(disk_write(d, 2, 1, b));
	GError *err = NULL;
	g_assert_true(disk_restore_overlay(d, snap->data, snap->len, &err));
	g_assert_no_error(err);
	g_assert_true(disk_read(d, 33, 1, r));
	g_assert_cmpmem(r, sizeof r, a, sizeof a);
	g_assert_true(sector_is_original(d, 2)); /* later writes are gone */
	g_assert_cmpuint(disk_overlay_clusters(d), ==, 1);
	/* the same writes give the same blob whatever their order */
	struct disk *e = disk_open(path, false, NULL);
	g_assert_true(disk_write(e, 50, 1, b));
	g_assert_true(disk_write(e, 33, 1, a));
	g_assert_true(disk_write(d, 50, 1, b));
	GByteArray *sd = g_byte_array_new(), *se = g_byte_array_new();
	disk_save_overlay(d, sd);
	disk_save_overlay(e, se);
	g_assert_cmpmem(sd->data, sd->len, se->data, se->len);
	disk_close(e);
	disk_close(d);
	g_byte_array_free(snap, TRUE);
	g_byte_array_free(sd, TRUE);
	g_byte_array_free(se, TRUE);
	g_free(path);
}

static void expect_bad_blob(struct disk *d, const uint8_t *buf, size_t len, const char *text)
{
	GError *err = NULL;
	g_assert_false(disk_restore_overlay(d, buf, len, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	if (!strstr(err->message, text))
		g_error("message \"%s\" lacks \"%s\"", err->message, text);
	g_error_free(err);
}

static void test_overlay_rejects_bad_blobs(void)
{
	char *p16 = make_image("b16.img", 16), *p32 = make_image("b32.img", 32);
	struct disk *d16 = disk_open(p16, false, NULL), *d32 = disk_open(p32, false, NULL);
	uint8_t w[DISK_SECTOR_SIZE];
	fill(w, 1, 1);
	g_assert_true(disk_write(d32, 20, 1, w));
	g_assert_true(disk_write(d16, 1, 1, w));
	GByteArray *s = g_byte_array_new();
	disk_save_overlay(d32, s);
	expect_bad_blob(d16, s->data, s->len, "32 sectors");
	expect_bad_blob(d32, s->data, 10, "truncated");
	expect_bad_blob(d32, s->data, s->len - 1, "length");
	g_assert_true(disk_read(d16, 1, 1, w)); /* d16 unchanged by the failures */
	g_assert_cmpuint(disk_overlay_clusters(d16), ==, 1);
	/* a writeback disk saves no overlay and refuses one */
	char *pw = make_image("bw.img", 32);
	struct disk *dw = disk_open(pw, true, NULL);
	expect_bad_blob(dw, s->data, s->len, "writes to its file");
	GByteArray *sw = g_byte_array_new();
	disk_save_overlay(dw, sw);
	g_assert_true(disk_restore_overlay(d32, sw->data, sw->len, NULL)); /* empties it */
	g_assert_cmpuint(disk_overlay_clusters(d32), ==, 0);
	disk_close(dw);
	disk_close(d16);
	disk_close(d32);
	g_byte_array_free(s, TRUE);
	g_byte_array_free(sw, TRUE);
	g_free(pw);
	g_free(p16);
	g_free(p32);
}

/* }====== */

static void remove_tree(const char *dir)
{
	GDir *g = g_dir_open(dir, 0, NULL);
	const char *name;
	while (g && (name = g_dir_read_name(g))) {
		char *p = g_build_filename(dir, name, NULL);
		g_remove(p);
		g_free(p);
	}
	if (g)
		g_dir_close(g);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* a subprocess re-runs one test; it finds its files in the parent's
	 * directory, passed in the environment */
	bool child = g_test_subprocess();
	const char *parent = g_getenv("NESTLAB_TEST_DISK_DIR");
	tmpdir = child && parent ? g_strdup(parent) : g_dir_make_tmp("nestlab-disk-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_chmod(tmpdir, 0755); /* the permission tests run as nobody */
	g_setenv("NESTLAB_TEST_DISK_DIR", tmpdir, TRUE);
	g_test_add_func("/disk/open/missing-file", test_missing);
	g_test_add_func("/disk/open/directory", test_directory);
	g_test_add_func("/disk/open/empty-file", test_empty);
	g_test_add_func("/disk/open/not-whole-sectors", test_not_whole_sectors);
	g_test_add_func("/disk/open/unreadable", test_unreadable);
	g_test_add_func("/disk/open/writeback-on-read-only", test_writeback_readonly);
	g_test_add_func("/disk/cow/reads-the-file", test_cow_reads_file);
	g_test_add_func("/disk/cow/never-writes-the-file", test_cow_never_writes_file);
	g_test_add_func("/disk/cow/last-partial-cluster", test_last_partial_cluster);
	g_test_add_func("/disk/range/beyond-the-end-fails", test_range);
	g_test_add_func("/disk/writeback/writes-the-file", test_writeback);
	g_test_add_func("/disk/overlay/save-restore", test_overlay_save_restore);
	g_test_add_func("/disk/overlay/rejects-bad-blobs", test_overlay_rejects_bad_blobs);
	int rc = g_test_run();
	if (!child)
		remove_tree(tmpdir);
	g_free(tmpdir);
	return rc;
}
