/*
 * cycles.c - the cycle model: a base cost per instruction.
 *
 * cycles = retired instructions + the base cost of each (this table)
 *          + modelled extras charged where they happen: a slow-path memory
 *          access (1), each page-table reference of a walk (2), a #PF (20),
 *          an exception or interrupt delivery (40), INT n (30), CPUID/MSR
 *          access (20), MOV to CR (10), INVLPG (10).
 *
 * Base costs are the i486 book values rounded and simplified ("accurate
 * enough": deterministic and plausible, not a pipeline model). docs/cpu.md
 * ("Cycle model") describes the same rules for users; keep the two in step.
 */
#include "cpu_int.h"

/* Cost of the instruction beyond the one cycle every instruction pays. */
uint8_t cycles_base(int op, int reg, bool mem)
{
	uint8_t c = mem ? 1 : 0;
	switch (op) {
	case 0xf6:
	case 0xf7:
		if (reg == 4 || reg == 5)
			return c + 12; /* MUL, IMUL */
		if (reg >= 6)
			return c + 24; /* DIV, IDIV */
		return c;
	case 0x69:
	case 0x6b:
	case 0x1af:
		return c + 12; /* IMUL */
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
	case 0x1a4: case 0x1a5: case 0x1ac: case 0x1ad:
		return c + 2; /* shifts, rotates, SHLD/SHRD */
	case 0x1bc: case 0x1bd:
		return c + 5; /* BSF, BSR */
	case 0xe8: case 0xc3: case 0xc2:
		return c + 2; /* near CALL, RET */
	case 0x9a: case 0xea: case 0xca: case 0xcb:
		return 17; /* far transfers */
	case 0xcf:
		return 14; /* IRET */
	case 0x60: case 0x61:
		return 9; /* PUSHA, POPA */
	case 0xc8:
		return 13; /* ENTER */
	case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xec: case 0xed: case 0xee: case 0xef:
		return 13; /* IN, OUT */
	case 0x86: case 0x87:
		return mem ? 4 : 2; /* XCHG (locked with memory) */
	case 0x1b0: case 0x1b1: case 0x1c0: case 0x1c1: case 0x1c7:
		return c + 5; /* CMPXCHG, XADD, CMPXCHG8B */
	case 0x8e:
		return 2; /* MOV Sreg */
	case 0x101:
		return 10; /* descriptor table registers */
	case 0xf4:
		return 3; /* HLT */
	default:
		if (op >= 0x70 && op <= 0x7f)
			return 2; /* Jcc */
		if (op >= 0x180 && op <= 0x18f)
			return 2;
		return c;
	}
}
