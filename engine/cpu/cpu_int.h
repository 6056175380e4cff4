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
/* For the few helpers on every instruction's path. */
#define HOT static inline __attribute__((always_inline))

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

HOT uint32_t reg8(const struct cpu *cpu, int n)
{
	return n < 4 ? cpu->r[n] & 0xff : (cpu->r[n - 4] >> 8) & 0xff;
}
HOT void set_reg8(struct cpu *cpu, int n, uint32_t v)
{
	if (n < 4)
		cpu->r[n] = (cpu->r[n] & ~0xffu) | (v & 0xff);
	else
		cpu->r[n - 4] = (cpu->r[n - 4] & ~0xff00u) | ((v & 0xff) << 8);
}
HOT uint32_t reg16(const struct cpu *cpu, int n)
{
	return cpu->r[n] & 0xffff;
}
HOT void set_reg16(struct cpu *cpu, int n, uint32_t v)
{
	cpu->r[n] = (cpu->r[n] & ~0xffffu) | (v & 0xffff);
}

/* Operand sizes are carried as a byte count: 1, 2 or 4. */
HOT uint32_t reg_sz(const struct cpu *cpu, int n, int sz)
{
	return sz == 1 ? reg8(cpu, n) : sz == 2 ? reg16(cpu, n) : cpu->r[n];
}
HOT void set_reg_sz(struct cpu *cpu, int n, uint32_t v, int sz)
{
	if (sz == 1)
		set_reg8(cpu, n, v);
	else if (sz == 2)
		set_reg16(cpu, n, v);
	else
		cpu->r[n] = v;
}
HOT uint32_t size_mask(int sz)
{
	return sz == 4 ? 0xffffffffu : (1u << (sz * 8)) - 1;
}
HOT uint32_t sign_bit(int sz)
{
	return 1u << (sz * 8 - 1);
}
HOT uint32_t sext(uint32_t v, int sz)
{
	return sz == 1 ? (uint32_t)(int32_t)(int8_t)v : sz == 2 ? (uint32_t)(int32_t)(int16_t)v : v;
}
HOT int osz(const struct insn *in)
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
	LF_SZP,   /* SF ZF PF of lf_res, AF clear; CF and OF kept in eflags (shifts, rotates) */
	LF_ADC,   /* lf_a + lf_b + 1 = lf_res (ADC with a carry in) */
	LF_SBB,   /* lf_a - lf_b - 1 = lf_res (SBB with a borrow in) */
};

/* The size lives in bits 4-6 of lf_op: lf_op = kind | (size << 4), plus
 * LF_CFOF once a rotate has set CF and OF over the record. */
#define LF_CFOF 0x80u /* CF and OF are in eflags, whatever the kind says */
#define LF_SIZE(op) (((op) >> 4) & 7)
HOT void lf_set(struct cpu *cpu, int kind, int sz, uint32_t a, uint32_t b, uint32_t res)
{
	cpu->lf_op = (uint8_t)(kind | (sz << 4));
	cpu->lf_a = a;
	cpu->lf_b = b;
	cpu->lf_res = res;
}

/* Materializes the arithmetic flags into cpu->eflags and returns it. */
uint32_t flags_get(struct cpu *cpu);
/* Sets the arithmetic flags from `v` (others untouched), dropping lazy state
 * (all six are replaced, so the lazy record need not be materialized). */
static inline void flags_set_arith(struct cpu *cpu, uint32_t v)
{
	cpu->lf_op = LF_NONE;
	cpu->eflags = (cpu->eflags & ~EFLAGS_ARITH) | (v & EFLAGS_ARITH);
}
/* Sets CF and OF from `f` and keeps SF ZF AF PF as they are, lazy or not
 * (a rotate): the lazy record stays, marked LF_CFOF. */
