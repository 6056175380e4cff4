/*
 * test-multiboot.c - the Multiboot v1 loader: ELF and a.out-kludge images
 * built in memory, the information structure, memory map and modules it
 * writes, every way an image can be refused (each with a message that
 * names the problem), and the example kernel of the multiboot package.
 */
#include <glib.h>
#include <string.h>

#include "multiboot.h"
#include "nestlab.h"
#include "physmem.h"

#define MIB (1024u * 1024u)
#define KNAME "k.elf"
#define EXAMPLE_KERNEL "/usr/lib/multiboot/examples/kernel"

/* {====== building images ====== */

struct seg_spec {
	uint32_t vaddr, paddr, filesz, memsz;
	uint32_t type; /* 0: PT_LOAD */
};

struct elf_spec {
	uint8_t class, data;
	uint16_t machine, type, phentsize;
	uint32_t entry;
	int n_seg;
	struct seg_spec seg[4];
	bool no_header, bad_sum;
	uint32_t mb_flags;
	uint32_t header_off; /* file offset of the multiboot header; 0: segment 0's start */
	uint32_t aout[5];    /* header_addr, load_addr, load_end, bss_end, entry (flag 16) */
	size_t truncate;     /* cut the file to this many bytes; 0: no */
};

#define SEG_FILE_OFF(i) (0x1000u * (1u + 4u * (unsigned)(i))) /* 16 KiB apart */

static void put16(GByteArray *b, size_t off, uint16_t v)
{
	b->data[off] = (uint8_t)v;
	b->data[off + 1] = (uint8_t)(v >> 8);
}

static void put32(GByteArray *b, size_t off, uint32_t v)
{
	put16(b, off, (uint16_t)v);
	put16(b, off + 2, (uint16_t)(v >> 16));
}

/* The byte every test image holds at file offset `off`. */
static uint8_t pattern(size_t off)
{
	return (uint8_t)(off * 13 + 5);
}

static GByteArray *sized(size_t n)
{
	GByteArray *b = g_byte_array_sized_new((guint)n);
	g_byte_array_set_size(b, (guint)n);
	for (size_t i = 0; i < n; i++)
		b->data[i] = pattern(i);
	return b;
}

static void put_mb_header(GByteArray *b, const struct elf_spec *s)
{
	uint32_t off = s->header_off ? s->header_off : SEG_FILE_OFF(0);
	put32(b, off, MB_HEADER_MAGIC);
	put32(b, off + 4, s->mb_flags);
	put32(b, off + 8, -(MB_HEADER_MAGIC + s->mb_flags) + (s->bad_sum ? 1 : 0));
	if (s->mb_flags & MB_HDR_AOUT_KLUDGE)
		for (int i = 0; i < 5; i++)
			put32(b, off + 12 + 4 * (size_t)i, s->aout[i]);
}

/* An ELF32 file: header, program headers, each segment's bytes at
 * SEG_FILE_OFF(i), and a multiboot header. */
static GBytes *make_elf(const struct elf_spec *s)
{
	size_t size = SEG_FILE_OFF(s->n_seg);
	GByteArray *b = sized(MAX(size, (size_t)SEG_FILE_OFF(1)));
	memset(b->data, 0, 52 + 32 * (size_t)s->n_seg);
	memcpy(b->data, "\x7f" "ELF", 4);
	b->data[4] = s->class ? s->class : 1;
	b->data[5] = s->data ? s->data : 1;
	b->data[6] = 1;
	put16(b, 16, s->type ? s->type : 2);
	put16(b, 18, s->machine ? s->machine : 3);
	put32(b, 20, 1);
	put32(b, 24, s->entry);
	put32(b, 28, 52);
	put16(b, 40, 52);
	put16(b, 42, s->phentsize ? s->phentsize : 32);
	put16(b, 44, (uint16_t)s->n_seg);
	for (int i = 0; i < s->n_seg; i++) {
		size_t ph = 52 + 32 * (size_t)i;
		const struct seg_spec *g = &s->seg[i];
		put32(b, ph, g->type ? g->type : 1);
		put32(b, ph + 4, SEG_FILE_OFF(i));
		put32(b, ph + 8, g->vaddr);
		put32(b, ph + 12, g->paddr);
		put32(b, ph + 16, g->filesz);
		put32(b, ph + 20, g->memsz);
		put32(b, ph + 24, 7);
		put32(b, ph + 28, 0x1000);
	}
	if (!s->no_header)
		put_mb_header(b, s);
	if (s->truncate)
		g_byte_array_set_size(b, (guint)s->truncate);
	return g_byte_array_free_to_bytes(b);
}

