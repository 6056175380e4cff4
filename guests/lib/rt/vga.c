/*
 * guests/lib/rt/vga.c - output on the 80x25 VGA text screen at 0xB8000.
 */
#include "rt.h"

#define CRTC_INDEX 0x3D4
#define CRTC_DATA  0x3D5
#define CRTC_CURSOR_HI 0x0E
#define CRTC_CURSOR_LO 0x0F
#define BLANK ((uint16_t)(VGA_ATTR << 8 | ' '))

static volatile uint16_t *const screen = (volatile uint16_t *)VGA_TEXT_BASE;
static int row, col;

static void move_cursor(void)
{
	uint16_t pos = (uint16_t)(row * VGA_COLS + col);

	outb(CRTC_INDEX, CRTC_CURSOR_HI);
	outb(CRTC_DATA, pos >> 8);
	outb(CRTC_INDEX, CRTC_CURSOR_LO);
	outb(CRTC_DATA, pos & 0xFF);
}

void vga_clear(void)
{
	for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		screen[i] = BLANK;
	row = col = 0;
	move_cursor();
}

static void scroll(void)
{
	for (int i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
		screen[i] = screen[i + VGA_COLS];
	for (int i = VGA_COLS * (VGA_ROWS - 1); i < VGA_COLS * VGA_ROWS; i++)
		screen[i] = BLANK;
	row = VGA_ROWS - 1;
}

static void put(char c)
{
	if (c == '\n') {
		col = 0;
		row++;
	} else if (c == '\r') {
		col = 0;
	} else {
		screen[row * VGA_COLS + col] = (uint16_t)(VGA_ATTR << 8 | (uint8_t)c);
		if (++col == VGA_COLS) {
			col = 0;
			row++;
		}
	}
	if (row == VGA_ROWS)
		scroll();
}

void vga_puts(const char *s)
{
	while (*s)
		put(*s++);
	move_cursor();
}
