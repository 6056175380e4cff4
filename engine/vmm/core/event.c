/*
 * event.c - delivering exceptions and interrupts into the guest through
 * its own IDT, and IRET.
 *
 * The real CPU never reads the guest's IDT or TSS: every event goes to the
 * monitor, which does here what the hardware would do at the guest's
 * privilege: find the gate, switch to the stack the guest's TSS names when
 * the privilege rises, push the frame (with the guest's own view of
 * EFLAGS, CS and SS), clear IF for interrupt gates, and load CS:EIP.
 */
#include "vmm_int.h"

#define GATE_TASK 5
#define GATE_INT16 6
#define GATE_TRAP16 7
#define GATE_INT32 14
#define GATE_TRAP32 15
#define TSS32_ESP0 4
#define EV_DELIVERY_CYCLES 40 /* the CPU's cycle model (docs/cpu.md) */
#define EV_PF_CYCLES 20

/* {====== the guest's EFLAGS ====== */

/* Real EFLAGS carries the guest's IF; IOPL is the guest's only virtually. */
uint32_t ev_guest_flags(const struct vmm *vm, uint32_t real)
{
	return (real & ~EFLAGS_IOPL) | (vm->vcpu.vflags & EFLAGS_IOPL);
}

void ev_set_guest_flags(struct vmm *vm, struct vmm_regs *regs, uint32_t f)
{
	vm->vcpu.vflags = f & EFLAGS_IOPL;
	regs->eflags = (f & ~EFLAGS_IOPL) | EFLAGS_1; /* VM is real: v86 code runs as v86 code */
}

void ev_v86_seg(struct vmm_regs *regs, int s, uint16_t sel)
{
	regs->seg[s] = (struct vmm_seg){ sel, VMM_V86_SEG_ATTR, (uint32_t)sel << 4, 0xffff };
	regs->dirty |= VMM_DIRTY_SEG(s);
}

void ev_cpl_changed(struct vmm *vm, struct vmm_regs *regs)
{
	vdesc_set_view(vm, regs);
	spt_switch(vm, regs);
	regs->vcpl = vm->vcpu.cpl;
}

/* }====================================================================== */

/* {====== delivery ====== */

static bool has_error_code(int vec)
{
	return vec == X_DF || (vec >= X_TS && vec <= X_PF) || vec == 17;
}

/* A stack being built: pushes are checked and written in order. */
struct frame {
	uint32_t base, esp;
	bool user;
};

static vfault push(struct vmm *vm, struct frame *fr, uint32_t v)
{
	fr->esp -= 4;
	return vmem_wr_gva(vm, fr->base + fr->esp, v, 4, fr->user);
}

/* The inner stack for privilege `cpl` from the guest's TSS. */
vfault ev_inner_stack(struct vmm *vm, int cpl, uint16_t *ss, uint64_t *ssd, uint32_t *esp,
                      int ext)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	uint32_t off = TSS32_ESP0 + (uint32_t)cpl * 8, sel;
	if (off + 5 > (uint32_t)v->tr.limit)
		return VF(X_TS, (v->tr.sel & 0xfffc) | ext);
	vfault f = vmem_rd_gva(vm, v->tr.base + off, 4, false, esp);
	if (!f)
		f = vmem_rd_gva(vm, v->tr.base + off + 4, 2, false, &sel);
	if (f)
		return f;
	*ss = (uint16_t)sel;
	if ((sel & 0xfffc) == 0)
		return VF(X_TS, ext);
	if (vdesc_read(vm, *ss, ssd))
		return VF(X_TS, (sel & 0xfffc) | ext);
	uint16_t a = vdesc_attr(*ssd);
	int dpl = (a & DESC_DPL) >> DESC_DPL_SHIFT;
	bool wdata = (a & DESC_S) && !(a & DESC_TYPE_CODE) && (a & DESC_TYPE_W);
	if ((int)(sel & SEL_RPL) != cpl || dpl != cpl || !wdata)
		return VF(X_TS, (sel & 0xfffc) | ext);
	if (!(a & DESC_P))
		return VF(X_SS, (sel & 0xfffc) | ext);
	return 0;
}