/* One segment at 1 MiB: 0x200 file bytes, BSS up to 0x1234. */
static struct elf_spec default_spec(void)
{
	return (struct elf_spec){
		.entry = 0x10000c,
		.n_seg = 1,
		.seg = { { 0x100000, 0x100000, 0x200, 0x1234, 0 } },
		.mb_flags = MB_HDR_PAGE_ALIGN | MB_HDR_MEMORY_INFO,
	};
}

/* }====================================================================== */

/* {====== reading memory ====== */

static uint32_t rd32(struct pmem *pm, uint32_t a)
{
	return pmem_read(pm, a, 4);
}

static char *rdstr(struct pmem *pm, uint32_t a)
{
	GString *s = g_string_new(NULL);
	for (uint8_t c; (c = (uint8_t)pmem_read(pm, a, 1)) != 0 && s->len < 4096; a++)
		g_string_append_c(s, (char)c);
	return g_string_free(s, FALSE);
}

/* True if [paddr, paddr + n) holds file bytes [off, off + n) of `img`. */
static bool holds(struct pmem *pm, uint32_t paddr, GBytes *img, size_t off, size_t n)
{
	uint8_t *buf = g_malloc(n);
	pmem_load(pm, paddr, buf, n);
	bool same = memcmp(buf, (const uint8_t *)g_bytes_get_data(img, NULL) + off, n) == 0;
	g_free(buf);
	return same;
}

static bool all_zero(struct pmem *pm, uint32_t paddr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pmem_read(pm, paddr + (uint32_t)i, 1) != 0)
			return false;
	return true;
}

/* }====================================================================== */

/* {====== loading ====== */

static bool load(struct pmem *pm, GBytes *k, const struct boot_module *mods, int n,
                 const char *cmdline, struct boot_entry *e, GError **error)
{
	return boot_multiboot_load(pm, k, KNAME, mods, n, cmdline, e, error);
}

static void test_elf_loads_segments(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	struct elf_spec s = default_spec();
	GBytes *k = make_elf(&s);
	uint8_t junk[0x1100];
	memset(junk, 0xaa, sizeof junk);
	pmem_store(pm, 0x100200, junk, sizeof junk); /* BSS must come back zeroed */
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, 0x10000c);
	g_assert_cmphex(e.eax, ==, MB_BOOTLOADER_MAGIC);
	g_assert_cmphex(e.ebx, ==, MB_INFO_ADDR);
	g_assert_true(holds(pm, 0x100000, k, SEG_FILE_OFF(0), 0x200));
	g_assert_true(all_zero(pm, 0x100200, 0x1034));
	g_assert_cmphex(pmem_read(pm, 0x101234, 1), ==, 0xaa); /* just past the BSS */
	g_bytes_unref(k);
	pmem_free(pm);
}

/* A higher-half kernel: loaded at p_paddr, entered at the physical
 * address of its virtual entry point (GRUB's rule). */
static void test_elf_paddr_and_entry(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	struct elf_spec s = default_spec();
	s.n_seg = 3;
	s.seg[0] = (struct seg_spec){ 0xc0100000, 0x100000, 0x800, 0x800, 0 };
	s.seg[1] = (struct seg_spec){ 0, 0, 0x10, 0x10, 4 }; /* PT_NOTE: not loaded */
	s.seg[2] = (struct seg_spec){ 0xc0200000, 0x200000, 0x100, 0x3000, 0 };
	s.entry = 0xc0100010;
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, 0x100010);
	g_assert_true(holds(pm, 0x100000, k, SEG_FILE_OFF(0), 0x800));
	g_assert_true(holds(pm, 0x200000, k, SEG_FILE_OFF(2), 0x100));
	g_assert_true(all_zero(pm, 0x200100, 0x2f00));
	g_assert_cmphex(rd32(pm, 0), ==, 0); /* nothing of the note went anywhere */
	g_bytes_unref(k);
	pmem_free(pm);
}

/* A kernel below 1 MiB, in the free low memory above the information. */
static void test_elf_low_kernel(void)
{
	struct pmem *pm = pmem_new(4 * MIB);
	struct elf_spec s = default_spec();
	s.seg[0] = (struct seg_spec){ 0x20000, 0x20000, 0x200, 0x1000, 0 };
	s.entry = 0x20010;
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, 0x20010);
	g_assert_true(holds(pm, 0x20000, k, SEG_FILE_OFF(0), 0x200));
	g_bytes_unref(k);
	pmem_free(pm);
}

