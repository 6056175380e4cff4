/*
 * sysctl.c - System Control Port A (0x92): the A20 gate and fast reset.
 */
#include "sysctl.h"

#include <glib.h>

struct dev_sysctl {
	uint8_t value; /* bits as last written (reset bit never kept) */
	dev_a20_fn a20;
	dev_reset_fn reset;
	void *opaque;
};

static uint32_t sysctl_read(void *opaque, uint16_t port, int size)
{
	struct dev_sysctl *d = opaque;
	return d->value;
}

static void sysctl_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_sysctl *d = opaque;
	uint8_t old = d->value;
	d->value = (uint8_t)(val & SYSCTL_A20);
	if ((old ^ d->value) & SYSCTL_A20)
		d->a20(d->opaque, (d->value & SYSCTL_A20) != 0);
	if (val & SYSCTL_RESET)
		d->reset(d->opaque);
}

struct dev_sysctl *dev_sysctl_new(struct ioport_map *io, dev_a20_fn a20, dev_reset_fn reset,
                                  void *opaque)
{
	struct dev_sysctl *d = g_new0(struct dev_sysctl, 1);
	d->value = SYSCTL_A20; /* the board starts with A20 open, as firmware leaves it */
	d->a20 = a20;
	d->reset = reset;
	d->opaque = opaque;
	if (!ioport_claim(io, SYSCTL_PORT, 1, sysctl_read, sysctl_write, d)) {
		g_free(d);
		return NULL;
	}
	return d;
}

void dev_sysctl_free(struct dev_sysctl *d)
{
	g_free(d);
}
