/*
 * rom.c - reading and checking board ROM images (see rom.h).
 */
#include "rom.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "nestlab.h"

gboolean rom_size_ok(gsize size)
{
	return size == ROM_SIZE_64K || size == ROM_SIZE_128K;
}

static void set_size_error(GError **error, const char *what, guint64 size)
{
	g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_ROM_SIZE,
	            "the ROM image %s is %" G_GUINT64_FORMAT " bytes, but a board ROM must be "
	            "exactly 64 KiB (%u bytes) or 128 KiB (%u bytes); pad it to one of those sizes "
	            "with the reset vector in its last 16 bytes",
	            what, size, ROM_SIZE_64K, ROM_SIZE_128K);
}

gboolean rom_check(GBytes *rom, const char *what, GError **error)
{
	gsize size = g_bytes_get_size(rom);
	if (rom_size_ok(size))
		return TRUE;
	set_size_error(error, what, size);
	return FALSE;
}

GBytes *rom_load(const char *path, GError **error)
{
	GStatBuf st;
	if (g_stat(path, &st) != 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
		            "cannot open the ROM image %s: %s", path, g_strerror(e));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		            "the ROM image %s is not a regular file", path);
		return NULL;
	}
	/* Check the size before reading, so a huge file is never slurped. */
	if (!rom_size_ok((gsize)st.st_size)) {
		set_size_error(error, path, (guint64)st.st_size);
		return NULL;
	}
	gchar *data = NULL;
	gsize len = 0;
	GError *local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local)) {
		g_set_error(error, G_FILE_ERROR, local->code, "cannot read the ROM image %s: %s", path,
		            local->message);
		g_error_free(local);
		return NULL;
	}
	GBytes *rom = g_bytes_new_take(data, len);
	if (!rom_check(rom, path, error)) {
		g_bytes_unref(rom);
		return NULL;
	}
	return rom;
}
