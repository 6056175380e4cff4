/*
 * flags.c - lazy arithmetic flags.
 *
 * The common flag-setting instructions (ADD, SUB, CMP, logic, INC, DEC,
 * ADC, SBB, shifts and rotates) only record their operands and result
 * (lf_set); the six arithmetic flags are computed when something reads
 * them. Kinds that keep CF (INC, DEC) or CF and OF (LF_SZP: shifts) hold
 * those bits in eflags, and a rotate marks any record LF_CFOF (CF and OF
 * are in eflags), so it rewrites two bits of eflags and materializes
 * nothing. lf_op packs the operation kind in its low nibble, the operand
 * size in bytes in bits 4-6 (LF_SIZE) and LF_CFOF in bit 7.
 */
#include "cpu_int.h"

static uint32_t lazy_flags(const struct cpu *cpu)
{
	int kind = cpu->lf_op & 0xf;
	int sz = LF_SIZE(cpu->lf_op);
	uint32_t m = size_mask(sz), sb = sign_bit(sz);
	uint32_t a = cpu->lf_a & m, b = cpu->lf_b & m, r = cpu->lf_res & m;
	uint32_t f = flags_szp(r, sz);
	switch (kind) {
	case LF_ADD:
		if (r < a)
			f |= EFLAGS_CF;
		if ((a ^ b ^ r) & 0x10)
			f |= EFLAGS_AF;
		if ((a ^ r) & (b ^ r) & sb)
			f |= EFLAGS_OF;
		break;
	case LF_SUB:
		if (a < b)
			f |= EFLAGS_CF;
		if ((a ^ b ^ r) & 0x10)
			f |= EFLAGS_AF;
		if ((a ^ b) & (a ^ r) & sb)
			f |= EFLAGS_OF;
		break;
	case LF_LOGIC:
		break;
	case LF_SZP:
		f |= cpu->eflags & (EFLAGS_CF | EFLAGS_OF);
		break;
	case LF_ADC:
		if (r <= a)
			f |= EFLAGS_CF;
		if ((a ^ b ^ r) & 0x10)
			f |= EFLAGS_AF;
		if ((a ^ r) & (b ^ r) & sb)
			f |= EFLAGS_OF;
		break;
	case LF_SBB:
		if (a <= b)
			f |= EFLAGS_CF;
		if ((a ^ b ^ r) & 0x10)
			f |= EFLAGS_AF;
		if ((a ^ b) & (a ^ r) & sb)
			f |= EFLAGS_OF;
		break;
	case LF_INC:
		f |= cpu->eflags & EFLAGS_CF;
		if ((r & 0xf) == 0)
			f |= EFLAGS_AF;
		if (r == sb)
			f |= EFLAGS_OF;
		break;
	case LF_DEC:
		f |= cpu->eflags & EFLAGS_CF;
		if ((r & 0xf) == 0xf)
			f |= EFLAGS_AF;
		if (r == sb - 1)
			f |= EFLAGS_OF;
		break;
	default:
		CPU_ASSERT(0);
	}
	if (cpu->lf_op & LF_CFOF)
		f = (f & ~(EFLAGS_CF | EFLAGS_OF)) | (cpu->eflags & (EFLAGS_CF | EFLAGS_OF));
	return f;
}

uint32_t flags_get(struct cpu *cpu)
{
	if (cpu->lf_op != LF_NONE) {
		cpu->eflags = (cpu->eflags & ~EFLAGS_ARITH) | lazy_flags(cpu);
		cpu->lf_op = LF_NONE;
	}
	return cpu->eflags;
}

uint32_t cpu_peek_eflags(const struct cpu *cpu)
{
	if (cpu->lf_op == LF_NONE)
		return cpu->eflags;
	return (cpu->eflags & ~EFLAGS_ARITH) | lazy_flags(cpu);
}

