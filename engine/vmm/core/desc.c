/*
 * desc.c - shadow descriptor tables and the segment loads the monitor does.
 *
 * The real CPU loads DS, ES, FS and GS itself, from shadow tables the
 * monitor keeps in its own pages (addressed physically in guest mode).
 * There are two of each table: the kernel view (guest CPL 0-2), where a
 * guest code or data descriptor appears with its DPL compressed to 3 so
 * the guest kernel, running at real CPL 3, can use it; and the user view
 * (guest CPL 3), where descriptors the guest's user code may not load are
 * absent. System descriptors are never present: LTR, LLDT, gates and task
 * switches are emulated from the guest's own tables.
 *
 * Shadow entries start not present and are filled on first use: the real
 * CPU raises #NP(sel), vdesc_fault() checks the load against the guest's
 * own descriptor, sets its accessed bit as the hardware would, fills the
 * entry and the instruction is retried.
 */
#include "vmm_int.h"

#define DT_PAGES 16 /* 64 KiB: the largest GDT or LDT */

static void track(struct vmm *vm, int t, uint32_t index, uint32_t gva);

uint16_t vdesc_attr(uint64_t d)
{
	return (uint16_t)(((uint32_t)(d >> 32) >> 8) & 0xf0ff);
}

static int dpl_of(uint64_t d)
{
	return (vdesc_attr(d) & DESC_DPL) >> DESC_DPL_SHIFT;
}

void vdesc_seg_from(struct vmm_seg *s, uint16_t sel, uint64_t d)
{
	uint32_t lo = (uint32_t)d, hi = (uint32_t)(d >> 32);
	uint32_t lim = (lo & 0xffff) | (hi & 0xf0000);
	s->sel = sel;
	s->attr = vdesc_attr(d);
	s->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
	s->limit = (s->attr & DESC_G) ? (lim << 12) | 0xfff : lim;
}

/* {====== the guest's tables ====== */

static vfault table_addr(struct vmm *vm, uint16_t sel, uint32_t *gva)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	bool ldt = (sel & SEL_TI) != 0;
	uint32_t base = ldt ? v->ldtr.base : v->gdtr.base;
	uint32_t limit = ldt ? v->ldtr.limit : v->gdtr.limit;
	if ((ldt && (v->ldtr.sel & 0xfffc) == 0) || (uint32_t)(sel & SEL_INDEX) + 7 > limit)
		return VF(X_GP, sel & 0xfffc);
	*gva = base + (sel & SEL_INDEX);
	return 0;
}

vfault vdesc_read(struct vmm *vm, uint16_t sel, uint64_t *d)
{
	uint32_t a, lo, hi;
	vfault f = table_addr(vm, sel, &a);
	if (!f)
		f = vmem_rd_gva(vm, a, 4, false, &lo);
	if (!f)
		f = vmem_rd_gva(vm, a + 4, 4, false, &hi);
	if (!f)
		*d = ((uint64_t)hi << 32) | lo;
	return f;
}

/* The hardware sets a segment descriptor's accessed bit when it loads it. */
static void set_accessed(struct vmm *vm, uint16_t sel, uint64_t *d)
{
	uint32_t a;
	if (!(vdesc_attr(*d) & DESC_S) || (*d & (1ull << 40)) || table_addr(vm, sel, &a))
		return;
	*d |= 1ull << 40;
	vmem_wr_gva(vm, a + 4, (uint32_t)(*d >> 32), 4, false);
}

/* }====================================================================== */

/* {====== the shadow tables ====== */

static bool alloc_tables(struct vmm *vm, uint32_t *k, uint32_t *u)
{
	if (!*k)
		*k = vmem_pages_alloc(vm, DT_PAGES);
	if (!*u)
		*u = vmem_pages_alloc(vm, DT_PAGES);
	return *k && *u;
}

static void clear_tables(struct vmm *vm, uint32_t k, uint32_t u)
{
	for (uint32_t i = 0; i < DT_PAGES; i++) {
		vmem_zero_page(vm, k + i * PAGE);
		vmem_zero_page(vm, u + i * PAGE);
	}
}

