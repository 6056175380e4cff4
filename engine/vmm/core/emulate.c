/*
 * emulate.c - the instructions the guest cannot run itself.
 *
 * Entered after a real #GP (a privileged or sensitive instruction at real
 * CPL 3, strict mode), or for an access the monitor must perform (a
 * virtual device's page, a write to a guest page table). The instruction
 * is fetched from guest-virtual CS:EIP, decoded (x86emu.c) and emulated
 * against the virtual CPU exactly as the manual describes it for the
 * guest's own CPL. A guest that is not allowed the instruction gets the
 * fault the hardware would give it.
 */
#include "vmm_int.h"

#define MSR_TSC 0x10u
#define TSS32_IOMAP 0x66u
#define STRING_BUDGET 4096 /* as the engine's CPU: a REP step ends where eCX is a multiple */
#define STRING_ELEM_CYCLES 2

/* {====== operands ====== */

struct op {
	struct vmm *vm;
	struct vmm_regs *regs;
	struct vx_insn in;
	struct vx_regs vr;
	struct vmm_result *res;
};

static uint32_t ea(struct op *o)
{
	return vx_ea(&o->in, &o->vr);
}

static int osz(const struct op *o)
{
	return o->in.opsize32 ? 4 : 2;
}

static uint32_t get_reg(const struct op *o, int r, int sz)
{
	if (sz == 1)
		return r < 4 ? o->regs->r[r] & 0xff : (o->regs->r[r - 4] >> 8) & 0xff;
	return sz == 2 ? o->regs->r[r] & 0xffff : o->regs->r[r];
}

static void set_reg(struct op *o, int r, uint32_t v, int sz)
{
	uint32_t *p = &o->regs->r[r];
	if (sz == 4)
		*p = v;
	else if (sz == 2)
		*p = (*p & 0xffff0000u) | (v & 0xffff);
}

/* The ModRM operand (register or memory), `sz` bytes. */
static vfault rm_read(struct op *o, int sz, uint32_t *v)
{
	if (!o->in.mem) {
		*v = get_reg(o, o->in.rm, sz);
		return 0;
	}
	return vmem_rd_seg(o->vm, o->regs, o->in.seg, ea(o), sz, v);
}

static vfault rm_write(struct op *o, uint32_t v, int sz)
{
	if (!o->in.mem) {
		set_reg(o, o->in.rm, v, sz);
		return 0;
	}
	return vmem_wr_seg(o->vm, o->regs, o->in.seg, ea(o), v, sz);
}

static vfault push(struct op *o, uint32_t v, int sz)
{
	uint32_t sp = o->regs->r[VMM_ESP] - (uint32_t)sz;
	vfault f = vmem_wr_seg(o->vm, o->regs, VMM_SS, sp, v, sz);
	if (!f)
		o->regs->r[VMM_ESP] = sp;
	return f;
}

static vfault pop(struct op *o, int sz, uint32_t *v)
{
	vfault f = vmem_rd_seg(o->vm, o->regs, VMM_SS, o->regs->r[VMM_ESP], sz, v);
	if (!f)
		o->regs->r[VMM_ESP] += (uint32_t)sz;
	return f;
}

static bool cpl0(const struct op *o)
{
	return o->vm->vcpu.cpl == 0;
}

static int iopl(const struct op *o)
{
	return (int)((o->vm->vcpu.vflags & EFLAGS_IOPL) >> EFLAGS_IOPL_SHIFT);
}

/* The guest runs v86 code with IOPL < 3: the IOPL-sensitive
 * instructions (PUSHF, POPF, INT n, IRET, CLI, STI) fault for it. */
static bool v86_sensitive(const struct op *o)
{
	return (o->regs->eflags & EFLAGS_VM) && iopl(o) < 3;
}

/* }====================================================================== */

/* {====== interrupts and flags ====== */

static void retire(struct op *o, unsigned priv_kind, uint32_t extra)
{
	o->regs->eip += o->in.len;
	o->res->retired = true;
	o->res->extra_cycles += extra;
	if (priv_kind < 16)
		o->vm->stats.priv[priv_kind]++;
}

enum priv_kind {
	PK_FLAGS, PK_IRET, PK_INT, PK_HLT, PK_DT, PK_CR, PK_DR, PK_MSR, PK_CPUID, PK_TSC,
	PK_SEG, PK_FAR, PK_DESC, PK_TLB, PK_IO, PK_OTHER
};

const char *const vmm_priv_names[16] = {
	"CLI/STI/PUSHF/POPF", "IRET", "INT n", "HLT", "LGDT/LIDT/LLDT/LTR/S*", "MOV CR/CLTS/LMSW",
	"MOV DR", "RDMSR/WRMSR", "CPUID", "RDTSC", "segment loads (CS, SS; DS-GS kernel)", "far JMP/CALL/RET",
	"LAR/LSL/VERR/VERW", "INVLPG/INVD/WBINVD", "IN/OUT/INS/OUTS", "other",
};

static vfault do_cli_sti(struct op *o, bool sti)
{
	if (o->vm->vcpu.cpl > iopl(o))
		return VF(X_GP, 0);
	bool was = (o->regs->eflags & EFLAGS_IF) != 0;
	if (sti) {
		o->regs->eflags |= EFLAGS_IF;
		o->res->intr_shadow = !was;
	} else {
		o->regs->eflags &= ~EFLAGS_IF;
	}
	retire(o, PK_FLAGS, 0);
	return 0;
}

static vfault do_pushf(struct op *o)
{
	if (v86_sensitive(o))
		return VF(X_GP, 0);
	uint32_t f = ev_guest_flags(o->vm, o->regs->eflags) & ~(EFLAGS_VM | EFLAGS_RF);
	vfault e = push(o, f, osz(o));
	if (!e)
		retire(o, PK_FLAGS, 0);
	return e;
}

static vfault do_popf(struct op *o)
{
	if (v86_sensitive(o))
		return VF(X_GP, 0);
	int sz = osz(o);
	uint32_t v, old = ev_guest_flags(o->vm, o->regs->eflags);
	vfault e = pop(o, sz, &v);
	if (e)
		return e;
	uint32_t m = EFLAGS_ARITH | EFLAGS_TF | EFLAGS_IF | EFLAGS_DF | EFLAGS_IOPL | EFLAGS_NT |
	             EFLAGS_AC | EFLAGS_ID;
	if (o->vm->vcpu.cpl > 0)
		m &= ~EFLAGS_IOPL;
	if (o->vm->vcpu.cpl > iopl(o))
		m &= ~EFLAGS_IF;
	if (sz == 2)
		m &= 0xffff;
	ev_set_guest_flags(o->vm, o->regs, (old & ~m) | (v & m));
	retire(o, PK_FLAGS, 0);
	return 0;
}

static vfault do_int(struct op *o, int vec, uint32_t extra)
{
	if (o->in.op == 0xcd && v86_sensitive(o))
		return VF(X_GP, 0);
	uint32_t start = o->regs->eip;
	o->res->charged_cycles += (int32_t)extra; /* charged before the delivery, as the CPU does */
	o->regs->eip += o->in.len;
	vfault f = ev_int(o->vm, o->regs, vec);
	if (f) {
		o->regs->eip = start;
		return f; /* the INT faults: it does not retire */
	}
	o->vm->stats.priv[PK_INT]++;
	o->res->retired = true;
	return 0;
}

