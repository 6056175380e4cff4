/*
 * test-flat.c - the flat binary loader: where it puts the bytes, where
 * the CPU enters, and the images it refuses.
 */
#include <glib.h>
#include <string.h>

#include "flat.h"
#include "physmem.h"

#define MIB (1024u * 1024u)

static void test_loads_and_enters(void)
{
	struct pmem *pm = pmem_new(4 * MIB);
	static const uint8_t code[] = { 0x31, 0xc0, 0xe6, 0xf4, 0xf4 }; /* xor eax,eax; out 0xf4,al; hlt */
	GBytes *img = g_bytes_new_static(code, sizeof code);
	struct boot_entry e = { 1, 1, 1 };
	GError *err = NULL;
	g_assert_true(boot_flat_load(pm, img, 0x7c00, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, 0x7c00);
	g_assert_cmphex(e.eax, ==, 0);
	g_assert_cmphex(e.ebx, ==, 0);
	uint8_t back[sizeof code];
	pmem_load(pm, 0x7c00, back, sizeof back);
	g_assert_true(memcmp(back, code, sizeof code) == 0);
	/* at 1 MiB, right up to the end of RAM */
	GBytes *big = g_bytes_new_take(g_malloc0(3 * MIB), 3 * MIB);
	g_assert_true(boot_flat_load(pm, big, MIB, &e, &err));
	g_assert_no_error(err);
	g_assert_cmphex(e.eip, ==, MIB);
	g_bytes_unref(big);
	g_bytes_unref(img);
	pmem_free(pm);
}

static void expect_error(uint32_t ram, size_t size, uint32_t addr, int code, const char *w1,
                         const char *w2)
{
	struct pmem *pm = pmem_new(ram);
	GBytes *img = g_bytes_new_take(g_malloc0(size + 1), size);
	struct boot_entry e;
	GError *err = NULL;
	g_assert_false(boot_flat_load(pm, img, addr, &e, &err));
	g_assert_error(err, BOOT_ERROR, code);
	g_test_message("%s", err->message);
	g_assert_nonnull(strstr(err->message, w1));
	g_assert_nonnull(strstr(err->message, w2));
	g_assert_cmpuint(pmem_pages_used(pm), ==, 0);
	g_error_free(err);
	g_bytes_unref(img);
	pmem_free(pm);
}

static void test_errors(void)
{
	expect_error(4 * MIB, 0, 0x100000, BOOT_ERROR_NOT_KERNEL, "empty", "flat binary");
	expect_error(4 * MIB, 4 * MIB, 0x100000, BOOT_ERROR_TOO_BIG, "5 MiB", "--mem 5");
	expect_error(4 * MIB, 16, 0xfffffff8, BOOT_ERROR_TOO_BIG, "3072 MiB", "0x100000008");
	expect_error(4 * MIB, 0x100, 0xa0000, BOOT_ERROR_OVERLAP, "VGA hole", "0xa0000");
	expect_error(4 * MIB, 0x20000, 0x90000, BOOT_ERROR_OVERLAP, "firmware area", "0x9fc00");
	expect_error(4 * MIB, 0x10, 0xffff0, BOOT_ERROR_OVERLAP, "firmware area", "0xffff0");
	expect_error(4 * MIB, 0x10, 0x400, BOOT_ERROR_OVERLAP, "BIOS data area", "0x400");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/boot/flat/loads-and-enters-at-addr", test_loads_and_enters);
	g_test_add_func("/boot/flat/errors", test_errors);
	return g_test_run();
}
