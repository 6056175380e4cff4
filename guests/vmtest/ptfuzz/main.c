/*
 * guests/vmtest/ptfuzz/main.c - a guest that writes random page-table
 * entries and segment descriptors and then uses them.
 *
 * --cmdline 'seed=N iterations=M wild=1' (defaults: seed 1, 300 iterations,
 * wild 0). A xorshift generator seeded with N drives everything, so a run
 * is a pure function of its command line: the same on every machine that
 * follows the manual, bare or under a monitor.
 *
 * What is fuzzed, and what is not:
 *
 *   0x00000000-0x007FFFFF  identity-mapped, 4 KiB pages, never fuzzed: the
 *                          kernel's code, stack, GDT, LDT, IDT, handlers
 *                          and the page directory and tables themselves
 *   0x40000000-0x41FFFFFF  the fuzz region, PDEs 256-263 (fuzzed)
 *
 * The fuzz PDEs point at pool pages (the fuzz page tables and data pages,
 * all inside the identity region), at the page directory or the identity
 * tables, at the kernel, at 4 MiB pages, or (wild=1) at tables beyond RAM.
 * Every word a fuzz write stores, and every word in a pool page, is a
 * "safe" entry: writable only if it maps a pool page or something beyond
 * RAM. So whichever page ends up used as a page table, no translation of
 * the fuzz region can write the kernel (CR0.WP = 1 makes read-only hold at
 * CPL 0). Only wild=1 lets a PDE name a table beyond RAM, whose contents
 * are the board's (all-ones on nestlab, zeros on QEMU); the default run
 * therefore counts the same faults on nestlab and QEMU. So does fsread=0
 * (the default): QEMU's TCG checks neither segment limits nor null
 * selectors on data accesses, so reads through a fuzzed FS part ways.
 *
 * Options for finding where two runs part: trace=1 prints one line per
 * event; segs=0 fuzzes page tables only; rpl0=1 gives every selector
 * RPL 0 (a monitor that runs the guest kernel at CPL 3 with descriptor
 * DPLs raised to 3 cannot see RPL > DPL on a data segment load).
 *
 * Each iteration writes a few PTEs (then INVLPG of every address that maps
 * them) and PDEs (then a CR3 reload), GDT and LDT descriptors, and then
 * reads and writes the fuzz region, loads FS with random selectors (and
 * with fsread=1 reads through it), and runs LAR, LSL, VERR and VERW. After each access
 * that may have changed a live table it reloads CR3, so nothing depends on
 * what a TLB keeps (which the manual leaves open). Every fault is counted
 * by vector and the access skipped. At the end it prints the counts, the
 * sum of the values read (an "FW:" line: values beyond RAM are the
 * board's) and "DONE".
 */
#include "rt.h"

/* {====== architectural constants */

#define PTE_P   (1u << 0)
#define PTE_W   (1u << 1)
#define PTE_U   (1u << 2)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A   (1u << 5)
#define PTE_D   (1u << 6)
#define PDE_PS  (1u << 7)
#define PTE_G   (1u << 8)
#define PTE_FRAME 0xFFFFF000u
#define PDE_FRAME_4M 0xFFC00000u
#define PAGE_SHIFT 12
#define PDE_SHIFT 22
#define ENTRIES 1024
#define BIG_PAGE (1u << PDE_SHIFT)

#define DESC_P        0x80
#define DESC_S        0x10
#define DESC_CODE_RX  0x0A
#define DESC_DATA_RW  0x02
#define DESC_LDT      0x02
#define DESC_TSS32    0x09
#define DESC_G_DB     0xC
#define SEL_TI        0x4
#define LAR_MASK      0x00F0FF00u

#define MiB 0x100000u

/* }====== */

/* {====== the address space */

#define IDENT_TABLES 2 /* 8 MiB */
#define IDENT_END (IDENT_TABLES * BIG_PAGE)
#define FUZZ_PDI 256
#define FUZZ_PDES 8
#define FUZZ_BASE ((uint32_t)FUZZ_PDI << PDE_SHIFT)
#define FUZZ_TABLES 8
#define DATA_PAGES 8
#define POOL_PAGES (FUZZ_TABLES + DATA_PAGES)

