/*
 * testboard.c - the bare board of the device unit tests (see testboard.h).
 */
#include "testboard.h"

#include <glib.h>

/* The board's interrupt callback: records line `irq` going to `level`. */
static void record_irq(void *opaque, int irq, bool level)
{
	struct testboard *tb = opaque;
	g_assert_cmpint(irq, >=, 0);
	g_assert_cmpint(irq, <, DEV_ISA_IRQS);
	if (tb->only_irq != TESTBOARD_ANY_IRQ)
		g_assert_cmpint(irq, ==, tb->only_irq);
	if (level && !tb->level[irq]) {
		tb->raises[irq]++;
		tb->last_raise[irq] = tb->cycles;
	}
	if (level != tb->level[irq])
		tb->changes[irq]++;
	tb->level[irq] = level;
}

void testboard_init(struct testboard *tb)
{
	*tb = (struct testboard){.only_irq = TESTBOARD_ANY_IRQ};
	tb->io = ioport_new();
	tb->pm = pmem_new(TESTBOARD_RAM_BYTES);
	tb->clock = clock_new(&tb->cycles, &tb->limit);
	g_assert_nonnull(tb->io);
	g_assert_nonnull(tb->pm);
	g_assert_nonnull(tb->clock);
	tb->board = (struct dev_board){
	        .io = tb->io, .pmem = tb->pm, .clock = tb->clock, .irq = record_irq, .opaque = tb};
}

void *testboard_adopt(struct testboard *tb, void *dev)
{
	g_assert_no_error(tb->err);
	g_assert_nonnull(dev);
	g_assert_cmpint(tb->n_devs, <, TESTBOARD_MAX_DEVICES);
	tb->devs[tb->n_devs++] = dev;
	return dev;
}

void testboard_free(struct testboard *tb)
{
	while (tb->n_devs > 0) {
		struct device *d = tb->devs[--tb->n_devs];
		d->ops->free(d);
	}
	clock_free(tb->clock);
	pmem_free(tb->pm);
	ioport_free(tb->io);
}

unsigned testboard_run_to(struct testboard *tb, uint64_t t)
{
	unsigned fired = 0;
	for (;;) {
		uint64_t next = clock_next(tb->clock);
		if (next > t)
			break;
		if (next > tb->cycles)
			tb->cycles = next;
		fired += clock_run_due(tb->clock);
	}
	if (t > tb->cycles)
		tb->cycles = t;
	return fired;
}
