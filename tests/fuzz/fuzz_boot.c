/*
 * fuzz_boot.c - fuzz target for the kernel loader: the input is a kernel
 * image (ELF or a.out kludge, with a multiboot header somewhere in its
 * first 8 KiB) handed to boot_multiboot_load() with one module, on a
 * machine of 8 MiB. Any image must either load or be refused with an
 * error; nothing may crash or touch memory outside RAM.
 */
#include <glib.h>
#include <stdint.h>

#include "multiboot.h"
#include "physmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmem *pm = pmem_new(8u << 20);
	GBytes *kernel = g_bytes_new_static(data, size);
	GBytes *mod = g_bytes_new_static(data, size < 64 ? size : 64);
	const struct boot_module mods[1] = { { "module", mod, "args" } };
	struct boot_entry e;
	GError *error = NULL;
	if (!boot_multiboot_load(pm, kernel, "kernel", mods, size & 1, "cmdline", &e, &error)) {
		g_assert(error && error->message[0]);
		g_error_free(error);
	}
	g_bytes_unref(mod);
	g_bytes_unref(kernel);
	pmem_free(pm);
	return 0;
}
