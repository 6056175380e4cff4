/*
 * bcd.c - decimal adjust instructions: DAA DAS (packed BCD), AAA AAS AAM
 * AAD (unpacked BCD), opcodes 27 2F 37 3F D4 D5.
 *
 * Defined flags follow the manual's pseudo-code. Undefined ones get what
 * the hardware's adder leaves: AAD sets all six as for the ADD it performs
 * (AL + AH * imm), AAM as a logic result of AL; DAA/DAS/AAA/AAS set SF ZF
 * PF from AL and clear OF.
 */
#include "cpu_int.h"

#define BCD_DIGIT 0x0f /* low decimal digit (nibble) */
#define BCD_MAX_DIGIT 9
#define BCD_MAX_BYTE 0x99

enum { REG8_AH = 4 }; /* byte-register number of AH */

static uint32_t adjust_flags(uint32_t al, bool af, bool cf)
{
	return flags_szp(al, 1) | (af ? EFLAGS_AF : 0) | (cf ? EFLAGS_CF : 0);
}

/* {====== packed BCD ====== */

/* DAA (27): adjust AL after adding two packed BCD bytes. */
static void op_daa(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = flags_get(cpu);
	uint32_t al = reg8(cpu, EAX), old_al = al;
	bool old_cf = f & EFLAGS_CF, af = false, cf = false;
	if ((al & BCD_DIGIT) > BCD_MAX_DIGIT || (f & EFLAGS_AF)) {
		al += 6;
		cf = old_cf || al > 0xff;
		af = true;
	}
	if (old_al > BCD_MAX_BYTE || old_cf) {
		al += 0x60;
		cf = true;
	}
	set_reg8(cpu, EAX, al);
	flags_set_arith(cpu, adjust_flags(al & 0xff, af, cf));
}

/* DAS (2F): adjust AL after subtracting two packed BCD bytes. */
static void op_das(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = flags_get(cpu);
	uint32_t al = reg8(cpu, EAX), old_al = al;
	bool old_cf = f & EFLAGS_CF, af = false, cf = false;
	if ((al & BCD_DIGIT) > BCD_MAX_DIGIT || (f & EFLAGS_AF)) {
		cf = old_cf || al < 6;
		al -= 6;
		af = true;
	}
	if (old_al > BCD_MAX_BYTE || old_cf) {
		al -= 0x60;
		cf = true;
	}
	set_reg8(cpu, EAX, al);
	flags_set_arith(cpu, adjust_flags(al & 0xff, af, cf));
}

/* }====================================================================== */

/* {====== unpacked BCD ====== */

/* AAA (37): adjust AX after adding two unpacked BCD digits. */
static void op_aaa(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = flags_get(cpu);
	uint32_t ax = reg16(cpu, EAX);
	bool adj = (ax & BCD_DIGIT) > BCD_MAX_DIGIT || (f & EFLAGS_AF);
	if (adj)
		ax += 0x106;
	ax &= 0xff0f;
	set_reg16(cpu, EAX, ax);
	flags_set_arith(cpu, adjust_flags(ax & 0xff, adj, adj));
}

/* AAS (3F): adjust AX after subtracting two unpacked BCD digits. */
static void op_aas(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = flags_get(cpu);
	uint32_t ax = reg16(cpu, EAX);
	bool adj = (ax & BCD_DIGIT) > BCD_MAX_DIGIT || (f & EFLAGS_AF);
	if (adj) {
		ax -= 6;
		ax -= 0x100;
	}
	ax &= 0xff0f;
	set_reg16(cpu, EAX, ax);
	flags_set_arith(cpu, adjust_flags(ax & 0xff, adj, adj));
}

/* AAM Ib (D4): AH = AL / imm, AL = AL % imm; imm 0 raises #DE. */
static void op_aam_ib(struct cpu *cpu, const struct insn *in)
{
	uint32_t base = in->imm & 0xff, al = reg8(cpu, EAX);
	if (base == 0)
		cpu_raise(cpu, EXC_DE, ERR_NONE);
	uint32_t q = al / base, r = al % base;
	set_reg16(cpu, EAX, (q << 8) | r);
	lf_set(cpu, LF_LOGIC, 1, 0, 0, r);
}

/* AAD Ib (D5): AL = AL + AH * imm, AH = 0. */
static void op_aad_ib(struct cpu *cpu, const struct insn *in)
{
	uint32_t al = reg8(cpu, EAX), prod = (reg8(cpu, REG8_AH) * (in->imm & 0xff)) & 0xff;
	uint32_t r = (al + prod) & 0xff;
	set_reg16(cpu, EAX, r);
	lf_set(cpu, LF_ADD, 1, al, prod, r);
}

/* }====================================================================== */

/*
 * Installs the decimal adjust handlers in the opcode registry.
 * Called once by the decoder's registry initialization.
 */
void bcd_register(void)
{
	cpu_set_op(0x27, op_daa);    /* DAA */
	cpu_set_op(0x2f, op_das);    /* DAS */
	cpu_set_op(0x37, op_aaa);    /* AAA */
	cpu_set_op(0x3f, op_aas);    /* AAS */
	cpu_set_op(0xd4, op_aam_ib); /* AAM Ib */
	cpu_set_op(0xd5, op_aad_ib); /* AAD Ib */
}
