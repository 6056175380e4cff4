/*
 * mptable.c - the MP specification 1.4 floating pointer and configuration
 * table (see mptable.h). Built in a host buffer, checksummed, then stored.
 */
#include "mptable.h"

#include <string.h>

#include "multiboot.h"

#define MP_OEM_ID "NESTLAB "        /* 8 bytes, space padded */
#define MP_PRODUCT_ID "PC BOARD    " /* 12 bytes */
#define MP_BUS_ISA "ISA   "         /* 6 bytes */
#define MP_IO_INTS (MP_ISA_IRQS - 1) /* every ISA IRQ but the cascade */
#define MP_OTHER_ENTRIES (1 + 1 + MP_IO_INTS + 2) /* bus, IOAPIC, I/O and local ints */
#define MP_MAX_CONFIG_LEN \
	(MPTABLE_HEADER_SIZE + MPTABLE_MAX_CPUS * MPTABLE_CPU_ENTRY_SIZE + \
	 MP_OTHER_ENTRIES * MPTABLE_ENTRY_SIZE)

static unsigned cpus_of(const struct mptable_config *c)
{
	return c->n_cpus ? c->n_cpus : 1;
}

static uint32_t config_len(const struct mptable_config *c)
{
	return MPTABLE_HEADER_SIZE + cpus_of(c) * MPTABLE_CPU_ENTRY_SIZE +
	       MP_OTHER_ENTRIES * MPTABLE_ENTRY_SIZE;
}

/* Offsets in the floating pointer and the configuration table header. */
enum { MPF_ADDR = 4, MPF_LENGTH = 8, MPF_REV = 9, MPF_CHECKSUM = 10 };
enum { MPC_LENGTH = 4, MPC_REV = 6, MPC_CHECKSUM = 7, MPC_OEM = 8, MPC_PRODUCT = 16,
       MPC_COUNT = 34, MPC_LAPIC = 36 };

/* A little-endian writer over a fixed buffer. */
struct out {
	uint8_t *p;
};

static void put8(struct out *o, unsigned v)
{
	*o->p++ = (uint8_t)v;
}

static void put16(struct out *o, unsigned v)
{
	put8(o, v & 0xff);
	put8(o, v >> 8);
}

static void put32(struct out *o, uint32_t v)
{
	put16(o, v & 0xffff);
	put16(o, v >> 16);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* CPU `i`: APIC ID cpu_apic_id + i; the first is the bootstrap processor. */
static void put_cpu(struct out *o, const struct mptable_config *c, unsigned i)
{
	put8(o, MP_ENTRY_CPU);
	put8(o, c->cpu_apic_id + i);
	put8(o, c->cpu_apic_version);
	put8(o, MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0));
	put32(o, c->cpu_signature);
	put32(o, c->cpu_features);
	put32(o, 0);
	put32(o, 0);
}

static void put_ioapic(struct out *o, const struct mptable_config *c)
{
	put8(o, MP_ENTRY_IOAPIC);
	put8(o, c->ioapic_id);
	put8(o, c->ioapic_version);
	put8(o, MP_IOAPIC_ENABLED);
	put32(o, c->ioapic_addr);
}

/* An I/O or local interrupt entry; flags 0: conforms to the bus. */
static void put_int(struct out *o, int type, int int_type, int irq, int dest, int pin)
{
	put8(o, (unsigned)type);
	put8(o, (unsigned)int_type);
	put16(o, 0);
	put8(o, MP_ISA_BUS_ID);
	put8(o, (unsigned)irq);
	put8(o, (unsigned)dest);
	put8(o, (unsigned)pin);
}

static void put_entries(struct out *o, const struct mptable_config *c)
{
	for (unsigned i = 0; i < cpus_of(c); i++)
		put_cpu(o, c, i);
	put8(o, MP_ENTRY_BUS);
	put8(o, MP_ISA_BUS_ID);
	memcpy(o->p, MP_BUS_ISA, 6);
	o->p += 6;
	put_ioapic(o, c);
	for (int irq = 0; irq < MP_ISA_IRQS; irq++)
		if (irq != MP_CASCADE_IRQ)
			put_int(o, MP_ENTRY_IOINT, MP_INT_INT, irq, c->ioapic_id,
			        irq == 0 ? MP_TIMER_PIN : irq);
	put_int(o, MP_ENTRY_LOCALINT, MP_INT_EXTINT, 0, c->cpu_apic_id, 0);
	put_int(o, MP_ENTRY_LOCALINT, MP_INT_NMI, 0, MP_LOCAL_ALL, 1);
}

static void build_config(uint8_t *t, const struct mptable_config *c)
{
	uint32_t len = config_len(c);
	memset(t, 0, len);
	memcpy(t, "PCMP", 4);
	t[MPC_LENGTH] = len & 0xff;
	t[MPC_LENGTH + 1] = (uint8_t)(len >> 8);
	t[MPC_REV] = MPTABLE_SPEC_REV;
	memcpy(t + MPC_OEM, MP_OEM_ID, 8);
	memcpy(t + MPC_PRODUCT, MP_PRODUCT_ID, 12);
	t[MPC_COUNT] = (uint8_t)(cpus_of(c) + MP_OTHER_ENTRIES);
	struct out o = { t + MPC_LAPIC };
	put32(&o, c->lapic_addr);
	o.p = t + MPTABLE_HEADER_SIZE;
	put_entries(&o, c);
	g_assert(o.p == t + len);
	t[MPC_CHECKSUM] = checksum(t, len);
}

static void build_float(uint8_t *f)
{
	memset(f, 0, MPTABLE_FLOAT_SIZE);
	memcpy(f, "_MP_", 4);
	struct out o = { f + MPF_ADDR };
	put32(&o, MPTABLE_CONFIG_ADDR);
	f[MPF_LENGTH] = 1; /* in 16-byte units */
	f[MPF_REV] = MPTABLE_SPEC_REV;
	/* feature bytes 0: the table is present; no IMCR (virtual wire mode) */
	f[MPF_CHECKSUM] = checksum(f, MPTABLE_FLOAT_SIZE);
}

uint32_t mptable_config_length(const struct mptable_config *cfg)
{
	return config_len(cfg);
}

bool mptable_write(struct pmem *pm, const struct mptable_config *cfg, GError **error)
{
	if (pmem_ram_size(pm) < BOOT_FIRMWARE_END) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_TOO_BIG,
		            "the MP table goes at 0x%x and needs at least 1 MiB of RAM; the machine "
		            "has %u KiB",
		            MPTABLE_FLOAT_ADDR, pmem_ram_size(pm) / 1024);
		return false;
	}
	g_assert(cpus_of(cfg) <= MPTABLE_MAX_CPUS);
	uint8_t buf[MPTABLE_FLOAT_SIZE + MP_MAX_CONFIG_LEN], back[sizeof buf];
	uint32_t size = MPTABLE_FLOAT_SIZE + config_len(cfg);
	G_STATIC_ASSERT(MPTABLE_CONFIG_ADDR == MPTABLE_FLOAT_ADDR + MPTABLE_FLOAT_SIZE);
	build_float(buf);
	build_config(buf + MPTABLE_FLOAT_SIZE, cfg);
	pmem_store(pm, MPTABLE_FLOAT_ADDR, buf, size);
	pmem_load(pm, MPTABLE_FLOAT_ADDR, back, size);
	if (memcmp(buf, back, size) != 0) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_OVERLAP,
		            "the MP table at 0x%x cannot be written: a ROM covers the BIOS area",
		            MPTABLE_FLOAT_ADDR);
		return false;
	}
	return true;
}
