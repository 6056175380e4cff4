/*
 * test-pit8254.c - the 8254 against the Intel 82C54 datasheet: the OUT
 * waveform and count sequence of each mode (in input clock ticks after
 * the write), gates, access modes, BCD, counter latch, read-back, the null
 * count flag, port B, IRQ 0 edges at exact cycles, and save/restore.
 *
 * Time: a write at tick 0 loads the count at tick 1 (the next CLK pulse);
 * at(t) is the first cycle at which the input clock has ticked t times.
 */
#include <glib.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "ioport.h"
#include "nestlab.h"
#include "physmem.h"
#include "pit8254.h"
#include "testboard.h"

#define CH0 0x40
#define CH2 0x42
#define CTRL 0x43
#define PORTB 0x61
#define MAX_EDGES 256

struct edge {
	uint64_t cycle;
	bool level;
};

struct fx {
	struct testboard tb; /* its irq callback replaced by board_irq */
	struct dev_pit *pit;
	struct edge edges[MAX_EDGES];
	int n_edges;
	unsigned fired;
};

/* Logs every call on the IRQ line, repeated levels included. */
static void board_irq(void *opaque, int irq, bool level)
{
	struct fx *f = opaque;
	g_assert_cmpint(irq, ==, 0);
	g_assert_cmpint(f->n_edges, <, MAX_EDGES);
	f->edges[f->n_edges++] = (struct edge){f->tb.cycles, level};
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	testboard_init(&f->tb);
	f->tb.board.irq = board_irq;
	f->tb.board.opaque = f;
	f->pit = testboard_adopt(&f->tb, dev_pit_new(&f->tb.board, &f->tb.err));
}

static uint64_t at(uint64_t tick)
{
	return dev_pit_cycle_of_tick(tick);
}

/* Runs the clock to `cycle` as the machine's run loop would. */
static void run_to(struct fx *f, uint64_t cycle)
{
	f->fired += testboard_run_to(&f->tb, cycle);
}

static void run_to_tick(struct fx *f, uint64_t tick)
{
	run_to(f, at(tick));
}

static void outb(struct fx *f, uint16_t port, uint8_t v)
{
	ioport_write(f->tb.io, port, v, 1);
}

static uint8_t inb(struct fx *f, uint16_t port)
{
	return (uint8_t)ioport_read(f->tb.io, port, 1);
}

/* Programs counter `ch` with control bits `mode_bits` (mode << 1 | BCD)
 * for LSB-then-MSB access and writes `count`. */
static void program(struct fx *f, int ch, uint8_t mode_bits, uint16_t count)
{
	outb(f, CTRL, (uint8_t)(ch << 6 | 0x30 | mode_bits));
	outb(f, CH0 + ch, (uint8_t)count);
	outb(f, CH0 + ch, (uint8_t)(count >> 8));
}

static uint16_t count_at_tick(struct fx *f, int ch, uint64_t tick)
{
	run_to_tick(f, tick);
	return dev_pit_count(f->pit, ch);
}

static bool out_at_tick(struct fx *f, int ch, uint64_t tick)
{
	run_to_tick(f, tick);
	return dev_pit_out(f->pit, ch);
}

static void test_mode0_out_high_after_n_plus_1(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 0 << 1, 10);
	g_assert_false(dev_pit_out(f.pit, 0));
	g_assert_cmpuint(count_at_tick(&f, 0, 1), ==, 10);
	g_assert_cmpuint(count_at_tick(&f, 0, 5), ==, 6);
	g_assert_false(out_at_tick(&f, 0, 10));
	g_assert_true(out_at_tick(&f, 0, 11));
	g_assert_cmpuint(count_at_tick(&f, 0, 12), ==, 0xffff); /* wraps and counts on */
	g_assert_cmpint(f.n_edges, ==, 1);
	g_assert_cmpuint(f.edges[0].cycle, ==, at(11));
	g_assert_true(f.edges[0].level);
	run_to_tick(&f, 200000);
	g_assert_cmpint(f.n_edges, ==, 1); /* stays high */
	testboard_free(&f.tb);
}

