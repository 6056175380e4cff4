/*
 * fs.c - the read-only MINIFS file system on the IDE slave (format in
 * fsformat.h). One sector is cached: reading a file byte by byte costs one
 * disk read per sector, not per byte.
 */
#include "defs.h"
#include "fsformat.h"

static struct superblock sb;
static uint8_t cache[FS_SECTOR];
static uint32_t cached = (uint32_t)-1;	/* the sector in cache, or none */

static int read_sector(uint32_t sector)
{
	if (sector == cached)
		return 0;
	cached = (uint32_t)-1;
	if (sector >= sb.nsectors || ide_read(sector, cache) < 0)
		return -1;
	cached = sector;
	return 0;
}

/* Read and check the superblock. Returns 0, or -1 if there is no MINIFS. */
int fs_init(void)
{
	sb.nsectors = 1;
	if (read_sector(0) < 0) {
		kprintf("fs: cannot read the superblock\n");
		return -1;
	}
	memmove(&sb, cache, sizeof(sb));
	if (sb.magic != FS_MAGIC || sb.version != FS_VERSION) {
		kprintf("fs: no MINIFS file system on the disk\n");
		sb.nsectors = 0;
		return -1;
	}
	kprintf("fs: %d files in %d sectors\n", sb.nfiles, sb.nsectors);
	return 0;
}

/* The root directory as a file of struct dirent records. */
void fs_rootdir(struct dirent *out)
{
	memset(out, 0, sizeof(*out));
	safestrcpy(out->name, "/", sizeof(out->name));
	out->start = sb.dir_start;
	out->size = sb.nfiles * sizeof(struct dirent);
}

/*
 * Read up to n bytes at offset off of a file. Returns the bytes read (0 at
 * the end of the file), or -1 on a disk error.
 */
int fs_read(const struct dirent *f, uint32_t off, void *dst, uint32_t n)
{
	uint8_t *d = dst;
	uint32_t done = 0;

	if (off >= f->size)
		return 0;
	if (n > f->size - off)
		n = f->size - off;
	while (done < n) {
		uint32_t pos = off + done;
		if (read_sector(f->start + pos / FS_SECTOR) < 0)
			return -1;
		uint32_t chunk = FS_SECTOR - pos % FS_SECTOR;
		if (chunk > n - done)
			chunk = n - done;
		memmove(d + done, cache + pos % FS_SECTOR, chunk);
		done += chunk;
	}
	return done;
}

/* Find a file by name ("/" or "." is the directory). Returns 0, or -1. */
int fs_lookup(const char *name, struct dirent *out)
{
	struct dirent dir, e;

	fs_rootdir(&dir);
	if (strncmp(name, "/", 2) == 0 || strncmp(name, ".", 2) == 0) {
		*out = dir;
		return 0;
	}
	if (*name == '/')
		name++;
	for (uint32_t i = 0; i < sb.nfiles; i++) {
		if (fs_read(&dir, i * sizeof(e), &e, sizeof(e)) != sizeof(e))
			return -1;
		e.name[FS_NAMELEN - 1] = 0;
		if (strncmp(e.name, name, FS_NAMELEN) == 0) {
			*out = e;
			return 0;
		}
	}
	return -1;
}