static uint32_t page_dir[ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
static uint32_t ident_pt[IDENT_TABLES][ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
/* pool[0 .. FUZZ_TABLES-1] are the fuzz tables, the rest data pages. */
static uint32_t pool[POOL_PAGES][ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));

enum { G_NULL, G_CODE, G_DATA, G_UCODE, G_UDATA, G_TSS, G_LDT, G_SPARE, G_FUZZ, G_ENTRIES = 16 };
#define SEL_CODE (G_CODE << 3)
#define SEL_DATA (G_DATA << 3)
#define SEL_TSS  (G_TSS << 3)
#define SEL_LDT  (G_LDT << 3)
#define LDT_ENTRIES 8

static uint64_t gdt[G_ENTRIES] __attribute__((aligned(8)));
static uint64_t ldt[LDT_ENTRIES] __attribute__((aligned(8)));
static uint32_t tss[26] __attribute__((aligned(16)));

static uint32_t ram_end;
static bool wild;
static bool rpl0;    /* rpl0=1: every selector has RPL 0 (see below) */
static bool segs = true; /* segs=0: page tables only */
static bool fsread;  /* fsread=1: read through FS after a load (see below) */
static bool verbose; /* trace=1: one line per event, to find where two runs part */

/* }====== */

/* {====== the generator (xorshift32) and the command line */

static uint32_t rng_state;

static uint32_t rnd(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static uint32_t below(uint32_t n)
{
	return rnd() % n;
}

static uint32_t cmdline_value(const char *key, uint32_t dflt)
{
	const struct mb_info *mb = rt_mb_info();
	size_t n = strlen(key);

	if (!mb || !(mb->flags & MB_INFO_CMDLINE))
		return dflt;
	for (const char *s = (const char *)mb->cmdline; *s; s++) {
		if ((s == (const char *)mb->cmdline || s[-1] == ' ') && strncmp(s, key, n) == 0 &&
		    s[n] == '=') {
			uint32_t v = 0;

			for (s += n + 1; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint32_t)(*s - '0');
			return v;
		}
	}
	return dflt;
}

/* }====== */

/* {====== faults: counted by vector, the access skipped */

#define VECTORS 32
static volatile uint32_t resume_eip;
static volatile uint32_t last_vec;
static uint32_t fault_count[VECTORS];
#define NO_FAULT 0xFFu

static void fault_handler(struct rt_frame *f)
{
	if (!resume_eip || f->vector == VEC_DF) {
		rt_fail("fault outside a probe", "vector %u error 0x%x at %08x, CR2 %08x", f->vector,
		        f->err, f->eip, read_cr2());
		rt_done();
	}
	fault_count[f->vector & (VECTORS - 1)]++;
	last_vec = f->vector;
	f->eip = resume_eip;
	resume_eip = 0;
}

/* Run `insn` (one instruction using %0 as the value, %1 as the address)
 * with a resume point after it. */
#define PROBE(insn, val, addr)                                              \
	__asm__ volatile("movl $1f, %[r]\n\t" insn "\n"                     \
			 "1:\n\t"                                           \
			 "movl $0, %[r]"                                    \
			 : "+r"(val), [r] "=m"(resume_eip)                  \
			 : "r"(addr)                                        \
			 : "memory", "cc")

/* }====== */

/* {====== entries */

static bool in_pool(uint32_t frame)
{
	return frame >= (uint32_t)pool && frame < (uint32_t)pool + sizeof pool;
}

static bool in_apic(uint32_t frame)
{
	return frame >= 0xFEC00000u && frame < 0xFEF00000u;
}

/* A frame that is nothing on this board: beyond RAM, not the APICs. */
static uint32_t beyond_frame(void)
{
	static const uint32_t fixed[] = { 0xC0000000u, 0xFEBFF000u, 0xFFFFF000u };
	uint32_t k = below(4);

	if (k < 3)
		return fixed[k];
	return (ram_end + (below(16 * MiB) & PTE_FRAME));
}

/* A random frame of the kinds described at the top. */
static uint32_t random_frame(void)
{
	switch (below(8)) {
	case 0:
	case 1:
	case 2:
		return (uint32_t)pool[below(POOL_PAGES)];
	case 3:
		return (uint32_t)page_dir;
	case 4:
		return (uint32_t)ident_pt[below(IDENT_TABLES)];
	case 5:
		return MiB + (below(IDENT_END - MiB) & PTE_FRAME); /* the kernel */
	case 6:
		return beyond_frame();
	default:
		return rnd() & PTE_FRAME;
	}
}

/* Writable only if `frame` is a pool page or nothing (beyond RAM). */
static uint32_t safe_pte(uint32_t frame, uint32_t flags)
{
	if (in_apic(frame))
		frame = 0xFEBFF000u;
	if (!in_pool(frame) && frame < ram_end)
		flags &= ~PTE_W;
	return (frame & PTE_FRAME) | (flags & ~PTE_FRAME);
}

static uint32_t random_pte(void)
{
	uint32_t flags = rnd() & (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G);

	if (below(4))
		flags |= PTE_P;
	return safe_pte(random_frame(), flags);
}

/* A PDE: a 4 MiB page (writable only wholly beyond RAM), a pool table, an
 * identity table or the directory (read-only), or with wild a table
 * beyond RAM. */
static uint32_t random_pde(void)
{
	uint32_t flags = rnd() & (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G);
	uint32_t frame;

	if (below(4))
		flags |= PTE_P;
	if (below(6) == 0) {
		frame = below(2) ? rnd() & PDE_FRAME_4M : (ram_end + below(4) * BIG_PAGE);
		if (frame < ram_end || (frame >= 0xFEC00000u))
			flags &= ~PTE_W;
		return frame | flags | PDE_PS;
	}
	flags &= ~PDE_PS;
	switch (below(6)) {
	case 0:
		return (uint32_t)page_dir | (flags & ~PTE_W);
	case 1:
		return (uint32_t)ident_pt[below(IDENT_TABLES)] | (flags & ~PTE_W);
	case 2:
		if (wild)
			return beyond_frame() | flags;
		/* fall through */
	default:
		return (uint32_t)pool[below(POOL_PAGES)] | flags;
	}
}

/* }====== */

/* {====== descriptors */

/* Mostly plausible segments (data or code, any DPL, P, base inside the
 * identity region or the fuzz region, any limit and G), sometimes raw. */
static uint64_t random_desc(void)
{
	if (below(4) == 0)
		return (uint64_t)rnd() << 32 | rnd();
	uint32_t base = below(2) ? below(IDENT_END) : FUZZ_BASE + below(FUZZ_PDES * BIG_PAGE);
	uint8_t access = (uint8_t)(rnd() & 0xFF);

	if (below(3))
		access |= DESC_P | DESC_S;
	return rt_make_desc(base, rnd() & 0xFFFFF, access, (uint8_t)(rnd() & 0xD));
}

static uint16_t random_selector(void)
{
	uint16_t rpl = (uint16_t)below(4);

	if (rpl0)
		rpl = 0;

	if (below(2))
		return (uint16_t)(below(LDT_ENTRIES) << 3 | SEL_TI | rpl);
	return (uint16_t)(below(G_ENTRIES + 2) << 3 | rpl); /* a few beyond the limit */
}

static void build_tables(void)
{
	const uint32_t flat = 0xFFFFF;
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) g = { sizeof gdt - 1, (uint32_t)gdt };

	gdt[G_CODE] = rt_make_desc(0, flat, DESC_P | DESC_S | DESC_CODE_RX, DESC_G_DB);
	gdt[G_DATA] = rt_make_desc(0, flat, DESC_P | DESC_S | DESC_DATA_RW, DESC_G_DB);
	gdt[G_UCODE] = rt_make_desc(0, flat, DESC_P | (3 << 5) | DESC_S | DESC_CODE_RX, DESC_G_DB);
	gdt[G_UDATA] = rt_make_desc(0, flat, DESC_P | (3 << 5) | DESC_S | DESC_DATA_RW, DESC_G_DB);
	gdt[G_TSS] = rt_make_desc((uint32_t)tss, sizeof tss - 1, DESC_P | DESC_TSS32, 0);
	gdt[G_LDT] = rt_make_desc((uint32_t)ldt, sizeof ldt - 1, DESC_P | DESC_LDT, 0);
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%fs\n\t"
			 "mov %2, %%gs\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3\n\t"
			 "lldt %w4"
			 :
			 : "m"(g), "i"(SEL_CODE), "r"((uint32_t)SEL_DATA), "r"(SEL_TSS), "r"(SEL_LDT)
			 : "memory");
}

