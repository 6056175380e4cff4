/*
 * flat.h - the flat binary loader: raw bytes copied to one address and
 * entered there in 32-bit protected mode (flat segments, paging off,
 * IF = 0), with no header and no information structure (EAX = EBX = 0).
 * The simplest way to run a few instructions of hand-written code.
 */
#ifndef NESTLAB_FLAT_H
#define NESTLAB_FLAT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "multiboot.h" /* BOOT_ERROR, struct boot_entry */
#include "physmem.h"

/*
 * Copies `image` to physical `addr` (pmem_store) and sets `out` to enter
 * it at `addr`. Returns false with a BOOT_ERROR, leaving memory untouched,
 * if the image is empty (BOOT_ERROR_NOT_KERNEL), does not fit in RAM
 * (BOOT_ERROR_TOO_BIG, saying how much RAM it needs) or overlaps the first
 * page or the firmware area 0x9FC00-0xFFFFF with the VGA hole
 * (BOOT_ERROR_OVERLAP).
 */
bool boot_flat_load(struct pmem *pm, GBytes *image, uint32_t addr, struct boot_entry *out,
                    GError **error);

#endif
