/*
 * bda.c - the BIOS data area and the EBDA header (see bda.h).
 */
#include "bda.h"

#include <string.h>

#define KIB 1024u
#define VGA_TEXT_MODE 3
#define VGA_TEXT_COLS 80
#define VGA_TEXT_ROWS 25
#define VGA_PAGE_SIZE 0x1000u
#define VGA_CHAR_HEIGHT 16
#define VGA_CRTC_COLOR 0x3d4u
#define KBD_BUFFER_START 0x1eu /* 16 words at 0x41E, as offsets from 0x400 */
#define KBD_BUFFER_END 0x3eu

static void put16(uint8_t *b, unsigned off, unsigned v)
{
	b[off] = (uint8_t)v;
	b[off + 1] = (uint8_t)(v >> 8);
}

static unsigned equipment(const struct bda_config *cfg)
{
	unsigned serial = 0;
	for (int i = 0; i < BDA_COM_PORTS; i++)
		serial += cfg->com[i] != 0;
	return BDA_EQ_VIDEO_80X25_COLOR | serial << BDA_EQ_SERIAL_SHIFT;
}

bool bda_write(struct pmem *pm, uint32_t ram_bytes, const struct bda_config *cfg)
{
	if (ram_bytes < EBDA_ADDR + EBDA_KIB * KIB)
		return false;
	uint8_t b[BDA_SIZE];
	memset(b, 0, sizeof b);
	for (int i = 0; i < BDA_COM_PORTS; i++)
		put16(b, BDA_COM_BASE + 2 * (unsigned)i, cfg->com[i]);
	put16(b, BDA_EBDA_SEG, EBDA_ADDR >> 4);
	put16(b, BDA_EQUIPMENT, equipment(cfg));
	put16(b, BDA_BASE_MEM_KIB, EBDA_ADDR / KIB);
	put16(b, BDA_KBD_HEAD, KBD_BUFFER_START);
	put16(b, BDA_KBD_TAIL, KBD_BUFFER_START);
	put16(b, BDA_KBD_START, KBD_BUFFER_START);
	put16(b, BDA_KBD_END, KBD_BUFFER_END);
	b[BDA_VIDEO_MODE] = VGA_TEXT_MODE;
	put16(b, BDA_VIDEO_COLS, VGA_TEXT_COLS);
	put16(b, BDA_VIDEO_PAGE_SIZE, VGA_PAGE_SIZE);
	put16(b, BDA_CRTC_BASE, VGA_CRTC_COLOR);
	b[BDA_VIDEO_ROWS] = VGA_TEXT_ROWS - 1;
	b[BDA_CHAR_HEIGHT] = VGA_CHAR_HEIGHT;
	pmem_store(pm, BDA_ADDR, b, sizeof b);
	uint8_t ebda[EBDA_KIB * KIB];
	memset(ebda, 0, sizeof ebda);
	ebda[0] = EBDA_KIB;
	pmem_store(pm, EBDA_ADDR, ebda, sizeof ebda);
	return true;
}
