/* traps.h - interrupt vector numbers. */
#ifndef MINIOS_TRAPS_H
#define MINIOS_TRAPS_H

/* Processor exceptions (Intel SDM vol. 3, table 6-1) */
#define T_DIVIDE	0
#define T_DEBUG		1
#define T_NMI		2
#define T_BRKPT		3
#define T_OFLOW		4
#define T_BOUND		5
#define T_ILLOP		6
#define T_DEVICE	7
#define T_DBLFLT	8
#define T_TSS		10
#define T_SEGNP		11
#define T_STACK		12
#define T_GPFLT		13
#define T_PGFLT		14
#define T_FPERR		16
#define T_ALIGN		17

#define T_SYSCALL	64	/* INT 0x40: system call */

/* Hardware interrupts: IRQ n arrives on vector T_IRQ0 + n. */
#define T_IRQ0		32
#define IRQ_TIMER	0	/* the local APIC timer uses this slot */
#define IRQ_KBD		1
#define IRQ_COM1	4
#define IRQ_PIC_SPURIOUS 7	/* a masked 8259 can still send this one */
#define IRQ_IDE		14
#define IRQ_ERROR	19	/* local APIC error */
#define IRQ_SPURIOUS	31	/* local APIC spurious interrupt */

#endif
