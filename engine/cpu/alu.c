/*
 * alu.c - the integer ALU family: ADD OR ADC SBB AND SUB XOR CMP (00-3D and
 * group 1), TEST, NOT, NEG, INC, DEC, CMC, CLC, STC and SALC.
 *
 * One function computes all eight group-1 operations for any width
 * (alu_calc); the handlers only fetch operands for their form. The result's
 * flags are kept in a struct alu_out and committed after the destination
 * write, so a fault on the write leaves EFLAGS as it was.
 */
#include "cpu_int.h"

/* {====== the eight operations of opcodes 00-3F and group 1 ====== */

/* Encoding order: bits 5:3 of opcodes 00-3F, ModRM.reg of group 1. */
enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* A result and its flags, not yet committed. kind is an enum lf_op (ADC
 * and SBB with a carry in are LF_ADC and LF_SBB). */
struct alu_out {
	uint32_t res;
	uint32_t a, b;
	uint8_t kind;
};

static struct alu_out alu_calc(struct cpu *cpu, int op, int sz, uint32_t a, uint32_t b)
{
	uint32_t m = size_mask(sz);
	struct alu_out o = {.a = a & m, .b = b & m};
	uint32_t cf;
	switch (op) {
	case ALU_ADD:
		o.res = (a + b) & m;
		o.kind = LF_ADD;
		break;
	case ALU_OR:
		o.res = (a | b) & m;
		o.kind = LF_LOGIC;
		break;
	case ALU_AND:
		o.res = a & b & m;
		o.kind = LF_LOGIC;
		break;
	case ALU_XOR:
		o.res = (a ^ b) & m;
		o.kind = LF_LOGIC;
		break;
	case ALU_ADC:
		cf = flags_cf(cpu) ? 1 : 0;
		o.res = (a + b + cf) & m;
		o.kind = cf ? LF_ADC : LF_ADD;
		break;
	case ALU_SBB:
		cf = flags_cf(cpu) ? 1 : 0;
		o.res = (a - b - cf) & m;
		o.kind = cf ? LF_SBB : LF_SUB;
		break;
	default: /* SUB, CMP */
		o.res = (a - b) & m;
		o.kind = LF_SUB;
		break;
	}
	return o;
}

static void alu_commit(struct cpu *cpu, const struct alu_out *o, int sz)
{
	lf_set(cpu, o->kind, sz, o->a, o->b, o->res);
}

/* r/m = r/m op b (CMP only compares): read, compute, write, then flags. */
static void alu_rm(struct cpu *cpu, const struct insn *in, int op, int sz, uint32_t b)
{
	struct alu_out o = alu_calc(cpu, op, sz, rm_read(cpu, in, sz), b);
	if (op != ALU_CMP)
		rm_write(cpu, in, o.res, sz);
	alu_commit(cpu, &o, sz);
}

/* reg = reg op b (CMP only compares). */
static void alu_reg(struct cpu *cpu, int reg, int op, int sz, uint32_t b)
{
	struct alu_out o = alu_calc(cpu, op, sz, reg_sz(cpu, reg, sz), b);
	if (op != ALU_CMP)
		set_reg_sz(cpu, reg, o.res, sz);
	alu_commit(cpu, &o, sz);
}

static int alu_op_of(const struct insn *in)
{
	return (in->op >> 3) & 7;
}

/* }====================================================================== */

/* {====== 00-3D: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz ====== */

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Eb,Gb */
static void op_alu_eb_gb(struct cpu *cpu, const struct insn *in)
{
	alu_rm(cpu, in, alu_op_of(in), 1, reg8(cpu, in->reg));
}

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Ev,Gv */
static void op_alu_ev_gv(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	alu_rm(cpu, in, alu_op_of(in), sz, reg_sz(cpu, in->reg, sz));
}

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Gb,Eb */
static void op_alu_gb_eb(struct cpu *cpu, const struct insn *in)
{
	alu_reg(cpu, in->reg, alu_op_of(in), 1, rm_read(cpu, in, 1));
}

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Gv,Ev */
static void op_alu_gv_ev(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	alu_reg(cpu, in->reg, alu_op_of(in), sz, rm_read(cpu, in, sz));
}

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP AL,Ib */
static void op_alu_al_ib(struct cpu *cpu, const struct insn *in)
{
	alu_reg(cpu, EAX, alu_op_of(in), 1, in->imm);
}

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP eAX,Iz */
static void op_alu_eax_iz(struct cpu *cpu, const struct insn *in)
{
	alu_reg(cpu, EAX, alu_op_of(in), osz(in), in->imm);
}

