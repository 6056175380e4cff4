/*
 * multiboot.c - the Multiboot v1 loader (see multiboot.h, docs/boot.md).
 *
 * Three steps, so that a bad image leaves memory untouched: parse the image
 * into a list of segments (ELF program headers or the a.out kludge's
 * single segment), check where everything would go, then write it all.
 */
#include "multiboot.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define PAGE_MASK (PMEM_PAGE_SIZE - 1)

/* ELF32 (System V ABI, i386 supplement): the fields the loader reads. */
#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELF32_EHDR_SIZE 52u
#define ELF32_PHDR_SIZE 32u
#define ET_REL 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_386 3
#define PT_LOAD 1

enum { E_TYPE = 16, E_MACHINE = 18, E_ENTRY = 24, E_PHOFF = 28, E_PHENTSIZE = 42, E_PHNUM = 44 };
enum { P_TYPE = 0, P_OFFSET = 4, P_VADDR = 8, P_PADDR = 12, P_FILESZ = 16, P_MEMSZ = 20 };

/* Multiboot header fields, from the magic. */
enum { MH_FLAGS = 4, MH_CHECKSUM = 8, MH_HEADER_ADDR = 12, MH_LOAD_ADDR = 16,
       MH_LOAD_END_ADDR = 20, MH_BSS_END_ADDR = 24, MH_ENTRY_ADDR = 28, MH_AOUT_SIZE = 32 };

GQuark boot_error_quark(void)
{
	return g_quark_from_static_string("nestlab-boot-error");
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_MASK) & ~(uint64_t)PAGE_MASK;
}

/* MiB of RAM that hold [0, end). */
static unsigned mib_for(uint64_t end)
{
	return (unsigned)((end + MIB - 1) / MIB);
}

/* {====== placement rules shared with the flat loader ====== */

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

bool boot_check_placement(uint32_t ram_bytes, uint64_t start, uint64_t end, const char *what,
                          GError **error)
{
	if (end > (uint64_t)PMEM_RAM_MAX_MIB * MIB) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_TOO_BIG,
		            "%s ends at 0x%" G_GINT64_MODIFIER "x, beyond the most RAM a machine can "
		            "have (%u MiB); load it lower",
		            what, end, PMEM_RAM_MAX_MIB);
		return false;
	}
	if (end > ram_bytes) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_TOO_BIG,
		            "%s needs %u MiB of RAM (it ends at 0x%" G_GINT64_MODIFIER "x), but the "
		            "machine has %u MiB; give it at least %u MiB (--mem %u)",
		            what, mib_for(end), end, ram_bytes / MIB, mib_for(end), mib_for(end));
		return false;
	}
	if (overlaps(start, end, 0, BOOT_LOW_RESERVED_END)) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_OVERLAP,
		            "%s at 0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER "x overlaps the "
		            "first page (0x0-0x%x: interrupt vectors, BIOS data area, boot GDT); load it "
		            "at 0x%x or above, best at 1 MiB",
		            what, start, end, BOOT_LOW_RESERVED_END, BOOT_LOW_RESERVED_END);
		return false;
	}
	if (overlaps(start, end, BOOT_FIRMWARE_START, BOOT_FIRMWARE_END)) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_OVERLAP,
		            "%s at 0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER "x overlaps the "
		            "firmware area 0x%x-0x%x (EBDA, VGA hole, BIOS tables); keep it below 0x%x "
		            "or load it at 1 MiB (0x%x) or above",
		            what, start, end, BOOT_FIRMWARE_START, BOOT_FIRMWARE_END,
		            BOOT_FIRMWARE_START, BOOT_FIRMWARE_END);
		return false;
	}
	return true;
}

/* }====================================================================== */

/* {====== parsing ====== */

/* A piece of the image: file bytes [offset, offset + filesz) go to paddr,
 * and memsz - filesz zero bytes follow. */
struct segment {
	uint32_t paddr, offset, filesz, memsz;
	int index; /* program header number, for messages */
};

struct image {
	const uint8_t *data;
	size_t size;
	const char *name;
	struct segment *seg;
	int n_seg;
	uint32_t entry;
	uint64_t end; /* one past the highest byte loaded */
};

enum header_state { HDR_NONE, HDR_BAD_CHECKSUM, HDR_OK };

struct header {
	enum header_state state;
	size_t offset; /* of the magic in the file */
	uint32_t flags;
};

