/*
 * test-mptable.c - the firmware tables below 1 MiB: the MP specification
 * 1.4 tables (found the way an OS finds them, parsed back, checksums and
 * entries checked) and the BIOS data area.
 */
#include <glib.h>
#include <string.h>

#include "bda.h"
#include "mptable.h"
#include "multiboot.h"
#include "physmem.h"

#define MIB (1024u * 1024u)

static const struct mptable_config board = {
	.lapic_addr = 0xfee00000, .cpu_apic_id = 0, .cpu_apic_version = 0x14,
	.cpu_signature = 0x633, .cpu_features = 0x833c,
	.ioapic_id = 1, .ioapic_version = 0x11, .ioapic_addr = 0xfec00000,
};

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* Searches 0xF0000-0xFFFFF on 16-byte boundaries for a floating pointer
 * with a good checksum, as the MP specification tells an OS to. */
static uint32_t find_floating(struct pmem *pm)
{
	uint8_t f[16];
	for (uint32_t a = 0xf0000; a < 0x100000; a += 16) {
		pmem_load(pm, a, f, sizeof f);
		if (memcmp(f, "_MP_", 4) == 0 && f[8] == 1 && sum(f, 16) == 0)
			return a;
	}
	return 0;
}

struct parsed {
	int cpus, buses, ioapics, ioints, localints;
	uint8_t cpu[20], bus[8], ioapic[8];
	uint8_t cpu_id[16], cpu_flags[16]; /* each CPU entry's APIC ID and flags */
	int pin_of_irq[16]; /* -1: no entry */
	uint8_t ioint_dest[16];
	uint8_t local[2][8];
};

static void parse_entries(const uint8_t *t, int count, uint16_t len, struct parsed *p)
{
	memset(p, 0, sizeof *p);
	for (int i = 0; i < 16; i++)
		p->pin_of_irq[i] = -1;
	const uint8_t *e = t + MPTABLE_HEADER_SIZE;
	for (int i = 0; i < count; i++) {
		g_assert_true(e < t + len);
		switch (e[0]) {
		case MP_ENTRY_CPU:
			if (!p->cpus)
				memcpy(p->cpu, e, 20);
			g_assert_cmpint(p->cpus, <, 16);
			p->cpu_id[p->cpus] = e[1];
			p->cpu_flags[p->cpus] = e[3];
			p->cpus++;
			e += 20;
			continue;
		case MP_ENTRY_BUS:
			memcpy(p->bus, e, 8);
			p->buses++;
			break;
		case MP_ENTRY_IOAPIC:
			memcpy(p->ioapic, e, 8);
			p->ioapics++;
			break;
		case MP_ENTRY_IOINT:
			g_assert_cmpuint(e[1], ==, MP_INT_INT);
			g_assert_cmpuint(le16(e + 2), ==, 0); /* conforms to the ISA bus */
			g_assert_cmpuint(e[4], ==, MP_ISA_BUS_ID);
			g_assert_cmpuint(e[5], <, 16);
			g_assert_cmpint(p->pin_of_irq[e[5]], ==, -1);
			p->pin_of_irq[e[5]] = e[7];
			p->ioint_dest[e[5]] = e[6];
			p->ioints++;
			break;
		case MP_ENTRY_LOCALINT:
			g_assert_cmpint(p->localints, <, 2);
			memcpy(p->local[p->localints++], e, 8);
			break;
		default:
			g_error("unknown MP entry type %u", e[0]);
		}
		e += 8;
	}
	g_assert_true(e == t + len);
}

