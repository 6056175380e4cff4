/*
 * test-uart16550.c - the 16550A UART on a real board: registers, the
 * divisor latch, character timing of reception, flow-controlled host
 * input, loopback through the FIFOs, overruns, modem status in loopback,
 * IIR priorities, the character timeout, the OUT2 gate on the ISA line,
 * reset and save/restore.
 */
#include <glib.h>
#include <string.h>

#include "chardev.h"
#include "clock.h"
#include "device.h"
#include "ioport.h"
#include "nestlab.h"
#include "physmem.h"
#include "testboard.h"
#include "uart16550.h"

#define BASE UART_COM2_BASE
#define IRQ UART_COM2_IRQ
/* 115200 baud 8N1: 10 bits * 16 ticks of 1.8432 MHz = 86.8 us = 8680 cycles */
#define CHAR_8N1_DIV1 8680u

struct fix {
	struct testboard tb; /* the COM2 line only */
	struct chardev *host;
	struct dev_uart *uart;
};

static void fix_init(struct fix *f)
{
	*f = (struct fix){ 0 };
	testboard_init(&f->tb);
	f->tb.only_irq = IRQ;
	f->host = chardev_new_buffer();
	f->uart = testboard_adopt(
	        &f->tb, dev_uart_new(&f->tb.board, BASE, IRQ, "com2", f->host, &f->tb.err));
	dev_uart_set_out2_gate(f->uart, true); /* a PC/AT card; test_no_out2_gate has none */
}

static void fix_done(struct fix *f)
{
	testboard_free(&f->tb);
	chardev_free(f->host);
}

static void run_for(struct fix *f, uint64_t delta)
{
	testboard_run_to(&f->tb, f->tb.cycles + delta);
}

static uint8_t rd(struct fix *f, unsigned reg)
{
	return (uint8_t)ioport_read(f->tb.io, (uint16_t)(BASE + reg), 1);
}

static void wr(struct fix *f, unsigned reg, uint8_t v)
{
	ioport_write(f->tb.io, (uint16_t)(BASE + reg), v, 1);
}

/* 115200 8N1: divisor 1. */
static void set_fast(struct fix *f)
{
	wr(f, UART_LCR, UART_LCR_DLAB);
	wr(f, UART_DLL, 1);
	wr(f, UART_DLM, 0);
	wr(f, UART_LCR, 0x03);
}

static void push(struct fix *f, const char *s)
{
	chardev_push_input(f->host, (const uint8_t *)s, strlen(s));
}

/* {====== registers ====== */

static void test_reset_values(void)
{
	struct fix f;
	fix_init(&f);
	g_assert_cmphex(rd(&f, UART_IER), ==, 0);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_NO_INT);
	g_assert_cmphex(rd(&f, UART_LCR), ==, 0);
	g_assert_cmphex(rd(&f, UART_MCR), ==, 0);
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_THRE | UART_LSR_TEMT);
	g_assert_cmphex(rd(&f, UART_MSR), ==, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	g_assert_false(f.tb.level[IRQ]);
	fix_done(&f);
}

static void test_scratch_divisor_lcr(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, UART_SCR, 0x5a);
	g_assert_cmphex(rd(&f, UART_SCR), ==, 0x5a);
	wr(&f, UART_LCR, UART_LCR_DLAB | 0x1b);
	wr(&f, UART_DLL, 0x34);
	wr(&f, UART_DLM, 0x12);
	g_assert_cmphex(rd(&f, UART_DLL), ==, 0x34);
	g_assert_cmphex(rd(&f, UART_DLM), ==, 0x12);
	g_assert_cmphex(rd(&f, UART_LCR), ==, UART_LCR_DLAB | 0x1b);
	wr(&f, UART_LCR, 0x1b);
	/* with DLAB off, the same ports are RBR/THR and IER */
	wr(&f, UART_IER, 0xff);
	g_assert_cmphex(rd(&f, UART_IER), ==, UART_IER_MASK);
	wr(&f, UART_IER, 0);
	wr(&f, UART_LCR, UART_LCR_DLAB);
	g_assert_cmphex(rd(&f, UART_DLL), ==, 0x34);
	g_assert_cmphex(rd(&f, UART_DLM), ==, 0x12);
	wr(&f, UART_MCR, 0xff);
	g_assert_cmphex(rd(&f, UART_MCR), ==, UART_MCR_MASK);
	fix_done(&f);
}

