/*
 * mem.c - the monitor's own pages, and guest memory as the monitor sees it.
 *
 *   guest-virtual --vmem_walk (guest tables, A/D as hardware)--> guest-physical
 *   guest-physical < ram_size --share--> host-physical ram_base + gpa
 *   guest-physical >= ram_size --ops->mmio_*--> the VM's devices
 *
 * The monitor's pages (shadow tables, shadow descriptor tables, the nested
 * map) come from its own region [mon_base, mon_base + mon_pages * 4 KiB),
 * which is outside every VM's share: no shadow entry ever maps it, so a
 * guest cannot reach the monitor's state.
 */
#include "vmm_int.h"

static const uint8_t zero_page[PAGE];

/* {====== the monitor's pages ====== */

static bool page_used(const struct vmm *vm, uint32_t i)
{
	return (vm->mon_map[i >> 3] >> (i & 7)) & 1;
}

static void mark(struct vmm *vm, uint32_t i, bool used)
{
	if (used)
		vm->mon_map[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		vm->mon_map[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

void vmem_zero_page(struct vmm *vm, uint32_t hpa)
{
	vm->ops->write(vm->ops->opaque, hpa, zero_page, PAGE);
}

uint32_t vmem_pages_alloc(struct vmm *vm, unsigned n)
{
	uint32_t run = 0;
	for (uint32_t i = 0; i < vm->mon_pages; i++) {
		run = page_used(vm, i) ? 0 : run + 1;
		if (run < n)
			continue;
		uint32_t first = i + 1 - n;
		for (uint32_t k = first; k <= i; k++) {
			mark(vm, k, true);
			vmem_zero_page(vm, vm->mon_base + k * PAGE);
		}
		vm->mon_used += n;
		return vm->mon_base + first * PAGE;
	}
	return 0;
}

uint32_t vmem_page_alloc(struct vmm *vm)
{
	return vmem_pages_alloc(vm, 1);
}

void vmem_page_free(struct vmm *vm, uint32_t hpa)
{
	if (!hpa)
		return;
	uint32_t i = (hpa - vm->mon_base) / PAGE;
	if (i < vm->mon_pages && page_used(vm, i)) {
		mark(vm, i, false);
		vm->mon_used--;
	}
}

/* }====================================================================== */

/* {====== physical access ====== */

uint32_t vmem_rd_hpa(struct vmm *vm, uint32_t hpa)
{
	uint32_t v;
	vm->ops->read(vm->ops->opaque, hpa, &v, 4);
	return v;
}

void vmem_wr_hpa(struct vmm *vm, uint32_t hpa, uint32_t v)
{
	vm->ops->write(vm->ops->opaque, hpa, &v, 4);
}

bool vmem_gpa_ram(const struct vmm *vm, uint32_t gpa, uint32_t *hpa)
{
	if (gpa >= vm->ram_size)
		return false;
	*hpa = vm->ram_base + gpa;
	return true;
}

bool vmem_gpa_rom(const struct vmm *vm, uint32_t gpa, uint32_t *hpa)
{
	if (!vm->rom_size || gpa < vm->rom_base || gpa - vm->rom_base >= vm->rom_size)
		return false;
	*hpa = gpa;
	return true;
}

uint32_t vmem_rd_gpa(struct vmm *vm, uint32_t gpa, int size)
{
	uint32_t hpa;
	if ((gpa & (PAGE - 1)) + (uint32_t)size > PAGE) {
		uint32_t v = 0;
		for (int i = 0; i < size; i++)
			v |= vmem_rd_gpa(vm, gpa + (uint32_t)i, 1) << (8 * i);
		return v;
	}
	if (!vmem_gpa_ram(vm, gpa, &hpa) && !vmem_gpa_rom(vm, gpa, &hpa))
		return vm->ops->mmio_read(vm->ops->opaque, gpa, size);
	uint32_t v = 0;
	vm->ops->read(vm->ops->opaque, hpa, &v, (uint32_t)size);
	return v;
}

void vmem_wr_gpa(struct vmm *vm, uint32_t gpa, uint32_t v, int size)
{
	uint32_t hpa;
	if ((gpa & (PAGE - 1)) + (uint32_t)size > PAGE) {
		for (int i = 0; i < size; i++)
			vmem_wr_gpa(vm, gpa + (uint32_t)i, v >> (8 * i), 1);
		return;
	}
	if (!vmem_gpa_ram(vm, gpa, &hpa)) {
		vm->ops->mmio_write(vm->ops->opaque, gpa, v, size);
		return;
	}
	vm->ops->write(vm->ops->opaque, hpa, &v, (uint32_t)size);
	vmem_guest_wrote(vm, gpa, (uint32_t)size);
}

void vmem_guest_wrote(struct vmm *vm, uint32_t gpa, uint32_t len)
{
	if (spt_is_pt_frame(vm, gpa)) /* every entry the bytes touch (one page) */
		for (uint32_t a = gpa & ~3u; a < gpa + len; a += 4)
			spt_guest_wrote(vm, a);
	if (vdesc_is_dt_frame(vm, gpa))
		vdesc_guest_wrote(vm, gpa, (int)len);
	if (vm->nest.n_tables)
		vnest_table_written(vm, gpa);
}

/* }====================================================================== */

/* {====== the guest's page walk ====== */

/* The walk's own A/D updates: like the hardware's, they change no mapping,
 * so they do not count as guest writes to its page tables. */
static void set_ad(struct vmm *vm, uint32_t gpa, uint32_t v)
{
	uint32_t hpa;
	if (vmem_gpa_ram(vm, gpa, &hpa))
		vmem_wr_hpa(vm, hpa, v);
}

static vfault walk_fault(struct vmm *vm, uint32_t gva, uint32_t err)
{
	vm->fault_cr2 = gva;
	return VF(X_PF, err);
}

/* The same walk as the engine's MMU (engine/cpu/mmu.c), on guest tables:
 * a table PDE's A flag is set as soon as the walk goes through it; the
 * PTE's (or a 4 MiB PDE's) A and D only on an allowed access. */
vfault vmem_walk(struct vmm *vm, uint32_t gva, enum vacc acc, bool user, uint32_t *gpa)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	if (!(v->cr0 & CR0_PG)) {
		*gpa = gva;
		return 0;
	}
	bool write = acc == VACC_WRITE;
	uint32_t err = (write ? PFEC_W : 0) | (user ? PFEC_U : 0);
	uint32_t pde_pa = (v->cr3 & PTE_FRAME) | ((gva >> 20) & 0xffc);
	uint32_t pde = vmem_rd_gpa(vm, pde_pa, 4);
	if (!(pde & PTE_P))
		return walk_fault(vm, gva, err);
	bool big = (pde & PTE_PS) && (v->cr4 & CR4_PSE);
	uint32_t pte = pde, pte_pa = 0, perm = pde;
	if (!big) {
		if (!(pde & PTE_A)) {
			pde |= PTE_A;
			set_ad(vm, pde_pa, pde);
		}
		pte_pa = (pde & PTE_FRAME) | ((gva >> 10) & 0xffc);
		pte = vmem_rd_gpa(vm, pte_pa, 4);
		if (!(pte & PTE_P))
			return walk_fault(vm, gva, err);
		perm = pde & pte;
	}
	bool wp = (v->cr0 & CR0_WP) != 0;
	if (user && !(perm & PTE_U))
		return walk_fault(vm, gva, err | PFEC_P);
	if (write && !(perm & PTE_W) && (user || wp))
		return walk_fault(vm, gva, err | PFEC_P);
	if (!(pde & PTE_A) || (big && write && !(pde & PTE_D)))
		set_ad(vm, pde_pa, pde | PTE_A | (big && write ? PTE_D : 0));
	if (!big && (!(pte & PTE_A) || (write && !(pte & PTE_D))))
		set_ad(vm, pte_pa, pte | PTE_A | (write ? PTE_D : 0));
	*gpa = big ? (pde & PDE_FRAME_4M) | (gva & 0x3fffff) : (pte & PTE_FRAME) | (gva & 0xfff);
	return 0;
}

vfault vmem_rd_gva(struct vmm *vm, uint32_t gva, int size, bool user, uint32_t *val)
{
	uint32_t v = 0;
	for (int done = 0; done < size;) {
		uint32_t a = gva + (uint32_t)done, gpa;
		int n = (int)(PAGE - (a & (PAGE - 1)));
		if (n > size - done)
			n = size - done;
		vfault f = vmem_walk(vm, a, VACC_READ, user, &gpa);
		if (f)
			return f;
		uint32_t hpa;
		if (n != 3 && vmem_gpa_ram(vm, gpa, &hpa)) /* RAM: one read (a device: byte by byte) */
			v |= vmem_rd_gpa(vm, gpa, n) << (8 * done);
		else
			for (int i = 0; i < n; i++)
				v |= vmem_rd_gpa(vm, gpa + (uint32_t)i, 1) << (8 * (done + i));
		done += n;
	}
	*val = v;
	return 0;
}

vfault vmem_wr_gva(struct vmm *vm, uint32_t gva, uint32_t v, int size, bool user)
{
	/* Translate every page first: a fault must leave memory unchanged. */
	uint32_t gpa[2], split = PAGE - (gva & (PAGE - 1));
	int pages = (uint32_t)size > split ? 2 : 1;
	for (int p = 0; p < pages; p++) {
		vfault f = vmem_walk(vm, p ? gva + split : gva, VACC_WRITE, user, &gpa[p]);
		if (f)
			return f;
	}
	if (pages == 1) {
		vmem_wr_gpa(vm, gpa[0], v, size);
		return 0;
	}
	for (int i = 0; i < size; i++) {
		uint32_t a = (uint32_t)i < split ? gpa[0] + (uint32_t)i : gpa[1] + (uint32_t)i - split;
		vmem_wr_gpa(vm, a, v >> (8 * i), 1);
	}
	return 0;
}

/* }====================================================================== */

/* {====== segmented access ====== */

static vfault seg_check(const struct vmm_regs *r, int sreg, uint32_t off, int size)
{
	const struct vmm_seg *s = &r->seg[sreg];
	bool expand_down = (s->attr & DESC_S) && !(s->attr & DESC_TYPE_CODE) &&
	                   (s->attr & DESC_TYPE_E);
	uint32_t last = off + (uint32_t)size - 1;
	bool bad = expand_down ? off <= s->limit || last < off
	                       : last > s->limit || last < off;
	if (bad || ((s->sel & 0xfffc) == 0 && sreg != VMM_CS && sreg != VMM_SS && (r->cr0 & CR0_PE)))
		return sreg == VMM_SS ? VF(X_SS, 0) : VF(X_GP, 0);
	return 0;
}

vfault vmem_rd_seg(struct vmm *vm, const struct vmm_regs *r, int sreg, uint32_t off, int size,
                  uint32_t *v)
{
	vfault f = seg_check(r, sreg, off, size);
	return f ? f : vmem_rd_gva(vm, r->seg[sreg].base + off, size, vm->vcpu.cpl == 3, v);
}

vfault vmem_wr_seg(struct vmm *vm, const struct vmm_regs *r, int sreg, uint32_t off, uint32_t v,
                  int size)
{
	vfault f = seg_check(r, sreg, off, size);
	return f ? f : vmem_wr_gva(vm, r->seg[sreg].base + off, v, size, vm->vcpu.cpl == 3);
}

/* }====================================================================== */
