/*
 * physmem.c - RAM pages on demand and the ROM mappings (see physmem.h).
 */
#include "physmem.h"

#include <string.h>

#define ROM_HIGH_END 0x100000000ull /* 4 GiB */

struct pmem {
	uint32_t ram_size;
	uint32_t ram_pages;
	uint8_t **page;  /* ram_pages entries, NULL until touched */
	size_t used;
	uint8_t *rom;    /* page-aligned copy of the image, or NULL */
	uint32_t rom_size;
	uint32_t rom_high; /* 4 GiB - rom_size */
	uint32_t rom_low;  /* 1 MiB - rom_size */
	struct mmio {
		uint32_t base, size;
		pmem_mmio_read_fn rd;
		pmem_mmio_write_fn wr;
		void *opaque;
	} mmio[PMEM_MMIO_MAX];
	int n_mmio;
	struct pmem *parent; /* a window: RAM is the parent's, from parent_base */
	uint32_t parent_base;
	uint64_t *dirty;     /* PMEM_DIRTY_WORDS; NULL in a window */
};

static inline void set_dirty(struct pmem *pm, uint32_t paddr)
{
	if (pm->parent) {
		paddr += pm->parent_base;
		pm = pm->parent;
	}
	pm->dirty[paddr >> 18] |= 1ull << ((paddr >> 12) & 63);
}

uint64_t *pmem_dirty_map(struct pmem *pm)
{
	return pm->parent ? pm->parent->dirty : pm->dirty;
}

void pmem_mark_dirty(struct pmem *pm, uint32_t paddr, uint32_t len)
{
	if (!len)
		return;
	uint32_t last = paddr + len - 1;
	for (uint32_t p = paddr >> 12; p <= last >> 12; p++)
		set_dirty(pm, p << 12);
}

bool pmem_put_page(struct pmem *pm, uint32_t n, const uint8_t *data)
{
	g_assert(!pm->parent);
	if (n >= pm->ram_pages)
		return false;
	if (!data) {
		if (pm->page[n])
			memset(pm->page[n], 0, PMEM_PAGE_SIZE);
		return true;
	}
	if (!pm->page[n]) {
		pm->page[n] = g_malloc(PMEM_PAGE_SIZE);
		pm->used++;
	}
	memcpy(pm->page[n], data, PMEM_PAGE_SIZE);
	return true;
}

struct pmem *pmem_new(uint32_t ram_bytes)
{
	g_assert(ram_bytes % PMEM_PAGE_SIZE == 0);
	g_assert(ram_bytes / (1024u * 1024u) <= PMEM_RAM_MAX_MIB);
	struct pmem *pm = g_new0(struct pmem, 1);
	pm->ram_size = ram_bytes;
	pm->ram_pages = ram_bytes >> PMEM_PAGE_SHIFT;
	pm->page = g_new0(uint8_t *, pm->ram_pages ? pm->ram_pages : 1);
	pm->dirty = g_new0(uint64_t, PMEM_DIRTY_WORDS);
	return pm;
}

void pmem_free(struct pmem *pm)
{
	if (!pm)
		return;
	for (uint32_t i = 0; i < pm->ram_pages && !pm->parent; i++)
		g_free(pm->page[i]);
	g_free(pm->page);
	g_free(pm->rom);
	g_free(pm->dirty);
	g_free(pm);
}

void pmem_map_rom(struct pmem *pm, GBytes *rom)
{
	gsize size;
	const void *data = g_bytes_get_data(rom, &size);
	g_assert(size >= PMEM_PAGE_SIZE && size <= PMEM_ROM_LOW_END && size % PMEM_PAGE_SIZE == 0);
	g_free(pm->rom);
	pm->rom = g_malloc(size);
	memcpy(pm->rom, data, size);
	pm->rom_size = (uint32_t)size;
	pm->rom_high = (uint32_t)(ROM_HIGH_END - size);
	pm->rom_low = PMEM_ROM_LOW_END - (uint32_t)size;
}

/* The ROM byte for `paddr`, or NULL if no ROM mapping covers it. */
static uint8_t *rom_at(struct pmem *pm, uint32_t paddr)
{
	if (!pm->rom)
		return NULL;
	if (paddr >= pm->rom_high)
		return pm->rom + (paddr - pm->rom_high);
	if (paddr >= pm->rom_low && paddr < PMEM_ROM_LOW_END)
		return pm->rom + (paddr - pm->rom_low);
	return NULL;
}

