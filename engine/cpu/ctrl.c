/*
 * ctrl.c - control transfer instructions: Jcc, JMP, CALL, RET, LOOP, JCXZ,
 * INT n, INT3, INTO, INT1, IRET, BOUND.
 *
 * Near transfers are here; far transfers through descriptors, gates and
 * tasks are in pmode.c (cpu_far_jump & co.), which these handlers call.
 */
#include "cpu_int.h"

/* Adds a relative displacement to EIP, wrapping at the operand size. */
static void jump_rel(struct cpu *cpu, const struct insn *in, uint32_t rel)
{
	uint32_t t = cpu->eip + rel;
	if (!in->opsize32)
		t &= 0xffff;
	cpu_jump_near(cpu, t);
}

/* Jcc Jb / Jcc Jz (70-7F, 0F 80-8F). Not inlined: also the slow path of
 * the specialized forms below, which tail-call it. */
static __attribute__((noinline)) void op_jcc(struct cpu *cpu, const struct insn *in)
{
	if (flags_cond(cpu, in->op & 0xf))
		jump_rel(cpu, in, in->imm);
}

/*
 * Condition `cc` (a constant in each caller) for the lazy-flags cases that
 * dominate real code: a 32-bit CMP/SUB compares its operands, and ZF of any
 * 32-bit lazy result is a test of the result. Returns 1 or 0, or -1 when
 * the case is not covered (flags_cond must decide).
 */
HOT int cond_fast(const struct cpu *cpu, int cc)
{
	const uint8_t sub32 = LF_SUB | 4 << 4;
	if (cpu->lf_op == sub32) {
		uint32_t a = cpu->lf_a, b = cpu->lf_b;
		switch (cc) {
		case 0x2: return a < b;                     /* B */
		case 0x3: return a >= b;                    /* AE */
		case 0x4: return a == b;                    /* E */
		case 0x5: return a != b;                    /* NE */
		case 0x6: return a <= b;                    /* BE */
		case 0x7: return a > b;                     /* A */
		case 0xc: return (int32_t)a < (int32_t)b;   /* L */
		case 0xd: return (int32_t)a >= (int32_t)b;  /* GE */
		case 0xe: return (int32_t)a <= (int32_t)b;  /* LE */
		case 0xf: return (int32_t)a > (int32_t)b;   /* G */
		default: break;
		}
	}
	if ((cc >> 1) == 2 && LF_SIZE(cpu->lf_op) == 4 && (cpu->lf_op & 0xf) != LF_NONE)
		return (cpu->lf_res == 0) != (cc & 1); /* E, NE */
	return -1;
}

/* Jcc Jd (70-7F, 0F 80-8F) with a 32-bit operand size (cpu_set_fast), one
 * handler per condition so cond_fast folds; the rest goes to op_jcc. */
#define JCC_FAST(cc)                                                                               \
	static void op_jcc_##cc(struct cpu *cpu, const struct insn *in)                            \
	{                                                                                          \
		int c = cond_fast(cpu, cc);                                                        \
		uint32_t t = cpu->eip + in->imm;                                                   \
		if (c == 0)                                                                        \
			return;                                                                    \
		if (c < 0 || t > cpu->seg[SEG_CS].limit) {                                         \
			op_jcc(cpu, in);                                                           \
			return;                                                                    \
		}                                                                                  \
		cpu->eip = t;                                                                      \
	}
JCC_FAST(0x0) JCC_FAST(0x1) JCC_FAST(0x2) JCC_FAST(0x3)
JCC_FAST(0x4) JCC_FAST(0x5) JCC_FAST(0x6) JCC_FAST(0x7)
JCC_FAST(0x8) JCC_FAST(0x9) JCC_FAST(0xa) JCC_FAST(0xb)
JCC_FAST(0xc) JCC_FAST(0xd) JCC_FAST(0xe) JCC_FAST(0xf)

static const cpu_op_fn jcc_fast[16] = {
	op_jcc_0x0, op_jcc_0x1, op_jcc_0x2, op_jcc_0x3, op_jcc_0x4, op_jcc_0x5, op_jcc_0x6, op_jcc_0x7,
	op_jcc_0x8, op_jcc_0x9, op_jcc_0xa, op_jcc_0xb, op_jcc_0xc, op_jcc_0xd, op_jcc_0xe, op_jcc_0xf,
};

/* JMP Jb / JMP Jz (EB, E9) */
static void op_jmp_j(struct cpu *cpu, const struct insn *in)
{
	jump_rel(cpu, in, in->imm);
}

