/*
 * multiboot.h - the Multiboot (version 1) loader, and what the board's
 * loaders share: the boot error domain, the CPU state at entry and the
 * low-memory map (docs/boot.md).
 *
 * A kernel is an i386 ELF executable with a multiboot header in its first
 * 8192 bytes, or any image whose header carries the load addresses itself
 * (the "a.out kludge", header flag bit 16). The loader copies it into RAM,
 * places the modules after it and writes the boot information below 1 MiB:
 *
 *   0x100000  +--------------------------+
 *             | firmware area            |  MP table (0xF0000), option ROMs
 *   0xA0000   | VGA hole                 |  unmapped, then the text buffer
 *   0x9FC00   | EBDA (1 KiB)             |  --- kernels may not load here
 *             |   free                   |
 *             | strings, module list     |
 *             | memory map               |
 *   0x9000    | multiboot information    |  EBX at entry
 *             |   free                   |
 *   0x1000    +--------------------------+
 *             | IVT, BDA, boot GDT       |  --- kernels may not load here
 *   0x0       +--------------------------+
 *
 * Above 1 MiB: the kernel's segments where they ask to be, then each module
 * on its own page after the kernel's highest address (never below 1 MiB).
 */
#ifndef NESTLAB_MULTIBOOT_H
#define NESTLAB_MULTIBOOT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "physmem.h"

/* {====== shared by the loaders ====== */

#define BOOT_ERROR (boot_error_quark())
GQuark boot_error_quark(void);

/* Why a kernel or binary cannot be booted; each message names the file,
 * the addresses involved and what to change. */
enum boot_error {
	BOOT_ERROR_NOT_KERNEL,  /* neither ELF nor a multiboot header (or empty) */
	BOOT_ERROR_ELF,         /* malformed ELF: truncated, bad program headers */
	BOOT_ERROR_ARCH,        /* ELF for another machine or class (x86-64, ARM) */
	BOOT_ERROR_NO_HEADER,   /* ELF without a multiboot header in the first 8 KiB */
	BOOT_ERROR_BAD_HEADER,  /* bad checksum, unknown required flags, bad a.out fields */
	BOOT_ERROR_OVERLAP,     /* image over the boot data, firmware area or itself */
	BOOT_ERROR_TOO_BIG,     /* RAM too small for the image: says how much it needs */
};

/* The registers a loader hands over; the rest of the CPU state (flat
 * 32-bit protected mode, paging off, IF = 0) is the machine's to set. */
struct boot_entry {
	uint32_t eip, eax, ebx;
};

/* Low memory the firmware tables own: kernels and flat binaries may not
 * load over [0, BOOT_LOW_RESERVED_END) (IVT, BIOS data area, boot GDT) nor
 * [BOOT_FIRMWARE_START, BOOT_FIRMWARE_END) (EBDA, VGA hole, BIOS area). */
#define BOOT_LOW_RESERVED_END 0x1000u
#define BOOT_FIRMWARE_START 0x9fc00u
#define BOOT_FIRMWARE_END 0x100000u

/*
 * Checks that [start, end) (end exclusive, 64-bit so it cannot wrap) fits
 * in RAM and stays out of the firmware's low memory. `what` names the
 * image in the message ("the kernel foo.elf"). Returns false with
 * BOOT_ERROR_TOO_BIG (saying how many MiB would do) or BOOT_ERROR_OVERLAP.
 */
bool boot_check_placement(uint32_t ram_bytes, uint64_t start, uint64_t end, const char *what,
                          GError **error);

/* }====================================================================== */

/* {====== multiboot ====== */

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_BOOTLOADER_MAGIC 0x2badb002u /* EAX at entry */
#define MB_SEARCH_LIMIT 8192u           /* the header is in the first 8 KiB */

/* Header flags: bits 0-15 are required (fail if not understood). */
#define MB_HDR_PAGE_ALIGN (1u << 0) /* modules on 4 KiB boundaries */
#define MB_HDR_MEMORY_INFO (1u << 1)
#define MB_HDR_VIDEO_MODE (1u << 2) /* satisfied with the 80x25 text mode */
#define MB_HDR_REQUIRED_MASK 0xffffu
#define MB_HDR_AOUT_KLUDGE (1u << 16) /* load addresses in the header */

/* Information flags. */
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_BOOTDEV (1u << 1)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MEM_MAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

/* Where the boot information goes when it fits there (below the EBDA,
 * clear of the kernel); otherwise it goes on the first page after the
 * kernel and its modules (docs/boot.md). */
#define MB_INFO_ADDR 0x9000u
#define MB_INFO_LIMIT BOOT_FIRMWARE_START
#define MB_LOADER_NAME "nestlab"

/* Memory map entry types. */
#define MB_MMAP_AVAILABLE 1u
#define MB_MMAP_RESERVED 2u

/* Byte offsets in the information structure (the spec's layout). */
enum {
	MBI_FLAGS = 0,
	MBI_MEM_LOWER = 4,
	MBI_MEM_UPPER = 8,
	MBI_BOOT_DEVICE = 12,
	MBI_CMDLINE = 16,
	MBI_MODS_COUNT = 20,
	MBI_MODS_ADDR = 24,
	MBI_MMAP_LENGTH = 44,
	MBI_MMAP_ADDR = 48,
	MBI_LOADER_NAME = 64,
	MBI_SIZE = 116, /* up to the framebuffer colour info */
};

#define MB_MMAP_ENTRY_SIZE 24u /* a 4-byte size field (20) + base, length, type */
#define MB_MODULE_SIZE 16u     /* mod_start, mod_end, string, reserved */

/* A module: its bytes, a name for messages and the string the kernel sees
 * after the name. */
struct boot_module {
	const char *path_for_messages;
	GBytes *data;
	const char *args; /* or NULL */
};

/*
 * Loads the multiboot kernel `kernel` (named `kernel_name` in messages and
 * in the command line) with `n_mods` modules into RAM, writes the boot
 * information where no segment or module lies (MB_INFO_ADDR, or after
 * the kernel and its modules), and fills `out` with the entry state
 * (EIP, EAX = MB_BOOTLOADER_MAGIC, EBX = the information's address).
 *
 * ELF kernels are loaded segment by segment at their physical addresses
 * (p_paddr), BSS zeroed; an entry point given as a virtual address inside a
 * segment is translated to the physical one, as GRUB does. A header with
 * flag bit 16 is loaded by its address fields, ELF or not.
 *
 * The kernel sees the command line "kernel_name cmdline" and each module
 * the string "path args" (as QEMU builds them). Everything is written with
 * pmem_store(); nothing is written unless the whole boot fits.
 *
 * Returns false with a BOOT_ERROR (enum boot_error) if the image cannot be
 * booted; memory is untouched then.
 */
bool boot_multiboot_load(struct pmem *pm, GBytes *kernel, const char *kernel_name,
                         const struct boot_module *mods, int n_mods, const char *cmdline,
                         struct boot_entry *out, GError **error);

/* }====================================================================== */

#endif
