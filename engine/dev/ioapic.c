/*
 * ioapic.c - the I/O APIC (see ioapic.h).
 */
#include "ioapic.h"

#include <string.h>

#include "nestlab.h"

#define IOAPIC_STATE_VERSION 1u
#define IOREGSEL_MASK 0xffu
/* Writable low-word bits: vector, delivery mode, destination mode,
 * polarity, trigger mode, mask (delivery status and remote IRR are RO). */
#define RTE_LO_WRITABLE                                                                            \
	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DM_MASK | IOAPIC_RTE_DEST_LOGICAL |                        \
	 IOAPIC_RTE_ACTIVE_LOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED)
#define RTE_HI_WRITABLE 0xff000000u /* destination */

/* {====== pins ====== */

static bool asserted(const struct ioapic_state *st, int pin)
{
	bool wire = (st->wires >> pin) & 1;
	return wire != ((st->redtbl[pin] & IOAPIC_RTE_ACTIVE_LOW) != 0);
}

static int rte_mode(uint64_t rte)
{
	return (int)((rte & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT);
}

/* Level-triggered fixed/lowest entries wait for the EOI (remote IRR). */
static bool uses_remote_irr(uint64_t rte)
{
	int mode = rte_mode(rte);
	return (rte & IOAPIC_RTE_LEVEL) && (mode == IOAPIC_DM_FIXED || mode == IOAPIC_DM_LOWEST);
}

static void send(struct dev_ioapic *io, int pin)
{
	uint64_t *rte = &io->st.redtbl[pin];
	bool level = uses_remote_irr(*rte);
	if (level)
		*rte |= IOAPIC_RTE_REMOTE_IRR;
	int dest = (int)(*rte >> IOAPIC_RTE_DEST_SHIFT);
	if (*rte & IOAPIC_RTE_DEST_LOGICAL)
		dest |= IOAPIC_DEST_LOGICAL_FLAG;
	if (io->deliver)
		io->deliver(io->opaque, (int)(*rte & IOAPIC_RTE_VECTOR), level, dest,
		            rte_mode(*rte));
}

/* A level-triggered pin delivers while asserted, unmasked and not waiting
 * for an EOI. */
static void service_level(struct dev_ioapic *io, int pin)
{
	uint64_t rte = io->st.redtbl[pin];
	if (!(rte & IOAPIC_RTE_LEVEL) || (rte & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)))
		return;
	if (asserted(&io->st, pin))
		send(io, pin);
}

void dev_ioapic_set_irq(struct dev_ioapic *io, int pin, bool level)
{
	if (pin < 0 || pin >= IOAPIC_PINS)
		return;
	bool was = asserted(&io->st, pin);
	if (level)
		io->st.wires |= 1u << pin;
	else
		io->st.wires &= ~(1u << pin);
	uint64_t rte = io->st.redtbl[pin];
	if (rte & IOAPIC_RTE_LEVEL)
		service_level(io, pin);
	else if (!(rte & IOAPIC_RTE_MASKED) && !was && asserted(&io->st, pin))
		send(io, pin);
}

void dev_ioapic_eoi(struct dev_ioapic *io, int vector)
{
	for (int pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *rte = &io->st.redtbl[pin];
		if ((*rte & IOAPIC_RTE_REMOTE_IRR) && (int)(*rte & IOAPIC_RTE_VECTOR) == vector) {
			*rte &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
			service_level(io, pin);
		}
	}
}

/* }====================================================================== */

/* {====== registers ====== */

static uint32_t reg_read(const struct dev_ioapic *io, uint32_t reg)
{
	const struct ioapic_state *st = &io->st;
	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB: /* the arbitration ID is loaded from the ID */
		return st->id;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION_VALUE;
	default:
		if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
			uint64_t rte = st->redtbl[(reg - IOAPIC_REG_REDTBL) / 2];
			return (reg & 1) ? (uint32_t)(rte >> 32) : (uint32_t)rte;
		}
		return 0;
	}
}

static void write_rte(struct dev_ioapic *io, int pin, bool high, uint32_t v)
{
	uint64_t *rte = &io->st.redtbl[pin];
	if (high) {
		*rte = (*rte & 0xffffffffu) | ((uint64_t)(v & RTE_HI_WRITABLE) << 32);
		return;
	}
	uint64_t keep = *rte & ~(uint64_t)RTE_LO_WRITABLE;
	*rte = keep | (v & RTE_LO_WRITABLE);
	if (!uses_remote_irr(*rte))
		*rte &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
	service_level(io, pin); /* a level held while masked delivers now */
}

