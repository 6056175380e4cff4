/*
 * pctestdev.c - QEMU's pc-testdev (pctestdev.h): a scratch port, IRQ
 * lines driven by port writes, and a page of I/O memory.
 */
#include "pctestdev.h"

#include <string.h>

#include "nestlab.h"

#define PCTESTDEV_STATE_VERSION 1

struct pctestdev_state {
	uint32_t ioport;                     /* the scratch register at 0xE0 */
	uint8_t irq[DEV_ISA_IRQS];           /* the level each line is driven to */
	uint8_t iomem[PCTESTDEV_IOMEM_SIZE];
};

struct dev_pctestdev {
	struct device dev;
	const struct dev_board *board;
	struct pctestdev_state st;
};

static uint32_t size_mask(int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static uint32_t io_read(void *opaque, uint16_t port, int size)
{
	struct dev_pctestdev *t = opaque;
	if (port >= PCTESTDEV_IOPORT && port < PCTESTDEV_IOPORT + 4) {
		int shift = 8 * (port - PCTESTDEV_IOPORT);
		return (t->st.ioport >> shift) & size_mask(size);
	}
	return 0; /* the flush port and the IRQ lines read as 0 */
}

static void io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_pctestdev *t = opaque;
	if (port >= PCTESTDEV_IOPORT && port < PCTESTDEV_IOPORT + 4) {
		int shift = 8 * (port - PCTESTDEV_IOPORT);
		uint32_t mask = size_mask(size) << shift;
		t->st.ioport = (t->st.ioport & ~mask) | ((val << shift) & mask);
	} else if (port >= PCTESTDEV_IRQ_BASE && port < PCTESTDEV_IRQ_BASE + DEV_ISA_IRQS) {
		int n = port - PCTESTDEV_IRQ_BASE;
		t->st.irq[n] = val != 0;
		dev_irq(t->board, n, val != 0);
	}
	/* flush page: nothing is cached outside the guest's TLB */
}

static uint32_t mem_read(void *opaque, uint32_t off, int size)
{
	struct dev_pctestdev *t = opaque;
	uint32_t v = 0;
	for (int i = 0; i < size && off + (uint32_t)i < PCTESTDEV_IOMEM_SIZE; i++)
		v |= (uint32_t)t->st.iomem[off + (uint32_t)i] << (8 * i);
	return v;
}

static void mem_write(void *opaque, uint32_t off, uint32_t val, int size)
{
	struct dev_pctestdev *t = opaque;
	for (int i = 0; i < size && off + (uint32_t)i < PCTESTDEV_IOMEM_SIZE; i++)
		t->st.iomem[off + (uint32_t)i] = (uint8_t)(val >> (8 * i));
}

static void drive_lines(struct dev_pctestdev *t)
{
	for (int n = 0; n < DEV_ISA_IRQS; n++)
		if (t->st.irq[n])
			dev_irq(t->board, n, true);
}

static void pctestdev_reset(struct device *d)
{
	struct dev_pctestdev *t = (struct dev_pctestdev *)d;
	for (int n = 0; n < DEV_ISA_IRQS; n++)
		if (t->st.irq[n])
			dev_irq(t->board, n, false);
	memset(&t->st, 0, sizeof t->st);
}

static void pctestdev_save(struct device *d, GByteArray *out)
{
	struct dev_pctestdev *t = (struct dev_pctestdev *)d;
	dev_save_pod(out, PCTESTDEV_STATE_VERSION, &t->st, sizeof t->st);
}

static bool pctestdev_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_pctestdev *t = (struct dev_pctestdev *)d;
	if (!dev_restore_pod(d->name, PCTESTDEV_STATE_VERSION, buf, len, &t->st, sizeof t->st, error))
		return false;
	drive_lines(t);
	return true;
}

static void pctestdev_free(struct device *d)
{
	g_free(d);
}

static const struct device_ops pctestdev_ops = {
	.reset = pctestdev_reset,
	.save = pctestdev_save,
	.restore = pctestdev_restore,
	.free = pctestdev_free,
};

struct dev_pctestdev *dev_pctestdev_new(const struct dev_board *b, GError **error)
{
	if (ioport_claimed(b->io, PCTESTDEV_IOPORT) || ioport_claimed(b->io, PCTESTDEV_IRQ_BASE)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "pc-testdev: its ports (0x%x-0x%x, 0x%x-0x%x) are already taken",
		            PCTESTDEV_IOPORT, PCTESTDEV_FLUSH + 3, PCTESTDEV_IRQ_BASE,
		            PCTESTDEV_IRQ_BASE + PCTESTDEV_IRQ_PORTS - 1);
		return NULL;
	}
	struct dev_pctestdev *t = g_new0(struct dev_pctestdev, 1);
	t->dev.ops = &pctestdev_ops;
	t->dev.name = "pc-testdev";
	t->board = b;
	if (!pmem_map_mmio(b->pmem, PCTESTDEV_IOMEM_BASE, PCTESTDEV_IOMEM_SIZE, mem_read, mem_write, t)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "pc-testdev: its I/O memory at 0x%x cannot be mapped", PCTESTDEV_IOMEM_BASE);
		g_free(t);
		return NULL;
	}
	ioport_claim(b->io, PCTESTDEV_IOPORT, 8, io_read, io_write, t);
	ioport_claim(b->io, PCTESTDEV_IRQ_BASE, PCTESTDEV_IRQ_PORTS, io_read, io_write, t);
	return t;
}