static void test_port_taken_is_an_error(void)
{
	struct fix f;
	fix_init(&f);
	GError *err = NULL;
	struct chardev *other = chardev_new_null();
	struct dev_uart *u = dev_uart_new(&f.tb.board, BASE + 4, IRQ, "dup", other, &err);
	g_assert_null(u);
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_error_free(err);
	chardev_free(other);
	fix_done(&f);
}

static void test_char_time_from_divisor_and_lcr(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	g_assert_cmpuint(dev_uart_char_cycles(f.uart), ==, CHAR_8N1_DIV1);
	/* 9600 7E2: 1 + 7 + 1 + 2 = 11 bits * 16 * 12 ticks = 1.1458 ms */
	wr(&f, UART_LCR, UART_LCR_DLAB | 0x02 | UART_LCR_PARITY | UART_LCR_EVEN | UART_LCR_STOP);
	wr(&f, UART_DLL, 12);
	g_assert_cmpuint(dev_uart_char_cycles(f.uart), ==, 11ull * 16 * 12 * CLOCK_HZ / 1843200);
	/* 5 data bits with the stop bit set: 1.5 stop bits -> 7.5 bits */
	wr(&f, UART_LCR, UART_LCR_STOP);
	g_assert_cmpuint(dev_uart_char_cycles(f.uart), ==, 15ull * 8 * 12 * CLOCK_HZ / 1843200);
	fix_done(&f);
}

/* }====== */

/* {====== transmission and reception ====== */

static void test_tx_is_immediate(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_THR, 'o');
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_THRE | UART_LSR_TEMT);
	wr(&f, UART_THR, 'k');
	const GByteArray *out = chardev_output(f.host);
	g_assert_cmpmem(out->data, out->len, "ok", 2);
	fix_done(&f);
}

static void test_rx_arrives_after_one_char_time(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	f.tb.cycles = 1000;
	push(&f, "A");
	testboard_run_to(&f.tb, 1000 + CHAR_8N1_DIV1 - 1);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, 0);
	testboard_run_to(&f.tb, 1000 + CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'A');
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, 0);
	fix_done(&f);
}

/* Without FIFOs the receiver holds one byte; the rest wait in the host
 * queue and none is lost or overrun however late the guest reads. */
static void test_rx_host_input_never_lost(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	push(&f, "hello");
	run_for(&f, 100 * CHAR_8N1_DIV1);
	g_assert_cmpuint(chardev_input_pending(f.host), ==, 4);
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_DR | UART_LSR_THRE | UART_LSR_TEMT);
	char got[6] = { 0 };
	for (int i = 0; i < 5; i++) {
		g_assert_cmphex(rd(&f, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), ==, UART_LSR_DR);
		got[i] = (char)rd(&f, UART_RBR);
		/* the next byte needs a whole character time after the read */
		run_for(&f, CHAR_8N1_DIV1 - 1);
		g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, 0);
		run_for(&f, 1);
	}
	g_assert_cmpstr(got, ==, "hello");
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, 0);

	/* with FIFOs: 16 bytes are taken, the rest still wait, no overrun */
	wr(&f, UART_FCR, UART_FCR_ENABLE);
	push(&f, "0123456789abcdefXYZ");
	run_for(&f, 100 * CHAR_8N1_DIV1);
	g_assert_cmpuint(chardev_input_pending(f.host), ==, 3);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_OE, ==, 0);
	for (int i = 0; i < 16; i++)
		g_assert_cmphex(rd(&f, UART_RBR), ==, "0123456789abcdef"[i]);
	run_for(&f, 3 * CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'X');
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'Y');
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'Z');
	fix_done(&f);
}

