/*
 * dcache.c - the decoded-instruction cache.
 *
 * Decodes are cached by the physical address of their first byte and the
 * code size (16/32) in a direct-mapped table. For each physical page that
 * holds cached decodes, a bitmap marks the offsets where cached instructions
 * start. Writes to such a page (phys_write, or cpu_invalidate_phys for DMA
 * and loaders) drop every cached instruction whose bytes they touch, so
 * self-modifying code always executes what memory holds. The TLB never
 * gives a fast write path to a page with code (mmu_protect_code).
 *
 * Instructions whose bytes span two pages are decoded on every execution
 * and never cached: their second page may be remapped independently.
 */
#include "cpu_int.h"

#define DC_SIZE (1u << DC_BITS)

/* struct dc_entry is in cpu_int.h: the run loop probes it inline. */

struct codepage {
	uint32_t count;      /* cached instructions starting in this page */
	uint8_t starts[512]; /* bit per offset */
};

struct dcache {
	struct dc_entry e[DC_SIZE]; /* first: cpu_int.h indexes it directly */
	struct codepage **dir[1024]; /* by pa >> 22, then (pa >> 12) & 1023 */
};

void mmu_protect_code(struct cpu *cpu, uint32_t pa);

static inline uint32_t dc_hash(uint32_t pa)
{
	return dcache_hash(pa);
}

struct dcache *dcache_new(void)
{
	struct dcache *dc = calloc(1, sizeof *dc);
	if (!dc)
		cpu_host_bug(__FILE__, __LINE__, "out of memory for the decode cache");
	return dc;
}

void dcache_free(struct dcache *dc)
{
	if (!dc)
		return;
	for (int i = 0; i < 1024; i++) {
		if (!dc->dir[i])
			continue;
		for (int j = 0; j < 1024; j++)
			free(dc->dir[i][j]);
		free(dc->dir[i]);
	}
	free(dc);
}

void dcache_flush(struct dcache *dc)
{
	for (uint32_t i = 0; i < DC_SIZE; i++)
		dc->e[i].mode = 0;
	for (int i = 0; i < 1024; i++) {
		if (!dc->dir[i])
			continue;
		for (int j = 0; j < 1024; j++) {
			free(dc->dir[i][j]);
			dc->dir[i][j] = NULL;
		}
	}
}

static struct codepage *page_of(const struct dcache *dc, uint32_t pa)
{
	struct codepage **t = dc->dir[pa >> 22];
	return t ? t[(pa >> 12) & 1023] : NULL;
}

bool dcache_page_has_code(const struct dcache *dc, uint32_t pa)
{
	const struct codepage *cp = page_of(dc, pa);
	return cp && cp->count;
}

/* Marks `pa` as the start of a cached instruction; true if the page was
 * not code before. */
static bool mark_start(struct dcache *dc, uint32_t pa)
{
	struct codepage **t = dc->dir[pa >> 22];
	if (!t) {
		t = dc->dir[pa >> 22] = calloc(1024, sizeof *t);
		if (!t)
			cpu_host_bug(__FILE__, __LINE__, "out of memory for the decode cache");
	}
	struct codepage *cp = t[(pa >> 12) & 1023];
	if (!cp) {
		cp = t[(pa >> 12) & 1023] = calloc(1, sizeof *cp);
		if (!cp)
			cpu_host_bug(__FILE__, __LINE__, "out of memory for the decode cache");
	}
	uint32_t off = pa & 0xfff;
	if (cp->starts[off >> 3] & (1u << (off & 7)))
		return false;
	cp->starts[off >> 3] |= (uint8_t)(1u << (off & 7));
	return cp->count++ == 0;
}

static void clear_start(struct dcache *dc, uint32_t pa)
{
	struct codepage *cp = page_of(dc, pa);
	uint32_t off = pa & 0xfff;
	if (cp && (cp->starts[off >> 3] & (1u << (off & 7)))) {
		cp->starts[off >> 3] &= (uint8_t) ~(1u << (off & 7));
		cp->count--;
	}
}

void dcache_invalidate(struct dcache *dc, uint32_t pa, uint32_t len)
{
	uint32_t page = pa & ~0xfffu;
	uint32_t lo = pa - page >= 14 ? pa - 14 : page;
	uint64_t end = (uint64_t)pa + len;
	for (uint64_t s = lo; s < end; s++) {
		if ((s & ~0xfffull) != page) {
			page = (uint32_t)s & ~0xfffu; /* the write spans pages */
		}
		struct codepage *cp = page_of(dc, (uint32_t)s);
		uint32_t off = (uint32_t)s & 0xfff;
		if (!cp || !cp->count || !(cp->starts[off >> 3] & (1u << (off & 7))))
			continue;
		struct dc_entry *e = &dc->e[dc_hash((uint32_t)s)];
		if (e->mode && e->pa == (uint32_t)s) {
			if (s + e->in.len <= pa)
				continue; /* ends before the write */
			e->mode = 0;
		}
		clear_start(dc, (uint32_t)s);
	}
}

