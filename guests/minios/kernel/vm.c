/*
 * vm.c - segments and page tables.
 *
 * The boot code (entry.asm) runs with one page directory of 4 MiB pages.
 * kvmalloc() replaces it with one built from 4 KiB page tables out of
 * kalloc(); each process gets a copy of its kernel half (setupkvm) plus its
 * own user half below KERNBASE. See memlayout.h for the map.
 */
#include "defs.h"
#include "fsformat.h"
#include "memlayout.h"
#include "proc.h"
#include "x86.h"

static pde_t *kpgdir;		/* the kernel-only page directory */
static uint32_t phystop;	/* end of the RAM the kernel maps */

/* Load a GDT with flat kernel and user segments and a TSS. */
void seginit(void)
{
	cpu.gdt[SEG_KCODE] = SEG_FLAT(STA_X | STA_R, DPL_KERNEL);
	cpu.gdt[SEG_KDATA] = SEG_FLAT(STA_W, DPL_KERNEL);
	cpu.gdt[SEG_UCODE] = SEG_FLAT(STA_X | STA_R, DPL_USER);
	cpu.gdt[SEG_UDATA] = SEG_FLAT(STA_W, DPL_USER);
	lgdt(cpu.gdt, sizeof(cpu.gdt));
	/* Reload the segment registers: the loader's GDT may be gone soon. */
	asm volatile("movw %0, %%ds; movw %0, %%es; movw %0, %%ss;"
		     "movw %1, %%fs; movw %1, %%gs;"
		     "ljmp %2, $1f; 1:"
		     : : "r"((uint16_t)(SEG_KDATA << 3)), "r"((uint16_t)0),
		       "i"(SEG_KCODE << 3));
}

/*
 * The page table entry for va in pgdir. With alloc, a missing page table is
 * allocated; without, or when memory is out, returns 0.
 */
static pte_t *walkpgdir(pde_t *pgdir, uint32_t va, int alloc)
{
	pde_t *pde = &pgdir[PDX(va)];
	pte_t *pgtab;

	if (*pde & PTE_P) {
		pgtab = P2V(PTE_ADDR(*pde));
	} else {
		if (!alloc || (pgtab = (pte_t *)kalloc()) == 0)
			return 0;
		memset(pgtab, 0, PGSIZE);
		/* Permissions are enforced by the PTEs; the PDE allows all. */
		*pde = V2P(pgtab) | PTE_P | PTE_W | PTE_U;
	}
	return &pgtab[PTX(va)];
}

/* Map [va, va+size) to [pa, pa+size). Returns 0, or -1 when out of memory. */
static int mappages(pde_t *pgdir, uint32_t va, uint32_t size, uint32_t pa, int perm)
{
	uint32_t a = PGROUNDDOWN(va);
	uint32_t last = PGROUNDDOWN(va + size - 1);

	for (;;) {
		pte_t *pte = walkpgdir(pgdir, a, 1);
		if (pte == 0)
			return -1;
		if (*pte & PTE_P)
			panic("mappages: remap");
		*pte = pa | perm | PTE_P;
		if (a == last)
			break;
		a += PGSIZE;
		pa += PGSIZE;
	}
	return 0;
}

/*
 * A new page directory with the kernel half filled in: RAM at KERNBASE and
 * the device window at its own address. Returns 0 when out of memory.
 */
pde_t *setupkvm(void)
{
	pde_t *pgdir = (pde_t *)kalloc();

	if (pgdir == 0)
		return 0;
	memset(pgdir, 0, PGSIZE);
	if (mappages(pgdir, KERNBASE, phystop, 0, PTE_W) < 0 ||
	    mappages(pgdir, DEVSPACE, -DEVSPACE, DEVSPACE, PTE_W | PTE_PCD | PTE_PWT) < 0) {
		freevm(pgdir);
		return 0;
	}
	return pgdir;
}

/* Build the kernel page directory for RAM up to phystop and switch to it. */
void kvmalloc(uint32_t ram_end)
{
	phystop = ram_end;
	kpgdir = setupkvm();
	if (kpgdir == 0)
		panic("kvmalloc: out of memory");
	switchkvm();
}

/* Run on the kernel-only page directory (in the scheduler). */
void switchkvm(void)
{
	lcr3(V2P(kpgdir));
}

/* Run on p's page directory, and take traps from ring 3 on p's kernel stack. */
void switchuvm(struct proc *p)
{
	cpu.gdt[SEG_TSS] = SEG_SYS(STS_T32A, &cpu.ts, sizeof(cpu.ts) - 1, DPL_KERNEL);
	cpu.ts.ss0 = SEG_KDATA << 3;
	cpu.ts.esp0 = (uint32_t)p->kstack + KSTACKSIZE;
	cpu.ts.iomb = 0xFFFF;	/* beyond the limit: ring 3 may use no port */
	ltr(SEG_TSS << 3);	/* LTR marks the descriptor busy; we rewrite it each time */
	lcr3(V2P(p->pgdir));
}