uint32_t flags_cf(struct cpu *cpu)
{
	if (cpu->lf_op & LF_CFOF)
		return cpu->eflags & EFLAGS_CF;
	switch (cpu->lf_op & 0xf) {
	case LF_NONE:
	case LF_INC:
	case LF_DEC:
	case LF_SZP:
		return cpu->eflags & EFLAGS_CF;
	case LF_LOGIC:
		return 0;
	case LF_ADD: {
		uint32_t m = size_mask(LF_SIZE(cpu->lf_op));
		return (cpu->lf_res & m) < (cpu->lf_a & m) ? EFLAGS_CF : 0;
	}
	case LF_SUB: {
		uint32_t m = size_mask(LF_SIZE(cpu->lf_op));
		return (cpu->lf_a & m) < (cpu->lf_b & m) ? EFLAGS_CF : 0;
	}
	case LF_ADC: {
		uint32_t m = size_mask(LF_SIZE(cpu->lf_op));
		return (cpu->lf_res & m) <= (cpu->lf_a & m) ? EFLAGS_CF : 0;
	}
	case LF_SBB: {
		uint32_t m = size_mask(LF_SIZE(cpu->lf_op));
		return (cpu->lf_a & m) <= (cpu->lf_b & m) ? EFLAGS_CF : 0;
	}
	default:
		return flags_get(cpu) & EFLAGS_CF;
	}
}

bool flags_cond(struct cpu *cpu, int cc)
{
	/* Fast paths for a preceding CMP/SUB: compare the operands directly. */
	if ((cpu->lf_op & (0xf | LF_CFOF)) == LF_SUB) {
		int sz = LF_SIZE(cpu->lf_op);
		uint32_t m = size_mask(sz);
		uint32_t a = cpu->lf_a & m, b = cpu->lf_b & m;
		int32_t sa = (int32_t)sext(a, sz), sbv = (int32_t)sext(b, sz);
		switch (cc) {
		case 0x2: return a < b;    /* B */
		case 0x3: return a >= b;   /* AE */
		case 0x4: return a == b;   /* E */
		case 0x5: return a != b;   /* NE */
		case 0x6: return a <= b;   /* BE */
		case 0x7: return a > b;    /* A */
		case 0xc: return sa < sbv; /* L */
		case 0xd: return sa >= sbv; /* GE */
		case 0xe: return sa <= sbv; /* LE */
		case 0xf: return sa > sbv; /* G */
		default: break;
		}
	}
	/* ZF and SF come straight from the result for every lazy kind. */
	if (cpu->lf_op != LF_NONE && (cc >> 1) == 2)
		return ((cpu->lf_res & size_mask(LF_SIZE(cpu->lf_op))) == 0) != (cc & 1);
	if (cpu->lf_op != LF_NONE && (cc >> 1) == 4)
		return ((cpu->lf_res & sign_bit(LF_SIZE(cpu->lf_op))) != 0) != (cc & 1);
	uint32_t f = flags_get(cpu);
	bool r;
	switch (cc >> 1) {
	case 0: r = f & EFLAGS_OF; break;
	case 1: r = f & EFLAGS_CF; break;
	case 2: r = f & EFLAGS_ZF; break;
	case 3: r = f & (EFLAGS_CF | EFLAGS_ZF); break;
	case 4: r = f & EFLAGS_SF; break;
	case 5: r = f & EFLAGS_PF; break;
	case 6: r = !(f & EFLAGS_SF) != !(f & EFLAGS_OF); break;
	default: r = (f & EFLAGS_ZF) || (!(f & EFLAGS_SF) != !(f & EFLAGS_OF)); break;
	}
	return (cc & 1) ? !r : r;
}

uint32_t cpu_get_eflags(struct cpu *cpu)
{
	return flags_get(cpu);
}

void cpu_set_eflags(struct cpu *cpu, uint32_t v)
{
	cpu->lf_op = LF_NONE;
	cpu->eflags = (v | EFLAGS_1) & ~(0x8u | 0x20u | 0x8000u) & 0x3f7fd7u;
	cpu_mode_changed(cpu);
}