/* }====================================================================== */

/* {====== ports ====== */

/* The I/O permission check: CPL <= IOPL, else the guest TSS's bitmap. */
static vfault io_check(struct op *o, uint16_t port, int sz)
{
	const struct vmm_vcpu *v = &o->vm->vcpu;
	if (v->cpl <= iopl(o) && !(o->regs->eflags & EFLAGS_VM))
		return 0; /* (v86 code always goes by the bitmap) */
	uint32_t base, bits;
	if (v->tr.limit < TSS32_IOMAP + 1 ||
	    vmem_rd_gva(o->vm, v->tr.base + TSS32_IOMAP, 2, false, &base))
		return VF(X_GP, 0);
	uint32_t off = base + port / 8;
	if (off + 1 > v->tr.limit || vmem_rd_gva(o->vm, v->tr.base + off, 2, false, &bits))
		return VF(X_GP, 0);
	if ((bits >> (port & 7)) & ((1u << sz) - 1))
		return VF(X_GP, 0);
	return 0;
}

static const struct vmm_host_ops *ops(const struct op *o)
{
	return o->vm->ops;
}

static vfault do_in_out(struct op *o, bool out, bool dx, int sz)
{
	uint16_t port = dx ? (uint16_t)o->regs->r[VMM_EDX] : (uint16_t)o->in.imm;
	vfault f = io_check(o, port, sz);
	if (f)
		return f;
	if (out) {
		ops(o)->io_out(ops(o)->opaque, port, get_reg(o, VMM_EAX - 0, sz == 1 ? 1 : sz), sz);
	} else {
		uint32_t v = ops(o)->io_in(ops(o)->opaque, port, sz);
		if (sz == 1)
			o->regs->r[VMM_EAX] = (o->regs->r[VMM_EAX] & ~0xffu) | (v & 0xff);
		else
			set_reg(o, VMM_EAX, v, sz);
	}
	o->res->reason = VMM_EXIT_IO;
	retire(o, PK_IO, 0);
	return 0;
}

static uint32_t areg(const struct op *o, int r)
{
	return o->in.addrsize32 ? o->regs->r[r] : o->regs->r[r] & 0xffff;
}

static void set_areg(struct op *o, int r, uint32_t v)
{
	if (o->in.addrsize32)
		o->regs->r[r] = v;
	else
		o->regs->r[r] = (o->regs->r[r] & 0xffff0000u) | (v & 0xffff);
}

/* INS/OUTS, up to STRING_BUDGET elements per exit, as the CPU does. */
static vfault do_string_io(struct op *o, bool out)
{
	int sz = (o->in.op & 1) ? osz(o) : 1;
	uint16_t port = (uint16_t)o->regs->r[VMM_EDX];
	int step = (o->regs->eflags & EFLAGS_DF) ? -sz : sz;
	vfault f = io_check(o, port, sz);
	if (f)
		return f;
	uint32_t n = 0;
	bool rep = o->in.rep != 0;
	if (rep && areg(o, VMM_ECX) == 0) {
		retire(o, PK_IO, 0);
		return 0;
	}
	while (!rep || areg(o, VMM_ECX) != 0) {
		uint32_t v;
		if (out) {
			int seg = o->in.seg_override == VX_SEG_NONE ? VMM_DS : o->in.seg_override;
			if ((f = vmem_rd_seg(o->vm, o->regs, seg, areg(o, VMM_ESI), sz, &v)))
				break;
			ops(o)->io_out(ops(o)->opaque, port, v, sz);
			set_areg(o, VMM_ESI, areg(o, VMM_ESI) + (uint32_t)step);
		} else {
			v = ops(o)->io_in(ops(o)->opaque, port, sz);
			if ((f = vmem_wr_seg(o->vm, o->regs, VMM_ES, areg(o, VMM_EDI), v, sz)))
				break;
			set_areg(o, VMM_EDI, areg(o, VMM_EDI) + (uint32_t)step);
		}
		n++;
		if (!rep)
			break;
		set_areg(o, VMM_ECX, areg(o, VMM_ECX) - 1);
		o->res->charged_cycles += STRING_ELEM_CYCLES;
		if (areg(o, VMM_ECX) % STRING_BUDGET == 0)
			break;
	}
	o->res->reason = VMM_EXIT_IO;
	o->res->reps = n;
	if (f)
		return f;
	uint32_t less = rep && n ? STRING_ELEM_CYCLES : 0;
	if (!rep || areg(o, VMM_ECX) == 0) {
		retire(o, PK_IO, 0);
	} else {
		o->res->retired = true;  /* one step of a REP, like the CPU's */
		o->vm->stats.priv[PK_IO]++;
	}
	o->res->charged_cycles -= less;
	return 0;
}

/* }====================================================================== */

/* {====== descriptor tables, control and debug registers ====== */

static vfault do_group_0f01(struct op *o)
{
	struct vmm *vm = o->vm;
	struct vmm_vcpu *v = &vm->vcpu;
	uint32_t a = ea(o), lim, base;
	uint32_t a2 = o->in.addrsize32 ? a + 2 : (a + 2) & 0xffff;
	vfault f;
	switch (o->in.reg) {
	case 0: /* SGDT */
	case 1: /* SIDT */ {
		if (!o->in.mem)
			return VF_N(X_UD);
		const struct vmm_dtr *t = o->in.reg == 0 ? &v->gdtr : &v->idtr;
		if ((f = vmem_wr_seg(vm, o->regs, o->in.seg, a, t->limit, 2)) ||
		    (f = vmem_wr_seg(vm, o->regs, o->in.seg, a2, t->base, 4)))
			return f;
		retire(o, PK_DT, 0);
		return 0;
	}
	case 2: /* LGDT */
	case 3: /* LIDT */
		if (!o->in.mem)
			return VF_N(X_UD);
		if (!cpl0(o))
			return VF(X_GP, 0);
		if ((f = vmem_rd_seg(vm, o->regs, o->in.seg, a, 2, &lim)) ||
		    (f = vmem_rd_seg(vm, o->regs, o->in.seg, a2, 4, &base)))
			return f;
		if (!o->in.opsize32)
			base &= 0xffffff;
		if (o->in.reg == 2) {
			v->gdtr = (struct vmm_dtr){ base, lim };
			vdesc_shadow_gdt(vm);
			vdesc_set_view(vm, o->regs);
		} else {
			v->idtr = (struct vmm_dtr){ base, lim };
		}
		retire(o, PK_DT, 0);
		return 0;
	case 4: /* SMSW */
		if (!o->in.mem && o->in.opsize32)
			o->regs->r[o->in.rm] = v->cr0;
		else if ((f = rm_write(o, v->cr0 & 0xffff, 2)))
			return f;
		retire(o, PK_CR, 0);
		return 0;
	case 6: { /* LMSW: sets PE (never clears it), MP, EM, TS */
		if (!cpl0(o))
			return VF(X_GP, 0);
		uint32_t w;
		if ((f = rm_read(o, 2, &w)))
			return f;
		w &= 0xf;
		v->cr0 = (v->cr0 & ~0xeu) | w | (v->cr0 & CR0_PE);
		o->regs->cr0 = (o->regs->cr0 & ~0xeu) | (w & 0xe);
		o->regs->dirty |= VMM_DIRTY_CTL;
		retire(o, PK_CR, 0);
		return 0;
	}
	case 7: /* INVLPG */
		if (!o->in.mem)
			return VF_N(X_UD);
		if (!cpl0(o))
			return VF(X_GP, 0);
		if (vm->paging == VMM_SHADOW)
			spt_invlpg(vm, o->regs->seg[o->in.seg].base + a);
		o->regs->invlpg = o->regs->seg[o->in.seg].base + a;
		o->regs->dirty |= VMM_DIRTY_INVLPG;
		retire(o, PK_TLB, 10);
		return 0;
	}
	return VF_N(X_UD);
}