static vfault deliver_once(struct vmm *vm, struct vmm_regs *regs, int vec, int err, bool soft,
                           bool ext)
{
	struct vmm_vcpu *v = &vm->vcpu;
	int e = ext ? 1 : 0;
	uint32_t lo, hi;
	if (!(v->cr0 & CR0_PE)) {
		vm->stop_why = "the guest took an interrupt in real mode, which the monitor does not emulate";
		return 0;
	}
	if ((uint32_t)vec * 8 + 7 > v->idtr.limit)
		return VF(X_GP, vec * 8 + 2 + e);
	vfault f = vmem_rd_gva(vm, v->idtr.base + (uint32_t)vec * 8, 4, false, &lo);
	if (!f)
		f = vmem_rd_gva(vm, v->idtr.base + (uint32_t)vec * 8 + 4, 4, false, &hi);
	if (f)
		return f;
	int type = (hi >> 8) & 0x1f, gdpl = (hi >> 13) & 3;
	if (type != GATE_INT32 && type != GATE_TRAP32 && type != GATE_TASK &&
	    type != GATE_INT16 && type != GATE_TRAP16)
		return VF(X_GP, vec * 8 + 2 + e);
	if (soft && gdpl < v->cpl)
		return VF(X_GP, vec * 8 + 2);
	if (!(hi & (1u << 15)))
		return VF(X_NP, vec * 8 + 2 + e);
	if (type == GATE_TASK)
		return vtask_gate(vm, regs, ((uint64_t)hi << 32) | lo, VTASK_INT, regs->eip,
		                  has_error_code(vec) && err >= 0 && !soft ? err : -1, e);
	if (type != GATE_INT32 && type != GATE_TRAP32) {
		vm->stop_why = "the guest's IDT has a 16-bit gate, which the monitor does not emulate";
		return 0;
	}
	uint16_t csel = (uint16_t)(lo >> 16);
	uint32_t target = (hi & 0xffff0000u) | (lo & 0xffff);
	uint64_t cd;
	if ((csel & 0xfffc) == 0)
		return VF(X_GP, e);
	if (vdesc_read(vm, csel, &cd))
		return VF(X_GP, (csel & 0xfffc) | e);
	uint16_t ca = vdesc_attr(cd);
	int cdpl = (ca & DESC_DPL) >> DESC_DPL_SHIFT;
	if (!(ca & DESC_S) || !(ca & DESC_TYPE_CODE) || cdpl > v->cpl)
		return VF(X_GP, (csel & 0xfffc) | e);
	if (!(ca & DESC_P))
		return VF(X_NP, (csel & 0xfffc) | e);
	int ncpl = (ca & DESC_TYPE_C) ? v->cpl : cdpl;
	uint32_t gflags = ev_guest_flags(vm, regs->eflags);
	bool v86 = (gflags & EFLAGS_VM) != 0;
	/* From v86 mode only to a non-conforming ring-0 handler. */
	if (v86 && ((ca & DESC_TYPE_C) || cdpl != 0))
		return VF(X_GP, (csel & 0xfffc) | e);
	uint16_t ocs = v86 ? regs->seg[VMM_CS].sel : v->cs_sel;
	uint16_t oss = v86 ? regs->seg[VMM_SS].sel : v->ss_sel;
	struct frame fr = { regs->seg[VMM_SS].base, regs->r[VMM_ESP], v->cpl == 3 };
	uint16_t nss = 0;
	uint64_t ssd = 0;
	if (ncpl < v->cpl) {
		uint32_t nesp;
		f = ev_inner_stack(vm, ncpl, &nss, &ssd, &nesp, e);
		if (f)
			return f;
		struct vmm_seg s;
		vdesc_seg_from(&s, nss, ssd);
		fr = (struct frame){ s.base, nesp, false };
		static const int v86_saved[] = { VMM_GS, VMM_FS, VMM_DS, VMM_ES };
		for (int i = 0; v86 && i < 4; i++)
			if ((f = push(vm, &fr, regs->seg[v86_saved[i]].sel)))
				return f;
		if ((f = push(vm, &fr, oss)) || (f = push(vm, &fr, regs->r[VMM_ESP])))
			return f;
	}
	if ((f = push(vm, &fr, gflags)) || (f = push(vm, &fr, ocs)) ||
	    (f = push(vm, &fr, regs->eip)))
		return f;
	if (has_error_code(vec) && err >= 0 && !soft && (f = push(vm, &fr, (uint32_t)err)))
		return f;
	/* Committed: nothing below faults. */
	int old = v->cpl;
	if (ncpl < old)
		vdesc_load_ss_raw(vm, regs, nss, ssd);
	v->cpl = (uint8_t)ncpl;
	for (int s = 0; v86 && s < VMM_NSEG; s++) {
		if (s == VMM_CS || s == VMM_SS)
			continue;
		regs->seg[s] = (struct vmm_seg){ .sel = 0 }; /* the handler gets null data segments */
		regs->dirty |= VMM_DIRTY_SEG(s);
	}
	vdesc_load_cs(vm, regs, csel, cd, ncpl);
	regs->r[VMM_ESP] = fr.esp;
	regs->eip = target;
	gflags &= ~(EFLAGS_TF | EFLAGS_NT | EFLAGS_RF | EFLAGS_VM);
	if (type == GATE_INT32)
		gflags &= ~EFLAGS_IF;
	ev_set_guest_flags(vm, regs, gflags);
	if (ncpl != old)
		ev_cpl_changed(vm, regs);
	return 0;
}

