/*
 * disk.h - a disk image file as a sequence of 512-byte sectors.
 *
 * A disk is a raw image: sector n is bytes [512 n, 512 n + 512) of the
 * file, as QEMU's `format=raw` and Bochs's flat images see it. It is a
 * plain object, not a device: the IDE controller (ide.h) reads and writes
 * it, and the machine owns it.
 *
 * Copy-on-write (the default). The file is opened read-only and never
 * modified. Guest writes go to an overlay in memory: a sparse table of
 * 4 KiB clusters (8 sectors), each filled from the file on its first
 * write; reads see the overlay where it has a cluster and the file
 * elsewhere. Closing the disk drops the overlay, so every run starts from
 * the same image, and a guest can never damage the user's file.
 *
 * Writeback (`writeback = true`, nestlab-run's `--disk FILE,writeback`).
 * The file is opened read-write and guest writes go to it with pwrite();
 * disk_flush() and disk_close() fsync it.
 *
 * Snapshots: disk_save_overlay() appends the overlay (clusters in index
 * order, so equal overlays give equal bytes) and disk_restore_overlay()
 * puts it back. A writeback disk's contents are NOT part of a snapshot:
 * they live in the file, and restoring a snapshot does not undo writes
 * made to it since (its saved blob only records the disk's size).
 *
 * Size: an image must be a non-empty whole number of sectors; a file whose
 * size is not a multiple of 512 is refused with a message saying how to
 * pad it, rather than silently losing its tail.
 */
#ifndef NESTLAB_DISK_H
#define NESTLAB_DISK_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_SECTOR_SIZE 512u
#define DISK_CLUSTER_SECTORS 8u /* overlay granularity: 4 KiB */
#define DISK_CLUSTER_SIZE (DISK_SECTOR_SIZE * DISK_CLUSTER_SECTORS)

struct disk;

/*
 * Opens the raw image at `path`: copy-on-write unless `writeback`.
 * Returns NULL and sets `error` if the file is missing or unreadable
 * (G_FILE_ERROR, with the path and the system's reason), is not a regular
 * file or is empty or not a whole number of sectors (NESTLAB_ERROR_DISK),
 * or if `writeback` is asked for a file that cannot be written
 * (NESTLAB_ERROR_DISK_READONLY). Close with disk_close().
 */
struct disk *disk_open(const char *path, bool writeback, GError **error);

/* Flushes (writeback) and closes the file; drops the overlay. NULL is a no-op. */
void disk_close(struct disk *d);

/* The number of 512-byte sectors. */
uint64_t disk_sectors(const struct disk *d);

/* The path given to disk_open() and whether writes go to the file. */
const char *disk_path(const struct disk *d);
bool disk_is_writeback(const struct disk *d);

/*
 * Reads `count` sectors from `lba` into `buf` (count * 512 bytes). Returns
 * false, with nothing guaranteed in `buf`, if the range goes beyond the
 * last sector or the host read fails; disk_error() then says why.
 */
bool disk_read(struct disk *d, uint64_t lba, uint32_t count, void *buf);

/*
 * Writes `count` sectors from `buf` at `lba`: to the overlay, or to the
 * file for a writeback disk. Returns false (see disk_error()) if the range
 * goes beyond the last sector or the host write fails.
 */
bool disk_write(struct disk *d, uint64_t lba, uint32_t count, const void *buf);

/* Makes writeback data durable (fsync). Always true for copy-on-write disks;
 * false with disk_error() set if the host reports an error. */
bool disk_flush(struct disk *d);

/* The message of the last failed read, write or flush, or NULL. */
const char *disk_error(const struct disk *d);

/* Number of 4 KiB overlay clusters held in memory (0 for writeback disks). */
size_t disk_overlay_clusters(const struct disk *d);

/*
 * Appends the overlay to `out`: a header (version, sector count, cluster
 * count) and each cluster (index, 4 KiB) in ascending index order. A
 * writeback disk appends a header with no clusters.
 */
void disk_save_overlay(const struct disk *d, GByteArray *out);

/*
 * Replaces the overlay by one saved with disk_save_overlay() from exactly
 * `len` bytes. Fails with NESTLAB_ERROR_STATE, leaving the disk unchanged,
 * if the blob is malformed or was saved from a disk of another size (or,
 * with clusters, for a writeback disk).
 */
bool disk_restore_overlay(struct disk *d, const uint8_t *buf, size_t len, GError **error);

#endif
