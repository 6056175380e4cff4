/*
 * assist.c - the run-guest operation (assist.h, docs/cpu.md "The assist").
 *
 * WRMSR MSR_NESTLAB_RUN at CPL 0 saves the monitor's state in the run
 * block's host area, loads the guest's and turns guest mode on with this
 * file's exit as the event hook. The exit stores the guest's state and the
 * event, loads the monitor's state back, and the CPU goes on after the
 * WRMSR. Everything goes through physical memory word by word, so dirty
 * tracking, code invalidation and the instruction observer see the block's
 * writes as they see any store.
 */
#include <stddef.h>
#include <string.h>

#include "assist.h"
#include "cpu_int.h"

/* The monitor's state while its guest runs (nl_run.host). */
struct assist_host {
	uint32_t r[8];
	uint32_t eip, eflags;
	struct seg seg[6];
	struct seg ldtr, tr;
	struct dtr gdtr, idtr;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t nestlab_ctl;
	uint32_t cpl;
	uint64_t icount, cycles; /* at entry */
};

_Static_assert(sizeof(struct assist_host) <= sizeof(((struct nl_run *)0)->host),
               "the host area holds the monitor's state");
_Static_assert(sizeof(struct seg) == sizeof(struct nl_seg), "nl_seg is struct seg");

#define RUN_ALIGN 0x200u

static void block_read(struct cpu *cpu, uint32_t pa, void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = phys_read(cpu, pa + (uint32_t)i, 4);
		memcpy(p + i, &v, 4);
	}
}

static void block_write(struct cpu *cpu, uint32_t pa, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v;
		memcpy(&v, p + i, 4);
		phys_write(cpu, pa + (uint32_t)i, v, 4);
	}
}

#define RUN_FIELD(f) offsetof(struct nl_run, f)
#define RUN_GUEST_FIRST RUN_FIELD(vcpl)
#define RUN_GUEST_END RUN_FIELD(reserved1) /* vcpl .. cycles: what an exit writes */

static void exit_to_monitor(void *opaque, struct cpu *cpu, int vec, int err, unsigned flags);

void cpu_assist_bind(struct cpu_guest *g)
{
	g->event = exit_to_monitor;
	g->opaque = NULL;
}

/* WRMSR MSR_NESTLAB_RUN: `pa` is the run block. A block the CPU cannot use
 * is #GP(0) at the WRMSR, the monitor's own fault. */
void assist_run(struct cpu *cpu, uint64_t pa64)
{
	if (!cpu->assist || cpu->guest.on || pa64 >> 32 || (pa64 & (RUN_ALIGN - 1)))
		cpu_gp0(cpu);
	uint32_t pa = (uint32_t)pa64;
	bool w = false;
	if (!cpu->bus.page_ptr(cpu->bus.opaque, pa & ~0xfffu, &w) || !w)
		cpu_gp0(cpu);
	struct nl_run run;
	block_read(cpu, pa, &run, RUN_FIELD(reserved1));
	/* The guest runs deprivileged: protected mode, real CPL 3 (CS RPL 3, or
	 * virtual-8086 code), no control bits the CPU does not know. */
	bool v86 = (run.eflags & EFLAGS_VM) != 0;
	if (run.version != NL_RUN_VERSION || (run.ctl & ~NL_RUN_NESTED) ||
	    !(run.cr0 & CR0_PE) || (!v86 && (run.seg[SEG_CS].sel & 3) != 3) || run.vcpl > 3 ||
	    (run.nestlab_ctl & ~(NESTLAB_CTL_STRICT | NESTLAB_CTL_CPUID_FAULT |
	                         NESTLAB_CTL_SEGLOAD_TRAP)) ||
	    (run.state & ~(NL_STATE_HALTED | NL_STATE_INTR_SHADOW)))
		cpu_gp0(cpu);

	struct assist_host h = {
		.eip = cpu->eip, .eflags = cpu_get_eflags(cpu), .ldtr = cpu->ldtr, .tr = cpu->tr,
		.gdtr = cpu->gdtr, .idtr = cpu->idtr, .cr0 = cpu->cr0, .cr2 = cpu->cr2,
		.cr3 = cpu->cr3, .cr4 = cpu->cr4, .nestlab_ctl = cpu->msr_nestlab_ctl,
		.cpl = cpu->cpl, .icount = cpu->icount + 1, .cycles = cpu->cycles,
	};
	memcpy(h.r, cpu->r, sizeof h.r);
	memcpy(h.seg, cpu->seg, sizeof h.seg);
	block_write(cpu, pa + RUN_FIELD(host), &h, sizeof h);

	memcpy(cpu->r, run.r, sizeof cpu->r);
	cpu->eip = run.eip;
	memcpy(cpu->seg, run.seg, sizeof cpu->seg);
	memcpy(&cpu->ldtr, &run.ldtr, sizeof cpu->ldtr);
	cpu->tr = (struct seg){ 0 }; /* no TSS: every port access traps */
	cpu->gdtr = (struct dtr){ run.gdt_base, run.gdt_limit };
	cpu->cr0 = run.cr0;
	cpu->cr3 = run.cr3;
	cpu->cr4 = run.cr4;
	cpu->cpl = 3;
	cpu->msr_nestlab_ctl = run.nestlab_ctl;
	cpu->halted = (run.state & NL_STATE_HALTED) != 0;
	cpu->intr_shadow = (run.state & NL_STATE_INTR_SHADOW) ? 1 : 0;
	cpu->assist_run = pa | 1;
	cpu->guest = (struct cpu_guest){
		.on = true, .dt_phys = true, .nested = (run.ctl & NL_RUN_NESTED) != 0,
		.vcpl = (uint8_t)run.vcpl, .npt_root = run.npt_root,
		.walk_refs = cpu->guest.walk_refs, .nested_refs = cpu->guest.nested_refs,
	};
	cpu_assist_bind(&cpu->guest);
	cpu_set_eflags(cpu, run.eflags & ~EFLAGS_IOPL); /* real IOPL 0: port access traps */
	cpu_state_changed(cpu);
	cpu->block_end = true;
}