vfault ev_int(struct vmm *vm, struct vmm_regs *regs, int vec)
{
	return deliver_once(vm, regs, vec, -1, true, false);
}

enum klass { BENIGN, CONTRIBUTORY, PAGEFAULT, DOUBLE };

static enum klass klass(int vec)
{
	if (vec == X_DE || (vec >= X_TS && vec <= X_GP))
		return CONTRIBUTORY;
	return vec == X_PF ? PAGEFAULT : vec == X_DF ? DOUBLE : BENIGN;
}

void ev_deliver(struct vmm *vm, struct vmm_regs *regs, int vec, int err, bool soft, bool ext)
{
	for (int depth = 0; depth < 3; depth++) {
		if (vec == X_PF && !soft)
			vm->vcpu.cr2 = vm->fault_cr2;
		vfault f = deliver_once(vm, regs, vec, err, soft, ext);
		if (!f)
			return;
		int second = VF_VEC(f);
		enum klass a = klass(vec), b = klass(second);
		/* As the CPU charges them: a #PF raised in the delivery, and the
		 * next delivery attempt. */
		if (second == X_PF)
			vm->ev_cycles += EV_PF_CYCLES;
		if (a == DOUBLE)
			break;
		vm->ev_cycles += EV_DELIVERY_CYCLES;
		if ((a == CONTRIBUTORY && b == CONTRIBUTORY) ||
		    (a == PAGEFAULT && (b == CONTRIBUTORY || b == PAGEFAULT))) {
			vec = X_DF;
			err = 0;
		} else {
			vec = second;
			err = VF_ERR(f);
		}
		soft = false;
		ext = true;
	}
	vm->stop_why = "triple fault in the guest";
}

/* }====================================================================== */

/* {====== IRET ====== */

static vfault pop(struct vmm *vm, const struct vmm_regs *regs, uint32_t *sp, int sz, uint32_t *v)
{
	vfault f = vmem_rd_seg(vm, regs, VMM_SS, *sp, sz, v);
	*sp += (uint32_t)sz;
	return f;
}

/* After a return to an outer level, data segments the new level may not
 * use become null (by the guest's own descriptors). */