/* }====== */

/* {====== paging */

static void map_identity(void)
{
	for (uint32_t t = 0; t < IDENT_TABLES; t++) {
		for (uint32_t i = 0; i < ENTRIES; i++)
			ident_pt[t][i] = ((t * ENTRIES + i) << PAGE_SHIFT) | PTE_P | PTE_W;
		page_dir[t] = (uint32_t)ident_pt[t] | PTE_P | PTE_W;
	}
	for (uint32_t k = 0; k < FUZZ_PDES; k++)
		page_dir[FUZZ_PDI + k] = (uint32_t)pool[k] | PTE_P | PTE_W;
}

static void flush_all(void)
{
	write_cr3((uint32_t)page_dir);
}

static inline void invlpg(uint32_t lin)
{
	__asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory");
}

/* INVLPG every fuzz address that pool table t entry i may translate: one
 * per fuzz PDE that points at t as a table; a CR3 reload if t is also
 * the directory's child through a PDE we do not track. */
static void invalidate_pte(uint32_t t, uint32_t i)
{
	for (uint32_t k = 0; k < FUZZ_PDES; k++) {
		uint32_t pde = page_dir[FUZZ_PDI + k];

		if ((pde & PTE_P) && !(pde & PDE_PS) && (pde & PTE_FRAME) == (uint32_t)pool[t])
			invlpg(FUZZ_BASE + k * BIG_PAGE + (i << PAGE_SHIFT));
	}
}