void vdesc_shadow_gdt(struct vmm *vm)
{
	for (uint32_t i = 0; i < 8192; i++)
		vm->dt_gpa[0][i] = 0;
	vm->dt_top[0] = 0;
	if (!alloc_tables(vm, &vm->gdt_k, &vm->gdt_u)) {
		vm->stop_why = "the monitor ran out of pages for shadow descriptor tables";
		return;
	}
	clear_tables(vm, vm->gdt_k, vm->gdt_u);
	vdesc_install_resv(vm);
}

void vdesc_install_resv(struct vmm *vm)
{
	if (!vm->resv.base)
		return;
	for (uint32_t i = 0; i < VMM_RESV_GDT_SLOTS; i++) {
		uint32_t off = (vm->resv.gdt_first + i) * 8;
		vm->ops->write(vm->ops->opaque, vm->gdt_k + off, &vm->resv.desc[i], 8);
		vm->ops->write(vm->ops->opaque, vm->gdt_u + off, &vm->resv.desc[i], 8);
	}
}

static bool resv_sel(const struct vmm *vm, uint16_t sel)
{
	uint32_t i = (uint32_t)(sel >> 3);
	return vm->resv.base && !(sel & SEL_TI) && i >= vm->resv.gdt_first &&
	       i < vm->resv.gdt_first + (uint32_t)VMM_RESV_GDT_SLOTS;
}

static vfault resv_stop(struct vmm *vm, uint16_t sel)
{
	vm->stop_why = "the guest loads a selector of a GDT entry its monitor reserves for "
	               "itself (a monitor under this one needs entries of its own: tinyvmm's slot=)";
	return VF(X_GP, sel & 0xfffc);
}

void vdesc_shadow_ldt(struct vmm *vm)
{
	for (uint32_t i = 0; i < 8192; i++)
		vm->dt_gpa[1][i] = 0;
	vm->dt_top[1] = 0;
	if (!alloc_tables(vm, &vm->ldt_k, &vm->ldt_u))
		vm->stop_why = "the monitor ran out of pages for shadow descriptor tables";
	else
		clear_tables(vm, vm->ldt_k, vm->ldt_u);
}

void vdesc_set_view(struct vmm *vm, struct vmm_regs *regs)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	bool user = v->cpl == 3;
	regs->gdtr.base = user ? vm->gdt_u : vm->gdt_k;
	/* With reserved entries the limit covers them; a guest selector past
	 * the guest's own limit finds an empty shadow entry and gets the #GP
	 * the guest's table gives (vdesc_fault). */
	regs->gdtr.limit = vm->resv.base ? 0xffff : v->gdtr.limit;
	regs->ldtr = v->ldtr;
	regs->ldtr.base = user ? vm->ldt_u : vm->ldt_k;
	regs->dirty |= VMM_DIRTY_CTL;
}

/* The shadow of guest descriptor `d`: DPL 3, accessed (so the real CPU
 * never writes the shadow). */
static uint64_t shadow_of(uint64_t d)
{
	return d | (3ull << 45) | (1ull << 40);
}

bool vdesc_unfilled(struct vmm *vm, uint16_t sel)
{
	bool ldt = (sel & SEL_TI) != 0, user = vm->vcpu.cpl == 3;
	uint32_t t = ldt ? (user ? vm->ldt_u : vm->ldt_k) : (user ? vm->gdt_u : vm->gdt_k);
	uint64_t d = 0;
	if ((sel & 0xfffc) == 0)
		return false;
	vm->ops->read(vm->ops->opaque, t + (sel & SEL_INDEX), &d, 8);
	return d == 0;
}