void ev_null_inner_segments(struct vmm *vm, struct vmm_regs *regs)
{
	static const int data[] = { VMM_ES, VMM_DS, VMM_FS, VMM_GS };
	for (int i = 0; i < 4; i++) {
		struct vmm_seg *s = &regs->seg[data[i]];
		uint64_t d;
		if ((s->sel & 0xfffc) == 0 || vdesc_read(vm, s->sel, &d))
			continue;
		uint16_t a = vdesc_attr(d);
		int dpl = (a & DESC_DPL) >> DESC_DPL_SHIFT;
		bool conf = (a & DESC_TYPE_CODE) && (a & DESC_TYPE_C);
		if (!conf && dpl < vm->vcpu.cpl) {
			s->sel = 0; /* as the CPU does: base and limit stay, P goes */
			s->attr &= (uint16_t)~DESC_P;
			regs->dirty |= VMM_DIRTY_SEG(data[i]);
		}
	}
}

/* IRET in v86 mode (the caller checked IOPL 3): as in real mode, with
 * IOPL and VM kept. */
static vfault iret_in_v86(struct vmm *vm, struct vmm_regs *regs, bool o32)
{
	int sz = o32 ? 4 : 2;
	uint32_t sp = regs->r[VMM_ESP] & 0xffff, eip, cs, fl;
	vfault f;
	if ((f = pop(vm, regs, &sp, sz, &eip)) || (f = pop(vm, regs, &sp, sz, &cs)) ||
	    (f = pop(vm, regs, &sp, sz, &fl)))
		return f;
	if (eip > 0xffff)
		return VF(X_GP, 0);
	uint32_t mask = EFLAGS_ARITH | EFLAGS_TF | EFLAGS_DF | EFLAGS_IF | EFLAGS_NT | EFLAGS_RF |
	                EFLAGS_AC | EFLAGS_ID;
	if (!o32)
		mask &= 0xffff;
	uint32_t gflags = ev_guest_flags(vm, regs->eflags);
	ev_v86_seg(regs, VMM_CS, (uint16_t)cs);
	vm->vcpu.cs_sel = (uint16_t)cs;
	regs->eip = eip;
	regs->r[VMM_ESP] = (regs->r[VMM_ESP] & 0xffff0000u) | (sp & 0xffff);
	ev_set_guest_flags(vm, regs, (gflags & ~mask) | (fl & mask));
	return 0;
}

/* IRETD at CPL 0 with VM set in the popped EFLAGS: into v86 mode, with
 * ESP, SS, ES, DS, FS and GS from the stack too. */
static vfault iret_to_v86(struct vmm *vm, struct vmm_regs *regs, uint32_t sp, uint32_t eip,
                          uint32_t cs, uint32_t fl)
{
	static const int order[] = { VMM_SS, VMM_ES, VMM_DS, VMM_FS, VMM_GS };
	uint32_t esp, sel[5];
	vfault f = pop(vm, regs, &sp, 4, &esp);
	for (int i = 0; !f && i < 5; i++)
		f = pop(vm, regs, &sp, 4, &sel[i]);
	if (f)
		return f;
	for (int i = 0; i < 5; i++)
		ev_v86_seg(regs, order[i], (uint16_t)sel[i]);
	ev_v86_seg(regs, VMM_CS, (uint16_t)cs);
	vm->vcpu.cs_sel = (uint16_t)cs;
	vm->vcpu.ss_sel = (uint16_t)sel[0];
	regs->eip = eip & 0xffff;
	regs->r[VMM_ESP] = esp;
	vm->vcpu.cpl = 3;
	ev_set_guest_flags(vm, regs, (fl & ~(EFLAGS_RF)) | EFLAGS_VM);
	ev_cpl_changed(vm, regs);
	return 0;
}

