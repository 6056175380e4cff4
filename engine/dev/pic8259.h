/*
 * pic8259.h - the PC/AT pair of 8259A programmable interrupt controllers
 * and the edge/level control registers (ELCR) of the PIIX-style chipset.
 *
 * Wiring, as on every PC/AT:
 *
 *   ISA IRQ 0-7  --> master IR0-7 (ports 0x20-0x21)  INT --> the CPU (out())
 *   ISA IRQ 8-15 --> slave  IR0-7 (ports 0xA0-0xA1)  INT --> master IR2
 *   ELCR 0x4D0 (IRQ 0-7), 0x4D1 (IRQ 8-15): 1 = level, 0 = edge triggered;
 *   IRQ 0, 1, 2, 8 and 13 are always edge triggered (their bits read 0).
 *   The bus's IRQ 2 pin is wired to IRQ 9, as the AT redirects it.
 *
 * Modelled (Intel 8259A datasheet): the ICW1-ICW4 initialisation sequence
 * (with or without ICW4, single or cascade mode, ICW3 slave bitmap and
 * slave ID), OCW1 (mask), OCW2 (non-specific and specific EOI, rotation on
 * EOI and in automatic EOI mode, set priority), OCW3 (read IRR or ISR,
 * poll command, special mask mode), automatic EOI, special fully nested
 * mode, the INTA cycle with cascading, and spurious interrupts: an INTA
 * with no request left gives vector base+7 without setting an ISR bit; a
 * slave that has nothing when the master hands it the INTA gives its own
 * base+7 (IRQ 15) while the master still sets ISR bit 2.
 *
 * Triggering: level-triggered inputs follow the datasheet exactly (the
 * request is withdrawn when the line drops, which then makes the spurious
 * IR7 above). Edge-triggered inputs latch a rising edge in IRR and keep it
 * until the INTA (or ICW1) clears it, even if the line falls first: the
 * datasheet asks an IR input to stay high until the INTA and board devices
 * may signal an event with a zero-width pulse, which real hardware would
 * stretch over a bus cycle. A new edge is needed for the next request.
 *
 * Power-on: the 8259A has no reset input, so its contents at power-on are
 * undefined until ICW1. We start both chips in the state ICW1 leaves them
 * (ISR and IRR clear, IR7 lowest priority, IRR selected for reading) but
 * with every input masked and vector base 0, so that a controller nobody
 * initialised never interrupts; ELCR starts all-edge as the chipset resets
 * it. ICW1 then clears IMR, as the datasheet says.
 *
 * Left out: the MCS-80/85 mode (ICW4 uPM = 0, and ICW1 without ICW4): an
 * x86 CPU cannot take the 8080 CALL sequence, so the vector is formed as in
 * 8086 mode whatever uPM says; the buffered mode (it only changes which pin
 * drives the data buffer; the chip at 0x20 is always the master); the
 * ICW1 LTIM bit (ignored, as on PIIX chipsets: the ELCR replaces it); the
 * call address interval (ADI, 8080 only).
 */
#ifndef NESTLAB_PIC8259_H
#define NESTLAB_PIC8259_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0xa0
#define PIC_ELCR_BASE 0x4d0
#define PIC_CASCADE_IRQ 2 /* the master input the slave's INT drives */

/* One 8259A; every field is a byte, so the struct has no padding. */
struct pic_chip_state {
	uint8_t irr;         /* interrupt request register */
	uint8_t isr;         /* in-service register */
	uint8_t imr;         /* interrupt mask register (OCW1) */
	uint8_t line;        /* the levels of the IR input pins */
	uint8_t elcr;        /* 1 = level triggered (ELCR) */
	uint8_t vector_base; /* ICW2 & 0xF8 */
	uint8_t icw1;
	uint8_t icw3; /* master: slave bitmap; slave: its ID */
	uint8_t icw4;
	uint8_t init_step;    /* 0: ready for OCWs; 2, 3, 4: the ICW expected next */
	uint8_t highest;      /* the IR level with the highest priority (rotation) */
	uint8_t read_isr;     /* OCW3 RR/RIS: 1 reads ISR at the even port */
	uint8_t poll;         /* OCW3 P: the next read is a poll */
	uint8_t special_mask; /* OCW3 special mask mode */
	uint8_t rotate_aeoi;  /* OCW2: rotate in automatic EOI mode */
	uint8_t out;          /* the INT output pin */
};

struct pic_state {
	struct pic_chip_state chip[2]; /* [0] master, [1] slave */
};

/* The master's INT pin changed level. */
typedef void (*dev_pic_output_fn)(void *opaque, bool level);

struct dev_pic {
	struct device dev;
	const struct dev_board *board;
	dev_pic_output_fn out;
	void *out_opaque;
	struct pic_state st;
};

/*
 * Creates the pair in its power-on state (see above) and claims ports
 * 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1. `out` is called whenever the
 * master's INT pin changes (never from inside dev_pic_new). Returns NULL
 * with NESTLAB_ERROR_CONFIG if a port is taken. Free with the device's
 * free op.
 */
struct dev_pic *dev_pic_new(const struct dev_board *b, dev_pic_output_fn out, void *opaque,
                            GError **error);

/* Sets the level of ISA IRQ line `irq` (0-15; 2 means 9; others ignored). */
void dev_pic_set_irq(struct dev_pic *p, int irq, bool level);

/* The level of the master's INT pin: an unmasked request outranks
 * everything in service. */
bool dev_pic_output(const struct dev_pic *p);

/*
 * The CPU's INTA cycle: returns the vector (0-255) of the highest-priority
 * request, moves it from IRR to ISR (unless in automatic EOI mode) on the
 * master and, through the cascade, on the slave; gives the spurious vector
 * base+7 when the request has gone. Calls `out` if INT changes.
 */
int dev_pic_ack(struct dev_pic *p);

/* Register views for tests and debuggers: chip 0 master, 1 slave. */
uint8_t dev_pic_irr(const struct dev_pic *p, int chip);
uint8_t dev_pic_isr(const struct dev_pic *p, int chip);
uint8_t dev_pic_imr(const struct dev_pic *p, int chip);

#endif
