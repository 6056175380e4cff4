/*
 * test-kbd8042.c - the 8042 controller and the PS/2 keyboard on a real
 * board: status, controller commands, A20 and reset lines, keyboard
 * commands, translation, IRQ 1, host typing with its pacing, save/restore.
 */
#include <glib.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "ioport.h"
#include "kbd8042.h"
#include "physmem.h"
#include "testboard.h"

#define GAP (KBD_KEY_GAP_NS / CLOCK_NS_PER_CYCLE)

struct fix {
	struct testboard tb; /* IRQ 1 only */
	struct dev_kbd *kbd;
	int a20_calls;
	bool a20;
	int resets;
};

static void record_a20(void *opaque, bool enabled)
{
	struct fix *f = opaque;
	f->a20_calls++;
	f->a20 = enabled;
}

static void record_reset(void *opaque)
{
	struct fix *f = opaque;
	f->resets++;
}

static void fix_init(struct fix *f)
{
	*f = (struct fix){0};
	f->a20 = true;
	testboard_init(&f->tb);
	f->tb.only_irq = KBD_IRQ;
	f->kbd = testboard_adopt(
	        &f->tb, dev_kbd_new(&f->tb.board, record_a20, record_reset, f, &f->tb.err));
}

static uint8_t status(struct fix *f)
{
	return (uint8_t)ioport_read(f->tb.io, KBD_STATUS_PORT, 1);
}

static void ccmd(struct fix *f, uint8_t c)
{
	ioport_write(f->tb.io, KBD_STATUS_PORT, c, 1);
}

static void data_out(struct fix *f, uint8_t v)
{
	ioport_write(f->tb.io, KBD_DATA_PORT, v, 1);
}

/* Reads the output buffer, which must be full. */
static uint8_t data_in(struct fix *f)
{
	g_assert_true(status(f) & KBD_STAT_OBF);
	return (uint8_t)ioport_read(f->tb.io, KBD_DATA_PORT, 1);
}

static void assert_empty(struct fix *f)
{
	g_assert_false(status(f) & KBD_STAT_OBF);
}

/* Turns off IRQ 1 and translation so tests see raw bytes quietly. */
static void raw_mode(struct fix *f)
{
	ccmd(f, KBD_CCMD_WRITE_RAM);
	data_out(f, KBD_CB_SYS);
}

static void test_power_on_status(void)
{
	struct fix f;
	fix_init(&f);
	g_assert_cmphex(status(&f), ==, KBD_STAT_UNLOCKED | KBD_STAT_SYS);
	ccmd(&f, KBD_CCMD_READ_RAM);
	g_assert_cmphex(status(&f), ==,
			KBD_STAT_UNLOCKED | KBD_STAT_SYS | KBD_STAT_CMD | KBD_STAT_OBF);
	g_assert_cmphex(data_in(&f), ==, KBD_CB_POWER_ON);
	assert_empty(&f);
	g_assert_true(dev_kbd_a20(f.kbd));
	testboard_free(&f.tb);
}

static void test_self_and_interface_tests(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	ccmd(&f, KBD_CCMD_SELF_TEST);
	g_assert_cmphex(data_in(&f), ==, 0x55);
	ccmd(&f, KBD_CCMD_KBD_TEST);
	g_assert_cmphex(data_in(&f), ==, 0x00);
	ccmd(&f, KBD_CCMD_READ_INPORT);
	g_assert_cmphex(data_in(&f), ==, KBD_INPORT_VALUE);
	g_assert_cmpint(f.tb.raises[KBD_IRQ], ==, 0); /* IRQ 1 is off in raw mode */
	testboard_free(&f.tb);
}

static void test_command_byte_round_trip(void)
{
	struct fix f;
	fix_init(&f);
	ccmd(&f, KBD_CCMD_WRITE_RAM);
	data_out(&f, 0x24);
	ccmd(&f, KBD_CCMD_READ_RAM);
	g_assert_cmphex(data_in(&f), ==, 0x24);
	g_assert_true(status(&f) & KBD_STAT_CMD); /* the last write went to 0x64 */
	ccmd(&f, KBD_CCMD_KBD_DISABLE);
	ccmd(&f, KBD_CCMD_READ_RAM);
	g_assert_cmphex(data_in(&f), ==, 0x24 | KBD_CB_KBD_DISABLE);
	ccmd(&f, KBD_CCMD_KBD_ENABLE);
	ccmd(&f, KBD_CCMD_READ_RAM);
	g_assert_cmphex(data_in(&f), ==, 0x24);
	ccmd(&f, KBD_CCMD_WRITE_RAM + 5); /* other internal RAM bytes */
	data_out(&f, 0xa5);
	ccmd(&f, KBD_CCMD_READ_RAM + 5);
	g_assert_cmphex(data_in(&f), ==, 0xa5);
	testboard_free(&f.tb);
}

