/*
 * disk.c - raw disk images, copy-on-write or writeback (see disk.h).
 */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nestlab.h"

#define DISK_OVERLAY_VERSION 1

struct disk {
	char *path;
	int fd;
	bool writeback;
	uint64_t sectors;
	GHashTable *overlay; /* cluster index (uint64_t *) -> DISK_CLUSTER_SIZE bytes */
	char *error;         /* the last I/O failure, or NULL */
};

/* The blob header of disk_save_overlay(). */
struct overlay_header {
	uint32_t version;
	uint32_t writeback;
	uint64_t sectors;
	uint64_t clusters;
};

/* {====== opening */

static void set_file_error(GError **error, int err, const char *path, const char *what)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
	            "cannot %s disk image %s: %s", what, path, g_strerror(err));
}

/*
 * The file's permission bits, honoured even for a superuser (who could
 * open it anyway): an image nobody may read is refused, and an image
 * nobody may write is never written through. Returns false with `error`.
 */
static bool check_mode(int fd, const char *path, bool writeback, GError **error)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode))
		return true; /* check_size() reports these */
	if (!(st.st_mode & (S_IRUSR | S_IRGRP | S_IROTH))) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_ACCES,
		            "cannot read disk image %s: permission denied; make it readable "
		            "(chmod u+r)",
		            path);
		return false;
	}
	if (writeback && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK_READONLY,
		            "disk image %s is read-only; drop ',writeback' to use a copy-on-write "
		            "overlay",
		            path);
		return false;
	}
	return true;
}

/* Opens `path` for the mode asked; on failure sets `error`, returns -1. */
static int open_image(const char *path, bool writeback, GError **error)
{
	int fd = open(path, (writeback ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd >= 0) {
		if (check_mode(fd, path, writeback, error))
			return fd;
		close(fd);
		return -1;
	}
	int err = errno;
	bool readable = access(path, R_OK) == 0;
	if (writeback && (err == EACCES || err == EROFS || err == EPERM) && readable) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK_READONLY,
		            "disk image %s is read-only; drop ',writeback' to use a copy-on-write "
		            "overlay",
		            path);
	} else if (writeback && err == EISDIR) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK,
		            "disk image %s is a directory, not an image file", path);
	} else if (err == ENOENT) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
		            "disk image %s does not exist; check the path given to --disk", path);
	} else if (err == EACCES) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_ACCES,
		            "cannot read disk image %s: permission denied; make it readable "
		            "(chmod u+r)",
		            path);
	} else {
		set_file_error(error, err, path, "open");
	}
	return -1;
}

/* Checks that `fd` is a regular file of a whole, non-zero number of
 * sectors and stores the count in *sectors. */
static bool check_size(int fd, const char *path, uint64_t *sectors, GError **error)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		set_file_error(error, errno, path, "examine");
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK,
		            "disk image %s is a directory, not an image file", path);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK,
		            "disk image %s is not a regular file", path);
		return false;
	}
	if (st.st_size == 0) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK,
		            "disk image %s is empty; a disk needs at least one 512-byte sector "
		            "(e.g. truncate -s 1M %s)",
		            path, path);
		return false;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size % DISK_SECTOR_SIZE != 0) {
		uint64_t padded = (size / DISK_SECTOR_SIZE + 1) * DISK_SECTOR_SIZE;
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_DISK,
		            "disk image %s is %" G_GUINT64_FORMAT " bytes, not a whole number of "
		            "512-byte sectors; pad it with: truncate -s %" G_GUINT64_FORMAT " %s",
		            path, size, padded, path);
		return false;
	}
	*sectors = size / DISK_SECTOR_SIZE;
	return true;
}

struct disk *disk_open(const char *path, bool writeback, GError **error)
{
	int fd = open_image(path, writeback, error);
	if (fd < 0)
		return NULL;
	uint64_t sectors;
	if (!check_size(fd, path, &sectors, error)) {
		close(fd);
		return NULL;
	}
	struct disk *d = g_new0(struct disk, 1);
	d->path = g_strdup(path);
	d->fd = fd;
	d->writeback = writeback;
	d->sectors = sectors;
	d->overlay = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	return d;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	if (d->writeback)
		disk_flush(d);
	close(d->fd);
	g_hash_table_destroy(d->overlay);
	g_free(d->error);
	g_free(d->path);
	g_free(d);
}

