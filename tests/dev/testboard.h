/*
 * testboard.h - the bare board that the device unit tests build a device
 * on: an I/O port map, 32 MiB of physical memory, the cycle clock with its
 * counter and limit, the `struct dev_board` that hands them to a device,
 * and a recorder of the ISA interrupt lines.
 *
 * A test builds its device on tb->board and hands it to the board with
 * testboard_adopt(), which checks the construction and has the device
 * freed with the board. Time moves only when a test says so
 * (testboard_run_to); no CPU runs.
 *
 * The recorder keeps, for each of the 16 ISA lines, its level, the number
 * of rising edges and of changes, and the cycle of the last rising edge,
 * so a test can check the line its device drives and that the others
 * stayed quiet.
 */
#ifndef NESTLAB_TESTBOARD_H
#define NESTLAB_TESTBOARD_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "clock.h"
#include "device.h"
#include "ioport.h"
#include "physmem.h"

#define TESTBOARD_RAM_BYTES (32u * 1024u * 1024u)
#define TESTBOARD_ANY_IRQ (-1)
#define TESTBOARD_MAX_DEVICES 8

struct testboard {
	struct ioport_map *io;
	struct pmem *pm;
	uint64_t cycles, limit; /* the clock reads cycles, keeps limit */
	struct clock *clock;
	struct dev_board board; /* irq and opaque: the recorder below */
	GError *err;            /* where a device constructor reports; see testboard_adopt() */
	struct device *devs[TESTBOARD_MAX_DEVICES]; /* adopted, freed with the board */
	int n_devs;
	/* When not TESTBOARD_ANY_IRQ, a change on any other line fails the test. */
	int only_irq;
	bool level[DEV_ISA_IRQS];
	int raises[DEV_ISA_IRQS];          /* rising edges */
	int changes[DEV_ISA_IRQS];         /* level changes either way */
	uint64_t last_raise[DEV_ISA_IRQS]; /* cycle of the last rising edge */
};

/*
 * Builds the board in `tb` (any previous contents are overwritten): time 0,
 * every line low, any line allowed. The clock points into `tb`, so `tb`
 * must stay where it is until testboard_free(). Aborts the test if a part
 * cannot be made.
 */
void testboard_init(struct testboard *tb);

/*
 * Checks that a device constructor called with &tb->err built `dev` (a
 * dev_* struct whose first member is its struct device, as for every
 * device in engine/dev): fails the test if `dev` is NULL or tb->err is
 * set. The board then owns the device and testboard_free() frees it.
 * Returns `dev`, so a fixture can write
 *	f->cmos = testboard_adopt(&f->tb, dev_cmos_new(&f->tb.board, ..., &f->tb.err));
 */
void *testboard_adopt(struct testboard *tb, void *dev);

/* Frees the adopted devices, last adopted first (they own timers on the
 * clock and claims on the buses), then what testboard_init() made. */
void testboard_free(struct testboard *tb);

/*
 * Moves time forward to cycle `t` as the machine's run loop would with a
 * halted CPU: each timer fires at its own deadline, earliest first, and
 * timers armed by those that fire are honoured on the way. Time never goes
 * back: a `t` before now only fires what is already due. Returns the
 * number of timers fired.
 */
unsigned testboard_run_to(struct testboard *tb, uint64_t t);

#endif