/* Finds the first 4-byte aligned magic with a good checksum in the first
 * MB_SEARCH_LIMIT bytes; remembers a magic with a bad one otherwise. */
static struct header find_header(const uint8_t *d, size_t size)
{
	struct header h = { HDR_NONE, 0, 0 };
	size_t limit = MIN(size, (size_t)MB_SEARCH_LIMIT);
	for (size_t i = 0; i + 12 <= limit; i += 4) {
		if (rd32(d + i) != MB_HEADER_MAGIC)
			continue;
		uint32_t flags = rd32(d + i + MH_FLAGS);
		if ((uint32_t)(MB_HEADER_MAGIC + flags + rd32(d + i + MH_CHECKSUM)) == 0)
			return (struct header){ HDR_OK, i, flags };
		if (h.state == HDR_NONE)
			h = (struct header){ HDR_BAD_CHECKSUM, i, flags };
	}
	return h;
}

static bool bad_checksum(const struct image *im, const struct header *h, GError **error)
{
	const uint8_t *p = im->data + h->offset;
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_BAD_HEADER,
	            "the multiboot header of %s (at file offset 0x%zx) has a wrong checksum: "
	            "magic 0x%08x + flags 0x%08x + checksum 0x%08x must add up to 0 (mod 2^32); "
	            "the checksum should be 0x%08x",
	            im->name, h->offset, MB_HEADER_MAGIC, h->flags, rd32(p + MH_CHECKSUM),
	            (uint32_t)-(MB_HEADER_MAGIC + h->flags));
	return false;
}

/* Flags bits 0-15 are requirements; unknown ones must fail the boot. */
static bool check_flags(const struct image *im, const struct header *h, GError **error)
{
	uint32_t known = MB_HDR_PAGE_ALIGN | MB_HDR_MEMORY_INFO | MB_HDR_VIDEO_MODE;
	uint32_t unknown = h->flags & MB_HDR_REQUIRED_MASK & ~known;
	if (!unknown)
		return true;
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_BAD_HEADER,
	            "the multiboot header of %s requires features this loader does not have: "
	            "flags 0x%08x set required bit(s) 0x%04x (only bits 0-2 are defined: page-align "
	            "modules, memory information, video mode)",
	            im->name, h->flags, unknown);
	return false;
}

static bool aout_error(const struct image *im, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool aout_error(const struct image *im, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_BAD_HEADER,
	            "the address fields of the multiboot header of %s (flag bit 16) are "
	            "inconsistent: %s",
	            im->name, why);
	g_free(why);
	return false;
}

/* The a.out kludge: one segment described by the header's address fields. */
static bool parse_aout(struct image *im, const struct header *h, GError **error)
{
	if (h->offset + MH_AOUT_SIZE > im->size)
		return aout_error(im, error, "the file ends inside the header");
	const uint8_t *p = im->data + h->offset;
	uint32_t header_addr = rd32(p + MH_HEADER_ADDR), load = rd32(p + MH_LOAD_ADDR);
	uint32_t load_end = rd32(p + MH_LOAD_END_ADDR), bss_end = rd32(p + MH_BSS_END_ADDR);
	uint32_t entry = rd32(p + MH_ENTRY_ADDR);
	if (header_addr < load)
		return aout_error(im, error, "header_addr 0x%x is below load_addr 0x%x",
		                  header_addr, load);
	if (header_addr - load > h->offset)
		return aout_error(im, error,
		                  "load_addr 0x%x is 0x%x bytes before the header, but the header "
		                  "is only 0x%zx bytes into the file",
		                  load, header_addr - load, h->offset);
	uint32_t offset = (uint32_t)(h->offset - (header_addr - load));
	uint64_t filesz = im->size - offset;
	if (load_end) {
		if (load_end < load)
			return aout_error(im, error, "load_end_addr 0x%x is below load_addr 0x%x",
			                  load_end, load);
		if ((uint64_t)load_end - load > filesz)
			return aout_error(im, error,
			                  "load_addr..load_end_addr (0x%x-0x%x) is 0x%x bytes, but the "
			                  "file has only 0x%" G_GINT64_MODIFIER "x bytes from offset 0x%x "
			                  "(truncated?)",
			                  load, load_end, load_end - load, filesz, offset);
		filesz = load_end - load;
	}
	if ((uint64_t)load + filesz > 0xffffffffu)
		return aout_error(im, error, "the image runs past 4 GiB");
	uint64_t memsz = filesz;
	if (bss_end) {
		if (bss_end < load + filesz)
			return aout_error(im, error, "bss_end_addr 0x%x is below the end of the loaded "
			                  "image 0x%" G_GINT64_MODIFIER "x", bss_end, load + filesz);
		memsz = bss_end - load;
	}
	if (memsz == 0)
		return aout_error(im, error, "the image is empty (load_end_addr = load_addr = 0x%x)",
		                  load);
	if (entry < load || entry >= load + memsz)
		return aout_error(im, error,
		                  "entry_addr 0x%x is outside the image 0x%x-0x%" G_GINT64_MODIFIER "x",
		                  entry, load, load + memsz);
	im->seg = g_new(struct segment, 1);
	im->seg[0] = (struct segment){ load, offset, (uint32_t)filesz, (uint32_t)memsz, 0 };
	im->n_seg = 1;
	im->entry = entry;
	return true;
}

