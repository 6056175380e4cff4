/*
 * string.c - the string instructions MOVS, CMPS, SCAS, LODS, STOS, INS and
 * OUTS (A4-A7, AA-AF, 6C-6F) in byte, word and dword forms, with the REP,
 * REPE and REPNE prefixes.
 *
 * Operands: the source is seg:eSI with seg = DS or the override prefix,
 * the destination is always ES:eDI; the address size picks SI/DI/CX or
 * ESI/EDI/ECX, and EFLAGS.DF the direction.
 *
 * Each element commits: eSI, eDI and eCX are updated after every element,
 * so a fault in the middle of a REP leaves them at the faulting element and
 * the run loop restarts the instruction there (it restores only EIP and
 * ESP). To keep the machine responsive a REP execution ends where eCX
 * reaches a multiple of STRING_BUDGET; if work is left it points EIP back
 * at itself so the next step continues (pending interrupts are taken in
 * between, as on real hardware). Where these steps end, and what they
 * cost, depends on eCX alone, not on where a fault interrupted the work,
 * so a guest sees the same instruction count and time whether or not a
 * monitor resolved faults in the middle of a REP (docs/cpu.md). A
 * debugger's watchpoint also stops a step after the element that hit it
 * (points.c); the step then finishes as if it never had stopped.
 *
 * Intel SDM Vol. 2: MOVS, CMPS, SCAS, LODS, STOS, INS, OUTS, REP/REPE/REPNE.
 */
#include "cpu_int.h"

/* A REP-prefixed execution ends where eCX is a multiple of this. */
#define STRING_BUDGET 4096
/* Modelled cost of each element beyond the first (cycle model): charged
 * as each element commits, less one element's worth when a step ends. */
#define STRING_ELEM_CYCLES 2

/* One element of a string instruction: moves eSI/eDI itself. Returns
 * false when a REPE/REPNE condition ends the repetition. */
typedef bool (*string_elem_fn)(struct cpu *cpu, const struct insn *in, int sz);

/* {====== index and count registers ====== */

static uint32_t amask(const struct insn *in)
{
	return in->addrsize32 ? 0xffffffffu : 0xffffu;
}

/* eSI, eDI or eCX by the address size. */
static uint32_t areg(const struct cpu *cpu, const struct insn *in, int r)
{
	return cpu->r[r] & amask(in);
}

static void set_areg(struct cpu *cpu, const struct insn *in, int r, uint32_t v)
{
	if (in->addrsize32)
		cpu->r[r] = v;
	else
		set_reg16(cpu, r, v);
}

/* Steps eSI or eDI by one element in the direction of DF. */
static void advance(struct cpu *cpu, const struct insn *in, int r, int sz)
{
	uint32_t d = (cpu->eflags & EFLAGS_DF) ? (uint32_t)-sz : (uint32_t)sz;
	set_areg(cpu, in, r, areg(cpu, in, r) + d);
}

static int src_seg(const struct insn *in)
{
	return in->seg_override == SEG_NONE ? SEG_DS : in->seg_override;
}

