/*
 * cpu_int.h - what the instruction families share: register and memory
 * access, lazy flags, exceptions, the opcode registry.
 *
 * Only files of engine/cpu include this header.
 *
 * Guest faults have one path: cpu_raise() longjmps to the single catch point
 * in cpu_run()/cpu_step() (exec.c), which restores EIP and ESP of the
 * faulting instruction and delivers the exception. Host bugs go through
 * CPU_ASSERT, which aborts with a message.
 */
#ifndef NESTLAB_CPU_INT_H
#define NESTLAB_CPU_INT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define CPU_ASSERT(c)                                                                              \
	do {                                                                                       \
		if (unlikely(!(c)))                                                                \
			cpu_host_bug(__FILE__, __LINE__, #c);                                      \
	} while (0)

_Noreturn void cpu_host_bug(const char *file, int line, const char *what);

/* {====== exceptions ====== */

#define ERR_NONE (-1)

/* Raises guest exception `vec` with error code `err` (ERR_NONE for none).
 * Never returns: control goes back to the run loop. */
_Noreturn void cpu_raise(struct cpu *cpu, int vec, int err);

static inline _Noreturn void cpu_ud(struct cpu *cpu)
{
	cpu_raise(cpu, EXC_UD, ERR_NONE);
}
static inline _Noreturn void cpu_gp0(struct cpu *cpu)
{
	cpu_raise(cpu, EXC_GP, 0);
}

/* Delivers interrupt or exception `vec` now, through the IVT or IDT.
 * `soft` is true for INT n/INT3/INTO (privilege check against the gate DPL,
 * and the return address is the next instruction). Returns normally or
 * faults through cpu_raise. Defined in intr.c. */
void cpu_deliver(struct cpu *cpu, int vec, int err, bool soft, bool ext);

/* {====== registers ====== */

static inline uint32_t reg8(const struct cpu *cpu, int n)
{
	return n < 4 ? cpu->r[n] & 0xff : (cpu->r[n - 4] >> 8) & 0xff;
}
static inline void set_reg8(struct cpu *cpu, int n, uint32_t v)
{
	if (n < 4)
		cpu->r[n] = (cpu->r[n] & ~0xffu) | (v & 0xff);
	else
		cpu->r[n - 4] = (cpu->r[n - 4] & ~0xff00u) | ((v & 0xff) << 8);
}
static inline uint32_t reg16(const struct cpu *cpu, int n)
{
	return cpu->r[n] & 0xffff;
}
static inline void set_reg16(struct cpu *cpu, int n, uint32_t v)
{
	cpu->r[n] = (cpu->r[n] & ~0xffffu) | (v & 0xffff);
}

/* Operand sizes are carried as a byte count: 1, 2 or 4. */
static inline uint32_t reg_sz(const struct cpu *cpu, int n, int sz)
{
	return sz == 1 ? reg8(cpu, n) : sz == 2 ? reg16(cpu, n) : cpu->r[n];
}
static inline void set_reg_sz(struct cpu *cpu, int n, uint32_t v, int sz)
{
	if (sz == 1)
		set_reg8(cpu, n, v);
	else if (sz == 2)
		set_reg16(cpu, n, v);
	else
		cpu->r[n] = v;
}
static inline uint32_t size_mask(int sz)
{
	return sz == 4 ? 0xffffffffu : (1u << (sz * 8)) - 1;
}
static inline uint32_t sign_bit(int sz)
{
	return 1u << (sz * 8 - 1);
}
static inline uint32_t sext(uint32_t v, int sz)
{
	return sz == 1 ? (uint32_t)(int32_t)(int8_t)v : sz == 2 ? (uint32_t)(int32_t)(int16_t)v : v;
}
static inline int osz(const struct insn *in)
{
	return in->opsize32 ? 4 : 2;
}

/* {====== lazy flags (flags.c) ====== */

enum lf_op {
	LF_NONE,  /* EFLAGS holds the arithmetic flags */
	LF_ADD,   /* lf_a + lf_b = lf_res */
	LF_SUB,   /* lf_a - lf_b = lf_res */
	LF_LOGIC, /* CF=OF=0, AF=0 */
	LF_INC,   /* lf_a + 1; CF kept in eflags */
	LF_DEC,   /* lf_a - 1; CF kept in eflags */
};

/* The size lives in the top bits of lf_op: lf_op = kind | (size << 4). */
static inline void lf_set(struct cpu *cpu, int kind, int sz, uint32_t a, uint32_t b, uint32_t res)
{
	cpu->lf_op = (uint8_t)(kind | (sz << 4));
	cpu->lf_a = a;
	cpu->lf_b = b;
	cpu->lf_res = res;
}

/* Materializes the arithmetic flags into cpu->eflags and returns it. */
uint32_t flags_get(struct cpu *cpu);
/* Sets the arithmetic flags from `v` (others untouched), dropping lazy state. */
static inline void flags_set_arith(struct cpu *cpu, uint32_t v)
{
	flags_get(cpu);
	cpu->lf_op = LF_NONE;
	cpu->eflags = (cpu->eflags & ~EFLAGS_ARITH) | (v & EFLAGS_ARITH);
}
uint32_t flags_cf(struct cpu *cpu);
/* Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc). */
bool flags_cond(struct cpu *cpu, int cc);
/* PF of the low byte of v. */
static inline uint32_t parity(uint32_t v)
{
	return (0x9669u >> ((v ^ (v >> 4)) & 0xf) & 1) ? EFLAGS_PF : 0;
}
/* SZP flags of a result. */
static inline uint32_t flags_szp(uint32_t res, int sz)
{
	res &= size_mask(sz);
	return (res == 0 ? EFLAGS_ZF : 0) | (res & sign_bit(sz) ? EFLAGS_SF : 0) | parity(res);
}

/* {====== memory (mmu.c) ====== */

/* Access kinds for translation and checks. */
enum acc { ACC_READ = 0, ACC_WRITE = 1, ACC_FETCH = 2 };

/*
 * Linear-address access with paging and the A20 mask. `user` is the
 * privilege the access is checked with (true for CPL 3, false for implicit
 * supervisor accesses such as descriptor table and TSS reads).
 * Faults through cpu_raise (#PF).
 */
uint32_t lin_read(struct cpu *cpu, uint32_t lin, int sz, bool user);
void lin_write(struct cpu *cpu, uint32_t lin, uint32_t v, int sz, bool user);
/* Translates a linear address, setting A/D bits; faults with #PF. */
uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, enum acc acc, bool user);
/* Translates without side effects; returns false if not mapped. */
bool mmu_probe(struct cpu *cpu, uint32_t lin, uint32_t *phys);
/* Drops the TLB entry for one linear page (INVLPG). */
void mmu_invlpg(struct cpu *cpu, uint32_t lin);
/* Physical access (A20 applied by the caller). */
uint32_t phys_read(struct cpu *cpu, uint32_t pa, int sz);
void phys_write(struct cpu *cpu, uint32_t pa, uint32_t v, int sz);

