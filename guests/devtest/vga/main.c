/*
 * guests/devtest/vga/main.c - the VGA's registers in text mode 3 as a
 * kernel sees them: CRTC round trips and the CR0-CR7 write protection,
 * the cursor location registers, the miscellaneous output register read
 * back at 0x3CC, input status 1 (0x3DA) changing within a bounded poll,
 * the attribute controller's index/data flip-flop and its reset by a read
 * of 0x3DA, a DAC entry and a graphics controller register; then it writes
 * a known screen with vga_puts and exits. nestlab-run --vga-dump prints
 * that screen after the run.
 *
 * Poll counts depend on timing (QEMU toggles 0x3DA per read, nestlab from
 * the beam position in virtual time), so they are printed on TIME: lines.
 */
#include "rt.h"

#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5
#define CR_VRETRACE_END 0x11
#define CR_H_DISPLAY_END 0x01
#define CR_CURSOR_START 0x0A
#define CR_CURSOR_END 0x0B
#define CR_START_HI 0x0C
#define CR_START_LO 0x0D
#define CR_CURSOR_HI 0x0E
#define CR_CURSOR_LO 0x0F
#define CR_OFFSET 0x13
#define CR_UNDERLINE 0x14
#define CR11_PROTECT 0x80
#define MISC_READ 0x3CC
#define MISC_WRITE 0x3C2
#define MISC_COLOR_IO 0x01
#define MISC_PAGE 0x20
#define STATUS1 0x3DA
#define ST1_DISPLAY_DISABLED 0x01
#define ST1_VRETRACE 0x08
#define ATTR_INDEX 0x3C0
#define ATTR_READ 0x3C1
#define ATTR_PAS 0x20
#define ATTR_OVERSCAN 0x11
#define ATTR_PLANE_ENABLE 0x12
#define DAC_READ_INDEX 0x3C7
#define DAC_WRITE_INDEX 0x3C8
#define DAC_DATA 0x3C9
#define DAC_TEST_ENTRY 0xF0 /* unused by the text palette */
#define GC_INDEX 0x3CE
#define GC_DATA 0x3CF
#define GC_BIT_MASK 0x08

#define POLL_LIMIT 20000000u

int main(void);

static uint8_t crtc_read(uint8_t i)
{
	outb(CRTC_INDEX, i);
	return inb(CRTC_DATA);
}

static void crtc_write(uint8_t i, uint8_t v)
{
	outb(CRTC_INDEX, i);
	outb(CRTC_DATA, v);
}

static void test_crtc_round_trips(void)
{
	static const uint8_t regs[] = {CR_START_HI, CR_START_LO,  CR_CURSOR_HI,    CR_CURSOR_LO,
				       CR_OFFSET,   CR_UNDERLINE, CR_CURSOR_START, CR_CURSOR_END};
	static const uint8_t vals[] = {0x12, 0x34, 0x07, 0xCF, 0x29, 0x1E, 0x0B, 0x0C};
	uint8_t saved[sizeof regs];
	bool ok = true;
	for (unsigned i = 0; i < sizeof regs; i++) {
		saved[i] = crtc_read(regs[i]);
		crtc_write(regs[i], vals[i]);
	}
	for (unsigned i = 0; i < sizeof regs; i++) {
		uint8_t got = crtc_read(regs[i]);
		if (got != vals[i]) {
			rt_fail("crtc round trip", "CR%02x reads %02x, wrote %02x", regs[i], got,
				vals[i]);
			ok = false;
		}
		crtc_write(regs[i], saved[i]);
	}
	if (ok)
		rt_pass("crtc round trips of CR0A-CR0F, CR13, CR14");
	rt_check_eq(inb(CRTC_INDEX), CR_CURSOR_END, "crtc index register reads back");
}

static void test_crtc_protect(void)
{
	uint8_t cr11 = crtc_read(CR_VRETRACE_END);
	rt_check(cr11 & CR11_PROTECT, "crtc CR11 bit 7 (protect CR0-CR7) set in mode 3");
	uint8_t cr1 = crtc_read(CR_H_DISPLAY_END);
	crtc_write(CR_H_DISPLAY_END, cr1 ^ 0x01);
	rt_check_eq(crtc_read(CR_H_DISPLAY_END), cr1, "crtc CR01 ignores writes while protected");
}

static void test_cursor_location(void)
{
	uint16_t pos = 7 * 80 + 33;
	crtc_write(CR_CURSOR_HI, pos >> 8);
	crtc_write(CR_CURSOR_LO, pos & 0xFF);
	uint16_t got = (uint16_t)(crtc_read(CR_CURSOR_HI) << 8 | crtc_read(CR_CURSOR_LO));
	rt_check_eq(got, pos, "crtc cursor location CR0E/CR0F");
}

static void test_misc_output(void)
{
	uint8_t misc = inb(MISC_READ);
	rt_check(misc & MISC_COLOR_IO, "misc output: colour I/O addresses (bit 0) in mode 3");
	outb(MISC_WRITE, misc ^ MISC_PAGE);
	rt_check_eq(inb(MISC_READ), misc ^ MISC_PAGE,
		    "misc output written at 3C2 reads back at 3CC");
	outb(MISC_WRITE, misc);
	rt_check_eq(inb(MISC_READ), misc, "misc output restored");
}

