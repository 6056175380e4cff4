/*
 * misc.c - HLT and the flag instructions that are IOPL-sensitive or plain:
 * CLI, STI, CLD, STD.
 */
#include "cpu_int.h"

/* True when CLI/STI may change IF here: real mode, CPL <= IOPL in protected
 * mode, IOPL 3 in virtual-8086 mode (no VME/PVI on this CPU). */
static bool if_writable(const struct cpu *cpu)
{
	if (!(cpu->cr0 & CR0_PE))
		return true;
	if (cpu_v86(cpu))
		return cpu_iopl(cpu) == 3;
	return cpu->cpl <= cpu_iopl(cpu);
}

/* HLT (F4): privileged; the run loop stops until an interrupt arrives. */
static void op_hlt(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	cpu->halted = true;
}

/* CLI (FA) */
static void op_cli(struct cpu *cpu, const struct insn *in)
{
	if (!if_writable(cpu))
		cpu_gp0(cpu);
	cpu->eflags &= ~EFLAGS_IF;
}

/* STI (FB): interrupts stay held for one more instruction. */
static void op_sti(struct cpu *cpu, const struct insn *in)
{
	if (!if_writable(cpu))
		cpu_gp0(cpu);
	if (!(cpu->eflags & EFLAGS_IF))
		cpu->intr_shadow = 1;
	cpu->eflags |= EFLAGS_IF;
}

/* CLD (FC) and STD (FD) */
static void op_cld(struct cpu *cpu, const struct insn *in)
{
	cpu->eflags &= ~EFLAGS_DF;
}
static void op_std(struct cpu *cpu, const struct insn *in)
{
	cpu->eflags |= EFLAGS_DF;
}

void misc_register(void)
{
	cpu_set_op(0xf4, op_hlt);
	cpu_set_op(0xfa, op_cli);
	cpu_set_op(0xfb, op_sti);
	cpu_set_op(0xfc, op_cld);
	cpu_set_op(0xfd, op_std);
}