/* The descriptor LLDT or LTR names, from the GDT only. */
static vfault system_desc(struct op *o, uint16_t sel, uint64_t *d)
{
	if (sel & SEL_TI)
		return VF(X_GP, sel & 0xfffc);
	vfault f = vdesc_read(o->vm, sel, d);
	return f ? f : 0;
}

static vfault do_group_0f00(struct op *o)
{
	struct vmm *vm = o->vm;
	struct vmm_vcpu *v = &vm->vcpu;
	uint32_t sel;
	uint64_t d;
	vfault f;
	switch (o->in.reg) {
	case 0: /* SLDT */
	case 1: /* STR */ {
		uint16_t s = o->in.reg == 0 ? v->ldtr.sel : v->tr.sel;
		if (!o->in.mem && o->in.opsize32)
			o->regs->r[o->in.rm] = s;
		else if ((f = rm_write(o, s, 2)))
			return f;
		retire(o, PK_DT, 0);
		return 0;
	}
	case 2: /* LLDT */
		if (!cpl0(o))
			return VF(X_GP, 0);
		if ((f = rm_read(o, 2, &sel)))
			return f;
		if ((sel & 0xfffc) == 0) {
			v->ldtr = (struct vmm_seg){ .sel = (uint16_t)sel };
		} else {
			if ((f = system_desc(o, (uint16_t)sel, &d)))
				return f;
			if ((vdesc_attr(d) & (DESC_S | DESC_TYPE)) != 2)
				return VF(X_GP, sel & 0xfffc);
			if (!(vdesc_attr(d) & DESC_P))
				return VF(X_NP, sel & 0xfffc);
			vdesc_seg_from(&v->ldtr, (uint16_t)sel, d);
		}
		vdesc_shadow_ldt(vm);
		vdesc_set_view(vm, o->regs);
		retire(o, PK_DT, 0);
		return 0;
	case 3: { /* LTR */
		if (!cpl0(o))
			return VF(X_GP, 0);
		if ((f = rm_read(o, 2, &sel)))
			return f;
		if ((sel & 0xfffc) == 0)
			return VF(X_GP, 0);
		if ((f = system_desc(o, (uint16_t)sel, &d)))
			return f;
		int type = vdesc_attr(d) & (DESC_S | DESC_TYPE);
		if (type != SYS_TSS16_AVAIL && type != SYS_TSS32_AVAIL)
			return VF(X_GP, sel & 0xfffc);
		if (!(vdesc_attr(d) & DESC_P))
			return VF(X_NP, sel & 0xfffc);
		d |= 2ull << 40; /* busy */
		uint32_t hi = (uint32_t)(d >> 32);
		if ((f = vmem_wr_gva(vm, v->gdtr.base + (sel & SEL_INDEX) + 4, hi, 4, false)))
			return f;
		vdesc_seg_from(&v->tr, (uint16_t)sel, d);
		retire(o, PK_DT, 0);
		return 0;
	}
	case 4: /* VERR */
	case 5: { /* VERW */
		if ((f = rm_read(o, 2, &sel)))
			return f;
		bool ok = false;
		if ((sel & 0xfffc) && !vdesc_read(vm, (uint16_t)sel, &d)) {
			uint16_t a = vdesc_attr(d);
			int dpl = (a & DESC_DPL) >> DESC_DPL_SHIFT;
			int need = (int)(sel & 3) > v->cpl ? (int)(sel & 3) : v->cpl;
			bool code = (a & DESC_TYPE_CODE) != 0, conf = code && (a & DESC_TYPE_C);
			ok = (a & DESC_S) && (conf || dpl >= need) &&
			     (o->in.reg == 4 ? (!code || (a & DESC_TYPE_R)) : (!code && (a & DESC_TYPE_W)));
		}
		uint32_t fl = ev_guest_flags(vm, o->regs->eflags);
		ev_set_guest_flags(vm, o->regs, ok ? fl | EFLAGS_ZF : fl & ~EFLAGS_ZF);
		retire(o, PK_DESC, 0);
		return 0;
	}
	}
	return VF_N(X_UD);
}

/* LAR and LSL: what the guest's descriptor allows it to see. */
static vfault do_lar_lsl(struct op *o)
{
	struct vmm *vm = o->vm;
	uint32_t sel;
	uint64_t d;
	vfault f = rm_read(o, 2, &sel);
	if (f)
		return f;
	bool ok = false;
	if ((sel & 0xfffc) && !vdesc_read(vm, (uint16_t)sel, &d)) {
		uint16_t a = vdesc_attr(d);
		int dpl = (a & DESC_DPL) >> DESC_DPL_SHIFT, type = a & DESC_TYPE;
		int need = (int)(sel & 3) > vm->vcpu.cpl ? (int)(sel & 3) : vm->vcpu.cpl;
		bool conf = (a & DESC_S) && (a & DESC_TYPE_CODE) && (a & DESC_TYPE_C);
		bool sys_ok = o->in.op == 0x102 ? (type == 1 || type == 2 || type == 3 || type == 4 ||
		                                   type == 5 || type == 9 || type == 11 || type == 12)
		                                : (type == 1 || type == 2 || type == 3 || type == 9 ||
		                                   type == 11);
		ok = ((a & DESC_S) || sys_ok) && (conf || dpl >= need);
		if (ok) {
			struct vmm_seg s;
			vdesc_seg_from(&s, (uint16_t)sel, d);
			uint32_t v = o->in.op == 0x102 ? (uint32_t)(d >> 32) & 0x00f0ff00u : s.limit;
			set_reg(o, o->in.reg, v, osz(o));
		}
	}
	uint32_t fl = ev_guest_flags(vm, o->regs->eflags);
	ev_set_guest_flags(vm, o->regs, ok ? fl | EFLAGS_ZF : fl & ~EFLAGS_ZF);
	retire(o, PK_DESC, 0);
	return 0;
}

/* The real CR0 for virtual `cr0`: protected mode and paging always on
 * (shadow), or the guest's paging (nested); the guest's FPU bits. */
uint32_t emu_real_cr0(const struct vmm *vm)
{
	uint32_t c = vm->vcpu.cr0;
	uint32_t keep = c & (CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_AM);
	uint32_t pg = vm->paging == VMM_NESTED ? c & (CR0_PG | CR0_WP) : CR0_PG | CR0_WP;
	return CR0_PE | CR0_ET | keep | pg;
}

