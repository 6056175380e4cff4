/*
 * pmode.c - far control transfers: far JMP, far CALL, far RET and IRET in
 * real, virtual-8086 and protected mode, through code segments, conforming
 * code, call gates (with the stack switch and parameter copy of a call to
 * a more privileged level), task gates and TSS descriptors.
 *
 * Every check of the manual's pseudo-code (Intel SDM Vol. 2: CALL, JMP, RET,
 * IRET) runs before any architectural state changes; new stacks are built
 * through a struct xstack, a stack that is not yet SS, and the new CS, SS,
 * ESP, EIP and EFLAGS are committed together at the end. Only memory below
 * the stack pointers may have been written when a late check faults, which
 * no program can tell apart from the hardware.
 */
#include "desc.h"

/* EFLAGS bits an IRET in real mode (32-bit) takes from the stack image. */
#define IRET_REAL_MASK 0x257fd5u
/* ... and keeps from the current EFLAGS: VM, VIF, VIP. */
#define IRET_REAL_KEEP 0x1a0000u

/* {====== stacks that are not yet SS ====== */

static uint32_t xstack_mask(const struct xstack *st)
{
	return (st->ss.attr & DESC_DB) ? 0xffffffffu : 0xffffu;
}

void xstack_current(struct cpu *cpu, struct xstack *st, int err)
{
	st->ss = cpu->seg[SEG_SS];
	st->esp = cpu->r[ESP];
	st->user = mmu_user_index(cpu, cpu->cpl);
	st->vec = EXC_SS;
	st->err = err;
}

void xstack_new(struct xstack *st, uint16_t sel, uint64_t d, uint32_t esp, int dpl, bool ext)
{
	seg_from_desc(&st->ss, sel, d);
	st->esp = esp;
	st->user = dpl == 3;
	st->vec = EXC_SS;
	st->err = sel_err(sel, ext);
}

void xstack_room(struct cpu *cpu, const struct xstack *st, uint32_t n)
{
	uint32_t m = xstack_mask(st);
	if (!seg_in_limit(&st->ss, (st->esp - n) & m, (int)n))
		cpu_raise(cpu, st->vec, st->err);
}

void xstack_push(struct cpu *cpu, struct xstack *st, uint32_t v, int sz)
{
	uint32_t m = xstack_mask(st);
	uint32_t sp = (st->esp - (uint32_t)sz) & m;
	if (!seg_in_limit(&st->ss, sp, sz))
		cpu_raise(cpu, st->vec, st->err);
	lin_write(cpu, st->ss.base + sp, v, sz, st->user);
	st->esp = (st->esp & ~m) | sp;
}

uint32_t xstack_read(struct cpu *cpu, const struct xstack *st, uint32_t off, int sz)
{
	uint32_t sp = (st->esp + off) & xstack_mask(st);
	if (!seg_in_limit(&st->ss, sp, sz))
		cpu_raise(cpu, st->vec, st->err);
	return lin_read(cpu, st->ss.base + sp, sz, st->user);
}

void tss_inner_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp, bool ext)
{
	const struct seg *tr = &cpu->tr;
	if (sys_is32(tr->attr & DESC_TYPE)) {
		uint32_t off = TSS32_ESP0 + 8u * (uint32_t)dpl;
		if (off + 5 > tr->limit)
			cpu_raise(cpu, EXC_TS, sel_err(tr->sel, ext));
		*esp = dt_read(cpu, tr->base + off, 4);
		*ss = (uint16_t)dt_read(cpu, tr->base + off + 4, 2);
	} else {
		uint32_t off = TSS16_SP0 + 4u * (uint32_t)dpl;
		if (off + 3 > tr->limit)
			cpu_raise(cpu, EXC_TS, sel_err(tr->sel, ext));
		*esp = dt_read(cpu, tr->base + off, 2);
		*ss = (uint16_t)dt_read(cpu, tr->base + off + 2, 2);
	}
}

uint64_t inner_stack_check(struct cpu *cpu, uint16_t ss, int dpl, bool ext)
{
	if (sel_null(ss))
		cpu_raise(cpu, EXC_TS, ext ? 1 : 0);
	uint64_t d = desc_fetch(cpu, ss, EXC_TS, ext);
	int err = sel_err(ss, ext);
	if ((ss & SEL_RPL) != dpl || desc_dpl(d) != dpl || !desc_writable_data(d))
		cpu_raise(cpu, EXC_TS, err);
	if (!desc_present(d))
		cpu_raise(cpu, EXC_SS, err);
	return d;
}