/* }====== */

/* {====== one iteration */

struct counts {
	uint32_t reads, writes, loads, lar, lsl, verr, verw, sum;
};

static struct counts c;

static uint32_t fuzz_addr(void)
{
	return FUZZ_BASE + (below(FUZZ_PDES * BIG_PAGE) & ~3u);
}

static void write_entries(void)
{
	for (uint32_t n = below(4); n; n--) {
		uint32_t t = below(POOL_PAGES), i = below(ENTRIES);

		pool[t][i] = random_pte();
		invalidate_pte(t, i);
	}
	if (below(3) == 0) {
		page_dir[FUZZ_PDI + below(FUZZ_PDES)] = random_pde();
		flush_all();
	}
}

static void write_descriptors(void)
{
	if (below(2))
		gdt[G_FUZZ + below(G_ENTRIES - G_FUZZ)] = random_desc();
	if (below(2))
		ldt[below(LDT_ENTRIES)] = random_desc();
}

static void access_memory(void)
{
	for (uint32_t n = 1 + below(6); n; n--) {
		uint32_t a = fuzz_addr(), v = 0;

		if (below(3)) {
			last_vec = NO_FAULT;
			PROBE("movl (%2), %0", v, a);
			if (verbose)
				rt_printf("read %08x: vector %u value %08x\n", a, last_vec, v);
			if (last_vec == NO_FAULT) {
				c.reads++;
				c.sum += v;
			}
		} else {
			v = random_pte();
			last_vec = NO_FAULT;
			PROBE("movl %0, (%2)", v, a);
			if (verbose)
				rt_printf("write %08x: vector %u\n", a, last_vec);
			c.writes += last_vec == NO_FAULT;
		}
		flush_all(); /* a write or an A/D update may have changed a live table */
	}
}

