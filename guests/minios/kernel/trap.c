/*
 * trap.c - the interrupt descriptor table and the C half of every trap.
 *
 * All gates are interrupt gates, so the CPU clears EFLAGS.IF on entry: the
 * kernel always runs with interrupts off. Interrupts are taken only while a
 * process runs in ring 3 or the scheduler idles (see scheduler() in proc.c).
 * That makes the kernel a single thread of control between context switches,
 * with no locks; the price is that a long system call delays interrupts.
 */
#include "defs.h"
#include "proc.h"
#include "traps.h"
#include "x86.h"

#define NIDT		256
#define RING(cs)	((cs) & 3)

static struct gatedesc idt[NIDT];
extern uint32_t vectors[];	/* trapasm.asm */
uint32_t ticks;			/* timer interrupts since boot */

static void setgate(struct gatedesc *g, uint32_t off, int dpl)
{
	g->off_15_0 = off & 0xFFFF;
	g->cs = SEG_KCODE << 3;
	g->args = 0;
	g->rsv1 = 0;
	g->type = STS_IG32;
	g->s = 0;
	g->dpl = dpl;
	g->p = 1;
	g->off_31_16 = off >> 16;
}

/* Fill and load the IDT. Only the system call gate may be used from ring 3. */
void trap_init(void)
{
	for (int i = 0; i < NIDT; i++)
		setgate(&idt[i], vectors[i], DPL_KERNEL);
	setgate(&idt[T_SYSCALL], vectors[T_SYSCALL], DPL_USER);
	lidt(idt, sizeof(idt));
}

static const char *trap_name(uint32_t trapno)
{
	static const char *const names[] = {
		"divide error", "debug", "NMI", "breakpoint", "overflow",
		"BOUND range exceeded", "invalid opcode", "device not available",
		"double fault", "coprocessor segment overrun", "invalid TSS",
		"segment not present", "stack fault", "general protection",
		"page fault", "reserved", "x87 FPU error", "alignment check",
	};
	return trapno < NELEM(names) ? names[trapno] : "unknown trap";
}

/* A fault: kill the process that caused it, or stop if the kernel did. */
static void fault(struct trapframe *tf)
{
	struct proc *p = myproc();

	if (p == 0 || RING(tf->cs) == 0) {
		kprintf("trap %d (%s) in the kernel: err %x eip %p cr2 %p\n",
			tf->trapno, trap_name(tf->trapno), tf->err, tf->eip, rcr2());
		panic("trap");
	}
	kprintf("pid %d %s: trap %d (%s) err %x eip %p cr2 %p: killed\n", p->pid, p->name,
		tf->trapno, trap_name(tf->trapno), tf->err, tf->eip, rcr2());
	p->killed = 1;
}

/* Called by alltraps with the registers of whatever was interrupted. */
void trap(struct trapframe *tf)
{
	struct proc *p = myproc();

	if (tf->trapno == T_SYSCALL) {
		if (p->killed)
			exit(-1);
		p->tf = tf;
		syscall();
		if (p->killed)
			exit(-1);
		return;
	}

	switch (tf->trapno) {
	case T_IRQ0 + IRQ_TIMER:
		ticks++;
		wakeup(&ticks);
		lapic_eoi();
		break;
	case T_IRQ0 + IRQ_KBD:
		kbd_intr();
		lapic_eoi();
		break;
	case T_IRQ0 + IRQ_COM1:
		uart_intr();
		lapic_eoi();
		break;
	case T_IRQ0 + IRQ_PIC_SPURIOUS:
	case T_IRQ0 + IRQ_SPURIOUS:
		break;		/* spurious: no EOI */
	case T_IRQ0 + IRQ_ERROR:
		kprintf("lapic: error interrupt\n");
		lapic_eoi();
		break;
	default:
		fault(tf);
		break;
	}

	/* Only traps from user mode may switch processes (kernel is not preemptible). */
	if (p == 0 || RING(tf->cs) != DPL_USER)
		return;
	if (p->killed)
		exit(-1);
	if (tf->trapno == T_IRQ0 + IRQ_TIMER)
		yield();	/* round robin: the time slice is over */
}
