/*
 * intr.c - delivery of interrupts and exceptions (Intel SDM Vol. 3,
 * chapter 6; Vol. 2, INT n/INTO/INT3 pseudo-code).
 *
 * Real mode reads the 4-byte vector from the IVT at IDTR.base and pushes
 * FLAGS, CS, IP and clears IF, TF, AC and RF. Protected mode reads the 8-byte
 * gate from the IDT:
 *
 *   task gate             -> task switch (error code on the new stack)
 *   interrupt/trap gate   -> the handler's code segment, and then one of
 *     inner privilege     : stack from the TSS, push SS ESP EFLAGS CS EIP [err]
 *     from v86 mode       : stack from TSS ring 0, push GS FS DS ES SS ESP
 *                           EFLAGS CS EIP [err], null GS FS DS ES, VM = 0
 *     same privilege      : push EFLAGS CS EIP [err] on the current stack
 *
 * Both gate kinds clear TF, NT, VM and RF; interrupt gates also clear IF.
 * 16-bit gates push 16-bit values. Error codes of faults found during
 * delivery of an external event or exception carry EXT (bit 0).
 *
 * Decided elsewhere: INT n in v86 mode with IOPL < 3 is #GP(0) before it
 * reaches here (the INT n handler in ctrl.c), as is INT n/INT3/INTO at
 * CPL > 0 in strict mode; double and triple faults are combined by the
 * run loop (exec.c), which calls cpu_deliver for one event at a time.
 */
#include "desc.h"

/* Size of a real-mode IVT entry and of a protected-mode IDT gate. */
#define IVT_ENTRY 4u
#define IDT_ENTRY 8u
/* Error code naming an IDT entry: index, IDT bit (bit 1), EXT. */
#define ERR_IDT 2

static int idt_err(int vec, bool ext)
{
	return vec * (int)IDT_ENTRY + ERR_IDT + (ext ? 1 : 0);
}

/* {====== real mode ====== */

static void deliver_real(struct cpu *cpu, int vec)
{
	uint32_t off = (uint32_t)vec * IVT_ENTRY;
	if (off + 3 > cpu->idtr.limit)
		cpu_gp0(cpu);
	uint32_t ent = lin_read(cpu, cpu->idtr.base + off, 4, false);
	uint32_t fl = flags_get(cpu);
	cpu_push(cpu, fl, 2);
	cpu_push(cpu, cpu->seg[SEG_CS].sel, 2);
	cpu_push(cpu, cpu->eip, 2);
	struct seg *cs = &cpu->seg[SEG_CS];
	cs->sel = (uint16_t)(ent >> 16);
	cs->base = (uint32_t)cs->sel << 4;
	cpu->eip = ent & 0xffff;
	cpu_set_eflags(cpu, fl & ~(EFLAGS_IF | EFLAGS_TF | EFLAGS_AC | EFLAGS_RF));
}

/* }====================================================================== */

/* {====== protected mode ====== */

/* What a trap or interrupt gate leads to, checked and ready to commit. */
struct target {
	uint64_t gate, cd;
	uint16_t csel;
	uint32_t eip;
	int gsz;   /* 2 or 4: the gate's push size */
	int err;   /* error code to push or ERR_NONE */
	bool ext;
};

/* The EFLAGS a handler starts with. */
static uint32_t handler_flags(uint32_t fl, const struct target *t)
{
	fl &= ~(EFLAGS_TF | EFLAGS_NT | EFLAGS_VM | EFLAGS_RF);
	int type = desc_type(t->gate);
	if (type == SYS_INTGATE16 || type == SYS_INTGATE32)
		fl &= ~EFLAGS_IF;
	return fl;
}