/* }====================================================================== */

/* {====== shared pieces ====== */

void cpu_jump_near(struct cpu *cpu, uint32_t eip)
{
	if (eip > cpu->seg[SEG_CS].limit)
		cpu_gp0(cpu);
	cpu->eip = eip;
}

/* Loads CS the real-mode or v86 way (base = sel << 4). */
static void load_cs_real(struct cpu *cpu, uint16_t sel)
{
	struct seg *cs = &cpu->seg[SEG_CS];
	if (cpu_v86(cpu)) {
		seg_set_v86(cs, sel);
	} else {
		cs->sel = sel;
		cs->base = (uint32_t)sel << 4;
	}
	cpu_mode_changed(cpu);
	cpu->block_end = true;
}

/* The CS limit a real-mode or v86 far transfer checks against. */
static uint32_t real_cs_limit(const struct cpu *cpu)
{
	return cpu_v86(cpu) ? 0xffffu : cpu->seg[SEG_CS].limit;
}

/* A JMP/CALL straight to a code segment: #GP(sel) on type or privilege, #NP(sel). */
static void check_code_direct(struct cpu *cpu, uint16_t sel, uint64_t d)
{
	int err = sel_err(sel, false);
	if (!desc_is_code(d))
		cpu_raise(cpu, EXC_GP, err);
	if (desc_conforming(d)) {
		if (desc_dpl(d) > cpu->cpl)
			cpu_raise(cpu, EXC_GP, err);
	} else if ((sel & SEL_RPL) > cpu->cpl || desc_dpl(d) != cpu->cpl) {
		cpu_raise(cpu, EXC_GP, err);
	}
	if (!desc_present(d))
		cpu_raise(cpu, EXC_NP, err);
}

/* A gate or TSS named by JMP/CALL: DPL >= CPL and >= RPL, present. */
static void check_gate(struct cpu *cpu, uint16_t sel, uint64_t d)
{
	int err = sel_err(sel, false);
	if (desc_dpl(d) < cpu->cpl || desc_dpl(d) < (sel & SEL_RPL))
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_present(d))
		cpu_raise(cpu, EXC_NP, err);
}

/* The code segment named by a call gate: returns its descriptor. */
static uint64_t gate_target(struct cpu *cpu, uint16_t csel)
{
	if (sel_null(csel))
		cpu_gp0(cpu);
	uint64_t cd = desc_read(cpu, csel, EXC_GP);
	int err = sel_err(csel, false);
	if (!desc_is_code(cd) || desc_dpl(cd) > cpu->cpl)
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_present(cd))
		cpu_raise(cpu, EXC_NP, err);
	return cd;
}

/* JMP/CALL through a task gate: the TSS it names must be an available one in the GDT. */
static void task_gate(struct cpu *cpu, uint64_t gate, enum ts_reason why)
{
	uint16_t tsel = gate_sel(gate);
	int err = sel_err(tsel, false);
	if (tsel & SEL_TI)
		cpu_raise(cpu, EXC_GP, err);
	uint64_t td = desc_read(cpu, tsel, EXC_GP);
	int t = desc_type(td);
	if (desc_is_seg(td) || (t != SYS_TSS16_AVAIL && t != SYS_TSS32_AVAIL))
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_present(td))
		cpu_raise(cpu, EXC_NP, err);
	cpu_task_switch(cpu, tsel, td, why, ERR_NONE);
}

/* Code segment checks of a far RET or IRET to `rcs` (Vol. 2, RET/IRET). */
static uint64_t return_cs_check(struct cpu *cpu, uint16_t rcs)
{
	if (sel_null(rcs))
		cpu_gp0(cpu);
	uint64_t cd = desc_read(cpu, rcs, EXC_GP);
	int err = sel_err(rcs, false);
	int rpl = rcs & SEL_RPL;
	if (!desc_is_code(cd) || rpl < cpu->cpl)
		cpu_raise(cpu, EXC_GP, err);
	if (desc_conforming(cd) ? desc_dpl(cd) > rpl : desc_dpl(cd) != rpl)
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_present(cd))
		cpu_raise(cpu, EXC_NP, err);
	return cd;
}

