/*
 * test-lapic.c - the local APIC against the SDM: registers, priorities,
 * EOI, the timer, IPIs to self and between the APICs of several CPUs,
 * errors, LINT inputs, the enable bits and save/restore. Registers are reached through physical memory (MMIO), as
 * the CPU reaches them.
 */
#include <glib.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "lapic.h"
#include "nestlab.h"
#include "testboard.h"

struct board {
	struct testboard tb;
	struct dev_lapic *l;
	int changed, nmis, inits;
	int eoi_vectors[8];
	int n_eoi;
};

static void on_changed(void *opaque)
{
	struct board *t = opaque;
	t->changed++;
}

static void on_nmi(void *opaque)
{
	struct board *t = opaque;
	t->nmis++;
}

static void on_init(void *opaque)
{
	struct board *t = opaque;
	t->inits++;
}

static void on_eoi(void *opaque, int vector)
{
	struct board *t = opaque;
	if (t->n_eoi < 8)
		t->eoi_vectors[t->n_eoi] = vector;
	t->n_eoi++;
}

static struct board *board_new(void)
{
	struct board *t = g_new0(struct board, 1);
	testboard_init(&t->tb);
	const struct dev_lapic_hooks h = {
	        .opaque = t,
	        .changed = on_changed,
	        .nmi = on_nmi,
	        .eoi = on_eoi,
	        .init = on_init,
	};
	t->l = testboard_adopt(&t->tb, dev_lapic_new(&t->tb.board, 0, &h, &t->tb.err));
	return t;
}

static void board_free(struct board *t)
{
	testboard_free(&t->tb);
	g_free(t);
}

static uint32_t rd(struct board *t, uint32_t reg)
{
	return pmem_read(t->tb.pm, LAPIC_MMIO_BASE + reg, 4);
}

static void wr(struct board *t, uint32_t reg, uint32_t v)
{
	pmem_write(t->tb.pm, LAPIC_MMIO_BASE + reg, v, 4);
}

/* Moves time to `when` in one step and fires what is due, every timer
 * seeing `when` as now, so a timer can fire late as after a long
 * instruction (testboard_run_to instead stops at each deadline). The
 * timer tests below were written for this one-step form. */
static void run_to(struct board *t, uint64_t when)
{
	t->tb.cycles = when;
	clock_run_due(t->tb.clock);
}

static bool irr_has(struct board *t, int v)
{
	return (rd(t, LAPIC_REG_IRR + 0x10u * (uint32_t)(v / 32)) >> (v % 32)) & 1;
}

static bool isr_has(struct board *t, int v)
{
	return (rd(t, LAPIC_REG_ISR + 0x10u * (uint32_t)(v / 32)) >> (v % 32)) & 1;
}

#define FIXED_SELF(v) ((uint32_t)(v) | ((uint32_t)LAPIC_SH_SELF << LAPIC_ICR_SHORTHAND_SHIFT))

/* {====== registers ====== */

static void test_reset_state(void)
{
	struct board *t = board_new();
	g_assert_cmphex(rd(t, LAPIC_REG_ID), ==, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_VERSION), ==, 0x00050014);
	g_assert_cmphex(rd(t, LAPIC_REG_SVR), ==, 0x1ff);
	g_assert_cmphex(rd(t, LAPIC_REG_LVT_LINT0), ==, 0x8700);
	g_assert_cmphex(rd(t, LAPIC_REG_LVT_LINT1), ==, 0x8400);
	g_assert_cmphex(rd(t, LAPIC_REG_LVT_TIMER), ==, LAPIC_LVT_MASKED);
	g_assert_cmphex(rd(t, LAPIC_REG_LVT_ERROR), ==, LAPIC_LVT_MASKED);
	g_assert_cmphex(rd(t, LAPIC_REG_DFR), ==, 0xffffffff);
	g_assert_cmphex(rd(t, LAPIC_REG_TPR), ==, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_TIMER_CCR), ==, 0);
	g_assert_true(dev_lapic_accepts_pic(t->l));
	g_assert_false(dev_lapic_pending(t->l));
	board_free(t);
}

static void test_id_version_ldr_dfr(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_ID, 0x05123456);
	g_assert_cmphex(rd(t, LAPIC_REG_ID), ==, 0x05000000);
	wr(t, LAPIC_REG_VERSION, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_VERSION), ==, 0x00050014);
	wr(t, LAPIC_REG_LDR, 0x01ffffff);
	g_assert_cmphex(rd(t, LAPIC_REG_LDR), ==, 0x01000000);
	wr(t, LAPIC_REG_DFR, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_DFR), ==, 0x0fffffff);
	g_assert_cmphex(rd(t, LAPIC_REG_APR), ==, 0);
	/* a byte read sees the low byte of the register */
	g_assert_cmphex(pmem_read(t->tb.pm, LAPIC_MMIO_BASE + LAPIC_REG_VERSION, 1), ==, 0x14);
	board_free(t);
}

