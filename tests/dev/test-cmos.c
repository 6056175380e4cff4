/*
 * test-cmos.c - the MC146818A RTC and CMOS RAM on a real board: clock
 * formats, UIP, SET, periodic/alarm/update interrupts, register C, the PC
 * memory-size bytes, NMI mask, save/restore.
 */
#include <glib.h>

#include "clock.h"
#include "cmos.h"
#include "device.h"
#include "ioport.h"
#include "physmem.h"
#include "testboard.h"

#define EPOCH_2024 1710510330 /* 2024-03-15 13:45:30 UTC, a Friday */
#define EPOCH_2099 4102444799 /* 2099-12-31 23:59:59 UTC, a Thursday */
#define MIB (1024u * 1024u)

struct fix {
	struct testboard tb; /* IRQ 8 only */
	struct dev_cmos *cmos;
};

static void fix_init(struct fix *f, int64_t epoch, uint32_t ram)
{
	*f = (struct fix){0};
	testboard_init(&f->tb);
	f->tb.only_irq = CMOS_IRQ;
	f->cmos = testboard_adopt(&f->tb, dev_cmos_new(&f->tb.board, epoch, ram, &f->tb.err));
}

static uint8_t rd(struct fix *f, uint8_t index)
{
	ioport_write(f->tb.io, CMOS_INDEX_PORT, index, 1);
	return (uint8_t)ioport_read(f->tb.io, CMOS_DATA_PORT, 1);
}

static void wr(struct fix *f, uint8_t index, uint8_t v)
{
	ioport_write(f->tb.io, CMOS_INDEX_PORT, index, 1);
	ioport_write(f->tb.io, CMOS_DATA_PORT, v, 1);
}

static void test_power_on(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	g_assert_cmphex(rd(&f, CMOS_REG_A), ==, 0x26);
	g_assert_cmphex(rd(&f, CMOS_REG_B), ==, 0x02);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_REG_D), ==, CMOS_D_VRT);
	g_assert_false(f.tb.level[CMOS_IRQ]);
	testboard_free(&f.tb);
}

static void test_time_bcd(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x30);
	g_assert_cmphex(rd(&f, CMOS_MINUTES), ==, 0x45);
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x13);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_WEEK), ==, 6);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_MONTH), ==, 0x15);
	g_assert_cmphex(rd(&f, CMOS_MONTH), ==, 0x03);
	g_assert_cmphex(rd(&f, CMOS_YEAR), ==, 0x24);
	g_assert_cmphex(rd(&f, CMOS_CENTURY), ==, 0x20);
	testboard_free(&f.tb);
}

static void test_time_binary_and_12h(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_DM_BINARY);
	g_assert_cmpuint(rd(&f, CMOS_SECONDS), ==, 30);
	g_assert_cmpuint(rd(&f, CMOS_MINUTES), ==, 45);
	g_assert_cmpuint(rd(&f, CMOS_HOURS), ==, 13);
	g_assert_cmpuint(rd(&f, CMOS_YEAR), ==, 24);
	g_assert_cmpuint(rd(&f, CMOS_CENTURY), ==, 20);
	wr(&f, CMOS_REG_B, 0); /* 12-hour BCD: 1 PM */
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x81);
	wr(&f, CMOS_HOURS, 0x89); /* set 9 PM in 12-hour mode */
	wr(&f, CMOS_REG_B, CMOS_B_24H);
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x21);
	wr(&f, CMOS_REG_B, 0);
	wr(&f, CMOS_HOURS, 0x12); /* 12 AM is midnight */
	wr(&f, CMOS_REG_B, CMOS_B_24H);
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x00);
	testboard_free(&f.tb);
}

static void test_time_advances_with_cycles(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	testboard_run_to(&f.tb, CLOCK_HZ * 2 + CLOCK_HZ / 2);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x32);
	testboard_run_to(&f.tb, CLOCK_HZ * 30);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_MINUTES), ==, 0x46);
	testboard_free(&f.tb);
}