static void test_loopback_round_trip(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_MCR, UART_MCR_LOOP);
	push(&f, "H"); /* host input waits while the receiver listens to the loop */
	f.tb.cycles = 500;
	wr(&f, UART_THR, 0xa5);
	/* THR moved straight into the shift register: THRE, not TEMT */
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_THRE);
	testboard_run_to(&f.tb, 500 + CHAR_8N1_DIV1 - 1);
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_THRE);
	testboard_run_to(&f.tb, 500 + CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_DR | UART_LSR_THRE | UART_LSR_TEMT);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 0xa5);
	g_assert_cmpuint(chardev_output(f.host)->len, ==, 0);
	run_for(&f, 10 * CHAR_8N1_DIV1);
	g_assert_cmpuint(chardev_input_pending(f.host), ==, 1);
	/* out of loopback the host byte comes in */
	wr(&f, UART_MCR, 0);
	run_for(&f, CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'H');
	fix_done(&f);
}

/* 17 bytes fit the transmitter (16 in the FIFO + the shift register) but
 * not the receiver: the 17th overruns and is lost, the FIFO is kept. */
static void test_loopback_fifo_16_then_overrun(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
	wr(&f, UART_MCR, UART_MCR_LOOP);
	for (int i = 0; i < 17; i++)
		wr(&f, UART_THR, (uint8_t)(0x40 + i));
	g_assert_cmphex(rd(&f, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), ==, 0);
	run_for(&f, 16 * CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_DR | UART_LSR_THRE);
	run_for(&f, CHAR_8N1_DIV1);
	uint8_t lsr = rd(&f, UART_LSR);
	g_assert_cmphex(lsr, ==, UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_OE, ==, 0); /* cleared by the read */
	for (int i = 0; i < 16; i++)
		g_assert_cmphex(rd(&f, UART_RBR), ==, 0x40 + i);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, 0);
	fix_done(&f);
}

/* Without FIFOs a second byte overwrites RBR and sets OE. */
static void test_loopback_rbr_overrun(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_MCR, UART_MCR_LOOP);
	wr(&f, UART_THR, 1);
	wr(&f, UART_THR, 2); /* THR holds it while 1 is shifted */
	g_assert_cmphex(rd(&f, UART_LSR), ==, 0);
	run_for(&f, 2 * CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_LSR), ==,
	                UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 2);
	fix_done(&f);
}

/* }====== */

/* {====== modem status ====== */

static void test_msr_loopback_lines_and_deltas(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, UART_MCR, UART_MCR_LOOP);
	/* CTS, DSR and DCD dropped as the loop replaced the host's lines */
	g_assert_cmphex(rd(&f, UART_MSR), ==, UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	g_assert_cmphex(rd(&f, UART_MSR), ==, 0);
	wr(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	g_assert_cmphex(rd(&f, UART_MSR), ==, UART_MSR_CTS | UART_MSR_DCTS);
	wr(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_DTR);
	g_assert_cmphex(rd(&f, UART_MSR), ==, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DDSR);
	wr(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1 | UART_MCR_OUT2);
	/* RI rising sets no delta: TERI is for the trailing edge only */
	g_assert_cmphex(rd(&f, UART_MSR), ==,
	                UART_MSR_RI | UART_MSR_DCD | UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	wr(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	g_assert_cmphex(rd(&f, UART_MSR), ==, UART_MSR_DCD | UART_MSR_TERI);
	g_assert_cmphex(rd(&f, UART_MSR), ==, UART_MSR_DCD);
	fix_done(&f);
}

/* }====== */

/* {====== interrupts ====== */

static void test_iir_priority_order(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_MCR, UART_MCR_LOOP);
	rd(&f, UART_MSR);
	/* make every source pending: overrun (2 bytes), data, THRE, modem */
	wr(&f, UART_THR, 1);
	wr(&f, UART_THR, 2);
	run_for(&f, 2 * CHAR_8N1_DIV1);
	wr(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	wr(&f, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | UART_IER_MSI);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_RLSI);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_RLSI); /* until LSR is read */
	rd(&f, UART_LSR);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_RDI);
	rd(&f, UART_RBR);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_THRI); /* this read acknowledges it */
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_MSI);
	rd(&f, UART_MSR);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_NO_INT);
	fix_done(&f);
}

/* The chip's interrupt reaches the ISA line only with OUT2 set and not in
 * loopback; IIR reports it either way. */
