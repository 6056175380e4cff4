/*
 * ioport.c - port I/O dispatch (see ioport.h).
 *
 * A 64 Ki-entry byte table maps each port to a slot of a small handler
 * table, so dispatch is two loads whatever the number of devices.
 */
#include "ioport.h"

#include <glib.h>

#define IOPORT_COUNT 0x10000u
#define IOPORT_MAX_HANDLERS 255 /* slot 0 means "nobody" */

struct ioport_handler {
	ioport_read_fn rd;
	ioport_write_fn wr;
	void *opaque;
};

struct ioport_map {
	uint8_t owner[IOPORT_COUNT];
	struct ioport_handler h[IOPORT_MAX_HANDLERS + 1];
	int nh;
};

struct ioport_map *ioport_new(void)
{
	return g_new0(struct ioport_map, 1);
}

void ioport_free(struct ioport_map *io)
{
	g_free(io);
}

bool ioport_claim(struct ioport_map *io, uint16_t base, uint32_t count, ioport_read_fn rd,
                  ioport_write_fn wr, void *opaque)
{
	if (count == 0 || base + count > IOPORT_COUNT || io->nh >= IOPORT_MAX_HANDLERS)
		return false;
	for (uint32_t p = base; p < base + count; p++)
		if (io->owner[p])
			return false;
	int slot = ++io->nh;
	io->h[slot] = (struct ioport_handler){rd, wr, opaque};
	for (uint32_t p = base; p < base + count; p++)
		io->owner[p] = (uint8_t)slot;
	return true;
}

bool ioport_claimed(const struct ioport_map *io, uint16_t port)
{
	return io->owner[port] != 0;
}

uint32_t ioport_read(struct ioport_map *io, uint16_t port, int size)
{
	const struct ioport_handler *h = &io->h[io->owner[port]];
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	if (!h->rd)
		return mask;
	return h->rd(h->opaque, port, size) & mask;
}

void ioport_write(struct ioport_map *io, uint16_t port, uint32_t val, int size)
{
	const struct ioport_handler *h = &io->h[io->owner[port]];
	if (h->wr)
		h->wr(h->opaque, port, val, size);
}
