/*
 * mmu.c - paging, the software TLB, and the slow paths of memory access.
 *
 * Two-level i386 paging (CR4.PSE adds 4 MiB pages):
 *
 *   linear   | 31 ........ 22 | 21 ........ 12 | 11 ........ 0 |
 *            |   directory    |     table      |    offset     |
 *
 *   CR3 -> page directory (1024 PDEs) -> page table (1024 PTEs) -> page
 *   a PDE with PS=1 (and CR4.PSE) maps a 4 MiB page directly.
 *
 * The TLB caches translations per privilege (supervisor/user) with separate
 * read and write tags, and a host pointer for plain memory. A write tag is
 * only set once the dirty bit is set, and never for pages that hold decoded
 * code or ROM, so those writes take the slow path here.
 *
 * In guest mode with nested paging the walk is nested_walk() (nested.c);
 * the TLB, its fast paths and everything below stay the same.
 */
#include "cpu_int.h"

/* {====== physical access ====== */

uint32_t phys_read(struct cpu *cpu, uint32_t pa, int sz)
{
	bool w;
	uint8_t *p = cpu->bus.page_ptr(cpu->bus.opaque, pa & ~0xfffu, &w);
	if (p && (pa & 0xfff) <= 0x1000u - sz) {
		return host_ld(p + (pa & 0xfff), sz);
	}
	if (!p)
		return cpu->bus.mem_read(cpu->bus.opaque, pa, sz);
	uint32_t v = 0;
	for (int i = 0; i < sz; i++)
		v |= phys_read(cpu, pa + i, 1) << (8 * i);
	return v;
}

/* Reports a write to the instruction observer (cpu.h). */
static inline void obs_write(struct cpu *cpu, uint32_t addr, uint32_t v, int sz, bool phys)
{
	if (unlikely(cpu->observed))
		cpu->obs->write(cpu->obs->opaque, addr, v & size_mask(sz), (unsigned)sz, phys);
}

/* phys_write without the report: the part of a linear write (lin_write
 * reports it by its linear address). */
static void phys_store(struct cpu *cpu, uint32_t pa, uint32_t v, int sz)
{
	bool w;
	if (cpu->dcache && dcache_page_has_code(cpu->dcache, pa))
		dcache_invalidate(cpu->dcache, pa, sz);
	uint8_t *p = cpu->bus.page_ptr(cpu->bus.opaque, pa & ~0xfffu, &w);
	if (p && (pa & 0xfff) <= 0x1000u - sz) {
		if (!w)
			return; /* ROM */
		mmu_mark_dirty(cpu, pa);
		host_st(p + (pa & 0xfff), v, sz);
		return;
	}
	if (!p) {
		cpu->bus.mem_write(cpu->bus.opaque, pa, v, sz);
		cpu->block_end = true;
		return;
	}
	for (int i = 0; i < sz; i++)
		phys_store(cpu, pa + i, v >> (8 * i), 1);
}

void phys_write(struct cpu *cpu, uint32_t pa, uint32_t v, int sz)
{
	phys_store(cpu, pa, v, sz);
	obs_write(cpu, pa, v, sz, true);
}

/* }====================================================================== */

/* {====== the page walk ====== */

/* Raises #PF for `lin` (CR2) with error code `err`; also used by the
 * guest dimension of nested_walk(). Never returns. */
_Noreturn void mmu_page_fault(struct cpu *cpu, uint32_t lin, uint32_t err)
{
	cpu->cr2 = lin;
	cpu->cycles += 20;
	cpu_raise(cpu, EXC_PF, (int)err);
}

/*
 * Walks the page tables for `lin`. Returns the physical address, sets the
 * accessed and (for writes) dirty bits, and reports in *wr whether a later
 * write at the same privilege may skip the walk (writable and dirty).
 * Faults with #PF.
 */
