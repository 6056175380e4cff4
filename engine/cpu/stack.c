/*
 * stack.c - the stack: the push/pop primitives every family uses, and
 * PUSH, POP, PUSHA, POPA, PUSHF, POPF, ENTER and LEAVE.
 *
 * The stack address size is SS.B (cpu->stack32): a 16-bit stack uses SP and
 * wraps at 64 KiB whatever the operand size. A push checks and writes the
 * new slot before ESP moves, so a fault leaves ESP alone; the run loop also
 * puts ESP back (start_esp) when an instruction faults after pushing.
 *
 * PUSHF/POPF carry the rules that made the i386 famous in virtualization
 * circles: at CPL > IOPL, POPF silently keeps IF instead of trapping (the
 * Popek-Goldberg hole), and PUSHF shows the real IOPL. Strict mode closes
 * the hole: both raise #GP(0) at CPL > 0 so a monitor can emulate them.
 *
 * Intel SDM Vol. 2: PUSH, POP, PUSHA/PUSHAD, POPA/POPAD, PUSHF/PUSHFD,
 * POPF/POPFD, ENTER, LEAVE.
 */
#include "cpu_int.h"

/* EFLAGS bits POPF may write at CPL 0 in protected or real mode (i686:
 * AC and ID exist). RF, VM, VIF and VIP are never written by POPF. */
#define POPF_BITS                                                                                  \
	(EFLAGS_ARITH | EFLAGS_TF | EFLAGS_IF | EFLAGS_DF | EFLAGS_IOPL | EFLAGS_NT | EFLAGS_AC |  \
	 EFLAGS_ID)

/* ENTER's nesting level is taken modulo 32. */
#define ENTER_LEVEL_MASK 0x1f

/* {====== the primitives ====== */

/* Pushes `sz` bytes of v on SS:eSP. The slot is written (and may fault)
 * before eSP changes. */
void cpu_push(struct cpu *cpu, uint32_t v, int sz)
{
	uint32_t sp = (get_sp(cpu) - (uint32_t)sz) & sp_mask(cpu);
	mem_wr(cpu, SEG_SS, sp, v, sz);
	set_sp(cpu, sp);
}

/* Pops `sz` bytes from SS:eSP and returns them; eSP moves only after the
 * read succeeded. */
uint32_t cpu_pop(struct cpu *cpu, int sz)
{
	uint32_t sp = get_sp(cpu);
	uint32_t v = mem_rd(cpu, SEG_SS, sp, sz);
	set_sp(cpu, sp + (uint32_t)sz);
	return v;
}

/* Reads the stack slot `off` bytes above eSP (wrapping at the stack
 * address size) without moving eSP. */
uint32_t cpu_stack_peek(struct cpu *cpu, uint32_t off, int sz)
{
	return mem_rd(cpu, SEG_SS, (get_sp(cpu) + off) & sp_mask(cpu), sz);
}

/* }====================================================================== */

/* {====== PUSH and POP ====== */

/* PUSH r (50-57): PUSH SP pushes the value before the decrement (286+). */
static void op_push_zv(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	cpu_push(cpu, reg_sz(cpu, in->op & 7, sz), sz);
}

/* POP r (58-5F): POP SP loads the popped value (the increment is lost).
 * Not inlined: also the slow path of op_pop_rd. */
static __attribute__((noinline)) void op_pop_zv(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t v = cpu_pop(cpu, sz);
	set_reg_sz(cpu, in->op & 7, v, sz);
}

/* PUSH r32 (50-57), the 32-bit operand size form (cpu_set_fast) */
static void op_push_rd(struct cpu *cpu, const struct insn *in)
{
	cpu_push32(cpu, cpu->r[in->op & 7]);
}

/* POP r32 (58-5F), the 32-bit operand size form (cpu_set_fast) */
static void op_pop_rd(struct cpu *cpu, const struct insn *in)
{
	uint8_t *p;
	if (likely(stack_slot32(cpu, cpu->r[ESP], ACC_READ, &p))) {
		uint32_t v = host_ld(p, 4);
		cpu->r[ESP] += 4;
		cpu->r[in->op & 7] = v; /* POP ESP: the loaded value wins */
		return;
	}
	op_pop_zv(cpu, in);
}

/* PUSH Iz / PUSH Ib (68, 6A); the byte form is sign-extended. */
static void op_push_i(struct cpu *cpu, const struct insn *in)
{
	cpu_push(cpu, in->imm, osz(in));
}

/* PUSH Ev (FF /6): the operand address uses eSP before the push. */
static void op_push_ev(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	cpu_push(cpu, rm_read(cpu, in, sz), sz);
}