static void test_info_fields(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	struct elf_spec s = default_spec();
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	g_assert_true(load(pm, k, NULL, 0, "console=com1 verbose", &e, NULL));
	uint32_t mbi = e.ebx;
	g_assert_cmphex(rd32(pm, mbi + MBI_FLAGS), ==,
	                MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MEM_MAP |
	                        MB_INFO_LOADER_NAME);
	g_assert_cmpuint(rd32(pm, mbi + MBI_MEM_LOWER), ==, 639);
	g_assert_cmpuint(rd32(pm, mbi + MBI_MEM_UPPER), ==, 31 * 1024);
	g_assert_cmpuint(rd32(pm, mbi + MBI_MODS_COUNT), ==, 0);
	char *cl = rdstr(pm, rd32(pm, mbi + MBI_CMDLINE));
	g_assert_cmpstr(cl, ==, KNAME " console=com1 verbose");
	g_free(cl);
	char *name = rdstr(pm, rd32(pm, mbi + MBI_LOADER_NAME));
	g_assert_cmpstr(name, ==, "nestlab");
	g_free(name);
	/* every pointer stays inside the information area, below the EBDA */
	static const uint32_t ptrs[] = { MBI_CMDLINE, MBI_MODS_ADDR, MBI_MMAP_ADDR, MBI_LOADER_NAME };
	for (size_t i = 0; i < G_N_ELEMENTS(ptrs); i++) {
		uint32_t p = rd32(pm, mbi + ptrs[i]);
		g_assert_true(p > mbi && p < MB_INFO_LIMIT);
	}
	g_bytes_unref(k);
	pmem_free(pm);
}

static void test_cmdline_without_args(void)
{
	struct pmem *pm = pmem_new(8 * MIB);
	struct elf_spec s = default_spec();
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, NULL));
	char *cl = rdstr(pm, rd32(pm, e.ebx + MBI_CMDLINE));
	g_assert_cmpstr(cl, ==, KNAME);
	g_free(cl);
	g_bytes_unref(k);
	pmem_free(pm);
}

struct mmap_want {
	uint64_t base, len;
	uint32_t type;
};

static void check_mmap(uint32_t ram, const struct mmap_want *want, int n)
{
	struct pmem *pm = pmem_new(ram);
	struct elf_spec s = default_spec();
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, NULL));
	uint32_t addr = rd32(pm, e.ebx + MBI_MMAP_ADDR);
	g_assert_cmpuint(rd32(pm, e.ebx + MBI_MMAP_LENGTH), ==, (uint32_t)n * 24);
	for (int i = 0; i < n; i++, addr += 24) {
		g_assert_cmpuint(rd32(pm, addr), ==, 20);
		uint64_t base = rd32(pm, addr + 4) | (uint64_t)rd32(pm, addr + 8) << 32;
		uint64_t len = rd32(pm, addr + 12) | (uint64_t)rd32(pm, addr + 16) << 32;
		g_assert_cmphex(base, ==, want[i].base);
		g_assert_cmphex(len, ==, want[i].len);
		g_assert_cmpuint(rd32(pm, addr + 20), ==, want[i].type);
	}
	g_bytes_unref(k);
	pmem_free(pm);
}

static void test_mmap(void)
{
	static const struct mmap_want m32[] = {
		{ 0, 0x9fc00, MB_MMAP_AVAILABLE },
		{ 0x9fc00, 0x400, MB_MMAP_RESERVED },
		{ 0xf0000, 0x10000, MB_MMAP_RESERVED },
		{ 0x100000, 31 * MIB, MB_MMAP_AVAILABLE },
	};
	check_mmap(32 * MIB, m32, 4);
	static const struct mmap_want m3g[] = {
		{ 0, 0x9fc00, MB_MMAP_AVAILABLE },
		{ 0x9fc00, 0x400, MB_MMAP_RESERVED },
		{ 0xf0000, 0x10000, MB_MMAP_RESERVED },
		{ 0x100000, 3071ull * MIB, MB_MMAP_AVAILABLE },
	};
	check_mmap(3072u * MIB, m3g, 4);
}

static void test_modules(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	struct elf_spec s = default_spec(); /* ends at 0x101234 */
	GBytes *k = make_elf(&s);
	GByteArray *a = sized(5000), *b = sized(3);
	GBytes *ma = g_byte_array_free_to_bytes(a), *mb = g_byte_array_free_to_bytes(b);
	const struct boot_module mods[] = {
		{ "initrd.img", ma, "root=/dev/ram0 quiet" },
		{ "data/font.bin", mb, NULL },
	};
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, mods, 2, "x", &e, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(rd32(pm, e.ebx + MBI_MODS_COUNT), ==, 2);
	uint32_t list = rd32(pm, e.ebx + MBI_MODS_ADDR);
	g_assert_cmphex(rd32(pm, list), ==, 0x102000);
	g_assert_cmphex(rd32(pm, list + 4), ==, 0x102000 + 5000);
	g_assert_cmphex(rd32(pm, list + 16), ==, 0x104000);
	g_assert_cmphex(rd32(pm, list + 20), ==, 0x104003);
	g_assert_true(holds(pm, 0x102000, ma, 0, 5000));
	g_assert_true(holds(pm, 0x104000, mb, 0, 3));
	char *s0 = rdstr(pm, rd32(pm, list + 8)), *s1 = rdstr(pm, rd32(pm, list + 24));
	g_assert_cmpstr(s0, ==, "initrd.img root=/dev/ram0 quiet");
	g_assert_cmpstr(s1, ==, "data/font.bin");
	g_free(s0);
	g_free(s1);
	g_bytes_unref(ma);
	g_bytes_unref(mb);
	g_bytes_unref(k);
	pmem_free(pm);
}