static void test_tpr_ppr(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_TPR, 0x123);
	g_assert_cmphex(rd(t, LAPIC_REG_TPR), ==, 0x23);
	g_assert_cmphex(rd(t, LAPIC_REG_PPR), ==, 0x23);
	wr(t, LAPIC_REG_TPR, 0);
	dev_lapic_deliver(t->l, 0x57, false);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x57);
	/* PPR = the class of the in-service vector when it is above the TPR */
	g_assert_cmphex(rd(t, LAPIC_REG_PPR), ==, 0x50);
	wr(t, LAPIC_REG_TPR, 0x61);
	g_assert_cmphex(rd(t, LAPIC_REG_PPR), ==, 0x61);
	wr(t, LAPIC_REG_TPR, 0x52);
	g_assert_cmphex(rd(t, LAPIC_REG_PPR), ==, 0x52);
	wr(t, LAPIC_REG_EOI, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_PPR), ==, 0x52);
	board_free(t);
}

static void test_priority_class_blocks(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_TPR, 0x50);
	dev_lapic_deliver(t->l, 0x5f, false);
	g_assert_true(irr_has(t, 0x5f));
	g_assert_false(dev_lapic_pending(t->l)); /* same class as the TPR: held */
	dev_lapic_deliver(t->l, 0x60, false);
	g_assert_true(dev_lapic_pending(t->l));
	/* the TPR rises before INTA: the APIC answers with the spurious vector */
	wr(t, LAPIC_REG_TPR, 0x60);
	g_assert_false(dev_lapic_pending(t->l));
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0xff);
	g_assert_true(irr_has(t, 0x60));
	wr(t, LAPIC_REG_TPR, 0);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x60);
	/* an in-service vector holds off its own class and lower */
	g_assert_false(dev_lapic_pending(t->l));
	wr(t, LAPIC_REG_EOI, 0);
	g_assert_true(dev_lapic_pending(t->l));
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x5f);
	board_free(t);
}

static void test_eoi_nested_and_level_broadcast(void)
{
	struct board *t = board_new();
	dev_lapic_deliver(t->l, 0x40, true);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x40);
	dev_lapic_deliver(t->l, 0x80, false);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x80);
	g_assert_true(isr_has(t, 0x40) && isr_has(t, 0x80));
	g_assert_true((rd(t, LAPIC_REG_TMR + 0x20) >> 0) & 1); /* 0x40: level */
	wr(t, LAPIC_REG_EOI, 0);
	g_assert_false(isr_has(t, 0x80));
	g_assert_true(isr_has(t, 0x40));
	g_assert_cmpint(t->n_eoi, ==, 0); /* edge: no broadcast */
	wr(t, LAPIC_REG_EOI, 0);
	g_assert_false(isr_has(t, 0x40));
	g_assert_cmpint(t->n_eoi, ==, 1);
	g_assert_cmpint(t->eoi_vectors[0], ==, 0x40);
	wr(t, LAPIC_REG_EOI, 0); /* nothing in service: nothing happens */
	g_assert_cmpint(t->n_eoi, ==, 1);
	board_free(t);
}

static void test_software_disable(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_LVT_TIMER, 0x30);
	dev_lapic_deliver(t->l, 0x41, false);
	wr(t, LAPIC_REG_SVR, 0x0ff);
	g_assert_false(dev_lapic_pending(t->l));
	for (uint32_t r = LAPIC_REG_LVT_TIMER; r <= LAPIC_REG_LVT_ERROR; r += 0x10)
		g_assert_true(rd(t, r) & LAPIC_LVT_MASKED);
	g_assert_false(dev_lapic_accepts_pic(t->l)); /* LINT0 masked too */
	wr(t, LAPIC_REG_LVT_TIMER, 0x31);
	g_assert_cmphex(rd(t, LAPIC_REG_LVT_TIMER), ==, LAPIC_LVT_MASKED | 0x31);
	wr(t, LAPIC_REG_SVR, 0x1ff);
	g_assert_true(rd(t, LAPIC_REG_LVT_TIMER) & LAPIC_LVT_MASKED); /* stays masked */
	g_assert_true(dev_lapic_pending(t->l));                       /* IRR was held */
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x41);
	board_free(t);
}