/* CPUID.1:EDX feature bits (SDM Vol. 2A, CPUID) that CR4 bits come with. */
#define CPUID1_EDX_DE (1u << 2)
#define CPUID1_EDX_PSE (1u << 3)
#define CPUID1_EDX_TSC (1u << 4)
#define CPUID1_EDX_MCE (1u << 7)
#define CPUID1_EDX_PGE (1u << 13)

/* The CR4 bits the VM's CPU accepts, by its CPUID.1:EDX as the bare CPU
 * decides them (docs/cpu.md, "CPU models"): VME, PVI and PCE always, TSD
 * with TSC, DE with DE, PSE with PSE, MCE with MCE, PGE with PGE. */
static uint32_t cr4_valid(struct op *o)
{
	uint32_t id[4];
	ops(o)->cpuid(ops(o)->opaque, 1, id);
	uint32_t f = id[3];
	return CR4_VME | CR4_PVI | CR4_PCE | (f & CPUID1_EDX_TSC ? CR4_TSD : 0) |
	       (f & CPUID1_EDX_DE ? CR4_DE : 0) | (f & CPUID1_EDX_PSE ? CR4_PSE : 0) |
	       (f & CPUID1_EDX_MCE ? CR4_MCE : 0) | (f & CPUID1_EDX_PGE ? CR4_PGE : 0);
}

static vfault do_mov_to_cr(struct op *o)
{
	struct vmm *vm = o->vm;
	struct vmm_vcpu *v = &vm->vcpu;
	uint32_t val = o->regs->r[o->in.rm];
	if (!cpl0(o))
		return VF(X_GP, 0);
	switch (o->in.reg) {
	case 0: {
		if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
			return VF(X_GP, 0);
		if (!(val & CR0_PE)) {
			vm->stop_why = "the guest left protected mode, which the monitor does not emulate";
			return 0;
		}
		val = (val & (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW |
		              CR0_CD | CR0_PG)) | CR0_ET;
		bool remap = (val ^ v->cr0) & (CR0_PG | CR0_WP);
		v->cr0 = val;
		o->regs->cr0 = emu_real_cr0(vm);
		o->regs->dirty |= VMM_DIRTY_CTL;
		if (remap)
			spt_switch(vm, o->regs);
		break;
	}
	case 2:
		v->cr2 = val;
		break;
	case 3:
		v->cr3 = val & 0xfffff018u;
		spt_switch(vm, o->regs);
		break;
	case 4:
		if (val & ~cr4_valid(o))
			return VF(X_GP, 0);
		if ((val ^ v->cr4) & CR4_PSE) {
			if (vm->paging == VMM_SHADOW)
				spt_flush_all(vm);
			v->cr4 = val;
			spt_switch(vm, o->regs);
		}
		v->cr4 = val;
		o->regs->cr4 = CR4_TSD | (vm->paging == VMM_NESTED ? val & CR4_PSE : 0);
		o->regs->dirty |= VMM_DIRTY_CTL;
		break;
	default:
		return VF_N(X_UD);
	}
	retire(o, PK_CR, 10);
	return 0;
}

static vfault do_mov_from_cr(struct op *o)
{
	const struct vmm_vcpu *v = &o->vm->vcpu;
	if (!cpl0(o))
		return VF(X_GP, 0);
	uint32_t val;
	switch (o->in.reg) {
	case 0: val = v->cr0; break;
	case 2: val = v->cr2; break;
	case 3: val = v->cr3; break;
	case 4: val = v->cr4; break;
	default: return VF_N(X_UD);
	}
	o->regs->r[o->in.rm] = val;
	retire(o, PK_CR, 0);
	return 0;
}

/* MOV to and from DR0-7: kept virtual (the guest's breakpoints do not arm
 * the real debug registers: see docs/monitor.md). */
static vfault do_mov_dr(struct op *o, bool to)
{
	struct vmm_vcpu *v = &o->vm->vcpu;
	if (!cpl0(o))
		return VF(X_GP, 0);
	int n = o->in.reg;
	if (n == 4 || n == 5)
		n += 2;
	if (to)
		v->dr[n] = o->regs->r[o->in.rm];
	else
		o->regs->r[o->in.rm] = v->dr[n];
	retire(o, PK_DR, 0);
	return 0;
}

/* RDMSR and WRMSR against the VM's own MSRs, as its CPU model has them
 * (ops->msr): an MSR the model lacks, or a reserved bit written, is #GP(0). */
static vfault do_msr(struct op *o, bool write)
{
	struct vmm *vm = o->vm;
	struct vmm_vcpu *v = &vm->vcpu;
	if (!cpl0(o))
		return VF(X_GP, 0);
	uint32_t idx = o->regs->r[VMM_ECX];
	uint64_t val = ((uint64_t)o->regs->r[VMM_EDX] << 32) | o->regs->r[VMM_EAX];
	if (idx == 0x4e4c0001u) { /* MSR_NESTLAB_RUN: the assist, virtualized (nest.c) */
		vfault f = write ? vnest_request(vm, val) : VF(X_GP, 0);
		if (f)
			return f;
		retire(o, PK_MSR, 20);
		return 0;
	}
	struct vmm_msr d;
	if (!ops(o)->msr || !ops(o)->msr(ops(o)->opaque, idx, &d) ||
	    ((d.kind == VMM_MSR_STORE || d.kind == VMM_MSR_RO) && d.slot >= VMM_MSR_SLOTS))
		return VF(X_GP, 0);
	if (write && ((val & d.rsvd) || d.kind == VMM_MSR_RO))
		return VF(X_GP, 0);
	uint64_t now = ops(o)->cycles(ops(o)->opaque);
	switch (d.kind) {
	case VMM_MSR_TSC:
		if (write)
			v->tsc_offset = (val & d.wmask) - now;
		val = now + v->tsc_offset;
		break;
	case VMM_MSR_APIC_BASE:
		if (write) {
			v->msr_apic_base = (v->msr_apic_base & ~d.wmask) | (val & d.wmask);
			if (ops(o)->apic_base)
				ops(o)->apic_base(ops(o)->opaque, v->msr_apic_base);
		}
		val = v->msr_apic_base;
		break;
	case VMM_MSR_NESTLAB: /* the guest's own, for its guests */
		if (write && (val & ~7ull))
			return VF(X_GP, 0);
		if (write)
			v->msr_ctl = (uint32_t)val;
		val = v->msr_ctl | (vm->assist ? 0x80000000u : 0); /* NESTLAB_CTL_ASSIST */
		break;
	default:
		if (write)
			v->msr[d.slot] = (v->msr[d.slot] & ~d.wmask) | (val & d.wmask);
		val = v->msr[d.slot];
		break;
	}
	if (!write) {
		o->regs->r[VMM_EAX] = (uint32_t)val;
		o->regs->r[VMM_EDX] = (uint32_t)(val >> 32);
	}
	retire(o, PK_MSR, 20);
	return 0;
}

static vfault do_rdtsc(struct op *o)
{
	const struct vmm_vcpu *v = &o->vm->vcpu;
	if ((v->cr4 & CR4_TSD) && v->cpl != 0)
		return VF(X_GP, 0);
	uint64_t t = ops(o)->cycles(ops(o)->opaque) + v->tsc_offset;
	o->regs->r[VMM_EAX] = (uint32_t)t;
	o->regs->r[VMM_EDX] = (uint32_t)(t >> 32);
	retire(o, PK_TSC, 0);
	return 0;
}

