/*
 * cpu.h - the i686-class x86 interpreter: state and public entry points.
 *
 * This is the engine-internal interface of the CPU. Front ends use
 * engine/nestlab.h; the files of engine/ use this one.
 *
 * The CPU owns its architectural state (struct cpu) and talks to the rest of
 * the machine only through a struct bus (physical memory, port I/O and the
 * interrupt line), so tests can run it on a bare RAM array.
 */
#ifndef NESTLAB_CPU_H
#define NESTLAB_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86.h"
#include "model.h"

/* {====== the bus the CPU runs on ======================================== */

/*
 * Physical memory and I/O as the CPU sees them. `ram` is directly addressable
 * for addresses below `ram_size` that are not claimed by `mmio_hole`;
 * everything else (ROM, MMIO, unmapped) goes through the callbacks.
 * ptr() may return a host pointer to a whole 4 KiB page that is plain memory
 * (RAM or ROM), with *writable false for ROM; it returns NULL for MMIO.
 */
struct bus {
	void *opaque;
	uint8_t *(*page_ptr)(void *opaque, uint32_t paddr, bool *writable);
	uint32_t (*mem_read)(void *opaque, uint32_t paddr, int size);
	void (*mem_write)(void *opaque, uint32_t paddr, uint32_t val, int size);
	uint32_t (*io_read)(void *opaque, uint16_t port, int size);
	void (*io_write)(void *opaque, uint16_t port, uint32_t val, int size);
	/* Returns the vector of the pending maskable interrupt and acknowledges
	 * it, or -1 if none. Called only when EFLAGS.IF allows delivery. */
	int (*intr_ack)(void *opaque);
	/* Called when the CPU asserts the A20 mask or shuts down. */
	void (*shutdown)(void *opaque, const char *why);
	/* Optional: WRMSR to IA32_APIC_BASE wrote `value` (the local APIC's
	 * global enable lives in this MSR). */
	void (*apic_base_written)(void *opaque, uint64_t value);
	/* Optional: a bit per 4 KiB page of the physical address space (2^20
	 * bits), set for every page the CPU may write through a host pointer:
	 * at a write, and when a TLB entry is given a fast write path. Whoever
	 * clears bits calls cpu_tlb_drop_writes() too. */
	uint64_t *dirty;
};

/* }====================================================================== */

/* {====== segment registers and descriptor caches ======================== */

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 7 };

/*
 * A segment register with its hidden descriptor cache. `attr` holds bits
 * 8..23 of the descriptor's high dword (type, S, DPL, P, AVL, D/B, G) in the
 * manual's positions shifted down by 8, so DESC_* masks apply directly.
 * `limit` is the byte-granular limit after G scaling.
 */
struct seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t base;
	uint32_t limit;
};

struct dtr {
	uint32_t base;
	uint32_t limit;
};

/* }====================================================================== */

/* {====== the software TLB ============================================== */

#define TLB_SIZE 1024

/*
 * One entry maps a linear page to a host pointer (plain memory) or to a
 * physical page (MMIO). Separate tags for read and write let a page be
 * readable through the fast path while writes still go the slow way (to set
 * the dirty bit, to protect ROM or to catch self-modifying code).
 * Tags hold the linear page | 1 when valid so that 0 never matches.
 * TLB_WATCHED in a tag marks a page a debugger watches (points.c): the
 * fast paths, which compare the whole tag, miss, while the slow paths of
 * mmu.c still use the entry, so watching costs no extra page walk.
 */
#define TLB_WATCHED 2u
struct tlb_entry {
	uint32_t tag_read[2];  /* [0] supervisor, [1] user */
	uint32_t tag_write[2];
	uint32_t phys;         /* physical page address */
	uint8_t *host;         /* host page pointer or NULL */
};

/* }====================================================================== */

struct insn;
struct cpu;
struct dcache;
struct cpu_points;

typedef void (*cpu_op_fn)(struct cpu *cpu, const struct insn *in);

/*
 * The decoded instruction. Fields are named after the manual: prefixes,
 * opcode, modrm (mod/reg/rm), sib (scale/index/base), displacement and
 * immediate. The decoder fills every field; handlers only read them.
 */