static void test_out2_gates_the_line(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, UART_IER, UART_IER_THRI);
	g_assert_false(f.tb.level[IRQ]);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_THRI);
	wr(&f, UART_THR, 'x'); /* THRE again */
	wr(&f, UART_MCR, UART_MCR_OUT2);
	g_assert_true(f.tb.level[IRQ]);
	wr(&f, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	g_assert_false(f.tb.level[IRQ]);
	wr(&f, UART_MCR, UART_MCR_OUT2);
	g_assert_true(f.tb.level[IRQ]);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_THRI);
	g_assert_false(f.tb.level[IRQ]);
	fix_done(&f);
}

/* Without the board's OUT2 gate (the default, as on QEMU) the line follows
 * INTR whatever MCR says: xv6 takes receive interrupts with MCR 0. */
static void test_no_out2_gate(void)
{
	struct fix f;
	fix_init(&f);
	dev_uart_set_out2_gate(f.uart, false);
	g_assert_false(f.tb.level[IRQ]);
	wr(&f, UART_MCR, 0);
	wr(&f, UART_IER, UART_IER_RDI);
	g_assert_false(f.tb.level[IRQ]); /* nothing received yet */
	set_fast(&f);
	push(&f, "x");
	run_for(&f, dev_uart_char_cycles(f.uart) + 1);
	g_assert_true(f.tb.level[IRQ]);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_RDI);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'x');
	g_assert_false(f.tb.level[IRQ]);
	wr(&f, UART_IER, UART_IER_THRI); /* THRE, with MCR 0 */
	g_assert_true(f.tb.level[IRQ]);
	dev_uart_set_out2_gate(f.uart, true); /* the gate closes the line at once */
	g_assert_false(f.tb.level[IRQ]);
	dev_uart_set_out2_gate(f.uart, false);
	g_assert_true(f.tb.level[IRQ]);
	fix_done(&f);
}

/* Each THR write makes a new rising edge once THRE was acknowledged, and
 * even when it was not (the line drops while THR is full). */
static void test_thre_interrupt_per_write(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, UART_MCR, UART_MCR_OUT2);
	wr(&f, UART_IER, UART_IER_THRI);
	g_assert_cmpint(f.tb.raises[IRQ], ==, 1);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_THRI);
	g_assert_false(f.tb.level[IRQ]);
	wr(&f, UART_THR, 'a');
	g_assert_cmpint(f.tb.raises[IRQ], ==, 2);
	g_assert_true(f.tb.level[IRQ]);
	wr(&f, UART_THR, 'b'); /* not acknowledged: still a fresh edge */
	g_assert_cmpint(f.tb.raises[IRQ], ==, 3);
	wr(&f, UART_IER, 0);
	g_assert_false(f.tb.level[IRQ]);
	fix_done(&f);
}

static void test_rx_interrupt_at_trigger_level(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_FCR, UART_FCR_ENABLE | 0x40); /* trigger at 4 */
	wr(&f, UART_MCR, UART_MCR_OUT2);
	wr(&f, UART_IER, UART_IER_RDI);
	push(&f, "abcd");
	run_for(&f, 3 * CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_NO_INT | UART_IIR_FIFO_ON);
	g_assert_false(f.tb.level[IRQ]);
	run_for(&f, CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_RDI | UART_IIR_FIFO_ON);
	g_assert_true(f.tb.level[IRQ]);
	rd(&f, UART_RBR); /* below the trigger level again */
	g_assert_false(f.tb.level[IRQ]);
	g_assert_cmphex(rd(&f, UART_IIR) & 0x0f, !=, UART_IIR_RDI);
	fix_done(&f);
}

/* FIFO mode: data below the trigger level raises the character timeout
 * after 4 character times without activity; a read clears it. */
static void test_char_timeout(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_FCR, UART_FCR_ENABLE | 0xc0); /* trigger at 14 */
	wr(&f, UART_MCR, UART_MCR_OUT2);
	wr(&f, UART_IER, UART_IER_RDI);
	push(&f, "xy");
	run_for(&f, 2 * CHAR_8N1_DIV1); /* both arrived */
	run_for(&f, 4 * CHAR_8N1_DIV1 - 1);
	g_assert_false(f.tb.level[IRQ]);
	run_for(&f, 1);
	g_assert_true(f.tb.level[IRQ]);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_CTI | UART_IIR_FIFO_ON);
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'x');
	g_assert_false(f.tb.level[IRQ]);
	run_for(&f, 4 * CHAR_8N1_DIV1);
	g_assert_true(f.tb.level[IRQ]); /* 'y' still waits */
	g_assert_cmphex(rd(&f, UART_RBR), ==, 'y');
	run_for(&f, 10 * CHAR_8N1_DIV1);
	g_assert_false(f.tb.level[IRQ]); /* empty: no timeout */
	fix_done(&f);
}

