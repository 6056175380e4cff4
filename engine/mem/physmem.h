/*
 * physmem.h - the board's physical address space: RAM at 0 and an optional
 * read-only ROM image.
 *
 *   4 GiB  +------------------+
 *          | ROM (64/128 KiB) |  4 GiB - rom size .. 4 GiB - 1
 *          +------------------+
 *          |    unmapped      |  reads all-ones, writes dropped
 *          +------------------+  ram size
 *          |       RAM        |
 *   1 MiB  +------------------+
 *          | ROM alias        |  1 MiB - rom size .. 1 MiB - 1 (hides RAM)
 *          +------------------+
 *          |       RAM        |
 *   0      +------------------+
 *
 * RAM is kept as an array of 4 KiB host pages allocated (zeroed) on first
 * touch, so a large --mem costs only the pages the guest uses.
 */
#ifndef NESTLAB_PHYSMEM_H
#define NESTLAB_PHYSMEM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PMEM_PAGE_SIZE 4096u
#define PMEM_PAGE_SHIFT 12
#define PMEM_ROM_LOW_END 0x100000u /* the real-mode ROM alias ends at 1 MiB */
#define PMEM_RAM_MAX_MIB 3072u     /* leaves the top GiB for ROM and MMIO */

struct pmem;

/* Creates an address space with `ram_bytes` of RAM at 0 (a multiple of
 * 4 KiB, at most PMEM_RAM_MAX_MIB MiB) and no ROM. Aborts on OOM. */
struct pmem *pmem_new(uint32_t ram_bytes);
void pmem_free(struct pmem *pm);

/* Maps a copy of `rom` (64 KiB or 128 KiB, checked by the caller) read-only at
 * 4 GiB - size and at 1 MiB - size. Replaces a previous ROM. */
void pmem_map_rom(struct pmem *pm, GBytes *rom);

/*
 * The host page holding page-aligned physical address `paddr`, for the CPU's
 * fast path. RAM pages are allocated on first use. Sets *writable (false for
 * ROM). Returns NULL for unmapped addresses.
 */
uint8_t *pmem_page(struct pmem *pm, uint32_t paddr, bool *writable);

/* Slow-path access of 1, 2 or 4 bytes (little-endian, may span pages).
 * Unmapped bytes read as 0xff; writes to ROM or unmapped space are dropped. */
uint32_t pmem_read(struct pmem *pm, uint32_t paddr, int size);
void pmem_write(struct pmem *pm, uint32_t paddr, uint32_t val, int size);

/* Copies between the host and physical memory, as a loader or debugger
 * would: writes go to RAM only (ROM and unmapped bytes are skipped), reads
 * see ROM and all-ones where nothing is mapped. */
void pmem_store(struct pmem *pm, uint32_t paddr, const void *buf, size_t len);
void pmem_load(struct pmem *pm, uint32_t paddr, void *buf, size_t len);

uint32_t pmem_ram_size(const struct pmem *pm);
/* Number of RAM pages the guest (or a loader) has touched so far. */
size_t pmem_pages_used(const struct pmem *pm);

#endif
