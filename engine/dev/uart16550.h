/*
 * uart16550.h - a National Semiconductor PC16550D-compatible UART (the
 * "16550A" of PC serial ports: COM1 at 0x3F8 on IRQ 4, COM2 at 0x2F8 on
 * IRQ 3), wired to a host chardev.
 *
 * Registers (offset from the base; DLAB is LCR bit 7):
 *
 *   +0  DLAB=0  read RBR (receive buffer / FIFO head), write THR
 *       DLAB=1  DLL, divisor latch low byte
 *   +1  DLAB=0  IER: 0 received data, 1 THR empty, 2 line status, 3 modem status
 *       DLAB=1  DLM, divisor latch high byte
 *   +2  read IIR: bit 0 = no interrupt, bits 1-3 = source, bits 6-7 = 11
 *       when the FIFOs are on; write FCR: 0 FIFO enable, 1 clear RX FIFO,
 *       2 clear TX FIFO, 3 DMA mode (kept, no effect), 6-7 RX trigger 1/4/8/14
 *   +3  LCR: 0-1 word length 5-8, 2 stop bits, 3-5 parity, 6 break, 7 DLAB
 *   +4  MCR: 0 DTR, 1 RTS, 2 OUT1, 3 OUT2, 4 loopback
 *   +5  LSR: 0 DR, 1 OE, 2 PE, 3 FE, 4 BI, 5 THRE, 6 TEMT, 7 RX FIFO error
 *   +6  MSR: 0-3 delta CTS, delta DSR, trailing edge RI, delta DCD;
 *            4-7 CTS, DSR, RI, DCD
 *   +7  SCR, scratch
 *
 * Interrupts, highest priority first (IIR bits 3-0):
 *   0110 line status       OE (or BI) in LSR; cleared by reading LSR
 *   0100 received data     RX FIFO at the trigger level (DR without FIFOs);
 *                          cleared when it drops below
 *   1100 character timeout FIFO mode: data waiting and nothing received or
 *                          read for 4 character times; cleared by an RBR read
 *   0010 THR empty         set when THR (the TX FIFO) becomes empty, when
 *                          FCR clears the TX FIFO, and when the interrupt is
 *                          enabled while THR is empty; cleared by writing
 *                          THR, or by reading IIR while it is the source
 *                          reported
 *   0000 modem status      a delta bit in MSR; cleared by reading MSR
 * The ISA line. By default the chip's INTR output drives the ISA line
 * directly, as on QEMU: teaching kernels written on it (xv6's uartinit
 * leaves MCR at 0) take receive interrupts without setting OUT2.
 * With the board's OUT2 gate (dev_uart_set_out2_gate, nestlab-run
 * --uart-out2-gate) INTR reaches the line only through the gate that MCR
 * OUT2 opens, as on PC/AT serial cards and Super I/O chips; in loopback
 * mode the OUT2 pin is forced inactive (the datasheet's diagnostic mode),
 * so the line then stays low even though IIR still reports the interrupt.
 * A guest that sets OUT2 and leaves loopback for its interrupt-driven work
 * behaves the same either way.
 *
 * Timing (on the machine's cycle clock, so deterministic): one character
 * takes 16 * divisor * bits ticks of the 1.8432 MHz crystal, with bits =
 * start + 5..8 data + parity + 1, 1.5 or 2 stop bits; a divisor of 0
 * counts as 65536.
 *   - Transmission to the host is immediate: a byte written to THR goes to
 *     chardev_write at once and THRE and TEMT are set again at once. A
 *     host has no use for a modelled wire delay on output, and guests that
 *     poll THRE (nearly all) run no slower than on real hardware.
 *   - Reception is timed: a byte from the host's input queue arrives one
 *     character time after the receiver became free for it. The receiver
 *     only takes the next host byte when there is room for it (RBR empty
 *     without FIFOs, fewer than 16 bytes in the FIFO), so host input is
 *     flow-controlled and never lost; it waits in the chardev instead.
 *   - Loopback (MCR bit 4): the transmitter is disconnected from the host
 *     and feeds the receiver. THR bytes move through the TX FIFO and the
 *     shift register, one per character time, into the RX FIFO (or RBR),
 *     and THRE/TEMT follow that timing. A byte arriving at a full FIFO (or
 *     at a full RBR without FIFOs) is an overrun: OE is set; in FIFO mode
 *     the new byte is lost, without FIFOs it replaces RBR. The modem
 *     control outputs feed the inputs: RTS->CTS, DTR->DSR, OUT1->RI,
 *     OUT2->DCD, with delta bits (QEMU omits those deltas). Host input
 *     waits while loopback is on; bytes still in the transmitter when
 *     loopback is turned off go to the host at once.
 *
 * Left out: parity, framing and break errors (the host sends whole bytes,
 * so PE, FE, BI and LSR bit 7 stay 0; LCR's break bit is kept but only
 * acts on the line to the host, which has no notion of a break), DMA
 * (FCR bit 3 has no effect), and the modem lines of a real host port: out
 * of loopback the host side looks like a connected terminal (CTS, DSR and
 * DCD asserted, RI not), as QEMU shows it.
 *
 * Snapshots: the UART's blob is its register state followed by the
 * chardev's pending input (chardev_save), so restoring it also restores
 * what the guest will receive next.
 */