static void test_no_aux_port(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	ccmd(&f, KBD_CCMD_AUX_ENABLE);
	ccmd(&f, KBD_CCMD_READ_RAM);
	g_assert_cmphex(data_in(&f) & KBD_CB_AUX_DISABLE, ==, 0);
	ccmd(&f, KBD_CCMD_AUX_DISABLE);
	ccmd(&f, KBD_CCMD_AUX_ENABLE);
	ccmd(&f, KBD_CCMD_READ_RAM);
	g_assert_cmphex(data_in(&f) & KBD_CB_AUX_DISABLE, ==, KBD_CB_AUX_DISABLE);
	ccmd(&f, KBD_CCMD_AUX_TEST);
	g_assert_cmphex(data_in(&f), ==, KBD_AUX_TEST_NO_DEVICE);
	ccmd(&f, KBD_CCMD_WRITE_AUX);
	data_out(&f, 0xff); /* a mouse reset goes nowhere */
	assert_empty(&f);
	g_assert_false(status(&f) & KBD_STAT_AUXB);
	testboard_free(&f.tb);
}

static void test_a20_and_reset_lines(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	ccmd(&f, KBD_CCMD_READ_OUTPORT);
	uint8_t out = data_in(&f);
	g_assert_cmphex(out & (KBD_OUT_A20 | KBD_OUT_RESET), ==, KBD_OUT_A20 | KBD_OUT_RESET);
	ccmd(&f, KBD_CCMD_WRITE_OUTPORT);
	data_out(&f, out & ~KBD_OUT_A20);
	g_assert_cmpint(f.a20_calls, ==, 1);
	g_assert_false(f.a20);
	g_assert_false(dev_kbd_a20(f.kbd));
	ccmd(&f, KBD_CCMD_A20_ON);
	g_assert_true(f.a20);
	ccmd(&f, KBD_CCMD_A20_ON); /* no change, no call */
	g_assert_cmpint(f.a20_calls, ==, 2);
	ccmd(&f, KBD_CCMD_A20_OFF);
	g_assert_false(f.a20);
	ccmd(&f, KBD_CCMD_READ_OUTPORT);
	g_assert_cmphex(data_in(&f) & KBD_OUT_A20, ==, 0);
	g_assert_cmpint(f.resets, ==, 0);
	ccmd(&f, 0xff); /* pulse nothing */
	g_assert_cmpint(f.resets, ==, 0);
	ccmd(&f, 0xfe); /* pulse reset */
	g_assert_cmpint(f.resets, ==, 1);
	ccmd(&f, KBD_CCMD_WRITE_OUTPORT);
	data_out(&f, KBD_OUT_A20);
	g_assert_cmpint(f.resets, ==, 2);
	g_assert_true(f.a20);
	testboard_free(&f.tb);
}

static void test_keyboard_commands_raw(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	data_out(&f, KBD_CMD_ECHO);
	g_assert_cmphex(data_in(&f), ==, 0xee);
	data_out(&f, KBD_CMD_IDENTIFY);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmphex(data_in(&f), ==, 0xab);
	g_assert_cmphex(data_in(&f), ==, 0x83);
	assert_empty(&f);
	data_out(&f, KBD_CMD_RESET);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmphex(data_in(&f), ==, 0xaa);
	data_out(&f, KBD_CMD_LEDS);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	data_out(&f, 0x07);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	data_out(&f, KBD_CMD_SCANSET);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	data_out(&f, 0x00);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmphex(data_in(&f), ==, 0x02);
	data_out(&f, KBD_CMD_TYPEMATIC);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	data_out(&f, 0x20);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	data_out(&f, 0x01); /* unknown */
	g_assert_cmphex(data_in(&f), ==, 0xfe);
	data_out(&f, KBD_CMD_ENABLE);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	data_out(&f, KBD_CMD_RESEND);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	testboard_free(&f.tb);
}

static void test_translated_replies(void)
{
	struct fix f;
	fix_init(&f);
	ccmd(&f, KBD_CCMD_WRITE_RAM);
	data_out(&f, KBD_CB_SYS | KBD_CB_TRANSLATE);
	data_out(&f, KBD_CMD_IDENTIFY);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmphex(data_in(&f), ==, 0xab);
	g_assert_cmphex(data_in(&f), ==, 0x41);
	data_out(&f, KBD_CMD_SCANSET);
	data_out(&f, 0x00);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmphex(data_in(&f), ==, 0x41); /* set 2, translated */
	testboard_free(&f.tb);
}

