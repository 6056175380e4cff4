/*
 * guests/lib/rt/mp.c - finding and summarising the MP table (Intel
 * MultiProcessor Specification 1.4, chapter 4).
 */
#include "rt.h"

#define BDA_EBDA_SEGMENT 0x40E /* word: the EBDA's real-mode segment */
#define BDA_BASE_KIB     0x413 /* word: KiB of base memory */
#define BIOS_ROM_START   0xF0000u
#define BIOS_ROM_END     0x100000u
#define MP_ALIGN         16
#define DEFAULT_BASE_KIB 640
#define DEFAULT_LAPIC    0xFEE00000u
#define DEFAULT_IOAPIC   0xFEC00000u
#define MP_INT_TYPE_INT  0

/* A 16-bit read of low memory (hidden from GCC's checks of null-page
 * pointers, which it takes for bugs). */
static uint16_t peek16(uint32_t addr)
{
	const volatile uint16_t *p;

	__asm__("" : "=r"(p) : "0"(addr));
	return *p;
}

static uint8_t checksum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* A valid floating pointer structure in [start, start + len), or NULL. */
static const struct mp_floating *search(uint32_t start, uint32_t len)
{
	for (uint32_t a = start; a + sizeof(struct mp_floating) <= start + len; a += MP_ALIGN) {
		const struct mp_floating *f = (const struct mp_floating *)a;

		if (f->signature == MP_FLOATING_SIG && f->length == 1 && checksum(f, 16) == 0)
			return f;
	}
	return NULL;
}

const struct mp_floating *rt_mp_find(void)
{
	uint32_t ebda = (uint32_t)peek16(BDA_EBDA_SEGMENT) << 4;
	uint32_t base_kib = peek16(BDA_BASE_KIB);
	const struct mp_floating *f = NULL;

	if (base_kib == 0 || base_kib > DEFAULT_BASE_KIB)
		base_kib = DEFAULT_BASE_KIB;
	if (ebda)
		f = search(ebda, 1024);
	if (!f)
		f = search(base_kib * 1024 - 1024, 1024);
	if (!f)
		f = search(BIOS_ROM_START, BIOS_ROM_END - BIOS_ROM_START);
	return f;
}

/* The default configurations (spec chapter 5): two processors, APIC IDs 0
 * and 1, one I/O APIC with ID 2, ISA IRQs on the inputs of the same number
 * except IRQ 0 on input 2. */
static int default_config(struct rt_mp_summary *s)
{
	s->default_config = true;
	s->ncpus = 2;
	s->apic_ids[0] = 0;
	s->apic_ids[1] = 1;
	s->bsp_apic_id = 0;
	s->lapic_addr = DEFAULT_LAPIC;
	s->nioapics = 1;
	s->ioapic_id = 2;
	s->ioapic_addr = DEFAULT_IOAPIC;
	for (int i = 0; i < 16; i++)
		s->isa_irq_pin[i] = (int8_t)(i == 0 ? 2 : i);
	s->isa_irq_pin[2] = -1;
	return s->ncpus;
}

static void add_proc(struct rt_mp_summary *s, const struct mp_proc *p)
{
	if (!(p->cpu_flags & MP_PROC_EN))
		return;
	if (p->cpu_flags & MP_PROC_BP)
		s->bsp_apic_id = p->lapic_id;
	if (s->ncpus < RT_MP_MAX_CPUS)
		s->apic_ids[s->ncpus] = p->lapic_id;
	s->ncpus++;
}

static void add_ioapic(struct rt_mp_summary *s, const struct mp_ioapic *a)
{
	if (!(a->flags & MP_IOAPIC_EN))
		return;
	if (s->nioapics++ == 0) {
		s->ioapic_id = a->id;
		s->ioapic_addr = a->addr;
	}
}

/* The size of an entry of type t (0 for an unknown type). */
static uint32_t entry_size(uint8_t t)
{
	return t == MP_ENTRY_PROC ? sizeof(struct mp_proc) : t <= MP_ENTRY_LINT ? 8 : 0;
}

int rt_mp_scan(struct rt_mp_summary *out)
{
	const struct mp_floating *f = rt_mp_find();
	const struct mp_config *c;
	const uint8_t *e, *end;
	uint32_t isa_buses = 0; /* bit n: bus n is ISA */

	*out = (struct rt_mp_summary){ 0 };
	for (int i = 0; i < 16; i++)
		out->isa_irq_pin[i] = -1;
	if (!f)
		return -1;
	if (!f->physptr)
		return f->feature[0] ? default_config(out) : -1;
	c = (const struct mp_config *)f->physptr;
	if (c->signature != MP_CONFIG_SIG || checksum(c, c->length) != 0)
		return -1;
	out->lapic_addr = c->lapic_addr;
	e = (const uint8_t *)(c + 1);
	end = (const uint8_t *)c + c->length;
	for (int i = 0; i < c->entry_count && e < end; i++) {
		uint32_t size = entry_size(*e);

		if (!size)
			break;
		if (*e == MP_ENTRY_PROC)
			add_proc(out, (const struct mp_proc *)e);
		else if (*e == MP_ENTRY_BUS) {
			const struct mp_bus *b = (const struct mp_bus *)e;

			if (b->bus_id < 32 && memcmp(b->bus_type, "ISA", 3) == 0)
				isa_buses |= 1u << b->bus_id;
		} else if (*e == MP_ENTRY_IOAPIC)
			add_ioapic(out, (const struct mp_ioapic *)e);
		else if (*e == MP_ENTRY_IOINT) {
			const struct mp_ioint *n = (const struct mp_ioint *)e;

			if (n->int_type == MP_INT_TYPE_INT && n->src_bus < 32 && (isa_buses >> n->src_bus & 1) &&
			    n->src_irq < 16)
				out->isa_irq_pin[n->src_irq] = (int8_t)n->dst_pin;
		}
		e += size;
	}
	return out->ncpus;
}