static const char *elf_machine_name(uint16_t m)
{
	switch (m) {
	case 2: return "SPARC";
	case 8: return "MIPS";
	case 20: return "PowerPC";
	case 21: return "64-bit PowerPC";
	case 40: return "ARM";
	case 50: return "IA-64";
	case 62: return "x86-64";
	case 183: return "AArch64 (64-bit ARM)";
	case 243: return "RISC-V";
	default: return NULL;
	}
}

static bool arch_error(const struct image *im, const char *what, GError **error)
{
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_ARCH,
	            "%s is an ELF file for %s, but this machine runs 32-bit i386 kernels; build it "
	            "for i386 (gcc -m32, ld -m elf_i386)",
	            im->name, what);
	return false;
}

/* The ELF identification and header: size, class, byte order, machine, type. */
static bool check_elf_header(const struct image *im, GError **error)
{
	const uint8_t *d = im->data;
	if (im->size < ELF32_EHDR_SIZE) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_ELF,
		            "%s is truncated: it is %zu bytes, shorter than the %u-byte ELF header",
		            im->name, im->size, ELF32_EHDR_SIZE);
		return false;
	}
	uint16_t machine = rd16(d + E_MACHINE);
	const char *mname = elf_machine_name(machine);
	if (d[EI_CLASS] == ELFCLASS64) {
		char *what = g_strdup_printf("%s (64-bit ELF)", mname ? mname : "a 64-bit machine");
		arch_error(im, what, error);
		g_free(what);
		return false;
	}
	if (d[EI_CLASS] != ELFCLASS32 || d[EI_DATA] != ELFDATA2LSB) {
		if (d[EI_DATA] == 2)
			return arch_error(im, "a big-endian machine", error);
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_ELF,
		            "%s is a malformed ELF file: unknown class %u or byte order %u", im->name,
		            d[EI_CLASS], d[EI_DATA]);
		return false;
	}
	if (machine != EM_386) {
		char *what = mname ? g_strdup(mname) : g_strdup_printf("machine type %u", machine);
		arch_error(im, what, error);
		g_free(what);
		return false;
	}
	return true;
}

static bool check_elf_type(const struct image *im, GError **error)
{
	uint16_t type = rd16(im->data + E_TYPE);
	if (type == ET_EXEC)
		return true;
	const char *kind = type == ET_REL ? "a relocatable object file (ET_REL)"
	                   : type == ET_DYN ? "a shared object or PIE (ET_DYN)"
	                                    : "not an executable";
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_ELF,
	            "%s is %s, not an executable kernel; link it with ld -m elf_i386 (no -pie)",
	            im->name, kind);
	return false;
}

static bool elf_error(const struct image *im, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool elf_error(const struct image *im, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_ELF, "%s is a malformed ELF file: %s", im->name,
	            why);
	g_free(why);
	return false;
}

/* One PT_LOAD program header into a segment. */
static bool parse_phdr(struct image *im, const uint8_t *ph, int i, GError **error)
{
	struct segment s = { rd32(ph + P_PADDR), rd32(ph + P_OFFSET), rd32(ph + P_FILESZ),
		             rd32(ph + P_MEMSZ), i };
	if (s.filesz > s.memsz)
		return elf_error(im, error, "segment %d has more file bytes (0x%x) than memory "
		                 "bytes (0x%x)", i, s.filesz, s.memsz);
	if ((uint64_t)s.offset + s.filesz > im->size)
		return elf_error(im, error, "segment %d needs file bytes 0x%x-0x%" G_GINT64_MODIFIER
		                 "x, but the file is only 0x%zx bytes (truncated?)", i, s.offset,
		                 (uint64_t)s.offset + s.filesz, im->size);
	if ((uint64_t)s.paddr + s.memsz > 0x100000000ull)
		return elf_error(im, error, "segment %d (0x%x + 0x%x bytes) runs past 4 GiB", i,
		                 s.paddr, s.memsz);
	if (s.memsz)
		im->seg[im->n_seg++] = s;
	return true;
}

