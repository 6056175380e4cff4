/*
 * shift.c - shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR,
 * opcodes C0 C1 D0-D3) and the double shifts SHLD/SHRD (0F A4 A5 AC AD).
 *
 * The count is masked to 5 bits (as on every x86 since the 80186); a masked
 * count of zero changes nothing, not even the flags. OF is architecturally
 * defined only for a count of 1; for other counts this file applies the
 * count-1 formula to the last one-bit step, which is what the recorded
 * hardware vectors show. RCL/RCR rotate through count mod 9 (bytes) or
 * mod 17 (words); a nonzero masked count that is a multiple of that still
 * sets OF from the (unchanged) operand and CF. AF is undefined after a
 * shift and is left clear.
 *
 * Flags stay lazy: a shift records its result (LF_SZP: SF ZF PF from it,
 * AF clear) and puts CF and OF in eflags (flags_set_shift); a rotate only
 * sets CF and OF (flags_set_cf_of), so what the previous instruction left
 * is not materialized. The calc functions return CF and OF in *f (RCL and
 * RCR take the old CF from it).
 *
 * The register forms with a 32-bit operand and an immediate or 1 count
 * have fast handlers (cpu_set_fast) that do the same without the group
 * dispatch.
 */
#include "cpu_int.h"

#define SHIFT_COUNT_MASK 0x1f