HOT void flags_set_cf_of(struct cpu *cpu, uint32_t f)
{
	if (cpu->lf_op != LF_NONE)
		cpu->lf_op |= LF_CFOF;
	cpu->eflags = (cpu->eflags & ~(EFLAGS_CF | EFLAGS_OF)) | (f & (EFLAGS_CF | EFLAGS_OF));
}
/* Flags of a shift: SF ZF PF of `res` (sz bytes), AF clear, CF and OF from `f`. */
HOT void flags_set_shift(struct cpu *cpu, int sz, uint32_t res, uint32_t f)
{
	lf_set(cpu, LF_SZP, sz, 0, 0, res);
	cpu->eflags = (cpu->eflags & ~(EFLAGS_CF | EFLAGS_OF)) | (f & (EFLAGS_CF | EFLAGS_OF));
}
uint32_t flags_cf(struct cpu *cpu);
/* Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc). */
bool flags_cond(struct cpu *cpu, int cc);
/* PF of the low byte of v. */
HOT uint32_t parity(uint32_t v)
{
	return (0x9669u >> ((v ^ (v >> 4)) & 0xf) & 1) ? EFLAGS_PF : 0;
}
/* SZP flags of a result. */
HOT uint32_t flags_szp(uint32_t res, int sz)
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
/* Raises #PF for linear `lin` with error code `err`: sets CR2 and
 * charges the fault's cycles. Never returns. */
_Noreturn void mmu_page_fault(struct cpu *cpu, uint32_t lin, uint32_t err);
/* Counts one page-table reference of a walk (2 cycles of mem_cycles, not
 * of the guest's clock: how often a walk happens depends on the TLB, which
 * a guest must not be able to time); `nested` when it reads the nested map. */
/* Notes that physical page `pa` may be written (bus.dirty). */
static inline void mmu_mark_dirty(struct cpu *cpu, uint32_t pa)
{
	if (cpu->bus.dirty)
		cpu->bus.dirty[pa >> 18] |= 1ull << ((pa >> 12) & 63);
}

static inline void mmu_walk_ref(struct cpu *cpu, bool nested)
{
	cpu->guest.walk_refs++;
	cpu->guest.nested_refs += nested;
	cpu->mem_cycles += 2;
}

/* Little-endian loads and stores of 1, 2 or 4 bytes at any alignment in
 * host memory (memcpy compiles to a single move on x86 hosts). */
HOT uint32_t host_ld(const uint8_t *p, int sz)
{
	if (sz == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	if (sz == 2) {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	return *p;
}
HOT void host_st(uint8_t *p, uint32_t v, int sz)
{
	if (sz == 4) {
		memcpy(p, &v, 4);
	} else if (sz == 2) {
		uint16_t w = (uint16_t)v;
		memcpy(p, &w, 2);
	} else {
		*p = (uint8_t)v;
	}
}

/* Fast-path linear read/write with the current CPL. */
HOT uint32_t lin_rd(struct cpu *cpu, uint32_t lin, int sz)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (likely(e->tag_read[cpu->user] == ((lin & ~0xfffu) | 1) && (lin & 0xfff) <= 0x1000u - sz)) {
		return host_ld(e->host + (lin & 0xfff), sz);
	}
	return lin_read(cpu, lin, sz, cpu->user);
}
HOT void lin_wr(struct cpu *cpu, uint32_t lin, uint32_t v, int sz)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (likely(e->tag_write[cpu->user] == ((lin & ~0xfffu) | 1) && (lin & 0xfff) <= 0x1000u - sz)) {
		host_st(e->host + (lin & 0xfff), v, sz);
		return;
	}
	lin_write(cpu, lin, v, sz, cpu->user);
}

/* {====== guest mode in the MMU (nested.c) ====== */

/* Error code bits of CPU_VEC_NPF (a nested-map miss). */
#define NPF_PRESENT 0x001u /* the nested entry was present: a write to a read-only page */
#define NPF_WRITE 0x002u   /* the access was a write (an A/D update is one) */
#define NPF_FETCH 0x010u   /* the access was an instruction fetch */
#define NPF_WALK 0x100u    /* it was a reference to a guest page table */

/* True while nested paging is in force: a VM runs and the monitor asked
 * for it. Off the TLB-hit path; the walk tests it once per miss. */
static inline bool mmu_nested(const struct cpu *cpu)
{
	return cpu->guest.nested && cpu->guest.on;
}

/* The TLB privilege index (cpu->user) for privilege level `pl`: with
 * nested paging the guest's virtual CPL decides, not the real one. */
static inline uint8_t mmu_user_index(const struct cpu *cpu, int pl)
{
	if (unlikely(mmu_nested(cpu)))
		return cpu->guest.vcpl == 3;
	return pl == 3;
}

