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

/* {====== runs of elements within one page (REP MOVS, REP STOS) ====== */

/*
 * The host address of `n` elements of `sz` bytes at seg:off going up, for
 * `acc`, when no check can fail and no access leaves the fast path: 32-bit
 * addressing, a segment that needs only its limit check (seg_ok) with the
 * whole run within the limit, and a TLB hit on the run's page with the
 * fast path for `acc` (so no A/D bit, no watchpoint, no observer, no code
 * on the page for a write; the dirty bit was taken when the entry got its
 * write path). Lowers *n to the elements that lie wholly in that page.
 * NULL when the first element is not such an access.
 */
static uint8_t *run_host(struct cpu *cpu, int s, uint32_t off, int sz, uint32_t *n, enum acc acc)
{
	const struct seg *sg = &cpu->seg[s];
	if (!((cpu->seg_ok[s] >> acc) & 1) || (uint64_t)off + (uint64_t)*n * (uint32_t)sz - 1 > sg->limit)
		return NULL;
	uint32_t lin = sg->base + off;
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	uint32_t tag = acc == ACC_WRITE ? e->tag_write[cpu->user] : e->tag_read[cpu->user];
	if (tag != ((lin & ~0xfffu) | 1))
		return NULL;
	uint32_t in_page = (0x1000u - (lin & 0xfff)) / (uint32_t)sz;
	if (in_page == 0)
		return NULL;
	if (*n > in_page)
		*n = in_page;
	return e->host + (lin & 0xfff);
}

/*
 * Runs up to `n` elements of REP MOVS or REP STOS (`elem`) at once, the
 * way the element loop would: forward only (DF = 0), 32-bit addressing,
 * only what run_host allows, element by element in increasing address
 * order (an overlapping MOVS copies as the hardware does). Updates eSI,
 * eDI and eCX. Returns the number of elements done (0: take the element
 * loop).
 */
static uint32_t string_bulk(struct cpu *cpu, const struct insn *in, string_elem_fn elem, int sz,
                            uint32_t n)
{
	if (!in->addrsize32 || (cpu->eflags & EFLAGS_DF))
		return 0;
	uint8_t *d = run_host(cpu, SEG_ES, cpu->r[EDI], sz, &n, ACC_WRITE);
	if (!d)
		return 0;
	if (elem == elem_movs) {
		const uint8_t *src = run_host(cpu, src_seg(in), cpu->r[ESI], sz, &n, ACC_READ);
		if (!src)
			return 0;
		for (uint32_t i = 0; i < n * (uint32_t)sz; i += (uint32_t)sz)
			host_st(d + i, host_ld(src + i, sz), sz);
		cpu->r[ESI] += n * (uint32_t)sz;
	} else {
		uint32_t v = reg_sz(cpu, EAX, sz);
		for (uint32_t i = 0; i < n * (uint32_t)sz; i += (uint32_t)sz)
			host_st(d + i, v, sz);
	}
	cpu->r[EDI] += n * (uint32_t)sz;
	cpu->r[ECX] -= n;
	return n;
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
	bool bulk = (elem == elem_movs || elem == elem_stos) && !cpu->points_due && !cpu->reference;
	while (cx != 0) {
		if (bulk) {
			/* at most to the next multiple of STRING_BUDGET, as below */
			uint32_t k = string_bulk(cpu, in, elem, sz, (cx - 1) % STRING_BUDGET + 1);
			if (k) {
				cx -= k;
				cpu->cycles += STRING_ELEM_CYCLES * k;
				done += k;
				if (cx % STRING_BUDGET == 0) {
					if (cx != 0)
						cpu->eip = cpu->start_eip;
					break;
				}
				continue;
			}
		}
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