/* ModRM.reg of group 2. */
enum shift_op { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static uint32_t bit_of(uint64_t v, int n)
{
	return (uint32_t)(v >> n) & 1;
}

/* CF and OF set from their bits; others from `f`. */
static uint32_t with_cf_of(uint32_t f, uint32_t cf, uint32_t of)
{
	f &= ~(EFLAGS_CF | EFLAGS_OF);
	return f | (cf ? EFLAGS_CF : 0) | (of ? EFLAGS_OF : 0);
}

/* Result flags of a shift: SF ZF PF from the result, AF clear. */
static uint32_t shift_flags(uint32_t r, int sz, uint32_t cf, uint32_t of)
{
	return with_cf_of(flags_szp(r, sz), cf, of);
}

/* {====== group 2 ====== */

/*
 * Computes `op` of `a` (sz bytes) by masked count n (1..31). *f holds the
 * old flags on entry and the new ones on return. Returns the result.
 */
static uint32_t shift_calc(int op, int sz, uint32_t a, unsigned n, uint32_t *f)
{
	int w = sz * 8;
	uint32_t m = size_mask(sz);
	uint64_t wide, mask1 = ((uint64_t)1 << (w + 1)) - 1;
	uint32_t r, cf = (*f & EFLAGS_CF) ? 1 : 0;
	unsigned k;
	a &= m;
	switch (op) {
	case SH_ROL:
		k = n % w;
		r = k ? ((a << k) | (a >> (w - k))) & m : a;
		*f = with_cf_of(*f, r & 1, bit_of(r, w - 1) ^ (r & 1));
		return r;
	case SH_ROR:
		k = n % w;
		r = k ? ((a >> k) | (a << (w - k))) & m : a;
		*f = with_cf_of(*f, bit_of(r, w - 1), bit_of(r, w - 1) ^ bit_of(r, w - 2));
		return r;
	case SH_RCL: /* a (w+1)-bit rotate of CF:a */
		k = n % (w + 1);
		wide = ((uint64_t)cf << w) | a;
		if (k)
			wide = ((wide << k) | (wide >> (w + 1 - k))) & mask1;
		r = (uint32_t)wide & m;
		*f = with_cf_of(*f, bit_of(wide, w), bit_of(r, w - 1) ^ bit_of(wide, w));
		return r;
	case SH_RCR:
		k = n % (w + 1);
		wide = ((uint64_t)cf << w) | a;
		if (k)
			wide = ((wide >> k) | (wide << (w + 1 - k))) & mask1;
		r = (uint32_t)wide & m;
		*f = with_cf_of(*f, bit_of(wide, w), bit_of(r, w - 1) ^ bit_of(r, w - 2));
		return r;
	case SH_SHL:
	case SH_SAL:
		wide = (uint64_t)a << n;
		r = (uint32_t)wide & m;
		*f = shift_flags(r, sz, bit_of(wide, w), bit_of(r, w - 1) ^ bit_of(wide, w));
		return r;
	case SH_SHR:
		r = (uint32_t)((uint64_t)a >> n);
		/* OF: the count-1 rule (MSB of the operand) applied to the last step */
		*f = shift_flags(r, sz, bit_of(a, (int)n - 1),
		                 bit_of((uint64_t)a >> (n - 1), w - 1));
		return r;
	default: { /* SAR */
		int64_t s = (int32_t)sext(a, sz);
		r = (uint32_t)(s >> n) & m;
		*f = shift_flags(r, sz, bit_of((uint64_t)(s >> (n - 1)), 0), 0);
		return r;
	}
	}
}

/* Group 2 on the ModRM operand with an unmasked count. */
static void shift_rm(struct cpu *cpu, const struct insn *in, int sz, unsigned count)
{
	uint32_t a = rm_read(cpu, in, sz);
	unsigned n = count & SHIFT_COUNT_MASK;
	if (n == 0)
		return;
	uint32_t f = (in->reg == SH_RCL || in->reg == SH_RCR) ? flags_cf(cpu) : 0;
	uint32_t r = shift_calc(in->reg, sz, a, n, &f);
	rm_write(cpu, in, r, sz);
	if (in->reg < SH_SHL)
		flags_set_cf_of(cpu, f);
	else
		flags_set_shift(cpu, sz, r, f);
}

static int grp2_size(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

/* ROL/ROR/RCL/RCR/SHL/SHR/SAL/SAR Eb,Ib (C0) and Ev,Ib (C1) */
static void op_grp2_e_ib(struct cpu *cpu, const struct insn *in)
{
	shift_rm(cpu, in, grp2_size(in), in->imm & 0xff);
}

/* ROL/ROR/RCL/RCR/SHL/SHR/SAL/SAR Eb,1 (D0) and Ev,1 (D1) */
static void op_grp2_e_1(struct cpu *cpu, const struct insn *in)
{
	shift_rm(cpu, in, grp2_size(in), 1);
}

/* ROL/ROR/RCL/RCR/SHL/SHR/SAL/SAR Eb,CL (D2) and Ev,CL (D3) */
static void op_grp2_e_cl(struct cpu *cpu, const struct insn *in)
{
	shift_rm(cpu, in, grp2_size(in), reg8(cpu, ECX));
}

/* {====== fast handlers: 32-bit register, count 1 or an immediate ====== */

static unsigned fast_count(const struct insn *in)
{
	return in->op == 0xd1 ? 1 : in->imm & SHIFT_COUNT_MASK;
}

/* ROL r32,Ib (C1 /0) and ROL r32,1 (D1 /0) */
static void op_rol_r32_ib(struct cpu *cpu, const struct insn *in)
{
	unsigned n = fast_count(in);
	if (n == 0)
		return;
	uint32_t a = cpu->r[in->rm];
	uint32_t r = (a << n) | (a >> (32 - n));
	cpu->r[in->rm] = r;
	flags_set_cf_of(cpu, with_cf_of(0, r & 1, (r >> 31) ^ (r & 1)));
}

/* ROR r32,Ib (C1 /1) and ROR r32,1 (D1 /1) */
static void op_ror_r32_ib(struct cpu *cpu, const struct insn *in)
{
	unsigned n = fast_count(in);
	if (n == 0)
		return;
	uint32_t a = cpu->r[in->rm];
	uint32_t r = (a >> n) | (a << (32 - n));
	cpu->r[in->rm] = r;
	flags_set_cf_of(cpu, with_cf_of(0, r >> 31, (r >> 31) ^ ((r >> 30) & 1)));
}

/* SHL r32,Ib (C1 /4, /6) and SHL r32,1 (D1 /4, /6) */
static void op_shl_r32_ib(struct cpu *cpu, const struct insn *in)
{
	unsigned n = fast_count(in);
	if (n == 0)
		return;
	uint32_t a = cpu->r[in->rm];
	uint32_t r = a << n, cf = (a >> (32 - n)) & 1;
	cpu->r[in->rm] = r;
	flags_set_shift(cpu, 4, r, with_cf_of(0, cf, (r >> 31) ^ cf));
}

/* SHR r32,Ib (C1 /5) and SHR r32,1 (D1 /5) */
static void op_shr_r32_ib(struct cpu *cpu, const struct insn *in)
{
	unsigned n = fast_count(in);
	if (n == 0)
		return;
	uint32_t a = cpu->r[in->rm];
	uint32_t r = a >> n;
	cpu->r[in->rm] = r;
	flags_set_shift(cpu, 4, r, with_cf_of(0, (a >> (n - 1)) & 1, (a >> (n - 1)) >> 31));
}

/* SAR r32,Ib (C1 /7) and SAR r32,1 (D1 /7) */
static void op_sar_r32_ib(struct cpu *cpu, const struct insn *in)
{
	unsigned n = fast_count(in);
	if (n == 0)
		return;
	int32_t a = (int32_t)cpu->r[in->rm];
	uint32_t r = (uint32_t)(a >> n);
	cpu->r[in->rm] = r;
	flags_set_shift(cpu, 4, r, with_cf_of(0, (uint32_t)(a >> (n - 1)) & 1, 0));
}

/* }====================================================================== */

/* {====== SHLD, SHRD ====== */

/*
 * The double shifts work on a 3w-bit value so that 16-bit counts above 16
 * (undefined in the manual) give what P6 gives: SHLD shifts dst:src:dst
 * left, SHRD shifts dst:src:dst right. For 32-bit operands the count never
 * exceeds 31, so only the two-operand part matters.
 */
static uint32_t shld_calc(int sz, uint32_t d, uint32_t s, unsigned n, uint32_t *f)
{
	int w = sz * 8;
	uint32_t m = size_mask(sz);
	d &= m;
	s &= m;
	if (w == 32) {
		uint64_t v = ((uint64_t)d << 32) | s;
		uint32_t r = (uint32_t)((v << n) >> 32);
		uint32_t cf = bit_of(d, 32 - (int)n);
		*f = shift_flags(r, sz, cf, bit_of(r, 31) ^ cf);
		return r;
	}
	uint64_t v = ((uint64_t)d << 32) | ((uint64_t)s << 16) | d; /* 48 bits */
	uint64_t sh = v << n;
	uint32_t r = (uint32_t)(sh >> 32) & m;
	uint32_t cf = bit_of(v, 48 - (int)n);
	*f = shift_flags(r, sz, cf, bit_of(r, 15) ^ cf);
	return r;
}

static uint32_t shrd_calc(int sz, uint32_t d, uint32_t s, unsigned n, uint32_t *f)
{
	int w = sz * 8;
	uint32_t m = size_mask(sz);
	d &= m;
	s &= m;
	uint64_t v =
	        w == 32 ? ((uint64_t)s << 32) | d : ((uint64_t)d << 32) | ((uint64_t)s << 16) | d;
	uint32_t r = (uint32_t)(v >> n) & m;
	uint32_t cf = bit_of(v, (int)n - 1);
	*f = shift_flags(r, sz, cf, bit_of(r, w - 1) ^ bit_of(r, w - 2));
	return r;
}

static void shxd(struct cpu *cpu, const struct insn *in, bool left, unsigned count)
{
	int sz = osz(in);
	uint32_t d = rm_read(cpu, in, sz);
	unsigned n = count & SHIFT_COUNT_MASK;
	if (n == 0)
		return;
	uint32_t s = reg_sz(cpu, in->reg, sz);
	uint32_t f = 0;
	uint32_t r = left ? shld_calc(sz, d, s, n, &f) : shrd_calc(sz, d, s, n, &f);
	rm_write(cpu, in, r, sz);
	flags_set_shift(cpu, sz, r, f);
}

/* SHLD Ev,Gv,Ib (0F A4) */
static void op_shld_ev_gv_ib(struct cpu *cpu, const struct insn *in)
{
	shxd(cpu, in, true, in->imm & 0xff);
}

/* SHLD Ev,Gv,CL (0F A5) */
static void op_shld_ev_gv_cl(struct cpu *cpu, const struct insn *in)
{
	shxd(cpu, in, true, reg8(cpu, ECX));
}

/* SHRD Ev,Gv,Ib (0F AC) */
static void op_shrd_ev_gv_ib(struct cpu *cpu, const struct insn *in)
{
	shxd(cpu, in, false, in->imm & 0xff);
}

/* SHRD Ev,Gv,CL (0F AD) */
static void op_shrd_ev_gv_cl(struct cpu *cpu, const struct insn *in)
{
	shxd(cpu, in, false, reg8(cpu, ECX));
}

/* }====================================================================== */

/*
 * Installs the shift and rotate handlers in the opcode registry.
 * Called once by the decoder's registry initialization.
 */
void shift_register(void)
{
	for (int r = 0; r < 8; r++) {
		cpu_set_grp(0xc0, r, op_grp2_e_ib); /* group 2 Eb,Ib */
		cpu_set_grp(0xc1, r, op_grp2_e_ib); /* group 2 Ev,Ib */
		cpu_set_grp(0xd0, r, op_grp2_e_1);  /* group 2 Eb,1 */
		cpu_set_grp(0xd1, r, op_grp2_e_1);  /* group 2 Ev,1 */
		cpu_set_grp(0xd2, r, op_grp2_e_cl); /* group 2 Eb,CL */
		cpu_set_grp(0xd3, r, op_grp2_e_cl); /* group 2 Ev,CL */
	}
	static const cpu_op_fn fast[8] = {
		[SH_ROL] = op_rol_r32_ib, [SH_ROR] = op_ror_r32_ib, [SH_SHL] = op_shl_r32_ib,
		[SH_SHR] = op_shr_r32_ib, [SH_SAL] = op_shl_r32_ib, [SH_SAR] = op_sar_r32_ib,
	};
	for (int r = 0; r < 8; r++) {
		if (fast[r]) {
			cpu_set_fast_grp(0xc1, r, fast[r]); /* r32,Ib */
			cpu_set_fast_grp(0xd1, r, fast[r]); /* r32,1 */
		}
	}
	cpu_set_op(0x1a4, op_shld_ev_gv_ib); /* SHLD Ev,Gv,Ib */
	cpu_set_op(0x1a5, op_shld_ev_gv_cl); /* SHLD Ev,Gv,CL */
	cpu_set_op(0x1ac, op_shrd_ev_gv_ib); /* SHRD Ev,Gv,Ib */
	cpu_set_op(0x1ad, op_shrd_ev_gv_cl); /* SHRD Ev,Gv,CL */
}