/*
 * The two-dimensional walk: translates `lin` through the guest's tables
 * (CR3, CR0.PG/WP, CR4.PSE are the guest's) and every guest-physical
 * address through the nested map. Sets A/D bits in the guest's tables.
 * Returns the host-physical address; *wr as walk() in mmu.c (a later
 * write at this privilege may skip the walk). Faults with #PF (guest
 * tables) or CPU_VEC_NPF (nested map, cpu->guest.npf_gpa set).
 */
uint32_t nested_walk(struct cpu *cpu, uint32_t lin, enum acc acc, bool user, bool *wr);
/* nested_walk without side effects (no A/D, no counts, no faults):
 * returns false if either dimension does not map `lin`. */
bool nested_probe(struct cpu *cpu, uint32_t lin, uint32_t *phys);

/*
 * System-structure access: the GDT and LDT (through gdtr/ldtr bases) and
 * the TSS (through tr.base). Linear, as implicit supervisor accesses, on
 * bare hardware; host-physical in guest mode with dt_phys. Faults as
 * lin_read/lin_write do (never in dt_phys mode). Defined in seg.c.
 */
uint32_t dt_read(struct cpu *cpu, uint32_t addr, int sz);
void dt_write(struct cpu *cpu, uint32_t addr, uint32_t v, int sz);

/* {====== segmentation (seg.c) ====== */

/*
 * Checks an access of `sz` bytes at `off` in segment `s` (limit, type,
 * presence) and returns the linear address. Faults with #GP(0) or #SS(0).
 */
uint32_t seg_check(struct cpu *cpu, int s, uint32_t off, int sz, enum acc acc);

/* Fast check: seg_ok[] caches, per segment register, whether reads (bit 0)
 * and writes (bit 1) need only the limit check (expand-up, usable type). */
HOT uint32_t seg_lin(struct cpu *cpu, int s, uint32_t off, int sz, enum acc acc)
{
	const struct seg *sg = &cpu->seg[s];
	if (likely(((cpu->seg_ok[s] >> acc) & 1) && (uint64_t)off + (uint32_t)(sz - 1) <= sg->limit))
		return sg->base + off;
	return seg_check(cpu, s, off, sz, acc);
}
/* Recomputes seg_ok[s] from the descriptor cache. */
void seg_update_ok(struct cpu *cpu, int s);

HOT uint32_t mem_rd(struct cpu *cpu, int s, uint32_t off, int sz)
{
	return lin_rd(cpu, seg_lin(cpu, s, off, sz, ACC_READ), sz);
}
HOT void mem_wr(struct cpu *cpu, int s, uint32_t off, uint32_t v, int sz)
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
HOT uint32_t ea(const struct cpu *cpu, const struct insn *in)
{
	uint32_t a = in->disp;
	if (in->base != REG_NONE)
		a += cpu->r[in->base];
	if (in->index != REG_NONE)
		a += cpu->r[in->index] << in->scale;
	return in->addrsize32 ? a : a & 0xffff;
}

/* ea() for a handler that knows the address size is 32 (cpu_set_fast_mem). */
HOT uint32_t ea32(const struct cpu *cpu, const struct insn *in)
{
	uint32_t a = in->disp;
	if (in->base != REG_NONE)
		a += cpu->r[in->base];
	if (in->index != REG_NONE)
		a += cpu->r[in->index] << in->scale;
	return a;
}

HOT uint32_t rm_read(struct cpu *cpu, const struct insn *in, int sz)
{
	if (in->mod == 3)
		return reg_sz(cpu, in->rm, sz);
	return mem_rd(cpu, in->seg, ea(cpu, in), sz);
}
HOT void rm_write(struct cpu *cpu, const struct insn *in, uint32_t v, int sz)
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
/*
 * Finds the host address (*p) of the 4-byte stack slot at SS:sp when the
 * common case holds: a 32-bit stack, SS usable for `acc` with the slot
 * within its limit, and a TLB hit not crossing a page (a valid TLB tag
 * implies a host page). Returns false otherwise: the caller then takes the
 * generic path, which performs every check (and faults) itself.
 */