/* CALL Jz (E8). Not inlined: also the slow path of op_call_jd. */
static __attribute__((noinline)) void op_call_j(struct cpu *cpu, const struct insn *in)
{
	uint32_t t = cpu->eip + in->imm;
	if (!in->opsize32)
		t &= 0xffff;
	if (t > cpu->seg[SEG_CS].limit)
		cpu_gp0(cpu);
	cpu_push(cpu, cpu->eip, osz(in));
	cpu->eip = t;
}

/* CALL Jz (E8), the 32-bit operand size form (cpu_set_fast) */
static void op_call_jd(struct cpu *cpu, const struct insn *in)
{
	uint32_t t = cpu->eip + in->imm;
	uint8_t *p;
	if (likely(stack_slot32(cpu, cpu->r[ESP] - 4, ACC_WRITE, &p) && t <= cpu->seg[SEG_CS].limit)) {
		host_st(p, cpu->eip, 4);
		cpu->r[ESP] -= 4;
		cpu->eip = t;
		return;
	}
	op_call_j(cpu, in);
}

/* RET (C3) and RET Iw (C2). Not inlined: also the slow path of op_ret_d. */
static __attribute__((noinline)) void op_ret(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t t = cpu_stack_peek(cpu, 0, sz);
	if (t > cpu->seg[SEG_CS].limit)
		cpu_gp0(cpu);
	set_sp(cpu, get_sp(cpu) + sz + (in->op == 0xc2 ? in->imm : 0));
	cpu->eip = t;
}

/* RET (C3), the 32-bit operand size form (cpu_set_fast): the target is
 * checked against the CS limit before ESP moves. */
static void op_ret_d(struct cpu *cpu, const struct insn *in)
{
	uint8_t *p;
	if (likely(stack_slot32(cpu, cpu->r[ESP], ACC_READ, &p))) {
		uint32_t t = host_ld(p, 4);
		if (likely(t <= cpu->seg[SEG_CS].limit)) {
			cpu->r[ESP] += 4;
			cpu->eip = t;
			return;
		}
	}
	op_ret(cpu, in);
}

/* JMP Ap (EA) */
static void op_jmp_ap(struct cpu *cpu, const struct insn *in)
{
	cpu_far_jump(cpu, (uint16_t)in->imm2, in->imm, osz(in));
}

/* CALL Ap (9A) */
static void op_call_ap(struct cpu *cpu, const struct insn *in)
{
	cpu_far_call(cpu, (uint16_t)in->imm2, in->imm, osz(in));
}

/* CALL Ev (FF /2) */
static void op_call_ev(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t t = rm_read(cpu, in, sz);
	if (t > cpu->seg[SEG_CS].limit)
		cpu_gp0(cpu);
	cpu_push(cpu, cpu->eip, sz);
	cpu->eip = t;
}

/* JMP Ev (FF /4) */
static void op_jmp_ev(struct cpu *cpu, const struct insn *in)
{
	cpu_jump_near(cpu, rm_read(cpu, in, osz(in)));
}

/* Reads a far pointer m16:16 or m16:32 at the ModRM memory operand. */
static void read_far_ptr(struct cpu *cpu, const struct insn *in, uint16_t *sel, uint32_t *off)
{
	int sz = osz(in);
	uint32_t a = ea(cpu, in);
	*off = mem_rd(cpu, in->seg, a, sz);
	uint32_t a2 = a + sz;
	if (!in->addrsize32)
		a2 &= 0xffff;
	*sel = (uint16_t)mem_rd(cpu, in->seg, a2, 2);
}

/* CALL Ep (FF /3) */
static void op_call_ep(struct cpu *cpu, const struct insn *in)
{
	uint16_t sel;
	uint32_t off;
	read_far_ptr(cpu, in, &sel, &off);
	cpu_far_call(cpu, sel, off, osz(in));
}

/* JMP Ep (FF /5) */
static void op_jmp_ep(struct cpu *cpu, const struct insn *in)
{
	uint16_t sel;
	uint32_t off;
	read_far_ptr(cpu, in, &sel, &off);
	cpu_far_jump(cpu, sel, off, osz(in));
}

/* RETF (CB) and RETF Iw (CA) */
static void op_retf(struct cpu *cpu, const struct insn *in)
{
	cpu_far_ret(cpu, osz(in), in->op == 0xca ? in->imm : 0);
}

/* IRET/IRETD (CF) */
static void op_iret(struct cpu *cpu, const struct insn *in)
{
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
	cpu_iret(cpu, osz(in));
}

