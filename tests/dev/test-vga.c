/*
 * test-vga.c - VGA registers (CRTC with its write protection, attribute
 * flip-flop, misc output and the mono/colour port switch, DAC), input
 * status 1 timing, the text dump and the cursor, save/restore.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "ioport.h"
#include "physmem.h"
#include "testboard.h"
#include "vga.h"

struct fix {
	struct testboard tb;
	struct dev_vga *vga;
};

static void fix_init(struct fix *f)
{
	*f = (struct fix){0};
	testboard_init(&f->tb);
	f->vga = testboard_adopt(&f->tb, dev_vga_new(&f->tb.board, &f->tb.err));
}

static uint8_t in8(struct fix *f, uint16_t port)
{
	return (uint8_t)ioport_read(f->tb.io, port, 1);
}

static void out8(struct fix *f, uint16_t port, uint8_t v)
{
	ioport_write(f->tb.io, port, v, 1);
}

static uint8_t crtc_rd(struct fix *f, uint8_t i)
{
	out8(f, VGA_CRTC_INDEX_COLOR, i);
	return in8(f, VGA_CRTC_DATA_COLOR);
}

static void crtc_wr(struct fix *f, uint8_t i, uint8_t v)
{
	out8(f, VGA_CRTC_INDEX_COLOR, i);
	out8(f, VGA_CRTC_DATA_COLOR, v);
}

static void put_text(struct fix *f, unsigned cell, const char *s)
{
	for (; *s; s++, cell++) {
		uint8_t w[2] = {(uint8_t)*s, 0x07};
		pmem_store(f->tb.pm, VGA_TEXT_BASE + cell * 2, w, 2);
	}
}

static void test_power_on_mode3(void)
{
	struct fix f;
	fix_init(&f);
	g_assert_cmphex(in8(&f, VGA_MISC_READ_PORT), ==, 0x67);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_H_TOTAL), ==, 0x5f);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_CURSOR_START), ==, 14);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_CURSOR_END), ==, 15);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_START_HI), ==, 0);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_START_LO), ==, 0);
	g_assert_cmphex(crtc_rd(&f, 0x13), ==, 0x28);
	int row, col;
	bool vis;
	dev_vga_cursor(f.vga, &row, &col, &vis);
	g_assert_cmpint(row, ==, 0);
	g_assert_cmpint(col, ==, 0);
	g_assert_true(vis);
	testboard_free(&f.tb);
}

static void test_crtc_round_trip_and_protect(void)
{
	struct fix f;
	fix_init(&f);
	for (uint8_t i = 0x08; i < VGA_CRTC_REGS; i++) {
		if (i == VGA_CR_V_RETRACE_END)
			continue;
		crtc_wr(&f, i, (uint8_t)(0xa0 + i));
		g_assert_cmphex(crtc_rd(&f, i), ==, 0xa0 + i);
	}
	g_assert_cmphex(in8(&f, VGA_CRTC_INDEX_COLOR), ==, VGA_CRTC_REGS - 1);
	/* CR11 bit 7 protects CR00-CR07 except CR07 bit 4 */
	crtc_wr(&f, VGA_CR_H_TOTAL, 0x12);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_H_TOTAL), ==, 0x5f);
	crtc_wr(&f, VGA_CR_OVERFLOW, 0x00);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_OVERFLOW), ==, 0x0f);
	crtc_wr(&f, VGA_CR_V_RETRACE_END, 0x0e);
	crtc_wr(&f, VGA_CR_H_TOTAL, 0x12);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_H_TOTAL), ==, 0x12);
	/* a word write: index in the low byte, data in the high byte */
	ioport_write(f.tb.io, VGA_CRTC_INDEX_COLOR, 0x3400 | VGA_CR_CURSOR_LO, 2);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_CURSOR_LO), ==, 0x34);
	testboard_free(&f.tb);
}