/* Stack segment checks of a return to the outer level `rpl`. */
static uint64_t return_ss_check(struct cpu *cpu, uint16_t rss, int rpl)
{
	if (sel_null(rss))
		cpu_gp0(cpu);
	uint64_t sd = desc_read(cpu, rss, EXC_GP);
	int err = sel_err(rss, false);
	if ((rss & SEL_RPL) != rpl || !desc_writable_data(sd) || desc_dpl(sd) != rpl)
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_present(sd))
		cpu_raise(cpu, EXC_SS, err);
	return sd;
}

/*
 * After a return to an outer level: ES, DS, FS and GS holding data or
 * non-conforming code more privileged than the new CPL become null, so
 * the outer level cannot use what the inner one left behind.
 */
static void drop_inner_segments(struct cpu *cpu)
{
	static const int regs[] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
	for (int i = 0; i < 4; i++) {
		struct seg *s = &cpu->seg[regs[i]];
		if (!(s->attr & DESC_S))
			continue; /* null or unusable: left as is */
		bool conforming_code = (s->attr & (DESC_TYPE_CODE | DESC_TYPE_C)) == (DESC_TYPE_CODE | DESC_TYPE_C);
		int dpl = (s->attr & DESC_DPL) >> DESC_DPL_SHIFT;
		if (!conforming_code && dpl < cpu->cpl) {
			s->sel = 0;
			s->attr &= (uint16_t)~DESC_P;
			seg_update_ok(cpu, regs[i]);
		}
	}
}

/* }====================================================================== */

/* {====== far JMP ====== */

/* JMP ptr16:16/32 and JMP m16:16/32 in protected mode. */
static void far_jump_pmode(struct cpu *cpu, uint16_t sel, uint32_t off, int sz)
{
	if (sel_null(sel))
		cpu_gp0(cpu);
	uint64_t d = desc_read(cpu, sel, EXC_GP);
	if (desc_is_seg(d)) {
		check_code_direct(cpu, sel, d);
		if (sz == 2)
			off &= 0xffff;
		if (off > desc_limit(d))
			cpu_gp0(cpu);
		desc_set_accessed(cpu, sel, d);
		seg_commit_cs(cpu, sel, d, cpu->cpl);
		cpu->eip = off;
		return;
	}
	switch (desc_type(d)) {
	case SYS_CALLGATE16:
	case SYS_CALLGATE32: {
		check_gate(cpu, sel, d);
		uint16_t csel = gate_sel(d);
		uint64_t cd = gate_target(cpu, csel);
		if (!desc_conforming(cd) && desc_dpl(cd) != cpu->cpl)
			cpu_raise(cpu, EXC_GP, sel_err(csel, false));
		uint32_t t = sys_is32(desc_type(d)) ? gate_off(d) : gate_off(d) & 0xffff;
		if (t > desc_limit(cd))
			cpu_gp0(cpu);
		desc_set_accessed(cpu, csel, cd);
		seg_commit_cs(cpu, csel, cd, cpu->cpl);
		cpu->eip = t;
		return;
	}
	case SYS_TASKGATE:
		check_gate(cpu, sel, d);
		task_gate(cpu, d, TS_JMP);
		return;
	case SYS_TSS16_AVAIL:
	case SYS_TSS32_AVAIL:
		check_gate(cpu, sel, d);
		cpu_task_switch(cpu, sel, d, TS_JMP, ERR_NONE);
		return;
	default:
		cpu_raise(cpu, EXC_GP, sel_err(sel, false));
	}
}

void cpu_far_jump(struct cpu *cpu, uint16_t sel, uint32_t off, int sz)
{
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
	if (cpu_pmode(cpu)) {
		far_jump_pmode(cpu, sel, off, sz);
		return;
	}
	if (sz == 2)
		off &= 0xffff;
	if (off > real_cs_limit(cpu))
		cpu_gp0(cpu);
	load_cs_real(cpu, sel);
	cpu->eip = off;
}

/* }====================================================================== */

/* {====== far CALL ====== */

