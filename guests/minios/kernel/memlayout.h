/*
 * memlayout.h - where things are in physical and virtual memory.
 *
 *   virtual                                  physical
 *   0xFFFFFFFF +-------------------------+
 *              | devices (LAPIC, IOAPIC) |   same addresses (identity)
 *   0xFE000000 +-------------------------+
 *              |          unused         |
 *   KERNBASE + +-------------------------+
 *     phystop  | free pages (kalloc)     |
 *              | kernel text, data, bss  |   0x00100000 (1 MiB)
 *              | BIOS, VGA, EBDA, ...    |   0x00000000
 *   0x80000000 +-------------------------+ KERNBASE
 *              | user stack              |
 *              | guard page (no PTE_U)   |
 *              | user text, data, bss    |
 *   0x00000000 +-------------------------+
 *
 * Every process has its own page directory; the part above KERNBASE is the
 * same in all of them, so the kernel runs in whichever address space is loaded.
 */
#ifndef MINIOS_MEMLAYOUT_H
#define MINIOS_MEMLAYOUT_H

#define EXTMEM		0x00100000	/* start of memory above 1 MiB */
#define KERNBASE	0x80000000	/* first kernel virtual address */
#define KERNLINK	(KERNBASE + EXTMEM)	/* where the kernel is linked */
#define DEVSPACE	0xFE000000	/* memory-mapped devices */
#define PHYSTOP_MAX	0x10000000	/* use at most 256 MiB of RAM */

#define V2P(a)		((uint32_t)(a) - KERNBASE)
#define P2V(a)		((void *)((char *)(a) + KERNBASE))

#endif
