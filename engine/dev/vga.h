/*
 * vga.h - the VGA's registers and its 80x25 colour text display.
 *
 * Text memory is plain RAM at 0xB8000-0xBFFFF (physmem.h keeps it RAM), so
 * the guest's stores cost nothing; the device reads it back when someone
 * looks at the screen (dev_vga_dump_text, the GUI). Registers, after the
 * IBM VGA technical reference:
 *
 *   0x3C0        attribute controller: index and data through one port,
 *                chosen by a flip-flop that reading input status 1
 *                resets (to "index"); index bit 5 is PAS. 0x3C1 reads data.
 *                Reserved bits read 0 (palette entries are 6 bits; mode
 *                control bit 4; plane enable bits 7-6; panning and colour
 *                select bits 7-4).
 *   0x3C2        write: miscellaneous output; read: input status 0 (0)
 *   0x3C3        VGA enable (stored)
 *   0x3C4/0x3C5  sequencer index/data (5 registers)
 *   0x3C6        DAC pixel mask; 0x3C7 write: DAC read index, read: DAC
 *                state (0 after a write index, 3 after a read index);
 *   0x3C8        DAC write index; 0x3C9 DAC data (R, G, B in turn, 6 bits,
 *                the index advancing after B). 256 entries, stored.
 *   0x3CA        read: feature control; 0x3CC read: miscellaneous output
 *   0x3CE/0x3CF  graphics controller index/data (9 registers)
 *   0x3D4/0x3D5  CRTC index/data (25 registers, 0x00-0x18); while CR11
 *                bit 7 is set, CR00-CR07 ignore writes except CR07 bit 4
 *   0x3DA        read: input status 1 (resets the attribute flip-flop);
 *                write: feature control
 *
 * I/O address select: the CRTC and input status 1 answer at 0x3D4/0x3D5/
 * 0x3DA while miscellaneous output bit 0 is 1 (colour, as at power-on),
 * and at 0x3B4/0x3B5/0x3BA while it is 0 (monochrome), as on the real
 * card; the ports of the other set read 0xFF and ignore writes.
 * 16-bit accesses are split into two byte accesses (outw 0x3D4 writes the
 * index and then the data).
 *
 * Input status 1, from virtual time only: the display draws 60 frames a
 * second; each frame has the CRTC's vertical total of lines (CR06, CR07)
 * and each line its horizontal total of characters (CR00 + 5). Bit 3
 * (vertical retrace) is 1 on the lines from the vertical retrace start
 * (CR10, CR07) to its end (CR11 bits 3-0); bit 0 (display disabled) is 1
 * outside the displayed lines (CR12, CR07) and characters (CR01 + 1).
 * Mode 3 gives 449 lines of 100 characters, 400 and 80 of them shown and
 * 2 lines of vertical retrace.
 *
 * Power-on: the registers as a BIOS leaves mode 3 (80x25 colour text,
 * 9x16 font, cursor on scan lines 14-15 at the top left, start address
 * 0), and the first 64 DAC entries holding the EGA colours.
 *
 * Left out: the graphics modes and the A0000 window (physmem leaves it
 * unmapped), fonts in plane 2, the attribute controller's effect on the
 * picture (the dump is text only), the video BIOS, and the 0x3B0-0x3BB
 * Hercules registers.
 */
#ifndef NESTLAB_VGA_H
#define NESTLAB_VGA_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define VGA_ATTR_PORT 0x3c0
#define VGA_ATTR_READ_PORT 0x3c1
#define VGA_MISC_WRITE_PORT 0x3c2
#define VGA_ENABLE_PORT 0x3c3
#define VGA_SEQ_INDEX_PORT 0x3c4
#define VGA_SEQ_DATA_PORT 0x3c5
#define VGA_DAC_MASK_PORT 0x3c6
#define VGA_DAC_READ_INDEX_PORT 0x3c7
#define VGA_DAC_WRITE_INDEX_PORT 0x3c8
#define VGA_DAC_DATA_PORT 0x3c9
#define VGA_FEATURE_READ_PORT 0x3ca
#define VGA_MISC_READ_PORT 0x3cc
#define VGA_GC_INDEX_PORT 0x3ce
#define VGA_GC_DATA_PORT 0x3cf
#define VGA_CRTC_INDEX_COLOR 0x3d4
#define VGA_CRTC_DATA_COLOR 0x3d5
#define VGA_STATUS1_COLOR 0x3da
#define VGA_CRTC_INDEX_MONO 0x3b4
#define VGA_CRTC_DATA_MONO 0x3b5
#define VGA_STATUS1_MONO 0x3ba

