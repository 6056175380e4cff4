/*
 * ioapic.c - the I/O APIC (Intel 82093AA datasheet): routes the ISA
 * interrupt lines (IRQ 1 keyboard, IRQ 4 COM1) to the local APIC. Two
 * registers are memory-mapped: an index and a window on the selected
 * internal register.
 */
#include "defs.h"
#include "traps.h"

#define IOREGSEL	0x00	/* byte offsets of the two windows */
#define IOWIN		0x10
#define REG_ID		0x00
#define REG_VER		0x01
#define REG_TABLE	0x10	/* redirection entry n: registers 0x10+2n, 0x11+2n */

#define INT_DISABLED	0x00010000	/* masked */
/* Fields left 0: edge-triggered, active high, fixed delivery, physical destination. */

static volatile uint32_t *ioapic;

static uint32_t ioapic_read(int reg)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static void ioapic_write(int reg, uint32_t data)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = data;
}

/* Mask every input; each is set to vector T_IRQ0 + its number for later. */
void ioapic_init(void)
{
	ioapic = (volatile uint32_t *)mp_ioapic_addr;
	int maxintr = (ioapic_read(REG_VER) >> 16) & 0xFF;
	int id = ioapic_read(REG_ID) >> 24;

	if (id != mp_ioapic_id)
		kprintf("ioapic: id %d differs from the MP table's %d\n", id, mp_ioapic_id);
	for (int i = 0; i <= maxintr; i++) {
		ioapic_write(REG_TABLE + 2 * i, INT_DISABLED | (T_IRQ0 + i));
		ioapic_write(REG_TABLE + 2 * i + 1, 0);
	}
}

/* Deliver ISA IRQ irq to the local APIC with ID apicid, on vector T_IRQ0 + irq. */
void ioapic_enable(int irq, int apicid)
{
	ioapic_write(REG_TABLE + 2 * irq, T_IRQ0 + irq);
	ioapic_write(REG_TABLE + 2 * irq + 1, (uint32_t)apicid << 24);
}
