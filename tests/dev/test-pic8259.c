/*
 * test-pic8259.c - the 8259A pair against the Intel 8259A datasheet:
 * initialisation, masks, priorities, EOI forms, rotation, polling, special
 * mask and special fully nested modes, edge and level triggering, the
 * cascade, spurious interrupts, the ELCR, and save/restore.
 */
#include <glib.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "ioport.h"
#include "nestlab.h"
#include "physmem.h"
#include "pic8259.h"
#include "testboard.h"

#define MASTER_CMD 0x20
#define MASTER_DATA 0x21
#define SLAVE_CMD 0xa0
#define SLAVE_DATA 0xa1
#define ELCR0 0x4d0
#define ELCR1 0x4d1
#define MASTER_VEC 0x20
#define SLAVE_VEC 0x28
#define EOI 0x20
#define READ_IRR 0x0a
#define READ_ISR 0x0b
#define POLL 0x0c

struct fx {
	struct testboard tb;
	struct dev_pic *pic;
	int out_calls;
	bool out_level;
};

static void out_cb(void *opaque, bool level)
{
	struct fx *f = opaque;
	f->out_calls++;
	f->out_level = level;
}

static void fx_init(struct fx *f)
{
	*f = (struct fx){0};
	testboard_init(&f->tb);
	f->pic = testboard_adopt(&f->tb, dev_pic_new(&f->tb.board, out_cb, f, &f->tb.err));
}

static void outb(struct fx *f, uint16_t port, uint8_t v)
{
	ioport_write(f->tb.io, port, v, 1);
}

static uint8_t inb(struct fx *f, uint16_t port)
{
	return (uint8_t)ioport_read(f->tb.io, port, 1);
}

/* The PC's usual initialisation: edge, cascade, ICW4 with 8086 mode plus
 * `icw4_extra`, vectors 0x20 and 0x28, every input unmasked. */
static void init_pair(struct fx *f, uint8_t icw4_extra)
{
	outb(f, MASTER_CMD, 0x11);
	outb(f, MASTER_DATA, MASTER_VEC);
	outb(f, MASTER_DATA, 0x04);
	outb(f, MASTER_DATA, 0x01 | icw4_extra);
	outb(f, SLAVE_CMD, 0x11);
	outb(f, SLAVE_DATA, SLAVE_VEC);
	outb(f, SLAVE_DATA, 0x02);
	outb(f, SLAVE_DATA, 0x01);
	outb(f, MASTER_DATA, 0x00);
	outb(f, SLAVE_DATA, 0x00);
}

static void pulse(struct fx *f, int irq)
{
	dev_pic_set_irq(f->pic, irq, true);
	dev_pic_set_irq(f->pic, irq, false);
}

static void test_power_on_masked(void)
{
	struct fx f;
	fx_init(&f);
	g_assert_cmpuint(inb(&f, MASTER_DATA), ==, 0xff);
	g_assert_cmpuint(inb(&f, SLAVE_DATA), ==, 0xff);
	dev_pic_set_irq(f.pic, 1, true);
	g_assert_false(dev_pic_output(f.pic));
	g_assert_cmpint(f.out_calls, ==, 0);
	g_assert_cmpuint(inb(&f, MASTER_CMD), ==, 0x02); /* IRR is latched while masked */
	testboard_free(&f.tb);
}

static void test_icw1_clears_imr(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, MASTER_CMD, 0x11);
	g_assert_cmpuint(inb(&f, MASTER_DATA), ==, 0x00);
	testboard_free(&f.tb);
}

static void test_vector_isr_and_eoi(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	dev_pic_set_irq(f.pic, 3, true);
	g_assert_true(dev_pic_output(f.pic));
	g_assert_true(f.out_level);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 3);
	g_assert_false(dev_pic_output(f.pic));
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x08);
	g_assert_cmpuint(dev_pic_irr(f.pic, 0), ==, 0x00);
	outb(&f, MASTER_CMD, READ_ISR);
	g_assert_cmpuint(inb(&f, MASTER_CMD), ==, 0x08);
	outb(&f, MASTER_CMD, EOI);
	g_assert_cmpuint(inb(&f, MASTER_CMD), ==, 0x00);
	testboard_free(&f.tb);
}

static void test_mask_blocks_and_unmask_delivers(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	outb(&f, MASTER_DATA, 0x10);
	pulse(&f, 4);
	g_assert_false(dev_pic_output(f.pic));
	outb(&f, MASTER_DATA, 0x00);
	g_assert_true(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 4);
	testboard_free(&f.tb);
}