static vfault do_cpuid(struct op *o)
{
	uint32_t out[4];
	ops(o)->cpuid(ops(o)->opaque, o->regs->r[VMM_EAX], out);
	o->regs->r[VMM_EAX] = out[0];
	o->regs->r[VMM_EBX] = out[1];
	o->regs->r[VMM_ECX] = out[2];
	o->regs->r[VMM_EDX] = out[3];
	retire(o, PK_CPUID, 20);
	return 0;
}

/* }====================================================================== */

/* {====== CS and SS, far transfers ====== */

static uint32_t guest_sel(const struct op *o, int sreg)
{
	if (sreg == VMM_CS)
		return o->vm->vcpu.cs_sel;
	if (sreg == VMM_SS)
		return o->vm->vcpu.ss_sel;
	return o->regs->seg[sreg].sel;
}

#define SYS_CALL16 4
#define SYS_CALL32 12

/* A far JMP or CALL straight to a code segment (the manual's checks). */
static vfault far_target(struct op *o, uint16_t sel, uint64_t *d)
{
	struct vmm *vm = o->vm;
	if ((sel & 0xfffc) == 0)
		return VF(X_GP, 0);
	vfault f = vdesc_read(vm, sel, d);
	if (f)
		return f;
	uint16_t a = vdesc_attr(*d);
	int dpl = (a & DESC_DPL) >> DESC_DPL_SHIFT, cpl = vm->vcpu.cpl;
	if (!(a & DESC_S) || !(a & DESC_TYPE_CODE))
		return VF(X_GP, sel & 0xfffc);
	if ((a & DESC_TYPE_C) ? dpl > cpl : ((sel & 3) > cpl || dpl != cpl))
		return VF(X_GP, sel & 0xfffc);
	if (!(a & DESC_P))
		return VF(X_NP, sel & 0xfffc);
	return 0;
}

/* The code segment a call gate names: present code with DPL <= CPL. */
static vfault gate_target(struct op *o, uint16_t csel, uint64_t *cd)
{
	if ((csel & 0xfffc) == 0)
		return VF(X_GP, 0);
	if (vdesc_read(o->vm, csel, cd))
		return VF(X_GP, csel & 0xfffc);
	uint16_t a = vdesc_attr(*cd);
	if (!(a & DESC_S) || !(a & DESC_TYPE_CODE) ||
	    (int)((a & DESC_DPL) >> DESC_DPL_SHIFT) > o->vm->vcpu.cpl)
		return VF(X_GP, csel & 0xfffc);
	if (!(a & DESC_P))
		return VF(X_NP, csel & 0xfffc);
	return 0;
}

static uint32_t code_limit(uint64_t d)
{
	struct vmm_seg s;
	vdesc_seg_from(&s, 0, d);
	return s.limit;
}

/* CALL through a call gate to a more privileged non-conforming segment:
 * the stack from the guest's TSS, the caller's SS:ESP, `n` parameters
 * copied from the caller's stack, CS:EIP. */
static vfault call_gate_inner(struct op *o, uint16_t csel, uint64_t cd, uint32_t t, int n, int gsz)
{
	struct vmm *vm = o->vm;
	struct vmm_vcpu *v = &vm->vcpu;
	int dpl = (vdesc_attr(cd) & DESC_DPL) >> DESC_DPL_SHIFT;
	uint16_t nss;
	uint64_t ssd;
	uint32_t nesp, val;
	vfault f = ev_inner_stack(vm, dpl, &nss, &ssd, &nesp, 0);
	if (f)
		return f;
	if (t > code_limit(cd))
		return VF(X_GP, 0);
	struct vmm_seg ns;
	vdesc_seg_from(&ns, nss, ssd);
	uint32_t sp = nesp;
	uint32_t frame[4 + 31];
	int k = 0;
	frame[k++] = v->ss_sel;
	frame[k++] = o->regs->r[VMM_ESP];
	for (int i = n - 1; i >= 0; i--) {
		if ((f = vmem_rd_seg(vm, o->regs, VMM_SS, o->regs->r[VMM_ESP] + (uint32_t)(i * gsz), gsz,
		                     &val)))
			return f;
		frame[k++] = val;
	}
	frame[k++] = v->cs_sel;
	frame[k++] = o->regs->eip + o->in.len;
	for (int i = 0; i < k; i++) {
		sp -= (uint32_t)gsz;
		if ((f = vmem_wr_gva(vm, ns.base + sp, frame[i], gsz, dpl == 3)))
			return f;
	}
	v->cpl = (uint8_t)dpl;
	vdesc_load_ss_raw(vm, o->regs, nss, ssd);
	vdesc_load_cs(vm, o->regs, csel, cd, dpl);
	o->regs->r[VMM_ESP] = sp;
	o->regs->eip = t;
	ev_cpl_changed(vm, o->regs);
	return 0;
}

/* JMP or CALL through a call gate (SDM Vol. 2, CALL and JMP). */
static vfault far_gate(struct op *o, bool call, uint16_t sel, uint64_t gd)
{
	struct vmm *vm = o->vm;
	int cpl = vm->vcpu.cpl;
	uint16_t ga = vdesc_attr(gd);
	int gdpl = (ga & DESC_DPL) >> DESC_DPL_SHIFT;
	if (gdpl < cpl || gdpl < (int)(sel & 3))
		return VF(X_GP, sel & 0xfffc);
	if (!(ga & DESC_P))
		return VF(X_NP, sel & 0xfffc);
	bool g32 = (ga & DESC_TYPE) == SYS_CALL32;
	uint32_t lo = (uint32_t)gd, hi = (uint32_t)(gd >> 32);
	uint16_t csel = (uint16_t)(lo >> 16);
	uint32_t t = (hi & 0xffff0000u) | (lo & 0xffff);
	if (!g32)
		t &= 0xffff;
	uint64_t cd;
	vfault f = gate_target(o, csel, &cd);
	if (f)
		return f;
	uint16_t ca = vdesc_attr(cd);
	bool conf = (ca & DESC_TYPE_C) != 0;
	int cdpl = (ca & DESC_DPL) >> DESC_DPL_SHIFT;
	if (!call && !conf && cdpl != cpl)
		return VF(X_GP, csel & 0xfffc);
	if (call && !conf && cdpl < cpl)
		return call_gate_inner(o, csel, cd, t, (int)(hi & 0x1f), g32 ? 4 : 2);
	if (t > code_limit(cd))
		return VF(X_GP, 0);
	if (call) {
		int gsz = g32 ? 4 : 2;
		uint32_t sp = o->regs->r[VMM_ESP];
		if ((f = push(o, vm->vcpu.cs_sel, gsz)) || (f = push(o, o->regs->eip + o->in.len, gsz))) {
			o->regs->r[VMM_ESP] = sp;
			return f;
		}
	}
	vdesc_load_cs(vm, o->regs, csel, cd, cpl);
	o->regs->eip = t;
	return 0;
}