uint64_t disk_sectors(const struct disk *d)
{
	return d->sectors;
}

const char *disk_path(const struct disk *d)
{
	return d->path;
}

bool disk_is_writeback(const struct disk *d)
{
	return d->writeback;
}

const char *disk_error(const struct disk *d)
{
	return d->error;
}

size_t disk_overlay_clusters(const struct disk *d)
{
	return g_hash_table_size(d->overlay);
}

/* }====== */

/* {====== sector I/O */

G_GNUC_PRINTF(2, 3) static bool fail(struct disk *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_free(d->error);
	d->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return false;
}

static bool in_range(struct disk *d, uint64_t lba, uint32_t count)
{
	if (lba <= d->sectors && count <= d->sectors - lba)
		return true;
	return fail(d, "sectors %" G_GUINT64_FORMAT "+%u are beyond the end of disk image %s "
	            "(%" G_GUINT64_FORMAT " sectors)",
	            lba, count, d->path, d->sectors);
}

/* Reads `len` bytes at byte `off` of the file; short reads are retried. */
static bool file_read(struct disk *d, uint64_t off, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = pread(d->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(d, "reading disk image %s at byte %" G_GUINT64_FORMAT " failed: %s",
			            d->path, off, n < 0 ? g_strerror(errno) : "the file got shorter");
		buf += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return true;
}

static bool file_write(struct disk *d, uint64_t off, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = pwrite(d->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(d, "writing disk image %s at byte %" G_GUINT64_FORMAT " failed: %s",
			            d->path, off, n < 0 ? g_strerror(errno) : "nothing written");
		buf += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return true;
}

static uint8_t *cluster_of(const struct disk *d, uint64_t index)
{
	return g_hash_table_lookup(d->overlay, &index);
}

/* The overlay cluster `index`, created from the file if missing (the
 * last cluster may extend past the end: that part stays zero). */
static uint8_t *cluster_for_write(struct disk *d, uint64_t index)
{
	uint8_t *c = cluster_of(d, index);
	if (c)
		return c;
	c = g_malloc0(DISK_CLUSTER_SIZE);
	uint64_t first = index * DISK_CLUSTER_SECTORS;
	uint64_t n = MIN(DISK_CLUSTER_SECTORS, d->sectors - first);
	if (!file_read(d, first * DISK_SECTOR_SIZE, c, n * DISK_SECTOR_SIZE)) {
		g_free(c);
		return NULL;
	}
	uint64_t *key = g_new(uint64_t, 1);
	*key = index;
	g_hash_table_insert(d->overlay, key, c);
	return c;
}

bool disk_read(struct disk *d, uint64_t lba, uint32_t count, void *buf)
{
	if (!in_range(d, lba, count))
		return false;
	uint8_t *p = buf;
	while (count > 0) {
		uint64_t index = lba / DISK_CLUSTER_SECTORS;
		uint32_t within = (uint32_t)(lba % DISK_CLUSTER_SECTORS);
		uint32_t n = MIN(count, DISK_CLUSTER_SECTORS - within);
		const uint8_t *c = cluster_of(d, index);
		size_t bytes = (size_t)n * DISK_SECTOR_SIZE;
		if (c)
			memcpy(p, c + (size_t)within * DISK_SECTOR_SIZE, bytes);
		else if (!file_read(d, lba * DISK_SECTOR_SIZE, p, bytes))
			return false;
		p += bytes, lba += n, count -= n;
	}
	return true;
}

bool disk_write(struct disk *d, uint64_t lba, uint32_t count, const void *buf)
{
	if (!in_range(d, lba, count))
		return false;
	if (d->writeback)
		return file_write(d, lba * DISK_SECTOR_SIZE, buf, (size_t)count * DISK_SECTOR_SIZE);
	const uint8_t *p = buf;
	while (count > 0) {
		uint64_t index = lba / DISK_CLUSTER_SECTORS;
		uint32_t within = (uint32_t)(lba % DISK_CLUSTER_SECTORS);
		uint32_t n = MIN(count, DISK_CLUSTER_SECTORS - within);
		uint8_t *c = cluster_for_write(d, index);
		if (!c)
			return false;
		size_t bytes = (size_t)n * DISK_SECTOR_SIZE;
		memcpy(c + (size_t)within * DISK_SECTOR_SIZE, p, bytes);
		p += bytes, lba += n, count -= n;
	}
	return true;
}

bool disk_flush(struct disk *d)
{
	if (!d->writeback)
		return true;
	if (fsync(d->fd) != 0 && errno != EINVAL)
		return fail(d, "flushing disk image %s failed: %s", d->path, g_strerror(errno));
	return true;
}

/* }====== */

/* {====== overlay snapshots */

static gint cmp_u64(gconstpointer a, gconstpointer b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void disk_save_overlay(const struct disk *d, GByteArray *out)
{
	GList *keys = g_list_sort(g_hash_table_get_keys(d->overlay), cmp_u64);
	const struct overlay_header h = {
		.version = DISK_OVERLAY_VERSION,
		.writeback = d->writeback,
		.sectors = d->sectors,
		.clusters = g_hash_table_size(d->overlay),
	};
	g_byte_array_append(out, (const guint8 *)&h, sizeof h);
	for (GList *k = keys; k; k = k->next) {
		uint64_t index = *(const uint64_t *)k->data;
		g_byte_array_append(out, (const guint8 *)&index, sizeof index);
		g_byte_array_append(out, cluster_of(d, index), DISK_CLUSTER_SIZE);
	}
	g_list_free(keys);
}

G_GNUC_PRINTF(3, 4)
static bool bad_blob(GError **error, const struct disk *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
	            "the saved overlay of disk image %s does not fit: %s", d->path, why);
	g_free(why);
	return false;
}

/* Checks a blob's header and length; stores its cluster count. */
static bool check_blob(const struct disk *d, const uint8_t *buf, size_t len, uint64_t *clusters,
                       GError **error)
{
	struct overlay_header h;
	const uint64_t entry = sizeof(uint64_t) + DISK_CLUSTER_SIZE;
	if (len < sizeof h)
		return bad_blob(error, d, "it is truncated");
	memcpy(&h, buf, sizeof h);
	if (h.version != DISK_OVERLAY_VERSION)
		return bad_blob(error, d, "version %u, this build reads %u", h.version,
		                DISK_OVERLAY_VERSION);
	if (h.sectors != d->sectors)
		return bad_blob(error, d, "it was saved from a disk of %" G_GUINT64_FORMAT
		                " sectors, this one has %" G_GUINT64_FORMAT,
		                h.sectors, d->sectors);
	if (h.clusters > (len - sizeof h) / entry || len != sizeof h + h.clusters * entry)
		return bad_blob(error, d, "its length does not match its cluster count");
	if (h.clusters > 0 && d->writeback)
		return bad_blob(error, d, "it has an overlay, but this disk writes to its file");
	uint64_t limit = (d->sectors + DISK_CLUSTER_SECTORS - 1) / DISK_CLUSTER_SECTORS;
	for (uint64_t i = 0; i < h.clusters; i++) {
		uint64_t index;
		memcpy(&index, buf + sizeof h + i * entry, sizeof index);
		if (index >= limit)
			return bad_blob(error, d, "cluster %" G_GUINT64_FORMAT " is beyond the end",
			                index);
	}
	*clusters = h.clusters;
	return true;
}

bool disk_restore_overlay(struct disk *d, const uint8_t *buf, size_t len, GError **error)
{
	uint64_t clusters = 0;
	if (!check_blob(d, buf, len, &clusters, error))
		return false;
	g_hash_table_remove_all(d->overlay);
	const uint8_t *p = buf + sizeof(struct overlay_header);
	for (uint64_t i = 0; i < clusters; i++) {
		uint64_t *key = g_new(uint64_t, 1);
		memcpy(key, p, sizeof *key);
		g_hash_table_insert(d->overlay, key, g_memdup2(p + sizeof *key, DISK_CLUSTER_SIZE));
		p += sizeof *key + DISK_CLUSTER_SIZE;
	}
	return true;
}

/* }====== */