struct insn {
	cpu_op_fn fn;        /* handler, named after the manual's notation */
	uint16_t op;         /* opcode; 0x0F xx is 0x100 | xx */
	uint8_t len;         /* total length in bytes, prefixes included */
	uint8_t modrm;
	uint8_t mod, reg, rm;
	uint8_t sib;
	uint8_t base, index, scale; /* 32-bit addressing; REG_NONE if absent */
	uint8_t seg;         /* effective segment of the memory operand */
	uint8_t seg_override; /* SEG_NONE if no override prefix */
	uint8_t rep;         /* 0, PREFIX_REP (F3) or PREFIX_REPNE (F2) */
	bool lock;
	bool opsize32;       /* effective operand size is 32 */
	bool addrsize32;     /* effective address size is 32 */
	bool has_modrm;
	uint8_t cost;        /* cycles: 1 + the base cost from the cycle model table */
	bool page_cross;     /* bytes span two pages: never cached */
	uint32_t disp;
	uint32_t imm;        /* first immediate (sign-extended where the manual says) */
	uint32_t imm2;       /* second immediate: ENTER's level, far pointer selector */
};

#define REG_NONE 0xff
#define PREFIX_REP 0xf3
#define PREFIX_REPNE 0xf2

/* Decoder results (negative values of cpu_decode). */
enum {
	DECODE_UD = -1,      /* undefined opcode: #UD */
	DECODE_TOO_LONG = -2, /* more than 15 bytes: #GP(0) */
	DECODE_SHORT = -3,   /* the bytes ran out before the instruction ended */
};

/* Why cpu_run returned. */
enum cpu_stop {
	CPU_STOP_NONE = 0,
	CPU_STOP_BUDGET,     /* ran the requested number of instructions */
	CPU_STOP_HLT,        /* HLT with interrupts that cannot wake it */
	CPU_STOP_SHUTDOWN,   /* triple fault or shutdown */
	CPU_STOP_REQUEST,    /* cpu_request_stop() or a device asked */
	CPU_STOP_BREAK,      /* a debugger point was hit (cpu_point_hit) */
};

/* Strict mode: MSR_NESTLAB_CTL bit 0 (documented in docs/cpu.md). */
#define MSR_NESTLAB_CTL 0x4e4c0000u
#define NESTLAB_CTL_STRICT 1u
#define NESTLAB_CTL_CPUID_FAULT 2u /* CPUID raises #GP(0) at CPL > 0 (as Intel's CPUID faulting) */
#define NESTLAB_CTL_SEGLOAD_TRAP 4u /* loads of a non-null selector into DS, ES, FS or GS raise
                                     * #GP(0) at CPL > 0 (a monitor's guest kernel: ring compression) */

/*
 * Guest mode: the L0 monitor (engine/vmm, docs/monitor.md) runs a VM on this
 * CPU. The guest runs at real CPL 3 with strict mode on; every event the CPU
 * would deliver through the IDT (exception, INT n, external interrupt, NMI)
 * goes to `event` instead, with the CPU state exactly as the IDT would have
 * seen it (EIP at the faulting instruction for faults, after it for traps
 * and INT n; CR2 set for #PF). `event` is the monitor: it may change any
 * state and returns to let the CPU go on at the (new) EIP.
 */
#define CPU_EV_SOFT 1u  /* INT n, INT3, INTO: the instruction retired */
#define CPU_EV_EXT 2u   /* an external interrupt (vector from intr_ack) */
#define CPU_VEC_NPF 31  /* nested paging: a guest-physical address the nested
                         * map does not allow (Intel reserves vector 31) */
struct cpu_guest {
	bool on;             /* a VM runs: events go to `event`, not the IDT */
	bool dt_phys;        /* GDT, LDT and TSS bases are physical addresses
	                      * (the monitor's shadow tables need no linear home) */
	bool nested;         /* nested paging: CR3 is guest-physical, and every
	                      * guest-physical address goes through the nested map */
	uint8_t vcpl;        /* nested paging: the privilege level U/S checks use */
	uint32_t npt_root;   /* nested map: physical address of its page directory */
	uint32_t npf_gpa;    /* the guest-physical address of the last CPU_VEC_NPF */
	uint64_t walk_refs;  /* page-table references made by walks (any mode) */
	uint64_t nested_refs; /* ... of them, references to the nested map */
	void (*event)(void *opaque, struct cpu *cpu, int vec, int err, unsigned flags);
	void *opaque;
	bool stop_on_pe;     /* bare, until a monitor takes the guest over: the CPU
	                      * stops after the instruction that sets CR0.PE */
};

