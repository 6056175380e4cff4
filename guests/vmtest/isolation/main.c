/*
 * guests/vmtest/isolation/main.c - a guest that aims its page tables, its
 * descriptor tables and port I/O at memory and devices it does not own.
 *
 * With RAM of R bytes (the multiboot memory map: the run of entries from
 * 1 MiB up), nothing lies at guest-physical R and above but the board's
 * devices. Under nestlab's monitor the monitor's own pages sit right there
 * in host-physical memory (R .. R + 16 MiB): a guest that could read them
 * would see its shadow page tables, and one that could write them would
 * own the host. So the kernel
 *   1. maps R, R + 4 KiB, ..., R + 16 MiB, 0xC0000000, 0xFEBFF000 and
 *      0xFFFFF000 with its own page-table entries, 4 KiB and 4 MiB pages,
 *      and page tables that themselves lie beyond RAM, and reads and
 *      writes through them;
 *   2. loads a GDT and an IDT that run from its last RAM page into the
 *      space beyond, and loads segments, LAR/LSL/VERR, and INT n through
 *      the entries beyond RAM;
 *   3. reads and writes ports no device decodes.
 * A read of nothing gives all-ones on nestlab (docs/monitor.md, section 3);
 * another board may give zeros or, at 0xFFFFF000, its firmware ROM, so the
 * portable checks are that a write never sticks and that what reads back
 * is the board's "nothing", and the board's values go to "FW:" lines (which
 * the comparison with QEMU leaves out; bare against the monitor they must
 * match too). Every probe prints PASS or FAIL; exit status 0 iff all pass.
 *
 * Probes that must end the machine (a triple fault) are variants chosen by
 * the command line; each prints what it does, and if the machine goes on
 * it prints FAIL and exits with status 1:
 *   probe=cr3   CR3 at R: every page walk reads nothing
 *   probe=idt   the IDT at R, then INT 0x30
 *   probe=gdt   the GDT at R, then INT3 (its gate's CS lies beyond RAM)
 * and one that must not: probe=smash fills all of R .. R + 16 MiB with
 * words that look like page-table entries and descriptors (present,
 * writable, user), reads it back, and must go on as if nothing happened.
 */
#include "rt.h"

/* {====== architectural constants */

#define PTE_P  (1u << 0)
#define PTE_W  (1u << 1)
#define PTE_U  (1u << 2)
#define PDE_PS (1u << 7)
#define PAGE_SHIFT 12
#define PDE_SHIFT 22
#define ENTRIES 1024
#define BIG_PAGE (1u << PDE_SHIFT)
#define PAGE_OFFSET_LAST (RT_PAGE_SIZE - 4)

#define DESC_P        0x80
#define DESC_S        0x10
#define DESC_CODE_RX  0x0A
#define DESC_DATA_RW  0x02
#define DESC_G_DB     0xC
#define SEL_CODE      0x08
#define SEL_DATA      0x10
#define ERR_IDT       0x2 /* error code: the selector indexes the IDT */
#define LAR_MASK      0x00F0FF00u
#define LAR_ALL_ONES  LAR_MASK /* LAR of a descriptor of all-ones bytes */

#define MiB 0x100000u

/* }====== */

#define NOTHING_NESTLAB 0xFFFFFFFFu
#define PATTERN 0x5AA5C33Cu
#define NO_FAULT 0xFFu
#define IDENT_TABLES 2      /* 8 MiB identity-mapped: the kernel and its pages */
#define WINDOW_PDI 256      /* probe windows from linear 0x40000000 */
#define MON_SPAN (16 * MiB) /* the monitor's pages above a guest's RAM */

