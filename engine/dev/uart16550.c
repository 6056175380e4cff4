/*
 * uart16550.c - the 16550A UART (see uart16550.h for the model).
 */
#include "uart16550.h"

#include <string.h>

#include "nestlab.h"

#define UART_STATE_VERSION 1
#define UART_TIMEOUT_CHARS 4       /* character timeout: 4 character times */
#define UART_RESET_DIVISOR 12      /* 9600 baud: a defined speed before any setup */
#define UART_DIVISOR_ZERO 65536u   /* what a divisor of 0 counts as */
#define UART_HOST_LINES (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD)

_Static_assert(sizeof(struct uart_state) == 80, "uart_state has no hidden padding");

static const uint8_t rx_trigger_level[4] = { 1, 4, 8, 14 };

/* {====== helpers ====== */

static bool fifo_on(const struct uart_state *s)
{
	return s->fcr & UART_FCR_ENABLE;
}

static bool loopback(const struct uart_state *s)
{
	return s->mcr & UART_MCR_LOOP;
}

/* Bytes the receiver (or transmitter) holds: the FIFO, or one register. */
static unsigned fifo_capacity(const struct uart_state *s)
{
	return fifo_on(s) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart_state *s)
{
	return fifo_on(s) ? rx_trigger_level[s->fcr >> 6] : 1;
}

uint64_t dev_uart_char_cycles(const struct dev_uart *u)
{
	const struct uart_state *s = &u->st;
	uint32_t divisor = (uint32_t)s->dll | (uint32_t)s->dlm << 8;
	if (divisor == 0)
		divisor = UART_DIVISOR_ZERO;
	unsigned wlen = 5 + (s->lcr & UART_LCR_WLEN);
	unsigned stop_halves = !(s->lcr & UART_LCR_STOP) ? 2 : wlen == 5 ? 3 : 4;
	unsigned half_bits = 2 * (1 + wlen) + ((s->lcr & UART_LCR_PARITY) ? 2 : 0) + stop_halves;
	/* 16 crystal ticks per bit per divisor count; half bits -> 8 ticks */
	uint64_t ticks = (uint64_t)divisor * 8 * half_bits;
	uint64_t cycles = clock_ticks_to_cycles(ticks, UART_CRYSTAL_HZ);
	return cycles ? cycles : 1;
}

/* Arms `t` `delta` cycles from now and records the deadline in the state. */
static void arm(struct dev_uart *u, struct clock_timer *t, uint64_t *deadline, uint64_t delta)
{
	*deadline = clock_now(u->board.clock) + delta;
	clock_timer_arm(t, *deadline);
}

static void disarm(struct clock_timer *t, uint64_t *deadline)
{
	*deadline = CLOCK_NEVER;
	clock_timer_cancel(t);
}

/* }====== */

/* {====== interrupts ====== */

/* The IIR source code of the highest-priority pending interrupt. */
static uint8_t pending_source(const struct uart_state *s)
{
	if ((s->ier & UART_IER_RLSI) && s->lsr_errors)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count >= rx_trigger(s))
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_RDI) && s->timeout_ipending)
		return UART_IIR_CTI;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && s->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* The ISA line: the chip's INTR, through the OUT2 gate if the board has
 * one (the OUT2 pin is inactive in loopback). */
static bool line_level(const struct dev_uart *u)
{
	const struct uart_state *s = &u->st;
	if (pending_source(s) == UART_IIR_NO_INT)
		return false;
	return !u->out2_gate || ((s->mcr & UART_MCR_OUT2) && !loopback(s));
}

static void update_irq(struct dev_uart *u)
{
	bool level = line_level(u);
	if (level != (bool)u->st.irq_level) {
		u->st.irq_level = level;
		dev_irq(&u->board, u->irq, level);
	}
}

/* THR (the TX FIFO) just became empty. */
static void thr_emptied(struct dev_uart *u)
{
	u->st.thr_ipending = 1;
	update_irq(u);
}

/* }====== */

/* {====== modem lines ====== */

static uint8_t modem_inputs(const struct uart_state *s)
{
	if (!loopback(s))
		return UART_HOST_LINES;
	uint8_t m = s->mcr, v = 0;
	if (m & UART_MCR_RTS)
		v |= UART_MSR_CTS;
	if (m & UART_MCR_DTR)
		v |= UART_MSR_DSR;
	if (m & UART_MCR_OUT1)
		v |= UART_MSR_RI;
	if (m & UART_MCR_OUT2)
		v |= UART_MSR_DCD;
	return v;
}