HOT bool stack_slot32(struct cpu *cpu, uint32_t sp, enum acc acc, uint8_t **p)
{
	const struct seg *ss = &cpu->seg[SEG_SS];
	if (!likely(cpu->stack32 && ((cpu->seg_ok[SEG_SS] >> acc) & 1) &&
	            (uint64_t)sp + 3 <= ss->limit))
		return false;
	uint32_t lin = ss->base + sp;
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	uint32_t tag = acc == ACC_WRITE ? e->tag_write[cpu->user] : e->tag_read[cpu->user];
	if (!likely(tag == ((lin & ~0xfffu) | 1) && (lin & 0xfff) <= 0x1000u - 4))
		return false;
	*p = e->host + (lin & 0xfff);
	return true;
}

/* cpu_push of 4 bytes with the common case inline (same contract: the
 * slot is written, and may fault, before ESP moves). */
HOT void cpu_push32(struct cpu *cpu, uint32_t v)
{
	uint8_t *p;
	if (likely(stack_slot32(cpu, cpu->r[ESP] - 4, ACC_WRITE, &p))) {
		host_st(p, v, 4);
		cpu->r[ESP] -= 4;
		return;
	}
	cpu_push(cpu, v, 4);
}
HOT uint32_t sp_mask(const struct cpu *cpu)
{
	return cpu->stack32 ? 0xffffffffu : 0xffff;
}
HOT uint32_t get_sp(const struct cpu *cpu)
{
	return cpu->r[ESP] & sp_mask(cpu);
}
HOT void set_sp(struct cpu *cpu, uint32_t v)
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
/* True when strict mode makes a sensitive instruction trap here. In v86
 * mode far transfers, IRET and segment loads reveal nothing (they work
 * as in real mode, and the IOPL-sensitive ones trap by their own rule):
 * only the system-register stores (cpu_strict_trap_store) trap there. */
static inline bool cpu_strict_trap(const struct cpu *cpu)
{
	return cpu->strict && (cpu->cr0 & CR0_PE) && cpu->cpl > 0 && !cpu_v86(cpu);
}
/* The same for SGDT, SIDT and SMSW, which v86 code may run. */
static inline bool cpu_strict_trap_store(const struct cpu *cpu)
{
	return cpu->strict && (cpu->cr0 & CR0_PE) && cpu->cpl > 0;
}

/* {====== the opcode registry (decode.c) ====== */

/* Installs the handler of one-byte opcode op (0x00-0xff) or 0F xx (0x100|xx),
 * or of group member `reg` (0-7) of a group opcode. */
void cpu_set_op(int op, cpu_op_fn fn);
void cpu_set_grp(int op, int reg, cpu_op_fn fn);
/* Installs a specialized handler used instead of the generic one when the
 * instruction has a 32-bit operand size, no LOCK prefix and no memory
 * operand (no ModRM, or ModRM.mod == 3). It must behave exactly like the
 * generic handler for those forms. */
void cpu_set_fast(int op, cpu_op_fn fn);
void cpu_set_fast_grp(int op, int reg, cpu_op_fn fn);
/* A specialized handler for the memory form of `op` with 32-bit operand and
 * address sizes and no LOCK (ModRM.mod != 3); it may use ea32. */
void cpu_set_fast_mem(int op, cpu_op_fn fn);

/* The generic handler of a decoded instruction, whatever pick_handler
 * chose (the reference path, cpu_set_reference). */
cpu_op_fn cpu_generic_handler(const struct insn *in);

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
void assist_run(struct cpu *cpu, uint64_t pa); /* WRMSR MSR_NESTLAB_RUN (assist.c) */
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

/* DR7 breakpoints occupy bits 0-3 of bp_exec; this bit says the debugger
 * has execution points, so the run loop's one test covers both. */
#define BP_EXEC_POINTS 0x10u
#define BP_EXEC_GUEST 0x0fu

/* {====== debugger points (points.c) ====== */

/* True if the run loop must stop before the instruction at CS:EIP: an
 * execution point is there and was not stepped over. Records the hit. */
bool point_exec_stop(struct cpu *cpu);
/* Notes a watchpoint hit by an access of sz bytes at lin that has been
 * translated (cannot fault any more). Called when cpu->points_data. */