/* CALL through a call gate to a more privileged non-conforming segment. */
static void call_gate_inner(struct cpu *cpu, uint64_t gate, uint16_t csel, uint64_t cd, uint32_t t)
{
	int dpl = desc_dpl(cd);
	int gsz = sys_is32(desc_type(gate)) ? 4 : 2;
	int n = gate_count(gate);
	uint16_t ssel;
	uint32_t esp;
	tss_inner_stack(cpu, dpl, &ssel, &esp, false);
	uint64_t sd = inner_stack_check(cpu, ssel, dpl, false);
	struct xstack ns, os;
	xstack_new(&ns, ssel, sd, esp, dpl, false);
	xstack_room(cpu, &ns, (uint32_t)((4 + n) * gsz));
	if (t > desc_limit(cd))
		cpu_gp0(cpu);
	xstack_current(cpu, &os, 0);
	xstack_push(cpu, &ns, cpu->seg[SEG_SS].sel, gsz);
	xstack_push(cpu, &ns, cpu->r[ESP], gsz);
	for (int i = n - 1; i >= 0; i--)
		xstack_push(cpu, &ns, xstack_read(cpu, &os, (uint32_t)(i * gsz), gsz), gsz);
	xstack_push(cpu, &ns, cpu->seg[SEG_CS].sel, gsz);
	xstack_push(cpu, &ns, cpu->eip, gsz);
	desc_set_accessed(cpu, ssel, sd);
	desc_set_accessed(cpu, csel, cd);
	seg_commit_ss(cpu, ssel, sd, ns.esp);
	seg_commit_cs(cpu, csel, cd, dpl);
	cpu->eip = t;
}

/* Pushes the return CS:EIP on the current stack and enters csel:t at CPL. */
static void call_same_level(struct cpu *cpu, uint16_t csel, uint64_t cd, uint32_t t, int psz)
{
	struct xstack st;
	xstack_current(cpu, &st, 0);
	xstack_room(cpu, &st, (uint32_t)(2 * psz));
	if (t > desc_limit(cd))
		cpu_gp0(cpu);
	xstack_push(cpu, &st, cpu->seg[SEG_CS].sel, psz);
	xstack_push(cpu, &st, cpu->eip, psz);
	desc_set_accessed(cpu, csel, cd);
	cpu->r[ESP] = st.esp;
	seg_commit_cs(cpu, csel, cd, cpu->cpl);
	cpu->eip = t;
}

/* CALL ptr16:16/32 and CALL m16:16/32 in protected mode. */
static void far_call_pmode(struct cpu *cpu, uint16_t sel, uint32_t off, int sz)
{
	if (sel_null(sel))
		cpu_gp0(cpu);
	uint64_t d = desc_read(cpu, sel, EXC_GP);
	if (desc_is_seg(d)) {
		check_code_direct(cpu, sel, d);
		call_same_level(cpu, sel, d, sz == 2 ? off & 0xffff : off, sz);
		return;
	}
	switch (desc_type(d)) {
	case SYS_CALLGATE16:
	case SYS_CALLGATE32: {
		check_gate(cpu, sel, d);
		uint16_t csel = gate_sel(d);
		uint64_t cd = gate_target(cpu, csel);
		bool g32 = sys_is32(desc_type(d));
		uint32_t t = g32 ? gate_off(d) : gate_off(d) & 0xffff;
		if (!desc_conforming(cd) && desc_dpl(cd) < cpu->cpl)
			call_gate_inner(cpu, d, csel, cd, t);
		else
			call_same_level(cpu, csel, cd, t, g32 ? 4 : 2);
		return;
	}
	case SYS_TASKGATE:
		check_gate(cpu, sel, d);
		task_gate(cpu, d, TS_CALL);
		return;
	case SYS_TSS16_AVAIL:
	case SYS_TSS32_AVAIL:
		check_gate(cpu, sel, d);
		cpu_task_switch(cpu, sel, d, TS_CALL, ERR_NONE);
		return;
	default:
		cpu_raise(cpu, EXC_GP, sel_err(sel, false));
	}
}

void cpu_far_call(struct cpu *cpu, uint16_t sel, uint32_t off, int sz)
{
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
	if (cpu_pmode(cpu)) {
		far_call_pmode(cpu, sel, off, sz);
		return;
	}
	if (sz == 2)
		off &= 0xffff;
	cpu_push(cpu, cpu->seg[SEG_CS].sel, sz);
	cpu_push(cpu, cpu->eip, sz);
	if (off > real_cs_limit(cpu))
		cpu_gp0(cpu);
	load_cs_real(cpu, sel);
	cpu->eip = off;
}

/* }====================================================================== */

/* {====== far RET ====== */

