/*
 * task.c - hardware task switches, emulated for the guest.
 *
 * The guest's TSSs and task gates never reach the real CPU: a far JMP or
 * CALL to a TSS or task gate traps (strict mode), an event through a task
 * gate comes to ev_deliver(), and IRET with the guest's NT set is
 * emulated. Each ends here, doing what the manual's task switch does
 * (SDM Vol. 3, 7.3), in the order engine/cpu/task.c does it:
 *
 *   1. read the whole new TSS (a fault here changes nothing),
 *   2. save the current registers into the old TSS (the guest's view of
 *      EFLAGS and of CS and SS),
 *   3. busy bits (old cleared by JMP and IRET, new set by JMP, CALL and
 *      events), the back link and NT for CALL and events,
 *   4. TR, CR0.TS, CR3 (32-bit TSS with paging), DR7's local enables, the
 *      registers, EFLAGS and the CPL of the new task,
 *   5. LDTR and the six segment registers, checked as Table 7-1 says: a
 *      fault from here on belongs to the new task.
 *
 * 32-bit TSS (limit >= 67h)            16-bit TSS (limit >= 2Bh)
 *   00 link      1C CR3     48 ES        00 link   0E IP      22 ES
 *   04 ESP0      20 EIP     4C CS        02 SP0    10 FLAGS   24 CS
 *   08 SS0       24 EFLAGS  50 SS        04 SS0    12 AX..    26 SS
 *   ...                     54 DS        ...       ..20 DI    28 DS
 *                28 EAX..   58 FS                             2A LDT
 *                ..44 EDI   5C GS
 *                           60 LDT
 */
#include "vmm_int.h"

#define TSS_LINK 0x00u
#define TSS32_CR3 0x1cu
#define TSS32_EIP 0x20u
#define TSS32_EFLAGS 0x24u
#define TSS32_EAX 0x28u
#define TSS32_ES 0x48u
#define TSS32_LDT 0x60u
#define TSS32_MIN_LIMIT 0x67u
#define TSS16_IP 0x0eu
#define TSS16_FLAGS 0x10u
#define TSS16_AX 0x12u
#define TSS16_ES 0x22u
#define TSS16_LDT 0x2au
#define TSS16_MIN_LIMIT 0x2bu
#define TSS16_REG_HIGH 0xffff0000u /* a 16-bit TSS's registers read with high halves of ones */
#define DESC_BUSY_BIT 2u           /* in the type field of a TSS descriptor */
#define DR7_LOCAL_ENABLES 0x155u

/* The state a TSS holds for its task (segments in VMM_ES.. order). */
struct image {
	uint32_t eip, eflags, cr3;
	uint32_t r[8];
	uint16_t sreg[VMM_NSEG];
	uint16_t ldt;
};

static bool is32(uint16_t attr)
{
	return (attr & 8) != 0;
}

static vfault rd(struct vmm *vm, uint32_t a, int sz, uint32_t *v)
{
	return vmem_rd_gva(vm, a, sz, false, v);
}

static vfault read_image(struct vmm *vm, uint32_t base, bool n32, struct image *t)
{
	uint32_t v;
	vfault f;
	*t = (struct image){ .cr3 = vm->vcpu.cr3 };
	if (n32) {
		if ((f = rd(vm, base + TSS32_CR3, 4, &t->cr3)) || (f = rd(vm, base + TSS32_EIP, 4, &t->eip)) ||
		    (f = rd(vm, base + TSS32_EFLAGS, 4, &t->eflags)))
			return f;
		for (uint32_t i = 0; i < 8; i++)
			if ((f = rd(vm, base + TSS32_EAX + 4 * i, 4, &t->r[i])))
				return f;
		for (uint32_t i = 0; i < VMM_NSEG; i++) {
			if ((f = rd(vm, base + TSS32_ES + 4 * i, 2, &v)))
				return f;
			t->sreg[i] = (uint16_t)v;
		}
		f = rd(vm, base + TSS32_LDT, 2, &v);
	} else {
		if ((f = rd(vm, base + TSS16_IP, 2, &t->eip)) || (f = rd(vm, base + TSS16_FLAGS, 2, &t->eflags)))
			return f;
		for (uint32_t i = 0; i < 8; i++) {
			if ((f = rd(vm, base + TSS16_AX + 2 * i, 2, &v)))
				return f;
			t->r[i] = TSS16_REG_HIGH | v;
		}
		for (uint32_t i = 0; i < 4; i++) {
			if ((f = rd(vm, base + TSS16_ES + 2 * i, 2, &v)))
				return f;
			t->sreg[i] = (uint16_t)v;
		}
		f = rd(vm, base + TSS16_LDT, 2, &v);
	}
	t->ldt = (uint16_t)v;
	return f;
}