static void test_fixed_priority_nesting(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 5);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 5);
	pulse(&f, 6);
	g_assert_false(dev_pic_output(f.pic)); /* lower than the level in service */
	pulse(&f, 3);
	g_assert_true(dev_pic_output(f.pic)); /* higher: nests */
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 3);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x28);
	outb(&f, MASTER_CMD, EOI); /* non-specific: ends 3, the most urgent */
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x20);
	g_assert_false(dev_pic_output(f.pic));
	outb(&f, MASTER_CMD, EOI);
	g_assert_true(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 6);
	testboard_free(&f.tb);
}

static void test_specific_eoi(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 5);
	dev_pic_ack(f.pic);
	pulse(&f, 3);
	dev_pic_ack(f.pic);
	outb(&f, MASTER_CMD, 0x60 | 5); /* specific EOI for 5, leaving 3 */
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x08);
	testboard_free(&f.tb);
}

static void test_edge_latches_zero_width_pulse(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 1);
	g_assert_true(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 1);
	outb(&f, MASTER_CMD, EOI);
	g_assert_false(dev_pic_output(f.pic));
	testboard_free(&f.tb);
}

static void test_edge_needs_new_rising_edge(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	dev_pic_set_irq(f.pic, 4, true);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 4);
	outb(&f, MASTER_CMD, EOI);
	dev_pic_set_irq(f.pic, 4, true); /* still high: no edge */
	g_assert_false(dev_pic_output(f.pic));
	dev_pic_set_irq(f.pic, 4, false);
	dev_pic_set_irq(f.pic, 4, true);
	g_assert_true(dev_pic_output(f.pic));
	testboard_free(&f.tb);
}

static void test_level_rerequests_after_eoi(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	outb(&f, ELCR0, 0x20);
	dev_pic_set_irq(f.pic, 5, true);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 5);
	g_assert_cmpuint(dev_pic_irr(f.pic, 0), ==, 0x20); /* IRR follows the pin */
	g_assert_false(dev_pic_output(f.pic));
	outb(&f, MASTER_CMD, EOI);
	g_assert_true(dev_pic_output(f.pic));
	testboard_free(&f.tb);
}

static void test_level_withdrawn_gives_spurious_irq7(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	outb(&f, ELCR0, 0x20);
	dev_pic_set_irq(f.pic, 5, true);
	g_assert_true(dev_pic_output(f.pic));
	dev_pic_set_irq(f.pic, 5, false);
	g_assert_false(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 7);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x00); /* no ISR bit for a spurious IR7 */
	testboard_free(&f.tb);
}

static void test_spurious_with_nothing_pending(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 7);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x00);
	testboard_free(&f.tb);
}

static void test_elcr_fixed_edge_bits(void)
{
	struct fx f;
	fx_init(&f);
	g_assert_cmpuint(inb(&f, ELCR0), ==, 0x00);
	outb(&f, ELCR0, 0xff);
	outb(&f, ELCR1, 0xff);
	g_assert_cmpuint(inb(&f, ELCR0), ==, 0xf8); /* IRQ 0, 1, 2 edge only */
	g_assert_cmpuint(inb(&f, ELCR1), ==, 0xde); /* IRQ 8, 13 edge only */
	testboard_free(&f.tb);
}

static void test_cascade_vector_and_isr(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 10);
	g_assert_true(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, SLAVE_VEC + 2);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x04);
	g_assert_cmpuint(dev_pic_isr(f.pic, 1), ==, 0x04);
	outb(&f, SLAVE_CMD, EOI);
	outb(&f, MASTER_CMD, EOI);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0) | dev_pic_isr(f.pic, 1), ==, 0);
	testboard_free(&f.tb);
}

static void test_slave_spurious_irq15_sets_master_isr2(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	outb(&f, ELCR1, 0x04); /* IRQ 10 level triggered */
	dev_pic_set_irq(f.pic, 10, true);
	dev_pic_set_irq(f.pic, 10, false); /* withdrawn after the master latched IR2 */
	g_assert_true(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, SLAVE_VEC + 7);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x04);
	g_assert_cmpuint(dev_pic_isr(f.pic, 1), ==, 0x00);
	testboard_free(&f.tb);
}

static void test_isa_irq2_is_irq9(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 2);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, SLAVE_VEC + 1);
	testboard_free(&f.tb);
}

static void test_auto_eoi(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0x02);
	pulse(&f, 3);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 3);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x00);
	pulse(&f, 6);
	g_assert_true(dev_pic_output(f.pic)); /* nothing in service blocks it */
	testboard_free(&f.tb);
}

static void test_rotate_in_auto_eoi(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0x02);
	outb(&f, MASTER_CMD, 0x80); /* rotate in AEOI mode */
	pulse(&f, 1);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 1);
	pulse(&f, 0);
	pulse(&f, 3);
	/* 1 just served becomes the lowest, so 2 is highest: 3 beats 0 */
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 3);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 0);
	testboard_free(&f.tb);
}