static void test_cursor(void)
{
	struct fix f;
	fix_init(&f);
	crtc_wr(&f, VGA_CR_CURSOR_HI, 0x00);
	crtc_wr(&f, VGA_CR_CURSOR_LO, 163); /* row 2, col 3 */
	int row, col;
	bool vis;
	dev_vga_cursor(f.vga, &row, &col, &vis);
	g_assert_cmpint(row, ==, 2);
	g_assert_cmpint(col, ==, 3);
	g_assert_true(vis);
	crtc_wr(&f, VGA_CR_START_LO, 80); /* scrolled by a line */
	dev_vga_cursor(f.vga, &row, &col, &vis);
	g_assert_cmpint(row, ==, 1);
	crtc_wr(&f, VGA_CR_CURSOR_START, VGA_CURSOR_DISABLE | 14);
	dev_vga_cursor(f.vga, &row, &col, &vis);
	g_assert_false(vis);
	crtc_wr(&f, VGA_CR_CURSOR_START, 14);
	crtc_wr(&f, VGA_CR_CURSOR_HI, 0x10); /* off screen */
	dev_vga_cursor(f.vga, &row, &col, &vis);
	g_assert_false(vis);
	testboard_free(&f.tb);
}

static void test_attribute_flipflop(void)
{
	struct fix f;
	fix_init(&f);
	in8(&f, VGA_STATUS1_COLOR); /* flip-flop to index */
	out8(&f, VGA_ATTR_PORT, 0x12 | VGA_ATTR_PAS);
	out8(&f, VGA_ATTR_PORT, 0x05);
	g_assert_cmphex(in8(&f, VGA_ATTR_PORT), ==, 0x12 | VGA_ATTR_PAS);
	g_assert_cmphex(in8(&f, VGA_ATTR_READ_PORT), ==, 0x05);
	out8(&f, VGA_ATTR_PORT, 0x11); /* index; flip-flop now at data */
	in8(&f, VGA_STATUS1_COLOR);    /* back to index */
	out8(&f, VGA_ATTR_PORT, 0x13 | VGA_ATTR_PAS);
	g_assert_cmphex(in8(&f, VGA_ATTR_PORT), ==, 0x13 | VGA_ATTR_PAS);
	out8(&f, VGA_ATTR_PORT, 0x04);
	g_assert_cmphex(in8(&f, VGA_ATTR_READ_PORT), ==, 0x04);
	out8(&f, VGA_ATTR_PORT, 0x11 | VGA_ATTR_PAS);
	g_assert_cmphex(in8(&f, VGA_ATTR_READ_PORT), ==, 0x00); /* overscan untouched */
	testboard_free(&f.tb);
}

static void test_misc_selects_mono_ports(void)
{
	struct fix f;
	fix_init(&f);
	g_assert_cmphex(in8(&f, VGA_CRTC_DATA_MONO), ==, 0xff);
	out8(&f, VGA_MISC_WRITE_PORT, 0x66);
	g_assert_cmphex(in8(&f, VGA_MISC_READ_PORT), ==, 0x66);
	g_assert_cmphex(in8(&f, VGA_CRTC_DATA_COLOR), ==, 0xff);
	out8(&f, VGA_CRTC_INDEX_MONO, VGA_CR_START_LO);
	out8(&f, VGA_CRTC_DATA_MONO, 0x42);
	g_assert_cmphex(in8(&f, VGA_CRTC_DATA_MONO), ==, 0x42);
	out8(&f, VGA_MISC_WRITE_PORT, 0x67);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_START_LO), ==, 0x42);
	testboard_free(&f.tb);
}

static void test_seq_gc_dac(void)
{
	struct fix f;
	fix_init(&f);
	out8(&f, VGA_SEQ_INDEX_PORT, 2);
	g_assert_cmphex(in8(&f, VGA_SEQ_DATA_PORT), ==, 0x03);
	out8(&f, VGA_SEQ_DATA_PORT, 0x0f);
	g_assert_cmphex(in8(&f, VGA_SEQ_DATA_PORT), ==, 0x0f);
	out8(&f, VGA_GC_INDEX_PORT, 6);
	g_assert_cmphex(in8(&f, VGA_GC_DATA_PORT), ==, 0x0e);
	out8(&f, VGA_GC_DATA_PORT, 0x05);
	g_assert_cmphex(in8(&f, VGA_GC_DATA_PORT), ==, 0x05);
	/* DAC: EGA colour 0x3F is white; writes auto-increment */
	out8(&f, VGA_DAC_READ_INDEX_PORT, 0x3f);
	g_assert_cmphex(in8(&f, VGA_DAC_READ_INDEX_PORT), ==, VGA_DAC_STATE_READ);
	g_assert_cmphex(in8(&f, VGA_DAC_DATA_PORT), ==, 0x3f);
	out8(&f, VGA_DAC_WRITE_INDEX_PORT, 0x80);
	g_assert_cmphex(in8(&f, VGA_DAC_READ_INDEX_PORT), ==, VGA_DAC_STATE_WRITE);
	const uint8_t rgb[6] = {1, 2, 3, 4, 5, 0x46};
	for (int i = 0; i < 6; i++)
		out8(&f, VGA_DAC_DATA_PORT, rgb[i]);
	g_assert_cmphex(in8(&f, VGA_DAC_WRITE_INDEX_PORT), ==, 0x82);
	out8(&f, VGA_DAC_READ_INDEX_PORT, 0x80);
	for (int i = 0; i < 6; i++)
		g_assert_cmphex(in8(&f, VGA_DAC_DATA_PORT), ==, rgb[i] & 0x3f);
	testboard_free(&f.tb);
}