static void test_century_rollover(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2099, 32 * MIB);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_WEEK), ==, 5);
	testboard_run_to(&f.tb, CLOCK_HZ);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_MONTH), ==, 0x01);
	g_assert_cmphex(rd(&f, CMOS_MONTH), ==, 0x01);
	g_assert_cmphex(rd(&f, CMOS_YEAR), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_CENTURY), ==, 0x21);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_WEEK), ==, 6);
	testboard_free(&f.tb);
}

static void test_uip_window(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	uint64_t window = clock_ns_to_cycles(CMOS_UIP_NS);
	testboard_run_to(&f.tb, CLOCK_HZ - window - 1);
	g_assert_false(rd(&f, CMOS_REG_A) & CMOS_A_UIP);
	testboard_run_to(&f.tb, CLOCK_HZ - window);
	g_assert_true(rd(&f, CMOS_REG_A) & CMOS_A_UIP);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x30); /* the update has not happened */
	testboard_run_to(&f.tb, CLOCK_HZ);
	g_assert_false(rd(&f, CMOS_REG_A) & CMOS_A_UIP);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x31);
	/* never while SET */
	testboard_run_to(&f.tb, 2 * CLOCK_HZ - 10);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_SET);
	g_assert_false(rd(&f, CMOS_REG_A) & CMOS_A_UIP);
	testboard_free(&f.tb);
}

static void test_set_freezes_and_sets_time(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	testboard_run_to(&f.tb, CLOCK_HZ / 4);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_SET | CMOS_B_UIE);
	g_assert_cmphex(rd(&f, CMOS_REG_B), ==, CMOS_B_24H | CMOS_B_SET); /* SET clears UIE */
	testboard_run_to(&f.tb, 5 * CLOCK_HZ);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x30); /* frozen */
	wr(&f, CMOS_SECONDS, 0x58);
	wr(&f, CMOS_MINUTES, 0x59);
	wr(&f, CMOS_HOURS, 0x23);
	wr(&f, CMOS_DAY_OF_MONTH, 0x28);
	wr(&f, CMOS_MONTH, 0x02);
	wr(&f, CMOS_YEAR, 0x24);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x58);
	testboard_run_to(&f.tb, 5 * CLOCK_HZ + CLOCK_HZ / 2);
	wr(&f, CMOS_REG_B, CMOS_B_24H);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x58);
	testboard_run_to(&f.tb, 7 * CLOCK_HZ); /* two divider seconds later: a leap day */
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_MINUTES), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_MONTH), ==, 0x29);
	g_assert_cmphex(rd(&f, CMOS_MONTH), ==, 0x02);
	g_assert_cmphex(rd(&f, CMOS_DAY_OF_WEEK), ==, 5); /* 2024-02-29: Thursday */
	testboard_free(&f.tb);
}

static void test_write_while_running_keeps_phase(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	testboard_run_to(&f.tb, CLOCK_HZ / 2);
	wr(&f, CMOS_MINUTES, 0x10);
	g_assert_cmphex(rd(&f, CMOS_MINUTES), ==, 0x10);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x30);
	testboard_run_to(&f.tb, CLOCK_HZ - 1);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x30);
	testboard_run_to(&f.tb, CLOCK_HZ);
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, 0x31);
	g_assert_cmphex(rd(&f, CMOS_HOURS), ==, 0x13);
	testboard_free(&f.tb);
}

static void test_periodic_irq_held_until_c_read(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_PIE);
	uint64_t first = (CLOCK_HZ + 1023) / 1024; /* 1024 Hz: 32 ticks of 32.768 kHz */
	testboard_run_to(&f.tb, first - 1);
	g_assert_false(f.tb.level[CMOS_IRQ]);
	testboard_run_to(&f.tb, first);
	g_assert_true(f.tb.level[CMOS_IRQ]);
	g_assert_cmpint(f.tb.raises[CMOS_IRQ], ==, 1);
	testboard_run_to(&f.tb, first * 10);
	g_assert_true(f.tb.level[CMOS_IRQ]);
	g_assert_cmpint(f.tb.raises[CMOS_IRQ], ==, 1); /* no new edge while IRQF holds the line */
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, CMOS_C_IRQF | CMOS_C_PF);
	g_assert_false(f.tb.level[CMOS_IRQ]);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, 0);
	testboard_free(&f.tb);
}