static void test_rotate_on_nonspecific_eoi(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 4);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 4);
	outb(&f, MASTER_CMD, 0xa0); /* rotate on non-specific EOI: 4 becomes lowest */
	pulse(&f, 3);
	pulse(&f, 6);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 6);
	testboard_free(&f.tb);
}

static void test_rotate_on_specific_eoi_and_set_priority(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	outb(&f, MASTER_CMD, 0xc0 | 3); /* set priority: 3 lowest, 4 highest */
	pulse(&f, 1);
	pulse(&f, 5);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 5);
	outb(&f, MASTER_CMD, 0xe0 | 5); /* rotate on specific EOI 5: 6 highest */
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x00);
	pulse(&f, 6);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 6);
	testboard_free(&f.tb);
}

static void test_poll_command(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	outb(&f, MASTER_CMD, POLL);
	g_assert_cmpuint(inb(&f, MASTER_CMD), ==, 0x00); /* nothing requesting */
	pulse(&f, 6);
	outb(&f, MASTER_CMD, POLL);
	g_assert_cmpuint(inb(&f, MASTER_CMD), ==, 0x86);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x40);
	g_assert_false(dev_pic_output(f.pic));
	/* the poll is for one read only: the next read is IRR again */
	pulse(&f, 7);
	g_assert_cmpuint(inb(&f, MASTER_CMD), ==, 0x80);
	testboard_free(&f.tb);
}

static void test_special_mask_mode(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 3);
	dev_pic_ack(f.pic);
	pulse(&f, 5);
	g_assert_false(dev_pic_output(f.pic));
	outb(&f, MASTER_DATA, 0x08); /* mask the level in service ... */
	g_assert_false(dev_pic_output(f.pic));
	outb(&f, MASTER_CMD, 0x68); /* ... and enter special mask mode */
	g_assert_true(dev_pic_output(f.pic));
	g_assert_cmpint(dev_pic_ack(f.pic), ==, MASTER_VEC + 5);
	outb(&f, MASTER_CMD, EOI); /* non-specific EOI skips the masked 3 */
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0x08);
	outb(&f, MASTER_CMD, 0x48); /* leave special mask mode */
	pulse(&f, 6);
	g_assert_false(dev_pic_output(f.pic));
	testboard_free(&f.tb);
}

static void test_special_fully_nested(void)
{
	for (int sfnm = 0; sfnm <= 1; sfnm++) {
		struct fx f;
		fx_init(&f);
		init_pair(&f, sfnm ? 0x10 : 0);
		pulse(&f, 10);
		g_assert_cmpint(dev_pic_ack(f.pic), ==, SLAVE_VEC + 2);
		pulse(&f, 9); /* higher on the slave, same master input */
		g_assert_cmpint(dev_pic_output(f.pic), ==, sfnm);
		if (sfnm)
			g_assert_cmpint(dev_pic_ack(f.pic), ==, SLAVE_VEC + 1);
		testboard_free(&f.tb);
	}
}

static void test_single_mode_without_icw4(void)
{
	struct fx f;
	fx_init(&f);
	outb(&f, MASTER_CMD, 0x12); /* single, no ICW4 */
	outb(&f, MASTER_DATA, 0x40);
	outb(&f, MASTER_DATA, 0xfe); /* already OCW1 */
	g_assert_cmpuint(inb(&f, MASTER_DATA), ==, 0xfe);
	pulse(&f, 0);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, 0x40);
	outb(&f, MASTER_CMD, EOI);
	/* no cascade in single mode: IR2 gives the master's own vector */
	outb(&f, MASTER_DATA, 0x00);
	outb(&f, SLAVE_CMD, 0x11);
	outb(&f, SLAVE_DATA, SLAVE_VEC);
	outb(&f, SLAVE_DATA, 0x02);
	outb(&f, SLAVE_DATA, 0x01);
	pulse(&f, 11);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, 0x42);
	testboard_free(&f.tb);
}

static void test_icw1_reinit_clears_state(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 3);
	dev_pic_ack(f.pic);
	pulse(&f, 4);
	outb(&f, MASTER_DATA, 0x55);
	init_pair(&f, 0);
	g_assert_cmpuint(dev_pic_isr(f.pic, 0), ==, 0);
	g_assert_cmpuint(dev_pic_irr(f.pic, 0), ==, 0);
	g_assert_cmpuint(dev_pic_imr(f.pic, 0), ==, 0);
	testboard_free(&f.tb);
}