/*
 * Grow a process from oldsz to newsz bytes with zeroed, user-writeable pages.
 * Returns the new size, or 0 when out of memory (then nothing is allocated).
 */
uint32_t allocuvm(pde_t *pgdir, uint32_t oldsz, uint32_t newsz)
{
	if (newsz >= KERNBASE)
		return 0;
	for (uint32_t a = PGROUNDUP(oldsz); a < newsz; a += PGSIZE) {
		char *mem = kalloc();
		if (mem == 0 || mappages(pgdir, a, PGSIZE, V2P(mem), PTE_W | PTE_U) < 0) {
			if (mem)
				kfree(mem);
			deallocuvm(pgdir, newsz, oldsz);
			return 0;
		}
		memset(mem, 0, PGSIZE);
	}
	return newsz > oldsz ? newsz : oldsz;
}

/* Shrink a process from oldsz to newsz bytes, freeing pages. Returns newsz. */
uint32_t deallocuvm(pde_t *pgdir, uint32_t oldsz, uint32_t newsz)
{
	for (uint32_t a = PGROUNDUP(newsz); a < oldsz; a += PGSIZE) {
		pte_t *pte = walkpgdir(pgdir, a, 0);
		if (pte && (*pte & PTE_P)) {
			kfree(P2V(PTE_ADDR(*pte)));
			*pte = 0;
		}
	}
	return newsz < oldsz ? newsz : oldsz;
}

/*
 * Read sz bytes at offset off of file f to user address va, which must be
 * page-aligned and already mapped. Returns 0, or -1 on a read error.
 */
int loaduvm(pde_t *pgdir, uint32_t va, const struct dirent *f, uint32_t off, uint32_t sz)
{
	if (va % PGSIZE)
		panic("loaduvm: va not page-aligned");
	for (uint32_t i = 0; i < sz; i += PGSIZE) {
		pte_t *pte = walkpgdir(pgdir, va + i, 0);
		if (pte == 0 || !(*pte & PTE_P))
			panic("loaduvm: page not mapped");
		uint32_t n = sz - i < PGSIZE ? sz - i : PGSIZE;
		if (fs_read(f, off + i, P2V(PTE_ADDR(*pte)), n) != (int)n)
			return -1;
	}
	return 0;
}

/* Free a page directory, its page tables and all user pages. */
void freevm(pde_t *pgdir)
{
	if (pgdir == 0)
		panic("freevm: no pgdir");
	deallocuvm(pgdir, KERNBASE, 0);
	for (int i = 0; i < NPDENTRIES; i++)
		if (pgdir[i] & PTE_P)
			kfree(P2V(PTE_ADDR(pgdir[i])));
	kfree((char *)pgdir);
}

/* Make the page at va kernel-only (the guard page below the user stack). */
void clearpteu(pde_t *pgdir, uint32_t va)
{
	pte_t *pte = walkpgdir(pgdir, va, 0);

	if (pte == 0)
		panic("clearpteu");
	*pte &= ~PTE_U;
}

/* A copy of a process's memory for fork(). Returns 0 when out of memory. */
pde_t *copyuvm(pde_t *pgdir, uint32_t sz)
{
	pde_t *d = setupkvm();

	if (d == 0)
		return 0;
	for (uint32_t a = 0; a < sz; a += PGSIZE) {
		pte_t *pte = walkpgdir(pgdir, a, 0);
		if (pte == 0 || !(*pte & PTE_P))
			panic("copyuvm: page not present");
		char *mem = kalloc();
		if (mem == 0)
			goto bad;
		memmove(mem, P2V(PTE_ADDR(*pte)), PGSIZE);
		if (mappages(d, a, PGSIZE, V2P(mem), PTE_FLAGS(*pte)) < 0) {
			kfree(mem);
			goto bad;
		}
	}
	return d;
bad:
	freevm(d);
	return 0;
}

/* The kernel address of user address va, or 0 if it is not a user page. */
static char *uva2ka(pde_t *pgdir, uint32_t va)
{
	pte_t *pte = walkpgdir(pgdir, va, 0);

	if (pte == 0 || (*pte & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
		return 0;
	return (char *)P2V(PTE_ADDR(*pte)) + va % PGSIZE;
}

/*
 * Copy len bytes to user address va of pgdir (which need not be the one
 * loaded). Returns 0, or -1 if a page is not a user page.
 */
int copyout(pde_t *pgdir, uint32_t va, const void *src, uint32_t len)
{
	const char *s = src;

	while (len > 0) {
		char *dst = uva2ka(pgdir, PGROUNDDOWN(va));
		if (dst == 0)
			return -1;
		uint32_t n = PGSIZE - va % PGSIZE;
		if (n > len)
			n = len;
		memmove(dst + va % PGSIZE, s, n);
		len -= n;
		s += n;
		va += n;
	}
	return 0;
}
