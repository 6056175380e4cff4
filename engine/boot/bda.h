/*
 * bda.h - the BIOS data area (segment 0x40) and the extended BIOS data
 * area, as a PC BIOS leaves them for an operating system that reads them
 * instead of calling the BIOS (xv6 finds COM1 and the MP table this way).
 *
 *   0x400  COM1-COM4 I/O bases (words)       0x449  video mode (3)
 *   0x408  LPT1-LPT3 bases, 0x40E EBDA seg.  0x44A  text columns (80)
 *   0x410  equipment word                    0x44C  page size (0x1000)
 *   0x413  base memory in KiB (639)          0x463  CRTC port (0x3D4)
 *   0x41A  keyboard buffer head, tail        0x484  text rows - 1 (24)
 *   0x480  keyboard buffer start, end        0x485  character height (16)
 *
 * The EBDA is the last KiB of base memory, 0x9FC00-0x9FFFF; its first
 * byte is its size in KiB (1). The values are those SeaBIOS writes on
 * QEMU, less the devices this board does not have (floppy, x87, LPT).
 */
#ifndef NESTLAB_BDA_H
#define NESTLAB_BDA_H

#include <stdbool.h>
#include <stdint.h>

#include "physmem.h"

#define BDA_ADDR 0x400u
#define BDA_SIZE 0x100u
#define BDA_COM_PORTS 4
#define EBDA_ADDR 0x9fc00u
#define EBDA_KIB 1u

/* BDA offsets (from 0x400). */
enum {
	BDA_COM_BASE = 0x00,
	BDA_EBDA_SEG = 0x0e,
	BDA_EQUIPMENT = 0x10,
	BDA_BASE_MEM_KIB = 0x13,
	BDA_KBD_HEAD = 0x1a,
	BDA_KBD_TAIL = 0x1c,
	BDA_VIDEO_MODE = 0x49,
	BDA_VIDEO_COLS = 0x4a,
	BDA_VIDEO_PAGE_SIZE = 0x4c,
	BDA_CRTC_BASE = 0x63,
	BDA_KBD_START = 0x80,
	BDA_KBD_END = 0x82,
	BDA_VIDEO_ROWS = 0x84,
	BDA_CHAR_HEIGHT = 0x85,
};

/* Equipment word bits. */
#define BDA_EQ_VIDEO_80X25_COLOR (2u << 4)
#define BDA_EQ_SERIAL_SHIFT 9

struct bda_config {
	uint16_t com[BDA_COM_PORTS]; /* I/O base of COM1.., 0 for none */
};

/*
 * Writes the BDA and the EBDA header with pmem_store() for a machine of
 * `ram_bytes` of RAM. Returns false (and writes nothing) if RAM ends below
 * 640 KiB, where the EBDA would be.
 */
bool bda_write(struct pmem *pm, uint32_t ram_bytes, const struct bda_config *cfg);

#endif