/* Guest mode entered by the assist (assist.h): its exit hook in `g`
 * (after a restore, when `assist_run` says its guest runs). */
void cpu_assist_bind(struct cpu_guest *g);

struct cpu {
	/* {====== architectural state (saved by cpu_save) ====== */
	uint32_t r[8];       /* EAX ECX EDX EBX ESP EBP ESI EDI */
	uint32_t eip;
	uint32_t eflags;     /* all bits; arithmetic ones valid only when lf_op == LF_NONE */
	struct seg seg[6];
	struct seg ldtr, tr;
	struct dtr gdtr, idtr;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	uint64_t tsc;        /* offset added to cycles by RDTSC */
	uint64_t msr_apic_base;
	uint32_t msr_nestlab_ctl;
	uint32_t assist_run; /* the assist's run block | 1 while its guest runs (assist.h), else 0 */
	uint64_t msr[CPU_MSR_SLOTS]; /* the model's other MSRs, by slot (model.h) */
	uint8_t model_id;    /* index of the CPU model (cpu_model_get) */
	uint32_t cpuid_edx;  /* CPUID.1:EDX of this CPU: the model's, with --cpu's +/- flags */
	uint8_t cpl;
	bool a20;            /* A20 gate enabled */
	uint8_t intr_shadow; /* 1: the next instruction runs with interrupts held (MOV SS/POP SS/STI) */
	bool in_nmi;
	/* The conditions the run loop must look at between instructions,
	 * readable as one word (`events`) so the loop tests them at once. */
	union {
		struct {
			bool halted;
			bool nmi_pending;
			bool irq_line;     /* a maskable interrupt is pending at the interrupt controller */
			bool stop_request; /* a front end asked cpu_run to return */
			bool trap_after;   /* a #DB trap (data breakpoint, task T bit) is due */
			bool points_due;   /* a debugger point was hit, or a REP it split
			                    * must finish (points.c; never in a saved image) */
			bool observed;     /* an instruction observer is attached (obs below;
			                    * host-side: never in a saved image) */
		};
		uint64_t events;
	};

	/* lazy flags: the last flag-setting operation */
	uint32_t lf_res, lf_a, lf_b;
	uint8_t lf_op;       /* enum lf_op */

	uint64_t icount;     /* retired instructions */
	uint64_t cycles;     /* icount plus modelled costs: the guest's clock */
	uint64_t mem_cycles; /* modelled memory-system costs (page walks, slow
	                      * paths): statistics only, never guest time */
	/* }====== end of saved state ====== */

	/* {====== derived and host-side state (rebuilt after restore) ====== */
	struct bus bus;
	struct cpu_guest guest; /* guest mode, set by the L0 monitor (which saves it) */
	uint32_t a20_mask;
	bool code32;         /* CS.D */
	uint64_t dc_key;     /* (code32 ? 2 : 1) << 32: the decode cache's mode, as dc_entry_key has it */
	bool reference;      /* generic handlers only (cpu_set_reference) */
	uint32_t eip_mask;   /* 0xffff for 16-bit code, else all ones */
	bool stack32;        /* SS.B */
	bool strict;         /* strict mode: sensitive instructions trap at CPL>0 */
	bool has_apic;       /* the board has a local APIC: CPUID.1:EDX bit 9 */
	bool assist;         /* the assist is offered (MSR_NESTLAB_RUN, assist.h) */
	const struct cpu_model *model; /* cpu_model_get(model_id) */
	uint8_t user;        /* 1 when CPL == 3 (TLB index) */
	uint8_t seg_ok[6];   /* fast-path permissions, see seg_lin() */
	uint8_t bp_exec;     /* DR7-enabled instruction breakpoints (bit n = DRn) */
	uint8_t bp_data;     /* DR7-enabled data breakpoints */
	uint32_t fetch_page; /* linear page of the last code fetch | 1, 0 if none */
	uint32_t fetch_phys; /* its physical page */
	struct tlb_entry tlb[TLB_SIZE];
	struct dcache *dcache;