/* JMP or CALL to a TSS or through a task gate: a task switch. */
static vfault far_task(struct op *o, bool call, uint16_t sel, uint64_t d)
{
	struct vmm *vm = o->vm;
	uint16_t a = vdesc_attr(d);
	int dpl = (a & DESC_DPL) >> DESC_DPL_SHIFT;
	enum vtask_reason why = call ? VTASK_CALL : VTASK_JMP;
	uint32_t next = o->regs->eip + o->in.len;
	if (dpl < vm->vcpu.cpl || dpl < (int)(sel & 3))
		return VF(X_GP, sel & 0xfffc);
	if ((a & DESC_TYPE) != SYS_TASKGATE)
		return vtask_switch(vm, o->regs, sel, d, why, next, -1);
	if (!(a & DESC_P))
		return VF(X_NP, sel & 0xfffc);
	return vtask_gate(vm, o->regs, d, why, next, -1, 0);
}

static vfault do_far(struct op *o, bool call, uint16_t sel, uint32_t off)
{
	uint64_t d;
	vfault f;
	int type = -1;
	if ((sel & 0xfffc) && !vdesc_read(o->vm, sel, &d) && !(vdesc_attr(d) & DESC_S))
		type = vdesc_attr(d) & DESC_TYPE;
	if (type == SYS_CALL16 || type == SYS_CALL32) {
		if ((f = far_gate(o, call, sel, d)))
			return f;
	} else if (type == SYS_TASKGATE || type == SYS_TSS16_AVAIL || type == SYS_TSS32_AVAIL) {
		if ((f = far_task(o, call, sel, d)) || o->vm->stop_why)
			return f;
	} else {
		if ((f = far_target(o, sel, &d)) || o->vm->stop_why)
			return f;
		off = o->in.opsize32 ? off : off & 0xffff;
		if (off > code_limit(d))
			return VF(X_GP, 0);
		if (call) {
			int sz = osz(o);
			uint32_t sp = o->regs->r[VMM_ESP];
			if ((f = push(o, o->vm->vcpu.cs_sel, sz)) ||
			    (f = push(o, o->regs->eip + o->in.len, sz))) {
				o->regs->r[VMM_ESP] = sp;
				return f;
			}
		}
		vdesc_load_cs(o->vm, o->regs, sel, d, o->vm->vcpu.cpl);
		o->regs->eip = off;
	}
	o->res->retired = true;
	o->vm->stats.priv[PK_FAR]++;
	return 0;
}

/* The far pointer m16:16 or m16:32 at the ModRM memory operand. */
static vfault read_far_ptr(struct op *o, uint32_t *off, uint32_t *sel)
{
	int sz = osz(o);
	vfault f;
	if (!o->in.mem)
		return VF_N(X_UD);
	if ((f = vmem_rd_seg(o->vm, o->regs, o->in.seg, ea(o), sz, off)))
		return f;
	return vmem_rd_seg(o->vm, o->regs, o->in.seg, ea(o) + (uint32_t)sz, 2, sel);
}

/* JMP/CALL m16:16/32 (FF /5, /3): the pointer in memory. */
static vfault do_far_indirect(struct op *o, bool call)
{
	uint32_t off, sel;
	vfault f = read_far_ptr(o, &off, &sel);
	return f ? f : do_far(o, call, (uint16_t)sel, off);
}

/* RET far (CB, CA Iw): to the same privilege, or to an outer one (SS:ESP
 * popped after the parameters, data segments the outer level may not use
 * nulled), as the manual's RET pseudo-code. */
static vfault do_ret_far(struct op *o)
{
	struct vmm *vm = o->vm;
	int sz = osz(o);
	uint32_t sp = o->regs->r[VMM_ESP], off, sel, esp = 0, ss = 0;
	uint64_t d, ssd = 0;
	vfault f;
	if ((f = pop(o, sz, &off)) || (f = pop(o, sz, &sel)))
		goto fail;
	int rpl = (int)(sel & 3), old = vm->vcpu.cpl;
	if (rpl < old) {
		f = VF(X_GP, sel & 0xfffc);
		goto fail;
	}
	if (rpl > old) {
		/* The target's checks are those of its own level. */
		vm->vcpu.cpl = (uint8_t)rpl;
		f = far_target(o, (uint16_t)sel, &d);
		vm->vcpu.cpl = (uint8_t)old;
		if (f || vm->stop_why)
			goto fail;
		if (o->in.op == 0xca)
			o->regs->r[VMM_ESP] += o->in.imm & 0xffff;
		if ((f = pop(o, sz, &esp)) || (f = pop(o, sz, &ss)))
			goto fail;
		uint16_t ssel = (uint16_t)ss;
		if ((ssel & 0xfffc) == 0) {
			f = VF(X_GP, 0);
			goto fail;
		}
		if (vdesc_read(vm, ssel, &ssd)) {
			f = VF(X_GP, ssel & 0xfffc);
			goto fail;
		}
		uint16_t a = vdesc_attr(ssd);
		int sdpl = (a & DESC_DPL) >> DESC_DPL_SHIFT;
		bool wdata = (a & DESC_S) && !(a & DESC_TYPE_CODE) && (a & DESC_TYPE_W);
		if ((int)(ssel & 3) != rpl || sdpl != rpl || !wdata) {
			f = VF(X_GP, ssel & 0xfffc);
			goto fail;
		}
		if (!(a & DESC_P)) {
			f = VF(X_SS, ssel & 0xfffc);
			goto fail;
		}
		vm->vcpu.cpl = (uint8_t)rpl;
		vdesc_load_cs(vm, o->regs, (uint16_t)sel, d, rpl);
		vdesc_load_ss_raw(vm, o->regs, ssel, ssd);
		o->regs->r[VMM_ESP] = esp + (o->in.op == 0xca ? (o->in.imm & 0xffff) : 0);
		o->regs->eip = o->in.opsize32 ? off : off & 0xffff;
		ev_null_inner_segments(vm, o->regs);
		ev_cpl_changed(vm, o->regs);
	} else {
		if ((f = far_target(o, (uint16_t)sel, &d)) || vm->stop_why)
			goto fail;
		vdesc_load_cs(vm, o->regs, (uint16_t)sel, d, old);
		o->regs->eip = o->in.opsize32 ? off : off & 0xffff;
		if (o->in.op == 0xca)
			o->regs->r[VMM_ESP] += o->in.imm & 0xffff;
	}
	o->res->retired = true;
	vm->stats.priv[PK_FAR]++;
	return 0;
fail:
	o->regs->r[VMM_ESP] = sp;
	return f;
}

static vfault do_load_ss(struct op *o, uint32_t sel)
{
	vfault f = vdesc_load(o->vm, o->regs, VMM_SS, (uint16_t)sel);
	if (f)
		return f;
	o->res->intr_shadow = true;
	return 0;
}

/* A load of `sel` into data segment `sreg` with the guest's own
 * SEGLOAD_TRAP set at CPL > 0: #GP(0) for the guest (its monitor checks the
 * load), as the CPU raises it. */
