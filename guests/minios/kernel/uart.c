/*
 * uart.c - COM1, a 16550 UART at I/O port 0x3F8. Output is polled; input
 * raises IRQ 4, which the IOAPIC delivers (see ioapic.c).
 */
#include "defs.h"
#include "proc.h"
#include "traps.h"
#include "x86.h"

#define COM1		0x3F8
#define UART_RBR	0	/* receive buffer (read) */
#define UART_THR	0	/* transmit holding (write) */
#define UART_DLL	0	/* divisor latch low (DLAB = 1) */
#define UART_IER	1	/* interrupt enable */
#define UART_DLM	1	/* divisor latch high (DLAB = 1) */
#define UART_FCR	2	/* FIFO control (write) */
#define UART_IIR	2	/* interrupt identification (read) */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */

#define IER_RDA		0x01	/* interrupt when data is received */
#define LCR_8N1		0x03	/* 8 data bits, no parity, 1 stop bit */
#define LCR_DLAB	0x80	/* divisor latch access */
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT2	0x08	/* on a PC, gates the IRQ line */
#define LSR_DR		0x01	/* data ready */
#define LSR_THRE	0x20	/* transmit holding register empty */

#define BAUD_DIVISOR	1	/* 115200 baud */
#define TX_SPINS	100000	/* give up on a stuck transmitter */

static int present;

/* Set COM1 to 115200 8N1 with interrupts off. Early: output works after it. */
void uart_init(void)
{
	outb(COM1 + UART_FCR, 0);	/* no FIFO: one interrupt per byte */
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, BAUD_DIVISOR & 0xFF);
	outb(COM1 + UART_DLM, BAUD_DIVISOR >> 8);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	outb(COM1 + UART_IER, 0);
	/* A missing UART reads as 0xFF. */
	present = inb(COM1 + UART_LSR) != 0xFF;
}

/* Let received bytes interrupt (IRQ 4 through the IOAPIC). */
void uart_enable_irq(void)
{
	if (!present)
		return;
	inb(COM1 + UART_IIR);	/* clear anything pending */
	inb(COM1 + UART_RBR);
	outb(COM1 + UART_IER, IER_RDA);
	ioapic_enable(IRQ_COM1, cpu.apicid);
}

/* Send one byte; a newline goes out as CR LF for terminals. */
void uart_putc(int c)
{
	if (!present)
		return;
	if (c == '\n')
		uart_putc('\r');
	for (int i = 0; i < TX_SPINS && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		;
	outb(COM1 + UART_THR, c);
}

/* IRQ 4: hand every received byte to the console. */
void uart_intr(void)
{
	while (inb(COM1 + UART_LSR) & LSR_DR)
		cons_intr(inb(COM1 + UART_RBR));
}