/* Samples the modem inputs and latches the delta bits of any change. */
static void sample_modem_inputs(struct uart_state *s)
{
	uint8_t now = modem_inputs(s), was = s->msr_lines, changed = now ^ was;
	if (changed & UART_MSR_CTS)
		s->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		s->msr_delta |= UART_MSR_DDSR;
	if ((was & UART_MSR_RI) && !(now & UART_MSR_RI))
		s->msr_delta |= UART_MSR_TERI;
	if (changed & UART_MSR_DCD)
		s->msr_delta |= UART_MSR_DDCD;
	s->msr_lines = now;
}

/* }====== */

/* {====== receiver ====== */

static void timeout_restart(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	if (fifo_on(s) && s->rx_count > 0)
		arm(u, &u->timeout_timer, &s->timeout_deadline,
		    UART_TIMEOUT_CHARS * dev_uart_char_cycles(u));
	else
		disarm(&u->timeout_timer, &s->timeout_deadline);
}

/* A character completed in the receiver shift register. */
static void rx_push(struct dev_uart *u, uint8_t byte)
{
	struct uart_state *s = &u->st;
	if (s->rx_count >= fifo_capacity(s)) {
		s->lsr_errors |= UART_LSR_OE;
		if (!fifo_on(s))
			s->rx_fifo[s->rx_head] = byte; /* the 16450 overwrites RBR */
	} else {
		s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = byte;
		s->rx_count++;
	}
	if (!s->timeout_ipending)
		timeout_restart(u);
	update_irq(u);
}

/* Starts receiving the next host byte if there is one and room for it. */
static void rx_host_schedule(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	if (loopback(s) || clock_timer_armed(&u->rx_timer) || !chardev_input_pending(u->host) ||
	    s->rx_count >= fifo_capacity(s))
		return;
	arm(u, &u->rx_timer, &s->rx_deadline, dev_uart_char_cycles(u));
}

static void rx_timer_fired(void *opaque, uint64_t now)
{
	struct dev_uart *u = opaque;
	struct uart_state *s = &u->st;
	s->rx_deadline = CLOCK_NEVER;
	if (!loopback(s) && s->rx_count < fifo_capacity(s)) {
		int b = chardev_input_take(u->host);
		if (b >= 0)
			rx_push(u, (uint8_t)b);
	}
	rx_host_schedule(u);
}

static void host_input_arrived(void *opaque)
{
	rx_host_schedule(opaque);
}

static void timeout_fired(void *opaque, uint64_t now)
{
	struct dev_uart *u = opaque;
	struct uart_state *s = &u->st;
	s->timeout_deadline = CLOCK_NEVER;
	if (fifo_on(s) && s->rx_count > 0) {
		s->timeout_ipending = 1;
		update_irq(u);
	}
}

static uint8_t rbr_read(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	if (s->rx_count == 0)
		return s->rbr_last;
	s->rbr_last = s->rx_fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
	s->rx_count--;
	s->timeout_ipending = 0;
	timeout_restart(u);
	rx_host_schedule(u);
	update_irq(u);
	return s->rbr_last;
}

static void rx_clear(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	s->rx_head = s->rx_count = 0;
	s->timeout_ipending = 0;
	disarm(&u->timeout_timer, &s->timeout_deadline);
}

/* }====== */

/* {====== transmitter ====== */

/* Loopback: moves the next byte into the shift register if it is free. */
static void tx_start(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	if (s->tsr_busy || s->tx_count == 0)
		return;
	s->tsr = s->tx_fifo[s->tx_head];
	s->tx_head = (s->tx_head + 1) % UART_FIFO_SIZE;
	s->tx_count--;
	s->tsr_busy = 1;
	arm(u, &u->tx_timer, &s->tx_deadline, dev_uart_char_cycles(u));
	if (s->tx_count == 0)
		thr_emptied(u);
}

static void tx_timer_fired(void *opaque, uint64_t now)
{
	struct dev_uart *u = opaque;
	struct uart_state *s = &u->st;
	s->tx_deadline = CLOCK_NEVER;
	s->tsr_busy = 0;
	rx_push(u, s->tsr);
	tx_start(u);
}