static vfault guest_segload(const struct op *o, int sreg, uint32_t sel)
{
	const struct vmm_vcpu *v = &o->vm->vcpu;
	if (sreg != VMM_SS && (sel & 0xfffc) && (v->msr_ctl & NESTLAB_CTL_SEGLOAD_TRAP_) &&
	    v->cpl > 0 && !(o->regs->eflags & EFLAGS_VM))
		return VF(X_GP, 0);
	return 0;
}

static vfault do_segments(struct op *o)
{
	uint32_t v, sp = o->regs->r[VMM_ESP];
	vfault f;
	switch (o->in.op) {
	case 0x8c: /* MOV Ev, Sreg */
		if (o->in.reg > VMM_GS)
			return VF_N(X_UD);
		v = guest_sel(o, o->in.reg);
		if (!o->in.mem && o->in.opsize32)
			o->regs->r[o->in.rm] = v;
		else if ((f = rm_write(o, v, 2)))
			return f;
		break;
	case 0x8e: /* MOV Sreg, Ew */
		if (o->in.reg > VMM_GS || o->in.reg == VMM_CS)
			return VF_NOT_EMULATED; /* #UD */
		if ((f = rm_read(o, 2, &v)) || (f = guest_segload(o, o->in.reg, v)))
			return f;
		if ((f = o->in.reg == VMM_SS ? do_load_ss(o, v) : vdesc_load(o->vm, o->regs, o->in.reg, (uint16_t)v)))
			return f;
		break;
	case 0x1f: case 0x07: case 0x1a1: case 0x1a9: { /* POP DS, ES, FS, GS */
		int sreg = o->in.op == 0x1f ? VMM_DS : o->in.op == 0x07 ? VMM_ES
		         : o->in.op == 0x1a1 ? VMM_FS : VMM_GS;
		if ((f = pop(o, osz(o), &v)) || (f = guest_segload(o, sreg, v)) ||
		    (f = vdesc_load(o->vm, o->regs, sreg, (uint16_t)v))) {
			o->regs->r[VMM_ESP] = sp;
			return f;
		}
		break;
	}
	case 0xc5: case 0xc4: case 0x1b4: case 0x1b5: case 0x1b2: { /* LDS LES LFS LGS LSS */
		int sreg = o->in.op == 0xc5 ? VMM_DS : o->in.op == 0xc4 ? VMM_ES
		         : o->in.op == 0x1b4 ? VMM_FS : o->in.op == 0x1b5 ? VMM_GS : VMM_SS;
		uint32_t off, sel;
		if ((f = read_far_ptr(o, &off, &sel)) || (f = guest_segload(o, sreg, sel)) ||
		    (f = sreg == VMM_SS ? do_load_ss(o, sel) : vdesc_load(o->vm, o->regs, sreg, (uint16_t)sel)))
			return f;
		set_reg(o, o->in.reg, off, osz(o));
		break;
	}
	case 0x0e: /* PUSH CS */
	case 0x16: { /* PUSH SS */
		/* As P6 processors do: a 32-bit push of a selector moves ESP by 4
		 * but writes only the low 16 bits (the SDM, PUSH). */
		uint32_t sp2 = o->regs->r[VMM_ESP] - (uint32_t)osz(o);
		v = guest_sel(o, o->in.op == 0x0e ? VMM_CS : VMM_SS);
		if ((f = vmem_wr_seg(o->vm, o->regs, VMM_SS, sp2, v, 2)))
			return f;
		o->regs->r[VMM_ESP] = sp2;
		break;
	}
	case 0x17: /* POP SS */
		if ((f = pop(o, osz(o), &v)) || (f = do_load_ss(o, v))) {
			o->regs->r[VMM_ESP] = sp;
			return f;
		}
		break;
	}
	retire(o, PK_SEG, 0);
	return 0;
}

/* }====================================================================== */

/* {====== memory the monitor performs: devices and page tables ====== */

static int vx_read(void *opaque, int seg, uint32_t off, uint32_t *val, int size)
{
	struct op *o = opaque;
	vfault f = vmem_rd_seg(o->vm, o->regs, seg, off, size, val);
	return f ? (int)(f & 0x7fffffff) : 0;
}

static int vx_write(void *opaque, int seg, uint32_t off, uint32_t val, int size)
{
	struct op *o = opaque;
	vfault f = vmem_wr_seg(o->vm, o->regs, seg, off, val, size);
	return f ? (int)(f & 0x7fffffff) : 0;
}

static vfault do_memory(struct op *o)
{
	const struct vx_mem m = { o, vx_read, vx_write, true, o->regs->seg[VMM_CS].limit };
	int rc = vx_emulate(&o->in, &o->vr, &m);
	if (rc == VX_UNSUPPORTED) {
		o->vm->stop_why = "the guest accessed a device or page table with an instruction the monitor cannot emulate";
		return 0;
	}
	if (rc != VX_OK)
		return (vfault)rc | VF_VALID;
	bool done = o->vr.eip != o->regs->eip;
	if (o->in.rep && (o->in.op >= 0xa4 && o->in.op <= 0xaf)) {
		/* One element of a REP string: costed and counted as the CPU does
		 * (a step ends where eCX reaches a multiple of STRING_BUDGET). */
		uint32_t cx = o->in.addrsize32 ? o->vr.r[VMM_ECX] : o->vr.r[VMM_ECX] & 0xffff;
		uint32_t cx0 = areg(o, VMM_ECX);
		if (cx != cx0)
			o->res->charged_cycles += STRING_ELEM_CYCLES;
		if (done || (cx != cx0 && cx % STRING_BUDGET == 0)) {
			if (cx0 != 0)
				o->res->charged_cycles -= STRING_ELEM_CYCLES;
			done = true;
		}
	}
	for (int i = 0; i < 8; i++)
		o->regs->r[i] = o->vr.r[i];
	o->regs->eip = o->vr.eip;
	o->regs->eflags = (o->regs->eflags & ~VX_EFLAGS_ARITH) | (o->vr.eflags & VX_EFLAGS_ARITH);
	o->regs->eflags = (o->regs->eflags & ~EFLAGS_DF) | (o->vr.eflags & EFLAGS_DF);
	o->res->retired = done;
	return 0;
}

/* }====================================================================== */

/* {====== fetch and dispatch ====== */

#define MIN_U32(a, b) ((uint32_t)(a) < (uint32_t)(b) ? (uint32_t)(a) : (uint32_t)(b))