static void test_mode2_rate_generator_edges(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 2 << 1, 100);
	g_assert_cmpuint(count_at_tick(&f, 0, 1), ==, 100);
	g_assert_cmpuint(count_at_tick(&f, 0, 99), ==, 2);
	g_assert_false(out_at_tick(&f, 0, 100)); /* count 1: OUT low for one clock */
	g_assert_cmpuint(dev_pit_count(f.pit, 0), ==, 1);
	g_assert_true(out_at_tick(&f, 0, 101));
	g_assert_cmpuint(dev_pit_count(f.pit, 0), ==, 100);
	f.n_edges = 0;
	f.fired = 0;
	run_to_tick(&f, 101 + 10 * 100);
	g_assert_cmpint(f.n_edges, ==, 20);
	for (int i = 0; i < 10; i++) {
		g_assert_cmpuint(f.edges[2 * i].cycle, ==, at(200 + 100 * i));
		g_assert_false(f.edges[2 * i].level);
		g_assert_cmpuint(f.edges[2 * i + 1].cycle, ==, at(201 + 100 * i));
		g_assert_true(f.edges[2 * i + 1].level);
	}
	g_assert_cmpuint(f.fired, <=, 20); /* one timer event per edge, none per tick */
	testboard_free(&f.tb);
}

static void test_mode3_square_wave_even(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 3 << 1, 10);
	f.n_edges = 0;
	g_assert_cmpuint(count_at_tick(&f, 0, 1), ==, 10);
	g_assert_cmpuint(count_at_tick(&f, 0, 2), ==, 8);
	g_assert_cmpuint(count_at_tick(&f, 0, 5), ==, 2);
	g_assert_true(dev_pit_out(f.pit, 0));
	g_assert_false(out_at_tick(&f, 0, 6));
	g_assert_cmpuint(dev_pit_count(f.pit, 0), ==, 10);
	g_assert_cmpuint(count_at_tick(&f, 0, 10), ==, 2);
	g_assert_true(out_at_tick(&f, 0, 11));
	run_to_tick(&f, 31);
	g_assert_cmpint(f.n_edges, ==, 6);
	g_assert_cmpuint(f.edges[0].cycle, ==, at(6));
	g_assert_cmpuint(f.edges[5].cycle, ==, at(31));
	testboard_free(&f.tb);
}

static void test_mode3_square_wave_odd(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 3 << 1, 9); /* high 5 clocks, low 4 */
	g_assert_cmpuint(count_at_tick(&f, 0, 1), ==, 8);
	g_assert_cmpuint(count_at_tick(&f, 0, 5), ==, 0);
	g_assert_true(dev_pit_out(f.pit, 0));
	g_assert_false(out_at_tick(&f, 0, 6));
	g_assert_cmpuint(dev_pit_count(f.pit, 0), ==, 8);
	g_assert_cmpuint(count_at_tick(&f, 0, 9), ==, 2);
	g_assert_true(out_at_tick(&f, 0, 10));
	testboard_free(&f.tb);
}

static void test_mode4_software_strobe(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 4 << 1, 5);
	g_assert_true(out_at_tick(&f, 0, 5));
	g_assert_false(out_at_tick(&f, 0, 6));
	g_assert_true(out_at_tick(&f, 0, 7));
	run_to_tick(&f, 300000);
	/* the line starts low at power-on: up at the write, one strobe, no more */
	g_assert_cmpint(f.n_edges, ==, 3);
	g_assert_cmpuint(f.edges[1].cycle, ==, at(6));
	g_assert_cmpuint(f.edges[2].cycle, ==, at(7));
	testboard_free(&f.tb);
}

static void test_mode1_gate_triggered_one_shot(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 2, 1 << 1, 5);
	outb(&f, PORTB, 0x00);
	g_assert_true(out_at_tick(&f, 2, 10));
	outb(&f, PORTB, 0x01); /* trigger at tick 10 */
	g_assert_true(dev_pit_out(f.pit, 2));
	g_assert_false(out_at_tick(&f, 2, 11));
	g_assert_cmpuint(dev_pit_count(f.pit, 2), ==, 5);
	g_assert_false(out_at_tick(&f, 2, 15));
	g_assert_true(out_at_tick(&f, 2, 16));
	g_assert_true(inb(&f, PORTB) & 0x20);
	outb(&f, PORTB, 0x00);
	outb(&f, PORTB, 0x01); /* retrigger at 16 */
	g_assert_false(out_at_tick(&f, 2, 17));
	g_assert_true(out_at_tick(&f, 2, 22));
	testboard_free(&f.tb);
}

static void test_mode5_gate_triggered_strobe(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 2, 5 << 1, 5);
	run_to_tick(&f, 10);
	outb(&f, PORTB, 0x01);
	g_assert_true(out_at_tick(&f, 2, 15));
	g_assert_false(out_at_tick(&f, 2, 16));
	g_assert_true(out_at_tick(&f, 2, 17));
	testboard_free(&f.tb);
}

