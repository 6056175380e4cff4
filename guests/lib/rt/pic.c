/*
 * guests/lib/rt/pic.c - the legacy 8259A pair: initialisation, masks, EOI.
 */
#include "rt.h"

#define ICW1_ICW4 0x01 /* ICW4 follows */
#define ICW1_INIT 0x10
#define ICW3_MASTER_SLAVE_ON_IRQ2 0x04
#define ICW3_SLAVE_ID 0x02
#define ICW4_8086 0x01
#define OCW2_EOI 0x20 /* non-specific EOI */
#define PIC_CASCADE_IRQ 2
#define PIC_ALL_MASKED 0xFF

void pic_init(void)
{
	outb(PIC1_DATA, PIC_ALL_MASKED);
	outb(PIC2_DATA, PIC_ALL_MASKED);
	outb(PIC1_CMD, ICW1_INIT | ICW1_ICW4);
	io_wait();
	outb(PIC2_CMD, ICW1_INIT | ICW1_ICW4);
	io_wait();
	outb(PIC1_DATA, RT_VEC_IRQ0);
	io_wait();
	outb(PIC2_DATA, RT_VEC_IRQ0 + 8);
	io_wait();
	outb(PIC1_DATA, ICW3_MASTER_SLAVE_ON_IRQ2);
	io_wait();
	outb(PIC2_DATA, ICW3_SLAVE_ID);
	io_wait();
	outb(PIC1_DATA, ICW4_8086);
	io_wait();
	outb(PIC2_DATA, ICW4_8086);
	io_wait();
	outb(PIC1_DATA, PIC_ALL_MASKED);
	outb(PIC2_DATA, PIC_ALL_MASKED);
}

/* The data port of irq's PIC and the bit of irq in its mask. */
static uint16_t mask_port(int irq, uint8_t *bit)
{
	*bit = (uint8_t)(1u << (irq & 7));
	return irq < 8 ? PIC1_DATA : PIC2_DATA;
}

void pic_unmask(int irq)
{
	uint8_t bit;
	uint16_t port;

	if (irq < 0 || irq > 15)
		return;
	port = mask_port(irq, &bit);
	outb(port, inb(port) & (uint8_t)~bit);
	if (irq >= 8)
		pic_unmask(PIC_CASCADE_IRQ);
}

void pic_mask(int irq)
{
	uint8_t bit;
	uint16_t port;

	if (irq < 0 || irq > 15)
		return;
	port = mask_port(irq, &bit);
	outb(port, inb(port) | bit);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, OCW2_EOI);
	outb(PIC1_CMD, OCW2_EOI);
}