/* POP Ev (8F /0): eSP is incremented first, so an address based on eSP
 * sees the new value (SDM, POP). A fault on the write puts eSP back. */
static void op_pop_ev(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t v = cpu_pop(cpu, sz);
	rm_write(cpu, in, v, sz);
}

/* Segment register of PUSH/POP Sreg by opcode. */
static int sreg_of(const struct insn *in)
{
	switch (in->op) {
	case 0x06: case 0x07: return SEG_ES;
	case 0x0e: return SEG_CS;
	case 0x16: case 0x17: return SEG_SS;
	case 0x1e: case 0x1f: return SEG_DS;
	case 0x1a0: case 0x1a1: return SEG_FS;
	default: return SEG_GS;
	}
}

/* Strict mode: PUSH CS/SS and POP SS reveal or change privilege state. */
static void strict_cs_ss(struct cpu *cpu, int sreg)
{
	if ((sreg == SEG_CS || sreg == SEG_SS) && cpu_strict_trap(cpu))
		cpu_gp0(cpu);
}

/* PUSH Sreg (06 0E 16 1E, 0F A0, 0F A8): with a 32-bit operand size eSP
 * moves by 4 but only the low word is written (P6). */
static void op_push_sw(struct cpu *cpu, const struct insn *in)
{
	int s = sreg_of(in), sz = osz(in);
	strict_cs_ss(cpu, s);
	uint32_t sp = (get_sp(cpu) - (uint32_t)sz) & sp_mask(cpu);
	uint32_t lin = seg_lin(cpu, SEG_SS, sp, sz, ACC_WRITE);
	lin_wr(cpu, lin, cpu->seg[s].sel, 2);
	set_sp(cpu, sp);
}

/* POP Sreg (07 17 1F, 0F A1, 0F A9): the segment is loaded before eSP
 * moves; eSP moves by the stack size that was in force before (POP SS may
 * change SS.B). POP SS holds interrupts for one instruction (seg_load). */
static void op_pop_sw(struct cpu *cpu, const struct insn *in)
{
	int s = sreg_of(in), sz = osz(in);
	strict_cs_ss(cpu, s);
	bool stack32 = cpu->stack32;
	uint32_t sp = get_sp(cpu);
	uint16_t sel = (uint16_t)mem_rd(cpu, SEG_SS, sp, sz);
	seg_load(cpu, s, sel);
	if (stack32)
		cpu->r[ESP] = sp + (uint32_t)sz;
	else
		set_reg16(cpu, ESP, sp + (uint32_t)sz);
}

/* PUSHA/PUSHAD (60): AX CX DX BX, the original SP, BP SI DI. */
static void op_pusha(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t sp = reg_sz(cpu, ESP, sz);
	for (int r = EAX; r <= EDI; r++)
		cpu_push(cpu, r == ESP ? sp : reg_sz(cpu, r, sz), sz);
}

/* POPA/POPAD (61): all slots are read before any register is written;
 * the SP slot is skipped. */
static void op_popa(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t v[8];
	for (int r = EDI; r >= EAX; r--)
		v[r] = cpu_stack_peek(cpu, (uint32_t)((EDI - r) * sz), sz);
	for (int r = EAX; r <= EDI; r++)
		if (r != ESP)
			set_reg_sz(cpu, r, v[r], sz);
	set_sp(cpu, get_sp(cpu) + 8u * (uint32_t)sz);
}

/* }====================================================================== */

/* {====== ENTER and LEAVE ====== */

/* ENTER Iw,Ib (C8): builds a frame with `level` (mod 32) display
 * entries. eBP is written only at the end, so a fault leaves it alone. */
static void op_enter(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t size = in->imm & 0xffff;
	int level = (int)(in->imm2 & ENTER_LEVEL_MASK);
	uint32_t smask = sp_mask(cpu);
	cpu_push(cpu, reg_sz(cpu, EBP, sz), sz);
	uint32_t frame = cpu->r[ESP];
	if (level > 0) {
		uint32_t bp = cpu->r[EBP];
		for (int i = 1; i < level; i++) {
			bp -= (uint32_t)sz;
			cpu_push(cpu, mem_rd(cpu, SEG_SS, bp & smask, sz), sz);
		}
		cpu_push(cpu, frame, sz);
	}
	uint32_t sp = (get_sp(cpu) - size) & smask;
	/* The new top of stack is probed for writing, as the hardware does. */
	uint32_t lin = seg_lin(cpu, SEG_SS, sp, sz, ACC_WRITE);
	mmu_translate(cpu, lin, ACC_WRITE, cpu->user);
	set_reg_sz(cpu, EBP, frame, sz);
	set_sp(cpu, sp);
}