static void test_status1_toggles(void)
{
	uint8_t first = inb(STATUS1);
	uint32_t vr_on = 0, vr_off = 0, de_change = 0;
	for (uint32_t i = 1; i < POLL_LIMIT && !(vr_on && vr_off && de_change); i++) {
		uint8_t s = inb(STATUS1);
		if (s & ST1_VRETRACE)
			vr_on = vr_on ? vr_on : i;
		else
			vr_off = vr_off ? vr_off : i;
		if ((s ^ first) & ST1_DISPLAY_DISABLED)
			de_change = de_change ? de_change : i;
	}
	rt_check(vr_on && vr_off, "input status 1: vertical retrace bit seen set and clear");
	rt_check(de_change != 0, "input status 1: display-disabled bit changes");
	rt_printf("TIME: 3DA retrace on at poll %u, off at %u, bit 0 changed at %u\n", vr_on,
		  vr_off, de_change);
}

static void attr_write(uint8_t index, uint8_t v)
{
	inb(STATUS1);
	outb(ATTR_INDEX, index | ATTR_PAS);
	outb(ATTR_INDEX, v);
}

static uint8_t attr_read(uint8_t index)
{
	inb(STATUS1);
	outb(ATTR_INDEX, index | ATTR_PAS);
	uint8_t v = inb(ATTR_READ);
	inb(STATUS1);
	return v;
}

static void test_attribute_flipflop(void)
{
	uint8_t overscan = attr_read(ATTR_OVERSCAN), planes = attr_read(ATTR_PLANE_ENABLE);
	attr_write(ATTR_OVERSCAN, 0x05);
	rt_check_eq(inb(ATTR_INDEX), ATTR_OVERSCAN | ATTR_PAS,
		    "attribute index reads back after index and data writes");
	rt_check_eq(inb(ATTR_READ), 0x05, "attribute data written at 3C0 reads back at 3C1");
	/* an index write leaves the flip-flop at "data"; a 3DA read resets it */
	outb(ATTR_INDEX, ATTR_OVERSCAN | ATTR_PAS);
	inb(STATUS1);
	outb(ATTR_INDEX, ATTR_PLANE_ENABLE | ATTR_PAS); /* an index again, not data */
	outb(ATTR_INDEX, 0x03);
	rt_check_eq(inb(ATTR_INDEX), ATTR_PLANE_ENABLE | ATTR_PAS,
		    "a read of 3DA resets the attribute flip-flop to index");
	rt_check_eq(attr_read(ATTR_OVERSCAN), 0x05,
		    "attribute overscan kept (no stray data write)");
	rt_check_eq(attr_read(ATTR_PLANE_ENABLE), 0x03, "attribute plane enable written");
	attr_write(ATTR_OVERSCAN, overscan);
	attr_write(ATTR_PLANE_ENABLE, planes);
	inb(STATUS1);
}

static void test_dac_and_gc(void)
{
	static const uint8_t rgb[3] = {0x01, 0x22, 0x3F};
	outb(DAC_READ_INDEX, DAC_TEST_ENTRY);
	uint8_t saved[3] = {inb(DAC_DATA), inb(DAC_DATA), inb(DAC_DATA)};
	outb(DAC_WRITE_INDEX, DAC_TEST_ENTRY);
	for (int i = 0; i < 3; i++)
		outb(DAC_DATA, rgb[i]);
	rt_check_eq(inb(DAC_WRITE_INDEX), DAC_TEST_ENTRY + 1, "DAC write index advances after B");
	outb(DAC_READ_INDEX, DAC_TEST_ENTRY);
	uint8_t got[3] = {inb(DAC_DATA), inb(DAC_DATA), inb(DAC_DATA)};
	rt_check(got[0] == rgb[0] && got[1] == rgb[1] && got[2] == rgb[2],
		 "DAC entry written at 3C8/3C9 reads back at 3C7/3C9");
	outb(DAC_WRITE_INDEX, DAC_TEST_ENTRY);
	for (int i = 0; i < 3; i++)
		outb(DAC_DATA, saved[i]);
	outb(GC_INDEX, GC_BIT_MASK);
	uint8_t mask = inb(GC_DATA);
	outb(GC_DATA, 0x5A);
	rt_check_eq(inb(GC_DATA), 0x5A, "graphics controller bit mask register round trip");
	outb(GC_DATA, mask);
}

static void test_screen(void)
{
	vga_clear();
	vga_puts("nestlab VGA text devtest\n");
	vga_puts("\xC9\xCD\xCD\xCD\xBB  code page 437: \x01 \x03 \xB0\xB1\xB2 \xE0\xE1\xE3\n");
	vga_puts("\xBA 1 \xBA  80x25, attribute 07\n");
	vga_puts("\xC8\xCD\xCD\xCD\xBC\n\n");
	vga_puts("last line");
	uint16_t pos = (uint16_t)(crtc_read(CR_CURSOR_HI) << 8 | crtc_read(CR_CURSOR_LO));
	rt_check_eq(pos, 5 * 80 + 9, "vga_puts leaves the hardware cursor after the text");
	rt_check_eq((uint32_t)crtc_read(CR_START_HI) << 8 | crtc_read(CR_START_LO), 0,
		    "crtc start address 0");
}

int main(void)
{
	test_crtc_round_trips();
	test_crtc_protect();
	test_cursor_location();
	test_misc_output();
	test_status1_toggles();
	test_attribute_flipflop();
	test_dac_and_gc();
	test_screen();
	rt_done();
}
