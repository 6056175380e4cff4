/*
 * insn_observer.c - the machine's side of the CPU's instruction observer:
 * turns the CPU's step reports into machine_regs and a level, for a full
 * instruction trace (trace/itrace, docs/itrace.md).
 *
 * The registers are read without side effects (cpu_peek_eflags), so a run
 * with an observer reaches exactly the states of a run without one.
 */
#include "machine_int.h"

#include "cpu.h"

struct insn_observer {
	struct cpu_insn_obs cpu;          /* first: the CPU's pointer is ours */
	struct machine_insn_observer user;
};

static void observed_write(void *opaque, uint32_t addr, uint32_t val, unsigned size, bool phys)
{
	struct insn_observer *o = opaque;
	o->user.write(o->user.opaque, addr, val, size, phys);
}

static void peek_regs(struct cpu *c, struct machine_regs *out)
{
	*out = (struct machine_regs){
		.eax = c->r[EAX], .ecx = c->r[ECX], .edx = c->r[EDX], .ebx = c->r[EBX],
		.esp = c->r[ESP], .ebp = c->r[EBP], .esi = c->r[ESI], .edi = c->r[EDI],
		.eip = c->eip, .eflags = cpu_peek_eflags(c),
		.cs = c->seg[SEG_CS].sel, .ss = c->seg[SEG_SS].sel, .ds = c->seg[SEG_DS].sel,
		.es = c->seg[SEG_ES].sel, .fs = c->seg[SEG_FS].sel, .gs = c->seg[SEG_GS].sel,
		.cr0 = c->cr0, .cr2 = c->cr2, .cr3 = c->cr3, .cr4 = c->cr4,
		.cpl = c->cpl, .icount = c->icount, .cycles = c->cycles,
	};
}

int machine_peek_regs(struct machine *m, struct machine_regs *r)
{
	peek_regs(m->cpu, r);
	return m->cpu->guest.on ? 1 : 0;
}

static void observed_step(void *opaque, struct cpu *c, bool event)
{
	struct insn_observer *o = opaque;
	struct machine_regs r;
	peek_regs(c, &r);
	o->user.step(o->user.opaque, &r, c->guest.on ? 1 : 0, event);
}

bool machine_set_insn_observer(struct machine *m, const struct machine_insn_observer *obs,
                               GError **error)
{
	struct insn_observer *old = (struct insn_observer *)m->cpu->obs;
	if (obs && machine_cpu_count(m) > 1) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "an instruction trace follows one CPU, not yet several: run without --smp");
		return false;
	}
	if (obs && m->vms) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "an instruction trace cannot follow more than one VM (each has its "
		            "own instruction count); run the VM alone");
		return false;
	}
	cpu_set_insn_obs(m->cpu, NULL);
	g_free(old);
	if (!obs)
		return true;
	struct insn_observer *o = g_new0(struct insn_observer, 1);
	o->cpu = (struct cpu_insn_obs){ observed_write, observed_step, o };
	o->user = *obs;
	cpu_set_insn_obs(m->cpu, &o->cpu);
	return true;
}