/* }====================================================================== */

/* {====== the timer ====== */

static void test_timer_one_shot(void)
{
	struct board *t = board_new();
	t->tb.cycles = 1000;
	wr(t, LAPIC_REG_TIMER_DCR, 0xb); /* divide by 1: one count per cycle */
	wr(t, LAPIC_REG_LVT_TIMER, 0x30);
	wr(t, LAPIC_REG_TIMER_ICR, 500);
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 500);
	run_to(t, 1200);
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 300);
	run_to(t, 1499);
	g_assert_false(irr_has(t, 0x30));
	run_to(t, 1500);
	g_assert_true(irr_has(t, 0x30));
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 0);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x30);
	wr(t, LAPIC_REG_EOI, 0);
	run_to(t, 100000);
	g_assert_false(irr_has(t, 0x30)); /* one shot only */
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 0);
	board_free(t);
}

static void test_timer_periodic(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_TIMER_DCR, 0x0); /* divide by 2 */
	wr(t, LAPIC_REG_LVT_TIMER, 0x31 | LAPIC_TIMER_PERIODIC);
	wr(t, LAPIC_REG_TIMER_ICR, 100); /* a period of 200 cycles */
	int fired = 0;
	for (uint64_t c = 10; c <= 2000; c += 10) {
		run_to(t, c);
		if (irr_has(t, 0x31)) {
			g_assert_cmpuint(c % 200, ==, 0);
			fired++;
			dev_lapic_ack(t->l);
			wr(t, LAPIC_REG_EOI, 0);
		}
	}
	g_assert_cmpint(fired, ==, 10);
	run_to(t, 2050);
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 100 - 25);
	board_free(t);
}

static void test_timer_divide_values(void)
{
	static const struct {
		uint32_t dcr;
		uint64_t div;
	} table[] = {
	        {0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16}, {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
		struct board *t = board_new();
		wr(t, LAPIC_REG_TIMER_DCR, table[i].dcr | 0xf0); /* bits 4+ are reserved */
		g_assert_cmphex(rd(t, LAPIC_REG_TIMER_DCR), ==, table[i].dcr);
		wr(t, LAPIC_REG_LVT_TIMER, 0x32);
		wr(t, LAPIC_REG_TIMER_ICR, 10);
		run_to(t, 10 * table[i].div - 1);
		g_assert_false(irr_has(t, 0x32));
		g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 1);
		run_to(t, 10 * table[i].div);
		g_assert_true(irr_has(t, 0x32));
		board_free(t);
	}
}

static void test_timer_divide_change_keeps_count(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_TIMER_DCR, 0xb);
	wr(t, LAPIC_REG_LVT_TIMER, 0x33);
	wr(t, LAPIC_REG_TIMER_ICR, 1000);
	run_to(t, 400);
	wr(t, LAPIC_REG_TIMER_DCR, 0x0); /* now 2 cycles per count */
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 600);
	run_to(t, 400 + 1199);
	g_assert_false(irr_has(t, 0x33));
	run_to(t, 400 + 1200);
	g_assert_true(irr_has(t, 0x33));
	board_free(t);
}

static void test_timer_masked_and_stopped(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_TIMER_DCR, 0xb);
	wr(t, LAPIC_REG_LVT_TIMER, 0x34 | LAPIC_LVT_MASKED | LAPIC_TIMER_PERIODIC);
	wr(t, LAPIC_REG_TIMER_ICR, 100);
	run_to(t, 150);
	g_assert_false(irr_has(t, 0x34)); /* masked: counts, raises nothing */
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 50);
	wr(t, LAPIC_REG_LVT_TIMER, 0x34 | LAPIC_TIMER_PERIODIC);
	run_to(t, 200);
	g_assert_true(irr_has(t, 0x34));
	dev_lapic_ack(t->l);
	wr(t, LAPIC_REG_EOI, 0);
	wr(t, LAPIC_REG_TIMER_ICR, 0); /* a 0 initial count stops it */
	g_assert_cmpuint(rd(t, LAPIC_REG_TIMER_CCR), ==, 0);
	run_to(t, 10000);
	g_assert_false(irr_has(t, 0x34));
	g_assert_cmpuint(clock_next(t->tb.clock), ==, CLOCK_NEVER);
	board_free(t);
}

/* }====================================================================== */

/* {====== IPIs, errors, LINT, enable ====== */

