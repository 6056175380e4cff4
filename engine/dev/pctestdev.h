/*
 * pctestdev.h - QEMU's pc-testdev, the ISA test device kvm-unit-tests
 * drives (`-device pc-testdev` in its x86/run). Present only when asked
 * for (machine_config.pc_testdev, nestlab-run --device pc-testdev):
 *
 *   0xE0..0xE3    a 32-bit scratch register, byte-addressable: a write of
 *                 N bytes at 0xE0 + k replaces bytes k..k+N-1, a read
 *                 gives them (the emulator tests' IN/OUT target)
 *   0xE4..0xE7    "flush page": a write of a physical address asks the
 *                 host to drop its mappings of it; nestlab keeps none
 *                 outside the guest's own TLB, so it does nothing; reads 0
 *   0x2000..0x2017  IRQ lines: a write of V to 0x2000 + n sets ISA IRQ n
 *                 (0-15) to V != 0; 16-23 (IOAPIC-only pins) are ignored
 *   0xFF000000    64 KiB of I/O memory (MMIO that behaves as RAM: the
 *                 instruction emulator's target for memory operands)
 *
 * Writes of other sizes or ports are ignored; the device's whole state
 * (the register, the lines, the 64 KiB) is in its snapshot.
 */
#ifndef NESTLAB_PCTESTDEV_H
#define NESTLAB_PCTESTDEV_H

#include <glib.h>

#include "device.h"

#define PCTESTDEV_IOPORT 0xe0
#define PCTESTDEV_FLUSH 0xe4
#define PCTESTDEV_IRQ_BASE 0x2000
#define PCTESTDEV_IRQ_PORTS 24
#define PCTESTDEV_IOMEM_BASE 0xff000000u
#define PCTESTDEV_IOMEM_SIZE 0x10000u

struct dev_pctestdev;

/* Creates the device and claims its ports and I/O memory; NULL with an
 * error if one is taken. */
struct dev_pctestdev *dev_pctestdev_new(const struct dev_board *b, GError **error);

#endif