#ifndef NESTLAB_UART16550_H
#define NESTLAB_UART16550_H

#include <glib.h>
#include <stdint.h>

#include "chardev.h"
#include "device.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ 4
#define UART_COM2_BASE 0x2f8
#define UART_COM2_IRQ 3
#define UART_PORTS 8
#define UART_FIFO_SIZE 16
#define UART_CRYSTAL_HZ 1843200u /* the PC's UART clock */

/* Register offsets. */
#define UART_RBR 0 /* read, DLAB = 0 */
#define UART_THR 0 /* write, DLAB = 0 */
#define UART_DLL 0 /* DLAB = 1 */
#define UART_IER 1 /* DLAB = 0 */
#define UART_DLM 1 /* DLAB = 1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01  /* received data available (and timeout) */
#define UART_IER_THRI 0x02 /* THR empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI 0x08  /* modem status */
#define UART_IER_MASK 0x0f

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_CTI 0x0c
#define UART_IIR_FIFO_ON 0xc0 /* bits 6-7 when FCR bit 0 is set */

#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_DMA 0x08
#define UART_FCR_TRIGGER 0xc0 /* 00: 1 byte, 01: 4, 10: 8, 11: 14 */

#define UART_LCR_WLEN 0x03 /* word length - 5 */
#define UART_LCR_STOP 0x04 /* 2 stop bits (1.5 with 5-bit words) */
#define UART_LCR_PARITY 0x08
#define UART_LCR_EVEN 0x10
#define UART_LCR_STICK 0x20
#define UART_LCR_BREAK 0x40
#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_FIFOE 0x80

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTA 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

/* All guest-visible state: plain data, saved as is. */
struct uart_state {
	uint8_t rx_fifo[UART_FIFO_SIZE]; /* RBR is rx_fifo[rx_head] when rx_count > 0 */
	uint8_t rx_head, rx_count;
	uint8_t tx_fifo[UART_FIFO_SIZE]; /* loopback only: bytes behind the shift register */
	uint8_t tx_head, tx_count;
	uint8_t tsr;      /* the byte being shifted out (loopback) */
	uint8_t tsr_busy; /* the shift register holds a byte */
	uint8_t rbr_last; /* what an RBR read returns when nothing is waiting */
	uint8_t ier, lcr, mcr, fcr, scr;
	uint8_t dll, dlm;
	uint8_t lsr_errors;   /* sticky LSR bits: OE */
	uint8_t msr_delta;    /* MSR bits 0-3 */
	uint8_t msr_lines;    /* MSR bits 4-7 as last seen, for the deltas */
	uint8_t thr_ipending; /* THR-empty interrupt latched */
	uint8_t timeout_ipending;
	uint8_t irq_level;    /* what the ISA line was last driven to */
	uint8_t pad[4];       /* explicit, so the saved bytes are all defined */
	uint64_t rx_deadline;      /* next host byte arrives (CLOCK_NEVER: idle) */
	uint64_t tx_deadline;      /* loopback shift register done */
	uint64_t timeout_deadline; /* character timeout check */
};

struct dev_uart {
	struct device dev; /* first: the board keeps a struct device * */
	struct dev_board board; /* a copy of what the board gave */
	struct chardev *host;
	int irq;
	uint16_t base;
	bool out2_gate; /* the board's OUT2 gate on the line (configuration, not state) */
	struct clock_timer rx_timer, tx_timer, timeout_timer;
	struct uart_state st;
};

/*
 * Creates a 16550A at ports [base, base + 8) driving ISA line `irq`, with
 * `host` as the other end of its wire (not owned: the caller frees it after
 * the device). `name` ("com1") must outlive the device. The UART registers
 * itself as `host`'s input notify. Returns NULL with a NESTLAB_ERROR_CONFIG
 * error if a port is already taken.
 */
struct dev_uart *dev_uart_new(const struct dev_board *b, uint16_t base, int irq,
                              const char *name, struct chardev *host, GError **error);

/* Puts the PC/AT OUT2 gate between INTR and the ISA line (true) or takes
 * it away (false, the default); the line follows at once. */
void dev_uart_set_out2_gate(struct dev_uart *u, bool gate);

/* Cycles one character takes with the current divisor and LCR. */
uint64_t dev_uart_char_cycles(const struct dev_uart *u);

#endif