static void test_mp_tables(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	GError *err = NULL;
	g_assert_true(mptable_write(pm, &board, &err));
	g_assert_no_error(err);
	uint32_t fa = find_floating(pm);
	g_assert_cmphex(fa, ==, MPTABLE_FLOAT_ADDR);
	uint8_t f[16];
	pmem_load(pm, fa, f, sizeof f);
	g_assert_cmpuint(f[9], ==, 4);         /* spec 1.4 */
	g_assert_cmpuint(f[11], ==, 0);        /* a configuration table follows */
	g_assert_cmpuint(f[12] & 0x80, ==, 0); /* no IMCR: virtual wire mode */
	uint32_t ca = le32(f + 4);
	g_assert_cmphex(ca, ==, MPTABLE_CONFIG_ADDR);
	uint8_t t[1024];
	pmem_load(pm, ca, t, MPTABLE_HEADER_SIZE);
	g_assert_true(memcmp(t, "PCMP", 4) == 0);
	uint16_t len = le16(t + 4);
	g_assert_cmpuint(len, ==, mptable_config_length(&board));
	g_assert_cmpuint(len, <=, sizeof t);
	pmem_load(pm, ca, t, len);
	g_assert_cmpuint(sum(t, len), ==, 0);
	g_assert_cmpuint(t[6], ==, 4);
	g_assert_cmphex(le32(t + 36), ==, 0xfee00000);
	g_assert_cmpuint(le16(t + 40), ==, 0); /* no extended table */
	g_assert_cmpuint(le32(t + 28), ==, 0); /* no OEM table */
	int count = le16(t + 34);
	g_assert_cmpint(count, ==, 1 + 1 + 1 + 15 + 2);
	struct parsed p;
	parse_entries(t, count, len, &p);
	g_assert_cmpint(p.cpus, ==, 1);
	g_assert_cmpuint(p.cpu[1], ==, 0);                       /* APIC ID */
	g_assert_cmpuint(p.cpu[2], ==, 0x14);                    /* version */
	g_assert_cmpuint(p.cpu[3], ==, MP_CPU_ENABLED | MP_CPU_BSP);
	g_assert_cmphex(le32(p.cpu + 4), ==, 0x633);
	g_assert_cmphex(le32(p.cpu + 8), ==, 0x833c);
	g_assert_cmpint(p.buses, ==, 1);
	g_assert_cmpuint(p.bus[1], ==, MP_ISA_BUS_ID);
	g_assert_true(memcmp(p.bus + 2, "ISA   ", 6) == 0);
	g_assert_cmpint(p.ioapics, ==, 1);
	g_assert_cmpuint(p.ioapic[1], ==, 1);
	g_assert_cmpuint(p.ioapic[2], ==, 0x11);
	g_assert_cmpuint(p.ioapic[3], ==, MP_IOAPIC_ENABLED);
	g_assert_cmphex(le32(p.ioapic + 4), ==, 0xfec00000);
	g_assert_cmpint(p.ioints, ==, 15);
	for (int irq = 0; irq < 16; irq++) {
		int want = irq == 0 ? 2 : irq == 2 ? -1 : irq;
		g_assert_cmpint(p.pin_of_irq[irq], ==, want);
		if (want >= 0)
			g_assert_cmpuint(p.ioint_dest[irq], ==, 1);
	}
	g_assert_cmpint(p.localints, ==, 2);
	g_assert_cmpuint(p.local[0][1], ==, MP_INT_EXTINT);
	g_assert_cmpuint(p.local[0][6], ==, 0); /* the BSP */
	g_assert_cmpuint(p.local[0][7], ==, 0); /* LINT0 */
	g_assert_cmpuint(p.local[1][1], ==, MP_INT_NMI);
	g_assert_cmpuint(p.local[1][6], ==, MP_LOCAL_ALL);
	g_assert_cmpuint(p.local[1][7], ==, 1); /* LINT1 */
	pmem_free(pm);
}

/* The IDs in the tables follow the configuration. */
static void test_mp_ids_from_config(void)
{
	struct pmem *pm = pmem_new(2 * MIB);
	struct mptable_config c = board;
	c.cpu_apic_id = 3;
	c.ioapic_id = 7;
	g_assert_true(mptable_write(pm, &c, NULL));
	uint8_t t[1024];
	uint16_t len = (uint16_t)mptable_config_length(&c);
	pmem_load(pm, MPTABLE_CONFIG_ADDR, t, len);
	g_assert_cmpuint(sum(t, len), ==, 0);
	struct parsed p;
	parse_entries(t, le16(t + 34), len, &p);
	g_assert_cmpuint(p.cpu[1], ==, 3);
	g_assert_cmpuint(p.ioapic[1], ==, 7);
	g_assert_cmpuint(p.ioint_dest[4], ==, 7);
	g_assert_cmpuint(p.local[0][6], ==, 3);
	pmem_free(pm);
}

/* Several CPUs: one enabled processor entry each, APIC IDs in order, the
 * first alone flagged the bootstrap processor; the rest of the table (and
 * its checksum) as before, ExtINT still to the BSP's LINT0 only. */