/* }====================================================================== */

/* {====== group 1: 80 82 Eb,Ib; 81 Ev,Iz; 83 Ev,Ib ====== */

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Eb,Ib (80 /r, 82 /r) */
static void op_grp1_eb_ib(struct cpu *cpu, const struct insn *in)
{
	alu_rm(cpu, in, in->reg, 1, in->imm);
}

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Ev,Iz (81 /r) and Ev,Ib sign-extended
 * (83 /r): the decoder already sign-extended the immediate. */
static void op_grp1_ev_i(struct cpu *cpu, const struct insn *in)
{
	alu_rm(cpu, in, in->reg, osz(in), in->imm);
}

/* }====================================================================== */

/* {====== TEST, NOT, NEG ====== */

static void test_flags(struct cpu *cpu, int sz, uint32_t res)
{
	lf_set(cpu, LF_LOGIC, sz, 0, 0, res & size_mask(sz));
}

/* TEST Eb,Gb (84) */
static void op_test_eb_gb(struct cpu *cpu, const struct insn *in)
{
	test_flags(cpu, 1, rm_read(cpu, in, 1) & reg8(cpu, in->reg));
}

/* TEST Ev,Gv (85) */
static void op_test_ev_gv(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	test_flags(cpu, sz, rm_read(cpu, in, sz) & reg_sz(cpu, in->reg, sz));
}

/* TEST AL,Ib (A8) */
static void op_test_al_ib(struct cpu *cpu, const struct insn *in)
{
	test_flags(cpu, 1, cpu->r[EAX] & in->imm);
}

/* TEST eAX,Iz (A9) */
static void op_test_eax_iz(struct cpu *cpu, const struct insn *in)
{
	test_flags(cpu, osz(in), cpu->r[EAX] & in->imm);
}

static int grp3_size(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

/* TEST Eb,Ib (F6 /0 /1) and TEST Ev,Iz (F7 /0 /1) */
static void op_test_e_i(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in);
	test_flags(cpu, sz, rm_read(cpu, in, sz) & in->imm);
}

/* NOT Eb (F6 /2), NOT Ev (F7 /2): no flags. */
static void op_not_e(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in);
	rm_write(cpu, in, ~rm_read(cpu, in, sz), sz);
}

/* NEG Eb (F6 /3), NEG Ev (F7 /3): flags as for 0 - operand. */
static void op_neg_e(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in);
	uint32_t a = rm_read(cpu, in, sz) & size_mask(sz);
	uint32_t r = (0u - a) & size_mask(sz);
	rm_write(cpu, in, r, sz);
	lf_set(cpu, LF_SUB, sz, 0, a, r);
}

/* }====================================================================== */

/* {====== INC, DEC (CF kept) ====== */

static void incdec_flags(struct cpu *cpu, bool dec, int sz, uint32_t a, uint32_t r)
{
	/* CF must live in eflags while the lazy INC/DEC record is active; it
	 * already does after an INC/DEC or with no lazy record. */
	int kind = cpu->lf_op & 0xf;
	if (cpu->lf_op & LF_CFOF)
		; /* CF is in eflags already */
	else if (cpu->lf_op == (LF_SUB | 4 << 4))
		cpu->eflags = (cpu->eflags & ~EFLAGS_CF) | (cpu->lf_a < cpu->lf_b ? EFLAGS_CF : 0);
	else if (cpu->lf_op == (LF_ADD | 4 << 4))
		cpu->eflags = (cpu->eflags & ~EFLAGS_CF) | (cpu->lf_res < cpu->lf_a ? EFLAGS_CF : 0);
	else if (kind == LF_LOGIC)
		cpu->eflags &= ~EFLAGS_CF;
	else if (kind != LF_NONE && kind != LF_INC && kind != LF_DEC)
		cpu->eflags = (cpu->eflags & ~EFLAGS_CF) | flags_cf(cpu);
	lf_set(cpu, dec ? LF_DEC : LF_INC, sz, a, 1, r);
}

/* INC r16/r32 (40+r), DEC r16/r32 (48+r) */
static void op_incdec_zv(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in), reg = in->op & 7;
	bool dec = in->op & 8;
	uint32_t a = reg_sz(cpu, reg, sz);
	uint32_t r = (dec ? a - 1 : a + 1) & size_mask(sz);
	set_reg_sz(cpu, reg, r, sz);
	incdec_flags(cpu, dec, sz, a, r);
}

