/*
 * mmu.h - segments, gates, the TSS and page tables, as the Intel manual
 * (volume 3, chapters 3-7) defines them.
 */
#ifndef MINIOS_MMU_H
#define MINIOS_MMU_H

#include <stdint.h>

/* {====== segments ====== */

/* GDT slots */
#define SEG_KCODE	1	/* kernel code */
#define SEG_KDATA	2	/* kernel data and stack */
#define SEG_UCODE	3	/* user code */
#define SEG_UDATA	4	/* user data and stack */
#define SEG_TSS		5	/* the task state, for the ring-0 stack */
#define NSEGS		6

#define DPL_KERNEL	0
#define DPL_USER	3

/* Segment type bits */
#define STA_X		0x8	/* executable */
#define STA_W		0x2	/* writeable (data) */
#define STA_R		0x2	/* readable (code) */
#define STS_T32A	0x9	/* available 32-bit TSS */
#define STS_IG32	0xE	/* 32-bit interrupt gate */

struct segdesc {
	uint32_t lim_15_0 : 16;
	uint32_t base_15_0 : 16;
	uint32_t base_23_16 : 8;
	uint32_t type : 4;
	uint32_t s : 1;		/* 1 = code/data, 0 = system */
	uint32_t dpl : 2;
	uint32_t p : 1;
	uint32_t lim_19_16 : 4;
	uint32_t avl : 1;
	uint32_t rsv1 : 1;
	uint32_t db : 1;	/* 1 = 32-bit segment */
	uint32_t g : 1;		/* 1 = limit counts 4 KiB units */
	uint32_t base_31_24 : 8;
};

/* A flat 4 GiB code or data segment. */
#define SEG_FLAT(type, dpl) (struct segdesc) {				\
	0xFFFF, 0, 0, (type), 1, (dpl), 1, 0xF, 0, 0, 1, 1, 0 }

/* A byte-granular system segment (the TSS). */
#define SEG_SYS(type, base, lim, dpl) (struct segdesc) {		\
	(lim) & 0xFFFF, (uint32_t)(base) & 0xFFFF,			\
	((uint32_t)(base) >> 16) & 0xFF, (type), 0, (dpl), 1,		\
	(uint32_t)(lim) >> 16, 0, 0, 1, 0, (uint32_t)(base) >> 24 }

/* The fields of the 32-bit TSS that matter without hardware task switching. */
struct taskstate {
	uint32_t link;
	uint32_t esp0;		/* stack pointer loaded on entry to ring 0 */
	uint16_t ss0, pad1;
	uint32_t unused[22];
	uint16_t t, iomb;	/* iomb beyond the limit: no I/O bitmap */
};

struct gatedesc {
	uint32_t off_15_0 : 16;
	uint32_t cs : 16;
	uint32_t args : 5;
	uint32_t rsv1 : 3;
	uint32_t type : 4;
	uint32_t s : 1;
	uint32_t dpl : 2;	/* lowest ring that may use INT n on it */
	uint32_t p : 1;
	uint32_t off_31_16 : 16;
};

/* }====== */

/* {====== paging ====== */

#define PGSIZE		4096
#define NPDENTRIES	1024
#define NPTENTRIES	1024

#define PTE_P		0x001	/* present */
#define PTE_W		0x002	/* writeable */
#define PTE_U		0x004	/* user may access */
#define PTE_PWT		0x008	/* write-through */
#define PTE_PCD		0x010	/* cache disable */
#define PTE_PS		0x080	/* 4 MiB page (page directory entry, CR4.PSE) */

#define PDXSHIFT	22
#define PTXSHIFT	12
#define PDX(va)		(((uint32_t)(va) >> PDXSHIFT) & 0x3FF)
#define PTX(va)		(((uint32_t)(va) >> PTXSHIFT) & 0x3FF)
#define PTE_ADDR(pte)	((uint32_t)(pte) & ~0xFFF)
#define PTE_FLAGS(pte)	((uint32_t)(pte) & 0xFFF)

#define PGROUNDUP(a)	(((uint32_t)(a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PGROUNDDOWN(a)	((uint32_t)(a) & ~(PGSIZE - 1))

typedef uint32_t pde_t;
typedef uint32_t pte_t;

/* }====== */

#endif