/* The first cycle at which the beam is at character clock `pos` of the
 * mode 3 frame (449 lines of 100 characters, 60 frames a second). */
static uint64_t cycle_of(uint64_t pos)
{
	uint64_t frame = 449 * 100;
	return (pos * CLOCK_HZ + frame * VGA_FRAME_HZ - 1) / (frame * VGA_FRAME_HZ);
}

static void test_status1_timing(void)
{
	struct fix f;
	fix_init(&f);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(0)), ==, 0);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(79)), ==, 0);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(80)), ==, VGA_ST1_DISPLAY_DISABLED);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(400 * 100)), ==, VGA_ST1_DISPLAY_DISABLED);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(412 * 100 - 1)), ==,
			VGA_ST1_DISPLAY_DISABLED);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(412 * 100)), ==,
			VGA_ST1_DISPLAY_DISABLED | VGA_ST1_V_RETRACE);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(414 * 100 - 1)), ==,
			VGA_ST1_DISPLAY_DISABLED | VGA_ST1_V_RETRACE);
	g_assert_cmphex(dev_vga_status1(f.vga, cycle_of(414 * 100)), ==, VGA_ST1_DISPLAY_DISABLED);
	/* the next frame starts 1/60 s later */
	g_assert_cmphex(dev_vga_status1(f.vga, CLOCK_HZ / 60 + cycle_of(412 * 100) + 1), ==,
			VGA_ST1_DISPLAY_DISABLED | VGA_ST1_V_RETRACE);
	/* over a frame: 2 of 449 lines in retrace */
	int vr = 0, dd = 0, n = 0;
	for (uint64_t t = 0; t < CLOCK_HZ / 60; t += 50, n++) {
		uint8_t s = dev_vga_status1(f.vga, t);
		vr += (s & VGA_ST1_V_RETRACE) != 0;
		dd += (s & VGA_ST1_DISPLAY_DISABLED) != 0;
	}
	g_assert_cmpint(abs(vr - n * 2 / 449), <=, 1);
	int shown = n * 400 / 449 * 80 / 100;
	g_assert_cmpint(abs((n - dd) - shown), <=, 3);
	/* through the port, at the clock's time */
	f.tb.cycles = cycle_of(413 * 100);
	g_assert_cmphex(in8(&f, VGA_STATUS1_COLOR), ==,
			VGA_ST1_DISPLAY_DISABLED | VGA_ST1_V_RETRACE);
	testboard_free(&f.tb);
}