/* Modules of a kernel in low memory still go above 1 MiB. */
static void test_modules_above_1mib(void)
{
	struct pmem *pm = pmem_new(4 * MIB);
	struct elf_spec s = default_spec();
	s.seg[0] = (struct seg_spec){ 0x20000, 0x20000, 0x200, 0x1000, 0 };
	s.entry = 0x20000;
	GBytes *k = make_elf(&s);
	GBytes *m = g_bytes_new_static("module", 6);
	const struct boot_module mods[] = { { "m", m, "a" } };
	struct boot_entry e;
	g_assert_true(load(pm, k, mods, 1, NULL, &e, NULL));
	uint32_t list = rd32(pm, e.ebx + MBI_MODS_ADDR);
	g_assert_cmphex(rd32(pm, list), ==, 0x100000);
	g_bytes_unref(m);
	g_bytes_unref(k);
	pmem_free(pm);
}

/* A raw image whose header gives the addresses (flag bit 16). */
static GBytes *make_aout(uint32_t size, uint32_t hoff, const uint32_t aout[5])
{
	GByteArray *b = sized(size);
	struct elf_spec s = { .mb_flags = MB_HDR_AOUT_KLUDGE | MB_HDR_PAGE_ALIGN,
		              .header_off = hoff };
	memcpy(s.aout, aout, sizeof s.aout);
	put_mb_header(b, &s);
	return g_byte_array_free_to_bytes(b);
}

static void test_aout_kludge(void)
{
	struct pmem *pm = pmem_new(8 * MIB);
	/* header 0x40 bytes in; image loaded from file offset 0 at 1 MiB */
	const uint32_t aout[5] = { 0x100040, 0x100000, 0, 0x103000, 0x100060 };
	GBytes *k = make_aout(0x1800, 0x40, aout);
	uint8_t junk[16];
	memset(junk, 0xaa, sizeof junk);
	pmem_store(pm, 0x101800, junk, sizeof junk);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, 0x100060);
	g_assert_true(holds(pm, 0x100000, k, 0, 0x1800));
	g_assert_true(all_zero(pm, 0x101800, 0x1800));
	g_bytes_unref(k);
	/* load_end_addr cuts the file; text starts 0x20 bytes before the header */
	const uint32_t cut[5] = { 0x200020, 0x200000, 0x200400, 0, 0x200020 };
	k = make_aout(0x1000, 0x100, cut);
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_assert_true(holds(pm, 0x200000, k, 0xe0, 0x400));
	g_assert_true(all_zero(pm, 0x200400, 0x10));
	g_bytes_unref(k);
	pmem_free(pm);
}

/* The kludge wins over ELF program headers, as in GRUB and QEMU. */
static void test_aout_kludge_in_elf(void)
{
	struct pmem *pm = pmem_new(8 * MIB);
	struct elf_spec s = default_spec();
	s.mb_flags |= MB_HDR_AOUT_KLUDGE;
	s.header_off = 0x40;
	s.aout[0] = 0x300040;
	s.aout[1] = 0x300000;
	s.aout[2] = 0x300100;
	s.aout[4] = 0x300000;
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, 0x300000);
	g_assert_true(holds(pm, 0x300000, k, 0, 0x100));
	g_assert_null(pmem_page_if_present(pm, 0x100000));
	g_bytes_unref(k);
	pmem_free(pm);
}

/* The video-mode flag asks for a mode; the board's text mode is the answer. */
static void test_video_flag_accepted(void)
{
	struct pmem *pm = pmem_new(8 * MIB);
	struct elf_spec s = default_spec();
	s.mb_flags |= MB_HDR_VIDEO_MODE;
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, &err));
	g_assert_no_error(err);
	g_bytes_unref(k);
	pmem_free(pm);
}

/* }====================================================================== */

/* {====== refusals ====== */

/* Loads `k` expecting `code`, a message with every word of `words`
 * (case-insensitive, '|'-separated), and memory left untouched. */
static void expect_error_mods(GBytes *k, uint32_t ram, const struct boot_module *mods, int n,
                              const char *cmdline, int code, const char *words)
{
	struct pmem *pm = pmem_new(ram);
	struct boot_entry e = { 0 };
	GError *err = NULL;
	g_assert_false(boot_multiboot_load(pm, k, KNAME, mods, n, cmdline, &e, &err));
	g_assert_error(err, BOOT_ERROR, code);
	g_test_message("%s", err->message);
	char *msg = g_ascii_strdown(err->message, -1);
	char **w = g_strsplit(words, "|", -1);
	for (char **p = w; *p; p++) {
		char *want = g_ascii_strdown(*p, -1);
		if (!strstr(msg, want))
			g_error("message \"%s\" lacks \"%s\"", err->message, *p);
		g_free(want);
	}
	g_strfreev(w);
	g_free(msg);
	g_assert_cmpuint(pmem_pages_used(pm), ==, 0);
	g_error_free(err);
	pmem_free(pm);
}

