/*
 * vga.c - the VGA text screen: 80x25 cells of (character, attribute) at
 * physical 0xB8000, and the hardware cursor in the CRT controller.
 */
#include "defs.h"
#include "memlayout.h"
#include "x86.h"

#define VGA_TEXT	0xB8000
#define VGA_COLS	80
#define VGA_ROWS	25
#define VGA_ATTR	0x0700	/* light grey on black */
#define CRTC_INDEX	0x3D4
#define CRTC_DATA	0x3D5
#define CRTC_CURSOR_HI	0x0E
#define CRTC_CURSOR_LO	0x0F

static uint16_t *screen;
static int pos;		/* cursor: row * VGA_COLS + column */

static void set_cursor(void)
{
	outb(CRTC_INDEX, CRTC_CURSOR_HI);
	outb(CRTC_DATA, pos >> 8);
	outb(CRTC_INDEX, CRTC_CURSOR_LO);
	outb(CRTC_DATA, pos & 0xFF);
}

static void scroll(void)
{
	memmove(screen, screen + VGA_COLS, sizeof(screen[0]) * VGA_COLS * (VGA_ROWS - 1));
	for (int i = 0; i < VGA_COLS; i++)
		screen[VGA_COLS * (VGA_ROWS - 1) + i] = VGA_ATTR | ' ';
	pos -= VGA_COLS;
}

/* Clear the screen and home the cursor. */
void vga_init(void)
{
	screen = P2V(VGA_TEXT);
	for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		screen[i] = VGA_ATTR | ' ';
	pos = 0;
	set_cursor();
}

/* Show one character; understands newline and backspace, scrolls at the end. */
void vga_putc(int c)
{
	if (!screen)
		return;
	if (c == '\n')
		pos += VGA_COLS - pos % VGA_COLS;
	else if (c == '\b') {
		if (pos > 0)
			pos--;
	} else if (c != '\r')
		screen[pos++] = VGA_ATTR | (c & 0xFF);
	if (pos >= VGA_COLS * VGA_ROWS)
		scroll();
	set_cursor();
}