static void test_self_ipi_destinations(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_ICR_LO, FIXED_SELF(0x40));
	g_assert_true(irr_has(t, 0x40));
	g_assert_false(rd(t, LAPIC_REG_ICR_LO) & LAPIC_DELIVS);
	wr(t, LAPIC_REG_ICR_HI, 0x00000000); /* physical: my own ID */
	wr(t, LAPIC_REG_ICR_LO, 0x41);
	g_assert_true(irr_has(t, 0x41));
	wr(t, LAPIC_REG_ICR_HI, 0x03000000); /* another CPU: nobody */
	wr(t, LAPIC_REG_ICR_LO, 0x42);
	g_assert_false(irr_has(t, 0x42));
	wr(t, LAPIC_REG_ICR_HI, 0xff000000); /* broadcast */
	wr(t, LAPIC_REG_ICR_LO, 0x43);
	g_assert_true(irr_has(t, 0x43));
	wr(t, LAPIC_REG_ICR_LO, 0x44 | (LAPIC_SH_OTHERS << LAPIC_ICR_SHORTHAND_SHIFT));
	g_assert_false(irr_has(t, 0x44));
	wr(t, LAPIC_REG_ICR_LO, 0x45 | (LAPIC_SH_ALL << LAPIC_ICR_SHORTHAND_SHIFT));
	g_assert_true(irr_has(t, 0x45));
	/* logical, flat model: LDR bit 1 */
	wr(t, LAPIC_REG_LDR, 0x02000000);
	wr(t, LAPIC_REG_ICR_HI, 0x02000000);
	wr(t, LAPIC_REG_ICR_LO, 0x46 | LAPIC_DEST_LOGICAL);
	g_assert_true(irr_has(t, 0x46));
	wr(t, LAPIC_REG_ICR_HI, 0x01000000);
	wr(t, LAPIC_REG_ICR_LO, 0x47 | LAPIC_DEST_LOGICAL);
	g_assert_false(irr_has(t, 0x47));
	/* cluster model: cluster 1, member bit 0 */
	wr(t, LAPIC_REG_DFR, 0x0fffffff);
	wr(t, LAPIC_REG_LDR, 0x11000000);
	g_assert_true(dev_lapic_is_dest(t->l, 0x13 | LAPIC_DEST_ID_LOGICAL));
	g_assert_false(dev_lapic_is_dest(t->l, 0x23 | LAPIC_DEST_ID_LOGICAL));
	g_assert_false(dev_lapic_is_dest(t->l, 0x12 | LAPIC_DEST_ID_LOGICAL));
	board_free(t);
}

static void test_icr_nmi_init_startup(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_ICR_LO, FIXED_SELF(0) | (LAPIC_DM_NMI << LAPIC_DM_SHIFT));
	g_assert_cmpint(t->nmis, ==, 1);
	wr(t, LAPIC_REG_ICR_LO,
	   (LAPIC_DM_INIT << LAPIC_DM_SHIFT) | LAPIC_ICR_LEVEL_ASSERT |
	           (LAPIC_SH_ALL << LAPIC_ICR_SHORTHAND_SHIFT));
	g_assert_cmpint(t->inits, ==, 1);
	/* INIT level de-assert: no INIT */
	wr(t, LAPIC_REG_ICR_LO,
	   (LAPIC_DM_INIT << LAPIC_DM_SHIFT) | LAPIC_TRIGGER_LEVEL |
	           (LAPIC_SH_ALL << LAPIC_ICR_SHORTHAND_SHIFT));
	g_assert_cmpint(t->inits, ==, 1);
	wr(t, LAPIC_REG_ICR_LO,
	   0x08 | (LAPIC_DM_STARTUP << LAPIC_DM_SHIFT) |
	           (LAPIC_SH_ALL << LAPIC_ICR_SHORTHAND_SHIFT));
	g_assert_cmpint(t->inits, ==, 1);
	g_assert_false(irr_has(t, 0x08));
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==, 0);
	board_free(t);
}