static void test_periodic_rate_one_second(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_A, 0x20 | 0x0f); /* 2 Hz */
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_PIE);
	for (uint64_t t = 0; t <= 4 * CLOCK_HZ; t += CLOCK_HZ / 100) {
		testboard_run_to(&f.tb, t);
		if (f.tb.level[CMOS_IRQ])
			rd(&f, CMOS_REG_C);
	}
	g_assert_cmpint(f.tb.raises[CMOS_IRQ], ==, 8);
	wr(&f, CMOS_REG_A, 0x26); /* 1024 Hz */
	int before = f.tb.raises[CMOS_IRQ];
	for (uint64_t i = 1; i <= 4096; i++) {
		testboard_run_to(&f.tb, 4 * CLOCK_HZ + i * CLOCK_HZ / 4096);
		if (f.tb.level[CMOS_IRQ])
			rd(&f, CMOS_REG_C);
	}
	g_assert_cmpint(f.tb.raises[CMOS_IRQ] - before, ==, 1024);
	wr(&f, CMOS_REG_A, 0x21); /* rate 1: 256 Hz, as rate 8 */
	before = f.tb.raises[CMOS_IRQ];
	for (uint64_t i = 1; i <= 4096; i++) {
		testboard_run_to(&f.tb, 5 * CLOCK_HZ + i * CLOCK_HZ / 4096);
		if (f.tb.level[CMOS_IRQ])
			rd(&f, CMOS_REG_C);
	}
	g_assert_cmpint(f.tb.raises[CMOS_IRQ] - before, ==, 256);
	testboard_free(&f.tb);
}

static void test_flags_without_enable(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	testboard_run_to(&f.tb, CLOCK_HZ / 100);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, CMOS_C_PF);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, 0); /* read clears */
	testboard_run_to(&f.tb, CLOCK_HZ + CLOCK_HZ / 100);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, CMOS_C_PF | CMOS_C_UF);
	g_assert_cmpint(f.tb.raises[CMOS_IRQ], ==, 0);
	/* enabling PIE with PF pending raises the line at once */
	testboard_run_to(&f.tb, CLOCK_HZ + CLOCK_HZ / 50);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_PIE);
	g_assert_true(f.tb.level[CMOS_IRQ]);
	testboard_free(&f.tb);
}

static void test_update_interrupt(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_A, 0x20); /* no periodic rate */
	testboard_run_to(&f.tb, CLOCK_HZ / 3);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_UIE);
	testboard_run_to(&f.tb, 2 * CLOCK_HZ - 1);
	g_assert_true(f.tb.level[CMOS_IRQ]);
	g_assert_cmpuint(f.tb.last_raise[CMOS_IRQ], ==, CLOCK_HZ);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, CMOS_C_IRQF | CMOS_C_UF);
	testboard_run_to(&f.tb, 2 * CLOCK_HZ);
	g_assert_true(f.tb.level[CMOS_IRQ]);
	g_assert_cmpint(f.tb.raises[CMOS_IRQ], ==, 2);
	testboard_free(&f.tb);
}

static void test_alarm(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_A, 0x20);
	wr(&f, CMOS_SECONDS_ALARM, 0x33);
	wr(&f, CMOS_MINUTES_ALARM, 0x45);
	wr(&f, CMOS_HOURS_ALARM, CMOS_ALARM_DONT_CARE);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_AIE);
	testboard_run_to(&f.tb, 10 * CLOCK_HZ);
	g_assert_cmpint(f.tb.raises[CMOS_IRQ], ==, 1);
	g_assert_cmpuint(f.tb.last_raise[CMOS_IRQ], ==, 3 * CLOCK_HZ);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, CMOS_C_IRQF | CMOS_C_AF | CMOS_C_UF);
	/* polled, the alarm flag still shows a match an hour later */
	wr(&f, CMOS_REG_B, CMOS_B_24H);
	testboard_run_to(&f.tb, 3700 * CLOCK_HZ);
	g_assert_cmphex(rd(&f, CMOS_REG_C), ==, CMOS_C_AF | CMOS_C_UF);
	testboard_free(&f.tb);
}