	/* per-instruction scratch */
	uint32_t start_eip;  /* EIP of the instruction being executed */
	uint32_t start_esp;  /* ESP before it (restored on a fault) */
	const struct insn *cur;
	uint8_t exc_depth;   /* 0; 1 while delivering; 2 after a contributory fault in delivery */
	int8_t last_exc;     /* vector of the exception being delivered or -1 */
	uint32_t dr6_pending;
	uint64_t run_end;    /* cpu_run returns when icount reaches this (faults lower it) */
	uint64_t cycle_limit; /* ... or when cycles reach this: the next timer event
	                       * (kept by the machine's clock; UINT64_MAX if none) */
	enum cpu_stop stop;
	bool block_end;      /* the current block must end after this instruction */
	jmp_buf fault_jmp;
	const char *shutdown_why;
	int exc_vec, exc_err;  /* the exception being raised */
	bool delivering;     /* an exception or external interrupt is being delivered */
	bool delivering_ext; /* ... and it is an external interrupt or NMI (for guest.event) */
	struct insn scratch; /* decode of an instruction that spans two pages */
	struct {             /* state before an event delivery, put back if it faults */
		uint32_t eip, esp, eflags;
		struct seg cs, ss;
		uint8_t cpl;
	} pre;
	/* Last, not to move the hot fields above (the TLB's alignment). */
	struct cpu_points *points; /* the debugger's points, NULL until the first */
	bool points_data;    /* the debugger watches data (points.c) */
	struct cpu_insn_obs *obs; /* the instruction observer, or NULL (see `observed`) */
	/* The introspection ABI's call (cpu_set_abi_hook), or NULL. */
	void (*abi_hook)(void *opaque, struct cpu *cpu);
	void *abi_opaque;
	struct cpu *sibling; /* the next CPU sharing this one's memory and decode cache
	                      * (a ring; NULL for a CPU alone: cpu_share_caches) */
	bool dcache_borrowed; /* the decode cache is another CPU's */
};

/* {====== lifecycle ====== */

/* Allocates a CPU in its power-on state on `bus`. Never fails (aborts on OOM). */
struct cpu *cpu_new(const struct bus *bus);
void cpu_free(struct cpu *cpu);

/*
 * Makes `cpu` a further CPU of the machine `with` is in: it uses the decode
 * cache of `with` (decodes are by physical address, so every CPU may run
 * them) and joins its ring of siblings, so that a page that comes to hold
 * code loses its fast write path in every CPU's TLB, and a write by any of
 * them drops the decodes it touches. Free `cpu` before `with`. The
 * single-CPU hot path does not change.
 */
void cpu_share_caches(struct cpu *cpu, struct cpu *with);

/* Power-on / RESET: the state the manual gives for after RESET (real mode,
 * CS.sel=F000 base FFFF0000, EIP=FFF0, EDX=signature). */
void cpu_reset(struct cpu *cpu);

/*
 * Runs until `max_insns` instructions have retired (counting
 * exceptions/interrupts delivered as no instruction) or until a stop
 * condition. Returns the reason. Guest faults never escape it.
 */
enum cpu_stop cpu_run(struct cpu *cpu, uint64_t max_insns);

/* Executes exactly one instruction (or delivers one pending event). */
enum cpu_stop cpu_step(struct cpu *cpu);

/* Raises or lowers the maskable interrupt line (INTR). The CPU calls
 * bus.intr_ack when it can take the interrupt. */
void cpu_set_irq(struct cpu *cpu, bool level);

/* Opens or closes the A20 gate (address line 20 forced to 0 when closed),
 * as the board's port 0x92 or keyboard controller asks. */
void cpu_set_a20(struct cpu *cpu, bool enabled);

/* Makes an NMI pending (the LAPIC's LINT1 or an NMI IPI); it is taken at
 * the next instruction boundary unless an NMI handler is running. */
void cpu_raise_nmi(struct cpu *cpu);

/* Asks a running cpu_run to return at the next instruction boundary. */
void cpu_request_stop(struct cpu *cpu);

/* {====== decoding (also used by tests and the disassembly views) ====== */

/*
 * Decodes one instruction from `bytes` (n available) in 16- or 32-bit code.
 * Returns its length (1..15), or DECODE_UD, DECODE_TOO_LONG or DECODE_SHORT.
 * Fills *out on success. Pure: touches no CPU state.
 */
int cpu_decode(const uint8_t *bytes, size_t n, bool code32, struct insn *out);

/* {====== state access for front ends ====== */