/* RET far in protected mode: same level, or outer level with SS:ESP popped. */
static void far_ret_pmode(struct cpu *cpu, int sz, uint32_t imm)
{
	struct xstack st;
	xstack_current(cpu, &st, 0);
	uint32_t reip = xstack_read(cpu, &st, 0, sz);
	uint16_t rcs = (uint16_t)xstack_read(cpu, &st, (uint32_t)sz, sz);
	uint64_t cd = return_cs_check(cpu, rcs);
	int rpl = rcs & SEL_RPL;
	if (sz == 2)
		reip &= 0xffff;
	if (rpl == cpu->cpl) {
		if (reip > desc_limit(cd))
			cpu_gp0(cpu);
		desc_set_accessed(cpu, rcs, cd);
		set_sp(cpu, get_sp(cpu) + 2 * (uint32_t)sz + imm);
		seg_commit_cs(cpu, rcs, cd, rpl);
		cpu->eip = reip;
		return;
	}
	uint32_t resp = xstack_read(cpu, &st, 2 * (uint32_t)sz + imm, sz);
	uint16_t rss = (uint16_t)xstack_read(cpu, &st, 3 * (uint32_t)sz + imm, sz);
	uint64_t sd = return_ss_check(cpu, rss, rpl);
	if (reip > desc_limit(cd))
		cpu_gp0(cpu);
	desc_set_accessed(cpu, rcs, cd);
	desc_set_accessed(cpu, rss, sd);
	seg_commit_cs(cpu, rcs, cd, rpl);
	seg_commit_ss(cpu, rss, sd, resp + imm);
	cpu->eip = reip;
	drop_inner_segments(cpu);
}

void cpu_far_ret(struct cpu *cpu, int sz, uint32_t imm)
{
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
	if (cpu_pmode(cpu)) {
		far_ret_pmode(cpu, sz, imm);
		return;
	}
	uint32_t reip = cpu_pop(cpu, sz);
	uint16_t rcs = (uint16_t)cpu_pop(cpu, sz);
	if (reip > real_cs_limit(cpu))
		cpu_gp0(cpu);
	set_sp(cpu, get_sp(cpu) + imm);
	load_cs_real(cpu, rcs);
	cpu->eip = reip;
}

/* }====================================================================== */

/* {====== IRET ====== */

/* IRET in real mode, and in v86 mode with IOPL 3 (IOPL then stays). */
static void iret_real(struct cpu *cpu, int sz)
{
	uint32_t reip = cpu_pop(cpu, sz);
	uint16_t rcs = (uint16_t)cpu_pop(cpu, sz);
	uint32_t rfl = cpu_pop(cpu, sz);
	if (reip > real_cs_limit(cpu))
		cpu_gp0(cpu);
	uint32_t cur = flags_get(cpu);
	uint32_t keep = IRET_REAL_KEEP | (cpu_v86(cpu) ? EFLAGS_IOPL : 0);
	uint32_t nf;
	if (sz == 4)
		nf = (rfl & IRET_REAL_MASK & ~keep) | (cur & keep);
	else
		nf = (cur & (0xffff0000u | keep)) | (rfl & 0xffff & ~keep);
	load_cs_real(cpu, rcs);
	cpu->eip = reip;
	cpu_set_eflags(cpu, nf);
}

/* IRET with NT = 1: return to the task named by the back link of the TSS. */
static void iret_task(struct cpu *cpu)
{
	uint16_t link = (uint16_t)dt_read(cpu, cpu->tr.base + TSS32_LINK, 2);
	int err = sel_err(link, false);
	if (link & SEL_TI)
		cpu_raise(cpu, EXC_TS, err);
	uint64_t d = desc_fetch(cpu, link, EXC_TS, false);
	int t = desc_type(d);
	if (desc_is_seg(d) || (t != SYS_TSS16_BUSY && t != SYS_TSS32_BUSY))
		cpu_raise(cpu, EXC_TS, err);
	if (!desc_present(d))
		cpu_raise(cpu, EXC_NP, err);
	cpu_task_switch(cpu, link, d, TS_IRET, ERR_NONE);
}