/* INC Eb (FE /0), DEC Eb (FE /1), INC Ev (FF /0), DEC Ev (FF /1) */
static void op_incdec_e(struct cpu *cpu, const struct insn *in)
{
	int sz = (in->op & 1) ? osz(in) : 1;
	bool dec = in->reg == 1;
	uint32_t a = rm_read(cpu, in, sz);
	uint32_t r = (dec ? a - 1 : a + 1) & size_mask(sz);
	rm_write(cpu, in, r, sz);
	incdec_flags(cpu, dec, sz, a, r);
}

/* }====================================================================== */

/* {====== carry flag instructions ====== */

/* CMC (F5): complement CF. */
static void op_cmc(struct cpu *cpu, const struct insn *in)
{
	flags_set_arith(cpu, flags_get(cpu) ^ EFLAGS_CF);
}

/* CLC (F8): clear CF. */
static void op_clc(struct cpu *cpu, const struct insn *in)
{
	flags_set_arith(cpu, flags_get(cpu) & ~EFLAGS_CF);
}

/* STC (F9): set CF. */
static void op_stc(struct cpu *cpu, const struct insn *in)
{
	flags_set_arith(cpu, flags_get(cpu) | EFLAGS_CF);
}

/* SALC (D6, undocumented): AL = CF ? FF : 00, flags unchanged. */
static void op_salc(struct cpu *cpu, const struct insn *in)
{
	set_reg8(cpu, EAX, flags_cf(cpu) ? 0xff : 0x00);
}

/* }====================================================================== */

/* {====== specialized 32-bit register forms (cpu_set_fast) ====== */

/*
 * The eight operations of two 32-bit values with their lazy flags:
 * alu_calc + alu_commit for sz 4 with `op` a constant, so each handler
 * below compiles to a few moves (ADC and SBB read CF first, as alu_calc).
 */
HOT uint32_t alu32(struct cpu *cpu, int op, uint32_t a, uint32_t b)
{
	uint32_t r, c;
	int kind;
	switch (op) {
	case ALU_ADD: r = a + b; kind = LF_ADD; break;
	case ALU_ADC:
		c = flags_cf(cpu) ? 1 : 0;
		r = a + b + c;
		kind = c ? LF_ADC : LF_ADD;
		break;
	case ALU_SBB:
		c = flags_cf(cpu) ? 1 : 0;
		r = a - b - c;
		kind = c ? LF_SBB : LF_SUB;
		break;
	case ALU_OR: r = a | b; kind = LF_LOGIC; break;
	case ALU_AND: r = a & b; kind = LF_LOGIC; break;
	case ALU_XOR: r = a ^ b; kind = LF_LOGIC; break;
	default: r = a - b; kind = LF_SUB; break; /* SUB, CMP */
	}
	lf_set(cpu, kind, 4, a, b, r);
	return r;
}

/* For one operation `op`: op Ed,Gd / op Gd,Ed / group 1 Ed,Id with
 * ModRM.mod == 3 (the destination is a register; CMP only compares). */
#define ALU32_FORMS(name, op)                                                                      \
	static void op_##name##_rd_gd(struct cpu *cpu, const struct insn *in)                      \
	{                                                                                          \
		uint32_t r = alu32(cpu, op, cpu->r[in->rm], cpu->r[in->reg]);                      \
		if (op != ALU_CMP)                                                                 \
			cpu->r[in->rm] = r;                                                        \
	}                                                                                          \
	static void op_##name##_gd_rd(struct cpu *cpu, const struct insn *in)                      \
	{                                                                                          \
		uint32_t r = alu32(cpu, op, cpu->r[in->reg], cpu->r[in->rm]);                      \
		if (op != ALU_CMP)                                                                 \
			cpu->r[in->reg] = r;                                                       \
	}                                                                                          \
	static void op_##name##_rd_i(struct cpu *cpu, const struct insn *in)                       \
	{                                                                                          \
		uint32_t r = alu32(cpu, op, cpu->r[in->rm], in->imm);                              \
		if (op != ALU_CMP)                                                                 \
			cpu->r[in->rm] = r;                                                        \
	}

/* The same with a memory operand and 32-bit addressing (cpu_set_fast_mem):
 * op Md,Gd reads, computes and writes back (CMP only reads), then commits
 * the flags, so a faulting write leaves them as they were; op Gd,Md. */
