/*
 * ioapic.h - the I/O APIC (Intel 82093AA datasheet; 24 pins, version 0x11,
 * as QEMU's), memory-mapped at 0xFEC00000.
 *
 * The guest selects a register by writing its index to IOREGSEL (offset
 * 0x00) and reads or writes it through IOWIN (offset 0x10):
 *
 *   0x00        IOAPICID   ID in bits 24-27
 *   0x01        IOAPICVER  0x00170011: version 0x11, 24 entries (RO)
 *   0x02        IOAPICARB  arbitration ID in bits 24-27 (RO; follows the ID)
 *   0x10-0x3F   IOREDTBL0-23, two words each (low at 0x10 + 2n, high at 0x11 + 2n):
 *       bits 0-7 vector, 8-10 delivery mode (fixed, lowest priority, SMI, NMI,
 *       INIT, ExtINT), 11 destination mode (1 logical), 12 delivery status
 *       (RO, always 0: delivery is immediate), 13 polarity (1 active low),
 *       14 remote IRR (RO), 15 trigger mode (1 level), 16 mask,
 *       56-63 destination.
 *
 * Pins: an edge-triggered pin delivers on the rising edge of its asserted
 * level; a level-triggered pin delivers while asserted, then sets remote
 * IRR and waits for an EOI of its vector (dev_ioapic_eoi) before it can
 * deliver again. A masked pin ignores edges (they are not held pending, as
 * the datasheet says) and a level held while masked is delivered when the
 * pin is unmasked. Polarity is honoured: the board drives the wire
 * active-high, and a pin programmed active-low sees the inverse.
 *
 * Delivery goes through the board's callback with the vector, the trigger
 * mode, the destination (8 bits, LAPIC_DEST_ID_LOGICAL (0x100) added in
 * logical mode; see dev_lapic_is_dest) and the delivery mode (0-7).
 * Remote IRR is set only for fixed and lowest-priority level-triggered
 * deliveries (NMI, SMI, INIT and ExtINT are edge-only).
 *
 * Power-on state: ID as the board gives it, every entry masked (0x10000),
 * IOREGSEL 0. Registers other than the above read 0 and ignore writes;
 * offsets other than IOREGSEL and IOWIN read 0. Left out: the EOI register
 * of version 0x20 parts and the serial APIC bus (arbitration is not
 * modelled beyond the register).
 */
#ifndef NESTLAB_IOAPIC_H
#define NESTLAB_IOAPIC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define IOAPIC_MMIO_BASE 0xfec00000u
#define IOAPIC_MMIO_SIZE 0x1000u
#define IOAPIC_PINS 24

/* MMIO offsets */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10

/* Indirect registers */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10
#define IOAPIC_VERSION_VALUE 0x00170011u /* max redirection entry 23, version 0x11 */
#define IOAPIC_ID_SHIFT 24
#define IOAPIC_ID_MASK 0x0f000000u

/* Redirection entry fields */
#define IOAPIC_RTE_VECTOR 0xffu
#define IOAPIC_RTE_DM_SHIFT 8
#define IOAPIC_RTE_DM_MASK 0x700u
#define IOAPIC_RTE_DEST_LOGICAL 0x800u
#define IOAPIC_RTE_DELIVS 0x1000u
#define IOAPIC_RTE_ACTIVE_LOW 0x2000u
#define IOAPIC_RTE_REMOTE_IRR 0x4000u
#define IOAPIC_RTE_LEVEL 0x8000u
#define IOAPIC_RTE_MASKED 0x10000u
#define IOAPIC_RTE_DEST_SHIFT 56

/* Delivery modes (the `mode` of the deliver callback) */
enum ioapic_delivery {
	IOAPIC_DM_FIXED = 0,
	IOAPIC_DM_LOWEST = 1,
	IOAPIC_DM_SMI = 2,
	IOAPIC_DM_NMI = 4,
	IOAPIC_DM_INIT = 5,
	IOAPIC_DM_EXTINT = 7,
};

/* The logical destination mode flag added to `dest` (the same value as
 * LAPIC_DEST_ID_LOGICAL). */
#define IOAPIC_DEST_LOGICAL_FLAG 0x100

/* Sends an interrupt message to the local APIC(s). */
typedef void (*dev_ioapic_deliver_fn)(void *opaque, int vector, bool level_triggered, int dest,
                                      int mode);

/* All guest-visible state; saved as is. */
struct ioapic_state {
	uint64_t redtbl[IOAPIC_PINS];
	uint32_t ioregsel;
	uint32_t id;    /* the ID register (ID in bits 24-27) */
	uint32_t wires; /* bit n: pin n's input wire is high */
	uint32_t pad;
};

struct dev_ioapic {
	struct device dev; /* first: the board keeps a list of these */
	struct ioapic_state st;
	dev_ioapic_deliver_fn deliver;
	void *opaque;
	uint8_t reset_id;
};

/*
 * Creates the IOAPIC with ID `id` (0-15) and maps it at IOAPIC_MMIO_BASE on
 * b->pmem; `deliver(opaque, ...)` sends its messages. Returns NULL with a
 * NESTLAB_ERROR_CONFIG error if the range is taken. Free with dev.ops->free.
 */
struct dev_ioapic *dev_ioapic_new(const struct dev_board *b, uint8_t id,
                                  dev_ioapic_deliver_fn deliver, void *opaque, GError **error);

/* Drives input pin `pin` (0-23; others are ignored) to `level` (the wire,
 * true = high). */
void dev_ioapic_set_irq(struct dev_ioapic *io, int pin, bool level);

/* The local APIC broadcast the EOI of level-triggered `vector`: clears
 * remote IRR of every level entry with that vector and delivers again any
 * whose pin is still asserted. */
void dev_ioapic_eoi(struct dev_ioapic *io, int vector);

#endif