static void use_selectors(void)
{
	uint32_t sel = random_selector(), v = 0, off = below(0x2000) & ~3u;

	last_vec = NO_FAULT;
	PROBE("mov %w0, %%fs", sel, 0);
	if (verbose) {
		uint64_t d = (sel & SEL_TI) ? ldt[sel >> 3] : (sel >> 3) < G_ENTRIES ? gdt[sel >> 3] : 0;
		rt_printf("load FS 0x%04x desc %08x%08x: vector %u\n", sel, (uint32_t)(d >> 32),
		          (uint32_t)d, last_vec);
	}
	if (last_vec == NO_FAULT)
		c.loads++;
	if (last_vec == NO_FAULT && fsread) {
		last_vec = NO_FAULT;
		PROBE("movl %%fs:(%2), %0", v, off);
		if (verbose)
			rt_printf("read FS:%08x: vector %u\n", off, last_vec);
		if (last_vec == NO_FAULT)
			c.sum += v;
		flush_all();
	}
	/* FS back to the flat data segment: the interrupt stubs save and
	 * reload it, and the next descriptor write may make it unloadable. */
	__asm__ volatile("mov %w0, %%fs" : : "r"(SEL_DATA));
	sel = random_selector();
	v = 0;
	__asm__ volatile("lar %1, %0\n\tjnz 1f\n\tincl %2\n1:" : "+r"(v) : "r"(sel), "m"(c.lar) : "cc", "memory");
	c.sum += v & LAR_MASK;
	v = 0;
	__asm__ volatile("lsl %1, %0\n\tjnz 1f\n\tincl %2\n1:" : "+r"(v) : "r"(sel), "m"(c.lsl) : "cc", "memory");
	c.sum += v;
	__asm__ volatile("verr %w0\n\tjnz 1f\n\tincl %1\n1:" : : "r"(sel), "m"(c.verr) : "cc", "memory");
	__asm__ volatile("verw %w0\n\tjnz 1f\n\tincl %1\n1:" : : "r"(sel), "m"(c.verw) : "cc", "memory");
}

/* }====== */

static uint32_t find_ram_end(void)
{
	const struct mb_info *mb = rt_mb_info();

	if (mb && (mb->flags & MB_INFO_MEMORY))
		return MiB + mb->mem_upper * 1024u;
	return 32 * MiB;
}

static void print_counts(void)
{
	static const char *const names[VECTORS] = {
		[VEC_UD] = "UD", [VEC_TS] = "TS", [VEC_NP] = "NP", [VEC_SS] = "SS",
		[VEC_GP] = "GP", [VEC_PF] = "PF", [VEC_AC] = "AC",
	};

	rt_puts("faults:");
	for (int v = 0; v < VECTORS; v++)
		if (fault_count[v])
			rt_printf(" #%s=%u", names[v] ? names[v] : "?", fault_count[v]);
	rt_printf("\naccesses: reads %u, writes %u, FS loads %u, LAR %u, LSL %u, VERR %u, VERW %u\n",
	          c.reads, c.writes, c.loads, c.lar, c.lsl, c.verr, c.verw);
	rt_printf("FW: sum of the values read 0x%08x\n", c.sum);
}

int main(void)
{
	uint32_t seed = cmdline_value("seed", 1), iterations = cmdline_value("iterations", 300);

	wild = cmdline_value("wild", 0) != 0;
	verbose = cmdline_value("trace", 0) != 0;
	rpl0 = cmdline_value("rpl0", 0) != 0;
	segs = cmdline_value("segs", 1) != 0;
	fsread = cmdline_value("fsread", 0) != 0;
	rng_state = seed ? seed : 1;
	ram_end = find_ram_end();
	/* RAM ends on a 4 MiB boundary on the boards this runs on; round so
	 * that "beyond RAM" 4 MiB pages stay beyond it. */
	ram_end = (ram_end + BIG_PAGE - 1) & PDE_FRAME_4M;
	rt_printf("ptfuzz: seed=%u iterations=%u wild=%u segs=%u fsread=%u rpl0=%u\n", seed,
	          iterations, wild, segs, fsread, rpl0);
	for (int v = 0; v < VECTORS; v++)
		if (v != VEC_DB && v != VEC_NMI && v != VEC_BP && v != VEC_OF)
			rt_set_handler(v, fault_handler);
	build_tables();
	map_identity();
	write_cr3((uint32_t)page_dir);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	for (uint32_t it = 0; it < iterations; it++) {
		write_entries();
		if (segs)
			write_descriptors();
		access_memory();
		if (segs)
			use_selectors();
	}
	write_cr0(read_cr0() & ~(CR0_PG | CR0_WP));
	print_counts();
	rt_pass("every fault was caught and the kernel's own mappings held");
	rt_puts("DONE\n");
	rt_done();
}
