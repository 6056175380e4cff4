/*
 * flat.c - the flat binary loader (see flat.h).
 */
#include "flat.h"

bool boot_flat_load(struct pmem *pm, GBytes *image, uint32_t addr, struct boot_entry *out,
                    GError **error)
{
	gsize size;
	const void *data = g_bytes_get_data(image, &size);
	if (size == 0) {
		g_set_error(error, BOOT_ERROR, BOOT_ERROR_NOT_KERNEL,
		            "the flat binary is empty: there is nothing to run");
		return false;
	}
	char *what = g_strdup_printf("the flat binary (%" G_GSIZE_FORMAT " bytes)", size);
	bool ok = boot_check_placement(pmem_ram_size(pm), addr, (uint64_t)addr + size, what, error);
	g_free(what);
	if (!ok)
		return false;
	pmem_store(pm, addr, data, size);
	*out = (struct boot_entry){ .eip = addr, .eax = 0, .ebx = 0 };
	return true;
}
