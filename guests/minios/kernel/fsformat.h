/*
 * fsformat.h - the on-disk format of the minios file system (MINIFS), shared
 * by the kernel, user programs and mkfs.py (which must agree with it).
 *
 *   sector 0            superblock
 *   sector dir_start    directory: nfiles entries of 32 bytes, 16 per sector
 *   after the directory the files, each contiguous, each starting on a sector
 *
 * All numbers are little-endian. The file system is read-only: it is written
 * once, at build time. Opening "/" gives the directory itself as a file, so
 * `ls` reads struct dirent records from it.
 */
#ifndef MINIOS_FSFORMAT_H
#define MINIOS_FSFORMAT_H

#include <stdint.h>

#define FS_SECTOR	512
#define FS_MAGIC	0x53464E4D	/* "MNFS" */
#define FS_VERSION	1
#define FS_NAMELEN	24		/* with the terminating NUL */

struct superblock {
	uint32_t magic;		/* FS_MAGIC */
	uint32_t version;	/* FS_VERSION */
	uint32_t nfiles;	/* entries in the directory */
	uint32_t dir_start;	/* first sector of the directory */
	uint32_t nsectors;	/* size of the whole image */
};

struct dirent {
	char name[FS_NAMELEN];	/* NUL-terminated, NUL-padded */
	uint32_t start;		/* first sector of the file */
	uint32_t size;		/* bytes */
};

_Static_assert(sizeof(struct dirent) == 32, "a directory entry is 32 bytes");
_Static_assert(FS_SECTOR % sizeof(struct dirent) == 0, "entries fill sectors");

#endif