/* IRETD at CPL 0 with VM = 1 in the popped EFLAGS: back to v86 mode. */
static void iret_to_v86(struct cpu *cpu, const struct xstack *st, uint32_t reip, uint16_t rcs, uint32_t rfl)
{
	uint32_t resp = xstack_read(cpu, st, 12, 4);
	uint16_t v[5]; /* SS ES DS FS GS */
	for (int i = 0; i < 5; i++)
		v[i] = (uint16_t)xstack_read(cpu, st, 16 + 4 * (uint32_t)i, 4);
	if (reip > 0xffff)
		cpu_gp0(cpu);
	seg_set_v86(&cpu->seg[SEG_CS], rcs);
	seg_set_v86(&cpu->seg[SEG_SS], v[0]);
	seg_set_v86(&cpu->seg[SEG_ES], v[1]);
	seg_set_v86(&cpu->seg[SEG_DS], v[2]);
	seg_set_v86(&cpu->seg[SEG_FS], v[3]);
	seg_set_v86(&cpu->seg[SEG_GS], v[4]);
	cpu->r[ESP] = resp;
	cpu->eip = reip;
	cpu_set_eflags(cpu, rfl); /* VM = 1: CPL 3 and the v86 caches follow */
	cpu->block_end = true;
}

/* The EFLAGS an IRET in protected mode loads: which bits it may change
 * depends on the operand size, on CPL (before the return) and on IOPL. */
static uint32_t iret_flags(struct cpu *cpu, uint32_t rfl, int sz)
{
	uint32_t cur = flags_get(cpu);
	uint32_t m = EFLAGS_ARITH | EFLAGS_TF | EFLAGS_DF | EFLAGS_NT;
	if (sz == 4)
		m |= EFLAGS_RF | EFLAGS_AC | EFLAGS_ID;
	if (cpu->cpl <= cpu_iopl(cpu))
		m |= EFLAGS_IF;
	if (cpu->cpl == 0) {
		m |= EFLAGS_IOPL;
		if (sz == 4)
			m |= EFLAGS_VIF | EFLAGS_VIP;
	}
	return (cur & ~m) | (rfl & m);
}

/* IRET in protected mode without NT: same level, outer level or v86. */
static void iret_pmode(struct cpu *cpu, int sz)
{
	struct xstack st;
	xstack_current(cpu, &st, 0);
	uint32_t reip = xstack_read(cpu, &st, 0, sz);
	uint16_t rcs = (uint16_t)xstack_read(cpu, &st, (uint32_t)sz, sz);
	uint32_t rfl = xstack_read(cpu, &st, 2 * (uint32_t)sz, sz);
	if (sz == 4 && (rfl & EFLAGS_VM) && cpu->cpl == 0) {
		iret_to_v86(cpu, &st, reip, rcs, rfl);
		return;
	}
	uint64_t cd = return_cs_check(cpu, rcs);
	int rpl = rcs & SEL_RPL;
	uint32_t nf = iret_flags(cpu, rfl, sz);
	if (rpl == cpu->cpl) {
		if (reip > desc_limit(cd))
			cpu_gp0(cpu);
		desc_set_accessed(cpu, rcs, cd);
		set_sp(cpu, get_sp(cpu) + 3 * (uint32_t)sz);
		seg_commit_cs(cpu, rcs, cd, rpl);
		cpu->eip = reip;
		cpu_set_eflags(cpu, nf);
		return;
	}
	uint32_t resp = xstack_read(cpu, &st, 3 * (uint32_t)sz, sz);
	uint16_t rss = (uint16_t)xstack_read(cpu, &st, 4 * (uint32_t)sz, sz);
	uint64_t sd = return_ss_check(cpu, rss, rpl);
	if (reip > desc_limit(cd))
		cpu_gp0(cpu);
	desc_set_accessed(cpu, rcs, cd);
	desc_set_accessed(cpu, rss, sd);
	seg_commit_cs(cpu, rcs, cd, rpl);
	seg_commit_ss(cpu, rss, sd, resp);
	cpu->eip = reip;
	cpu_set_eflags(cpu, nf);
	drop_inner_segments(cpu);
}

void cpu_iret(struct cpu *cpu, int sz)
{
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
	/* IRET ends NMI blocking (SDM Vol. 3A, 6.7.1), even if it then faults
	 * (as VMX's "NMI unblocking due to IRET" tells) */
	if (cpu_v86(cpu)) {
		if (cpu_iopl(cpu) < 3)
			cpu_gp0(cpu);
		cpu->in_nmi = false;
		iret_real(cpu, sz);
	} else if (!(cpu->cr0 & CR0_PE)) {
		cpu->in_nmi = false;
		iret_real(cpu, sz);
	} else if (cpu->eflags & EFLAGS_NT) {
		cpu->in_nmi = false;
		iret_task(cpu);
	} else {
		cpu->in_nmi = false;
		iret_pmode(cpu, sz);
	}
	cpu->block_end = true;
}

/* }====================================================================== */