vfault vdesc_fault(struct vmm *vm, uint16_t sel, int vec)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	uint64_t d;
	if ((sel & 0xfffc) == 0)
		return VF(vec, sel);
	if (resv_sel(vm, sel))
		return resv_stop(vm, sel);
	vfault f = vdesc_read(vm, sel, &d);
	if (f)
		return f;
	int rpl = sel & SEL_RPL, dpl = dpl_of(d);
	int need = rpl > v->cpl ? rpl : v->cpl;
	bool code = (vdesc_attr(d) & DESC_TYPE_CODE) != 0;
	bool conforming = code && (vdesc_attr(d) & DESC_TYPE_C);
	if (!(vdesc_attr(d) & DESC_S) || (code && !(vdesc_attr(d) & DESC_TYPE_R)))
		return VF(X_GP, sel & 0xfffc);
	if (!conforming && dpl < need)
		return VF(X_GP, sel & 0xfffc);
	if (!(vdesc_attr(d) & DESC_P))
		return VF(vec, sel & 0xfffc);
	set_accessed(vm, sel, &d);
	bool ldt = (sel & SEL_TI) != 0;
	uint32_t k = ldt ? vm->ldt_k : vm->gdt_k, u = ldt ? vm->ldt_u : vm->gdt_u;
	uint64_t s = shadow_of(d);
	uint32_t off = sel & SEL_INDEX, gva = 0;
	if (!table_addr(vm, sel, &gva))
		track(vm, ldt, off / 8, gva);
	vm->ops->write(vm->ops->opaque, (v->cpl == 3 ? u : k) + off, &s, 8);
	return 0;
}

/* The descriptor whose load gives cache `s` (the inverse of vdesc_seg_from). */
static uint64_t desc_of(const struct vmm_seg *s)
{
	uint32_t lim = (s->attr & DESC_G) ? s->limit >> 12 : s->limit;
	uint32_t lo = (lim & 0xffff) | (s->base << 16);
	uint32_t hi = ((s->base >> 16) & 0xff) | (s->base & 0xff000000u) | (lim & 0xf0000u) |
	              ((uint32_t)(s->attr & 0xf0ff) << 8);
	return ((uint64_t)hi << 32) | lo;
}

void vdesc_install_segments(struct vmm *vm, const struct vmm_regs *regs)
{
	if (regs->eflags & EFLAGS_VM)
		return; /* v86 segments are not loaded from tables */
	for (int s = 0; s < VMM_NSEG; s++) {
		const struct vmm_seg *sg = &regs->seg[s];
		if ((sg->sel & 0xfffc) == 0 || resv_sel(vm, sg->sel))
			continue;
		bool ldt = (sg->sel & SEL_TI) != 0, user = vm->vcpu.cpl == 3;
		uint32_t t = ldt ? (user ? vm->ldt_u : vm->ldt_k) : (user ? vm->gdt_u : vm->gdt_k);
		uint32_t off = sg->sel & SEL_INDEX;
		uint64_t want = desc_of(sg) | (1ull << 40), have = 0;
		vm->ops->read(vm->ops->opaque, t + off, &have, 8);
		if (have == want)
			continue;
		/* Not a copy of the guest's table but of a cache: it lives until
		 * the next trap (vdesc_uninstall), so a write to the guest's
		 * table in between is not seen by a native reload of the selector
		 * until then (docs/monitor.md, section 8). */
		vm->ops->write(vm->ops->opaque, t + off, &want, 8);
		vm->installed[s] = t + off;
	}
}

void vdesc_uninstall(struct vmm *vm)
{
	static const uint64_t none = 0;
	for (int s = 0; s < VMM_NSEG; s++) {
		if (vm->installed[s])
			vm->ops->write(vm->ops->opaque, vm->installed[s], &none, 8);
		vm->installed[s] = 0;
	}
}

/* }====================================================================== */

/* {====== guest writes to its descriptor tables ====== */

bool vdesc_is_dt_frame(const struct vmm *vm, uint32_t gpa)
{
	uint32_t f = gpa >> 12;
	return (vm->dt_map[f >> 3] >> (f & 7)) & 1;
}

/* Notes that shadow entry `index` of table `t` (0 GDT, 1 LDT) copies the
 * descriptor at guest-virtual `gva`, and write-protects its frame(s). */
static void track(struct vmm *vm, int t, uint32_t index, uint32_t gva)
{
	uint32_t gpa[2];
	for (int k = 0; k < 2; k++) {
		if (vmem_walk(vm, gva + (k ? 7u : 0u), VACC_READ, false, &gpa[k])) {
			vm->dt_gpa[t][index] = 0;
			return;
		}
		uint32_t f = gpa[k] >> 12;
		if (!vdesc_is_dt_frame(vm, gpa[k])) {
			vm->dt_map[f >> 3] |= (uint8_t)(1u << (f & 7));
			spt_write_protect(vm, gpa[k]);
		}
	}
	vm->dt_gpa[t][index] = gpa[0] | 1;
	if (index >= vm->dt_top[t])
		vm->dt_top[t] = (uint16_t)(index + 1);
}