static void test_irq1_follows_obf(void)
{
	struct fix f;
	fix_init(&f); /* power-on: IRQ 1 enabled */
	data_out(&f, KBD_CMD_ECHO);
	g_assert_true(f.tb.level[KBD_IRQ]);
	g_assert_cmpint(f.tb.raises[KBD_IRQ], ==, 1);
	data_in(&f);
	g_assert_false(f.tb.level[KBD_IRQ]);
	data_out(&f, KBD_CMD_IDENTIFY);
	g_assert_true(f.tb.level[KBD_IRQ]);
	data_in(&f);
	g_assert_true(f.tb.level[KBD_IRQ]); /* the next byte is there at once, with a new edge */
	g_assert_cmpint(f.tb.raises[KBD_IRQ], ==, 3);
	ccmd(&f, KBD_CCMD_WRITE_RAM); /* disable IRQ 1 while a byte waits */
	data_out(&f, KBD_CB_SYS);
	g_assert_false(f.tb.level[KBD_IRQ]);
	g_assert_cmphex(data_in(&f), ==, 0xab);
	g_assert_cmphex(data_in(&f), ==, 0x83);
	g_assert_cmpint(f.tb.raises[KBD_IRQ], ==, 3);
	testboard_free(&f.tb);
}

static void test_type_paced_and_translated(void)
{
	struct fix f;
	fix_init(&f);
	ccmd(&f, KBD_CCMD_WRITE_RAM);
	data_out(&f, KBD_CB_SYS | KBD_CB_TRANSLATE);
	testboard_run_to(&f.tb, 1000);
	dev_kbd_type(f.kbd, "aA\n");
	/* set 1: a 1E 9E, Shift 2A, A 1E 9E, Shift AA, Enter 1C 9C */
	static const uint8_t want[] = {0x1e, 0x9e, 0x2a, 0x1e, 0x9e, 0xaa, 0x1c, 0x9c};
	uint64_t t = 1000;
	for (unsigned i = 0; i < sizeof want; i++) {
		g_assert_cmphex(data_in(&f), ==, want[i]);
		assert_empty(&f); /* the next one waits for the gap */
		testboard_run_to(&f.tb, t + GAP - 1);
		assert_empty(&f);
		t += GAP;
		testboard_run_to(&f.tb, t);
	}
	assert_empty(&f);
	g_assert_cmpuint(dev_kbd_pending(f.kbd), ==, 0);
	testboard_free(&f.tb);
}

static void test_type_waits_for_read(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	dev_kbd_type(f.kbd, "b");
	testboard_run_to(&f.tb, 10 * GAP);
	g_assert_cmphex(data_in(&f), ==, 0x32);
	/* the gap has long passed: the next byte comes on the read itself */
	g_assert_cmphex(data_in(&f), ==, 0xf0);
	assert_empty(&f);
	testboard_run_to(&f.tb, 11 * GAP);
	g_assert_cmphex(data_in(&f), ==, 0x32);
	assert_empty(&f);
	testboard_free(&f.tb);
}

static void test_key_extended_and_set1(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	dev_kbd_key(f.kbd, 0xe075, true); /* cursor up */
	dev_kbd_key(f.kbd, 0xe075, false);
	static const uint8_t want[] = {0xe0, 0x75, 0xe0, 0xf0, 0x75};
	for (unsigned i = 0; i < sizeof want; i++) {
		testboard_run_to(&f.tb, (i + 1) * GAP);
		g_assert_cmphex(data_in(&f), ==, want[i]);
	}
	data_out(&f, KBD_CMD_SCANSET);
	data_in(&f);
	data_out(&f, 1);
	data_in(&f);
	dev_kbd_key(f.kbd, 0xe075, false);
	testboard_run_to(&f.tb, 100 * GAP);
	g_assert_cmphex(data_in(&f), ==, 0xe0);
	testboard_run_to(&f.tb, 101 * GAP);
	g_assert_cmphex(data_in(&f), ==, 0xc8);
	testboard_free(&f.tb);
}

static void test_disable_holds_and_f5_drops(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	ccmd(&f, KBD_CCMD_KBD_DISABLE);
	dev_kbd_type(f.kbd, "1");
	testboard_run_to(&f.tb, 10 * GAP);
	assert_empty(&f); /* held in the keyboard */
	g_assert_cmpuint(dev_kbd_pending(f.kbd), ==, 3);
	ccmd(&f, KBD_CCMD_KBD_ENABLE);
	g_assert_cmphex(data_in(&f), ==, 0x16);
	data_out(&f, KBD_CMD_DISABLE); /* clears the keyboard's buffer */
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	g_assert_cmpuint(dev_kbd_pending(f.kbd), ==, 0);
	dev_kbd_type(f.kbd, "2");
	g_assert_cmpuint(dev_kbd_pending(f.kbd), ==, 0);
	data_out(&f, KBD_CMD_ENABLE);
	g_assert_cmphex(data_in(&f), ==, 0xfa);
	dev_kbd_type(f.kbd, "2");
	g_assert_cmpuint(dev_kbd_pending(f.kbd), ==, 3);
	testboard_free(&f.tb);
}