static void test_memory_bytes(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	g_assert_cmphex(rd(&f, CMOS_BASE_MEM_LO), ==, 0x80); /* 640 KiB */
	g_assert_cmphex(rd(&f, CMOS_BASE_MEM_HI), ==, 0x02);
	g_assert_cmphex(rd(&f, CMOS_EXT_MEM_LO), ==, 0x00); /* 31744 KiB */
	g_assert_cmphex(rd(&f, CMOS_EXT_MEM_HI), ==, 0x7c);
	g_assert_cmphex(rd(&f, CMOS_EXT_MEM2_LO), ==, 0x00);
	g_assert_cmphex(rd(&f, CMOS_EXT_MEM2_HI), ==, 0x7c);
	g_assert_cmphex(rd(&f, CMOS_HIGH_MEM_LO), ==, 0x00); /* 256 x 64 KiB */
	g_assert_cmphex(rd(&f, CMOS_HIGH_MEM_HI), ==, 0x01);
	unsigned sum = 0;
	for (uint8_t i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++)
		sum += rd(&f, i);
	g_assert_cmpuint(sum, ==,
			 (unsigned)rd(&f, CMOS_CHECKSUM_HI) << 8 | rd(&f, CMOS_CHECKSUM_LO));
	g_assert_cmpuint(sum, !=, 0);
	dev_cmos_set_ram(f.cmos, 0x12, 0xf0);
	g_assert_cmpuint(sum + 0xf0, ==,
			 (unsigned)rd(&f, CMOS_CHECKSUM_HI) << 8 | rd(&f, CMOS_CHECKSUM_LO));
	testboard_free(&f.tb);

	fix_init(&f, EPOCH_2024, 1024 * MIB);
	g_assert_cmphex(rd(&f, CMOS_EXT_MEM_LO), ==, 0xff); /* capped */
	g_assert_cmphex(rd(&f, CMOS_EXT_MEM_HI), ==, 0xff);
	g_assert_cmphex(rd(&f, CMOS_HIGH_MEM_LO), ==, 0x00); /* 1008 MiB = 0x3F00 x 64 KiB */
	g_assert_cmphex(rd(&f, CMOS_HIGH_MEM_HI), ==, 0x3f);
	testboard_free(&f.tb);
}

static void test_ram_nmi_and_readonly(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, 0x40, 0x5a);
	g_assert_cmphex(rd(&f, 0x40), ==, 0x5a);
	g_assert_false(dev_cmos_nmi_masked(f.cmos));
	ioport_write(f.tb.io, CMOS_INDEX_PORT, CMOS_NMI_MASK | 0x40, 1);
	g_assert_true(dev_cmos_nmi_masked(f.cmos));
	g_assert_cmphex(ioport_read(f.tb.io, CMOS_DATA_PORT, 1), ==, 0x5a);
	wr(&f, CMOS_REG_D, 0x00);
	g_assert_cmphex(rd(&f, CMOS_REG_D), ==, CMOS_D_VRT);
	g_assert_false(dev_cmos_nmi_masked(f.cmos));
	wr(&f, CMOS_REG_A, 0xa6); /* UIP is read-only */
	g_assert_cmphex(rd(&f, CMOS_REG_A), ==, 0x26);
	testboard_free(&f.tb);
}

static void test_port_taken(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	GError *err = NULL;
	g_assert_null(dev_cmos_new(&f.tb.board, 0, 32 * MIB, &err));
	g_assert_nonnull(err);
	g_error_free(err);
	testboard_free(&f.tb);
}

