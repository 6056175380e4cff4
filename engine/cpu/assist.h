/*
 * assist.h - the assist: nestlab's run-guest operation (docs/cpu.md, "The assist").
 *
 * A virtualization extension of nestlab's CPU, in the spirit of IBM's SIE
 * and AMD's VMRUN: a monitor at CPL 0 writes the physical address of a run
 * block to MSR_NESTLAB_RUN, and the CPU enters the guest mode that the
 * engine's own L0 monitor uses (docs/cpu.md, "Guest mode") with the state
 * the block holds. The guest runs until the CPU would deliver an event
 * (an exception, an INT n, an external interrupt, an NMI); then the CPU
 * stores the guest's state and the event in the block, puts the monitor's
 * state back, and the monitor goes on after its WRMSR. The monitor's own
 * code is ordinary guest code at its level: it decides what every exit means.
 *
 * Freestanding (only <stdint.h>): the same layout is read by the engine's
 * CPU and by guest monitors (guests/tinyvmm). Every offset is fixed; the
 * `version` field says which layout a monitor wrote.
 */
#ifndef NESTLAB_ASSIST_H
#define NESTLAB_ASSIST_H

#include <stdint.h>

#ifndef MSR_NESTLAB_CTL /* as engine/cpu/cpu.h */
#define MSR_NESTLAB_CTL 0x4e4c0000u
#endif
#define MSR_NESTLAB_RUN 0x4e4c0001u /* WRMSR: EDX:EAX = physical address of a run block */
#define NESTLAB_CTL_ASSIST 0x80000000u /* MSR_NESTLAB_CTL, read-only: the assist is offered */

#define NL_RUN_VERSION 1u

/* nl_run.ctl: how the guest runs. */
#define NL_RUN_NESTED 0x1u /* nested paging: cr3 is guest-physical, npt_root the nested map */

/* nl_run.state, in and out. */
#define NL_STATE_HALTED 0x1u      /* the guest waits for an interrupt (HLT) */
#define NL_STATE_INTR_SHADOW 0x2u /* interrupts held for one instruction (STI, MOV SS) */

/* nl_run.exit_flags: as the engine's CPU_EV_* */
#define NL_EXIT_SOFT 0x1u /* INT n, INT3, INTO: the instruction retired */
#define NL_EXIT_EXT 0x2u  /* an external interrupt: the vector is acknowledged */
#define NL_EXIT_NPF 31u   /* exit_vec of a nested-map miss (exit_gpa, error code NPF_*) */

/* A segment register with its descriptor cache (attr: descriptor bits 8..23
 * shifted down by 8). */
struct nl_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t base;
	uint32_t limit;
};

/*
 * The run block: 4-byte aligned, wholly inside RAM, 512 bytes. The monitor
 * fills the guest state and control fields; the CPU updates the guest
 * state and writes the exit fields when the guest leaves. `host` is the
 * CPU's own save area for the monitor's state while the guest runs.
 */
struct nl_run {
	uint32_t version;        /* 0x000 in: NL_RUN_VERSION */
	uint32_t ctl;            /* 0x004 in: NL_RUN_* */
	uint32_t npt_root;       /* 0x008 in: the nested map's page directory (physical) */
	uint32_t vcpl;           /* 0x00c in/out: the guest's privilege for U/S checks (nested) */
	uint32_t r[8];           /* 0x010 EAX ECX EDX EBX ESP EBP ESI EDI */
	uint32_t eip;            /* 0x030 */
	uint32_t eflags;         /* 0x034 the real EFLAGS (IF: the guest's virtual IF) */
	struct nl_seg seg[6];    /* 0x038 ES CS SS DS FS GS, as loaded, caches included */
	struct nl_seg ldtr;      /* 0x080 base physical */
	uint32_t gdt_base;       /* 0x08c physical */
	uint32_t gdt_limit;      /* 0x090 */
	uint32_t cr0, cr3, cr4;  /* 0x094 the real control registers while the guest runs */
	uint32_t nestlab_ctl;    /* 0x0a0 MSR_NESTLAB_CTL while the guest runs (STRICT, ...) */
	uint32_t state;          /* 0x0a4 in/out: NL_STATE_* */
	uint32_t exit_vec;       /* 0x0a8 out: the event's vector */
	uint32_t exit_err;       /* 0x0ac out: its error code, 0xffffffff for none */
	uint32_t exit_flags;     /* 0x0b0 out: NL_EXIT_* */
	uint32_t exit_cr2;       /* 0x0b4 out: CR2 of a #PF */
	uint32_t exit_gpa;       /* 0x0b8 out: the guest-physical address of a nested miss */
	uint32_t reserved0;      /* 0x0bc */
	uint64_t icount;         /* 0x0c0 out: instructions the guest retired in this run */
	uint64_t cycles;         /* 0x0c8 out: cycles the guest's instructions took in this run */
	uint8_t reserved1[0x100 - 0x0d0];
	uint8_t host[0x100];     /* 0x100 the CPU's: the monitor's state while the guest runs */
};

_Static_assert(sizeof(struct nl_run) == 0x200, "struct nl_run is 512 bytes");
_Static_assert(__builtin_offsetof(struct nl_run, seg) == 0x38, "nl_run.seg");
_Static_assert(__builtin_offsetof(struct nl_run, cr0) == 0x94, "nl_run.cr0");
_Static_assert(__builtin_offsetof(struct nl_run, icount) == 0xc0, "nl_run.icount");

#endif