static void thr_write(struct dev_uart *u, uint8_t v)
{
	struct uart_state *s = &u->st;
	s->thr_ipending = 0;
	update_irq(u);
	if (!loopback(s)) {
		chardev_write(u->host, &v, 1); /* transmitted at once (see the header) */
		thr_emptied(u);
		return;
	}
	if (s->tx_count < fifo_capacity(s)) {
		s->tx_fifo[(s->tx_head + s->tx_count) % UART_FIFO_SIZE] = v;
		s->tx_count++;
	} else if (!fifo_on(s)) {
		s->tx_fifo[s->tx_head] = v; /* THR overwritten */
	} /* else: a write to a full TX FIFO is lost */
	tx_start(u);
}

/* Leaving loopback: what the transmitter still holds goes to the host. */
static void tx_flush_to_host(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	bool had = s->tsr_busy || s->tx_count;
	if (s->tsr_busy)
		chardev_write(u->host, &s->tsr, 1);
	for (; s->tx_count; s->tx_count--, s->tx_head = (s->tx_head + 1) % UART_FIFO_SIZE)
		chardev_write(u->host, &s->tx_fifo[s->tx_head], 1);
	s->tsr_busy = 0;
	s->tx_head = 0;
	disarm(&u->tx_timer, &s->tx_deadline);
	if (had)
		thr_emptied(u);
}

/* }====== */

/* {====== registers ====== */

static uint8_t lsr_value(const struct uart_state *s)
{
	uint8_t v = s->lsr_errors;
	if (s->rx_count)
		v |= UART_LSR_DR;
	if (s->tx_count == 0)
		v |= UART_LSR_THRE;
	if (s->tx_count == 0 && !s->tsr_busy)
		v |= UART_LSR_TEMT;
	return v;
}

static uint8_t iir_read(struct dev_uart *u)
{
	struct uart_state *s = &u->st;
	uint8_t src = pending_source(s);
	if (src == UART_IIR_THRI) {
		s->thr_ipending = 0; /* reading IIR acknowledges THRE */
		update_irq(u);
	}
	return src | (fifo_on(s) ? UART_IIR_FIFO_ON : 0);
}

static uint8_t reg_read(struct dev_uart *u, unsigned off)
{
	struct uart_state *s = &u->st;
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;
	switch (off) {
	case UART_RBR:
		return dlab ? s->dll : rbr_read(u);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		return iir_read(u);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = lsr_value(s);
		s->lsr_errors = 0;
		update_irq(u);
		return v;
	case UART_MSR:
		v = s->msr_lines | s->msr_delta;
		s->msr_delta = 0;
		update_irq(u);
		return v;
	default:
		return s->scr;
	}
}

static void ier_write(struct dev_uart *u, uint8_t v)
{
	struct uart_state *s = &u->st;
	uint8_t enabled = (uint8_t)(v & ~s->ier);
	s->ier = v & UART_IER_MASK;
	if (!(s->ier & UART_IER_THRI))
		s->thr_ipending = 0;
	else if ((enabled & UART_IER_THRI) && s->tx_count == 0)
		s->thr_ipending = 1; /* enabling it while THR is empty interrupts at once */
	update_irq(u);
}

static void fcr_write(struct dev_uart *u, uint8_t v)
{
	struct uart_state *s = &u->st;
	if ((v ^ s->fcr) & UART_FCR_ENABLE)
		v |= UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX; /* switching modes empties both */
	if (v & UART_FCR_CLEAR_RX)
		rx_clear(u);
	if (v & UART_FCR_CLEAR_TX) {
		s->tx_head = s->tx_count = 0;
		s->thr_ipending = 1;
	}
	s->fcr = (v & UART_FCR_ENABLE) ? (v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER)) : 0;
	rx_host_schedule(u);
	update_irq(u);
}

static void mcr_write(struct dev_uart *u, uint8_t v)
{
	struct uart_state *s = &u->st;
	bool was_loop = loopback(s);
	s->mcr = v & UART_MCR_MASK;
	if (was_loop && !loopback(s)) {
		tx_flush_to_host(u);
		rx_host_schedule(u);
	} else if (!was_loop && loopback(s)) {
		disarm(&u->rx_timer, &s->rx_deadline); /* the host byte stays queued */
	}
	sample_modem_inputs(s);
	update_irq(u);
}

static void reg_write(struct dev_uart *u, unsigned off, uint8_t v)
{
	struct uart_state *s = &u->st;
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_THR:
		if (dlab)
			s->dll = v;
		else
			thr_write(u, v);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = v;
		else
			ier_write(u, v);
		break;
	case UART_FCR:
		fcr_write(u, v);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		mcr_write(u, v);
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only (LSR writes are a factory test) */
		break;
	}
}

