/*
 * test-ioapic.c - the I/O APIC against the 82093AA datasheet: the
 * indirect registers, redirection entries, edge and level pins, remote
 * IRR and EOI, masking, polarity and save/restore, through MMIO.
 */
#include <glib.h>

#include "clock.h"
#include "device.h"
#include "ioapic.h"
#include "nestlab.h"
#include "testboard.h"

struct msg {
	int vector, dest, mode;
	bool level;
};

struct board {
	struct testboard tb;
	struct dev_ioapic *ioa;
	struct msg msgs[32];
	int n;
};

static void on_deliver(void *opaque, int vector, bool level, int dest, int mode)
{
	struct board *t = opaque;
	if (t->n < 32)
		t->msgs[t->n] = (struct msg){vector, dest, mode, level};
	t->n++;
}

static struct board *board_new(void)
{
	struct board *t = g_new0(struct board, 1);
	testboard_init(&t->tb);
	t->ioa =
	        testboard_adopt(&t->tb, dev_ioapic_new(&t->tb.board, 1, on_deliver, t, &t->tb.err));
	return t;
}

static void board_free(struct board *t)
{
	testboard_free(&t->tb);
	g_free(t);
}

static uint32_t rd(struct board *t, uint32_t reg)
{
	pmem_write(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOREGSEL, reg, 4);
	return pmem_read(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOWIN, 4);
}

static void wr(struct board *t, uint32_t reg, uint32_t v)
{
	pmem_write(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOREGSEL, reg, 4);
	pmem_write(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOWIN, v, 4);
}

static void set_rte(struct board *t, int pin, uint32_t lo, uint32_t hi)
{
	wr(t, IOAPIC_REG_REDTBL + 2u * (uint32_t)pin + 1, hi);
	wr(t, IOAPIC_REG_REDTBL + 2u * (uint32_t)pin, lo);
}

static uint32_t rte_lo(struct board *t, int pin)
{
	return rd(t, IOAPIC_REG_REDTBL + 2u * (uint32_t)pin);
}

static void test_reset_state(void)
{
	struct board *t = board_new();
	g_assert_cmphex(rd(t, IOAPIC_REG_VER), ==, 0x00170011);
	g_assert_cmphex(rd(t, IOAPIC_REG_ID), ==, 0x01000000);
	g_assert_cmphex(rd(t, IOAPIC_REG_ARB), ==, 0x01000000);
	for (int pin = 0; pin < IOAPIC_PINS; pin++) {
		g_assert_cmphex(rte_lo(t, pin), ==, IOAPIC_RTE_MASKED);
		g_assert_cmphex(rd(t, IOAPIC_REG_REDTBL + 2u * (uint32_t)pin + 1), ==, 0);
	}
	g_assert_cmphex(rd(t, 0x40), ==, 0); /* past the last entry */
	/* masked pins deliver nothing */
	dev_ioapic_set_irq(t->ioa, 2, true);
	g_assert_cmpint(t->n, ==, 0);
	board_free(t);
}

static void test_id_arb_version(void)
{
	struct board *t = board_new();
	wr(t, IOAPIC_REG_ID, 0xfa000000);
	g_assert_cmphex(rd(t, IOAPIC_REG_ID), ==, 0x0a000000);
	g_assert_cmphex(rd(t, IOAPIC_REG_ARB), ==, 0x0a000000);
	wr(t, IOAPIC_REG_VER, 0);
	wr(t, IOAPIC_REG_ARB, 0);
	g_assert_cmphex(rd(t, IOAPIC_REG_VER), ==, 0x00170011);
	g_assert_cmphex(rd(t, IOAPIC_REG_ARB), ==, 0x0a000000);
	/* IOREGSEL reads back; a byte write to it works */
	pmem_write(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOREGSEL, 0x1234, 4);
	g_assert_cmphex(pmem_read(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOREGSEL, 4), ==, 0x34);
	pmem_write(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOREGSEL, IOAPIC_REG_VER, 1);
	g_assert_cmphex(pmem_read(t->tb.pm, IOAPIC_MMIO_BASE + IOAPIC_IOWIN, 4), ==, 0x00170011);
	board_free(t);
}