static void test_fcr_iir_bits_and_clear(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	g_assert_cmphex(rd(&f, UART_IIR) & UART_IIR_FIFO_ON, ==, 0);
	wr(&f, UART_FCR, UART_FCR_ENABLE);
	g_assert_cmphex(rd(&f, UART_IIR) & UART_IIR_FIFO_ON, ==, UART_IIR_FIFO_ON);
	push(&f, "abc");
	run_for(&f, 3 * CHAR_8N1_DIV1);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
	wr(&f, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	g_assert_cmphex(rd(&f, UART_LSR) & UART_LSR_DR, ==, 0);
	wr(&f, UART_FCR, 0);
	g_assert_cmphex(rd(&f, UART_IIR) & UART_IIR_FIFO_ON, ==, 0);
	fix_done(&f);
}

/* }====== */

/* {====== reset and snapshots ====== */

static void test_reset_restores_power_on(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	wr(&f, UART_THR, 7);
	wr(&f, UART_SCR, 9);
	wr(&f, UART_MCR, UART_MCR_OUT2);
	wr(&f, UART_IER, UART_IER_THRI);
	g_assert_true(f.tb.level[IRQ]);
	f.uart->dev.ops->reset(&f.uart->dev);
	g_assert_false(f.tb.level[IRQ]);
	g_assert_cmpuint(clock_next(f.tb.clock), ==, CLOCK_NEVER);
	g_assert_cmphex(rd(&f, UART_LSR), ==, UART_LSR_THRE | UART_LSR_TEMT);
	g_assert_cmphex(rd(&f, UART_IER), ==, 0);
	g_assert_cmphex(rd(&f, UART_MCR), ==, 0);
	fix_done(&f);
}

struct trace {
	char bytes[64];
	uint64_t when[64];
	int n;
};

/* Polls the receiver every 1000 cycles until `n` bytes were read. */
static void collect(struct fix *f, struct trace *t, int n)
{
	memset(t, 0, sizeof *t);
	while (t->n < n) {
		run_for(f, 1000);
		if (rd(f, UART_LSR) & UART_LSR_DR) {
			t->when[t->n] = f->tb.cycles;
			t->bytes[t->n++] = (char)rd(f, UART_RBR);
		}
	}
}

/* A snapshot taken with a byte on the wire, bytes in the loopback FIFO
 * and host input queued continues identically after a restore. */
static void test_save_restore_repeats(void)
{
	struct fix f;
	fix_init(&f);
	set_fast(&f);
	wr(&f, UART_FCR, UART_FCR_ENABLE | 0x40);
	wr(&f, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	wr(&f, UART_IER, UART_IER_RDI);
	push(&f, "host");
	for (int i = 0; i < 5; i++)
		wr(&f, UART_THR, (uint8_t)('A' + i));
	run_for(&f, 2 * CHAR_8N1_DIV1 + 100);

	GByteArray *snap = g_byte_array_new();
	f.uart->dev.ops->save(&f.uart->dev, snap);
	uint64_t t0 = f.tb.cycles;
	bool level0 = f.tb.level[IRQ];

	struct trace a, a2;
	collect(&f, &a, 3);
	/* out of loopback: D and E, still in the transmitter, go to the host,
	 * and the host's bytes come in */
	wr(&f, UART_MCR, UART_MCR_OUT2);
	collect(&f, &a2, 4);
	g_assert_cmpmem(a.bytes, 3, "ABC", 3);
	g_assert_cmpmem(a2.bytes, 4, "host", 4);
	g_assert_cmpmem(chardev_output(f.host)->data, chardev_output(f.host)->len, "DE", 2);

	/* back to the snapshot: time too */
	f.tb.cycles = t0;
	f.tb.level[IRQ] = false;
	GError *err = NULL;
	g_assert_true(f.uart->dev.ops->restore(&f.uart->dev, snap->data, snap->len, &err));
	g_assert_no_error(err);
	g_assert_cmpint(f.tb.level[IRQ], ==, level0);
	g_assert_cmpuint(chardev_input_pending(f.host), ==, 4);
	struct trace c, c2;
	collect(&f, &c, 3);
	wr(&f, UART_MCR, UART_MCR_OUT2);
	collect(&f, &c2, 4);
	g_assert_cmpmem(&a, sizeof a, &c, sizeof c);
	g_assert_cmpmem(&a2, sizeof a2, &c2, sizeof c2);
	g_assert_cmpmem(chardev_output(f.host)->data, chardev_output(f.host)->len, "DEDE", 4);

	/* a blob of the wrong size is refused and changes nothing */
	uint8_t lcr = rd(&f, UART_LCR);
	g_assert_false(f.uart->dev.ops->restore(&f.uart->dev, snap->data, 20, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	g_assert_cmphex(rd(&f, UART_LCR), ==, lcr);
	g_byte_array_unref(snap);
	fix_done(&f);
}

/* Restoring re-drives the interrupt line from the restored state. */
static void test_restore_redrives_line(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, UART_MCR, UART_MCR_OUT2);
	wr(&f, UART_IER, UART_IER_THRI);
	g_assert_true(f.tb.level[IRQ]);
	GByteArray *snap = g_byte_array_new();
	f.uart->dev.ops->save(&f.uart->dev, snap);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_THRI);
	g_assert_false(f.tb.level[IRQ]);
	GError *err = NULL;
	g_assert_true(f.uart->dev.ops->restore(&f.uart->dev, snap->data, snap->len, &err));
	g_assert_true(f.tb.level[IRQ]);
	g_assert_cmphex(rd(&f, UART_IIR), ==, UART_IIR_THRI); /* pending again */
	g_byte_array_unref(snap);
	fix_done(&f);
}

/* }====== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/uart/regs/reset-values", test_reset_values);
	g_test_add_func("/uart/regs/scratch-divisor-lcr", test_scratch_divisor_lcr);
	g_test_add_func("/uart/regs/port-taken-is-an-error", test_port_taken_is_an_error);
	g_test_add_func("/uart/timing/char-time-from-divisor-and-lcr",
	                test_char_time_from_divisor_and_lcr);
	g_test_add_func("/uart/tx/immediate-to-host", test_tx_is_immediate);
	g_test_add_func("/uart/rx/arrives-after-one-char-time", test_rx_arrives_after_one_char_time);
	g_test_add_func("/uart/rx/host-input-never-lost", test_rx_host_input_never_lost);
	g_test_add_func("/uart/loopback/round-trip", test_loopback_round_trip);
	g_test_add_func("/uart/loopback/fifo-16-then-overrun", test_loopback_fifo_16_then_overrun);
	g_test_add_func("/uart/loopback/rbr-overrun-without-fifo", test_loopback_rbr_overrun);
	g_test_add_func("/uart/msr/loopback-lines-and-deltas", test_msr_loopback_lines_and_deltas);
	g_test_add_func("/uart/irq/iir-priority-order", test_iir_priority_order);
	g_test_add_func("/uart/irq/out2-gates-the-line", test_out2_gates_the_line);
	g_test_add_func("/uart/irq/no-out2-gate-by-default", test_no_out2_gate);
	g_test_add_func("/uart/irq/thre-edge-per-write", test_thre_interrupt_per_write);
	g_test_add_func("/uart/irq/rx-at-trigger-level", test_rx_interrupt_at_trigger_level);
	g_test_add_func("/uart/irq/char-timeout", test_char_timeout);
	g_test_add_func("/uart/fcr/iir-fifo-bits-and-clear", test_fcr_iir_bits_and_clear);
	g_test_add_func("/uart/reset/power-on-state", test_reset_restores_power_on);
	g_test_add_func("/uart/snapshot/save-restore-repeats", test_save_restore_repeats);
	g_test_add_func("/uart/snapshot/restore-redrives-line", test_restore_redrives_line);
	return g_test_run();
}
