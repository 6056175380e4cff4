/*
 * rom.h - the reset-vector ROM loader of the test board.
 *
 * A board ROM is a flat image of exactly 64 KiB or 128 KiB whose last 16
 * bytes hold the reset vector (executed at F000:FFF0 after RESET). The same
 * file boots on QEMU (-bios FILE) and Bochs (romimage:).
 */
#ifndef NESTLAB_ROM_H
#define NESTLAB_ROM_H

#include <glib.h>

#define ROM_SIZE_64K (64u * 1024u)
#define ROM_SIZE_128K (128u * 1024u)

/* True if `size` is a size the board can map. */
gboolean rom_size_ok(gsize size);

/*
 * Reads the ROM image at `path`. Returns its bytes (free with g_bytes_unref),
 * or NULL with `error` set: G_FILE_ERROR if the file is missing or unreadable,
 * NESTLAB_ERROR_ROM_SIZE if it is not 64 or 128 KiB. Messages name the file
 * and say what to do.
 */
GBytes *rom_load(const char *path, GError **error);

/* Checks an image already in memory; `what` names it in the message. */
gboolean rom_check(GBytes *rom, const char *what, GError **error);

#endif