static uint32_t walk(struct cpu *cpu, uint32_t lin, enum acc acc, bool user, bool *wr)
{
	bool write = acc == ACC_WRITE;
	uint32_t pde_pa = ((cpu->cr3 & PTE_FRAME) | ((lin >> 20) & 0xffc)) & cpu->a20_mask;
	uint32_t pde = phys_read(cpu, pde_pa, 4);
	uint32_t err = (write ? PFEC_W : 0) | (user ? PFEC_U : 0);
	mmu_walk_ref(cpu, false);
	if (!(pde & PTE_P))
		mmu_page_fault(cpu, lin, err);
	bool big = (pde & PTE_PS) && (cpu->cr4 & CR4_PSE);
	uint32_t pte = pde, pte_pa = 0, perm = pde;
	if (!big) {
		/* The PDE is used for the translation as soon as the walk goes
		 * through it, so its A flag is set now, even if the PTE or the
		 * rights check then faults (as Intel processors and QEMU do; the
		 * SDM, 4.8, only says "used as part of translation"). */
		if (!(pde & PTE_A)) {
			pde |= PTE_A;
			phys_write(cpu, pde_pa, pde, 4);
		}
		pte_pa = ((pde & PTE_FRAME) | ((lin >> 10) & 0xffc)) & cpu->a20_mask;
		pte = phys_read(cpu, pte_pa, 4);
		mmu_walk_ref(cpu, false);
		if (!(pte & PTE_P))
			mmu_page_fault(cpu, lin, err);
		perm = pde & pte;
	}
	bool wp = (cpu->cr0 & CR0_WP) != 0;
	if (user && !(perm & PTE_U))
		mmu_page_fault(cpu, lin, err | PFEC_P);
	if (write && !(perm & PTE_W) && (user || wp))
		mmu_page_fault(cpu, lin, err | PFEC_P);
	if (!(pde & PTE_A) || (big && write && !(pde & PTE_D)))
		phys_write(cpu, pde_pa, pde | PTE_A | (big && write ? PTE_D : 0), 4);
	if (!big && (!(pte & PTE_A) || (write && !(pte & PTE_D))))
		phys_write(cpu, pte_pa, pte | PTE_A | (write ? PTE_D : 0), 4);
	bool dirty = write || (pte & PTE_D);
	*wr = dirty && ((perm & PTE_W) || (!user && !wp));
	if (big)
		return ((pde & PDE_FRAME_4M) | (lin & 0x3fffff)) & cpu->a20_mask;
	return ((pte & PTE_FRAME) | (lin & 0xfff)) & cpu->a20_mask;
}

uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, enum acc acc, bool user)
{
	bool wr = true;
	uint32_t pa;
	if (unlikely(mmu_nested(cpu)))
		pa = nested_walk(cpu, lin, acc, user, &wr);
	else if (cpu->cr0 & CR0_PG)
		pa = walk(cpu, lin, acc, user, &wr);
	else
		pa = lin & cpu->a20_mask;
	/* Fill the TLB for the privilege of this access. */
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	bool w;
	uint8_t *host = cpu->bus.page_ptr(cpu->bus.opaque, pa & ~0xfffu, &w);
	uint32_t tag = (lin & ~0xfffu) | 1;
	if ((e->tag_read[0] & ~TLB_WATCHED) != tag && (e->tag_read[1] & ~TLB_WATCHED) != tag &&
	    (e->tag_write[0] & ~TLB_WATCHED) != tag && (e->tag_write[1] & ~TLB_WATCHED) != tag)
		memset(e, 0, sizeof *e);
	if (unlikely(cpu->points_data) && point_page_watched(cpu, lin))
		tag |= TLB_WATCHED;
	if (host && (e->host == NULL || e->phys == (pa & ~0xfffu)) &&
	    !(cpu->bp_data && dbg_page_watched(cpu, lin))) {
		e->phys = pa & ~0xfffu;
		e->host = host;
		e->tag_read[user] = tag;
		if (wr && w && !(cpu->dcache && dcache_page_has_code(cpu->dcache, pa))) {
			/* Observed: only the slow paths, which report writes. */
			e->tag_write[user] = tag | (cpu->observed ? TLB_WATCHED : 0);
			mmu_mark_dirty(cpu, pa);
		} else
			e->tag_write[user] = 0;
	}
	return pa;
}

bool mmu_probe(struct cpu *cpu, uint32_t lin, uint32_t *phys)
{
	if (mmu_nested(cpu))
		return nested_probe(cpu, lin, phys);
	if (!(cpu->cr0 & CR0_PG)) {
		*phys = lin & cpu->a20_mask;
		return true;
	}
	uint32_t pde = phys_read(cpu, ((cpu->cr3 & PTE_FRAME) | ((lin >> 20) & 0xffc)) & cpu->a20_mask, 4);
	if (!(pde & PTE_P))
		return false;
	if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
		*phys = ((pde & PDE_FRAME_4M) | (lin & 0x3fffff)) & cpu->a20_mask;
		return true;
	}
	uint32_t pte = phys_read(cpu, ((pde & PTE_FRAME) | ((lin >> 10) & 0xffc)) & cpu->a20_mask, 4);
	if (!(pte & PTE_P))
		return false;
	*phys = ((pte & PTE_FRAME) | (lin & 0xfff)) & cpu->a20_mask;
	return true;
}

void cpu_tlb_flush(struct cpu *cpu)
{
	memset(cpu->tlb, 0, sizeof cpu->tlb);
	cpu->fetch_page = 0;
}