/* LEAVE (C9): eSP = eBP (stack size), then POP eBP (operand size). */
static void op_leave(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t sp = cpu->r[EBP] & sp_mask(cpu);
	uint32_t v = mem_rd(cpu, SEG_SS, sp, sz);
	set_sp(cpu, sp + (uint32_t)sz);
	set_reg_sz(cpu, EBP, v, sz);
}

/* }====================================================================== */

/* {====== PUSHF and POPF ====== */

/* #GP(0) where PUSHF/POPF are not allowed: v86 mode with IOPL < 3 (no VME
 * on this CPU), and any CPL > 0 in strict mode. */
static void flags_insn_check(struct cpu *cpu)
{
	if (cpu_v86(cpu) && cpu_iopl(cpu) < 3)
		cpu_gp0(cpu);
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
}

/* PUSHF/PUSHFD (9C): the image has VM and RF clear. */
static void op_pushf(struct cpu *cpu, const struct insn *in)
{
	flags_insn_check(cpu);
	uint32_t f = flags_get(cpu) & ~(EFLAGS_VM | EFLAGS_RF);
	cpu_push(cpu, f, osz(in));
}

/* Bits POPF may change here: IOPL only at CPL 0 (never in v86), IF only
 * when CPL <= IOPL (else silently kept), the upper half only for POPFD. */
static uint32_t popf_mask(const struct cpu *cpu, int sz)
{
	uint32_t m = POPF_BITS;
	bool prot = (cpu->cr0 & CR0_PE) != 0;
	if (cpu_v86(cpu) || (prot && cpu->cpl > 0))
		m &= ~EFLAGS_IOPL;
	if (prot && !cpu_v86(cpu) && cpu->cpl > cpu_iopl(cpu))
		m &= ~EFLAGS_IF;
	if (sz == 2)
		m &= 0xffff;
	return m;
}

/* POPF/POPFD (9D) */
static void op_popf(struct cpu *cpu, const struct insn *in)
{
	flags_insn_check(cpu);
	int sz = osz(in);
	uint32_t v = cpu_pop(cpu, sz);
	uint32_t m = popf_mask(cpu, sz);
	uint32_t f = flags_get(cpu);
	cpu->lf_op = LF_NONE;
	cpu->eflags = ((f & ~m) | (v & m) | EFLAGS_1) & ~EFLAGS_RF;
	if ((f ^ cpu->eflags) & (EFLAGS_IF | EFLAGS_TF | EFLAGS_AC))
		cpu->block_end = true;
}

/* }====================================================================== */

/* Registers the stack family. Called once by the decoder. */
void stack_register(void)
{
	for (int r = 0; r < 8; r++) {
		cpu_set_op(0x50 + r, op_push_zv); /* PUSH r */
		cpu_set_op(0x58 + r, op_pop_zv);  /* POP r */
		cpu_set_fast(0x50 + r, op_push_rd);
		cpu_set_fast(0x58 + r, op_pop_rd);
	}
	cpu_set_op(0x68, op_push_i);          /* PUSH Iz */
	cpu_set_op(0x6a, op_push_i);          /* PUSH Ib */
	cpu_set_grp(0xff, 6, op_push_ev);     /* PUSH Ev */
	cpu_set_grp(0x8f, 0, op_pop_ev);      /* POP Ev */
	static const uint16_t push_sw[] = {0x06, 0x0e, 0x16, 0x1e, 0x1a0, 0x1a8};
	static const uint16_t pop_sw[] = {0x07, 0x17, 0x1f, 0x1a1, 0x1a9};
	for (size_t i = 0; i < sizeof push_sw / sizeof push_sw[0]; i++)
		cpu_set_op(push_sw[i], op_push_sw); /* PUSH Sreg */
	for (size_t i = 0; i < sizeof pop_sw / sizeof pop_sw[0]; i++)
		cpu_set_op(pop_sw[i], op_pop_sw);   /* POP Sreg */
	cpu_set_op(0x60, op_pusha);           /* PUSHA/PUSHAD */
	cpu_set_op(0x61, op_popa);            /* POPA/POPAD */
	cpu_set_op(0xc8, op_enter);           /* ENTER Iw,Ib */
	cpu_set_op(0xc9, op_leave);           /* LEAVE */
	cpu_set_op(0x9c, op_pushf);           /* PUSHF/PUSHFD */
	cpu_set_op(0x9d, op_popf);            /* POPF/POPFD */
}