static uint32_t page_dir[ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
static uint32_t ident_pt[IDENT_TABLES][ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
static uint32_t window_pt[ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));

static uint32_t ram_end;   /* R */
static bool on_nestlab;    /* the board whose "nothing" is known: all-ones */

struct table_reg {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

extern const uint32_t rt_isr_table[256]; /* guests/lib/rt/isr.asm */

/* {====== faults: a probe names where to resume, the handler records */

static volatile uint32_t resume_eip; /* 0: a fault is unexpected */
static volatile uint32_t fault_vec = NO_FAULT, fault_err;

static void fault_handler(struct rt_frame *f)
{
	if (!resume_eip) {
		rt_fail("no unexpected fault", "vector %u error 0x%x at %08x", f->vector, f->err, f->eip);
		rt_done();
	}
	fault_vec = f->vector;
	fault_err = f->err;
	f->eip = resume_eip;
	resume_eip = 0;
}

static void expect_faults(void)
{
	static const int vecs[] = { VEC_UD, VEC_NP, VEC_SS, VEC_GP, VEC_PF };

	for (unsigned i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
		rt_set_handler(vecs[i], fault_handler);
}

static uint32_t read32(uint32_t va)
{
	uint32_t v = 0;

	fault_vec = NO_FAULT;
	__asm__ volatile("movl $1f, %[r]\n\t"
			 "movl (%[a]), %[v]\n"
			 "1:\n\t"
			 "movl $0, %[r]"
			 : [v] "+r"(v), [r] "=m"(resume_eip)
			 : [a] "r"(va)
			 : "memory");
	return v;
}

static void write32(uint32_t va, uint32_t v)
{
	fault_vec = NO_FAULT;
	__asm__ volatile("movl $1f, %[r]\n\t"
			 "movl %[v], (%[a])\n"
			 "1:\n\t"
			 "movl $0, %[r]"
			 : [r] "=m"(resume_eip)
			 : [a] "r"(va), [v] "r"(v)
			 : "memory");
}

/* }====== */

/* {====== the board */

/* The board is nestlab's if its MP table says so (OEM "NESTLAB "): the
 * CPU's CPUID names whichever CPU model runs (docs/cpu.md), not the board. */
static bool detect_nestlab(void)
{
	const struct mp_floating *f = rt_mp_find();
	const struct mp_config *c = f && f->physptr ? (const struct mp_config *)f->physptr : NULL;

	return c && !memcmp(c->oem_id, "NESTLAB ", 8);
}

/* The end of the run of memory-map entries (of any type) from 1 MiB up:
 * RAM that firmware reserved at its top still is RAM. */
static uint32_t find_ram_end(void)
{
	const struct mb_info *mb = rt_mb_info();
	uint64_t end = MiB;
	bool grew = true;

	if (!mb)
		return 32 * MiB;
	if (!(mb->flags & MB_INFO_MEM_MAP))
		return MiB + mb->mem_upper * 1024u;
	while (grew) {
		grew = false;
		for (uint32_t off = 0; off < mb->mmap_length;) {
			const struct mb_mmap_entry *e = (const void *)(mb->mmap_addr + off);

			if (e->addr <= end && e->addr + e->len > end) {
				end = e->addr + e->len;
				grew = true;
			}
			off += e->size + 4;
		}
	}
	return (uint32_t)end;
}

static const char *cmdline_probe(void)
{
	const struct mb_info *mb = rt_mb_info();
	const char *s;

	if (!mb || !(mb->flags & MB_INFO_CMDLINE))
		return "";
	for (s = (const char *)mb->cmdline; *s; s++)
		if (strncmp(s, "probe=", 6) == 0)
			return s + 6;
	return "";
}

static bool word_is(const char *s, const char *w)
{
	size_t n = strlen(w);

	return strncmp(s, w, n) == 0 && (s[n] == 0 || s[n] == ' ');
}

/* }====== */

/* {====== paging probes */

static void map_identity(void)
{
	for (uint32_t t = 0; t < IDENT_TABLES; t++) {
		for (uint32_t i = 0; i < ENTRIES; i++)
			ident_pt[t][i] = ((t * ENTRIES + i) << PAGE_SHIFT) | PTE_P | PTE_W;
		page_dir[t] = (uint32_t)ident_pt[t] | PTE_P | PTE_W;
	}
	page_dir[WINDOW_PDI] = (uint32_t)window_pt | PTE_P | PTE_W;
}

static void flush_tlb(void)
{
	write_cr3((uint32_t)page_dir);
}

/*
 * Read the first and last word of the page at `va`, write PATTERN to the
 * first and read it again. Nothing may be there: on nestlab all three
 * reads give all-ones; on any board the write must not stick and the
 * reads must agree. A #PF is also containment (a walk that found nothing
 * present); any other fault is not.
 */
static void probe_page(const char *what, uint32_t va, uint32_t target)
{
	uint32_t first = read32(va), fv1 = fault_vec;
	uint32_t last = read32(va + PAGE_OFFSET_LAST);

	write32(va, PATTERN);
	uint32_t again = read32(va), fv2 = fault_vec;

	if (fv1 == VEC_PF && fv2 == VEC_PF) {
		rt_printf("FW: %s (0x%08x): #PF\n", what, target);
		rt_printf("PASS: %s: nothing the guest can reach\n", what);
		return;
	}
	rt_printf("FW: %s (0x%08x): reads 0x%08x 0x%08x, after a write 0x%08x\n", what, target, first,
	          last, again);
	if (fv1 != NO_FAULT || fv2 != NO_FAULT)
		rt_fail(what, "vector %u, then %u", fv1, fv2);
	else if (again == PATTERN)
		rt_fail(what, "a write to 0x%08x stuck: the guest can change memory it does not own", target);
	else if (on_nestlab && (first != NOTHING_NESTLAB || last != NOTHING_NESTLAB || again != NOTHING_NESTLAB))
		rt_fail(what, "read 0x%08x 0x%08x 0x%08x where nothing is (all-ones): another owner's "
		        "memory shows through", first, last, again);
	else if (first != again)
		rt_fail(what, "read 0x%08x, then 0x%08x: something changes there", first, again);
	else
		rt_printf("PASS: %s: nothing the guest can reach\n", what);
}

/* A 4 KiB page of the window at frame `target`. */
static void probe_4k(const char *what, uint32_t target)
{
	window_pt[0] = target | PTE_P | PTE_W;
	flush_tlb();
	probe_page(what, WINDOW_PDI << PDE_SHIFT, target);
}

/* A PDE of the window that points at `pde`: a page table beyond RAM, or
 * a 4 MiB page; the first and the last 4 KiB of it are probed. */
static void probe_pde(const char *what, uint32_t pde, uint32_t target)
{
	char name[80];
	uint32_t va = (WINDOW_PDI + 1) << PDE_SHIFT;

	page_dir[WINDOW_PDI + 1] = pde;
	flush_tlb();
	rt_snprintf(name, sizeof name, "%s, first page", what);
	probe_page(name, va, target);
	rt_snprintf(name, sizeof name, "%s, last page", what);
	probe_page(name, va + BIG_PAGE - RT_PAGE_SIZE, target);
	page_dir[WINDOW_PDI + 1] = 0;
	flush_tlb();
}

static void paging_probes(void)
{
	static const struct {
		const char *what;
		uint32_t off;
	} beyond[] = {
		{ "RAM end", 0 },
		{ "RAM end + 4 KiB", 0x1000 },
		{ "RAM end + 1 MiB", MiB },
		{ "RAM end + 8 MiB", 8 * MiB },
		{ "RAM end + 16 MiB - 4 KiB", MON_SPAN - RT_PAGE_SIZE },
		{ "RAM end + 16 MiB", MON_SPAN },
	};
	uint32_t r = ram_end;

	map_identity();
	write_cr3((uint32_t)page_dir);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() | CR0_PG);
	for (unsigned i = 0; i < sizeof beyond / sizeof beyond[0]; i++)
		probe_4k(beyond[i].what, r + beyond[i].off);
	probe_4k("0xC0000000", 0xC0000000u);
	probe_4k("0xFEBFF000", 0xFEBFF000u);
	probe_4k("0xFFFFF000", 0xFFFFF000u);
	probe_pde("page table at RAM end", r | PTE_P | PTE_W, r);
	probe_pde("page table at RAM end + 8 MiB", (r + 8 * MiB) | PTE_P | PTE_W, r + 8 * MiB);
	probe_pde("4 MiB page at RAM end", r | PDE_PS | PTE_P | PTE_W, r);
	probe_pde("4 MiB page at RAM end + 12 MiB", (r + 12 * MiB) | PDE_PS | PTE_P | PTE_W,
	          r + 12 * MiB);
	write_cr0(read_cr0() & ~CR0_PG);
}

/* }====== */

/* {====== descriptor-table probes: tables that run past the end of RAM */

/* A flat GDT of three entries (null, code, data) in the last 24 bytes of
 * RAM, returned; its selectors from 0x18 up lie beyond RAM. */
static uint64_t *gdt_at_ram_end(void)
{
	uint64_t *g = (uint64_t *)(ram_end - 3 * sizeof(uint64_t));

	g[0] = 0;
	g[1] = rt_make_desc(0, 0xFFFFF, DESC_P | DESC_S | DESC_CODE_RX, DESC_G_DB);
	g[2] = rt_make_desc(0, 0xFFFFF, DESC_P | DESC_S | DESC_DATA_RW, DESC_G_DB);
	return g;
}

static void load_fs(uint16_t sel)
{
	fault_vec = NO_FAULT;
	__asm__ volatile("movl $1f, %[r]\n\t"
			 "mov %w[s], %%fs\n"
			 "1:\n\t"
			 "movl $0, %[r]"
			 : [r] "=m"(resume_eip)
			 : [s] "r"(sel)
			 : "memory");
}

/* Load FS with `sel` (beyond RAM): a #GP or #NP naming it (the board had
 * zeros there), or the descriptor of all-ones (nestlab's nothing), which
 * LAR then shows; nothing else. */
static void probe_selector(uint16_t sel)
{
	char what[64];
	uint32_t ar = 0, zf = 0;

	rt_snprintf(what, sizeof what, "GDT entry 0x%04x beyond RAM", sel);
	load_fs(sel);
	uint32_t fv = fault_vec, err = fault_err;
	__asm__ volatile("lar %2, %0\n\tsetz %b1" : "=r"(ar), "=q"(zf) : "r"((uint32_t)sel) : "cc");
	ar &= LAR_MASK;
	zf &= 1;
	load_fs(SEL_DATA);
	if (fv != NO_FAULT)
		rt_printf("FW: %s: MOV to FS: vector %u error 0x%x; LAR ZF=%u\n", what, fv, err, zf);
	else
		rt_printf("FW: %s: MOV to FS loads it; LAR ZF=%u rights 0x%08x\n", what, zf, ar);
	if (fv != NO_FAULT && ((fv != VEC_GP && fv != VEC_NP) || err != sel))
		rt_fail(what, "vector %u error 0x%x, want #GP or #NP(0x%x)", fv, err, sel);
	else if (fv == NO_FAULT && (!zf || ar != LAR_ALL_ONES))
		rt_fail(what, "loaded a descriptor with rights 0x%08x (ZF=%u): not the all-ones "
		        "of nothing", ar, zf);
	else if (on_nestlab && (fv != NO_FAULT || ar != LAR_ALL_ONES))
		rt_fail(what, "nestlab reads all-ones beyond RAM, the descriptor was not");
	else
		rt_printf("PASS: %s: nothing but the board's empty bytes\n", what);
}

static void gdt_probes(void)
{
	static const uint16_t sels[] = { 0x18, 0x20, 0x800, 0xFFF8 };
	struct table_reg saved, g;

	__asm__ volatile("sgdt %0" : "=m"(saved));
	g = (struct table_reg){ 0xFFFF, (uint32_t)gdt_at_ram_end() };
	__asm__ volatile("lgdt %0" : : "m"(g) : "memory");
	for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++)
		probe_selector(sels[i]);
	__asm__ volatile("lgdt %0" : : "m"(saved) : "memory");
}

/* An IDT whose vectors 0-31 are the last 256 bytes of RAM: INT 0x40 reads
 * its gate beyond RAM and must end in #GP(0x40 * 8 + 2), on every board
 * (neither all-ones nor zeros make a gate). */
static void idt_probes(void)
{
	const uint32_t vec = 0x40, in_ram = 32;
	uint64_t *idt = (uint64_t *)(ram_end - in_ram * sizeof(uint64_t));
	struct table_reg saved, t = { 0x7FF, (uint32_t)idt };

	for (uint32_t v = 0; v < in_ram; v++)
		idt[v] = rt_make_int_gate(SEL_CODE, rt_isr_table[v]);
	__asm__ volatile("sidt %0" : "=m"(saved));
	__asm__ volatile("lidt %0" : : "m"(t) : "memory");
	fault_vec = NO_FAULT;
	__asm__ volatile("movl $1f, %[r]\n\t"
			 "int $0x40\n"
			 "1:\n\t"
			 "movl $0, %[r]"
			 : [r] "=m"(resume_eip)
			 :
			 : "memory");
	uint32_t fv = fault_vec, err = fault_err;
	__asm__ volatile("lidt %0" : : "m"(saved) : "memory");
	if (fv == VEC_GP && err == (vec * 8 | ERR_IDT))
		rt_pass("INT 0x40 through an IDT gate beyond RAM: #GP(0x202)");
	else
		rt_fail("INT 0x40 through an IDT gate beyond RAM", "vector %u error 0x%x, want #GP(0x%x)",
		        fv, err, vec * 8 | ERR_IDT);
}

/* }====== */

/* {====== port I/O */

static void port_probes(void)
{
	static const uint16_t ports[] = { 0x100, 0x278, 0x2E8, 0x3E8, 0x7000 };

	for (unsigned i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		uint16_t p = ports[i];
		uint8_t b = inb(p);
		uint16_t w = inw(p);
		uint32_t l = inl(p);

		outb(p, 0x55);
		outl(p, PATTERN);
		uint8_t b2 = inb(p);
		char what[48];
		rt_snprintf(what, sizeof what, "port 0x%04x (no device)", p);
		if (b == 0xFF && w == 0xFFFF && l == 0xFFFFFFFFu && b2 == 0xFF)
			rt_printf("PASS: %s reads all-ones\n", what);
		else
			rt_fail(what, "reads 0x%02x 0x%04x 0x%08x, after writes 0x%02x", b, w, l, b2);
	}
}

/* Fill R .. R + 16 MiB through the window, 4 MiB at a time, with words
 * that would be present, writable, user entries pointing at page 0;
 * count the words that read back as written (none may). */
#define SMASH_WORD (PTE_P | PTE_W | PTE_U | 0x60u)

static void probe_smash(void)
{
	uint32_t stuck = 0, *w = (uint32_t *)(WINDOW_PDI << PDE_SHIFT);

	rt_puts("isolation: writing all of RAM end .. RAM end + 16 MiB\n");
	map_identity();
	write_cr3((uint32_t)page_dir);
	write_cr0(read_cr0() | CR0_PG);
	for (uint32_t base = ram_end; base < ram_end + MON_SPAN; base += BIG_PAGE) {
		for (uint32_t i = 0; i < ENTRIES; i++)
			window_pt[i] = (base + (i << PAGE_SHIFT)) | PTE_P | PTE_W;
		flush_tlb();
		for (uint32_t i = 0; i < BIG_PAGE / 4; i++)
			w[i] = SMASH_WORD;
		for (uint32_t i = 0; i < BIG_PAGE / 4; i++)
			stuck += w[i] == SMASH_WORD;
	}
	write_cr0(read_cr0() & ~CR0_PG);
	if (stuck)
		rt_fail("writes to RAM end .. RAM end + 16 MiB", "%u words stuck", stuck);
	else
		rt_pass("writes to RAM end .. RAM end + 16 MiB do not stick, and the guest goes on");
}

/* }====== */

/* {====== the variants that end the machine */

_Noreturn static void survived(const char *what)
{
	rt_fail(what, "the machine went on");
	rt_exit(1);
}

_Noreturn static void probe_cr3(void)
{
	rt_printf("isolation: CR3 at RAM end (0x%08x): the machine must stop\n", ram_end);
	map_identity();
	write_cr3((uint32_t)page_dir);
	write_cr0(read_cr0() | CR0_PG);
	write_cr3(ram_end);
	__asm__ volatile("nop" ::: "memory");
	write_cr3((uint32_t)page_dir);
	survived("CR3 at RAM end");
}

_Noreturn static void probe_idt(void)
{
	struct table_reg t = { 0x7FF, ram_end };

	rt_printf("isolation: the IDT at RAM end (0x%08x), then INT 0x30: the machine must stop\n",
	          ram_end);
	__asm__ volatile("lidt %0\n\t"
			 "int $0x30" : : "m"(t) : "memory");
	survived("INT 0x30 with the IDT at RAM end");
}

_Noreturn static void probe_gdt(void)
{
	struct table_reg t = { 0xFFFF, ram_end };

	rt_printf("isolation: the GDT at RAM end (0x%08x), then INT3: the machine must stop\n", ram_end);
	__asm__ volatile("lgdt %0\n\t"
			 "int3" : : "m"(t) : "memory");
	survived("INT3 with the GDT at RAM end");
}

/* }====== */

int main(void)
{
	const char *probe = cmdline_probe();

	ram_end = find_ram_end();
	on_nestlab = detect_nestlab();
	rt_printf("FW: RAM ends at 0x%08x; board %s\n", ram_end, on_nestlab ? "nestlab" : "other");
	if (word_is(probe, "cr3"))
		probe_cr3();
	if (word_is(probe, "idt"))
		probe_idt();
	if (word_is(probe, "gdt"))
		probe_gdt();
	if (word_is(probe, "smash")) {
		probe_smash();
		rt_done();
	}
	if (*probe && !word_is(probe, "all")) {
		rt_fail("command line", "unknown probe=%s (cr3, idt, gdt, smash, all)", probe);
		rt_done();
	}
	rt_puts("isolation: page tables, descriptor tables and ports aimed beyond the guest's own\n");
	expect_faults();
	paging_probes();
	gdt_probes();
	idt_probes();
	port_probes();
	rt_done();
}