static void test_save_restore_repeats(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 5);
	pulse(&f, 12);
	GByteArray *snap = g_byte_array_new();
	f.pic->dev.ops->save(&f.pic->dev, snap);
	int first[3];
	first[0] = dev_pic_ack(f.pic);
	outb(&f, MASTER_CMD, EOI);
	first[1] = dev_pic_ack(f.pic);
	first[2] = dev_pic_isr(f.pic, 0) << 8 | dev_pic_isr(f.pic, 1);
	g_assert_cmpint(first[0], ==, SLAVE_VEC + 4); /* IR2 outranks IR5 */
	g_assert_cmpint(first[1], ==, MASTER_VEC + 5);

	GError *err = NULL;
	f.out_calls = 0;
	g_assert_true(f.pic->dev.ops->restore(&f.pic->dev, snap->data, snap->len, &err));
	g_assert_no_error(err);
	g_assert_cmpint(f.out_calls, ==, 1); /* INT re-driven */
	g_assert_true(f.out_level);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, first[0]);
	outb(&f, MASTER_CMD, EOI);
	g_assert_cmpint(dev_pic_ack(f.pic), ==, first[1]);
	g_assert_cmpint(dev_pic_isr(f.pic, 0) << 8 | dev_pic_isr(f.pic, 1), ==, first[2]);

	g_assert_false(f.pic->dev.ops->restore(&f.pic->dev, snap->data, snap->len - 1, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	g_byte_array_free(snap, TRUE);
	testboard_free(&f.tb);
}

static void test_reset_is_power_on(void)
{
	struct fx f;
	fx_init(&f);
	init_pair(&f, 0);
	pulse(&f, 3);
	g_assert_true(f.out_level);
	f.pic->dev.ops->reset(&f.pic->dev);
	g_assert_false(f.out_level);
	g_assert_cmpuint(dev_pic_imr(f.pic, 0), ==, 0xff);
	g_assert_cmpuint(dev_pic_irr(f.pic, 0), ==, 0);
	testboard_free(&f.tb);
}

static void test_port_taken(void)
{
	struct testboard tb;
	testboard_init(&tb);
	g_assert_true(ioport_claim(tb.io, 0xa1, 1, NULL, NULL, NULL));
	GError *err = NULL;
	g_assert_null(dev_pic_new(&tb.board, NULL, NULL, &err));
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, "already taken"));
	g_error_free(err);
	testboard_free(&tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dev/pic/power-on-all-masked", test_power_on_masked);
	g_test_add_func("/dev/pic/icw1-clears-imr", test_icw1_clears_imr);
	g_test_add_func("/dev/pic/vector-isr-and-eoi", test_vector_isr_and_eoi);
	g_test_add_func("/dev/pic/mask-blocks-unmask-delivers",
	                test_mask_blocks_and_unmask_delivers);
	g_test_add_func("/dev/pic/fixed-priority-nesting", test_fixed_priority_nesting);
	g_test_add_func("/dev/pic/specific-eoi", test_specific_eoi);
	g_test_add_func("/dev/pic/edge-latches-zero-width-pulse",
	                test_edge_latches_zero_width_pulse);
	g_test_add_func("/dev/pic/edge-needs-new-rising-edge", test_edge_needs_new_rising_edge);
	g_test_add_func("/dev/pic/level-rerequests-after-eoi", test_level_rerequests_after_eoi);
	g_test_add_func("/dev/pic/level-withdrawn-spurious-irq7",
	                test_level_withdrawn_gives_spurious_irq7);
	g_test_add_func("/dev/pic/spurious-nothing-pending", test_spurious_with_nothing_pending);
	g_test_add_func("/dev/pic/elcr-fixed-edge-bits", test_elcr_fixed_edge_bits);
	g_test_add_func("/dev/pic/cascade-vector-and-isr", test_cascade_vector_and_isr);
	g_test_add_func("/dev/pic/slave-spurious-irq15-sets-master-isr2",
	                test_slave_spurious_irq15_sets_master_isr2);
	g_test_add_func("/dev/pic/isa-irq2-is-irq9", test_isa_irq2_is_irq9);
	g_test_add_func("/dev/pic/auto-eoi", test_auto_eoi);
	g_test_add_func("/dev/pic/rotate-in-auto-eoi", test_rotate_in_auto_eoi);
	g_test_add_func("/dev/pic/rotate-on-nonspecific-eoi", test_rotate_on_nonspecific_eoi);
	g_test_add_func("/dev/pic/rotate-specific-eoi-set-priority",
	                test_rotate_on_specific_eoi_and_set_priority);
	g_test_add_func("/dev/pic/poll-command", test_poll_command);
	g_test_add_func("/dev/pic/special-mask-mode", test_special_mask_mode);
	g_test_add_func("/dev/pic/special-fully-nested", test_special_fully_nested);
	g_test_add_func("/dev/pic/single-mode-without-icw4", test_single_mode_without_icw4);
	g_test_add_func("/dev/pic/icw1-reinit-clears-state", test_icw1_reinit_clears_state);
	g_test_add_func("/dev/pic/save-restore-repeats", test_save_restore_repeats);
	g_test_add_func("/dev/pic/reset-is-power-on", test_reset_is_power_on);
	g_test_add_func("/dev/pic/port-taken", test_port_taken);
	return g_test_run();
}