/* GRUB's rule: an entry point inside a segment's virtual range is moved to
 * the same place in its physical range. */
static uint32_t elf_entry(const struct image *im)
{
	uint32_t entry = rd32(im->data + E_ENTRY);
	uint16_t phnum = rd16(im->data + E_PHNUM);
	const uint8_t *ph = im->data + rd32(im->data + E_PHOFF);
	for (int i = 0; i < phnum; i++, ph += ELF32_PHDR_SIZE) {
		uint32_t vaddr = rd32(ph + P_VADDR), memsz = rd32(ph + P_MEMSZ);
		if (rd32(ph + P_TYPE) == PT_LOAD && entry - vaddr < memsz)
			return entry - vaddr + rd32(ph + P_PADDR);
	}
	return entry;
}

static bool parse_elf(struct image *im, GError **error)
{
	if (!check_elf_type(im, error))
		return false;
	const uint8_t *d = im->data;
	uint32_t phoff = rd32(d + E_PHOFF);
	uint16_t phnum = rd16(d + E_PHNUM), phentsize = rd16(d + E_PHENTSIZE);
	if (phnum == 0)
		return elf_error(im, error, "it has no program headers (nothing to load)");
	if (phentsize != ELF32_PHDR_SIZE)
		return elf_error(im, error, "program headers are %u bytes, not %u", phentsize,
		                 ELF32_PHDR_SIZE);
	if ((uint64_t)phoff + (uint64_t)phnum * ELF32_PHDR_SIZE > im->size)
		return elf_error(im, error, "the %u program headers at offset 0x%x run past the end "
		                 "of the file (0x%zx bytes; truncated?)", phnum, phoff, im->size);
	im->seg = g_new(struct segment, phnum);
	for (int i = 0; i < phnum; i++) {
		const uint8_t *ph = d + phoff + (size_t)i * ELF32_PHDR_SIZE;
		if (rd32(ph + P_TYPE) == PT_LOAD && !parse_phdr(im, ph, i, error))
			return false;
	}
	if (im->n_seg == 0)
		return elf_error(im, error, "it has no loadable (PT_LOAD) segment with any bytes");
	im->entry = elf_entry(im);
	for (int i = 0; i < im->n_seg; i++) {
		const struct segment *s = &im->seg[i];
		if (im->entry - s->paddr < s->memsz)
			return true;
	}
	return elf_error(im, error, "the entry point 0x%x is outside every loadable segment",
	                 im->entry);
}

static bool is_elf(const struct image *im)
{
	return im->size >= 4 && memcmp(im->data, "\x7f" "ELF", 4) == 0;
}

/* Decides what the image is and parses it into segments and an entry. */
static bool parse_image(struct image *im, GError **error)
{
	if (im->size == 0) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_NOT_KERNEL, "%s is empty", im->name);
		return false;
	}
	struct header h = find_header(im->data, im->size);
	if (h.state == HDR_OK && (h.flags & MB_HDR_AOUT_KLUDGE))
		return check_flags(im, &h, error) && parse_aout(im, &h, error);
	if (is_elf(im)) {
		if (!check_elf_header(im, error))
			return false;
		if (h.state == HDR_NONE) {
			g_set_error(error, BOOT_ERROR, BOOT_ERROR_NO_HEADER,
			            "%s is an i386 ELF file without a multiboot header (magic 0x%08x, "
			            "4-byte aligned, in the first %u bytes); add one to the start of "
			            "its text",
			            im->name, MB_HEADER_MAGIC, MB_SEARCH_LIMIT);
			return false;
		}
		if (h.state == HDR_BAD_CHECKSUM)
			return bad_checksum(im, &h, error);
		return check_flags(im, &h, error) && parse_elf(im, error);
	}
	if (h.state == HDR_BAD_CHECKSUM)
		return bad_checksum(im, &h, error);
	if (h.state == HDR_NONE) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_NOT_KERNEL,
		            "%s is neither an ELF file nor a multiboot image (no header with magic "
		            "0x%08x in its first %u bytes)",
		            im->name, MB_HEADER_MAGIC, MB_SEARCH_LIMIT);
		return false;
	}
	g_set_error(error, BOOT_ERROR, BOOT_ERROR_BAD_HEADER,
	            "%s is not an ELF file, and its multiboot header (flags 0x%08x) does not "
	            "give load addresses (flag bit 16), so there is no way to know where it goes",
	            im->name, h.flags);
	return false;
}

