/*
 * device.h - the one interface every PC device implements.
 *
 * A device is a C struct that starts with a `struct device`. The board
 * (machine.c) creates it with the device's own *_new() function, passing
 * a `struct dev_board` (the buses, the clock and the interrupt lines), and
 * then drives it only through the ops below: reset, save, restore, free.
 * Everything else a device needs from outside comes through dev_board; a
 * device never includes machine.h and never touches another device.
 *
 * State: each device keeps ALL of its guest-visible state in one plain
 * struct without pointers (registers, FIFOs, counters, timer deadlines as
 * absolute cycles or CLOCK_NEVER). save() appends that struct to a byte
 * array with dev_save_pod(); restore() checks and copies it back with
 * dev_restore_pod() and then re-arms its timers and re-drives its
 * interrupt outputs from the restored state. So a snapshot is the
 * concatenation of the devices' blobs, and a restored machine continues
 * bit-identically.
 *
 * Interrupt lines: a device raises or lowers an ISA IRQ line with
 * dev_irq(); it models the real wire (a UART holds its line high while an
 * interrupt is pending; a timer pulses it). The board routes line n to the
 * 8259A pair and to the IOAPIC (ISA IRQ 0 goes to IOAPIC pin 2, the others
 * to the pin of the same number).
 *
 * I/O: devices claim ports with ioport_claim() and MMIO pages with
 * pmem_map_mmio() in their *_new(); time comes from the clock (clock.h).
 */
#ifndef NESTLAB_DEVICE_H
#define NESTLAB_DEVICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "ioport.h"
#include "physmem.h"

#define DEV_ISA_IRQS 16

struct device;

struct device_ops {
	/* Puts the device in its power-on state (timers cancelled, lines low). */
	void (*reset)(struct device *d);
	/* Appends the device's whole state to `out`. */
	void (*save)(struct device *d, GByteArray *out);
	/* Loads a state saved by save() from exactly `len` bytes; on a wrong
	 * size or version, sets `error` and leaves the device unchanged. */
	bool (*restore)(struct device *d, const uint8_t *buf, size_t len, GError **error);
	/* Releases everything (its ports and MMIO stay claimed: the board is
	 * being torn down). */
	void (*free)(struct device *d);
};

struct device {
	const struct device_ops *ops;
	const char *name; /* short and stable: "pic", "pit", "com1", "ide0" */
};

/* Sets ISA IRQ line `irq` (0-15) to `level` (true: asserted). */
typedef void (*dev_irq_fn)(void *board, int irq, bool level);

/* What the board gives a device. */
struct dev_board {
	struct ioport_map *io;
	struct pmem *pmem;
	struct clock *clock;
	dev_irq_fn irq;
	void *opaque; /* the board: first argument of irq */
};

static inline void dev_irq(const struct dev_board *b, int irq, bool level)
{
	if (b->irq)
		b->irq(b->opaque, irq, level);
}

/* Appends `len` bytes of plain state, preceded by its size and a version
 * number, to `out`. */
void dev_save_pod(GByteArray *out, uint32_t version, const void *state, size_t len);

/* Copies a blob saved by dev_save_pod() into `state` if its version and
 * size match; otherwise sets an error naming the device and returns false. */
bool dev_restore_pod(const char *name, uint32_t version, const uint8_t *buf, size_t buflen,
                     void *state, size_t len, GError **error);

#endif