static void test_mode0_gate_low_pauses(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, PORTB, 0x01);
	program(&f, 2, 0 << 1, 100);
	g_assert_cmpuint(count_at_tick(&f, 2, 21), ==, 80);
	outb(&f, PORTB, 0x00);
	g_assert_cmpuint(count_at_tick(&f, 2, 50), ==, 80);
	outb(&f, PORTB, 0x01);
	g_assert_cmpuint(count_at_tick(&f, 2, 60), ==, 70);
	g_assert_false(out_at_tick(&f, 2, 129));
	g_assert_true(out_at_tick(&f, 2, 130));
	testboard_free(&f.tb);
}

static void test_mode0_written_with_gate_low_waits(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 2, 0 << 1, 100); /* power-on: port B bit 0 is 0 */
	g_assert_cmpuint(count_at_tick(&f, 2, 40), ==, 100);
	outb(&f, PORTB, 0x01);
	g_assert_cmpuint(count_at_tick(&f, 2, 50), ==, 90);
	testboard_free(&f.tb);
}

static void test_mode2_gate_low_forces_out_high(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, PORTB, 0x01);
	program(&f, 2, 2 << 1, 10);
	g_assert_false(out_at_tick(&f, 2, 10));
	outb(&f, PORTB, 0x00);
	g_assert_true(dev_pit_out(f.pit, 2));
	g_assert_true(out_at_tick(&f, 2, 20));
	outb(&f, PORTB, 0x01); /* restart: reload at the next clock */
	g_assert_cmpuint(count_at_tick(&f, 2, 21), ==, 10);
	g_assert_false(out_at_tick(&f, 2, 30));
	g_assert_true(out_at_tick(&f, 2, 31));
	testboard_free(&f.tb);
}

static void test_mode2_new_count_at_period_end(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 2 << 1, 100);
	run_to_tick(&f, 50);
	outb(&f, CH0, 10);
	outb(&f, CH0, 0);
	g_assert_cmpuint(count_at_tick(&f, 0, 60), ==, 41); /* the old period goes on */
	g_assert_false(out_at_tick(&f, 0, 100));
	g_assert_cmpuint(count_at_tick(&f, 0, 101), ==, 10);
	f.n_edges = 0;
	run_to_tick(&f, 121);
	g_assert_cmpint(f.n_edges, ==, 4);
	g_assert_cmpuint(f.edges[0].cycle, ==, at(110));
	g_assert_cmpuint(f.edges[3].cycle, ==, at(121));
	testboard_free(&f.tb);
}

static void test_mode3_new_count_at_half_period_end(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 3 << 1, 100);
	run_to_tick(&f, 20);
	outb(&f, CH0, 20);
	outb(&f, CH0, 0);
	g_assert_true(out_at_tick(&f, 0, 50));
	g_assert_false(out_at_tick(&f, 0, 51));            /* the half ends as before ... */
	g_assert_cmpuint(dev_pit_count(f.pit, 0), ==, 20); /* ... with the new count */
	g_assert_false(out_at_tick(&f, 0, 60));
	g_assert_true(out_at_tick(&f, 0, 61));
	g_assert_false(out_at_tick(&f, 0, 71));
	testboard_free(&f.tb);
}

static void test_mode0_two_byte_write_stops_count(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 0 << 1, 1000);
	run_to_tick(&f, 10);
	outb(&f, CH0, 50); /* the LSB: counting stops */
	g_assert_cmpuint(count_at_tick(&f, 0, 20), ==, 991);
	g_assert_false(dev_pit_out(f.pit, 0));
	outb(&f, CH0, 0); /* the MSB: 50 loads at the next clock */
	g_assert_cmpuint(count_at_tick(&f, 0, 21), ==, 50);
	g_assert_true(out_at_tick(&f, 0, 71));
	testboard_free(&f.tb);
}

static void test_counter_latch_command(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 2 << 1, 1000);
	run_to_tick(&f, 100);
	outb(&f, CTRL, 0x00); /* latch counter 0 */
	run_to_tick(&f, 300);
	outb(&f, CTRL, 0x00); /* ignored: the first latch is not read yet */
	uint16_t v = inb(&f, CH0);
	v |= (uint16_t)(inb(&f, CH0) << 8);
	g_assert_cmpuint(v, ==, 901);
	v = inb(&f, CH0); /* live again */
	v |= (uint16_t)(inb(&f, CH0) << 8);
	g_assert_cmpuint(v, ==, 701);
	testboard_free(&f.tb);
}