#define ALU32_MEM_FORMS(name, op)                                                                  \
	static void op_##name##_md_gd(struct cpu *cpu, const struct insn *in)                      \
	{                                                                                          \
		uint32_t off = ea32(cpu, in);                                                      \
		uint32_t a = mem_rd(cpu, in->seg, off, 4), b = cpu->r[in->reg];                    \
		if (op != ALU_CMP)                                                                 \
			mem_wr(cpu, in->seg, off, op == ALU_ADD ? a + b : op == ALU_OR ? a | b :   \
			       op == ALU_AND ? a & b : op == ALU_XOR ? a ^ b : a - b, 4);          \
		alu32(cpu, op, a, b);                                                              \
	}                                                                                          \
	static void op_##name##_gd_md(struct cpu *cpu, const struct insn *in)                      \
	{                                                                                          \
		uint32_t b = mem_rd(cpu, in->seg, ea32(cpu, in), 4);                               \
		uint32_t r = alu32(cpu, op, cpu->r[in->reg], b);                                   \
		if (op != ALU_CMP)                                                                 \
			cpu->r[in->reg] = r;                                                       \
	}

ALU32_MEM_FORMS(add, ALU_ADD)
ALU32_MEM_FORMS(or, ALU_OR)
ALU32_MEM_FORMS(and, ALU_AND)
ALU32_MEM_FORMS(sub, ALU_SUB)
ALU32_MEM_FORMS(xor, ALU_XOR)
ALU32_MEM_FORMS(cmp, ALU_CMP)

ALU32_FORMS(add, ALU_ADD)
ALU32_FORMS(adc, ALU_ADC)
ALU32_FORMS(sbb, ALU_SBB)
ALU32_FORMS(or, ALU_OR)
ALU32_FORMS(and, ALU_AND)
ALU32_FORMS(sub, ALU_SUB)
ALU32_FORMS(xor, ALU_XOR)
ALU32_FORMS(cmp, ALU_CMP)

/* TEST Ed,Gd (85) with a register destination */
static void op_test_rd_gd(struct cpu *cpu, const struct insn *in)
{
	lf_set(cpu, LF_LOGIC, 4, 0, 0, cpu->r[in->rm] & cpu->r[in->reg]);
}

/* TEST Ed,Id (F7 /0 /1) with a register operand */
static void op_test_rd_i(struct cpu *cpu, const struct insn *in)
{
	lf_set(cpu, LF_LOGIC, 4, 0, 0, cpu->r[in->rm] & in->imm);
}

/* NOT Ed (F7 /2) with a register operand: no flags */
static void op_not_rd(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->rm] = ~cpu->r[in->rm];
}

/* NEG Ed (F7 /3) with a register operand: flags of 0 - operand */
static void op_neg_rd(struct cpu *cpu, const struct insn *in)
{
	uint32_t a = cpu->r[in->rm], r = 0u - a;
	cpu->r[in->rm] = r;
	lf_set(cpu, LF_SUB, 4, 0, a, r);
}

/* INC r32 (40+r) */
static void op_inc_rd(struct cpu *cpu, const struct insn *in)
{
	int reg = in->op & 7;
	uint32_t a = cpu->r[reg];
	cpu->r[reg] = a + 1;
	incdec_flags(cpu, false, 4, a, a + 1);
}

/* DEC r32 (48+r) */
static void op_dec_rd(struct cpu *cpu, const struct insn *in)
{
	int reg = in->op & 7;
	uint32_t a = cpu->r[reg];
	cpu->r[reg] = a - 1;
	incdec_flags(cpu, true, 4, a, a - 1);
}

/* One operation's specialized forms, by encoding order (NULL: generic). */
struct alu32_forms {
	cpu_op_fn rd_gd, gd_rd, rd_i, md_gd, gd_md;
};
static const struct alu32_forms alu32_tab[8] = {
	[ALU_ADD] = {op_add_rd_gd, op_add_gd_rd, op_add_rd_i, op_add_md_gd, op_add_gd_md},
	[ALU_OR] = {op_or_rd_gd, op_or_gd_rd, op_or_rd_i, op_or_md_gd, op_or_gd_md},
	[ALU_ADC] = {op_adc_rd_gd, op_adc_gd_rd, op_adc_rd_i, NULL, NULL}, /* memory: generic */
	[ALU_SBB] = {op_sbb_rd_gd, op_sbb_gd_rd, op_sbb_rd_i, NULL, NULL},
	[ALU_AND] = {op_and_rd_gd, op_and_gd_rd, op_and_rd_i, op_and_md_gd, op_and_gd_md},
	[ALU_SUB] = {op_sub_rd_gd, op_sub_gd_rd, op_sub_rd_i, op_sub_md_gd, op_sub_gd_md},
	[ALU_XOR] = {op_xor_rd_gd, op_xor_gd_rd, op_xor_rd_i, op_xor_md_gd, op_xor_gd_md},
	[ALU_CMP] = {op_cmp_rd_gd, op_cmp_gd_rd, op_cmp_rd_i, op_cmp_md_gd, op_cmp_gd_md},
};