static void expect_error(GBytes *k, uint32_t ram, int code, const char *words)
{
	expect_error_mods(k, ram, NULL, 0, NULL, code, words);
	g_bytes_unref(k);
}

static void expect_spec_error(const struct elf_spec *s, int code, const char *words)
{
	expect_error(make_elf(s), 32 * MIB, code, words);
}

static void test_err_not_kernel(void)
{
	expect_error(g_bytes_new_static("just some text\n", 15), 32 * MIB, BOOT_ERROR_NOT_KERNEL,
	             KNAME "|neither|ELF|multiboot");
	expect_error(g_bytes_new_static("", 0), 32 * MIB, BOOT_ERROR_NOT_KERNEL, KNAME "|empty");
}

static void test_err_elf_truncated(void)
{
	struct elf_spec s = default_spec();
	s.truncate = 40;
	expect_spec_error(&s, BOOT_ERROR_ELF, KNAME "|truncated|52");
	s = default_spec();
	s.truncate = SEG_FILE_OFF(0) + 0x100; /* segment 0 wants 0x200 file bytes */
	expect_spec_error(&s, BOOT_ERROR_ELF, "segment 0|truncated|0x1200");
	s = default_spec();
	s.n_seg = 0; /* the header stays, at 0x1000 */
	expect_spec_error(&s, BOOT_ERROR_ELF, "no program headers");
}

static void test_err_elf_program_headers(void)
{
	struct elf_spec s = default_spec();
	s.phentsize = 40;
	expect_spec_error(&s, BOOT_ERROR_ELF, "program headers|40|32");
	s = default_spec();
	s.seg[0].filesz = 0x2000;
	s.seg[0].memsz = 0x1000;
	expect_spec_error(&s, BOOT_ERROR_ELF, "segment 0|more file bytes");
	s = default_spec();
	s.seg[0].type = 4; /* only a note */
	expect_spec_error(&s, BOOT_ERROR_ELF, "no loadable");
	s = default_spec();
	s.type = 1;
	expect_spec_error(&s, BOOT_ERROR_ELF, "relocatable|ET_REL|not an executable");
	s = default_spec();
	s.type = 3;
	expect_spec_error(&s, BOOT_ERROR_ELF, "ET_DYN");
	s = default_spec();
	s.entry = 0x500000;
	expect_spec_error(&s, BOOT_ERROR_ELF, "entry point 0x500000|outside");
	s = default_spec();
	s.seg[0].paddr = 0xfffff000;
	s.seg[0].memsz = 0x2000;
	expect_spec_error(&s, BOOT_ERROR_ELF, "past 4 GiB");
	/* program header table beyond the end of the file */
	GByteArray *b = g_byte_array_new();
	GBytes *k = make_elf(&(struct elf_spec){ .entry = 0x100000, .n_seg = 1, .no_header = true,
	                                         .seg = { { 0x100000, 0x100000, 0x10, 0x10 } } });
	g_byte_array_append(b, g_bytes_get_data(k, NULL), (guint)g_bytes_get_size(k));
	g_bytes_unref(k);
	put32(b, 28, 0x100000); /* e_phoff */
	put32(b, 0x800, MB_HEADER_MAGIC);
	put32(b, 0x804, 0);
	put32(b, 0x808, -MB_HEADER_MAGIC);
	expect_error(g_byte_array_free_to_bytes(b), 32 * MIB, BOOT_ERROR_ELF,
	             "program headers|0x100000|end of the file");
}

static void test_err_arch(void)
{
	struct elf_spec s = default_spec();
	s.machine = 40;
	expect_spec_error(&s, BOOT_ERROR_ARCH, KNAME "|ARM|i386");
	s = default_spec();
	s.class = 2;
	s.machine = 62;
	expect_spec_error(&s, BOOT_ERROR_ARCH, "x86-64|64-bit|-m32");
	s = default_spec();
	s.data = 2;
	expect_spec_error(&s, BOOT_ERROR_ARCH, "big-endian");
	s = default_spec();
	s.machine = 999;
	expect_spec_error(&s, BOOT_ERROR_ARCH, "machine type 999");
}