#define VGA_CRTC_REGS 25
#define VGA_SEQ_REGS 5
#define VGA_GC_REGS 9
#define VGA_ATTR_REGS 21
#define VGA_DAC_ENTRIES 256

/* CRTC registers. */
#define VGA_CR_H_TOTAL 0x00
#define VGA_CR_H_DISPLAY_END 0x01
#define VGA_CR_V_TOTAL 0x06
#define VGA_CR_OVERFLOW 0x07
#define VGA_CR_CURSOR_START 0x0a
#define VGA_CR_CURSOR_END 0x0b
#define VGA_CR_START_HI 0x0c
#define VGA_CR_START_LO 0x0d
#define VGA_CR_CURSOR_HI 0x0e
#define VGA_CR_CURSOR_LO 0x0f
#define VGA_CR_V_RETRACE_START 0x10
#define VGA_CR_V_RETRACE_END 0x11
#define VGA_CR_V_DISPLAY_END 0x12

#define VGA_CR11_PROTECT 0x80       /* CR00-CR07 write protected */
#define VGA_CR07_LINE_COMPARE8 0x10 /* the one CR07 bit still writable */
#define VGA_CURSOR_DISABLE 0x20     /* CR0A bit 5 */
#define VGA_CURSOR_LINE_MASK 0x1f
#define VGA_MISC_COLOR_IO 0x01 /* misc output bit 0: CRTC at 0x3Dx */
#define VGA_ATTR_PAS 0x20
#define VGA_ATTR_INDEX_MASK 0x1f
#define VGA_ST1_DISPLAY_DISABLED 0x01
#define VGA_ST1_V_RETRACE 0x08
#define VGA_DAC_STATE_WRITE 0x00
#define VGA_DAC_STATE_READ 0x03

#define VGA_TEXT_BASE 0xb8000u
#define VGA_TEXT_SIZE 0x8000u /* the text window wraps within 32 KiB */
#define VGA_TEXT_COLS 80
#define VGA_TEXT_ROWS 25
#define VGA_FRAME_HZ 60

/* Everything the guest can see; no pointers, bytes only (no padding). */
struct vga_state {
	uint8_t crtc[VGA_CRTC_REGS];
	uint8_t crtc_index;
	uint8_t seq[VGA_SEQ_REGS];
	uint8_t seq_index;
	uint8_t gc[VGA_GC_REGS];
	uint8_t gc_index;
	uint8_t attr[VGA_ATTR_REGS];
	uint8_t attr_index;    /* with PAS in bit 5 */
	uint8_t attr_flipflop; /* 0: the next 0x3C0 write is an index */
	uint8_t misc;
	uint8_t feature;
	uint8_t vga_enable;
	uint8_t dac_mask;
	uint8_t dac_state;
	uint8_t dac_read_index;
	uint8_t dac_read_comp;
	uint8_t dac_write_index;
	uint8_t dac_write_comp;
	uint8_t dac[VGA_DAC_ENTRIES][3];
};

struct dev_vga {
	struct device dev;
	const struct dev_board *board;
	struct vga_state st;
};

/*
 * Creates the VGA in mode 3 (see above) and claims its ports. Returns NULL
 * with NESTLAB_ERROR_CONFIG if a port is taken. Free with the device's
 * free op.
 */
struct dev_vga *dev_vga_new(const struct dev_board *b, GError **error);

/*
 * Appends the screen as UTF-8 text to `out`: 25 lines of 80 characters
 * from the CRTC start address (wrapping within the 32 KiB text window),
 * code page 437 glyphs for bytes 0x01-0x1F and 0x7F-0xFF, NUL as a blank;
 * trailing blanks of each line trimmed, trailing empty lines dropped, and
 * '\n' after each line kept. Attributes are ignored.
 */
void dev_vga_dump_text(struct dev_vga *v, GString *out);

/*
 * The hardware cursor relative to the start address: *row 0-24, *col
 * 0-79 (when the location is off the screen, *row and *col are what the
 * arithmetic gives and *visible is false). Visible when CR0A bit 5 is
 * clear, the start line is not below the end line, and it is on screen.
 */
void dev_vga_cursor(const struct dev_vga *v, int *row, int *col, bool *visible);

/* Input status 1 at cycle `now` (bits 0 and 3), for tests and the GUI. */
uint8_t dev_vga_status1(const struct dev_vga *v, uint64_t now);

#endif