void vdesc_guest_wrote(struct vmm *vm, uint32_t gpa, int size)
{
	static const uint64_t none = 0;
	for (int t = 0; t < 2; t++) {
		uint32_t k = t ? vm->ldt_k : vm->gdt_k, u = t ? vm->ldt_u : vm->gdt_u;
		for (uint32_t i = 0; i < vm->dt_top[t]; i++) {
			uint32_t at = vm->dt_gpa[t][i] & ~1u;
			if (!vm->dt_gpa[t][i] || at + 8 <= gpa || gpa + (uint32_t)size <= at)
				continue;
			vm->ops->write(vm->ops->opaque, k + i * 8, &none, 8);
			vm->ops->write(vm->ops->opaque, u + i * 8, &none, 8);
			vm->dt_gpa[t][i] = 0;
		}
	}
}

void vdesc_release_frame(struct vmm *vm, uint32_t gpa)
{
	uint32_t f = gpa >> 12;
	vdesc_guest_wrote(vm, gpa & PAGE_MASK, PAGE);
	vm->dt_map[f >> 3] &= (uint8_t)~(1u << (f & 7));
	if (vm->paging == VMM_NESTED && !spt_is_pt_frame(vm, gpa))
		npt_set_writable(vm, gpa, true);
}

/* }====================================================================== */

/* {====== loads the monitor does ====== */

static void load_real(struct vmm_regs *regs, int sreg, uint16_t sel, uint64_t d)
{
	vdesc_seg_from(&regs->seg[sreg], sel, shadow_of(d));
	regs->dirty |= VMM_DIRTY_SEG(sreg);
}

vfault vdesc_load_cs(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d, int cpl)
{
	if (resv_sel(vm, sel))
		return resv_stop(vm, sel);
	if (!(vdesc_attr(d) & DESC_P))
		return VF(X_NP, sel & 0xfffc);
	set_accessed(vm, sel, &d);
	vm->vcpu.cs_sel = (uint16_t)((sel & 0xfffc) | cpl);
	load_real(regs, VMM_CS, (uint16_t)((sel & 0xfffc) | 3), d);
	return 0;
}

void vdesc_load_ss_raw(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d)
{
	set_accessed(vm, sel, &d);
	vm->vcpu.ss_sel = sel;
	load_real(regs, VMM_SS, (uint16_t)((sel & 0xfffc) | 3), d);
}

/* MOV/POP to SS, or to a data segment register (LDS and friends). */
vfault vdesc_load(struct vmm *vm, struct vmm_regs *regs, int sreg, uint16_t sel)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	uint64_t d = 0;
	if ((sel & 0xfffc) == 0) {
		if (sreg == VMM_SS)
			return VF(X_GP, 0);
		regs->seg[sreg] = (struct vmm_seg){ .sel = sel };
		regs->dirty |= VMM_DIRTY_SEG(sreg);
		return 0;
	}
	vfault f = vdesc_read(vm, sel, &d);
	if (f)
		return f;
	uint16_t a = vdesc_attr(d);
	int dpl = dpl_of(d), rpl = sel & SEL_RPL;
	if (sreg == VMM_SS) {
		bool wdata = (a & DESC_S) && !(a & DESC_TYPE_CODE) && (a & DESC_TYPE_W);
		if (rpl != v->cpl || dpl != v->cpl || !wdata)
			return VF(X_GP, sel & 0xfffc);
		if (!(a & DESC_P))
			return VF(X_SS, sel & 0xfffc);
		vdesc_load_ss_raw(vm, regs, sel, d);
		return 0;
	}
	f = vdesc_fault(vm, sel, X_NP);
	if (f)
		return f;
	vdesc_read(vm, sel, &d);
	load_real(regs, sreg, sel, d);
	return 0;
}

/* }====================================================================== */