/* }====================================================================== */

/* {====== placement ====== */

static int cmp_paddr(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;
	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

/* Every segment in RAM and out of the firmware's memory, none over
 * another; sets im->end. */
static bool check_segments(struct image *im, uint32_t ram, GError **error)
{
	char *what = g_strdup_printf("the kernel %s", im->name);
	bool ok = true;
	qsort(im->seg, (size_t)im->n_seg, sizeof *im->seg, cmp_paddr);
	im->end = 0;
	for (int i = 0; ok && i < im->n_seg; i++) {
		const struct segment *s = &im->seg[i];
		uint64_t end = (uint64_t)s->paddr + s->memsz;
		im->end = MAX(im->end, end);
		ok = boot_check_placement(ram, s->paddr, end, what, error);
		if (ok && i > 0 && im->seg[i - 1].paddr + (uint64_t)im->seg[i - 1].memsz > s->paddr) {
			const struct segment *p = &im->seg[i - 1];
			g_set_error(error, BOOT_ERROR, BOOT_ERROR_OVERLAP,
			            "segments %d (0x%x-0x%" G_GINT64_MODIFIER "x) and %d (0x%x-0x%"
			            G_GINT64_MODIFIER "x) of the kernel %s overlap each other",
			            p->index, p->paddr, (uint64_t)p->paddr + p->memsz, s->index, s->paddr,
			            end, im->name);
			ok = false;
		}
	}
	g_free(what);
	return ok;
}

/* Where each module goes: page-aligned, after the kernel, above 1 MiB. */
static bool place_modules(const struct image *im, const struct boot_module *mods, int n,
                          uint32_t ram, uint32_t *start, GError **error)
{
	uint64_t at = page_up(MAX(im->end, (uint64_t)BOOT_FIRMWARE_END));
	for (int i = 0; i < n; i++) {
		start[i] = (uint32_t)at;
		uint64_t end = at + g_bytes_get_size(mods[i].data);
		if (end > ram) {
			g_set_error(error, BOOT_ERROR, BOOT_ERROR_TOO_BIG,
			            "the kernel %s and its modules need %u MiB of RAM (module %s ends at "
			            "0x%" G_GINT64_MODIFIER "x), but the machine has %u MiB; give it at "
			            "least %u MiB (--mem %u)",
			            im->name, mib_for(end),
			            mods[i].path_for_messages ? mods[i].path_for_messages : "?", end,
			            ram / MIB, mib_for(end), mib_for(end));
			return false;
		}
		at = page_up(end);
	}
	return true;
}

/* }====================================================================== */

/* {====== the boot information ====== */

/* The information area, built in host memory: byte i goes to base + i. */
struct info {
	GByteArray *b;
	uint32_t base;
};

static uint32_t info_add(struct info *in, const void *p, size_t n, size_t align)
{
	while (in->b->len % align)
		g_byte_array_append(in->b, (const guint8 *)"", 1);
	uint32_t addr = in->base + in->b->len;
	g_byte_array_append(in->b, p, (guint)n);
	return addr;
}

static uint32_t info_add_string(struct info *in, const char *s)
{
	return info_add(in, s, strlen(s) + 1, 1);
}

static void info_put32(struct info *in, uint32_t addr, uint32_t v)
{
	wr32(in->b->data + (addr - in->base), v);
}

static void mmap_entry(uint8_t *e, uint64_t base, uint64_t len, uint32_t type)
{
	wr32(e, MB_MMAP_ENTRY_SIZE - 4);
	wr32(e + 4, (uint32_t)base);
	wr32(e + 8, (uint32_t)(base >> 32));
	wr32(e + 12, (uint32_t)len);
	wr32(e + 16, (uint32_t)(len >> 32));
	wr32(e + 20, type);
}

/* The BIOS (e820) map of this board, as SeaBIOS reports a PC's low memory. */
static void add_mmap(struct info *in, uint32_t info, uint32_t ram)
{
	uint8_t m[4][MB_MMAP_ENTRY_SIZE];
	int n = 0;
	mmap_entry(m[n++], 0, BOOT_FIRMWARE_START, MB_MMAP_AVAILABLE);
	mmap_entry(m[n++], BOOT_FIRMWARE_START, PMEM_VGA_HOLE_START - BOOT_FIRMWARE_START,
	           MB_MMAP_RESERVED);
	mmap_entry(m[n++], 0xf0000, BOOT_FIRMWARE_END - 0xf0000, MB_MMAP_RESERVED);
	if (ram > BOOT_FIRMWARE_END)
		mmap_entry(m[n++], BOOT_FIRMWARE_END, ram - BOOT_FIRMWARE_END, MB_MMAP_AVAILABLE);
	uint32_t addr = info_add(in, m, (size_t)n * MB_MMAP_ENTRY_SIZE, 8);
	info_put32(in, info + MBI_MMAP_ADDR, addr);
	info_put32(in, info + MBI_MMAP_LENGTH, (uint32_t)n * MB_MMAP_ENTRY_SIZE);
}

static char *module_string(const struct boot_module *m)
{
	const char *path = m->path_for_messages ? m->path_for_messages : "";
	const char *args = m->args ? m->args : "";
	if (!*path || !*args)
		return g_strconcat(path, args, NULL);
	return g_strconcat(path, " ", args, NULL);
}

static void add_modules(struct info *in, uint32_t info, const struct boot_module *mods, int n,
                        const uint32_t *start)
{
	uint8_t *list = g_malloc0((size_t)n * MB_MODULE_SIZE + 1);
	uint32_t addr = info_add(in, list, (size_t)n * MB_MODULE_SIZE, 16);
	g_free(list);
	info_put32(in, info + MBI_MODS_COUNT, (uint32_t)n);
	info_put32(in, info + MBI_MODS_ADDR, addr);
	for (int i = 0; i < n; i++) {
		char *s = module_string(&mods[i]);
		uint32_t str = info_add_string(in, s);
		g_free(s);
		uint32_t e = addr + (uint32_t)i * MB_MODULE_SIZE;
		info_put32(in, e, start[i]);
		info_put32(in, e + 4, start[i] + (uint32_t)g_bytes_get_size(mods[i].data));
		info_put32(in, e + 8, str);
	}
}

/* Builds the whole information area (struct, memory map, modules, strings). */
static void build_info(struct info *in, uint32_t ram, const char *kernel_name,
                       const char *cmdline, const struct boot_module *mods, int n_mods,
                       const uint32_t *mod_start)
{
	uint8_t zero[MBI_SIZE] = { 0 };
	uint32_t info = info_add(in, zero, sizeof zero, 1);
	info_put32(in, info + MBI_FLAGS, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS |
	                                         MB_INFO_MEM_MAP | MB_INFO_LOADER_NAME);
	info_put32(in, info + MBI_MEM_LOWER, BOOT_FIRMWARE_START / KIB);
	info_put32(in, info + MBI_MEM_UPPER, (ram - BOOT_FIRMWARE_END) / KIB);
	add_mmap(in, info, ram);
	add_modules(in, info, mods, n_mods, mod_start);
	char *cl = cmdline && *cmdline ? g_strconcat(kernel_name, " ", cmdline, NULL)
	                               : g_strdup(kernel_name);
	info_put32(in, info + MBI_CMDLINE, info_add_string(in, cl));
	g_free(cl);
	info_put32(in, info + MBI_LOADER_NAME, info_add_string(in, MB_LOADER_NAME));
}

/* Whether the information at `base` (len bytes) is clear of every kernel
 * segment and of the firmware area. */
static bool info_fits_low(const struct image *im, uint32_t base, uint32_t len)
{
	uint64_t end = (uint64_t)base + len;
	if (end > MB_INFO_LIMIT)
		return false;
	for (int i = 0; i < im->n_seg; i++)
		if (overlaps(im->seg[i].paddr, (uint64_t)im->seg[i].paddr + im->seg[i].memsz, base, end))
			return false;
	return true;
}

/*
 * Builds the information area where no kernel segment or module lies: at
 * MB_INFO_ADDR (0x9000) when it fits there below the EBDA, else (a kernel
 * linked low, or a long command line) on the first page after the kernel
 * and its modules, as QEMU puts its command lines and module list after
 * the kernel. Refused only if it would end beyond RAM.
 */
static bool place_info(const struct image *im, struct info *in, uint32_t ram, const char *kernel_name,
                       const char *cmdline, const struct boot_module *mods, int n_mods,
                       const uint32_t *mod_start, GError **error)
{
	in->base = MB_INFO_ADDR;
	build_info(in, ram, kernel_name, cmdline, mods, n_mods, mod_start);
	if (info_fits_low(im, in->base, in->b->len))
		return true;
	uint64_t top = MAX(im->end, (uint64_t)BOOT_FIRMWARE_END);
	for (int i = 0; i < n_mods; i++)
		top = MAX(top, (uint64_t)mod_start[i] + g_bytes_get_size(mods[i].data));
	top = page_up(top);
	g_byte_array_set_size(in->b, 0);
	in->base = (uint32_t)MIN(top, (uint64_t)UINT32_MAX);
	build_info(in, ram, kernel_name, cmdline, mods, n_mods, mod_start);
	uint64_t end = top + in->b->len;
	if (end > ram) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_TOO_BIG,
		            "the boot information for %s (command line, module names: %u bytes) does "
		            "not fit below the EBDA beside the kernel, and after the kernel and its "
		            "modules it would end at 0x%" G_GINT64_MODIFIER "x, beyond the end of RAM "
		            "(%u MiB); give it at least %u MiB (--mem %u) or shorten the command line",
		            im->name, in->b->len, end, ram / MIB, mib_for(end), mib_for(end));
		return false;
	}
	return true;
}