static void alu_register_fast(void)
{
	for (int op = 0; op < 8; op++) {
		const struct alu32_forms *f = &alu32_tab[op];
		if (!f->rd_gd)
			continue;
		cpu_set_fast(op * 8 + 1, f->rd_gd);      /* op Ev,Gv */
		cpu_set_fast(op * 8 + 3, f->gd_rd);      /* op Gv,Ev */
		cpu_set_fast_grp(0x81, op, f->rd_i);     /* group 1 Ev,Iz */
		cpu_set_fast_grp(0x83, op, f->rd_i);     /* group 1 Ev,Ib */
		if (f->md_gd) {
			cpu_set_fast_mem(op * 8 + 1, f->md_gd); /* op Md,Gd */
			cpu_set_fast_mem(op * 8 + 3, f->gd_md); /* op Gd,Md */
		}
	}
	cpu_set_fast(0x85, op_test_rd_gd);
	cpu_set_fast_grp(0xf7, 0, op_test_rd_i);
	cpu_set_fast_grp(0xf7, 1, op_test_rd_i);
	cpu_set_fast_grp(0xf7, 2, op_not_rd);
	cpu_set_fast_grp(0xf7, 3, op_neg_rd);
	for (int r = 0; r < 8; r++) {
		cpu_set_fast(0x40 + r, op_inc_rd);
		cpu_set_fast(0x48 + r, op_dec_rd);
	}
}

/* }====================================================================== */

/*
 * Installs the handlers of the ALU family in the opcode registry.
 * Called once by the decoder's registry initialization.
 */
void alu_register(void)
{
	for (int base = 0x00; base <= 0x38; base += 8) {
		cpu_set_op(base + 0, op_alu_eb_gb);  /* op Eb,Gb */
		cpu_set_op(base + 1, op_alu_ev_gv);  /* op Ev,Gv */
		cpu_set_op(base + 2, op_alu_gb_eb);  /* op Gb,Eb */
		cpu_set_op(base + 3, op_alu_gv_ev);  /* op Gv,Ev */
		cpu_set_op(base + 4, op_alu_al_ib);  /* op AL,Ib */
		cpu_set_op(base + 5, op_alu_eax_iz); /* op eAX,Iz */
	}
	for (int r = 0; r < 8; r++) {
		cpu_set_grp(0x80, r, op_grp1_eb_ib); /* group 1 Eb,Ib */
		cpu_set_grp(0x81, r, op_grp1_ev_i);  /* group 1 Ev,Iz */
		cpu_set_grp(0x82, r, op_grp1_eb_ib); /* group 1 Eb,Ib (alias) */
		cpu_set_grp(0x83, r, op_grp1_ev_i);  /* group 1 Ev,Ib */
	}
	cpu_set_op(0x84, op_test_eb_gb);  /* TEST Eb,Gb */
	cpu_set_op(0x85, op_test_ev_gv);  /* TEST Ev,Gv */
	cpu_set_op(0xa8, op_test_al_ib);  /* TEST AL,Ib */
	cpu_set_op(0xa9, op_test_eax_iz); /* TEST eAX,Iz */
	for (int op = 0xf6; op <= 0xf7; op++) {
		cpu_set_grp(op, 0, op_test_e_i); /* TEST E,I */
		cpu_set_grp(op, 1, op_test_e_i); /* TEST E,I (undocumented alias) */
		cpu_set_grp(op, 2, op_not_e);    /* NOT E */
		cpu_set_grp(op, 3, op_neg_e);    /* NEG E */
	}
	for (int op = 0x40; op <= 0x4f; op++)
		cpu_set_op(op, op_incdec_zv); /* INC/DEC r */
	for (int op = 0xfe; op <= 0xff; op++) {
		cpu_set_grp(op, 0, op_incdec_e); /* INC E */
		cpu_set_grp(op, 1, op_incdec_e); /* DEC E */
	}
	cpu_set_op(0xf5, op_cmc);  /* CMC */
	cpu_set_op(0xf8, op_clc);  /* CLC */
	cpu_set_op(0xf9, op_stc);  /* STC */
	cpu_set_op(0xd6, op_salc); /* SALC */
	alu_register_fast();
}