static void test_save_restore(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_A, 0x2c); /* 16 Hz */
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_PIE | CMOS_B_UIE);
	wr(&f, 0x50, 0x77);
	testboard_run_to(&f.tb, CLOCK_HZ / 3);
	rd(&f, CMOS_REG_C);
	GByteArray *blob = g_byte_array_new();
	f.cmos->dev.ops->save(&f.cmos->dev, blob);
	uint64_t saved_at = f.tb.cycles;

	uint8_t first_c[40];
	uint64_t first_t[40];
	for (int i = 0; i < 40; i++) {
		testboard_run_to(&f.tb, clock_next(f.tb.clock));
		first_t[i] = f.tb.cycles;
		first_c[i] = rd(&f, CMOS_REG_C);
	}
	uint8_t sec = rd(&f, CMOS_SECONDS);

	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_DM_BINARY);
	wr(&f, 0x50, 0);
	f.tb.cycles = saved_at; /* as the machine restores its cycle count */
	GError *err = NULL;
	g_assert_true(f.cmos->dev.ops->restore(&f.cmos->dev, blob->data, blob->len, &err));
	g_assert_no_error(err);
	g_assert_cmphex(rd(&f, 0x50), ==, 0x77);
	for (int i = 0; i < 40; i++) {
		testboard_run_to(&f.tb, clock_next(f.tb.clock));
		g_assert_cmpuint(f.tb.cycles, ==, first_t[i]);
		g_assert_cmphex(rd(&f, CMOS_REG_C), ==, first_c[i]);
	}
	g_assert_cmphex(rd(&f, CMOS_SECONDS), ==, sec);
	g_assert_false(f.cmos->dev.ops->restore(&f.cmos->dev, blob->data, blob->len - 1, &err));
	g_assert_nonnull(err);
	g_error_free(err);
	g_byte_array_unref(blob);
	testboard_free(&f.tb);
}

static void test_reset(void)
{
	struct fix f;
	fix_init(&f, EPOCH_2024, 32 * MIB);
	wr(&f, CMOS_REG_B, CMOS_B_24H | CMOS_B_PIE);
	testboard_run_to(&f.tb, CLOCK_HZ / 10);
	g_assert_true(f.tb.level[CMOS_IRQ]);
	f.cmos->dev.ops->reset(&f.cmos->dev);
	g_assert_false(f.tb.level[CMOS_IRQ]);
	g_assert_cmphex(rd(&f, CMOS_REG_B), ==, 0x02);
	g_assert_cmpuint(clock_next(f.tb.clock), ==, CLOCK_NEVER);
	testboard_free(&f.tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dev/cmos/power-on-registers", test_power_on);
	g_test_add_func("/dev/cmos/time-bcd", test_time_bcd);
	g_test_add_func("/dev/cmos/time-binary-and-12-hour", test_time_binary_and_12h);
	g_test_add_func("/dev/cmos/time-advances-with-cycles", test_time_advances_with_cycles);
	g_test_add_func("/dev/cmos/century-rollover", test_century_rollover);
	g_test_add_func("/dev/cmos/uip-244us-before-update", test_uip_window);
	g_test_add_func("/dev/cmos/set-freezes-and-sets-time", test_set_freezes_and_sets_time);
	g_test_add_func("/dev/cmos/write-while-running-keeps-phase",
			test_write_while_running_keeps_phase);
	g_test_add_func("/dev/cmos/periodic-irq-held-until-c-read",
			test_periodic_irq_held_until_c_read);
	g_test_add_func("/dev/cmos/periodic-rates", test_periodic_rate_one_second);
	g_test_add_func("/dev/cmos/flags-set-without-enable", test_flags_without_enable);
	g_test_add_func("/dev/cmos/update-ended-interrupt", test_update_interrupt);
	g_test_add_func("/dev/cmos/alarm", test_alarm);
	g_test_add_func("/dev/cmos/memory-size-bytes", test_memory_bytes);
	g_test_add_func("/dev/cmos/ram-nmi-mask-read-only", test_ram_nmi_and_readonly);
	g_test_add_func("/dev/cmos/port-taken", test_port_taken);
	g_test_add_func("/dev/cmos/save-restore", test_save_restore);
	g_test_add_func("/dev/cmos/reset", test_reset);
	return g_test_run();
}