/* Fast-path linear read/write with the current CPL. */
static inline uint32_t lin_rd(struct cpu *cpu, uint32_t lin, int sz)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (likely(e->tag_read[cpu->user] == ((lin & ~0xfffu) | 1) && (lin & 0xfff) <= 0x1000u - sz)) {
		const uint8_t *p = e->host + (lin & 0xfff);
		if (sz == 4)
			return *(const uint32_t *)p;
		if (sz == 2)
			return *(const uint16_t *)p;
		return *p;
	}
	return lin_read(cpu, lin, sz, cpu->user);
}
static inline void lin_wr(struct cpu *cpu, uint32_t lin, uint32_t v, int sz)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (likely(e->tag_write[cpu->user] == ((lin & ~0xfffu) | 1) && (lin & 0xfff) <= 0x1000u - sz)) {
		uint8_t *p = e->host + (lin & 0xfff);
		if (sz == 4)
			*(uint32_t *)p = v;
		else if (sz == 2)
			*(uint16_t *)p = (uint16_t)v;
		else
			*p = (uint8_t)v;
		return;
	}
	lin_write(cpu, lin, v, sz, cpu->user);
}

/* {====== segmentation (seg.c) ====== */

/*
 * Checks an access of `sz` bytes at `off` in segment `s` (limit, type,
 * presence) and returns the linear address. Faults with #GP(0) or #SS(0).
 */