/* The guest's selector of segment register `s` (CS and SS as it loaded them). */
static uint16_t guest_sel(const struct vmm *vm, const struct vmm_regs *regs, int s)
{
	if (ev_guest_flags(vm, regs->eflags) & EFLAGS_VM)
		return regs->seg[s].sel; /* v86 code loads its segments itself */
	if (s == VMM_CS)
		return vm->vcpu.cs_sel;
	if (s == VMM_SS)
		return vm->vcpu.ss_sel;
	return regs->seg[s].sel;
}

static vfault save_old(struct vmm *vm, const struct vmm_regs *regs, uint32_t eip, uint32_t fl)
{
	uint32_t base = vm->vcpu.tr.base;
	vfault f;
	if (is32(vm->vcpu.tr.attr)) {
		if ((f = vmem_wr_gva(vm, base + TSS32_EIP, eip, 4, false)) ||
		    (f = vmem_wr_gva(vm, base + TSS32_EFLAGS, fl, 4, false)))
			return f;
		for (uint32_t i = 0; i < 8; i++)
			if ((f = vmem_wr_gva(vm, base + TSS32_EAX + 4 * i, regs->r[i], 4, false)))
				return f;
		for (int i = 0; i < VMM_NSEG; i++)
			if ((f = vmem_wr_gva(vm, base + TSS32_ES + 4u * (uint32_t)i, guest_sel(vm, regs, i), 2, false)))
				return f;
		return 0;
	}
	if ((f = vmem_wr_gva(vm, base + TSS16_IP, eip, 2, false)) ||
	    (f = vmem_wr_gva(vm, base + TSS16_FLAGS, fl, 2, false)))
		return f;
	for (uint32_t i = 0; i < 8; i++)
		if ((f = vmem_wr_gva(vm, base + TSS16_AX + 2 * i, regs->r[i], 2, false)))
			return f;
	for (int i = 0; i < 4; i++)
		if ((f = vmem_wr_gva(vm, base + TSS16_ES + 2u * (uint32_t)i, guest_sel(vm, regs, i), 2, false)))
			return f;
	return 0;
}

/* Sets or clears the busy bit of TSS descriptor `sel` in the guest's GDT. */
static vfault set_busy(struct vmm *vm, uint16_t sel, bool busy)
{
	uint32_t a = vm->vcpu.gdtr.base + (sel & SEL_INDEX) + 5, b;
	vfault f = rd(vm, a, 1, &b);
	if (f)
		return f;
	b = busy ? b | DESC_BUSY_BIT : b & ~DESC_BUSY_BIT;
	return vmem_wr_gva(vm, a, b, 1, false);
}

/* {====== the new task's segments ====== */

static int dpl(uint16_t a)
{
	return (a & DESC_DPL) >> DESC_DPL_SHIFT;
}

static vfault load_ldt(struct vmm *vm, uint16_t sel)
{
	struct vmm_vcpu *v = &vm->vcpu;
	uint64_t d;
	if ((sel & 0xfffc) == 0) {
		v->ldtr = (struct vmm_seg){ .sel = sel };
	} else {
		if ((sel & SEL_TI) || vdesc_read(vm, sel, &d))
			return VF(X_TS, sel & 0xfffc);
		uint16_t a = vdesc_attr(d);
		if ((a & (DESC_S | DESC_TYPE)) != SYS_LDT || !(a & DESC_P))
			return VF(X_TS, sel & 0xfffc);
		vdesc_seg_from(&v->ldtr, sel, d);
	}
	vdesc_shadow_ldt(vm);
	return 0;
}

