/*
 * guests/lib/rt/mb.c - the multiboot information and the page allocator
 * built on its memory map.
 *
 * The allocator is a bump pointer: the next page is the lowest page-aligned
 * address at or above the previous one that lies wholly inside an available
 * range (below 4 GiB, above the kernel's end) and overlaps none of the
 * loader's structures (info, memory map, command line, modules).
 */
#include "rt.h"
#include "rt_internal.h"

#define MiB 0x100000u
#define KiB 1024u
#define MAX_AVOID 40

/* A half-open physical range [lo, hi). */
struct range {
	uint64_t lo, hi;
};

static uint64_t next_page; /* 0: not started */

uint32_t rt_mb_magic(void)
{
	return rt_mb_magic_value;
}

const struct mb_info *rt_mb_info(void)
{
	if (rt_mb_magic_value != MB_BOOTLOADER_MAGIC)
		return NULL;
	return (const struct mb_info *)rt_mb_info_addr;
}

static uint64_t align_up(uint64_t v)
{
	return (v + RT_PAGE_SIZE - 1) & ~(uint64_t)(RT_PAGE_SIZE - 1);
}

static void add_avoid(struct range *r, int *n, uint32_t addr, uint32_t len)
{
	if (*n < MAX_AVOID && len)
		r[(*n)++] = (struct range){ addr, (uint64_t)addr + len };
}

/* The loader's structures the allocator must not hand out; returns the count. */
static int collect_avoid(const struct mb_info *mb, struct range *r)
{
	int n = 0;

	add_avoid(r, &n, (uint32_t)mb, sizeof *mb);
	if (mb->flags & MB_INFO_CMDLINE)
		add_avoid(r, &n, mb->cmdline, strlen((const char *)mb->cmdline) + 1);
	if (mb->flags & MB_INFO_MEM_MAP)
		add_avoid(r, &n, mb->mmap_addr, mb->mmap_length);
	if (mb->flags & MB_INFO_MODS) {
		const struct mb_module *m = (const struct mb_module *)mb->mods_addr;

		add_avoid(r, &n, mb->mods_addr, mb->mods_count * sizeof *m);
		for (uint32_t i = 0; i < mb->mods_count; i++) {
			add_avoid(r, &n, m[i].mod_start, m[i].mod_end - m[i].mod_start);
			if (m[i].string)
				add_avoid(r, &n, m[i].string, strlen((const char *)m[i].string) + 1);
		}
	}
	return n;
}

/* The lowest page at or above addr inside one available range; 0 if none. */
static uint64_t lowest_available(const struct mb_info *mb, uint64_t addr)
{
	uint64_t best = 0;

	if (!(mb->flags & MB_INFO_MEM_MAP)) {
		uint64_t end = MiB + (uint64_t)mb->mem_upper * KiB;

		return (mb->flags & MB_INFO_MEMORY) && addr + RT_PAGE_SIZE <= end ? addr : 0;
	}
	for (uint32_t off = 0; off < mb->mmap_length;) {
		const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)(mb->mmap_addr + off);
		uint64_t lo = align_up(e->addr > addr ? e->addr : addr);
		uint64_t hi = e->addr + e->len;

		if (hi > 0x100000000ull)
			hi = 0x100000000ull;
		if (e->type == MB_MEMORY_AVAILABLE && lo + RT_PAGE_SIZE <= hi && (!best || lo < best))
			best = lo;
		off += e->size + 4;
	}
	return best;
}

void *rt_page_alloc(void)
{
	const struct mb_info *mb = rt_mb_info();
	struct range avoid[MAX_AVOID];
	int navoid;
	uint64_t p;
	bool moved;

	if (!mb)
		return NULL;
	navoid = collect_avoid(mb, avoid);
	p = next_page ? next_page : align_up((uint32_t)_kernel_end);
	do {
		p = lowest_available(mb, p);
		if (!p)
			return NULL;
		moved = false;
		for (int i = 0; i < navoid; i++)
			if (p < avoid[i].hi && avoid[i].lo < p + RT_PAGE_SIZE) {
				p = align_up(avoid[i].hi);
				moved = true;
			}
	} while (moved);
	next_page = p + RT_PAGE_SIZE;
	return memset((void *)(uint32_t)p, 0, RT_PAGE_SIZE);
}