static void test_read_back_status_and_counts(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, PORTB, 0x01);
	program(&f, 0, 2 << 1, 1000);
	program(&f, 2, 0 << 1 | 1, 0x0500);
	outb(&f, CTRL, 0xe2); /* status of counter 0, right after the write */
	g_assert_cmpuint(inb(&f, CH0), ==, 0x80 | 0x40 | 0x34); /* OUT high, null count */
	run_to_tick(&f, 101);
	outb(&f, CTRL, 0xca); /* count and status of counters 0 and 2 */
	g_assert_cmpuint(inb(&f, CH0), ==, 0x80 | 0x34);
	g_assert_cmpuint(inb(&f, CH0), ==, 900 & 0xff);
	g_assert_cmpuint(inb(&f, CH0), ==, 900 >> 8);
	g_assert_cmpuint(inb(&f, CH2), ==, 0x31); /* OUT low, loaded, mode 0, BCD */
	g_assert_cmpuint(inb(&f, CH2), ==, 0x00); /* 500 - 100 = 0400 in BCD */
	g_assert_cmpuint(inb(&f, CH2), ==, 0x04);
	testboard_free(&f.tb);
}

static void test_access_lsb_only_and_msb_only(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, PORTB, 0x01);
	outb(&f, CTRL, 0x90); /* counter 2, LSB only, mode 0 */
	outb(&f, CH2, 0x34);
	g_assert_cmpuint(count_at_tick(&f, 2, 1), ==, 0x34);
	g_assert_cmpuint(inb(&f, CH2), ==, 0x34);
	g_assert_cmpuint(inb(&f, CH2), ==, 0x34); /* every read is the LSB */
	outb(&f, CTRL, 0xa0);                     /* MSB only */
	outb(&f, CH2, 0x12);
	g_assert_cmpuint(count_at_tick(&f, 2, 2), ==, 0x1200);
	g_assert_cmpuint(inb(&f, CH2), ==, 0x12);
	run_to_tick(&f, 3);
	g_assert_cmpuint(inb(&f, CH2), ==, 0x11); /* 0x11ff */
	testboard_free(&f.tb);
}

static void test_bcd_counting(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, PORTB, 0x01);
	program(&f, 2, 0 << 1 | 1, 0x0100);
	g_assert_cmpuint(count_at_tick(&f, 2, 1), ==, 0x0100);
	g_assert_cmpuint(count_at_tick(&f, 2, 11), ==, 0x0090);
	g_assert_true(out_at_tick(&f, 2, 101));
	g_assert_cmpuint(count_at_tick(&f, 2, 102), ==, 0x9999);
	program(&f, 2, 0 << 1 | 1, 0x0000); /* 0 means 10000 */
	g_assert_cmpuint(count_at_tick(&f, 2, 103), ==, 0x0000);
	g_assert_cmpuint(count_at_tick(&f, 2, 104), ==, 0x9999);
	testboard_free(&f.tb);
}

static void test_count_zero_is_65536(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 2 << 1, 0);
	g_assert_cmpuint(count_at_tick(&f, 0, 1), ==, 0);
	g_assert_cmpuint(count_at_tick(&f, 0, 2), ==, 0xffff);
	run_to_tick(&f, 65536 + 1);
	g_assert_cmpint(f.n_edges, ==, 3); /* up at the write, down at 65536, up */
	g_assert_cmpuint(f.edges[1].cycle, ==, at(65536));
	testboard_free(&f.tb);
}

static void test_portb_refresh_out2_and_bits(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, PORTB, 0x0f);
	g_assert_cmpuint(inb(&f, PORTB) & 0x0f, ==, 0x0f);
	g_assert_false(inb(&f, PORTB) & 0x10);
	run_to_tick(&f, 18);
	g_assert_true(inb(&f, PORTB) & 0x10);
	run_to_tick(&f, 35);
	g_assert_true(inb(&f, PORTB) & 0x10);
	run_to_tick(&f, 36);
	g_assert_false(inb(&f, PORTB) & 0x10);
	program(&f, 2, 0 << 1, 4);
	g_assert_false(inb(&f, PORTB) & 0x20);
	run_to_tick(&f, 36 + 5);
	g_assert_true(inb(&f, PORTB) & 0x20);
	testboard_free(&f.tb);
}