void point_data_access(struct cpu *cpu, uint32_t lin, int sz, bool write);
/* True if a data point watches part of the linear page of `lin`. */
bool point_page_watched(const struct cpu *cpu, uint32_t lin);
/* What the run loop does at a boundary with cpu->points_due set. */
enum point_due {
	POINT_DUE_NONE,     /* nothing: go on as usual */
	POINT_DUE_STOP,     /* report the hit: return CPU_STOP_BREAK */
	POINT_DUE_CONTINUE, /* finish the REP step a hit split, before anything else */
};
enum point_due point_boundary(struct cpu *cpu);
/* If a hit is pending, makes it the last hit and returns true (the run
 * loop then returns CPU_STOP_BREAK); leaves a split REP pending. */
bool point_report(struct cpu *cpu);
/* True while a REP step a hit split waits to finish. */
bool point_rep_split(const struct cpu *cpu);
/* The instruction faulted: its hits do not count (it runs again). */
void point_fault(struct cpu *cpu);
/* A REP string step stops, because of a hit, after elements that cost
 * `elem_cycles` (string.c): holds the step's count and time back until it
 * finishes. */
void point_split_rep(struct cpu *cpu, const struct insn *in, uint32_t elem_cycles);
/* Patches `state`, the saved prefix of struct cpu that cpu_save copied,
 * to what it would be without the debugger: no points_due, and the time
 * of a split REP step counted. */
void point_save_fixup(const struct cpu *cpu, uint8_t *state);
/* After cpu_restore or cpu_reset: no hit, skip or split REP pending. */
void point_restored(struct cpu *cpu);
/* A cpu_run begins (cpu->points set): the last hit is forgotten. */
void point_run_begins(struct cpu *cpu);
/* True if the debugger has execution points (dbg_update sets BP_EXEC_POINTS). */
bool point_have_exec(const struct cpu *cpu);

/* Base cycle cost of an opcode (cycles.c). */
uint8_t cycles_base(int op, int reg, bool mem);

/* {====== decoded-instruction cache (dcache.c) ====== */

#define DC_BITS 16

/* One cached decode: the physical address of its first byte and the code
 * size it was decoded for (0 empty, 1 16-bit, 2 32-bit). */
struct dc_entry {
	uint32_t pa;
	uint32_t mode;  /* 0: empty, 1: 16-bit code, 2: 32-bit code */
	struct insn in;
};

_Static_assert(offsetof(struct dc_entry, mode) == 4, "pa and mode form one 64-bit key");

/* pa and mode as the one 64-bit word the run loop compares with
 * cpu->dc_key | pa. */
HOT uint64_t dc_entry_key(const struct dc_entry *e)
{
	uint64_t k;
	memcpy(&k, e, sizeof k);
	return k;
}

static inline uint32_t dcache_hash(uint32_t pa)
{
	return (pa ^ (pa >> DC_BITS)) & ((1u << DC_BITS) - 1);
}

/* Returns the cached decode for the instruction at CS:EIP, or decodes it
 * (faulting as the CPU would) and caches it. */
const struct insn *dcache_fetch(struct cpu *cpu);

/* Decodes the instruction at linear `lin` / physical `pa` into entry `e`
 * (or, if it spans two pages, into cpu->scratch). Faults like a fetch. */
const struct insn *dcache_fill(struct cpu *cpu, uint32_t lin, uint32_t pa, struct dc_entry *e,
                               uint8_t mode);

/* The fast path of dcache_fetch, for the run loop. */
static inline const struct insn *dcache_lookup(struct cpu *cpu)
{
	uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
	if (likely(((lin & ~0xfffu) | 1) == cpu->fetch_page)) {
		uint32_t pa = cpu->fetch_phys | (lin & 0xfff);
		struct dc_entry *e = &((struct dc_entry *)cpu->dcache)[dcache_hash(pa)];
		if (likely(dc_entry_key(e) == (cpu->dc_key | pa)))
			return &e->in;
	}
	return dcache_fetch(cpu);
}

struct dcache *dcache_new(void);
void dcache_free(struct dcache *dc);
/* Drops decodes overlapping [pa, pa+len). */
void dcache_invalidate(struct dcache *dc, uint32_t pa, uint32_t len);
/* True if physical page `pa >> 12` holds decoded code. */
bool dcache_page_has_code(const struct dcache *dc, uint32_t pa);
void dcache_flush(struct dcache *dc);

#endif