static void test_mp_several_cpus(void)
{
	struct pmem *pm = pmem_new(2 * MIB);
	struct mptable_config c = board;
	c.n_cpus = 4;
	c.ioapic_id = 4;
	g_assert_true(mptable_write(pm, &c, NULL));
	uint8_t t[1024];
	pmem_load(pm, MPTABLE_CONFIG_ADDR, t, MPTABLE_HEADER_SIZE);
	uint16_t len = le16(t + 4);
	g_assert_cmpuint(len, ==, mptable_config_length(&c));
	g_assert_cmpuint(len, ==, mptable_config_length(&board) + 3 * MPTABLE_CPU_ENTRY_SIZE);
	pmem_load(pm, MPTABLE_CONFIG_ADDR, t, len);
	g_assert_cmpuint(sum(t, len), ==, 0);
	struct parsed p;
	parse_entries(t, le16(t + 34), len, &p);
	g_assert_cmpint(p.cpus, ==, 4);
	for (int i = 0; i < 4; i++) {
		g_assert_cmpuint(p.cpu_id[i], ==, i);
		g_assert_cmpuint(p.cpu_flags[i], ==, i == 0 ? MP_CPU_ENABLED | MP_CPU_BSP : MP_CPU_ENABLED);
	}
	g_assert_cmpint(p.ioapics, ==, 1);
	g_assert_cmpuint(p.ioapic[1], ==, 4);
	g_assert_cmpint(p.ioints, ==, 15);
	g_assert_cmpuint(p.local[0][1], ==, MP_INT_EXTINT);
	g_assert_cmpuint(p.local[0][6], ==, 0);    /* the BSP's LINT0 */
	g_assert_cmpuint(p.local[1][6], ==, 0xff); /* NMI: every LINT1 */
	pmem_free(pm);
}

static void test_mp_errors(void)
{
	struct pmem *pm = pmem_new(512 * 1024);
	GError *err = NULL;
	g_assert_false(mptable_write(pm, &board, &err));
	g_assert_error(err, BOOT_ERROR, BOOT_ERROR_TOO_BIG);
	g_assert_nonnull(strstr(err->message, "1 MiB"));
	g_clear_error(&err);
	pmem_free(pm);
	pm = pmem_new(32 * MIB);
	GBytes *rom = g_bytes_new_take(g_malloc0(64 * 1024), 64 * 1024);
	pmem_map_rom(pm, rom);
	g_bytes_unref(rom);
	g_assert_false(mptable_write(pm, &board, &err));
	g_assert_error(err, BOOT_ERROR, BOOT_ERROR_OVERLAP);
	g_assert_nonnull(strstr(err->message, "ROM"));
	g_clear_error(&err);
	pmem_free(pm);
}

static void test_bda(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	const struct bda_config c = { .com = { 0x3f8, 0x2f8 } };
	g_assert_true(bda_write(pm, 32 * MIB, &c));
	g_assert_cmphex(pmem_read(pm, 0x400, 2), ==, 0x3f8);
	g_assert_cmphex(pmem_read(pm, 0x402, 2), ==, 0x2f8);
	g_assert_cmphex(pmem_read(pm, 0x404, 2), ==, 0);
	g_assert_cmphex(pmem_read(pm, 0x408, 2), ==, 0); /* no LPT1 */
	g_assert_cmphex(pmem_read(pm, 0x40e, 2), ==, 0x9fc0);
	uint32_t eq = pmem_read(pm, 0x410, 2);
	g_assert_cmpuint((eq >> 9) & 7, ==, 2);  /* two serial ports */
	g_assert_cmpuint((eq >> 4) & 3, ==, 2);  /* 80x25 colour */
	g_assert_cmpuint(eq & 3, ==, 0);         /* no floppy, no x87 */
	g_assert_cmpuint((eq >> 14) & 3, ==, 0); /* no LPT */
	g_assert_cmpuint(pmem_read(pm, 0x413, 2), ==, 639);
	g_assert_cmpuint(pmem_read(pm, 0x9fc00, 1), ==, 1); /* EBDA size in KiB */
	g_assert_cmpuint(pmem_read(pm, 0x449, 1), ==, 3);
	g_assert_cmpuint(pmem_read(pm, 0x44a, 2), ==, 80);
	g_assert_cmphex(pmem_read(pm, 0x463, 2), ==, 0x3d4);
	g_assert_cmpuint(pmem_read(pm, 0x484, 1), ==, 24);
	g_assert_cmphex(pmem_read(pm, 0x41a, 2), ==, pmem_read(pm, 0x41c, 2)); /* no keys */
	pmem_free(pm);
	/* too little RAM for the EBDA: nothing written */
	pm = pmem_new(512 * 1024);
	g_assert_false(bda_write(pm, 512 * 1024, &c));
	g_assert_cmpuint(pmem_pages_used(pm), ==, 0);
	pmem_free(pm);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/boot/mptable/found-parsed-and-checksummed", test_mp_tables);
	g_test_add_func("/boot/mptable/ids-from-config", test_mp_ids_from_config);
	g_test_add_func("/boot/mptable/several-cpus", test_mp_several_cpus);
	g_test_add_func("/boot/mptable/errors", test_mp_errors);
	g_test_add_func("/boot/bda/fields", test_bda);
	return g_test_run();
}