/* LOOPNE/LOOPE/LOOP Jb (E0-E2): the count register follows the address size. */
static void op_loop(struct cpu *cpu, const struct insn *in)
{
	uint32_t c;
	if (in->addrsize32) {
		c = --cpu->r[ECX];
	} else {
		c = (reg16(cpu, ECX) - 1) & 0xffff;
		set_reg16(cpu, ECX, c);
	}
	bool take = c != 0;
	if (in->op == 0xe0)
		take = take && !(flags_get(cpu) & EFLAGS_ZF);
	else if (in->op == 0xe1)
		take = take && (flags_get(cpu) & EFLAGS_ZF);
	if (take)
		jump_rel(cpu, in, in->imm);
}

/* JCXZ/JECXZ Jb (E3) */
static void op_jcxz(struct cpu *cpu, const struct insn *in)
{
	uint32_t c = in->addrsize32 ? cpu->r[ECX] : reg16(cpu, ECX);
	if (c == 0)
		jump_rel(cpu, in, in->imm);
}

/* INT Ib (CD): IOPL-sensitive in v86 mode; traps in strict mode. */
static void op_int_ib(struct cpu *cpu, const struct insn *in)
{
	if (cpu_v86(cpu) && cpu_iopl(cpu) < 3)
		cpu_gp0(cpu);
	if (cpu_strict_trap(cpu))
		cpu_gp0(cpu);
	cpu->cycles += 30;
	cpu_deliver(cpu, (int)(in->imm & 0xff), ERR_NONE, true, false);
}

/* INT3 (CC) */
static void op_int3(struct cpu *cpu, const struct insn *in)
{
	cpu->cycles += 30;
	cpu_deliver(cpu, EXC_BP, ERR_NONE, true, false);
}

/* INTO (CE) */
static void op_into(struct cpu *cpu, const struct insn *in)
{
	if (flags_get(cpu) & EFLAGS_OF) {
		cpu->cycles += 30;
		cpu_deliver(cpu, EXC_OF, ERR_NONE, true, false);
	}
}

/* INT1/ICEBP (F1): a debug trap delivered like a hardware event. */
static void op_int1(struct cpu *cpu, const struct insn *in)
{
	cpu_deliver(cpu, EXC_DB, ERR_NONE, false, false);
}

/* BOUND Gv,Ma (62): #BR when the index is outside [lower, upper]. */
static void op_bound(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t a = ea(cpu, in);
	uint32_t a2 = in->addrsize32 ? a + sz : (a + sz) & 0xffff;
	int32_t lo = (int32_t)sext(mem_rd(cpu, in->seg, a, sz), sz);
	int32_t hi = (int32_t)sext(mem_rd(cpu, in->seg, a2, sz), sz);
	int32_t idx = (int32_t)sext(reg_sz(cpu, in->reg, sz), sz);
	if (idx < lo || idx > hi)
		cpu_raise(cpu, EXC_BR, ERR_NONE);
}

void ctrl_register(void)
{
	for (int cc = 0; cc < 16; cc++) {
		cpu_set_op(0x70 + cc, op_jcc);
		cpu_set_op(0x180 + cc, op_jcc);
		cpu_set_fast(0x70 + cc, jcc_fast[cc]);
		cpu_set_fast(0x180 + cc, jcc_fast[cc]);
	}
	cpu_set_op(0xeb, op_jmp_j);
	cpu_set_op(0xe9, op_jmp_j);
	cpu_set_op(0xe8, op_call_j);
	cpu_set_op(0xc3, op_ret);
	cpu_set_op(0xc2, op_ret);
	cpu_set_fast(0xe8, op_call_jd);
	cpu_set_fast(0xc3, op_ret_d);
	cpu_set_op(0xea, op_jmp_ap);
	cpu_set_op(0x9a, op_call_ap);
	cpu_set_grp(0xff, 2, op_call_ev);
	cpu_set_grp(0xff, 3, op_call_ep);
	cpu_set_grp(0xff, 4, op_jmp_ev);
	cpu_set_grp(0xff, 5, op_jmp_ep);
	cpu_set_op(0xcb, op_retf);
	cpu_set_op(0xca, op_retf);
	cpu_set_op(0xcf, op_iret);
	cpu_set_op(0xe0, op_loop);
	cpu_set_op(0xe1, op_loop);
	cpu_set_op(0xe2, op_loop);
	cpu_set_op(0xe3, op_jcxz);
	cpu_set_op(0xcd, op_int_ib);
	cpu_set_op(0xcc, op_int3);
	cpu_set_op(0xce, op_into);
	cpu_set_op(0xf1, op_int1);
	cpu_set_op(0x62, op_bound);
}