static void test_esr_illegal_vector(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_LVT_ERROR, 0xfe);
	wr(t, LAPIC_REG_ICR_LO, FIXED_SELF(0x05));
	g_assert_false(irr_has(t, 0x05));
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==, 0); /* not visible before a write */
	g_assert_true(irr_has(t, 0xfe));              /* the error interrupt */
	wr(t, LAPIC_REG_ESR, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==,
	                LAPIC_ESR_SEND_ILLEGAL_VECTOR | LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	wr(t, LAPIC_REG_ESR, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==, 0);
	/* an illegal vector from the IOAPIC or an LVT: receive error only */
	dev_lapic_deliver(t->l, 0x0f, false);
	wr(t, LAPIC_REG_ESR, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	g_assert_false(irr_has(t, 0x0f));
	board_free(t);
}

static void test_esr_illegal_register(void)
{
	struct board *t = board_new();
	g_assert_cmphex(rd(t, 0x040), ==, 0);
	wr(t, 0x3f0, 1);
	wr(t, LAPIC_REG_ESR, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==, LAPIC_ESR_ILLEGAL_REGISTER);
	wr(t, LAPIC_REG_ISR, 1); /* read-only, not reserved: no error */
	wr(t, LAPIC_REG_ESR, 0);
	g_assert_cmphex(rd(t, LAPIC_REG_ESR), ==, 0);
	board_free(t);
}

static void test_lint1_nmi_and_lint0(void)
{
	struct board *t = board_new();
	dev_lapic_set_lint(t->l, 1, true);
	g_assert_cmpint(t->nmis, ==, 1);
	dev_lapic_set_lint(t->l, 1, true); /* no new edge */
	g_assert_cmpint(t->nmis, ==, 1);
	dev_lapic_set_lint(t->l, 1, false);
	dev_lapic_set_lint(t->l, 1, true);
	g_assert_cmpint(t->nmis, ==, 2);
	wr(t, LAPIC_REG_LVT_LINT1, LAPIC_LVT_MASKED | (LAPIC_DM_NMI << LAPIC_DM_SHIFT));
	dev_lapic_set_lint(t->l, 1, false);
	dev_lapic_set_lint(t->l, 1, true);
	g_assert_cmpint(t->nmis, ==, 2);
	/* LINT0 masked: the 8259A no longer reaches the CPU */
	wr(t, LAPIC_REG_LVT_LINT0, LAPIC_LVT_MASKED);
	g_assert_false(dev_lapic_accepts_pic(t->l));
	/* LINT0 fixed, level-triggered: one delivery until the EOI */
	wr(t, LAPIC_REG_LVT_LINT0, 0x50 | LAPIC_TRIGGER_LEVEL);
	dev_lapic_set_lint(t->l, 0, true);
	g_assert_true(rd(t, LAPIC_REG_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x50);
	wr(t, LAPIC_REG_EOI, 0);
	g_assert_true(irr_has(t, 0x50)); /* still high: again */
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x50);
	dev_lapic_set_lint(t->l, 0, false);
	wr(t, LAPIC_REG_EOI, 0);
	g_assert_false(irr_has(t, 0x50));
	g_assert_false(rd(t, LAPIC_REG_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
	board_free(t);
}

static void test_base_msr_disable(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_LVT_LINT0, LAPIC_LVT_MASKED);
	dev_lapic_deliver(t->l, 0x70, false);
	dev_lapic_set_base_msr(t->l, 0xfee00100ull); /* BSP, enable clear */
	g_assert_false(dev_lapic_pending(t->l));
	g_assert_true(dev_lapic_accepts_pic(t->l));
	dev_lapic_deliver(t->l, 0x71, false);
	dev_lapic_set_base_msr(t->l, 0xfee00900ull);
	/* back in the power-up state: software-disabled, everything masked */
	g_assert_cmphex(rd(t, LAPIC_REG_SVR), ==, 0xff);
	g_assert_cmphex(rd(t, LAPIC_REG_LVT_LINT0), ==, LAPIC_LVT_MASKED);
	g_assert_false(irr_has(t, 0x70) || irr_has(t, 0x71));
	g_assert_false(dev_lapic_accepts_pic(t->l));
	/* reset (the board's power-on) gives virtual wire mode again */
	t->l->dev.ops->reset(&t->l->dev);
	g_assert_true(dev_lapic_accepts_pic(t->l));
	board_free(t);
}

/* }====================================================================== */

/* {====== save/restore and construction ====== */

/* Runs 3000 cycles from now in steps of 7, acknowledging each timer
 * interrupt; records the cycles at which they arrived. */
static int record_timer(struct board *t, uint64_t *when, int max)
{
	int n = 0;
	uint64_t end = t->tb.cycles + 3000;
	for (uint64_t c = t->tb.cycles + 7; c <= end; c += 7) {
		run_to(t, c);
		if (dev_lapic_pending(t->l)) {
			g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x35);
			wr(t, LAPIC_REG_EOI, 0);
			if (n < max)
				when[n] = c;
			n++;
		}
	}
	return n;
}

static void test_save_restore(void)
{
	struct board *t = board_new();
	wr(t, LAPIC_REG_TIMER_DCR, 0x1); /* divide by 4 */
	wr(t, LAPIC_REG_LVT_TIMER, 0x35 | LAPIC_TIMER_PERIODIC);
	wr(t, LAPIC_REG_TIMER_ICR, 77);
	wr(t, LAPIC_REG_TPR, 0x20);
	dev_lapic_deliver(t->l, 0x90, false);
	g_assert_cmpint(dev_lapic_ack(t->l), ==, 0x90);
	wr(t, LAPIC_REG_EOI, 0);
	run_to(t, 500);
	GByteArray *blob = g_byte_array_new();
	t->l->dev.ops->save(&t->l->dev, blob);
	uint64_t a[64], b[64];
	int na = record_timer(t, a, 64);
	g_assert_cmpint(na, >, 5);
	/* scramble, then restore */
	wr(t, LAPIC_REG_TIMER_ICR, 0);
	wr(t, LAPIC_REG_TPR, 0xf0);
	t->tb.cycles = 500;
	GError *err = NULL;
	g_assert_true(t->l->dev.ops->restore(&t->l->dev, blob->data, blob->len, &err));
	g_assert_no_error(err);
	g_assert_cmphex(rd(t, LAPIC_REG_TPR), ==, 0x20);
	int nb = record_timer(t, b, 64);
	g_assert_cmpint(na, ==, nb);
	g_assert_cmpmem(a, sizeof a[0] * (size_t)na, b, sizeof b[0] * (size_t)nb);
	/* a wrong size is refused and changes nothing */
	g_assert_false(t->l->dev.ops->restore(&t->l->dev, blob->data, blob->len - 1, &err));
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_assert_cmphex(rd(t, LAPIC_REG_TPR), ==, 0x20);
	g_byte_array_free(blob, TRUE);
	board_free(t);
}

/* {====== several APICs (one per CPU) ====== */

#define PEERS 4

struct peers {
	struct testboard tb;
	struct dev_lapic *l[PEERS];
	struct dev_lapic *all[PEERS];
	unsigned running;          /* whose registers the MMIO page shows */
	int nmis[PEERS], inits[PEERS], sipis[PEERS], sipi_vector[PEERS];
	struct peer_ctx { struct peers *p; int i; } ctx[PEERS];
};

static void peer_nmi(void *o)
{
	struct peer_ctx *c = o;
	c->p->nmis[c->i]++;
}

static void peer_init(void *o)
{
	struct peer_ctx *c = o;
	c->p->inits[c->i]++;
}

static void peer_sipi(void *o, int vector)
{
	struct peer_ctx *c = o;
	c->p->sipis[c->i]++;
	c->p->sipi_vector[c->i] = vector;
}

static struct dev_lapic *peer_select(void *o)
{
	struct peer_ctx *c = o;
	return c->p->l[c->p->running];
}

/* Four APICs, IDs 0-3, the first mapped, the others reached through it. */
static struct peers *peers_new(void)
{
	struct peers *p = g_new0(struct peers, 1);
	testboard_init(&p->tb);
	for (int i = 0; i < PEERS; i++) {
		p->ctx[i] = (struct peer_ctx){ p, i };
		const struct dev_lapic_hooks h = {
		        .opaque = &p->ctx[i], .nmi = peer_nmi, .init = peer_init, .sipi = peer_sipi,
		        .select = i == 0 ? peer_select : NULL,
		};
		p->l[i] = i == 0 ? testboard_adopt(&p->tb, dev_lapic_new(&p->tb.board, 0, &h, &p->tb.err))
		                 : testboard_adopt(&p->tb, dev_lapic_new_ap(&p->tb.board, (uint8_t)i, &h));
		p->all[i] = p->l[i];
	}
	for (int i = 0; i < PEERS; i++)
		dev_lapic_set_peers(p->l[i], p->all, PEERS);
	return p;
}

static uint32_t prd(struct peers *p, unsigned cpu, uint32_t reg)
{
	p->running = cpu;
	return pmem_read(p->tb.pm, LAPIC_MMIO_BASE + reg, 4);
}

static void pwr(struct peers *p, unsigned cpu, uint32_t reg, uint32_t v)
{
	p->running = cpu;
	pmem_write(p->tb.pm, LAPIC_MMIO_BASE + reg, v, 4);
}

/* An IPI from `cpu`: ICR high (destination) then low. */
static void send(struct peers *p, unsigned cpu, uint32_t dest, uint32_t lo)
{
	pwr(p, cpu, LAPIC_REG_ICR_HI, dest << 24);
	pwr(p, cpu, LAPIC_REG_ICR_LO, lo);
}

/* Which APICs have `vector` in IRR, as a bit mask; clears them. */
static unsigned irr_holders(struct peers *p, int vector)
{
	unsigned m = 0;
	for (unsigned i = 0; i < PEERS; i++) {
		uint32_t reg = LAPIC_REG_IRR + 0x10u * (uint32_t)(vector / 32);
		if (prd(p, i, reg) & (1u << (vector % 32))) {
			m |= 1u << i;
			g_assert_cmpint(dev_lapic_ack(p->l[i]), ==, vector);
			pwr(p, i, LAPIC_REG_EOI, 0);
		}
	}
	return m;
}

/* Each CPU sees its own APIC at the one address: its own ID, and the
 * registers it writes are its own. */
static void test_peers_own_registers(void)
{
	struct peers *p = peers_new();
	for (unsigned i = 0; i < PEERS; i++)
		g_assert_cmphex(prd(p, i, LAPIC_REG_ID), ==, i << 24);
	pwr(p, 2, LAPIC_REG_TPR, 0x30);
	g_assert_cmphex(prd(p, 2, LAPIC_REG_TPR), ==, 0x30);
	g_assert_cmphex(prd(p, 1, LAPIC_REG_TPR), ==, 0);
	testboard_free(&p->tb);
	g_free(p);
}

/* Fixed IPIs: physical ID, broadcast 0xFF, the shorthands, logical flat
 * and cluster destinations; lowest priority to the lowest TPR class. */
static void test_peers_fixed_destinations(void)
{
	struct peers *p = peers_new();
	send(p, 0, 2, 0x4040);                       /* physical ID 2 */
	g_assert_cmphex(irr_holders(p, 0x40), ==, 0x4);
	send(p, 1, 0xff, 0x4041);                    /* physical broadcast */
	g_assert_cmphex(irr_holders(p, 0x41), ==, 0xf);
	send(p, 3, 0, 0x44042);                      /* self */
	g_assert_cmphex(irr_holders(p, 0x42), ==, 0x8);
	send(p, 1, 0, 0x84043);                      /* all including self */
	g_assert_cmphex(irr_holders(p, 0x43), ==, 0xf);
	send(p, 1, 0, 0xc4044);                      /* all excluding self */
	g_assert_cmphex(irr_holders(p, 0x44), ==, 0xd);
	send(p, 0, 9, 0x4045);                       /* no such ID */
	g_assert_cmphex(irr_holders(p, 0x45), ==, 0);
	/* logical flat: LDR bit i for CPU i */
	for (unsigned i = 0; i < PEERS; i++)
		pwr(p, i, LAPIC_REG_LDR, (1u << i) << 24);
	send(p, 0, 0x6, 0x4846);                     /* logical, CPUs 1 and 2 */
	g_assert_cmphex(irr_holders(p, 0x46), ==, 0x6);
	/* logical cluster: cluster 1 holds CPUs 2 and 3 */
	for (unsigned i = 0; i < PEERS; i++) {
		pwr(p, i, LAPIC_REG_DFR, 0x0fffffff);
		pwr(p, i, LAPIC_REG_LDR, ((i / 2) << 28 | (1u << (i % 2)) << 24));
	}
	send(p, 0, 0x12, 0x4847);                    /* cluster 1, member bit 1: CPU 3 */
	g_assert_cmphex(irr_holders(p, 0x47), ==, 0x8);
	/* lowest priority among all: the lowest TPR class, ties to the lowest ID */
	pwr(p, 0, LAPIC_REG_TPR, 0x20);
	pwr(p, 1, LAPIC_REG_TPR, 0x10);
	pwr(p, 2, LAPIC_REG_TPR, 0x10);
	pwr(p, 3, LAPIC_REG_TPR, 0x30);
	send(p, 0, 0xff, 0x4150);                    /* physical broadcast, lowest priority */
	g_assert_cmphex(irr_holders(p, 0x50), ==, 0x2);
	testboard_free(&p->tb);
	g_free(p);
}

/* NMI, INIT and start-up reach the hooks of the APICs addressed (the
 * start-up vector with them); an INIT level de-assert reaches nobody; an
 * illegal vector is refused by every receiver and the sender. */
static void test_peers_nmi_init_startup(void)
{
	struct peers *p = peers_new();
	send(p, 0, 0, 0xc4500);                      /* INIT, all but self */
	send(p, 0, 0, 0xc4608);                      /* start-up 0x08, all but self */
	send(p, 0, 0, 0xc8500);                      /* INIT level de-assert: nothing */
	send(p, 2, 1, 0x4400);                       /* NMI to ID 1 */
	for (int i = 0; i < PEERS; i++) {
		g_assert_cmpint(p->inits[i], ==, i ? 1 : 0);
		g_assert_cmpint(p->sipis[i], ==, i ? 1 : 0);
		if (i)
			g_assert_cmpint(p->sipi_vector[i], ==, 8);
		g_assert_cmpint(p->nmis[i], ==, i == 1);
	}
	pwr(p, 0, LAPIC_REG_LVT_ERROR, 0x10000 | 0xfe); /* masked */
	send(p, 0, 3, 0x4005);                       /* fixed vector 5 to ID 3 */
	pwr(p, 0, LAPIC_REG_ESR, 0);
	pwr(p, 3, LAPIC_REG_ESR, 0);
	g_assert_cmphex(prd(p, 0, LAPIC_REG_ESR), ==, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
	g_assert_cmphex(prd(p, 3, LAPIC_REG_ESR), ==, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	g_assert_cmphex(irr_holders(p, 5), ==, 0);
	testboard_free(&p->tb);
	g_free(p);
}

/* INIT's APIC state: power-up (SVR 0xFF, every LVT masked), the ID kept. */
static void test_peers_init_state(void)
{
	struct peers *p = peers_new();
	pwr(p, 2, LAPIC_REG_ID, 7u << 24);
	pwr(p, 2, LAPIC_REG_TPR, 0x40);
	dev_lapic_init_state(p->l[2]);
	g_assert_cmphex(prd(p, 2, LAPIC_REG_ID), ==, 7u << 24);
	g_assert_cmphex(prd(p, 2, LAPIC_REG_SVR), ==, 0xff);
	g_assert_cmphex(prd(p, 2, LAPIC_REG_TPR), ==, 0);
	for (uint32_t r = LAPIC_REG_LVT_TIMER; r <= LAPIC_REG_LVT_ERROR; r += 0x10)
		g_assert_cmphex(prd(p, 2, r) & LAPIC_LVT_MASKED, ==, LAPIC_LVT_MASKED);
	testboard_free(&p->tb);
	g_free(p);
}

/* }====================================================================== */

static void test_new_fails_on_taken_range(void)
{
	struct board *t = board_new();
	GError *err = NULL;
	struct dev_lapic *l2 = dev_lapic_new(&t->tb.board, 1, NULL, &err);
	g_assert_null(l2);
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_clear_error(&err);
	board_free(t);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lapic/reset-state-is-virtual-wire", test_reset_state);
	g_test_add_func("/lapic/id-version-ldr-dfr", test_id_version_ldr_dfr);
	g_test_add_func("/lapic/tpr-ppr", test_tpr_ppr);
	g_test_add_func("/lapic/priority-class-blocks", test_priority_class_blocks);
	g_test_add_func("/lapic/eoi-nested-and-level-broadcast",
	                test_eoi_nested_and_level_broadcast);
	g_test_add_func("/lapic/software-disable-masks-lvt", test_software_disable);
	g_test_add_func("/lapic/timer/one-shot", test_timer_one_shot);
	g_test_add_func("/lapic/timer/periodic", test_timer_periodic);
	g_test_add_func("/lapic/timer/divide-values", test_timer_divide_values);
	g_test_add_func("/lapic/timer/divide-change-keeps-count",
	                test_timer_divide_change_keeps_count);
	g_test_add_func("/lapic/timer/masked-counts-zero-stops", test_timer_masked_and_stopped);
	g_test_add_func("/lapic/icr/self-destinations", test_self_ipi_destinations);
	g_test_add_func("/lapic/icr/nmi-init-startup", test_icr_nmi_init_startup);
	g_test_add_func("/lapic/esr/illegal-vector", test_esr_illegal_vector);
	g_test_add_func("/lapic/esr/illegal-register", test_esr_illegal_register);
	g_test_add_func("/lapic/lint1-nmi-and-lint0", test_lint1_nmi_and_lint0);
	g_test_add_func("/lapic/base-msr-disable", test_base_msr_disable);
	g_test_add_func("/lapic/save-restore", test_save_restore);
	g_test_add_func("/lapic/new-fails-on-taken-range", test_new_fails_on_taken_range);
	g_test_add_func("/lapic/peers/own-registers-at-one-address", test_peers_own_registers);
	g_test_add_func("/lapic/peers/fixed-destinations", test_peers_fixed_destinations);
	g_test_add_func("/lapic/peers/nmi-init-startup-illegal", test_peers_nmi_init_startup);
	g_test_add_func("/lapic/peers/init-state", test_peers_init_state);
	return g_test_run();
}