/* The guest mode event hook: the guest leaves for its monitor. */
static void exit_to_monitor(void *opaque, struct cpu *cpu, int vec, int err, unsigned flags)
{
	(void)opaque;
	uint32_t pa = cpu->assist_run & ~1u;
	struct assist_host h;
	block_read(cpu, pa + RUN_FIELD(host), &h, sizeof h);
	struct nl_run run;
	run.vcpl = cpu->guest.vcpl;
	memcpy(run.r, cpu->r, sizeof run.r);
	run.eip = cpu->eip;
	run.eflags = cpu_get_eflags(cpu);
	memcpy(run.seg, cpu->seg, sizeof run.seg);
	memcpy(&run.ldtr, &cpu->ldtr, sizeof run.ldtr);
	run.gdt_base = cpu->gdtr.base;
	run.gdt_limit = cpu->gdtr.limit;
	run.cr0 = cpu->cr0;
	run.cr3 = cpu->cr3;
	run.cr4 = cpu->cr4;
	run.nestlab_ctl = cpu->msr_nestlab_ctl;
	run.state = (cpu->halted ? NL_STATE_HALTED : 0) | (cpu->intr_shadow ? NL_STATE_INTR_SHADOW : 0);
	run.exit_vec = (uint32_t)vec;
	run.exit_err = (uint32_t)err;
	run.exit_flags = flags & (CPU_EV_SOFT | CPU_EV_EXT);
	run.exit_cr2 = vec == EXC_PF ? cpu->cr2 : 0;
	run.exit_gpa = vec == CPU_VEC_NPF ? cpu->guest.npf_gpa : 0;
	run.reserved0 = 0;
	/* An INT n retires in the guest: count it there. The delivery the CPU
	 * just charged (deliver_event's 40 cycles) is the exit's, the monitor's. */
	run.icount = cpu->icount - h.icount + ((flags & CPU_EV_SOFT) ? 1 : 0);
	uint64_t spent = cpu->cycles - h.cycles;
	run.cycles = (flags & CPU_EV_SOFT) || spent < 40 ? spent : spent - 40;
	block_write(cpu, pa + RUN_GUEST_FIRST, &run.vcpl, RUN_GUEST_END - RUN_GUEST_FIRST);

	memcpy(cpu->r, h.r, sizeof cpu->r);
	cpu->eip = h.eip;
	memcpy(cpu->seg, h.seg, sizeof cpu->seg);
	cpu->ldtr = h.ldtr;
	cpu->tr = h.tr;
	cpu->gdtr = h.gdtr;
	cpu->idtr = h.idtr;
	cpu->cr0 = h.cr0;
	cpu->cr2 = h.cr2;
	cpu->cr3 = h.cr3;
	cpu->cr4 = h.cr4;
	cpu->cpl = (uint8_t)h.cpl;
	cpu->msr_nestlab_ctl = h.nestlab_ctl;
	cpu->halted = false;
	cpu->intr_shadow = 0;
	cpu->assist_run = 0;
	uint64_t walk = cpu->guest.walk_refs, nested = cpu->guest.nested_refs;
	cpu->guest = (struct cpu_guest){ .walk_refs = walk, .nested_refs = nested };
	cpu_set_eflags(cpu, h.eflags);
	cpu_state_changed(cpu);
	cpu->block_end = true;
}
