/*
 * picirq.c - the two 8259A interrupt controllers of the PC. minios uses the
 * APICs instead, so it moves the 8259s' vectors out of the way of the CPU
 * exceptions (IRQ 0-15 to T_IRQ0..T_IRQ0+15) and masks every line. A masked
 * 8259 can still send a spurious IRQ 7; trap() ignores it.
 */
#include "defs.h"
#include "traps.h"
#include "x86.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xA0
#define PIC2_DATA	0xA1
#define ICW1_INIT	0x11	/* edge-triggered, cascade, ICW4 follows */
#define ICW3_MASTER	0x04	/* the slave hangs on IRQ 2 */
#define ICW3_SLAVE	0x02	/* its cascade identity */
#define ICW4_8086	0x01
#define MASK_ALL	0xFF

/* Reprogram both 8259s and mask all their inputs. */
void pic_disable(void)
{
	outb(PIC1_DATA, MASK_ALL);
	outb(PIC2_DATA, MASK_ALL);
	outb(PIC1_CMD, ICW1_INIT);
	outb(PIC1_DATA, T_IRQ0);
	outb(PIC1_DATA, ICW3_MASTER);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_CMD, ICW1_INIT);
	outb(PIC2_DATA, T_IRQ0 + 8);
	outb(PIC2_DATA, ICW3_SLAVE);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, MASK_ALL);
	outb(PIC2_DATA, MASK_ALL);
}