void cpu_tlb_drop_writes(struct cpu *cpu)
{
	struct cpu *c = cpu;
	do {
		for (int i = 0; i < TLB_SIZE; i++)
			c->tlb[i].tag_write[0] = c->tlb[i].tag_write[1] = 0;
		c = c->sibling;
	} while (c && c != cpu);
}

void mmu_invlpg(struct cpu *cpu, uint32_t lin)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	memset(e, 0, sizeof *e);
	cpu->fetch_page = 0;
}

/* Drops every fast write path to physical page `pa` (it now holds code). */
void mmu_protect_code(struct cpu *cpu, uint32_t pa);
void mmu_protect_code(struct cpu *cpu, uint32_t pa)
{
	pa &= ~0xfffu;
	struct cpu *c = cpu;
	do { /* the page's decodes are every sibling's: none may write it unseen */
		for (int i = 0; i < TLB_SIZE; i++)
			if (c->tlb[i].host && c->tlb[i].phys == pa)
				c->tlb[i].tag_write[0] = c->tlb[i].tag_write[1] = 0;
		c = c->sibling;
	} while (c && c != cpu);
}

/* True if TLB tag `tag` maps the page of `lin`, watched or not (the slow
 * paths below use a watched entry; the inline fast paths do not). */
static inline bool tag_hit(uint32_t tag, uint32_t lin)
{
	return (tag & ~TLB_WATCHED) == ((lin & ~0xfffu) | 1);
}

/* }====================================================================== */

/* {====== linear access slow paths ====== */

/* A read that stays within one page: the TLB entry, or a walk. */
static uint32_t read_in_page(struct cpu *cpu, uint32_t lin, int sz, bool user)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (tag_hit(e->tag_read[user], lin))
		return host_ld(e->host + (lin & 0xfff), sz);
	cpu->mem_cycles += 1;
	return phys_read(cpu, mmu_translate(cpu, lin, ACC_READ, user), sz);
}

uint32_t lin_read(struct cpu *cpu, uint32_t lin, int sz, bool user)
{
	if (unlikely(cpu->bp_data))
		dbg_check_data(cpu, lin, sz, false);
	uint32_t v = 0;
	if ((lin & 0xfff) > 0x1000u - sz) {
		/* Crosses a page: both pages are translated before any data moves. */
		int n1 = 0x1000 - (lin & 0xfff);
		uint32_t pa1 = mmu_translate(cpu, lin, ACC_READ, user);
		uint32_t pa2 = mmu_translate(cpu, lin + n1, ACC_READ, user);
		for (int i = 0; i < sz; i++)
			v |= phys_read(cpu, i < n1 ? pa1 + i : pa2 + (i - n1), 1) << (8 * i);
	} else {
		v = read_in_page(cpu, lin, sz, user);
	}
	if (unlikely(cpu->points_data))
		point_data_access(cpu, lin, sz, false);
	return v;
}

/* A write that stays within one page: the TLB entry, or a walk. */
static void write_in_page(struct cpu *cpu, uint32_t lin, uint32_t v, int sz, bool user)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (tag_hit(e->tag_write[user], lin)) {
		host_st(e->host + (lin & 0xfff), v, sz);
		return;
	}
	cpu->mem_cycles += 1;
	phys_store(cpu, mmu_translate(cpu, lin, ACC_WRITE, user), v, sz);
}

void lin_write(struct cpu *cpu, uint32_t lin, uint32_t v, int sz, bool user)
{
	if (unlikely(cpu->bp_data))
		dbg_check_data(cpu, lin, sz, true);
	if ((lin & 0xfff) > 0x1000u - sz) {
		int n1 = 0x1000 - (lin & 0xfff);
		uint32_t pa1 = mmu_translate(cpu, lin, ACC_WRITE, user);
		uint32_t pa2 = mmu_translate(cpu, lin + n1, ACC_WRITE, user);
		for (int i = 0; i < sz; i++)
			phys_store(cpu, i < n1 ? pa1 + i : pa2 + (i - n1), v >> (8 * i), 1);
	} else {
		write_in_page(cpu, lin, v, sz, user);
	}
	obs_write(cpu, lin, v, sz, false);
	if (unlikely(cpu->points_data))
		point_data_access(cpu, lin, sz, true);
}

bool cpu_peek_linear(struct cpu *cpu, uint32_t lin, void *buf, size_t len)
{
	uint8_t *out = buf;
	for (size_t i = 0; i < len; i++) {
		uint32_t pa;
		if (!mmu_probe(cpu, lin + (uint32_t)i, &pa))
			return false;
		out[i] = (uint8_t)phys_read(cpu, pa, 1);
	}
	return true;
}

/* }====================================================================== */