/* Loads a segment register in real-mode style (base = sel << 4) keeping the
 * other cache fields, as after a real-mode MOV Sreg. */
void cpu_set_seg_real(struct cpu *cpu, int sreg, uint16_t sel);

/* Materializes the lazily computed arithmetic flags and returns EFLAGS. */
uint32_t cpu_get_eflags(struct cpu *cpu);
/* Replaces EFLAGS wholesale (no privilege checks: a debugger's write). */
void cpu_set_eflags(struct cpu *cpu, uint32_t v);

/* Recomputes derived state (modes, TLB, CPL caches) after a front end or a
 * restore changed control registers or segments directly. */
void cpu_state_changed(struct cpu *cpu);

/* A front end (the L0 monitor) wrote data segment register `sreg`'s
 * selector and cache directly: recomputes what depends on it. */
void cpu_seg_loaded(struct cpu *cpu, int sreg);

/* Drops the TLB (all entries). */
void cpu_tlb_flush(struct cpu *cpu);
/* Drops only the fast write paths: the next write to each page walks (and
 * marks it in bus.dirty) again; on every CPU sharing caches with `cpu`.
 * Nothing the guest can see changes. */
void cpu_tlb_drop_writes(struct cpu *cpu);

/* For guest.event only: the event it was given turns into fault `vec`
 * (error code `err`, -1 for none) of the instruction that raised it, as if
 * the instruction had faulted (EIP and ESP back at its start, not
 * retired). Never returns. */
_Noreturn void cpu_fault(struct cpu *cpu, int vec, int err);

/* What CPUID reports for `leaf` on this CPU: EAX, EBX, ECX, EDX. */
void cpu_cpuid(const struct cpu *cpu, uint32_t leaf, uint32_t out[4]);

/* Makes the CPU model `model_id` (model.h) with CPUID.1:EDX `edx`, and
 * resets: the model's MSRs to their reset values, EDX to its signature.
 * Returns false (nothing changed) for an unknown model. */
bool cpu_set_model(struct cpu *cpu, int model_id, uint32_t edx);

/* RDMSR/WRMSR as this CPU's model has them, for the CPU and for a front
 * end (no privilege check). Return 0, or the exception the instruction
 * raises: 13 (#GP: no such MSR, or a reserved bit written) or 6 (#UD: the
 * model has no MSR instructions). */
int cpu_msr_read(struct cpu *cpu, uint32_t index, uint64_t *value);
int cpu_msr_write(struct cpu *cpu, uint32_t index, uint64_t value);

/* Tells the CPU that physical memory at [paddr, paddr+len) changed behind its
 * back (DMA, loader, debugger): cached decodes there are dropped. */
void cpu_invalidate_phys(struct cpu *cpu, uint32_t paddr, uint32_t len);

/* The reference path, for tests that compare it with the fast one: with
 * `on`, every instruction decoded from now on runs its generic handler
 * (never a cpu_set_fast* one) and REP MOVS/STOS go element by element.
 * Call before the CPU runs (decodes cached earlier are kept). Host-side:
 * the guest cannot tell, and saved images do not carry it. */
void cpu_set_reference(struct cpu *cpu, bool on);

/*
 * The introspection ABI (guests/lib/rt/nlabi.h, docs/abi.md): its
 * instruction, the hint NOP 0F 1F 84 00 with displacement NL_ABI_MAGIC,
 * executed with ECX = NL_ABI_MAGIC, calls `fn` after it retired (EIP past
 * it), at any CPL and in guest mode too; `fn` answers in EAX. With no hook
 * (NULL) it is the NOP it is on every P6. Host-side: not saved.
 */
void cpu_set_abi_hook(struct cpu *cpu, void (*fn)(void *opaque, struct cpu *cpu), void *opaque);

/*
 * Reads guest memory through the current paging without side effects
 * (no A/D updates, no faults). Returns false if a page is not mapped.
 */
bool cpu_peek_linear(struct cpu *cpu, uint32_t lin, void *buf, size_t len);

/* {====== debugger points (points.c, docs/cpu.md "Debugger points") ======
 *
 * Breakpoints and watchpoints of a debugger, apart from the guest's own
 * DR0-DR7: the guest never sees them, and setting them changes neither
 * its state nor its time (icount, cycles). Addresses are linear. */

#define CPU_POINTS_MAX 32
#define CPU_WATCH_MAX 4096u /* longest watched range, in bytes */