static void test_err_no_header(void)
{
	struct elf_spec s = default_spec();
	s.no_header = true;
	expect_spec_error(&s, BOOT_ERROR_NO_HEADER, KNAME "|without a multiboot header|8192");
	/* a header that starts at byte 8192 is too late */
	s = default_spec();
	s.header_off = 8192;
	s.seg[0].filesz = 0x1000;
	s.seg[0].memsz = 0x1000;
	GBytes *k = make_elf(&s);
	g_assert_cmpuint(g_bytes_get_size(k), >, 8192 + 12);
	expect_error(k, 32 * MIB, BOOT_ERROR_NO_HEADER, "multiboot header");
	/* and one that is not 4-byte aligned is not a header */
	s = default_spec();
	s.header_off = 0x1002;
	expect_spec_error(&s, BOOT_ERROR_NO_HEADER, "multiboot header");
}

static void test_err_bad_header(void)
{
	struct elf_spec s = default_spec();
	s.bad_sum = true;
	expect_spec_error(&s, BOOT_ERROR_BAD_HEADER, KNAME "|checksum|0x1000");
	s = default_spec();
	s.mb_flags |= 1u << 15;
	expect_spec_error(&s, BOOT_ERROR_BAD_HEADER, "requires|bit|0x8000");
	s = default_spec();
	s.mb_flags |= 1u << 3;
	expect_spec_error(&s, BOOT_ERROR_BAD_HEADER, "0x0008");
	/* optional bits (17-31) are ignored */
	struct pmem *pm = pmem_new(8 * MIB);
	s = default_spec();
	s.mb_flags |= 1u << 20;
	GBytes *k = make_elf(&s);
	struct boot_entry e;
	g_assert_true(load(pm, k, NULL, 0, NULL, &e, NULL));
	g_bytes_unref(k);
	pmem_free(pm);
	/* not ELF, and no addresses */
	GByteArray *b = sized(0x100);
	put32(b, 0x10, MB_HEADER_MAGIC);
	put32(b, 0x14, 0);
	put32(b, 0x18, -MB_HEADER_MAGIC);
	expect_error(g_byte_array_free_to_bytes(b), 32 * MIB, BOOT_ERROR_BAD_HEADER,
	             "not an ELF file|bit 16");
	/* not ELF, bad checksum */
	b = sized(0x100);
	put32(b, 0x10, MB_HEADER_MAGIC);
	put32(b, 0x14, MB_HDR_AOUT_KLUDGE);
	put32(b, 0x18, 0);
	expect_error(g_byte_array_free_to_bytes(b), 32 * MIB, BOOT_ERROR_BAD_HEADER, "checksum");
}

static void expect_aout_error(uint32_t size, uint32_t hoff, const uint32_t aout[5],
                              const char *words)
{
	expect_error(make_aout(size, hoff, aout), 32 * MIB, BOOT_ERROR_BAD_HEADER, words);
}

static void test_err_aout_fields(void)
{
	const uint32_t below[5] = { 0x100000, 0x100040, 0, 0, 0x100040 };
	expect_aout_error(0x1000, 0x40, below, "inconsistent|header_addr 0x100000|below load_addr");
	const uint32_t before[5] = { 0x100100, 0x100000, 0, 0, 0x100100 };
	expect_aout_error(0x1000, 0x40, before, "before the header");
	const uint32_t end_below[5] = { 0x100040, 0x100000, 0xff000, 0, 0x100040 };
	expect_aout_error(0x1000, 0x40, end_below, "load_end_addr 0xff000|below");
	const uint32_t too_long[5] = { 0x100040, 0x100000, 0x102000, 0, 0x100040 };
	expect_aout_error(0x1000, 0x40, too_long, "truncated|0x2000");
	const uint32_t bss_below[5] = { 0x100040, 0x100000, 0x100800, 0x100400, 0x100040 };
	expect_aout_error(0x1000, 0x40, bss_below, "bss_end_addr 0x100400");
	const uint32_t entry_out[5] = { 0x100040, 0x100000, 0, 0x102000, 0x200000 };
	expect_aout_error(0x1000, 0x40, entry_out, "entry_addr 0x200000|outside");
	const uint32_t empty[5] = { 0x100040, 0x100000, 0x100000, 0, 0x100000 };
	expect_aout_error(0x1000, 0x40, empty, "empty");
	const uint32_t fine[5] = { 0x100040, 0x100000, 0, 0, 0x100040 };
	expect_aout_error(0x4c, 0x40, fine, "ends inside the header");
}

/* A kernel linked over 0x9000 (kvm-unit-tests' realmode.flat is at
 * 0x8000-0xDA30): the information goes on the first page after the kernel
 * and its modules, and every pointer in it stays there. */