static uint8_t *ram_page(struct pmem *pm, uint32_t paddr)
{
	uint32_t n = paddr >> PMEM_PAGE_SHIFT;
	if (n >= pm->ram_pages)
		return NULL;
	if (paddr >= PMEM_VGA_HOLE_START && paddr < PMEM_VGA_TEXT_START)
		return NULL;
	if (pm->parent) {
		uint32_t pa = pm->parent_base + (paddr & ~(PMEM_PAGE_SIZE - 1));
		uint32_t pn = pa >> PMEM_PAGE_SHIFT;
		if (G_UNLIKELY(!pm->parent->page[pn])) {
			pm->parent->page[pn] = g_malloc0(PMEM_PAGE_SIZE);
			pm->parent->used++;
		}
		return pm->parent->page[pn];
	}
	if (G_UNLIKELY(!pm->page[n])) {
		pm->page[n] = g_malloc0(PMEM_PAGE_SIZE);
		pm->used++;
	}
	return pm->page[n];
}

uint8_t *pmem_page(struct pmem *pm, uint32_t paddr, bool *writable)
{
	paddr &= ~(PMEM_PAGE_SIZE - 1);
	uint8_t *p = rom_at(pm, paddr);
	if (p) {
		*writable = false;
		return p;
	}
	*writable = true;
	return ram_page(pm, paddr);
}

const uint8_t *pmem_page_if_present(const struct pmem *pm, uint32_t paddr)
{
	uint32_t n = paddr >> PMEM_PAGE_SHIFT;
	if (pm->parent)
		return n < pm->ram_pages ? pmem_page_if_present(pm->parent, pm->parent_base + paddr) : NULL;
	return n < pm->ram_pages ? pm->page[n] : NULL;
}

/* The host byte for `paddr`, or NULL where nothing is mapped. */
static uint8_t *byte_at(struct pmem *pm, uint32_t paddr, bool *writable)
{
	uint8_t *p = pmem_page(pm, paddr, writable);
	return p ? p + (paddr & (PMEM_PAGE_SIZE - 1)) : NULL;
}

bool pmem_map_mmio(struct pmem *pm, uint32_t base, uint32_t size, pmem_mmio_read_fn rd,
                   pmem_mmio_write_fn wr, void *opaque)
{
	uint64_t end = (uint64_t)base + size;
	if (size == 0 || base % PMEM_PAGE_SIZE || size % PMEM_PAGE_SIZE || end > ROM_HIGH_END)
		return false;
	if (base < pm->ram_size || pm->n_mmio == PMEM_MMIO_MAX)
		return false;
	if (pm->rom && end > pm->rom_high)
		return false;
	for (int i = 0; i < pm->n_mmio; i++) {
		const struct mmio *r = &pm->mmio[i];
		if (base < (uint64_t)r->base + r->size && r->base < end)
			return false;
	}
	pm->mmio[pm->n_mmio++] = (struct mmio){ base, size, rd, wr, opaque };
	return true;
}

/* The MMIO range that holds all `size` bytes at `paddr`, or NULL. */
static const struct mmio *mmio_at(const struct pmem *pm, uint32_t paddr, int size)
{
	for (int i = 0; i < pm->n_mmio; i++) {
		const struct mmio *r = &pm->mmio[i];
		if (paddr - r->base < r->size && paddr - r->base + (uint32_t)size <= r->size)
			return r;
	}
	return NULL;
}

uint32_t pmem_read(struct pmem *pm, uint32_t paddr, int size)
{
	if (G_UNLIKELY(pm->n_mmio) && paddr >= pm->ram_size) {
		const struct mmio *r = mmio_at(pm, paddr, size);
		if (r)
			return r->rd ? r->rd(r->opaque, paddr - r->base, size) : 0xffffffffu >> (32 - 8 * size);
		if (size > 1) {
			uint32_t v = 0;
			for (int i = 0; i < size; i++)
				v |= pmem_read(pm, paddr + (uint32_t)i, 1) << (8 * i);
			return v;
		}
	}
	uint32_t v = 0;
	for (int i = 0; i < size; i++) {
		bool w;
		const uint8_t *p = byte_at(pm, paddr + (uint32_t)i, &w);
		v |= (uint32_t)(p ? *p : 0xff) << (8 * i);
	}
	return v;
}