/* }====================================================================== */

/* {====== writing ====== */

/* Zeroes [addr, addr + len) in the pages already in use; untouched RAM
 * pages read as zero anyway, and a large BSS should not cost host memory. */
static void zero_range(struct pmem *pm, uint32_t addr, uint32_t len)
{
	static const uint8_t zeros[PMEM_PAGE_SIZE];
	uint64_t a = addr, end = (uint64_t)addr + len;
	while (a < end) {
		uint64_t next = MIN(end, (a & ~(uint64_t)PAGE_MASK) + PMEM_PAGE_SIZE);
		if (pmem_page_if_present(pm, (uint32_t)a & ~PAGE_MASK))
			pmem_store(pm, (uint32_t)a, zeros, (size_t)(next - a));
		a = next;
	}
}

static void write_segments(struct pmem *pm, const struct image *im)
{
	for (int i = 0; i < im->n_seg; i++) {
		const struct segment *s = &im->seg[i];
		pmem_store(pm, s->paddr, im->data + s->offset, s->filesz);
		zero_range(pm, s->paddr + s->filesz, s->memsz - s->filesz);
	}
}

/* }====================================================================== */

bool boot_multiboot_load(struct pmem *pm, GBytes *kernel, const char *kernel_name,
                         const struct boot_module *mods, int n_mods, const char *cmdline,
                         struct boot_entry *out, GError **error)
{
	uint32_t ram = pmem_ram_size(pm);
	gsize size;
	struct image im = { .name = kernel_name };
	im.data = g_bytes_get_data(kernel, &size);
	im.size = size;
	uint32_t *mod_start = g_new0(uint32_t, (gsize)MAX(n_mods, 1));
	struct info in = { g_byte_array_new(), MB_INFO_ADDR };
	bool ok = parse_image(&im, error);
	if (ok && ram < BOOT_FIRMWARE_END) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_TOO_BIG,
		            "booting %s needs at least 1 MiB of RAM, but the machine has %u KiB "
		            "(--mem 1 or more)", kernel_name, ram / KIB);
		ok = false;
	}
	ok = ok && check_segments(&im, ram, error) &&
	     place_modules(&im, mods, n_mods, ram, mod_start, error);
	ok = ok && place_info(&im, &in, ram, kernel_name, cmdline, mods, n_mods, mod_start, error);
	if (ok) {
		write_segments(pm, &im);
		for (int i = 0; i < n_mods; i++)
			pmem_store(pm, mod_start[i], g_bytes_get_data(mods[i].data, NULL),
			           g_bytes_get_size(mods[i].data));
		pmem_store(pm, in.base, in.b->data, in.b->len);
		*out = (struct boot_entry){ im.entry, MB_BOOTLOADER_MAGIC, in.base };
	}
	g_byte_array_unref(in.b);
	g_free(mod_start);
	g_free(im.seg);
	return ok;
}