static void test_info_after_low_kernel(void)
{
	struct pmem *pm = pmem_new(32 * MIB);
	struct elf_spec s = default_spec();
	s.seg[0] = (struct seg_spec){ 0x8000, 0x8000, 0x100, 0x6000, 0 };
	s.entry = 0x8000;
	GBytes *k = make_elf(&s);
	GBytes *m = g_bytes_new_static("NR_CPUS=1\n", 10);
	const struct boot_module mods[] = { { "env", m, NULL } };
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(load(pm, k, mods, 1, "console=com1", &e, &err));
	g_assert_no_error(err);
	uint32_t mbi = e.ebx;
	g_assert_cmphex(rd32(pm, mbi + MBI_MODS_COUNT), ==, 1);
	uint32_t mod = rd32(pm, mbi + MBI_MODS_ADDR);
	g_assert_cmphex(rd32(pm, mod), ==, 0x100000);          /* the module at 1 MiB */
	g_assert_cmphex(mbi, ==, 0x101000);                    /* the page after it */
	static const uint32_t ptrs[] = { MBI_CMDLINE, MBI_MODS_ADDR, MBI_MMAP_ADDR, MBI_LOADER_NAME };
	for (size_t i = 0; i < G_N_ELEMENTS(ptrs); i++) {
		uint32_t p = rd32(pm, mbi + ptrs[i]);
		g_assert_true(p > mbi && p < mbi + 0x1000);
	}
	char *cl = rdstr(pm, rd32(pm, mbi + MBI_CMDLINE));
	g_assert_cmpstr(cl, ==, KNAME " console=com1");
	g_free(cl);
	g_assert_true(holds(pm, 0x8000, k, SEG_FILE_OFF(0), 0x100)); /* the kernel as it was */
	g_bytes_unref(m);
	g_bytes_unref(k);
	pmem_free(pm);
}

static void test_err_overlap(void)
{
	struct elf_spec s = default_spec();
	s.seg[0] = (struct seg_spec){ 0x90000, 0x90000, 0x100, 0x20000, 0 };
	s.entry = 0x90000;
	expect_spec_error(&s, BOOT_ERROR_OVERLAP, "overlaps|firmware area|0x9fc00");
	s.seg[0] = (struct seg_spec){ 0xb8000, 0xb8000, 0x100, 0x100, 0 };
	s.entry = 0xb8000;
	expect_spec_error(&s, BOOT_ERROR_OVERLAP, "VGA");
	s.seg[0] = (struct seg_spec){ 0, 0, 0x100, 0x100, 0 };
	s.entry = 0;
	expect_spec_error(&s, BOOT_ERROR_OVERLAP, "first page|interrupt vectors");
	s = default_spec();
	s.n_seg = 2;
	s.seg[1] = (struct seg_spec){ 0x101000, 0x101000, 0x10, 0x10, 0 };
	expect_spec_error(&s, BOOT_ERROR_OVERLAP, "segments 0|and 1|overlap each other");
}

static void test_err_too_big(void)
{
	struct elf_spec s = default_spec();
	s.seg[0].memsz = 64 * MIB;
	expect_error(make_elf(&s), 16 * MIB, BOOT_ERROR_TOO_BIG, KNAME "|65 MiB|16 MiB|--mem 65");
	/* a 3 MiB module after a kernel that ends at 0x101234, in 2 MiB */
	s = default_spec();
	GBytes *k = make_elf(&s);
	GBytes *m = g_bytes_new_take(g_malloc0(3 * MIB), 3 * MIB);
	const struct boot_module mods[] = { { "big.bin", m, NULL } };
	expect_error_mods(k, 2 * MIB, mods, 1, NULL, BOOT_ERROR_TOO_BIG,
	                  "modules|big.bin|5 MiB|2 MiB");
	/* a command line too long for below the EBDA, and for the RAM after the kernel */
	char *huge = g_strnfill(2 * MIB, 'x');
	expect_error_mods(k, 2 * MIB, NULL, 0, huge, BOOT_ERROR_TOO_BIG,
	                  "command line|bytes|beyond the end of RAM|--mem 4");
	g_free(huge);
	/* less than 1 MiB of RAM */
	expect_error_mods(k, 512 * 1024, NULL, 0, NULL, BOOT_ERROR_TOO_BIG, "1 MiB");
	g_bytes_unref(m);
	g_bytes_unref(k);
}

/* }====================================================================== */

/* {====== the multiboot package's example kernel ====== */

static GBytes *example_kernel(void)
{
	gchar *data;
	gsize len;
	if (!g_file_get_contents(EXAMPLE_KERNEL, &data, &len, NULL))
		return NULL;
	return g_bytes_new_take(data, len);
}

/* Loads it and checks its one PT_LOAD segment (text, data, BSS at 1 MiB,
 * as readelf shows) against the file. */
