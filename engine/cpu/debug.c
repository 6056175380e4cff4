/*
 * debug.c - the debug registers: instruction breakpoints (faults), data
 * breakpoints (traps after the access), DR6 status bits.
 *
 * DR7 fields: L/G enable bits 2n/2n+1, R/W at 16+4n (00 execute, 01 write,
 * 11 read or write; 10 I/O is not supported without CR4.DE and ignored),
 * LEN at 18+4n (00 1 byte, 01 2, 11 4). A page holding a watched address
 * gets no fast path in the TLB, so data breakpoints cost nothing elsewhere.
 */
#include "cpu_int.h"

static int bp_len(uint32_t dr7, int n)
{
	static const int len[4] = {1, 2, 8, 4};
	return len[(dr7 >> (18 + 4 * n)) & 3];
}

void dbg_update(struct cpu *cpu)
{
	uint32_t dr7 = cpu->dr[7];
	uint8_t ex = 0, da = 0;
	for (int n = 0; n < 4; n++) {
		if (!((dr7 >> (2 * n)) & 3))
			continue;
		int rw = (dr7 >> (16 + 4 * n)) & 3;
		if (rw == 0)
			ex |= (uint8_t)(1 << n);
		else if (rw == 1 || rw == 3)
			da |= (uint8_t)(1 << n);
	}
	bool flush = da || cpu->bp_data;
	cpu->bp_exec = ex | (point_have_exec(cpu) ? BP_EXEC_POINTS : 0);
	cpu->bp_data = da;
	if (flush)
		cpu_tlb_flush(cpu);
}

void dbg_check_exec(struct cpu *cpu)
{
	if (cpu->eflags & EFLAGS_RF)
		return;
	uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
	uint32_t hit = 0;
	for (int n = 0; n < 4; n++)
		if ((cpu->bp_exec >> n & 1) && cpu->dr[n] == lin)
			hit |= 1u << n;
	if (hit) {
		cpu->dr[6] = (cpu->dr[6] & ~0xfu) | hit;
		cpu->eflags |= EFLAGS_RF; /* the handler's IRET resumes past the breakpoint */
		cpu_raise(cpu, EXC_DB, ERR_NONE);
	}
}

void dbg_check_data(struct cpu *cpu, uint32_t lin, int sz, bool write)
{
	uint32_t dr7 = cpu->dr[7];
	for (int n = 0; n < 4; n++) {
		if (!(cpu->bp_data >> n & 1))
			continue;
		int rw = (dr7 >> (16 + 4 * n)) & 3;
		if (rw == 1 && !write)
			continue;
		int len = bp_len(dr7, n);
		uint32_t a = cpu->dr[n] & ~(uint32_t)(len - 1);
		if (lin < a + (uint32_t)len && a < lin + (uint32_t)sz) {
			cpu->dr6_pending |= 1u << n;
			cpu->trap_after = true;
		}
	}
}

bool dbg_page_watched(const struct cpu *cpu, uint32_t lin)
{
	for (int n = 0; n < 4; n++)
		if ((cpu->bp_data >> n & 1) && ((cpu->dr[n] ^ lin) & ~0xfffu) == 0)
			return true;
	return false;
}