/* Loads segment register `s` with `sel` by the task-switch rules. */
static vfault load_seg(struct vmm *vm, struct vmm_regs *regs, int s, uint16_t sel)
{
	int cpl = vm->vcpu.cpl, rpl = sel & SEL_RPL;
	uint64_t d;
	if ((sel & 0xfffc) == 0) {
		if (s == VMM_CS || s == VMM_SS)
			return VF(X_TS, 0);
		return vdesc_load(vm, regs, s, sel);
	}
	if (vdesc_read(vm, sel, &d))
		return VF(X_TS, sel & 0xfffc);
	uint16_t a = vdesc_attr(d);
	bool code = (a & DESC_S) && (a & DESC_TYPE_CODE), conf = code && (a & DESC_TYPE_C);
	if (s == VMM_CS) {
		if (!code || (conf ? dpl(a) > rpl : dpl(a) != rpl))
			return VF(X_TS, sel & 0xfffc);
		if (!(a & DESC_P))
			return VF(X_NP, sel & 0xfffc);
		return vdesc_load_cs(vm, regs, sel, d, cpl);
	}
	if (s == VMM_SS) {
		bool wdata = (a & DESC_S) && !code && (a & DESC_TYPE_W);
		if (!wdata || dpl(a) != cpl || rpl != cpl)
			return VF(X_TS, sel & 0xfffc);
		if (!(a & DESC_P))
			return VF(X_SS, sel & 0xfffc);
		vdesc_load_ss_raw(vm, regs, sel, d);
		return 0;
	}
	if (!(a & DESC_S) || (code && !(a & DESC_TYPE_R)) || (!conf && (dpl(a) < cpl || dpl(a) < rpl)))
		return VF(X_TS, sel & 0xfffc);
	return vdesc_load(vm, regs, s, sel); /* #NP if not present */
}

static vfault load_segments(struct vmm *vm, struct vmm_regs *regs, const struct image *t)
{
	static const int order[] = { VMM_CS, VMM_SS, VMM_ES, VMM_DS, VMM_FS, VMM_GS };
	vfault f = load_ldt(vm, t->ldt);
	vdesc_set_view(vm, regs);
	for (int i = 0; !f && i < VMM_NSEG; i++)
		f = load_seg(vm, regs, order[i], t->sreg[order[i]]);
	return f;
}

/* }====================================================================== */

/* Makes the new task's registers the guest's (segments are loaded next). */
static void commit(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d, const struct image *t)
{
	struct vmm_vcpu *v = &vm->vcpu;
	vdesc_seg_from(&v->tr, sel, d | ((uint64_t)DESC_BUSY_BIT << 40));
	v->cr0 |= CR0_TS;
	regs->cr0 = emu_real_cr0(vm);
	regs->dirty |= VMM_DIRTY_CTL;
	v->dr[7] &= ~DR7_LOCAL_ENABLES;
	for (int i = 0; i < 8; i++)
		regs->r[i] = t->r[i];
	regs->eip = t->eip;
	/* Data segments are unusable until their descriptors are checked. */
	for (int s = 0; s < VMM_NSEG; s++) {
		if (s == VMM_CS || s == VMM_SS)
			continue;
		regs->seg[s] = (struct vmm_seg){ .sel = t->sreg[s] };
		regs->dirty |= VMM_DIRTY_SEG(s);
	}
	v->cpl = t->sreg[VMM_CS] & SEL_RPL;
	ev_set_guest_flags(vm, regs, t->eflags);
	if (is32(vdesc_attr(d)) && (v->cr0 & CR0_PG) && v->cr3 != t->cr3)
		v->cr3 = t->cr3 & 0xfffff018u;
	ev_cpl_changed(vm, regs); /* view and shadow root for the new CPL and CR3 */
}