static void test_example_kernel_loads(void)
{
	GBytes *k = example_kernel();
	if (!k) {
		g_test_skip(EXAMPLE_KERNEL " is missing (Debian package multiboot)");
		return;
	}
	const uint8_t *d = g_bytes_get_data(k, NULL);
	uint32_t entry = d[24] | d[25] << 8 | d[26] << 16 | (uint32_t)d[27] << 24;
	uint32_t phoff = d[28] | d[29] << 8 | d[30] << 16 | (uint32_t)d[31] << 24;
	const uint8_t *ph = d + phoff;
	uint32_t off = ph[4] | ph[5] << 8 | ph[6] << 16 | (uint32_t)ph[7] << 24;
	uint32_t paddr = ph[12] | ph[13] << 8 | ph[14] << 16 | (uint32_t)ph[15] << 24;
	uint32_t filesz = ph[16] | ph[17] << 8 | ph[18] << 16 | (uint32_t)ph[19] << 24;
	struct pmem *pm = pmem_new(32 * MIB);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_true(boot_multiboot_load(pm, k, EXAMPLE_KERNEL, NULL, 0, "hello", &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, entry);
	g_assert_cmphex(e.eip, ==, 0x100000);
	g_assert_cmphex(paddr, ==, 0x100000);
	g_assert_true(holds(pm, paddr, k, off, filesz));
	/* its multiboot header landed with it, 4-byte aligned */
	bool found = false;
	for (uint32_t a = paddr; a < paddr + MIN(filesz, 8192u) && !found; a += 4)
		found = rd32(pm, a) == MB_HEADER_MAGIC;
	g_assert_true(found);
	g_bytes_unref(k);
	pmem_free(pm);
}

/* Runs it on the board: it prints what it found in the information
 * structure on the VGA screen, then halts. */
static void test_example_kernel_runs(void)
{
	if (!g_file_test(EXAMPLE_KERNEL, G_FILE_TEST_EXISTS)) {
		g_test_skip(EXAMPLE_KERNEL " is missing (Debian package multiboot)");
		return;
	}
	const struct machine_config cfg = {
		.mem_mib = 32, .kernel_path = EXAMPLE_KERNEL, .cmdline = "hello world",
		.console_quiet = true,
	};
	GError *err = NULL;
	struct machine *m = machine_new(&cfg, &err);
	g_assert_no_error(err);
	enum machine_stop why = machine_run(m, 5000000);
	g_test_message("stopped: %s", machine_stop_name(why));
	GString *screen = g_string_new(NULL);
	machine_vga_text(m, screen);
	g_test_message("%s", screen->str);
	g_assert_nonnull(strstr(screen->str, "mem_lower = 639KB, mem_upper = 31744KB"));
	g_assert_nonnull(strstr(screen->str, EXAMPLE_KERNEL " hello world"));
	g_assert_nonnull(strstr(screen->str, "mmap_addr"));
	g_string_free(screen, TRUE);
	machine_free(m);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/boot/multiboot/elf/loads-segments-and-zeroes-bss", test_elf_loads_segments);
	g_test_add_func("/boot/multiboot/elf/paddr-and-virtual-entry", test_elf_paddr_and_entry);
	g_test_add_func("/boot/multiboot/elf/low-kernel", test_elf_low_kernel);
	g_test_add_func("/boot/multiboot/info/fields", test_info_fields);
	g_test_add_func("/boot/multiboot/info/cmdline-without-args", test_cmdline_without_args);
	g_test_add_func("/boot/multiboot/info/mmap", test_mmap);
	g_test_add_func("/boot/multiboot/modules/placed-after-kernel", test_modules);
	g_test_add_func("/boot/multiboot/modules/above-1mib", test_modules_above_1mib);
	g_test_add_func("/boot/multiboot/aout/loads", test_aout_kludge);
	g_test_add_func("/boot/multiboot/aout/wins-over-elf", test_aout_kludge_in_elf);
	g_test_add_func("/boot/multiboot/header/video-flag-accepted", test_video_flag_accepted);
	g_test_add_func("/boot/multiboot/error/not-kernel", test_err_not_kernel);
	g_test_add_func("/boot/multiboot/error/elf-truncated", test_err_elf_truncated);
	g_test_add_func("/boot/multiboot/error/elf-program-headers", test_err_elf_program_headers);
	g_test_add_func("/boot/multiboot/error/arch", test_err_arch);
	g_test_add_func("/boot/multiboot/error/no-header", test_err_no_header);
	g_test_add_func("/boot/multiboot/error/bad-header", test_err_bad_header);
	g_test_add_func("/boot/multiboot/error/aout-fields", test_err_aout_fields);
	g_test_add_func("/boot/multiboot/error/overlap", test_err_overlap);
	g_test_add_func("/boot/multiboot/info-after-a-kernel-linked-low", test_info_after_low_kernel);
	g_test_add_func("/boot/multiboot/error/too-big", test_err_too_big);
	g_test_add_func("/boot/multiboot/example-kernel/loads", test_example_kernel_loads);
	g_test_add_func("/boot/multiboot/example-kernel/runs-on-board", test_example_kernel_runs);
	return g_test_run();
}
