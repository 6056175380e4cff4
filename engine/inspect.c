/*
 * inspect.c - a debugger's view of the guest's memory: its virtual
 * addresses through its own page tables (bare: the CPU's; under a monitor:
 * the guest's, as the monitor reads them), without side effects (no
 * accessed or dirty bits set, no faults, no TLB change).
 */
#include "machine_int.h"

#define PTE_PRESENT 1u
#define PDE_LARGE 0x80u
#define FRAME_4K 0xfffff000u
#define FRAME_4M 0xffc00000u

/* Bare: the walk the CPU would do, reading the tables from memory. */
static bool walk_bare(struct machine *m, uint32_t lin, uint32_t *phys)
{
	const struct cpu *c = m->cpu;
	if (!(c->cr0 & CR0_PG)) {
		*phys = lin;
		return true;
	}
	uint32_t pde = pmem_read(m->pmem, (c->cr3 & FRAME_4K) + (lin >> 22) * 4, 4);
	if (!(pde & PTE_PRESENT))
		return false;
	if ((pde & PDE_LARGE) && (c->cr4 & CR4_PSE)) {
		*phys = (pde & FRAME_4M) | (lin & ~FRAME_4M);
		return true;
	}
	uint32_t pte = pmem_read(m->pmem, (pde & FRAME_4K) + ((lin >> 12) & 1023) * 4, 4);
	if (!(pte & PTE_PRESENT))
		return false;
	*phys = (pte & FRAME_4K) | (lin & ~FRAME_4K);
	return true;
}

/* The machine whose state the CPU holds (a VM, or the bare machine). */
static struct machine *held(struct machine *m)
{
	struct machine *root = m->root ? m->root : m;
	return root->current ? root->current : root;
}

bool machine_translate(struct machine *m, uint32_t lin, uint32_t *phys)
{
	struct machine *h = held(m);
	if (h->l0)
		return vmm_translate((struct vmm *)l0_vmm(h->l0), lin, phys);
	return walk_bare(h, lin, phys);
}

bool machine_read_virt(struct machine *m, uint32_t lin, void *buf, size_t len)
{
	struct machine *h = held(m);
	uint8_t *out = buf;
	while (len) {
		uint32_t phys, n = PMEM_PAGE_SIZE - (lin & (PMEM_PAGE_SIZE - 1));
		if (n > len)
			n = (uint32_t)len;
		if (!machine_translate(m, lin, &phys))
			return false;
		pmem_load(h->pmem, phys, out, n);
		out += n, lin += n, len -= n;
	}
	return true;
}

bool machine_write_virt(struct machine *m, uint32_t lin, const void *buf, size_t len)
{
	struct machine *h = held(m);
	const uint8_t *in = buf;
	while (len) {
		uint32_t phys, n = PMEM_PAGE_SIZE - (lin & (PMEM_PAGE_SIZE - 1));
		if (n > len)
			n = (uint32_t)len;
		if (!machine_translate(m, lin, &phys))
			return false;
		pmem_store(h->pmem, phys, in, n);
		cpu_invalidate_phys(h->cpu, (h->l0 ? h->share_base : 0) + phys, n); /* decoded code */
		in += n, lin += n, len -= n;
	}
	return true;
}
