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
 *
 * The PC's hole below 1 MiB: 0xA0000..0xB7FFF (VGA graphics windows) is
 * unmapped; 0xB8000..0xBFFFF stays RAM (the VGA text buffer, which the VGA
 * device reads back from RAM); 0xC0000..0xFFFFF stays RAM for the firmware
 * tables a loader writes there, unless a ROM's alias covers it.
 *
 * MMIO: devices claim page-aligned ranges above RAM (the local APIC at
 * 0xFEE00000, the IOAPIC at 0xFEC00000). pmem_page() returns NULL for them,
 * so the CPU takes its slow path, and pmem_read()/pmem_write() call the
 * device with the offset into its range and the access size.
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

/* The RAM page at page-aligned `paddr` if the guest or a loader has
 * touched it, else NULL (never allocates): for hashing and snapshots. */
const uint8_t *pmem_page_if_present(const struct pmem *pm, uint32_t paddr);

/* Slow-path access of 1, 2 or 4 bytes (little-endian, may span pages).
 * Unmapped bytes read as 0xff; writes to ROM or unmapped space are dropped. */
uint32_t pmem_read(struct pmem *pm, uint32_t paddr, int size);
void pmem_write(struct pmem *pm, uint32_t paddr, uint32_t val, int size);

/* Copies between the host and physical memory, as a loader or debugger
 * would: writes go to RAM only (ROM and unmapped bytes are skipped), reads
 * see ROM and all-ones where nothing is mapped. */
void pmem_store(struct pmem *pm, uint32_t paddr, const void *buf, size_t len);
void pmem_load(struct pmem *pm, uint32_t paddr, void *buf, size_t len);

typedef uint32_t (*pmem_mmio_read_fn)(void *opaque, uint32_t offset, int size);
typedef void (*pmem_mmio_write_fn)(void *opaque, uint32_t offset, uint32_t val, int size);

#define PMEM_MMIO_MAX 8
#define PMEM_VGA_HOLE_START 0xa0000u /* unmapped up to the text buffer */
#define PMEM_VGA_TEXT_START 0xb8000u

/*
 * Gives the page-aligned range [base, base + size) to a device. An access
 * is split into bytes only if it crosses the end of the range; otherwise
 * the device sees it whole (offset, size 1, 2 or 4). Returns false if the
 * range overlaps RAM, the ROM or another MMIO range, or the table is full.
 */
bool pmem_map_mmio(struct pmem *pm, uint32_t base, uint32_t size, pmem_mmio_read_fn rd,
                   pmem_mmio_write_fn wr, void *opaque);

uint32_t pmem_ram_size(const struct pmem *pm);
/* RAM and what pmem_reserve() added: every page a snapshot must hold. */
uint32_t pmem_total_size(const struct pmem *pm);
/*
 * Adds `bytes` (page multiple) of RAM above everything there is, which
 * pmem_ram_size() does not report: the L0 monitor's own pages, out of the
 * guest's reach. Returns its base. The total stays within PMEM_RAM_MAX_MIB.
 */
uint32_t pmem_reserve(struct pmem *pm, uint32_t bytes);

/*
 * A VM's guest-physical space: `bytes` of RAM at 0 that are the pages of
 * `parent` from `base` on (its share, which pmem_reserve made), and MMIO
 * ranges of its own. Freeing it leaves the parent's pages alone.
 */
struct pmem *pmem_new_window(struct pmem *parent, uint32_t base, uint32_t bytes);

/* Gives back the RAM pages of [base, base + bytes) (a destroyed VM's share):
 * they read as zero again and cost nothing until touched. */
void pmem_discard(struct pmem *pm, uint32_t base, uint32_t bytes);
/* Number of RAM pages the guest (or a loader) has touched so far. */
size_t pmem_pages_used(const struct pmem *pm);

/*
 * Dirty pages: a bit per 4 KiB page of the 4 GiB physical address space
 * (PMEM_DIRTY_WORDS 64-bit words), set for every RAM page written through
 * pmem_write(), pmem_store() or pmem_discard(). Holders of host pointers
 * (the CPU's TLB, the monitor) set bits themselves with
 * pmem_mark_dirty(). A window's map is its parent's, at host addresses.
 * Incremental checkpoints read and clear it (trace/hist).
 */
#define PMEM_DIRTY_WORDS (1u << 14)
uint64_t *pmem_dirty_map(struct pmem *pm);
void pmem_mark_dirty(struct pmem *pm, uint32_t paddr, uint32_t len);
/* Stores a whole page (NULL: zeros) at page number `n` without marking it
 * dirty, as a checkpoint restore does; a zero page not yet touched stays
 * untouched. Returns false if `n` is past the memory. */
bool pmem_put_page(struct pmem *pm, uint32_t n, const uint8_t *data);

#endif