static void test_write_obuf(void)
{
	struct fix f;
	fix_init(&f);
	raw_mode(&f);
	ccmd(&f, KBD_CCMD_WRITE_OBUF);
	data_out(&f, 0x5c);
	g_assert_cmphex(data_in(&f), ==, 0x5c);
	testboard_free(&f.tb);
}

static void test_port_taken(void)
{
	struct fix f;
	fix_init(&f);
	GError *err = NULL;
	g_assert_null(dev_kbd_new(&f.tb.board, record_a20, record_reset, &f, &err));
	g_assert_nonnull(err);
	g_error_free(err);
	testboard_free(&f.tb);
}

static void test_save_restore(void)
{
	struct fix f;
	fix_init(&f);
	dev_kbd_type(f.kbd, "Hi!");
	testboard_run_to(&f.tb, 3 * GAP + 17);
	data_in(&f);
	GByteArray *blob = g_byte_array_new();
	f.kbd->dev.ops->save(&f.kbd->dev, blob);
	uint64_t saved_at = f.tb.cycles;
	bool saved_level = f.tb.level[KBD_IRQ];

	GString *first = g_string_new(NULL);
	for (int i = 0; i < 40; i++) {
		testboard_run_to(&f.tb, f.tb.cycles + GAP / 3);
		if (status(&f) & KBD_STAT_OBF)
			g_string_append_printf(first, "%lu:%02x ", (unsigned long)f.tb.cycles,
					       data_in(&f));
	}
	g_assert_cmpuint(first->len, >, 0);

	dev_kbd_type(f.kbd, "zzz");
	data_out(&f, KBD_CMD_ECHO);
	f.tb.cycles = saved_at;
	GError *err = NULL;
	g_assert_true(f.kbd->dev.ops->restore(&f.kbd->dev, blob->data, blob->len, &err));
	g_assert_no_error(err);
	g_assert_cmpint(f.tb.level[KBD_IRQ], ==, saved_level);
	GString *second = g_string_new(NULL);
	for (int i = 0; i < 40; i++) {
		testboard_run_to(&f.tb, f.tb.cycles + GAP / 3);
		if (status(&f) & KBD_STAT_OBF)
			g_string_append_printf(second, "%lu:%02x ", (unsigned long)f.tb.cycles,
					       data_in(&f));
	}
	g_assert_cmpstr(first->str, ==, second->str);
	g_assert_false(f.kbd->dev.ops->restore(&f.kbd->dev, blob->data, 3, &err));
	g_assert_nonnull(err);
	g_error_free(err);
	g_string_free(first, TRUE);
	g_string_free(second, TRUE);
	g_byte_array_unref(blob);
	testboard_free(&f.tb);
}

static void test_reset_op(void)
{
	struct fix f;
	fix_init(&f);
	dev_kbd_type(f.kbd, "abc");
	g_assert_true(f.tb.level[KBD_IRQ]);
	f.kbd->dev.ops->reset(&f.kbd->dev);
	g_assert_false(f.tb.level[KBD_IRQ]);
	g_assert_cmpuint(dev_kbd_pending(f.kbd), ==, 0);
	g_assert_cmpuint(clock_next(f.tb.clock), ==, CLOCK_NEVER);
	testboard_free(&f.tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dev/kbd8042/power-on-status", test_power_on_status);
	g_test_add_func("/dev/kbd8042/self-and-interface-tests", test_self_and_interface_tests);
	g_test_add_func("/dev/kbd8042/command-byte-round-trip", test_command_byte_round_trip);
	g_test_add_func("/dev/kbd8042/no-aux-port", test_no_aux_port);
	g_test_add_func("/dev/kbd8042/a20-and-reset-lines", test_a20_and_reset_lines);
	g_test_add_func("/dev/kbd8042/keyboard-commands-raw", test_keyboard_commands_raw);
	g_test_add_func("/dev/kbd8042/translated-replies", test_translated_replies);
	g_test_add_func("/dev/kbd8042/irq1-follows-obf", test_irq1_follows_obf);
	g_test_add_func("/dev/kbd8042/type-paced-and-translated", test_type_paced_and_translated);
	g_test_add_func("/dev/kbd8042/type-waits-for-read", test_type_waits_for_read);
	g_test_add_func("/dev/kbd8042/key-extended-and-set1", test_key_extended_and_set1);
	g_test_add_func("/dev/kbd8042/disable-holds-f5-drops", test_disable_holds_and_f5_drops);
	g_test_add_func("/dev/kbd8042/write-output-buffer", test_write_obuf);
	g_test_add_func("/dev/kbd8042/port-taken", test_port_taken);
	g_test_add_func("/dev/kbd8042/save-restore", test_save_restore);
	g_test_add_func("/dev/kbd8042/reset", test_reset_op);
	return g_test_run();
}
