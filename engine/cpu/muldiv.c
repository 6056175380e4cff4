/*
 * muldiv.c - multiply and divide: MUL IMUL DIV IDIV (group 3, F6/F7 /4-/7),
 * IMUL Gv,Ev (0F AF) and IMUL Gv,Ev,Iz/Ib (69, 6B).
 *
 * The one-operand forms use the accumulator pair of their width:
 * AX = AL * src (byte), DX:AX (word), EDX:EAX (dword); divides leave the
 * quotient in the low half and the remainder in the high half (AL/AH for
 * bytes). Divide by zero and a quotient that does not fit raise #DE before
 * any register changes.
 *
 * Flags: multiplies define CF = OF = "the result did not fit the low half";
 * SF ZF PF are set from the low half and AF cleared (undefined in the
 * manual). Divides leave the flags unchanged (all undefined).
 */
#include "cpu_int.h"

/* {====== the accumulator pair of a width ====== */

/* The double-width dividend: AX, DX:AX or EDX:EAX. */
static uint64_t acc_pair(const struct cpu *cpu, int sz)
{
	if (sz == 1)
		return reg16(cpu, EAX);
	uint64_t lo = reg_sz(cpu, EAX, sz), hi = reg_sz(cpu, EDX, sz);
	return (hi << (sz * 8)) | lo;
}

/* Stores low/high halves: AL/AH for bytes, eAX/eDX otherwise. */
static void set_acc_pair(struct cpu *cpu, int sz, uint32_t lo, uint32_t hi)
{
	if (sz == 1) {
		set_reg16(cpu, EAX, (lo & 0xff) | ((hi & 0xff) << 8));
		return;
	}
	set_reg_sz(cpu, EAX, lo, sz);
	set_reg_sz(cpu, EDX, hi, sz);
}

static void mul_flags(struct cpu *cpu, int sz, uint32_t lo, bool overflow)
{
	uint32_t f = flags_szp(lo, sz);
	if (overflow)
		f |= EFLAGS_CF | EFLAGS_OF;
	flags_set_arith(cpu, f);
}

/* }====================================================================== */

/* {====== group 3: MUL IMUL DIV IDIV ====== */

static int grp3_size(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

/* MUL Eb (F6 /4), MUL Ev (F7 /4): unsigned acc_pair = eAX * src. */
static void op_mul_e(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in), w = sz * 8;
	uint64_t p = (uint64_t)rm_read(cpu, in, sz) * reg_sz(cpu, EAX, sz);
	uint32_t lo = (uint32_t)p & size_mask(sz), hi = (uint32_t)(p >> w) & size_mask(sz);
	set_acc_pair(cpu, sz, lo, hi);
	mul_flags(cpu, sz, lo, hi != 0);
}

/* IMUL Eb (F6 /5), IMUL Ev (F7 /5): signed acc_pair = eAX * src. */
static void op_imul_e(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in), w = sz * 8;
	int64_t p = (int64_t)(int32_t)sext(rm_read(cpu, in, sz), sz) *
	            (int32_t)sext(reg_sz(cpu, EAX, sz), sz);
	uint32_t lo = (uint32_t)p & size_mask(sz);
	uint32_t hi = (uint32_t)((uint64_t)p >> w) & size_mask(sz);
	set_acc_pair(cpu, sz, lo, hi);
	mul_flags(cpu, sz, lo, p != (int32_t)sext(lo, sz));
}

/* DIV Eb (F6 /6), DIV Ev (F7 /6): unsigned acc_pair / src. */
static void op_div_e(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in);
	uint64_t d = rm_read(cpu, in, sz) & size_mask(sz);
	if (d == 0)
		cpu_raise(cpu, EXC_DE, ERR_NONE);
	uint64_t n = acc_pair(cpu, sz);
	uint64_t q = n / d;
	if (q > size_mask(sz))
		cpu_raise(cpu, EXC_DE, ERR_NONE);
	set_acc_pair(cpu, sz, (uint32_t)q, (uint32_t)(n % d));
}

/* IDIV Eb (F6 /7), IDIV Ev (F7 /7): signed acc_pair / src, quotient
 * rounded toward zero, remainder with the dividend's sign. */
static void op_idiv_e(struct cpu *cpu, const struct insn *in)
{
	int sz = grp3_size(in), w = sz * 8;
	int64_t d = (int32_t)sext(rm_read(cpu, in, sz), sz);
	if (d == 0)
		cpu_raise(cpu, EXC_DE, ERR_NONE);
	/* Sign-extend the 2w-bit dividend to 64 bits. */
	uint64_t raw = acc_pair(cpu, sz);
	int64_t n = w == 32 ? (int64_t)raw : (int64_t)(raw << (64 - 2 * w)) >> (64 - 2 * w);
	if (n == INT64_MIN && d == -1) /* would overflow the host division too */
		cpu_raise(cpu, EXC_DE, ERR_NONE);
	int64_t q = n / d, r = n % d;
	int64_t qmax = ((int64_t)1 << (w - 1)) - 1;
	if (q > qmax || q < -qmax - 1)
		cpu_raise(cpu, EXC_DE, ERR_NONE);
	set_acc_pair(cpu, sz, (uint32_t)q, (uint32_t)r);
}

/* }====================================================================== */

/* {====== two- and three-operand IMUL ====== */

/* reg = truncated signed a * b; CF = OF = the product did not fit. */
static void imul_trunc(struct cpu *cpu, int reg, int sz, uint32_t a, uint32_t b)
{
	int64_t p = (int64_t)(int32_t)sext(a, sz) * (int32_t)sext(b, sz);
	uint32_t lo = (uint32_t)p & size_mask(sz);
	set_reg_sz(cpu, reg, lo, sz);
	mul_flags(cpu, sz, lo, p != (int32_t)sext(lo, sz));
}

/* IMUL Gv,Ev (0F AF) */
static void op_imul_gv_ev(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	imul_trunc(cpu, in->reg, sz, reg_sz(cpu, in->reg, sz), rm_read(cpu, in, sz));
}

/* IMUL Gv,Ev,Iz (69) and IMUL Gv,Ev,Ib (6B, immediate sign-extended) */
static void op_imul_gv_ev_i(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	imul_trunc(cpu, in->reg, sz, rm_read(cpu, in, sz), in->imm);
}

/* IMUL Gd,Ed,Iz / Ib with a register source (cpu_set_fast) */
static void op_imul_gd_rd_i(struct cpu *cpu, const struct insn *in)
{
	imul_trunc(cpu, in->reg, 4, cpu->r[in->rm], in->imm);
}

/* }====================================================================== */

/*
 * Installs the multiply and divide handlers in the opcode registry.
 * Called once by the decoder's registry initialization.
 */
void muldiv_register(void)
{
	for (int op = 0xf6; op <= 0xf7; op++) {
		cpu_set_grp(op, 4, op_mul_e);  /* MUL E */
		cpu_set_grp(op, 5, op_imul_e); /* IMUL E */
		cpu_set_grp(op, 6, op_div_e);  /* DIV E */
		cpu_set_grp(op, 7, op_idiv_e); /* IDIV E */
	}
	cpu_set_op(0x1af, op_imul_gv_ev);  /* IMUL Gv,Ev */
	cpu_set_op(0x69, op_imul_gv_ev_i); /* IMUL Gv,Ev,Iz */
	cpu_set_op(0x6b, op_imul_gv_ev_i); /* IMUL Gv,Ev,Ib */
	cpu_set_fast(0x69, op_imul_gd_rd_i);
	cpu_set_fast(0x6b, op_imul_gd_rd_i);
}