vfault ev_iret(struct vmm *vm, struct vmm_regs *regs, bool o32)
{
	struct vmm_vcpu *v = &vm->vcpu;
	uint32_t gflags = ev_guest_flags(vm, regs->eflags);
	if (gflags & EFLAGS_VM)
		return iret_in_v86(vm, regs, o32);
	int sz = o32 ? 4 : 2;
	uint32_t sp = regs->r[VMM_ESP], eip, cs, fl, esp = 0, ss = 0;
	vfault f;
	if ((f = pop(vm, regs, &sp, sz, &eip)) || (f = pop(vm, regs, &sp, sz, &cs)) ||
	    (f = pop(vm, regs, &sp, sz, &fl)))
		return f;
	if ((fl & EFLAGS_VM) && o32 && v->cpl == 0)
		return iret_to_v86(vm, regs, sp, eip, cs, fl);
	uint16_t csel = (uint16_t)cs;
	int rpl = csel & SEL_RPL;
	uint64_t cd, ssd = 0;
	if ((csel & 0xfffc) == 0)
		return VF(X_GP, 0);
	if (vdesc_read(vm, csel, &cd))
		return VF(X_GP, csel & 0xfffc);
	uint16_t ca = vdesc_attr(cd);
	int dpl = (ca & DESC_DPL) >> DESC_DPL_SHIFT;
	bool conf = (ca & DESC_TYPE_C) != 0;
	if (rpl < v->cpl || !(ca & DESC_S) || !(ca & DESC_TYPE_CODE) ||
	    (conf ? dpl > rpl : dpl != rpl))
		return VF(X_GP, csel & 0xfffc);
	if (!(ca & DESC_P))
		return VF(X_NP, csel & 0xfffc);
	if (rpl > v->cpl) {
		if ((f = pop(vm, regs, &sp, sz, &esp)) || (f = pop(vm, regs, &sp, sz, &ss)))
			return f;
		uint16_t ssel = (uint16_t)ss;
		if ((ssel & 0xfffc) == 0)
			return VF(X_GP, 0);
		if (vdesc_read(vm, ssel, &ssd))
			return VF(X_GP, ssel & 0xfffc);
		uint16_t sa = vdesc_attr(ssd);
		int sdpl = (sa & DESC_DPL) >> DESC_DPL_SHIFT;
		bool wdata = (sa & DESC_S) && !(sa & DESC_TYPE_CODE) && (sa & DESC_TYPE_W);
		if ((ssel & SEL_RPL) != rpl || sdpl != rpl || !wdata)
			return VF(X_GP, ssel & 0xfffc);
		if (!(sa & DESC_P))
			return VF(X_SS, ssel & 0xfffc);
	}
	/* The bits IRET may change: IOPL at CPL 0, IF at CPL <= IOPL. */
	uint32_t mask = EFLAGS_ARITH | EFLAGS_TF | EFLAGS_DF | EFLAGS_NT | EFLAGS_IF | EFLAGS_IOPL |
	                EFLAGS_RF | EFLAGS_AC | EFLAGS_ID;
	if (v->cpl > 0)
		mask &= ~EFLAGS_IOPL;
	if (v->cpl > (int)((gflags & EFLAGS_IOPL) >> EFLAGS_IOPL_SHIFT))
		mask &= ~EFLAGS_IF;
	if (!o32)
		mask &= 0xffff;
	gflags = (gflags & ~mask) | (fl & mask);
	int old = v->cpl;
	vdesc_load_cs(vm, regs, csel, cd, rpl);
	regs->eip = o32 ? eip : eip & 0xffff;
	if (rpl > old) {
		vdesc_load_ss_raw(vm, regs, (uint16_t)ss, ssd);
		regs->r[VMM_ESP] = o32 ? esp : (regs->r[VMM_ESP] & 0xffff0000u) | (esp & 0xffff);
	} else {
		regs->r[VMM_ESP] = sp;
	}
	v->cpl = (uint8_t)rpl;
	ev_set_guest_flags(vm, regs, gflags);
	if (rpl > old) {
		ev_null_inner_segments(vm, regs);
		ev_cpl_changed(vm, regs);
	}
	return 0;
}

/* }====================================================================== */