static void test_redirection_round_trip(void)
{
	struct board *t = board_new();
	/* every writable bit, plus the read-only ones (delivery status, remote IRR) */
	set_rte(t, 5, 0xffffffff, 0xffffffff);
	g_assert_cmphex(rte_lo(t, 5), ==, 0x1afff);
	g_assert_cmphex(rd(t, IOAPIC_REG_REDTBL + 11), ==, 0xff000000);
	set_rte(t, 23, 0x00008931, 0x0f000000);
	g_assert_cmphex(rte_lo(t, 23), ==, 0x8931);
	g_assert_cmpint(t->n, ==, 0);
	g_assert_cmphex(rd(t, IOAPIC_REG_REDTBL + 47), ==, 0x0f000000);
	board_free(t);
}

static void test_edge_rising_only(void)
{
	struct board *t = board_new();
	set_rte(t, 2, 0x30 | (IOAPIC_DM_LOWEST << IOAPIC_RTE_DM_SHIFT) | IOAPIC_RTE_DEST_LOGICAL,
	        0x03000000);
	dev_ioapic_set_irq(t->ioa, 2, true);
	g_assert_cmpint(t->n, ==, 1);
	g_assert_cmpint(t->msgs[0].vector, ==, 0x30);
	g_assert_false(t->msgs[0].level);
	g_assert_cmpint(t->msgs[0].dest, ==, 0x03 | IOAPIC_DEST_LOGICAL_FLAG);
	g_assert_cmpint(t->msgs[0].mode, ==, IOAPIC_DM_LOWEST);
	dev_ioapic_set_irq(t->ioa, 2, true); /* still high: no new edge */
	dev_ioapic_set_irq(t->ioa, 2, false);
	g_assert_cmpint(t->n, ==, 1);
	dev_ioapic_set_irq(t->ioa, 2, true);
	g_assert_cmpint(t->n, ==, 2);
	g_assert_false(rte_lo(t, 2) & IOAPIC_RTE_REMOTE_IRR);
	/* a masked edge is lost, not held */
	dev_ioapic_set_irq(t->ioa, 2, false);
	set_rte(t, 2, 0x30 | IOAPIC_RTE_MASKED, 0);
	dev_ioapic_set_irq(t->ioa, 2, true);
	set_rte(t, 2, 0x30, 0);
	g_assert_cmpint(t->n, ==, 2);
	board_free(t);
}

static void test_level_remote_irr_eoi(void)
{
	struct board *t = board_new();
	set_rte(t, 9, 0x49 | IOAPIC_RTE_LEVEL, 0);
	dev_ioapic_set_irq(t->ioa, 9, true);
	g_assert_cmpint(t->n, ==, 1);
	g_assert_true(t->msgs[0].level);
	g_assert_cmpint(t->msgs[0].dest, ==, 0);
	g_assert_true(rte_lo(t, 9) & IOAPIC_RTE_REMOTE_IRR);
	dev_ioapic_set_irq(t->ioa, 9, true);
	g_assert_cmpint(t->n, ==, 1); /* waits for the EOI */
	dev_ioapic_eoi(t->ioa, 0x48); /* another vector: nothing */
	g_assert_cmpint(t->n, ==, 1);
	dev_ioapic_eoi(t->ioa, 0x49); /* still asserted: delivered again */
	g_assert_cmpint(t->n, ==, 2);
	dev_ioapic_set_irq(t->ioa, 9, false);
	dev_ioapic_eoi(t->ioa, 0x49);
	g_assert_cmpint(t->n, ==, 2);
	g_assert_false(rte_lo(t, 9) & IOAPIC_RTE_REMOTE_IRR);
	board_free(t);
}

static void test_level_held_while_masked(void)
{
	struct board *t = board_new();
	set_rte(t, 10, 0x4a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED, 0);
	dev_ioapic_set_irq(t->ioa, 10, true);
	g_assert_cmpint(t->n, ==, 0);
	set_rte(t, 10, 0x4a | IOAPIC_RTE_LEVEL, 0);
	g_assert_cmpint(t->n, ==, 1);
	board_free(t);
}