static void test_save_restore_repeats(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 2 << 1, 100);
	outb(&f, PORTB, 0x01);
	program(&f, 2, 3 << 1, 30);
	run_to(&f, at(250) + 17);
	GByteArray *snap = g_byte_array_new();
	f.pit->dev.ops->save(&f.pit->dev, snap);
	uint64_t saved_cycles = f.tb.cycles;

	f.n_edges = 0;
	run_to_tick(&f, 1000);
	struct edge first[MAX_EDGES];
	int n_first = f.n_edges;
	memcpy(first, f.edges, sizeof first);
	uint16_t count2 = dev_pit_count(f.pit, 2);
	g_assert_cmpint(n_first, ==, 15); /* falls at 300..1000, rises at 301..901 */

	f.tb.cycles = saved_cycles;
	f.n_edges = 0;
	GError *err = NULL;
	g_assert_true(f.pit->dev.ops->restore(&f.pit->dev, snap->data, snap->len, &err));
	g_assert_no_error(err);
	g_assert_cmpint(f.n_edges, ==, 1); /* IRQ 0 re-driven with the saved level */
	g_assert_true(f.edges[0].level);
	f.n_edges = 0;
	run_to_tick(&f, 1000);
	g_assert_cmpint(f.n_edges, ==, n_first);
	for (int i = 0; i < n_first; i++) {
		g_assert_cmpuint(f.edges[i].cycle, ==, first[i].cycle);
		g_assert_cmpint(f.edges[i].level, ==, first[i].level);
	}
	g_assert_cmpuint(dev_pit_count(f.pit, 2), ==, count2);
	g_byte_array_free(snap, TRUE);
	testboard_free(&f.tb);
}

static void test_reset_quiets_irq0(void)
{
	struct fx f;
	fx_init(&f);
	program(&f, 0, 2 << 1, 100);
	g_assert_true(f.edges[f.n_edges - 1].level);
	f.pit->dev.ops->reset(&f.pit->dev);
	g_assert_false(f.edges[f.n_edges - 1].level);
	g_assert_cmpuint(clock_next(f.tb.clock), ==, CLOCK_NEVER);
	testboard_free(&f.tb);
}

static void test_port_taken(void)
{
	struct testboard tb;
	testboard_init(&tb);
	g_assert_true(ioport_claim(tb.io, PORTB, 1, NULL, NULL, NULL));
	GError *err = NULL;
	g_assert_null(dev_pit_new(&tb.board, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_error_free(err);
	testboard_free(&tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dev/pit/mode0-out-high-after-n-plus-1",
	                test_mode0_out_high_after_n_plus_1);
	g_test_add_func("/dev/pit/mode2-rate-generator-edges", test_mode2_rate_generator_edges);
	g_test_add_func("/dev/pit/mode3-square-wave-even", test_mode3_square_wave_even);
	g_test_add_func("/dev/pit/mode3-square-wave-odd", test_mode3_square_wave_odd);
	g_test_add_func("/dev/pit/mode4-software-strobe", test_mode4_software_strobe);
	g_test_add_func("/dev/pit/mode1-gate-triggered-one-shot",
	                test_mode1_gate_triggered_one_shot);
	g_test_add_func("/dev/pit/mode5-gate-triggered-strobe", test_mode5_gate_triggered_strobe);
	g_test_add_func("/dev/pit/mode0-gate-low-pauses", test_mode0_gate_low_pauses);
	g_test_add_func("/dev/pit/mode0-written-with-gate-low-waits",
	                test_mode0_written_with_gate_low_waits);
	g_test_add_func("/dev/pit/mode2-gate-low-forces-out-high",
	                test_mode2_gate_low_forces_out_high);
	g_test_add_func("/dev/pit/mode2-new-count-at-period-end",
	                test_mode2_new_count_at_period_end);
	g_test_add_func("/dev/pit/mode3-new-count-at-half-period-end",
	                test_mode3_new_count_at_half_period_end);
	g_test_add_func("/dev/pit/mode0-two-byte-write-stops-count",
	                test_mode0_two_byte_write_stops_count);
	g_test_add_func("/dev/pit/counter-latch-command", test_counter_latch_command);
	g_test_add_func("/dev/pit/read-back-status-and-counts", test_read_back_status_and_counts);
	g_test_add_func("/dev/pit/access-lsb-only-and-msb-only", test_access_lsb_only_and_msb_only);
	g_test_add_func("/dev/pit/bcd-counting", test_bcd_counting);
	g_test_add_func("/dev/pit/count-zero-is-65536", test_count_zero_is_65536);
	g_test_add_func("/dev/pit/portb-refresh-out2-and-bits", test_portb_refresh_out2_and_bits);
	g_test_add_func("/dev/pit/save-restore-repeats", test_save_restore_repeats);
	g_test_add_func("/dev/pit/reset-quiets-irq0", test_reset_quiets_irq0);
	g_test_add_func("/dev/pit/port-taken", test_port_taken);
	return g_test_run();
}
