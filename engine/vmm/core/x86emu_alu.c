/*
 * x86emu_alu.c - the arithmetic flags of the emulated instructions,
 * computed eagerly, bit for bit as the engine's CPU leaves them
 * (engine/cpu/flags.c, alu.c): the logic instructions clear CF, OF and AF
 * (AF is undefined in the manual; the CPU clears it), INC and DEC keep CF,
 * ADC and SBB are ADD and SUB with a third operand.
 */
#include "x86emu_int.h"

/* PF: set when the low byte of v has an even number of ones. */
static uint32_t parity(uint32_t v)
{
	v &= 0xff;
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return (v & 1) ? 0 : VX_EFLAGS_PF;
}

/* The nibble carry (AF) of a + b = r or a - b = r. */
#define NIBBLE_CARRY 0x10u

static uint32_t szp(int sz, uint32_t res)
{
	res &= vx_mask(sz);
	uint32_t f = parity(res);
	if (res == 0)
		f |= VX_EFLAGS_ZF;
	if (res & vx_sign(sz))
		f |= VX_EFLAGS_SF;
	return f;
}

uint32_t vx_flags_add(int sz, uint32_t a, uint32_t b, uint32_t carry, uint32_t *res)
{
	uint32_t m = vx_mask(sz);
	a &= m;
	b &= m;
	uint32_t r = (a + b + carry) & m;
	uint32_t f = szp(sz, r);
	if ((uint64_t)a + b + carry > m)
		f |= VX_EFLAGS_CF;
	if ((a ^ b ^ r) & NIBBLE_CARRY)
		f |= VX_EFLAGS_AF;
	if ((a ^ r) & (b ^ r) & vx_sign(sz))
		f |= VX_EFLAGS_OF;
	*res = r;
	return f;
}

uint32_t vx_flags_sub(int sz, uint32_t a, uint32_t b, uint32_t borrow, uint32_t *res)
{
	uint32_t m = vx_mask(sz);
	a &= m;
	b &= m;
	uint32_t r = (a - b - borrow) & m;
	uint32_t f = szp(sz, r);
	if ((uint64_t)a < (uint64_t)b + borrow)
		f |= VX_EFLAGS_CF;
	if ((a ^ b ^ r) & NIBBLE_CARRY)
		f |= VX_EFLAGS_AF;
	if ((a ^ b) & (a ^ r) & vx_sign(sz))
		f |= VX_EFLAGS_OF;
	*res = r;
	return f;
}

uint32_t vx_flags_logic(int sz, uint32_t res)
{
	return szp(sz, res);
}

uint32_t vx_flags_incdec(int sz, uint32_t a, bool dec, uint32_t old, uint32_t *res)
{
	uint32_t r = (dec ? a - 1 : a + 1) & vx_mask(sz);
	uint32_t f = szp(sz, r) | (old & VX_EFLAGS_CF);
	if ((r & 0xf) == (dec ? 0xfu : 0))
		f |= VX_EFLAGS_AF;
	if (r == (dec ? vx_sign(sz) - 1 : vx_sign(sz)))
		f |= VX_EFLAGS_OF;
	*res = r;
	return f;
}

uint32_t vx_alu(int op, int sz, uint32_t a, uint32_t b, uint32_t old, uint32_t *res)
{
	uint32_t cf = old & VX_EFLAGS_CF;
	switch (op) {
	case VX_ADD: return vx_flags_add(sz, a, b, 0, res);
	case VX_ADC: return vx_flags_add(sz, a, b, cf, res);
	case VX_SBB: return vx_flags_sub(sz, a, b, cf, res);
	case VX_SUB:
	case VX_CMP: return vx_flags_sub(sz, a, b, 0, res);
	case VX_OR: *res = (a | b) & vx_mask(sz); break;
	case VX_AND: *res = a & b & vx_mask(sz); break;
	default: *res = (a ^ b) & vx_mask(sz); break; /* XOR */
	}
	return vx_flags_logic(sz, *res);
}

bool vx_cond(uint32_t f, int cc)
{
	bool sf = f & VX_EFLAGS_SF, of = f & VX_EFLAGS_OF, zf = f & VX_EFLAGS_ZF;
	bool r;
	switch (cc >> 1) {
	case 0: r = of; break;                          /* O */
	case 1: r = f & VX_EFLAGS_CF; break;            /* B */
	case 2: r = zf; break;                          /* E */
	case 3: r = f & (VX_EFLAGS_CF | VX_EFLAGS_ZF); break; /* BE */
	case 4: r = sf; break;                          /* S */
	case 5: r = f & VX_EFLAGS_PF; break;            /* P */
	case 6: r = sf != of; break;                    /* L */
	default: r = zf || sf != of; break;             /* LE */
	}
	return (cc & 1) ? !r : r;
}