vfault vtask_switch(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d,
                    enum vtask_reason why, uint32_t eip, int err)
{
	struct vmm_vcpu *v = &vm->vcpu;
	struct vmm_seg nt;
	vdesc_seg_from(&nt, sel, d);
	bool n32 = is32(nt.attr);
	if (!(nt.attr & DESC_P))
		return VF(X_NP, sel & 0xfffc);
	if (nt.limit < (n32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
		return VF(X_TS, sel & 0xfffc);
	struct image t;
	vfault f = read_image(vm, nt.base, n32, &t);
	if (f)
		return f;
	bool to_v86 = n32 && (t.eflags & EFLAGS_VM);
	uint32_t ofl = ev_guest_flags(vm, regs->eflags);
	if (why == VTASK_IRET)
		ofl &= ~EFLAGS_NT;
	if ((f = save_old(vm, regs, eip, ofl)))
		return f;
	if ((why == VTASK_JMP || why == VTASK_IRET) && (f = set_busy(vm, v->tr.sel, false)))
		return f;
	if (why == VTASK_CALL || why == VTASK_INT) {
		if ((f = vmem_wr_gva(vm, nt.base + TSS_LINK, v->tr.sel, 2, false)))
			return f;
		t.eflags |= EFLAGS_NT;
	}
	if (why != VTASK_IRET && (f = set_busy(vm, sel, true)))
		return f;
	commit(vm, regs, sel, d, &t);
	if (to_v86) {
		/* A virtual-8086 task: its segments are real-mode style, its CPL 3
		 * (SDM Vol. 3A, 7.3 step 12; 20.2.5); it runs as real v86 code,
		 * as after an IRETD to v86 (event.c). */
		if ((f = load_ldt(vm, t.ldt)))
			return f;
		for (int s = 0; s < VMM_NSEG; s++)
			ev_v86_seg(regs, s, t.sreg[s]);
		v->cs_sel = t.sreg[VMM_CS];
		v->ss_sel = t.sreg[VMM_SS];
		v->cpl = 3;
		regs->eip &= 0xffff;
		ev_cpl_changed(vm, regs);
	} else if ((f = load_segments(vm, regs, &t))) {
		return f;
	}
	if (err >= 0) {
		int sz = n32 ? 4 : 2;
		uint32_t sp = regs->r[VMM_ESP] - (uint32_t)sz;
		if ((f = vmem_wr_seg(vm, regs, VMM_SS, sp, (uint32_t)err, sz)))
			return f;
		regs->r[VMM_ESP] = sp;
	}
	if (regs->eip > regs->seg[VMM_CS].limit)
		return VF(X_GP, 0);
	return 0;
}

vfault vtask_gate(struct vmm *vm, struct vmm_regs *regs, uint64_t gate, enum vtask_reason why,
                  uint32_t eip, int err, int ext)
{
	uint16_t tsel = (uint16_t)((uint32_t)gate >> 16);
	uint64_t d;
	if ((tsel & SEL_TI) || vdesc_read(vm, tsel, &d))
		return VF(X_GP, (tsel & 0xfffc) | ext);
	uint16_t a = vdesc_attr(d) & (DESC_S | DESC_TYPE);
	if (a != SYS_TSS16_AVAIL && a != SYS_TSS32_AVAIL)
		return VF(X_GP, (tsel & 0xfffc) | ext);
	if (!(vdesc_attr(d) & DESC_P))
		return VF(X_NP, (tsel & 0xfffc) | ext);
	return vtask_switch(vm, regs, tsel, d, why, eip, err);
}

vfault vtask_iret(struct vmm *vm, struct vmm_regs *regs, uint32_t eip)
{
	uint32_t link;
	uint64_t d;
	vfault f = rd(vm, vm->vcpu.tr.base + TSS_LINK, 2, &link);
	if (f)
		return f;
	uint16_t sel = (uint16_t)link;
	if ((sel & SEL_TI) || vdesc_read(vm, sel, &d))
		return VF(X_TS, sel & 0xfffc);
	uint16_t a = vdesc_attr(d) & (DESC_S | DESC_TYPE);
	if (a != SYS_TSS16_BUSY && a != SYS_TSS32_BUSY)
		return VF(X_TS, sel & 0xfffc);
	if (!(vdesc_attr(d) & DESC_P))
		return VF(X_NP, sel & 0xfffc);
	return vtask_switch(vm, regs, sel, d, VTASK_IRET, eip, -1);
}