static void reg_write(struct dev_ioapic *io, uint32_t reg, uint32_t v)
{
	if (reg == IOAPIC_REG_ID) {
		io->st.id = v & IOAPIC_ID_MASK;
		return;
	}
	if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
		write_rte(io, (int)(reg - IOAPIC_REG_REDTBL) / 2, reg & 1, v);
	/* version, arbitration and unused indexes are read-only */
}

/* The 32-bit word at aligned MMIO offset `off`. */
static uint32_t word_read(struct dev_ioapic *io, uint32_t off)
{
	if (off == IOAPIC_IOREGSEL)
		return io->st.ioregsel;
	if (off == IOAPIC_IOWIN)
		return reg_read(io, io->st.ioregsel);
	return 0;
}

/* Narrower accesses see (or replace) bytes of the aligned word, so a byte
 * write to IOREGSEL works as some guests do it. */
static uint32_t mmio_read(void *opaque, uint32_t offset, int size)
{
	uint32_t shift = 8 * (offset & 3u);
	uint32_t v = word_read(opaque, offset & ~3u) >> shift;
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_write(void *opaque, uint32_t offset, uint32_t val, int size)
{
	struct dev_ioapic *io = opaque;
	uint32_t off = offset & ~3u;
	if (size != 4) {
		uint32_t shift = 8 * (offset & 3u);
		uint32_t mask = ((1u << (8 * size)) - 1) << shift;
		val = (word_read(io, off) & ~mask) | ((val << shift) & mask);
	}
	if (off == IOAPIC_IOREGSEL)
		io->st.ioregsel = val & IOREGSEL_MASK;
	else if (off == IOAPIC_IOWIN)
		reg_write(io, io->st.ioregsel, val);
}

/* }====================================================================== */

/* {====== device ops ====== */

static void reset_state(struct dev_ioapic *io)
{
	uint32_t wires = io->st.wires; /* the input wires belong to the devices */
	memset(&io->st, 0, sizeof io->st);
	io->st.id = (uint32_t)io->reset_id << IOAPIC_ID_SHIFT;
	for (int pin = 0; pin < IOAPIC_PINS; pin++)
		io->st.redtbl[pin] = IOAPIC_RTE_MASKED;
	io->st.wires = wires;
}

static void ioapic_reset(struct device *d)
{
	reset_state((struct dev_ioapic *)d);
}

static void ioapic_save(struct device *d, GByteArray *out)
{
	struct dev_ioapic *io = (struct dev_ioapic *)d;
	dev_save_pod(out, IOAPIC_STATE_VERSION, &io->st, sizeof io->st);
}

/* The messages already sent are part of the local APIC's state, so a
 * restore re-drives nothing. */
static bool ioapic_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_ioapic *io = (struct dev_ioapic *)d;
	return dev_restore_pod(d->name, IOAPIC_STATE_VERSION, buf, len, &io->st, sizeof io->st,
	                       error);
}

static void ioapic_free(struct device *d)
{
	g_free(d);
}

static const struct device_ops ioapic_ops = {
        .reset = ioapic_reset,
        .save = ioapic_save,
        .restore = ioapic_restore,
        .free = ioapic_free,
};

struct dev_ioapic *dev_ioapic_new(const struct dev_board *b, uint8_t id,
                                  dev_ioapic_deliver_fn deliver, void *opaque, GError **error)
{
	struct dev_ioapic *io = g_new0(struct dev_ioapic, 1);
	io->dev = (struct device){.ops = &ioapic_ops, .name = "ioapic"};
	io->deliver = deliver;
	io->opaque = opaque;
	io->reset_id = id & 0xf;
	if (!pmem_map_mmio(b->pmem, IOAPIC_MMIO_BASE, IOAPIC_MMIO_SIZE, mmio_read, mmio_write,
	                   io)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the I/O APIC's registers at 0x%08x-0x%08x overlap RAM or another "
		            "device on this board",
		            IOAPIC_MMIO_BASE, IOAPIC_MMIO_BASE + IOAPIC_MMIO_SIZE - 1);
		g_free(io);
		return NULL;
	}
	reset_state(io);
	return io;
}

/* }====================================================================== */