static void test_dump_text(void)
{
	struct fix f;
	fix_init(&f);
	GString *s = g_string_new(NULL);
	dev_vga_dump_text(f.vga, s);
	g_assert_cmpstr(s->str, ==, ""); /* a blank (zeroed) screen */
	put_text(&f, 0, "Hello");
	put_text(&f, 160, "x  \x01\xc9\xb0\x7f");
	put_text(&f, 24 * 80 + 75, "end  ");
	g_string_truncate(s, 0);
	dev_vga_dump_text(f.vga, s);
	GString *want = g_string_new("Hello\n\nx  \u263a\u2554\u2591\u2302\n");
	for (int i = 3; i < 24; i++)
		g_string_append_c(want, '\n');
	g_string_append(
		want,
		"                                                                           end\n");
	g_assert_cmpstr(s->str, ==, want->str);
	/* from the start address: row 0 is now the old row 2 */
	crtc_wr(&f, VGA_CR_START_LO, 160);
	g_string_truncate(s, 0);
	dev_vga_dump_text(f.vga, s);
	g_assert_true(g_str_has_prefix(s->str, "x  \u263a\u2554\u2591\u2302\n"));
	g_assert_true(g_str_has_suffix(s->str, "end\n")); /* now on row 22, the last with text */
	unsigned lines = 0;
	for (const char *p = s->str; *p; p++)
		lines += *p == '\n';
	g_assert_cmpuint(lines, ==, 23);
	/* wrapping within the 32 KiB window */
	crtc_wr(&f, VGA_CR_START_HI, 0x3f);
	crtc_wr(&f, VGA_CR_START_LO, 0xfe);
	g_string_truncate(s, 0);
	dev_vga_dump_text(f.vga, s);
	g_assert_true(g_str_has_prefix(s->str, "  Hello\n"));
	g_string_free(want, TRUE);
	g_string_free(s, TRUE);
	testboard_free(&f.tb);
}

static void test_save_restore(void)
{
	struct fix f;
	fix_init(&f);
	crtc_wr(&f, VGA_CR_CURSOR_LO, 99);
	in8(&f, VGA_STATUS1_COLOR);
	out8(&f, VGA_ATTR_PORT, 0x10 | VGA_ATTR_PAS); /* flip-flop at data */
	out8(&f, VGA_DAC_WRITE_INDEX_PORT, 7);
	out8(&f, VGA_DAC_DATA_PORT, 9);
	GByteArray *blob = g_byte_array_new();
	f.vga->dev.ops->save(&f.vga->dev, blob);

	crtc_wr(&f, VGA_CR_CURSOR_LO, 1);
	in8(&f, VGA_STATUS1_COLOR);
	out8(&f, VGA_DAC_DATA_PORT, 9);
	GError *err = NULL;
	g_assert_true(f.vga->dev.ops->restore(&f.vga->dev, blob->data, blob->len, &err));
	g_assert_no_error(err);
	out8(&f, VGA_ATTR_PORT, 0x0a); /* the data write the saved flip-flop expects */
	g_assert_cmphex(in8(&f, VGA_ATTR_READ_PORT), ==, 0x0a);
	out8(&f, VGA_DAC_DATA_PORT, 11);
	out8(&f, VGA_DAC_DATA_PORT, 12);
	out8(&f, VGA_DAC_READ_INDEX_PORT, 7);
	g_assert_cmphex(in8(&f, VGA_DAC_DATA_PORT), ==, 9);
	g_assert_cmphex(in8(&f, VGA_DAC_DATA_PORT), ==, 11);
	g_assert_cmphex(in8(&f, VGA_DAC_DATA_PORT), ==, 12);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_CURSOR_LO), ==, 99);
	g_assert_false(f.vga->dev.ops->restore(&f.vga->dev, blob->data, blob->len + 0 - 1, &err));
	g_assert_nonnull(err);
	g_error_free(err);
	f.vga->dev.ops->reset(&f.vga->dev);
	g_assert_cmphex(crtc_rd(&f, VGA_CR_CURSOR_LO), ==, 0);
	g_byte_array_unref(blob);
	testboard_free(&f.tb);
}

static void test_port_taken(void)
{
	struct fix f;
	fix_init(&f);
	GError *err = NULL;
	g_assert_null(dev_vga_new(&f.tb.board, &err));
	g_assert_nonnull(err);
	g_error_free(err);
	testboard_free(&f.tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dev/vga/power-on-mode3", test_power_on_mode3);
	g_test_add_func("/dev/vga/crtc-round-trip-and-protect", test_crtc_round_trip_and_protect);
	g_test_add_func("/dev/vga/cursor", test_cursor);
	g_test_add_func("/dev/vga/attribute-flipflop", test_attribute_flipflop);
	g_test_add_func("/dev/vga/misc-selects-mono-ports", test_misc_selects_mono_ports);
	g_test_add_func("/dev/vga/seq-gc-dac", test_seq_gc_dac);
	g_test_add_func("/dev/vga/status1-timing", test_status1_timing);
	g_test_add_func("/dev/vga/dump-text", test_dump_text);
	g_test_add_func("/dev/vga/save-restore", test_save_restore);
	g_test_add_func("/dev/vga/port-taken", test_port_taken);
	return g_test_run();
}