/* Byte forms have an even opcode; the others take the operand size. */
static int elem_size(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

/* }====================================================================== */

/* {====== the elements ====== */

/* MOVS: ES:eDI = seg:eSI */
static bool elem_movs(struct cpu *cpu, const struct insn *in, int sz)
{
	uint32_t v = mem_rd(cpu, src_seg(in), areg(cpu, in, ESI), sz);
	mem_wr(cpu, SEG_ES, areg(cpu, in, EDI), v, sz);
	advance(cpu, in, ESI, sz);
	advance(cpu, in, EDI, sz);
	return true;
}

/* The condition that keeps REPE (ZF = 1) or REPNE (ZF = 0) going. */
static bool rep_cond(struct cpu *cpu, const struct insn *in)
{
	if (!in->rep)
		return true;
	bool zf = flags_cond(cpu, 4); /* condition code E/Z */
	return in->rep == PREFIX_REP ? zf : !zf;
}

/* CMPS: compare seg:eSI with ES:eDI (flags of source - destination). */
static bool elem_cmps(struct cpu *cpu, const struct insn *in, int sz)
{
	uint32_t a = mem_rd(cpu, src_seg(in), areg(cpu, in, ESI), sz);
	uint32_t b = mem_rd(cpu, SEG_ES, areg(cpu, in, EDI), sz);
	lf_set(cpu, LF_SUB, sz, a, b, a - b);
	advance(cpu, in, ESI, sz);
	advance(cpu, in, EDI, sz);
	return rep_cond(cpu, in);
}

/* SCAS: compare the accumulator with ES:eDI. */
static bool elem_scas(struct cpu *cpu, const struct insn *in, int sz)
{
	uint32_t a = reg_sz(cpu, EAX, sz);
	uint32_t b = mem_rd(cpu, SEG_ES, areg(cpu, in, EDI), sz);
	lf_set(cpu, LF_SUB, sz, a, b, a - b);
	advance(cpu, in, EDI, sz);
	return rep_cond(cpu, in);
}

/* LODS: accumulator = seg:eSI */
static bool elem_lods(struct cpu *cpu, const struct insn *in, int sz)
{
	set_reg_sz(cpu, EAX, mem_rd(cpu, src_seg(in), areg(cpu, in, ESI), sz), sz);
	advance(cpu, in, ESI, sz);
	return true;
}

/* STOS: ES:eDI = accumulator */
static bool elem_stos(struct cpu *cpu, const struct insn *in, int sz)
{
	mem_wr(cpu, SEG_ES, areg(cpu, in, EDI), reg_sz(cpu, EAX, sz), sz);
	advance(cpu, in, EDI, sz);
	return true;
}

/* INS: ES:eDI = port DX. The destination is checked (segment and page)
 * before the port is read, so a fault does not lose device data. */
static bool elem_ins(struct cpu *cpu, const struct insn *in, int sz)
{
	uint16_t port = (uint16_t)cpu->r[EDX];
	cpu_io_check(cpu, port, sz);
	uint32_t lin = seg_lin(cpu, SEG_ES, areg(cpu, in, EDI), sz, ACC_WRITE);
	mmu_translate(cpu, lin, ACC_WRITE, cpu->user);
	if (((lin + (uint32_t)sz - 1) ^ lin) & ~0xfffu)
		mmu_translate(cpu, lin + (uint32_t)sz - 1, ACC_WRITE, cpu->user);
	uint32_t v = cpu->bus.io_read(cpu->bus.opaque, port, sz);
	lin_wr(cpu, lin, v, sz);
	advance(cpu, in, EDI, sz);
	return true;
}

/* OUTS: port DX = seg:eSI. Devices may raise interrupts: end the block. */
static bool elem_outs(struct cpu *cpu, const struct insn *in, int sz)
{
	uint16_t port = (uint16_t)cpu->r[EDX];
	cpu_io_check(cpu, port, sz);
	uint32_t v = mem_rd(cpu, src_seg(in), areg(cpu, in, ESI), sz);
	cpu->bus.io_write(cpu->bus.opaque, port, v, sz);
	cpu->block_end = true;
	advance(cpu, in, ESI, sz);
	return true;
}

/* }====================================================================== */

/* {====== repetition ====== */

/*
 * Runs one element, or with a REP prefix elements while eCX != 0 (and, for
 * CMPS/SCAS, the REPE/REPNE condition holds), stopping early where eCX
 * reaches a multiple of STRING_BUDGET. eCX counts down after each element.
 * Work left over re-executes the instruction on the next step.
 */
static void string_run(struct cpu *cpu, const struct insn *in, string_elem_fn elem)
{
	int sz = elem_size(in);
	if (!in->rep) {
		elem(cpu, in, sz);
		return;
	}
	uint32_t cx = areg(cpu, in, ECX);
	if (cx == 0)
		return;
	uint32_t done = 0;
	while (cx != 0) {
		bool go_on = elem(cpu, in, sz);
		set_areg(cpu, in, ECX, --cx);
		cpu->cycles += STRING_ELEM_CYCLES;
		done++;
		if (!go_on)
			break;
		if (cx % STRING_BUDGET == 0) {
			if (cx != 0)
				cpu->eip = cpu->start_eip;
			break;
		}
		if (unlikely(cpu->points_due)) {
			/* A debugger watchpoint hit: stop after this element. */
			point_split_rep(cpu, in, done * STRING_ELEM_CYCLES);
			return;
		}
	}
	cpu->cycles -= STRING_ELEM_CYCLES;
}

/* MOVSB / MOVSW / MOVSD (A4, A5) */
static void op_movs(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_movs);
}

/* CMPSB / CMPSW / CMPSD (A6, A7) */
static void op_cmps(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_cmps);
}

/* STOSB / STOSW / STOSD (AA, AB) */
static void op_stos(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_stos);
}

/* LODSB / LODSW / LODSD (AC, AD) */
static void op_lods(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_lods);
}

/* SCASB / SCASW / SCASD (AE, AF) */
static void op_scas(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_scas);
}

/* INSB / INSW / INSD (6C, 6D) */
static void op_ins(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_ins);
}

/* OUTSB / OUTSW / OUTSD (6E, 6F) */
static void op_outs(struct cpu *cpu, const struct insn *in)
{
	string_run(cpu, in, elem_outs);
}

/* }====================================================================== */

/* Registers the string family. Called once by the decoder. */
void string_register(void)
{
	for (int w = 0; w < 2; w++) {
		cpu_set_op(0xa4 + w, op_movs); /* MOVS */
		cpu_set_op(0xa6 + w, op_cmps); /* CMPS */
		cpu_set_op(0xaa + w, op_stos); /* STOS */
		cpu_set_op(0xac + w, op_lods); /* LODS */
		cpu_set_op(0xae + w, op_scas); /* SCAS */
		cpu_set_op(0x6c + w, op_ins);  /* INS */
		cpu_set_op(0x6e + w, op_outs); /* OUTS */
	}
}
