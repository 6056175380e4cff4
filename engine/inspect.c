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

/* Calls `fn` for each piece of [lin, lin + len) within one page, with its
 * guest-physical address; false at the first page not mapped. */
static bool each_page(struct machine *m, uint32_t lin, size_t len,
                      void (*fn)(struct machine *h, uint32_t phys, size_t off, uint32_t n, void *arg),
                      void *arg)
{
	struct machine *h = held(m);
	size_t off = 0;
	while (len) {
		uint32_t phys, n = PMEM_PAGE_SIZE - (lin & (PMEM_PAGE_SIZE - 1));
		if (n > len)
			n = (uint32_t)len;
		if (!machine_translate(m, lin, &phys))
			return false;
		fn(h, phys, off, n, arg);
		off += n, lin += n, len -= n;
	}
	return true;
}

static void load_piece(struct machine *h, uint32_t phys, size_t off, uint32_t n, void *arg)
{
	pmem_load(h->pmem, phys, (uint8_t *)arg + off, n);
}

static void store_piece(struct machine *h, uint32_t phys, size_t off, uint32_t n, void *arg)
{
	pmem_store(h->pmem, phys, (const uint8_t *)arg + off, n);
	cpu_invalidate_phys(h->cpu, (h->l0 ? h->share_base : 0) + phys, n); /* decoded code */
}

bool machine_read_virt(struct machine *m, uint32_t lin, void *buf, size_t len)
{
	return each_page(m, lin, len, load_piece, buf);
}

bool machine_write_virt(struct machine *m, uint32_t lin, const void *buf, size_t len)
{
	return each_page(m, lin, len, store_piece, (void *)buf);
}

bool machine_set_reg(struct machine *m, enum machine_reg reg, uint32_t v)
{
	struct cpu *c = m->cpu;
	if (reg <= MACHINE_REG_EDI) {
		c->r[reg] = v;
		return true;
	}
	if (reg == MACHINE_REG_EIP) {
		c->eip = v & c->eip_mask;
		return true;
	}
	if (reg == MACHINE_REG_EFLAGS) {
		uint32_t f = cpu_get_eflags(c);
		cpu_set_eflags(c, (f & ~MACHINE_EFLAGS_WRITABLE) | (v & MACHINE_EFLAGS_WRITABLE));
		return true;
	}
	return false;
}