enum cpu_point_kind {
	CPU_POINT_EXEC,   /* stop before the instruction at `addr` runs */
	CPU_POINT_WRITE,  /* stop after an instruction wrote the range */
	CPU_POINT_READ,   /* ... read it */
	CPU_POINT_ACCESS, /* ... read or wrote it */
};

/* What made cpu_run return CPU_STOP_BREAK. */
struct cpu_hit {
	int id;                    /* the point, as cpu_point_add returned it */
	enum cpu_point_kind kind;  /* the point's kind */
	uint32_t addr;             /* EXEC: the instruction's linear address;
	                            * watchpoints: the first watched byte accessed */
	uint32_t access;           /* watchpoints: the access's linear address ... */
	uint8_t size;              /* ... and size in bytes */
	bool write;                /* ... and whether it wrote */
};

/*
 * Adds a point on linear [addr, addr+len): len is ignored for EXEC and must
 * be 1..CPU_WATCH_MAX for watchpoints. Returns its id (>= 0), or -1 if all
 * CPU_POINTS_MAX are in use or the range is bad. Allocates on first use.
 */
int cpu_point_add(struct cpu *cpu, enum cpu_point_kind kind, uint32_t addr, uint32_t len);
/* Removes point `id`; false if there is none. */
bool cpu_point_remove(struct cpu *cpu, int id);
/* The id of a point with exactly this kind, addr and len (len ignored for
 * EXEC), or -1. */
int cpu_point_find(const struct cpu *cpu, enum cpu_point_kind kind, uint32_t addr, uint32_t len);
/* Removes every point. */
void cpu_points_clear(struct cpu *cpu);
/* Fills *hit with the point the last cpu_run stopped for; false if it did
 * not return CPU_STOP_BREAK. */
bool cpu_point_hit(const struct cpu *cpu, struct cpu_hit *hit);
/* The next instruction runs even if an execution point is at its address
 * (a debugger's step or continue from a breakpoint). The CPU arms this
 * itself when it stops at an execution point. */
void cpu_point_step_over(struct cpu *cpu);

/* {====== the instruction observer (docs/cpu.md "Instruction observer") ======
 *
 * For a full instruction trace. While one is attached, the CPU reports every
 * memory write it makes, as it makes it, and the end of every step: an
 * instruction retired, or an event (exception, interrupt, a fault's frame)
 * delivered. The writes reported before a step's end are that step's, so
 * those of an instruction that faults half way (a REP STOS) go with the
 * delivery of its fault. Writes made outside the CPU (DMA, a loader, a
 * debugger, the monitor's host code) are not reported.
 *
 * Attaching costs nothing on the fast path: `observed` is one of the
 * `events` the run loop tests once per instruction anyway, and the TLB then
 * keeps no fast write path (TLB_WATCHED in every write tag), so every write
 * reaches lin_write() or phys_write() in mmu.c, which report it. Nothing
 * guest-visible changes: same state, same icount and cycles. */
struct cpu_insn_obs {
	/* A write of `size` (1, 2 or 4) bytes of `val` at `addr`: a linear
	 * address, or with `phys` a physical one (page-table A/D bits, the
	 * monitor's physical descriptor tables, the nested map). */
	void (*write)(void *opaque, uint32_t addr, uint32_t val, unsigned size, bool phys);
	/* A step ended; the CPU holds the state after it. `event`: it was an
	 * event delivery (icount unchanged), not an instruction. */
	void (*step)(void *opaque, struct cpu *cpu, bool event);
	void *opaque;
};

/* Attaches `obs` (kept by pointer, must outlive the attachment), or
 * detaches with NULL. Between cpu_run() calls. */
void cpu_set_insn_obs(struct cpu *cpu, struct cpu_insn_obs *obs);

/* EFLAGS with the lazily computed arithmetic flags, without materializing
 * them (an observer must not change the CPU's state). */
uint32_t cpu_peek_eflags(const struct cpu *cpu);

/* Serialized CPU state (architectural part). cpu_save_size() bytes. */
size_t cpu_save_size(void);
void cpu_save(const struct cpu *cpu, void *buf);
/* Returns false (and leaves the CPU untouched) if `buf` is not a CPU image
 * of this version. */
bool cpu_restore(struct cpu *cpu, const void *buf, size_t len);

#endif