/* Pushes EIP/CS/EFLAGS/error (the part of the frame common to all kinds). */
static void push_frame(struct cpu *cpu, struct xstack *st, const struct target *t, uint32_t fl)
{
	xstack_push(cpu, st, fl, t->gsz);
	xstack_push(cpu, st, cpu->seg[SEG_CS].sel, t->gsz);
	xstack_push(cpu, st, cpu->eip, t->gsz);
	if (t->err != ERR_NONE)
		xstack_push(cpu, st, (uint32_t)t->err, t->gsz);
}

/* Commits the handler's CS:EIP and EFLAGS (every check and write is done). */
static void enter_handler(struct cpu *cpu, const struct target *t, int cpl, uint32_t fl)
{
	cpu_set_eflags(cpu, handler_flags(fl, t)); /* VM = 0 first: CPL follows CS then */
	seg_commit_cs(cpu, t->csel, t->cd, cpl);
	cpu->eip = t->eip;
}

/* Frame size in gate-sized slots: EFLAGS CS EIP, the error code, and extras. */
static uint32_t frame_bytes(const struct target *t, int extra)
{
	return (uint32_t)((3 + extra + (t->err != ERR_NONE)) * t->gsz);
}

/* To a more privileged level (and from v86 mode, to ring 0). */
static void deliver_inner(struct cpu *cpu, const struct target *t, bool from_v86)
{
	int dpl = desc_dpl(t->cd);
	uint16_t ssel;
	uint32_t esp;
	tss_inner_stack(cpu, dpl, &ssel, &esp, t->ext);
	uint64_t sd = inner_stack_check(cpu, ssel, dpl, t->ext);
	struct xstack ns;
	xstack_new(&ns, ssel, sd, esp, dpl, t->ext);
	xstack_room(cpu, &ns, frame_bytes(t, from_v86 ? 6 : 2));
	if (t->eip > desc_limit(t->cd))
		cpu_raise(cpu, EXC_GP, t->ext ? 1 : 0);
	uint32_t fl = flags_get(cpu);
	if (from_v86) {
		static const int regs[] = {SEG_GS, SEG_FS, SEG_DS, SEG_ES};
		for (int i = 0; i < 4; i++)
			xstack_push(cpu, &ns, cpu->seg[regs[i]].sel, t->gsz);
	}
	xstack_push(cpu, &ns, cpu->seg[SEG_SS].sel, t->gsz);
	xstack_push(cpu, &ns, cpu->r[ESP], t->gsz);
	push_frame(cpu, &ns, t, fl);
	desc_set_accessed(cpu, ssel, sd);
	desc_set_accessed(cpu, t->csel, t->cd);
	if (from_v86) {
		seg_set_null(&cpu->seg[SEG_GS], 0);
		seg_set_null(&cpu->seg[SEG_FS], 0);
		seg_set_null(&cpu->seg[SEG_DS], 0);
		seg_set_null(&cpu->seg[SEG_ES], 0);
	}
	seg_commit_ss(cpu, ssel, sd, ns.esp);
	enter_handler(cpu, t, dpl, fl);
}

/* To the same privilege level (or a conforming segment): current stack. */
static void deliver_same(struct cpu *cpu, const struct target *t)
{
	struct xstack st;
	xstack_current(cpu, &st, t->ext ? 1 : 0);
	xstack_room(cpu, &st, frame_bytes(t, 0));
	if (t->eip > desc_limit(t->cd))
		cpu_raise(cpu, EXC_GP, t->ext ? 1 : 0);
	uint32_t fl = flags_get(cpu);
	push_frame(cpu, &st, t, fl);
	desc_set_accessed(cpu, t->csel, t->cd);
	cpu->r[ESP] = st.esp;
	enter_handler(cpu, t, cpu->cpl, fl);
}