void cpu_invalidate_phys(struct cpu *cpu, uint32_t paddr, uint32_t len)
{
	if (!cpu->dcache)
		return;
	for (uint32_t off = 0; off < len; off += 4096) {
		uint32_t n = len - off < 4096 ? len - off : 4096;
		if (dcache_page_has_code(cpu->dcache, paddr + off) ||
		    dcache_page_has_code(cpu->dcache, paddr + off + n - 1))
			dcache_invalidate(cpu->dcache, paddr + off, n);
	}
}

/* Reads the instruction bytes at linear `lin` (physical `pa` for the first
 * page) into buf; returns how many could be read without touching the next
 * page. */
static int gather(struct cpu *cpu, uint32_t pa, uint8_t *buf)
{
	int n = 0x1000 - (int)(pa & 0xfff);
	if (n > 15)
		n = 15;
	for (int i = 0; i < n; i++)
		buf[i] = (uint8_t)phys_read(cpu, pa + i, 1);
	return n;
}

static _Noreturn void decode_fault(struct cpu *cpu, int r)
{
	if (r == DECODE_TOO_LONG)
		cpu_gp0(cpu);
	cpu_ud(cpu);
}

/* True if every offset of the linear page `page` lies within the CS limit,
 * so no instruction that starts and ends in it can cross the limit. */
static bool page_within_cs(const struct cpu *cpu, uint32_t page)
{
	uint32_t lo = page - cpu->seg[SEG_CS].base, hi = lo + 0xfff;
	return lo <= hi && hi <= cpu->seg[SEG_CS].limit;
}

/*
 * The slow side of the fetch. cpu->fetch_page caches the translation of the
 * current code page, and is only set for a page that lies wholly within
 * the CS limit: that is what lets the run loop's fast path skip the limit
 * check. Every other fetch comes here and is checked (#GP(0) when the
 * instruction's last byte is beyond the limit).
 */
const struct insn *dcache_fetch(struct cpu *cpu)
{
	uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
	uint32_t pa;
	if (((lin & ~0xfffu) | 1) == cpu->fetch_page) {
		pa = cpu->fetch_phys | (lin & 0xfff);
	} else {
		pa = mmu_translate(cpu, lin, ACC_FETCH, cpu->user);
		cpu->fetch_phys = pa & ~0xfffu;
		cpu->fetch_page = page_within_cs(cpu, lin & ~0xfffu) ? (lin & ~0xfffu) | 1 : 0;
	}
	struct dcache *dc = cpu->dcache;
	struct dc_entry *e = &dc->e[dc_hash(pa)];
	uint8_t mode = cpu->code32 ? 2 : 1;
	const struct insn *in;
	if (e->pa == pa && e->mode == mode)
		in = &e->in;
	else
		in = dcache_fill(cpu, lin, pa, e, mode);
	if ((uint64_t)cpu->eip + in->len - 1 > cpu->seg[SEG_CS].limit)
		cpu_gp0(cpu);
	return in;
}

const struct insn *dcache_fill(struct cpu *cpu, uint32_t lin, uint32_t pa, struct dc_entry *e, uint8_t mode)
{
	struct dcache *dc = cpu->dcache;

	uint8_t buf[15];
	int n = gather(cpu, pa, buf);
	struct insn tmp;
	int r = cpu_decode(buf, (size_t)n, cpu->code32, &tmp);
	if (r == DECODE_SHORT) {
		/* The instruction continues on the next page: fetch it (this may
		 * #PF) and decode without caching. */
		uint32_t lin2 = (lin & ~0xfffu) + 0x1000;
		uint32_t pa2 = mmu_translate(cpu, lin2, ACC_FETCH, cpu->user);
		for (int i = n; i < 15; i++)
			buf[i] = (uint8_t)phys_read(cpu, pa2 + (uint32_t)(i - n), 1);
		r = cpu_decode(buf, 15, cpu->code32, &cpu->scratch);
		if (r < 0)
			decode_fault(cpu, r);
		if (unlikely(cpu->reference))
			cpu->scratch.fn = cpu_generic_handler(&cpu->scratch);
		cpu->scratch.page_cross = true;
		return &cpu->scratch;
	}
	if (r < 0)
		decode_fault(cpu, r);
	if (unlikely(cpu->reference))
		tmp.fn = cpu_generic_handler(&tmp);
	if (e->mode)
		clear_start(dc, e->pa);
	e->in = tmp;
	e->pa = pa;
	e->mode = mode;
	if (mark_start(dc, pa))
		mmu_protect_code(cpu, pa);
	return &e->in;
}

void cpu_set_reference(struct cpu *cpu, bool on)
{
	cpu->reference = on;
}