static void test_polarity_active_low(void)
{
	struct board *t = board_new();
	set_rte(t, 11, 0x4b | IOAPIC_RTE_ACTIVE_LOW, 0);
	dev_ioapic_set_irq(t->ioa, 11, true);
	g_assert_cmpint(t->n, ==, 0);
	dev_ioapic_set_irq(t->ioa, 11, false); /* the falling wire is the asserting edge */
	g_assert_cmpint(t->n, ==, 1);
	board_free(t);
}

static void test_nmi_mode_no_remote_irr(void)
{
	struct board *t = board_new();
	set_rte(t, 3, (IOAPIC_DM_NMI << IOAPIC_RTE_DM_SHIFT), 0);
	dev_ioapic_set_irq(t->ioa, 3, true);
	g_assert_cmpint(t->n, ==, 1);
	g_assert_cmpint(t->msgs[0].mode, ==, IOAPIC_DM_NMI);
	g_assert_false(rte_lo(t, 3) & IOAPIC_RTE_REMOTE_IRR);
	board_free(t);
}

static void test_save_restore(void)
{
	struct board *t = board_new();
	set_rte(t, 9, 0x49 | IOAPIC_RTE_LEVEL, 0);
	set_rte(t, 2, 0x32, 0);
	wr(t, IOAPIC_REG_ID, 0x05000000);
	dev_ioapic_set_irq(t->ioa, 9, true); /* remote IRR set */
	GByteArray *blob = g_byte_array_new();
	t->ioa->dev.ops->save(&t->ioa->dev, blob);
	dev_ioapic_eoi(t->ioa, 0x49);
	dev_ioapic_set_irq(t->ioa, 9, false);
	dev_ioapic_eoi(t->ioa, 0x49);
	t->ioa->dev.ops->reset(&t->ioa->dev);
	g_assert_cmphex(rd(t, IOAPIC_REG_ID), ==, 0x01000000);
	int before = t->n;
	GError *err = NULL;
	g_assert_true(t->ioa->dev.ops->restore(&t->ioa->dev, blob->data, blob->len, &err));
	g_assert_no_error(err);
	g_assert_cmpint(t->n, ==, before); /* a restore sends nothing */
	g_assert_cmphex(rd(t, IOAPIC_REG_ID), ==, 0x05000000);
	g_assert_true(rte_lo(t, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* the same EOI as after the save delivers the same message again */
	dev_ioapic_eoi(t->ioa, 0x49);
	g_assert_cmpint(t->n, ==, before + 1);
	g_assert_cmpint(t->msgs[before].vector, ==, 0x49);
	g_assert_false(t->ioa->dev.ops->restore(&t->ioa->dev, blob->data, 3, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	g_byte_array_free(blob, TRUE);
	board_free(t);
}

static void test_new_fails_on_taken_range(void)
{
	struct board *t = board_new();
	GError *err = NULL;
	g_assert_null(dev_ioapic_new(&t->tb.board, 2, on_deliver, t, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_clear_error(&err);
	board_free(t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ioapic/reset-state-all-masked", test_reset_state);
	g_test_add_func("/ioapic/id-arb-version", test_id_arb_version);
	g_test_add_func("/ioapic/redirection-round-trip", test_redirection_round_trip);
	g_test_add_func("/ioapic/edge-rising-only", test_edge_rising_only);
	g_test_add_func("/ioapic/level-remote-irr-eoi", test_level_remote_irr_eoi);
	g_test_add_func("/ioapic/level-held-while-masked", test_level_held_while_masked);
	g_test_add_func("/ioapic/polarity-active-low", test_polarity_active_low);
	g_test_add_func("/ioapic/nmi-mode-no-remote-irr", test_nmi_mode_no_remote_irr);
	g_test_add_func("/ioapic/save-restore", test_save_restore);
	g_test_add_func("/ioapic/new-fails-on-taken-range", test_new_fails_on_taken_range);
	return g_test_run();
}