static vfault fetch(struct op *o)
{
	uint8_t b[VX_MAX_INSN_LEN];
	unsigned n = 0;
	vfault first = 0;
	const struct vmm_seg *cs = &o->regs->seg[VMM_CS];
	uint32_t page = 1, page_gpa = 0; /* the linear page walked last (1: none) */
	for (; n < sizeof b; n++) {
		uint32_t off = o->regs->eip + n, lin = cs->base + off;
		if (off > cs->limit) {
			first = VF(X_GP, 0);
			break;
		}
		if ((lin & PAGE_MASK) != page) { /* one walk per page, as the bytes' own would do */
			vfault f = vmem_walk(o->vm, lin, VACC_READ, o->vm->vcpu.cpl == 3, &page_gpa);
			if (f) {
				first = f;
				break;
			}
			page = lin & PAGE_MASK;
			page_gpa &= PAGE_MASK;
		}
		uint32_t hpa, gpa = page_gpa | (lin & (PAGE - 1));
		if (vmem_gpa_ram(o->vm, gpa, &hpa)) {
			/* RAM: the bytes up to the page's end (or the limit) at once */
			uint32_t k = MIN_U32(sizeof b - n, PAGE - (lin & (PAGE - 1)));
			if (cs->limit - off < k - 1)
				k = cs->limit - off + 1;
			o->vm->ops->read(o->vm->ops->opaque, hpa, b + n, k);
			n += k - 1;
		} else {
			b[n] = (uint8_t)vmem_rd_gpa(o->vm, gpa, 1);
		}
	}
	int len = vx_decode(b, n, (cs->attr & DESC_DB) != 0, &o->in);
	for (unsigned i = 0; i < n && len > 0 && i < (unsigned)len; i++)
		o->res->insn[i] = b[i];
	o->res->insn_len = len > 0 ? (uint8_t)len : 0;
	if (len == -3 && first)
		return first;
	if (len < 0)
		return len == -2 ? VF(X_GP, 0) : VF_N(X_UD);
	return 0;
}

static vfault dispatch(struct op *o)
{
	struct vx_insn *in = &o->in;
	switch (in->op) {
	case 0xfa: return do_cli_sti(o, false);
	case 0xfb: return do_cli_sti(o, true);
	case 0x9c: return do_pushf(o);
	case 0x9d: return do_popf(o);
	case 0xcf:
		o->vm->stats.priv[PK_IRET]++;
		o->res->retired = true;
		if (v86_sensitive(o))
			return VF(X_GP, 0);
		if ((ev_guest_flags(o->vm, o->regs->eflags) & (EFLAGS_NT | EFLAGS_VM)) == EFLAGS_NT)
			return vtask_iret(o->vm, o->regs, o->regs->eip + in->len);
		return ev_iret(o->vm, o->regs, in->opsize32);
	case 0xcd: return do_int(o, (int)(in->imm & 0xff), 30);
	case 0xcc: return do_int(o, X_BP, 30);
	case 0xf4:
		if (!cpl0(o))
			return VF(X_GP, 0);
		o->regs->halt = true;
		o->res->reason = VMM_EXIT_HLT;
		retire(o, PK_HLT, 0);
		return 0;
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
	case 0xec: case 0xed: case 0xee: case 0xef:
		return do_in_out(o, in->op & 2, in->op & 8, (in->op & 1) ? osz(o) : 1);
	case 0x6c: case 0x6d: return do_string_io(o, false);
	case 0x6e: case 0x6f: return do_string_io(o, true);
	case 0x101: return do_group_0f01(o);
	case 0x100: return do_group_0f00(o);
	case 0x102: case 0x103: return do_lar_lsl(o);
	case 0x106:
		if (!cpl0(o))
			return VF(X_GP, 0);
		o->vm->vcpu.cr0 &= ~CR0_TS;
		o->regs->cr0 &= ~CR0_TS;
		o->regs->dirty |= VMM_DIRTY_CTL;
		retire(o, PK_CR, 0);
		return 0;
	case 0x108: case 0x109:
		if (!cpl0(o))
			return VF(X_GP, 0);
		retire(o, PK_TLB, 0);
		return 0;
	case 0x120: return do_mov_from_cr(o);
	case 0x122: return do_mov_to_cr(o);
	case 0x121: return do_mov_dr(o, false);
	case 0x123: return do_mov_dr(o, true);
	case 0x130: return do_msr(o, true);
	case 0x132: return do_msr(o, false);
	case 0x131: return do_rdtsc(o);
	case 0x1a2: return do_cpuid(o);
	case 0x8c: case 0x8e: case 0x0e: case 0x16: case 0x17: case 0x1b2:
	case 0x1f: case 0x07: case 0x1a1: case 0x1a9:
	case 0xc5: case 0xc4: case 0x1b4: case 0x1b5:
		return do_segments(o);
	case 0xea: return do_far(o, false, (uint16_t)in->imm2, in->imm);
	case 0x9a: return do_far(o, true, (uint16_t)in->imm2, in->imm);
	case 0xcb: case 0xca: return do_ret_far(o);
	case 0xff:
		if (in->reg == 3 || in->reg == 5)
			return do_far_indirect(o, in->reg == 3);
		break;
	}
	return VF_NOT_EMULATED; /* not an instruction the monitor stands in for */
}

/*
 * The guest's own MSR_NESTLAB_CTL (kept virtual; docs/cpu.md, "Strict
 * mode") applies to the guest's code at CPL > 0 as the CPU applies it: with
 * STRICT a sensitive instruction (in v86 mode only SGDT, SIDT and SMSW),
 * with CPUID_FAULT a CPUID, raises #GP(0) for the guest instead of being
 * emulated. A guest monitor that runs its own guest deprivileged relies on
 * it to take that guest's sensitive instructions as traps.
 */
static bool guest_ctl_traps(const struct op *o)
{
	const struct vmm_vcpu *v = &o->vm->vcpu;
	const struct vx_insn *in = &o->in;
	bool strict = (v->msr_ctl & NESTLAB_CTL_STRICT_) != 0;
	if (!v->msr_ctl || v->cpl == 0)
		return false;
	if (in->op == 0x1a2)
		return (v->msr_ctl & NESTLAB_CTL_CPUID_FAULT_) != 0;
	if (in->op == 0x101 && in->reg <= 4 && in->reg != 2 && in->reg != 3)
		return strict; /* SGDT, SIDT, SMSW */
	if (!strict || (o->regs->eflags & EFLAGS_VM))
		return false;
	switch (in->op) {
	case 0x100: return in->reg <= 1 || in->reg == 4 || in->reg == 5; /* SLDT STR VERR VERW */
	case 0x102: case 0x103:                                          /* LAR LSL */
	case 0x9c: case 0x9d:                                            /* PUSHF POPF */
	case 0x0e: case 0x16: case 0x17:                                 /* PUSH CS/SS, POP SS */
	case 0x9a: case 0xea: case 0xca: case 0xcb:                      /* far CALL JMP RET */
	case 0xcd: case 0xcf:                                            /* INT n, IRET */
		return true;
	case 0x8c: return in->reg == VMM_CS || in->reg == VMM_SS;        /* MOV Ev, CS/SS */
	case 0x8e: return in->reg == VMM_SS;                             /* MOV SS, Ew */
	case 0xff: return in->reg == 3 || in->reg == 5;                  /* far CALL/JMP m */
	default: return false;
	}
}

vfault emu_insn(struct vmm *vm, struct vmm_regs *regs, struct vmm_result *res, bool mem_access)
{
	struct op o = { .vm = vm, .regs = regs, .res = res };
	for (int i = 0; i < 8; i++)
		o.vr.r[i] = regs->r[i];
	o.vr.eip = regs->eip;
	o.vr.eflags = regs->eflags;
	vfault f = fetch(&o);
	if (f)
		return f;
	res->op = o.in.op;
	res->reg = o.in.reg;
	res->mem = o.in.mem;
	if (mem_access)
		return do_memory(&o);
	res->reason = VMM_EXIT_PRIV;
	if (guest_ctl_traps(&o))
		return VF(X_GP, 0);
	return dispatch(&o);
}

/* }====================================================================== */