/* A wider access is split into byte accesses to consecutive ports, as the
 * ISA bus does for an 8-bit device; ports past the UART float. */
static uint32_t uart_io_read(void *opaque, uint16_t port, int size)
{
	struct dev_uart *u = opaque;
	uint32_t v = 0;
	for (int i = 0; i < size; i++) {
		unsigned off = (unsigned)(port - u->base) + (unsigned)i;
		uint32_t b = off < UART_PORTS ? reg_read(u, off) : 0xff;
		v |= b << (8 * i);
	}
	return v;
}

static void uart_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_uart *u = opaque;
	for (int i = 0; i < size; i++) {
		unsigned off = (unsigned)(port - u->base) + (unsigned)i;
		if (off < UART_PORTS)
			reg_write(u, off, (uint8_t)(val >> (8 * i)));
	}
}

/* }====== */

/* {====== device interface ====== */

static void cancel_timers(struct dev_uart *u)
{
	clock_timer_cancel(&u->rx_timer);
	clock_timer_cancel(&u->tx_timer);
	clock_timer_cancel(&u->timeout_timer);
}

static void uart_reset(struct device *d)
{
	struct dev_uart *u = (struct dev_uart *)d;
	struct uart_state *s = &u->st;
	cancel_timers(u);
	memset(s, 0, sizeof *s);
	s->dll = UART_RESET_DIVISOR;
	s->msr_lines = modem_inputs(s);
	s->rx_deadline = s->tx_deadline = s->timeout_deadline = CLOCK_NEVER;
	dev_irq(&u->board, u->irq, false);
	rx_host_schedule(u);
}

static void uart_save(struct device *d, GByteArray *out)
{
	struct dev_uart *u = (struct dev_uart *)d;
	dev_save_pod(out, UART_STATE_VERSION, &u->st, sizeof u->st);
	chardev_save(u->host, out);
}

static void rearm(struct clock_timer *t, uint64_t deadline)
{
	if (deadline == CLOCK_NEVER)
		clock_timer_cancel(t);
	else
		clock_timer_arm(t, deadline);
}

static bool uart_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_uart *u = (struct dev_uart *)d;
	struct uart_state st;
	size_t pod_len = MIN(len, 2 * sizeof(uint32_t) + sizeof st); /* dev_save_pod's header */
	if (!dev_restore_pod(u->dev.name, UART_STATE_VERSION, buf, pod_len, &st, sizeof st, error))
		return false;
	if (!chardev_restore(u->host, buf + pod_len, len - pod_len, error))
		return false;
	u->st = st;
	rearm(&u->rx_timer, st.rx_deadline);
	rearm(&u->tx_timer, st.tx_deadline);
	rearm(&u->timeout_timer, st.timeout_deadline);
	u->st.irq_level = line_level(u);
	dev_irq(&u->board, u->irq, u->st.irq_level);
	return true;
}

static void uart_free(struct device *d)
{
	struct dev_uart *u = (struct dev_uart *)d;
	cancel_timers(u);
	chardev_set_input_notify(u->host, NULL, NULL);
	g_free(u);
}

static const struct device_ops uart_ops = {
	.reset = uart_reset,
	.save = uart_save,
	.restore = uart_restore,
	.free = uart_free,
};

struct dev_uart *dev_uart_new(const struct dev_board *b, uint16_t base, int irq,
                              const char *name, struct chardev *host, GError **error)
{
	struct dev_uart *u = g_new0(struct dev_uart, 1);
	if (!ioport_claim(b->io, base, UART_PORTS, uart_io_read, uart_io_write, u)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "serial port %s: the ports 0x%x-0x%x are already taken on this board",
		            name, base, base + UART_PORTS - 1);
		g_free(u);
		return NULL;
	}
	u->dev.ops = &uart_ops;
	u->dev.name = name;
	u->board = *b;
	u->host = host;
	u->irq = irq;
	u->base = base;
	clock_timer_init(&u->rx_timer, b->clock, "uart-rx", rx_timer_fired, u);
	clock_timer_init(&u->tx_timer, b->clock, "uart-tx", tx_timer_fired, u);
	clock_timer_init(&u->timeout_timer, b->clock, "uart-timeout", timeout_fired, u);
	chardev_set_input_notify(host, host_input_arrived, u);
	uart_reset(&u->dev);
	return u;
}

void dev_uart_set_out2_gate(struct dev_uart *u, bool gate)
{
	u->out2_gate = gate;
	update_irq(u);
}

/* }====== */