void pmem_write(struct pmem *pm, uint32_t paddr, uint32_t val, int size)
{
	if (G_UNLIKELY(pm->n_mmio) && paddr >= pm->ram_size) {
		const struct mmio *r = mmio_at(pm, paddr, size);
		if (r) {
			if (r->wr)
				r->wr(r->opaque, paddr - r->base, val, size);
			return;
		}
		if (size > 1) {
			for (int i = 0; i < size; i++)
				pmem_write(pm, paddr + (uint32_t)i, (val >> (8 * i)) & 0xff, 1);
			return;
		}
	}
	for (int i = 0; i < size; i++) {
		bool w;
		uint8_t *p = byte_at(pm, paddr + (uint32_t)i, &w);
		if (p && w) {
			*p = (uint8_t)(val >> (8 * i));
			set_dirty(pm, paddr + (uint32_t)i);
		}
	}
}

void pmem_store(struct pmem *pm, uint32_t paddr, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	while (len) {
		uint32_t off = paddr & (PMEM_PAGE_SIZE - 1);
		size_t n = MIN(len, PMEM_PAGE_SIZE - off);
		bool w;
		uint8_t *p = pmem_page(pm, paddr, &w); /* RAM, ROM or NULL */
		if (p && w) {
			memcpy(p + off, src, n);
			set_dirty(pm, paddr);
		} else {
			for (size_t i = 0; i < n; i++)
				pmem_write(pm, paddr + (uint32_t)i, src[i], 1);
		}
		src += n;
		paddr += (uint32_t)n;
		len -= n;
	}
}

void pmem_load(struct pmem *pm, uint32_t paddr, void *buf, size_t len)
{
	uint8_t *dst = buf;
	for (size_t i = 0; i < len; i++)
		dst[i] = (uint8_t)pmem_read(pm, paddr + (uint32_t)i, 1);
}

uint32_t pmem_reserve(struct pmem *pm, uint32_t bytes)
{
	g_assert(bytes % PMEM_PAGE_SIZE == 0);
	uint32_t base = pm->ram_pages << PMEM_PAGE_SHIFT;
	uint32_t pages = pm->ram_pages + (bytes >> PMEM_PAGE_SHIFT);
	g_assert(((uint64_t)pages << PMEM_PAGE_SHIFT) <= (uint64_t)PMEM_RAM_MAX_MIB << 20);
	pm->page = g_renew(uint8_t *, pm->page, pages);
	memset(pm->page + pm->ram_pages, 0, (pages - pm->ram_pages) * sizeof *pm->page);
	pm->ram_pages = pages;
	return base;
}

struct pmem *pmem_new_window(struct pmem *parent, uint32_t base, uint32_t bytes)
{
	g_assert(bytes % PMEM_PAGE_SIZE == 0 && base % PMEM_PAGE_SIZE == 0);
	g_assert(((uint64_t)base + bytes) >> PMEM_PAGE_SHIFT <= parent->ram_pages);
	struct pmem *pm = g_new0(struct pmem, 1);
	pm->ram_size = bytes;
	pm->ram_pages = bytes >> PMEM_PAGE_SHIFT;
	pm->parent = parent;
	pm->parent_base = base;
	return pm;
}

void pmem_discard(struct pmem *pm, uint32_t base, uint32_t bytes)
{
	g_assert(!pm->parent);
	for (uint32_t a = base; a < base + bytes && (a >> PMEM_PAGE_SHIFT) < pm->ram_pages;
	     a += PMEM_PAGE_SIZE) {
		uint32_t n = a >> PMEM_PAGE_SHIFT;
		if (pm->page[n]) {
			g_free(pm->page[n]);
			pm->page[n] = NULL;
			pm->used--;
			set_dirty(pm, a);
		}
	}
}

uint32_t pmem_ram_size(const struct pmem *pm)
{
	return pm->ram_size;
}

uint32_t pmem_total_size(const struct pmem *pm)
{
	return pm->ram_pages << PMEM_PAGE_SHIFT;
}

size_t pmem_pages_used(const struct pmem *pm)
{
	return pm->used;
}