uint32_t seg_check(struct cpu *cpu, int s, uint32_t off, int sz, enum acc acc);

/* Fast check: seg_ok[] caches, per segment register, whether reads (bit 0)
 * and writes (bit 1) need only the limit check (expand-up, usable type). */
static inline uint32_t seg_lin(struct cpu *cpu, int s, uint32_t off, int sz, enum acc acc)
{
	const struct seg *sg = &cpu->seg[s];
	if (likely(((cpu->seg_ok[s] >> acc) & 1) && off <= sg->limit - (uint32_t)(sz - 1) &&
	           sg->limit >= (uint32_t)(sz - 1)))
		return sg->base + off;
	return seg_check(cpu, s, off, sz, acc);
}
/* Recomputes seg_ok[s] from the descriptor cache. */
void seg_update_ok(struct cpu *cpu, int s);

static inline uint32_t mem_rd(struct cpu *cpu, int s, uint32_t off, int sz)
{
	return lin_rd(cpu, seg_lin(cpu, s, off, sz, ACC_READ), sz);
}
static inline void mem_wr(struct cpu *cpu, int s, uint32_t off, uint32_t v, int sz)
{
	lin_wr(cpu, seg_lin(cpu, s, off, sz, ACC_WRITE), v, sz);
}

/*
 * Loads segment register `sreg` with selector `sel` by the rules of the
 * current mode (real/v86: base = sel << 4; protected: descriptor checks per
 * the manual's MOV Sreg/POP Sreg pseudo-code). Faults on violations.
 */
void seg_load(struct cpu *cpu, int sreg, uint16_t sel);
/* Reads the 8-byte descriptor for `sel` from the GDT or LDT; faults with
 * #GP(sel & ~3) (or the vector given) when beyond the table limit. */
uint64_t desc_read(struct cpu *cpu, uint16_t sel, int vec);
/* Sets the accessed bit of the descriptor of `sel` in memory. */
void desc_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t d);
/* Fills a descriptor cache from a raw descriptor. */
void seg_from_desc(struct seg *s, uint16_t sel, uint64_t d);
/* Recomputes code32/stack32/cpl-derived caches after CS or SS changed. */
void cpu_mode_changed(struct cpu *cpu);

static inline bool cpu_pmode(const struct cpu *cpu)
{
	return (cpu->cr0 & CR0_PE) && !(cpu->eflags & EFLAGS_VM);
}
static inline bool cpu_v86(const struct cpu *cpu)
{
	return (cpu->eflags & EFLAGS_VM) != 0;
}
static inline int cpu_iopl(const struct cpu *cpu)
{
	return (cpu->eflags >> EFLAGS_IOPL_SHIFT) & 3;
}

/* {====== operands ====== */

/* Effective address (offset) of the ModRM memory operand. */
static inline uint32_t ea(const struct cpu *cpu, const struct insn *in)
{
	uint32_t a = in->disp;
	if (in->base != REG_NONE)
		a += cpu->r[in->base];
	if (in->index != REG_NONE)
		a += cpu->r[in->index] << in->scale;
	return in->addrsize32 ? a : a & 0xffff;
}

static inline uint32_t rm_read(struct cpu *cpu, const struct insn *in, int sz)
{
	if (in->mod == 3)
		return reg_sz(cpu, in->rm, sz);
	return mem_rd(cpu, in->seg, ea(cpu, in), sz);
}
static inline void rm_write(struct cpu *cpu, const struct insn *in, uint32_t v, int sz)
{
	if (in->mod == 3)
		set_reg_sz(cpu, in->rm, v, sz);
	else
		mem_wr(cpu, in->seg, ea(cpu, in), v, sz);
}

/* {====== stack (stack.c) ====== */

void cpu_push(struct cpu *cpu, uint32_t v, int sz);
uint32_t cpu_pop(struct cpu *cpu, int sz);
/* Reads the stack slot `off` bytes above ESP without popping. */
uint32_t cpu_stack_peek(struct cpu *cpu, uint32_t off, int sz);
static inline uint32_t sp_mask(const struct cpu *cpu)
{
	return cpu->stack32 ? 0xffffffffu : 0xffff;
}
static inline uint32_t get_sp(const struct cpu *cpu)
{
	return cpu->r[ESP] & sp_mask(cpu);
}
static inline void set_sp(struct cpu *cpu, uint32_t v)
{
	if (cpu->stack32)
		cpu->r[ESP] = v;
	else
		set_reg16(cpu, ESP, v);
}

