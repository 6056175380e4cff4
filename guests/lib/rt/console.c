/*
 * guests/lib/rt/console.c - output on COM1 (only: nestlab-run and QEMU show
 * COM1 on stdout, so a copy on the debug console would print twice), printf,
 * and the PASS/FAIL/DONE verdicts of a test kernel.
 *
 * COM1 is driven by polling: each byte waits for the transmitter holding
 * register to be empty (LSR bit 5). The wait is bounded, so a board without
 * a UART (LSR reads 0xFF anyway) or a stuck one cannot hang the kernel.
 */
#include "rt.h"
#include "rt_internal.h"

/* 16550 registers, offsets from the base port. */
#define UART_THR 0 /* transmit holding (DLAB 0) */
#define UART_DLL 0 /* divisor latch low (DLAB 1) */
#define UART_IER 1 /* interrupt enable (DLAB 0) */
#define UART_DLM 1 /* divisor latch high (DLAB 1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define UART_LCR_8N1  0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR  0x06 /* clear both FIFOs */
#define UART_FCR_TRIG14 0xC0
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_THRE 0x20
#define UART_DIVISOR_115200 1
#define UART_POLL_LIMIT 100000

static int failures;

void rt_serial_init(void)
{
	outb(RT_PORT_COM1 + UART_IER, 0);
	outb(RT_PORT_COM1 + UART_LCR, UART_LCR_DLAB);
	outb(RT_PORT_COM1 + UART_DLL, UART_DIVISOR_115200 & 0xFF);
	outb(RT_PORT_COM1 + UART_DLM, UART_DIVISOR_115200 >> 8);
	outb(RT_PORT_COM1 + UART_LCR, UART_LCR_8N1);
	outb(RT_PORT_COM1 + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR | UART_FCR_TRIG14);
	outb(RT_PORT_COM1 + UART_MCR, UART_MCR_DTR_RTS);
}

void rt_putc(char c)
{
	for (int i = 0; i < UART_POLL_LIMIT; i++)
		if (inb(RT_PORT_COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(RT_PORT_COM1 + UART_THR, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

static void putc_sink(void *ctx, char c)
{
	(void)ctx;
	rt_putc(c);
}

int rt_vprintf(const char *fmt, va_list ap)
{
	return rt_format(putc_sink, NULL, fmt, ap);
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

/* {====== Verdicts */

void rt_pass(const char *name)
{
	rt_printf("PASS: %s\n", name);
}

void rt_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	failures++;
	rt_printf("FAIL: %s: ", name);
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
}

void rt_check(bool ok, const char *name)
{
	if (ok)
		rt_pass(name);
	else
		rt_fail(name, "check failed");
}

void rt_check_eq(uint32_t got, uint32_t want, const char *name)
{
	if (got == want)
		rt_pass(name);
	else
		rt_fail(name, "got 0x%x, want 0x%x", got, want);
}

int rt_failures(void)
{
	return failures;
}

void rt_count_failure(void)
{
	failures++;
}

_Noreturn void rt_exit(int status)
{
	outb(RT_PORT_EXIT, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

_Noreturn void rt_done(void)
{
	rt_printf("DONE: %d failures\n", failures);
	rt_exit(failures ? 1 : 0);
}

/* }====== */