/* Interrupt or exception through a task gate. */
static void deliver_task(struct cpu *cpu, uint64_t gate, int err, bool ext)
{
	uint16_t tsel = gate_sel(gate);
	int e = sel_err(tsel, ext);
	if (tsel & SEL_TI)
		cpu_raise(cpu, EXC_GP, e);
	uint64_t td = desc_fetch(cpu, tsel, EXC_GP, ext);
	int type = desc_type(td);
	if (desc_is_seg(td) || (type != SYS_TSS16_AVAIL && type != SYS_TSS32_AVAIL))
		cpu_raise(cpu, EXC_GP, e);
	if (!desc_present(td))
		cpu_raise(cpu, EXC_NP, e);
	cpu_task_switch(cpu, tsel, td, TS_INT, err);
}

/* Trap or interrupt gate: checks the handler's code segment, picks the kind. */
static void deliver_gate(struct cpu *cpu, uint64_t gate, int err, bool ext)
{
	struct target t = {.gate = gate, .csel = gate_sel(gate), .err = err, .ext = ext};
	bool g32 = sys_is32(desc_type(gate));
	t.gsz = g32 ? 4 : 2;
	t.eip = g32 ? gate_off(gate) : gate_off(gate) & 0xffff;
	if (sel_null(t.csel))
		cpu_raise(cpu, EXC_GP, ext ? 1 : 0);
	t.cd = desc_fetch(cpu, t.csel, EXC_GP, ext);
	int e = sel_err(t.csel, ext);
	int dpl = desc_dpl(t.cd);
	if (!desc_is_code(t.cd) || dpl > cpu->cpl)
		cpu_raise(cpu, EXC_GP, e);
	if (!desc_present(t.cd))
		cpu_raise(cpu, EXC_NP, e);
	bool v86 = cpu_v86(cpu);
	if (!desc_conforming(t.cd) && dpl < cpu->cpl) {
		if (v86 && dpl != 0)
			cpu_raise(cpu, EXC_GP, e);
		deliver_inner(cpu, &t, v86);
		return;
	}
	if (v86)
		cpu_raise(cpu, EXC_GP, e);
	deliver_same(cpu, &t);
}

static void deliver_pmode(struct cpu *cpu, int vec, int err, bool soft, bool ext)
{
	uint32_t off = (uint32_t)vec * IDT_ENTRY;
	if (off + 7 > cpu->idtr.limit)
		cpu_raise(cpu, EXC_GP, idt_err(vec, ext));
	uint32_t lo = lin_read(cpu, cpu->idtr.base + off, 4, false);
	uint32_t hi = lin_read(cpu, cpu->idtr.base + off + 4, 4, false);
	uint64_t gate = ((uint64_t)hi << 32) | lo;
	int type = desc_type(gate);
	bool ok = !desc_is_seg(gate) && (type == SYS_TASKGATE || type == SYS_INTGATE16 ||
	                                 type == SYS_TRAPGATE16 || type == SYS_INTGATE32 ||
	                                 type == SYS_TRAPGATE32);
	if (!ok)
		cpu_raise(cpu, EXC_GP, idt_err(vec, ext));
	if (soft && desc_dpl(gate) < cpu->cpl)
		cpu_raise(cpu, EXC_GP, idt_err(vec, false));
	if (!desc_present(gate))
		cpu_raise(cpu, EXC_NP, idt_err(vec, ext));
	if (type == SYS_TASKGATE)
		deliver_task(cpu, gate, err, ext);
	else
		deliver_gate(cpu, gate, err, ext);
}

/* }====================================================================== */

void cpu_deliver(struct cpu *cpu, int vec, int err, bool soft, bool ext)
{
	if (cpu->guest.on) {
		/* A VM runs: the L0 monitor takes the event instead of the IDT. */
		unsigned flags = (soft ? CPU_EV_SOFT : 0) | (cpu->delivering_ext ? CPU_EV_EXT : 0);
		cpu->delivering_ext = false;
		cpu->block_end = true;
		cpu->guest.event(cpu->guest.opaque, cpu, vec, err, flags);
		return;
	}
	if (cpu->cr0 & CR0_PE)
		deliver_pmode(cpu, vec, err, soft, ext);
	else
		deliver_real(cpu, vec);
	cpu->block_end = true;
}
