/*
 * mp.c - find the CPU's local APIC and the IOAPIC in the MultiProcessor
 * table (Intel MultiProcessor Specification 1.4, chapter 4).
 *
 * The BIOS leaves a 16-byte "floating pointer" structure, signature "_MP_",
 * in one of three places: the first KiB of the Extended BIOS Data Area, the
 * last KiB of base memory, or the BIOS ROM at 0xF0000-0xFFFFF. It points to
 * the configuration table ("PCMP"): a header, then one entry per processor,
 * bus, IOAPIC and interrupt assignment.
 */
#include "defs.h"
#include "memlayout.h"
#include "proc.h"

#define BDA_EBDA_SEG	0x40E	/* BIOS data area: EBDA segment (word) */
#define BDA_BASEMEM_KB	0x413	/* BIOS data area: KiB of base memory (word) */
#define BIOS_ROM	0xF0000
#define BIOS_ROM_SIZE	0x10000
#define DEFAULT_LAPIC	0xFEE00000
#define DEFAULT_IOAPIC	0xFEC00000

/* Configuration table entry types */
#define MPPROC		0x00
#define MPBUS		0x01
#define MPIOAPIC	0x02
#define MPIOINTR	0x03
#define MPLINTR		0x04
#define MPPROC_BSP	0x02	/* processor flags: the bootstrap processor */

struct mpfloat {		/* floating pointer */
	char signature[4];	/* "_MP_" */
	uint32_t physaddr;	/* of the configuration table */
	uint8_t length;		/* in 16-byte units: 1 */
	uint8_t specrev;
	uint8_t checksum;	/* all bytes sum to 0 */
	uint8_t type;		/* a default configuration, if not 0 */
	uint8_t imcrp;
	uint8_t reserved[3];
};

struct mpconf {			/* configuration table header */
	char signature[4];	/* "PCMP" */
	uint16_t length;	/* of the table with its entries */
	uint8_t version;
	uint8_t checksum;
	char product[20];
	uint32_t oemtable;
	uint16_t oemlength;
	uint16_t entry;		/* number of entries */
	uint32_t lapicaddr;
	uint16_t xlength;
	uint8_t xchecksum;
	uint8_t reserved;
};

struct mpproc {			/* processor entry, 20 bytes */
	uint8_t type;
	uint8_t apicid;
	uint8_t version;
	uint8_t flags;
	uint8_t signature[4];
	uint32_t feature;
	uint8_t reserved[8];
};

struct mpioapic {		/* IOAPIC entry, 8 bytes */
	uint8_t type;
	uint8_t apicno;
	uint8_t version;
	uint8_t flags;
	uint32_t addr;
};

_Static_assert(sizeof(struct mpfloat) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpconf) == 44, "MP table header is 44 bytes");
_Static_assert(sizeof(struct mpproc) == 20, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mpioapic) == 8, "MP IOAPIC entry is 8 bytes");

uint32_t mp_lapic_addr = DEFAULT_LAPIC;
uint32_t mp_ioapic_addr = DEFAULT_IOAPIC;
uint8_t mp_ioapic_id;

static uint8_t sum(const void *addr, int len)
{
	const uint8_t *p = addr;
	uint8_t s = 0;

	for (int i = 0; i < len; i++)
		s += p[i];
	return s;
}

/* The floating pointer in physical [pa, pa+len), or 0. */
static struct mpfloat *search(uint32_t pa, uint32_t len)
{
	uint8_t *p = P2V(pa), *e = P2V(pa + len);

	for (; p + sizeof(struct mpfloat) <= e; p += sizeof(struct mpfloat))
		if (memcmp(p, "_MP_", 4) == 0 && sum(p, sizeof(struct mpfloat)) == 0)
			return (struct mpfloat *)p;
	return 0;
}

static struct mpfloat *find_float(void)
{
	const uint8_t *bda = P2V(0);
	struct mpfloat *mp;
	uint32_t p;

	if ((p = (bda[BDA_EBDA_SEG + 1] << 8 | bda[BDA_EBDA_SEG]) << 4) != 0) {
		if ((mp = search(p, 1024)) != 0)
			return mp;
	}
	p = (bda[BDA_BASEMEM_KB + 1] << 8 | bda[BDA_BASEMEM_KB]) * 1024;
	if (p >= 1024 && (mp = search(p - 1024, 1024)) != 0)
		return mp;
	return search(BIOS_ROM, BIOS_ROM_SIZE);
}

/* The configuration table, checked, or 0. */
static struct mpconf *find_conf(struct mpfloat *mp)
{
	if (mp->physaddr == 0 || mp->physaddr >= EXTMEM)
		return 0;	/* a default configuration: not supported */
	struct mpconf *conf = P2V(mp->physaddr);
	if (memcmp(conf, "PCMP", 4) != 0 || (conf->version != 1 && conf->version != 4) ||
	    sum(conf, conf->length) != 0)
		return 0;
	return conf;
}

/* Walk the entries: note the boot CPU's APIC ID and the IOAPIC, and print them. */
static void read_entries(struct mpconf *conf)
{
	uint8_t *p = (uint8_t *)(conf + 1), *e = (uint8_t *)conf + conf->length;
	int ncpu = 0, nioapic = 0;

	while (p < e) {
		switch (*p) {
		case MPPROC: {
			struct mpproc *proc = (struct mpproc *)p;
			kprintf("mp: cpu %d: local apic id %d%s\n", ncpu++, proc->apicid,
				proc->flags & MPPROC_BSP ? " (boot processor)" : "");
			if (proc->flags & MPPROC_BSP)
				cpu.apicid = proc->apicid;
			p += sizeof(struct mpproc);
			break;
		}
		case MPIOAPIC: {
			struct mpioapic *io = (struct mpioapic *)p;
			kprintf("mp: ioapic id %d at %p\n", io->apicno, io->addr);
			if (nioapic++ == 0) {
				mp_ioapic_id = io->apicno;
				mp_ioapic_addr = io->addr;
			}
			p += sizeof(struct mpioapic);
			break;
		}
		case MPBUS:
		case MPIOINTR:
		case MPLINTR:
			p += 8;
			break;
		default:
			kprintf("mp: unknown entry type %d; rest ignored\n", *p);
			return;
		}
	}
}

/*
 * Find the MP table and note the local APIC and IOAPIC addresses, the boot
 * CPU's APIC ID and the IOAPIC's ID. Without a table, use the PC defaults.
 * Runs on the boot page directory: the table is in the first MiB.
 * Returns 0, or -1 if there is no MP table.
 */
int mp_init(void)
{
	struct mpfloat *mp = find_float();
	struct mpconf *conf = mp ? find_conf(mp) : 0;

	if (conf == 0) {
		kprintf("mp: no MP configuration table; using the PC defaults\n");
		return -1;
	}
	kprintf("mp: configuration table version 1.%d\n", conf->version);
	mp_lapic_addr = conf->lapicaddr;
	kprintf("mp: local apic at %p\n", mp_lapic_addr);
	read_entries(conf);
	return 0;
}