/* {====== control transfer helpers (ctrl.c, pmode.c) ====== */

/* Jumps to `eip` in the current CS, with the CS limit check (#GP(0)). */
void cpu_jump_near(struct cpu *cpu, uint32_t eip);
/* Far JMP/CALL to sel:off in any mode (gates, tasks, privilege changes). */
void cpu_far_jump(struct cpu *cpu, uint16_t sel, uint32_t off, int sz);
void cpu_far_call(struct cpu *cpu, uint16_t sel, uint32_t off, int sz);
/* Far RET with `imm` bytes of parameters, and IRET, in any mode. */
void cpu_far_ret(struct cpu *cpu, int sz, uint32_t imm);
void cpu_iret(struct cpu *cpu, int sz);
/* Hardware task switch to TSS selector `sel` (descriptor d) for `reason`. */
enum ts_reason { TS_JMP, TS_CALL, TS_IRET, TS_INT };
void cpu_task_switch(struct cpu *cpu, uint16_t sel, uint64_t d, enum ts_reason reason, int err);

/* Privilege checks for I/O: raises #GP(0) if port access is not allowed. */
void cpu_io_check(struct cpu *cpu, uint16_t port, int sz);
/* Raises #GP(0) unless CPL is 0 (and #GP(0) in v86 mode). */
static inline void cpu_need_cpl0(struct cpu *cpu)
{
	if (cpu_v86(cpu) || ((cpu->cr0 & CR0_PE) && cpu->cpl != 0))
		cpu_gp0(cpu);
}
/* True when strict mode makes a sensitive instruction trap here. */
static inline bool cpu_strict_trap(const struct cpu *cpu)
{
	return cpu->strict && (cpu->cr0 & CR0_PE) && cpu->cpl > 0;
}

/* {====== the opcode registry (decode.c) ====== */

/* Installs the handler of one-byte opcode op (0x00-0xff) or 0F xx (0x100|xx),
 * or of group member `reg` (0-7) of a group opcode. */
void cpu_set_op(int op, cpu_op_fn fn);
void cpu_set_grp(int op, int reg, cpu_op_fn fn);

/* Each family registers its handlers from one function. */
void alu_register(void);
void shift_register(void);
void muldiv_register(void);
void bcd_register(void);
void bit_register(void);
void mov_register(void);
void stack_register(void);
void ctrl_register(void);
void string_register(void);
void io_register(void);
void sys_register(void);
void misc_register(void);

/* {====== debug registers (debug.c) ====== */

/* Recomputes bp_exec/bp_data from DR7 (after MOV DR7, task switch, restore). */
void dbg_update(struct cpu *cpu);
/* Raises #DB (fault) if an enabled instruction breakpoint matches EIP. */
void dbg_check_exec(struct cpu *cpu);
/* Notes data breakpoint hits for an access of sz bytes at lin. */
void dbg_check_data(struct cpu *cpu, uint32_t lin, int sz, bool write);
/* True if the linear page of `lin` holds an enabled data breakpoint. */
bool dbg_page_watched(const struct cpu *cpu, uint32_t lin);

/* Base cycle cost of an opcode (cycles.c). */
uint8_t cycles_base(int op, int reg, bool mem);

/* {====== decoded-instruction cache (dcache.c) ====== */

struct dcache *dcache_new(void);
void dcache_free(struct dcache *dc);
/* Returns the cached decode for physical address pa in the given mode, or
 * decodes it (faulting as the CPU would) and caches it. */
const struct insn *dcache_fetch(struct cpu *cpu);
/* Drops decodes overlapping [pa, pa+len). */
void dcache_invalidate(struct dcache *dc, uint32_t pa, uint32_t len);
/* True if physical page `pa >> 12` holds decoded code. */
bool dcache_page_has_code(const struct dcache *dc, uint32_t pa);
void dcache_flush(struct dcache *dc);

#endif
